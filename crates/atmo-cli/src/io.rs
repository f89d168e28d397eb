//! Reading inputs (`FILE` or `-` for stdin) and writing outputs.

use std::io::{Read, Write};
use std::path::Path;

use crate::error::CliError;

/// Most bytes any single input may have (256 MiB): inputs are untrusted.
pub(crate) const MAX_INPUT: u64 = 256 * 1024 * 1024;

/// Reads a whole input: a file path, or standard input for `None` or `-`.
pub(crate) fn read_input(path: Option<&Path>) -> Result<Vec<u8>, CliError> {
    let mut buf = Vec::new();
    match path {
        None => read_bounded(std::io::stdin().lock(), &mut buf, "<stdin>")?,
        Some(p) if p.as_os_str() == "-" => {
            read_bounded(std::io::stdin().lock(), &mut buf, "<stdin>")?
        }
        Some(p) => {
            let f = std::fs::File::open(p)
                .map_err(|e| CliError::failed(format!("cannot open {}: {e}", p.display())))?;
            read_bounded(f, &mut buf, &p.display().to_string())?;
        }
    }
    Ok(buf)
}

fn read_bounded(r: impl Read, buf: &mut Vec<u8>, name: &str) -> Result<(), CliError> {
    r.take(MAX_INPUT + 1)
        .read_to_end(buf)
        .map_err(|e| CliError::failed(format!("cannot read {name}: {e}")))?;
    if buf.len() as u64 > MAX_INPUT {
        return Err(CliError::failed(format!(
            "{name} is larger than {MAX_INPUT} bytes"
        )));
    }
    Ok(())
}

/// Writes bytes to standard output, ignoring a closed pipe.
pub(crate) fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Writes one line (a newline is added) to standard output.
pub(crate) fn println(line: &str) -> Result<(), CliError> {
    let mut s = String::with_capacity(line.len() + 1);
    s.push_str(line);
    s.push('\n');
    write_stdout(s.as_bytes())
}
