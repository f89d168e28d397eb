//! Finding a lexicon by NSID: the user's search paths, then the bundled set, then a
//! cache directory, then (not built yet) the network.

use std::fmt;
use std::path::{Path, PathBuf};

use atmo_syntax::Nsid;

use crate::bundled;
use crate::catalog::read_doc;
use crate::error::Error;
use crate::model::LexiconDoc;

/// Where a resolved lexicon came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// A file under one of the user's search paths.
    SearchPath(PathBuf),
    /// The bundled official set (path under `lexicons/`).
    Bundled(&'static str),
    /// A file in the cache directory.
    Cache(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SearchPath(p) => write!(f, "search path: {}", p.display()),
            Self::Bundled(p) => write!(f, "bundled: lexicons/{p}"),
            Self::Cache(p) => write!(f, "cache: {}", p.display()),
        }
    }
}

/// A lexicon found by [`Resolver::resolve`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Resolved {
    /// The document (parsed and checked).
    pub doc: LexiconDoc,
    /// Where it came from.
    pub source: Source,
}

/// Local lexicon resolution, in order: the search paths (each a directory in the upstream
/// layout, `app/bsky/feed/post.json`, or holding `app.bsky.feed.post.json`), the bundled
/// set (with the `bundled` feature, unless turned off), then the cache directory (same
/// layouts). The last step, the network (`_lexicon.<authority>` DNS TXT -> DID -> PDS ->
/// `com.atproto.lexicon.schema` record), is not built yet and ends with
/// [`Error::NetworkResolutionUnavailable`].
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use atmo_lexicon::Resolver;
/// let dir = std::env::temp_dir().join(format!("atmo-lexicon-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// std::fs::write(dir.join("com.example.status.json"),
///     r#"{"lexicon": 1, "id": "com.example.status", "defs": {"main": {"type": "token"}}}"#)?;
/// let found = Resolver::new().search_path(&dir).bundled(false).resolve("com.example.status")?;
/// assert_eq!(found.doc.id.as_str(), "com.example.status");
/// assert!(Resolver::new().bundled(false).resolve("com.example.nothing").is_err());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Resolver {
    search_paths: Vec<PathBuf>,
    use_bundled: bool,
    cache_dir: Option<PathBuf>,
}

impl Default for Resolver {
    fn default() -> Self {
        Self::new()
    }
}

impl Resolver {
    /// A resolver with no search paths, the bundled set on, and no cache.
    pub fn new() -> Self {
        Self {
            search_paths: Vec::new(),
            use_bundled: true,
            cache_dir: None,
        }
    }

    /// Adds a search path (tried in the order added).
    pub fn search_path(mut self, dir: impl Into<PathBuf>) -> Self {
        self.search_paths.push(dir.into());
        self
    }

    /// Turns the bundled set on or off.
    pub fn bundled(mut self, yes: bool) -> Self {
        self.use_bundled = yes;
        self
    }

    /// Sets the cache directory.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Finds the lexicon document for `nsid`.
    ///
    /// # Errors
    /// [`Error::Doc`] (with [`crate::DocError::path`] `$.id`) if `nsid` is not an NSID;
    /// [`Error::Io`]/[`Error::Doc`] if a file found is unreadable or invalid;
    /// [`Error::IdMismatch`] if a file found defines another NSID;
    /// [`Error::NetworkResolutionUnavailable`] if no local step has it.
    pub fn resolve(&self, nsid: &str) -> Result<Resolved, Error> {
        let id = Nsid::new(nsid).map_err(|e| {
            Error::Doc(crate::DocError {
                path: "$.id".to_owned(),
                reason: format!("{nsid:?} is not a valid NSID: {e}"),
            })
        })?;
        for dir in &self.search_paths {
            if let Some(doc) = find_in(dir, &id)? {
                return Ok(doc_with(doc, Source::SearchPath));
            }
        }
        if self.use_bundled {
            let want = bundled::nsid_path(id.as_str());
            if let Some((path, text)) = bundled::files().iter().find(|(p, _)| *p == want) {
                let doc = LexiconDoc::from_json(text)?;
                return Ok(Resolved {
                    doc,
                    source: Source::Bundled(path),
                });
            }
        }
        if let Some(dir) = &self.cache_dir {
            if let Some(doc) = find_in(dir, &id)? {
                return Ok(doc_with(doc, Source::Cache));
            }
        }
        Err(Error::NetworkResolutionUnavailable {
            nsid: id.as_str().to_owned(),
        })
    }
}

fn doc_with(found: (LexiconDoc, PathBuf), f: fn(PathBuf) -> Source) -> Resolved {
    Resolved {
        doc: found.0,
        source: f(found.1),
    }
}

fn find_in(dir: &Path, id: &Nsid) -> Result<Option<(LexiconDoc, PathBuf)>, Error> {
    let candidates = [
        dir.join(bundled::nsid_path(id.as_str())),
        dir.join(format!("{}.json", id.as_str())),
    ];
    for p in candidates {
        if p.is_file() {
            let doc = read_doc(&p)?;
            if doc.id != *id {
                return Err(Error::IdMismatch {
                    path: p.display().to_string(),
                    expected: id.as_str().to_owned(),
                    found: doc.id.as_str().to_owned(),
                });
            }
            return Ok(Some((doc, p)));
        }
    }
    Ok(None)
}
