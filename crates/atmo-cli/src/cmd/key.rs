//! `atmo key` (being written).

use crate::error::CliError;

/// Arguments of `atmo key`.
#[derive(Debug, clap::Args)]
pub(crate) struct KeyArgs {}

/// Runs `atmo key`.
pub(crate) fn run(_args: KeyArgs) -> Result<(), CliError> {
    Err(CliError::failed("not available yet"))
}
