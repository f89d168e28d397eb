//! `atmo repo` (being written).

use crate::error::CliError;

/// Arguments of `atmo repo`.
#[derive(Debug, clap::Args)]
pub(crate) struct RepoArgs {}

/// Runs `atmo repo`.
pub(crate) fn run(_args: RepoArgs) -> Result<(), CliError> {
    Err(CliError::failed("not available yet"))
}
