//! `atmo tid [-n N]`: print fresh TIDs; `atmo tid inspect TID`: decode one.

use std::fmt::Write as _;

use atmo_syntax::{Datetime, Tid, TidClock};

use crate::error::CliError;
use crate::io::{println, write_stdout};

/// Arguments of `atmo tid`.
#[derive(Debug, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  atmo tid          # one TID\n  atmo tid -n 1000  # a thousand, strictly increasing\n  atmo tid inspect 3jzfcijpj2z2a --json"
)]
pub(crate) struct TidArgs {
    #[command(subcommand)]
    command: Option<TidCommand>,
    /// How many TIDs to print, one per line, strictly increasing.
    #[arg(short = 'n', long = "count", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    count: u32,
}

#[derive(Debug, clap::Subcommand)]
enum TidCommand {
    /// Decode a TID: its timestamp (RFC 3339, UTC, and microseconds since the Unix epoch)
    /// and its clock id. Exit 1 if it is not a valid TID.
    #[command(
        after_help = "Plain output is one `name: value` per line (tid, timestamp, micros, clockId).\n\nExample:\n  atmo tid inspect 3jzfcijpj2z2a"
    )]
    Inspect {
        /// The TID (13 characters of base32-sortable).
        tid: String,
        /// One JSON object {"tid","timestamp","micros","clockId"}.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `atmo tid`.
pub(crate) fn run(args: TidArgs) -> Result<(), CliError> {
    if let Some(TidCommand::Inspect { tid, json }) = args.command {
        return inspect(&tid, json);
    }
    let clock = TidClock::new();
    let mut out = String::with_capacity(14 * args.count as usize);
    for _ in 0..args.count {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{}", clock.next());
    }
    write_stdout(out.as_bytes())
}

/// `atmo tid inspect`.
fn inspect(input: &str, json: bool) -> Result<(), CliError> {
    let tid = Tid::new(input).map_err(|e| CliError::failed(format!("{input:?}: {e}")))?;
    let micros = tid.timestamp_micros();
    // 53 bits of microseconds end in the year 2255: always a valid datetime.
    let timestamp = i64::try_from(micros)
        .ok()
        .and_then(|m| Datetime::from_timestamp_micros(m).ok())
        .ok_or_else(|| {
            CliError::failed(format!("{}: timestamp {micros} out of range", tid.as_str()))
        })?;
    let clock_id = tid.clock_id();
    if json {
        let obj = serde_json::json!({
            "tid": tid.as_str(),
            "timestamp": timestamp.as_str(),
            "micros": micros,
            "clockId": clock_id,
        });
        println(&obj.to_string())
    } else {
        println(&format!(
            "tid: {}\ntimestamp: {}\nmicros: {micros}\nclockId: {clock_id}",
            tid.as_str(),
            timestamp.as_str()
        ))
    }
}
