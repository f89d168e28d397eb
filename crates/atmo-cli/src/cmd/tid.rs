//! `atmo tid [-n N]`: print fresh TIDs.

use std::fmt::Write as _;

use atmo_syntax::TidClock;

use crate::error::CliError;
use crate::io::write_stdout;

/// Arguments of `atmo tid`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  atmo tid          # one TID\n  atmo tid -n 1000  # a thousand, strictly increasing"
)]
pub(crate) struct TidArgs {
    /// How many TIDs to print, one per line, strictly increasing.
    #[arg(short = 'n', long = "count", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    count: u32,
}

/// Runs `atmo tid`.
pub(crate) fn run(args: TidArgs) -> Result<(), CliError> {
    let clock = TidClock::new();
    let mut out = String::with_capacity(14 * args.count as usize);
    for _ in 0..args.count {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{}", clock.next());
    }
    write_stdout(out.as_bytes())
}
