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

/// The longest message printed whole; a longer one (it echoes a huge input value) keeps
/// its start, where the reason and the position are, and its end.
const MAX_MESSAGE: usize = 2048;

/// `msg`, cut in the middle if it is longer than [`MAX_MESSAGE`] bytes, saying how much
/// was left out.
fn bounded(msg: String) -> String {
    if msg.len() <= MAX_MESSAGE {
        return msg;
    }
    let mut head = MAX_MESSAGE - 512;
    while !msg.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = msg.len() - 256;
    while !msg.is_char_boundary(tail) {
        tail += 1;
    }
    format!(
        "{} [... {} bytes omitted ...] {}",
        msg.get(..head).unwrap_or_default(),
        tail - head,
        msg.get(tail..).unwrap_or_default()
    )
}

impl CliError {
    /// A failure (exit 1) with the given message.
    pub(crate) fn failed(msg: impl fmt::Display) -> Self {
        Self::Failed(bounded(msg.to_string()))
    }

    /// A usage error (exit 2) with the given message.
    pub(crate) fn usage(msg: impl fmt::Display) -> Self {
        Self::Usage(bounded(msg.to_string()))
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
        Self::Failed(bounded(format!("i/o error: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_in_the_middle() {
        let short = "invalid DID at byte 3".to_owned();
        assert_eq!(bounded(short.clone()), short);
        let long = format!("invalid value \"{}é\" at byte 3", "x".repeat(120_000));
        let cut = bounded(long.clone());
        assert!(cut.len() < MAX_MESSAGE + 64, "{}", cut.len());
        assert!(cut.starts_with("invalid value \"xxx"));
        assert!(cut.ends_with("é\" at byte 3"));
        assert!(cut.contains(" bytes omitted ...]"));
        let e = CliError::failed(long);
        assert!(e.to_string().len() < MAX_MESSAGE + 64);
    }
}
