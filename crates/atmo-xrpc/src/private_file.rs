//! Small files that hold secrets (session tokens, DPoP keys): created with mode 0600,
//! replaced atomically, read with a size bound. Shared by the session stores of this crate
//! and of atmo-oauth.

use std::io::{Read as _, Write as _};
use std::path::Path;

/// Opens `path` for writing, created with mode 0600 on Unix (`truncate` or not), e.g. a
/// lock file or a file about to be renamed into place.
///
/// # Errors
///
/// The I/O error of opening it.
pub fn open_private(path: &Path, truncate: bool) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(truncate);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// Writes `bytes` to a sibling of `path` named per process (two processes saving at once
/// never write the same file), mode 0600 from the start, synced, then renamed over `path`.
///
/// # Errors
///
/// The I/O error of any step.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let ext = path
        .extension()
        .map_or_else(String::new, |e| format!("{}.", e.to_string_lossy()));
    let tmp = path.with_extension(format!("{ext}{}.tmp", std::process::id()));
    let mut f = open_private(&tmp, true)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // An older file of that name may have had other permissions.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}

/// The contents of `path`, `None` when it does not exist; an error of kind
/// [`std::io::ErrorKind::InvalidData`] when it is larger than `max` bytes (only `max + 1`
/// bytes are ever read).
///
/// # Errors
///
/// The I/O error of reading it, or the size bound.
pub fn read_bounded(path: &Path, max: u64) -> std::io::Result<Option<Vec<u8>>> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut buf = Vec::new();
    f.take(max.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {max} bytes"),
        ));
    }
    Ok(Some(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_and_bound() {
        let dir = std::env::temp_dir().join(format!("atmo-private-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("s.json");
        assert!(read_bounded(&p, 10).unwrap().is_none());
        write_atomic(&p, b"hello").unwrap();
        assert_eq!(read_bounded(&p, 10).unwrap().unwrap(), b"hello");
        let e = read_bounded(&p, 4).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary file is left beside it.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        let _ = std::fs::remove_dir_all(dir);
    }
}
