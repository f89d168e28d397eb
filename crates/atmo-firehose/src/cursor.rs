//! Where the last delivered sequence number is kept, so that a restart resumes.

use std::path::PathBuf;
use std::sync::Mutex;

use crate::error::Error;

/// Keeps the last sequence number a consumer handled.
pub trait CursorStore: Send + Sync + std::fmt::Debug {
    /// The stored cursor, if any.
    ///
    /// # Errors
    /// [`Error::CursorStore`] when the store cannot be read.
    fn load(&self) -> Result<Option<i64>, Error>;

    /// Stores `seq`.
    ///
    /// # Errors
    /// [`Error::CursorStore`] when the store cannot be written.
    fn save(&self, seq: i64) -> Result<(), Error>;
}

/// A cursor kept in memory (for tests, and for consumers that persist elsewhere).
///
/// ```
/// use atmo_firehose::{CursorStore, MemoryCursorStore};
/// let s = MemoryCursorStore::default();
/// s.save(42).unwrap();
/// assert_eq!(s.load().unwrap(), Some(42));
/// ```
#[derive(Debug, Default)]
pub struct MemoryCursorStore {
    seq: Mutex<Option<i64>>,
}

impl CursorStore for MemoryCursorStore {
    fn load(&self) -> Result<Option<i64>, Error> {
        Ok(*self
            .seq
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    fn save(&self, seq: i64) -> Result<(), Error> {
        *self
            .seq
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(seq);
        Ok(())
    }
}

/// A cursor kept in a file as decimal text, replaced atomically (written to a temporary
/// file beside it, then renamed).
///
/// ```
/// use atmo_firehose::{CursorStore, FileCursorStore};
/// let path = std::env::temp_dir().join(format!("atmo-cursor-doc-{}", std::process::id()));
/// let s = FileCursorStore::new(&path);
/// s.save(7).unwrap();
/// assert_eq!(FileCursorStore::new(&path).load().unwrap(), Some(7));
/// # std::fs::remove_file(&path).ok();
/// ```
#[derive(Debug, Clone)]
pub struct FileCursorStore {
    path: PathBuf,
}

impl FileCursorStore {
    /// A store at `path` (the file need not exist).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    fn err(&self, e: impl std::fmt::Display) -> Error {
        Error::CursorStore {
            path: self.path.display().to_string(),
            message: e.to_string(),
        }
    }
}

impl CursorStore for FileCursorStore {
    fn load(&self) -> Result<Option<i64>, Error> {
        match std::fs::read_to_string(&self.path) {
            Ok(s) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.err("not a sequence number")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.err(e)),
        }
    }

    fn save(&self, seq: i64) -> Result<(), Error> {
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        std::fs::write(&tmp, format!("{seq}\n")).map_err(|e| self.err(e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| self.err(e))
    }
}
