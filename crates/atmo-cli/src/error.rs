//! The CLI's error type and its mapping to exit codes.

use std::fmt;
use std::process::ExitCode;

/// Why a command did not succeed. Each variant maps to one exit code.
#[derive(Debug)]
pub(crate) enum CliError {
    /// The input was read but is invalid, or the operation failed: exit 1.
    Failed(String),
    /// The command line itself is wrong (beyond what clap checks): exit 2.
    Usage(String),
}

impl CliError {
    /// A failure (exit 1) with the given message.
    pub(crate) fn failed(msg: impl fmt::Display) -> Self {
        Self::Failed(msg.to_string())
    }

    /// A usage error (exit 2) with the given message.
    pub(crate) fn usage(msg: impl fmt::Display) -> Self {
        Self::Usage(msg.to_string())
    }

    /// The process exit code for this error.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            Self::Failed(_) => ExitCode::from(1),
            Self::Usage(_) => ExitCode::from(2),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed(m) | Self::Usage(m) => f.write_str(m),
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        Self::Failed(format!("i/o error: {e}"))
    }
}
