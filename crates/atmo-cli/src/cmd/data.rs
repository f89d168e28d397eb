//! `atmo data`: convert between atproto JSON and DAG-CBOR, and compute CIDs.

use std::fmt::Write as _;
use std::path::PathBuf;

use atmo_data::{Cid, cbor, json};

use crate::error::CliError;
use crate::io::{println, read_input, write_stdout};

/// Arguments of `atmo data`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  echo '{\"text\":\"hi\"}' | atmo data to-cbor --hex\n  atmo data to-json block.cbor\n  atmo data cid record.json\n  atmo data cid --raw image.png"
)]
pub(crate) struct DataArgs {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(Debug, clap::Subcommand)]
enum DataCommand {
    /// atproto JSON in (a top-level object), DAG-CBOR out (raw bytes, or hex with --hex).
    ToCbor {
        /// Input file, or `-` for standard input (the default).
        file: Option<PathBuf>,
        /// Print lower-case hex and a newline instead of raw bytes.
        #[arg(long)]
        hex: bool,
    },
    /// Strict DAG-CBOR in, atproto JSON out (non-canonical CBOR is an error).
    ToJson {
        /// Input file, or `-` for standard input (the default).
        file: Option<PathBuf>,
        /// Print indented JSON.
        #[arg(long)]
        pretty: bool,
    },
    /// The CID of the JSON input's DAG-CBOR encoding, or with --raw of the input bytes.
    Cid {
        /// Input file, or `-` for standard input (the default).
        file: Option<PathBuf>,
        /// Hash the input bytes as a blob (codec raw) instead of reading JSON.
        #[arg(long)]
        raw: bool,
    },
}

fn record_cbor(input: &[u8]) -> Result<Vec<u8>, CliError> {
    let v = json::record_from_slice(input).map_err(CliError::failed)?;
    Ok(cbor::encode(&v))
}

/// Runs `atmo data`.
pub(crate) fn run(args: DataArgs) -> Result<(), CliError> {
    match args.command {
        DataCommand::ToCbor { file, hex } => {
            let bytes = record_cbor(&read_input(file.as_deref())?)?;
            if hex {
                let mut s = String::with_capacity(bytes.len() * 2);
                for b in &bytes {
                    // Writing to a String cannot fail.
                    let _ = write!(s, "{b:02x}");
                }
                println(&s)
            } else {
                write_stdout(&bytes)
            }
        }
        DataCommand::ToJson { file, pretty } => {
            let input = read_input(file.as_deref())?;
            let v = cbor::decode(&input).map_err(CliError::failed)?;
            let text = if pretty {
                json::to_string_pretty(&v)
            } else {
                json::to_string(&v)
            };
            println(&text)
        }
        DataCommand::Cid { file, raw } => {
            let input = read_input(file.as_deref())?;
            let cid = if raw {
                Cid::for_raw(&input)
            } else {
                Cid::for_dag_cbor(&record_cbor(&input)?)
            };
            println(&cid.to_string())
        }
    }
}
