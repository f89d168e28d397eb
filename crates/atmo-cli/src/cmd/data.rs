//! `atmo data` (being written).

use crate::error::CliError;

/// Arguments of `atmo data`.
#[derive(Debug, clap::Args)]
pub(crate) struct DataArgs {}

/// Runs `atmo data`.
pub(crate) fn run(_args: DataArgs) -> Result<(), CliError> {
    Err(CliError::failed("not available yet"))
}
