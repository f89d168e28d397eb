//! `atmo` network and lexicon commands (being written).

use super::GlobalArgs;
use crate::error::CliError;

/// Arguments (being written).
#[derive(Debug, clap::Args)]
pub(crate) struct RecordArgs {}

/// Runs the command (being written).
pub(crate) fn run(_args: RecordArgs, _global: &GlobalArgs) -> Result<(), CliError> {
    Err(CliError::failed("not available yet"))
}
