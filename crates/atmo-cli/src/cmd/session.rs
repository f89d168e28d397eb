//! `atmo` network and lexicon commands (being written).

use super::GlobalArgs;
use crate::error::CliError;

/// Arguments (being written).
#[derive(Debug, clap::Args)]
pub(crate) struct LoginArgs {}

/// Arguments (being written).
#[derive(Debug, clap::Args)]
pub(crate) struct LogoutArgs {}

/// Arguments (being written).
#[derive(Debug, clap::Args)]
pub(crate) struct WhoamiArgs {}

/// Runs the command (being written).
pub(crate) fn login(_args: LoginArgs, _global: &GlobalArgs) -> Result<(), CliError> {
    Err(CliError::failed("not available yet"))
}

/// Runs the command (being written).
pub(crate) fn logout(_args: LogoutArgs, _global: &GlobalArgs) -> Result<(), CliError> {
    Err(CliError::failed("not available yet"))
}

/// Runs the command (being written).
pub(crate) fn whoami(_args: WhoamiArgs, _global: &GlobalArgs) -> Result<(), CliError> {
    Err(CliError::failed("not available yet"))
}
