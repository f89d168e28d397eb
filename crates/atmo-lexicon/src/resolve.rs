//! Finding a lexicon by NSID: the user's search paths, then the bundled set, then a
//! cache directory, then the network through a [`LexiconFetcher`] supplied by the caller
//! (this crate does no I/O beyond files; the pure pieces of network resolution are here:
//! [`dns_name`], [`parse_dns_txt`], [`check_schema_record`], [`write_cache`]).

use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use atmo_syntax::{Datetime, Did, Nsid};

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
    /// Fetched from the network: the `com.atproto.lexicon.schema` record at `uri`.
    Network {
        /// `at://<did>/com.atproto.lexicon.schema/<nsid>`.
        uri: String,
        /// The record's CID, as the PDS reported it.
        cid: String,
        /// Where the document was cached, if the resolver has a cache directory.
        cached: Option<PathBuf>,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SearchPath(p) => write!(f, "search path: {}", p.display()),
            Self::Bundled(p) => write!(f, "bundled: lexicons/{p}"),
            Self::Cache(p) => write!(f, "cache: {}", p.display()),
            Self::Network { uri, cid, cached } => {
                write!(f, "network: {uri} (cid {cid})")?;
                match cached {
                    Some(p) => write!(f, ", cached in {}", p.display()),
                    None => Ok(()),
                }
            }
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
    /// Who published it, for a document fetched from the network now or earlier (a cache
    /// file with its sidecar, see [`write_cache`]).
    pub provenance: Option<Provenance>,
}

/// The collection of published lexicon schema records.
pub const SCHEMA_COLLECTION: &str = "com.atproto.lexicon.schema";

/// The largest sidecar file [`read_provenance`] reads.
const MAX_SIDECAR_SIZE: u64 = 4096;

/// Most TXT strings [`parse_dns_txt`] accepts (more is an error): the shared rule's
/// [`atmo_syntax::txt::MAX_TXT_STRINGS`].
pub const MAX_TXT_RECORDS: usize = atmo_syntax::txt::MAX_TXT_STRINGS;

/// Where a network-resolved lexicon came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Provenance {
    /// The DID of the repository holding the schema record (the NSID authority's DID).
    pub did: String,
    /// The record's CID.
    pub cid: String,
    /// When it was fetched (an atproto datetime).
    pub fetched_at: String,
}

impl Provenance {
    /// A provenance record.
    pub fn new(
        did: impl Into<String>,
        cid: impl Into<String>,
        fetched_at: impl Into<String>,
    ) -> Self {
        Self {
            did: did.into(),
            cid: cid.into(),
            fetched_at: fetched_at.into(),
        }
    }

    /// The schema record's `at://` URI for `nsid`.
    pub fn uri(&self, nsid: &Nsid) -> String {
        schema_uri(&self.did, nsid.as_str())
    }
}

/// `at://<did>/com.atproto.lexicon.schema/<nsid>`.
pub(crate) fn schema_uri(did: &str, nsid: &str) -> String {
    format!("at://{did}/{SCHEMA_COLLECTION}/{nsid}")
}

/// What a [`LexiconFetcher`] found: the repository's DID, the record's CID, and the
/// record itself (JSON, as `com.atproto.repo.getRecord` returns it in `value`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Fetched {
    /// The DID the `_lexicon` DNS record named.
    pub did: Did,
    /// The record's CID.
    pub cid: String,
    /// The record.
    pub record: serde_json::Value,
}

impl Fetched {
    /// What a fetcher found.
    pub fn new(did: Did, cid: impl Into<String>, record: serde_json::Value) -> Self {
        Self {
            did,
            cid: cid.into(),
            record,
        }
    }
}

/// The network step of [`Resolver::resolve`]: `_lexicon.<authority>` DNS TXT -> DID ->
/// PDS -> the `com.atproto.lexicon.schema` record with the NSID as record key. The
/// resolver checks what comes back ([`check_schema_record`]) and caches it.
///
/// This crate has no network code: the caller implements this (blocking on its own
/// runtime if it is async). Any `Fn(&Nsid) -> Result<Fetched, Error>` is a fetcher.
pub trait LexiconFetcher: Send + Sync {
    /// Fetches the schema record for `nsid`.
    ///
    /// # Errors
    /// [`Error::Fetch`] (or any other) when it cannot.
    fn fetch(&self, nsid: &Nsid) -> Result<Fetched, Error>;
}

impl<F> LexiconFetcher for F
where
    F: Fn(&Nsid) -> Result<Fetched, Error> + Send + Sync,
{
    fn fetch(&self, nsid: &Nsid) -> Result<Fetched, Error> {
        self(nsid)
    }
}

/// The DNS name holding the `did=` TXT record for `nsid`'s authority: `_lexicon.` and the
/// NSID without its name segment, reversed. Resolution is not hierarchical: only this
/// exact name is asked.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let nsid = atmo_syntax::Nsid::new("com.example.status.post")?;
/// assert_eq!(atmo_lexicon::dns_name(&nsid), "_lexicon.status.example.com");
/// # Ok(()) }
/// ```
pub fn dns_name(nsid: &Nsid) -> String {
    format!("_lexicon.{}", nsid.domain_authority())
}

/// The DID in the TXT strings found at [`dns_name`], by the rule handles share
/// ([`atmo_syntax::txt::did_from_txt`]): the one `did=<DID>` string (other strings are
/// ignored, nothing is trimmed, the same value repeated counts once, at most
/// [`MAX_TXT_RECORDS`] strings).
///
/// # Errors
/// [`Error::Fetch`] when there is no `did=` string, two with different values, a value
/// that is not a DID, or more than [`MAX_TXT_RECORDS`] strings.
pub fn parse_dns_txt(nsid: &Nsid, records: &[String]) -> Result<Did, Error> {
    use atmo_syntax::txt::{TxtError, did_from_txt};
    let fail = |reason: String| Error::Fetch {
        nsid: nsid.as_str().to_owned(),
        reason,
    };
    let name = dns_name(nsid);
    let value = |i: usize| {
        let v = records
            .get(i)
            .map_or("", |r| r.strip_prefix("did=").unwrap_or(r));
        clip(v)
    };
    match did_from_txt(records) {
        Ok(Some(did)) => Ok(did),
        Ok(None) => Err(fail(format!("{name} has no did= TXT record"))),
        Err(TxtError::Ambiguous { first, second }) => Err(fail(format!(
            "{name} has more than one did= TXT record ({}, {})",
            value(first),
            value(second)
        ))),
        Err(TxtError::BadDid { index, error }) => Err(fail(format!(
            "{name}: {:?} is not a DID: {error}",
            value(index)
        ))),
        Err(e) => Err(fail(format!("{name}: {e}"))),
    }
}

/// At most 128 characters of `s` (a TXT string in a message), marked when cut.
fn clip(s: &str) -> String {
    match s.char_indices().nth(128) {
        Some((i, _)) => format!("{}...", s.get(..i).unwrap_or_default()),
        None => s.to_owned(),
    }
}

/// Checks a fetched `com.atproto.lexicon.schema` record: `$type` is that collection, the
/// rest is a valid lexicon document, and its `id` is `nsid`. `origin` names the record
/// in errors (its `at://` URI).
///
/// # Errors
/// [`Error::Fetch`] for a wrong `$type`; [`Error::Doc`] for an invalid document;
/// [`Error::IdMismatch`] (with `origin` as the path) for another NSID.
pub fn check_schema_record(
    nsid: &Nsid,
    record: &serde_json::Value,
    origin: &str,
) -> Result<LexiconDoc, Error> {
    match record.get("$type").and_then(serde_json::Value::as_str) {
        Some(SCHEMA_COLLECTION) => {}
        other => {
            return Err(Error::Fetch {
                nsid: nsid.as_str().to_owned(),
                reason: format!(
                    "{origin}: the record's $type is {}, not {SCHEMA_COLLECTION}",
                    other.map_or_else(|| "missing".to_owned(), |t| format!("{t:?}"))
                ),
            });
        }
    }
    let doc = LexiconDoc::from_json_value(record).map_err(|mut e| {
        e.reason = format!("{} ({origin})", e.reason);
        Error::Doc(e)
    })?;
    if doc.id != *nsid {
        return Err(Error::IdMismatch {
            path: origin.to_owned(),
            expected: nsid.as_str().to_owned(),
            found: doc.id.as_str().to_owned(),
        });
    }
    Ok(doc)
}

/// Writes a fetched record into the cache directory `dir` as `<nsid>.json` (the layout
/// the cache step of [`Resolver::resolve`] reads) with a sidecar `<nsid>.meta` holding
/// the DID, the record CID and the fetch time (read back by [`read_provenance`]). Each
/// file is written beside its place and renamed, so a reader never sees half a file.
/// Returns the path of the document.
///
/// # Errors
/// [`Error::Io`] when the directory or a file cannot be written.
pub fn write_cache(
    dir: &Path,
    nsid: &Nsid,
    record: &serde_json::Value,
    provenance: &Provenance,
) -> Result<PathBuf, Error> {
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let doc_path = dir.join(format!("{}.json", nsid.as_str()));
    let meta_path = sidecar_path(dir, nsid);
    let meta = serde_json::json!({
        "did": provenance.did,
        "cid": provenance.cid,
        "uri": provenance.uri(nsid),
        "fetchedAt": provenance.fetched_at,
    });
    let pretty = |v: &serde_json::Value| {
        serde_json::to_string_pretty(v).map_err(|e| Error::Json(e.to_string()))
    };
    // The sidecar first: a document never appears without the provenance beside it.
    write_atomic(&meta_path, pretty(&meta)?.as_bytes())?;
    write_atomic(&doc_path, pretty(record)?.as_bytes())?;
    Ok(doc_path)
}

/// The provenance sidecar [`write_cache`] left in `dir` for `nsid`, if there is a
/// readable one.
pub fn read_provenance(dir: &Path, nsid: &Nsid) -> Option<Provenance> {
    let f = std::fs::File::open(sidecar_path(dir, nsid)).ok()?;
    let mut text = String::new();
    f.take(MAX_SIDECAR_SIZE).read_to_string(&mut text).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let field = |k: &str| {
        v.get(k)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    Some(Provenance {
        did: field("did")?,
        cid: field("cid")?,
        fetched_at: field("fetchedAt").unwrap_or_default(),
    })
}

fn sidecar_path(dir: &Path, nsid: &Nsid) -> PathBuf {
    // Not `.json`: the cache lookup never mistakes it for a lexicon document.
    dir.join(format!("{}.meta", nsid.as_str()))
}

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(|e| io_err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_err(path, e)
    })
}

pub(crate) fn io_err(path: &Path, e: impl fmt::Display) -> Error {
    Error::Io {
        path: path.display().to_string(),
        msg: e.to_string(),
    }
}

/// Local lexicon resolution, in order: the search paths (each a directory in the upstream
/// layout, `app/bsky/feed/post.json`, or holding `app.bsky.feed.post.json`), the bundled
/// set (with the `bundled` feature, unless turned off), then the cache directory (same
/// layouts). The last step, the network (`_lexicon.<authority>` DNS TXT -> DID -> PDS ->
/// `com.atproto.lexicon.schema` record), runs the [`LexiconFetcher`] given to
/// [`Resolver::fetcher`], checks the record ([`check_schema_record`]) and caches it
/// ([`write_cache`]) when there is a cache directory; without a fetcher it ends with
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
#[derive(Clone)]
pub struct Resolver {
    search_paths: Vec<PathBuf>,
    use_bundled: bool,
    cache_dir: Option<PathBuf>,
    fetcher: Option<Arc<dyn LexiconFetcher>>,
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("search_paths", &self.search_paths)
            .field("use_bundled", &self.use_bundled)
            .field("cache_dir", &self.cache_dir)
            .field("fetcher", &self.fetcher.as_ref().map(|_| "set"))
            .finish()
    }
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
            fetcher: None,
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

    /// Sets the network step (see [`LexiconFetcher`]).
    pub fn fetcher(mut self, fetcher: impl LexiconFetcher + 'static) -> Self {
        self.fetcher = Some(Arc::new(fetcher));
        self
    }

    /// Finds the lexicon document for `nsid`.
    ///
    /// # Errors
    /// [`Error::Doc`] (with [`crate::DocError::path`] `$.id`) if `nsid` is not an NSID;
    /// [`Error::Io`]/[`Error::Doc`] if a file found is unreadable or invalid;
    /// [`Error::IdMismatch`] if a file found defines another NSID;
    /// [`Error::NetworkResolutionUnavailable`] if no local step has it and there is no
    /// fetcher; from the network step, the fetcher's errors and those of
    /// [`check_schema_record`] and [`write_cache`].
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
                    provenance: None,
                });
            }
        }
        if let Some(dir) = &self.cache_dir {
            if let Some(doc) = find_in(dir, &id)? {
                let mut found = doc_with(doc, Source::Cache);
                found.provenance = read_provenance(dir, &id);
                return Ok(found);
            }
        }
        let Some(fetcher) = &self.fetcher else {
            return Err(Error::NetworkResolutionUnavailable {
                nsid: id.as_str().to_owned(),
            });
        };
        let fetched = fetcher.fetch(&id)?;
        let uri = schema_uri(fetched.did.as_str(), id.as_str());
        let doc = check_schema_record(&id, &fetched.record, &uri)?;
        let provenance = Provenance::new(
            fetched.did.as_str(),
            fetched.cid.as_str(),
            Datetime::now().as_str(),
        );
        let cached = match &self.cache_dir {
            Some(dir) => Some(write_cache(dir, &id, &fetched.record, &provenance)?),
            None => None,
        };
        Ok(Resolved {
            doc,
            source: Source::Network {
                uri,
                cid: fetched.cid,
                cached,
            },
            provenance: Some(provenance),
        })
    }
}

fn doc_with(found: (LexiconDoc, PathBuf), f: fn(PathBuf) -> Source) -> Resolved {
    Resolved {
        doc: found.0,
        source: f(found.1),
        provenance: None,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn nsid(s: &str) -> Nsid {
        Nsid::new(s).unwrap()
    }

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "atmo-lexicon-resolve-{name}-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn schema(id: &str) -> serde_json::Value {
        serde_json::json!({
            "$type": SCHEMA_COLLECTION,
            "lexicon": 1,
            "id": id,
            "defs": {"main": {"type": "record", "key": "tid", "record": {"type": "object",
                "required": ["status"],
                "properties": {"status": {"type": "string", "maxGraphemes": 1}}}}}
        })
    }

    const DID: &str = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";

    #[test]
    fn dns_name_drops_the_name_and_reverses() {
        assert_eq!(
            dns_name(&nsid("com.example.status.post")),
            "_lexicon.status.example.com"
        );
        assert_eq!(
            dns_name(&nsid("app.bsky.feed.post")),
            "_lexicon.feed.bsky.app"
        );
        assert_eq!(
            dns_name(&nsid("Com.Example.fooBar")),
            "_lexicon.example.com"
        );
    }

    #[test]
    fn txt_answers() {
        let n = nsid("com.example.status.post");
        let did =
            |v: &[&str]| parse_dns_txt(&n, &v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(did(&[&format!("did={DID}")]).unwrap().as_str(), DID);
        // Other strings are ignored; the same DID twice is one.
        assert_eq!(
            did(&["v=spf1 -all", &format!("did={DID}"), &format!("did={DID}")])
                .unwrap()
                .as_str(),
            DID
        );
        let e = did(&[]).unwrap_err().to_string();
        assert!(
            e.contains("_lexicon.status.example.com has no did= TXT record"),
            "{e}"
        );
        let e = did(&["did=did:plc:aaaa", "did=did:plc:bbbb"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("more than one"), "{e}");
        let e = did(&["did=not-a-did"]).unwrap_err().to_string();
        assert!(e.contains("is not a DID"), "{e}");
        // The rule handles share: nothing is trimmed, a bad DID beside a good one is
        // ambiguous, more than MAX_TXT_RECORDS strings is an error.
        let e = did(&[&format!(" did={DID} ")]).unwrap_err().to_string();
        assert!(e.contains("has no did= TXT record"), "{e}");
        let e = did(&[&format!("did={DID} ")]).unwrap_err().to_string();
        assert!(e.contains("is not a DID"), "{e}");
        let e = did(&["did=nope", &format!("did={DID}")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("more than one"), "{e}");
        let mut many = vec!["x"; MAX_TXT_RECORDS];
        let one = format!("did={DID}");
        many[0] = &one;
        assert_eq!(did(&many).unwrap().as_str(), DID);
        many.push("x");
        let e = did(&many).unwrap_err().to_string();
        assert!(e.contains("65 TXT strings, at most 64"), "{e}");
        let long = format!("did={}", "x".repeat(10_000));
        let e = did(&[&long]).unwrap_err().to_string();
        assert!(e.len() < 400, "{e}");
    }

    #[test]
    fn schema_records_are_checked() {
        let n = nsid("com.example.status.post");
        let doc = check_schema_record(&n, &schema("com.example.status.post"), "at://x").unwrap();
        assert_eq!(doc.id, n);
        let e = check_schema_record(&n, &schema("com.example.status.other"), "at://x").unwrap_err();
        assert_eq!(
            e,
            Error::IdMismatch {
                path: "at://x".into(),
                expected: "com.example.status.post".into(),
                found: "com.example.status.other".into()
            }
        );
        let mut wrong_type = schema("com.example.status.post");
        wrong_type["$type"] = "com.example.other".into();
        let e = check_schema_record(&n, &wrong_type, "at://x").unwrap_err();
        assert!(matches!(e, Error::Fetch { .. }), "{e}");
        let mut bad = schema("com.example.status.post");
        bad["defs"]["main"]["type"] = "nonsense".into();
        let e = check_schema_record(&n, &bad, "at://x").unwrap_err();
        assert!(
            matches!(&e, Error::Doc(d) if d.reason.contains("at://x")),
            "{e}"
        );
    }

    #[test]
    fn network_step_fetches_checks_and_caches() {
        let dir = temp("net");
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = calls.clone();
        let fetcher = move |n: &Nsid| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(Fetched::new(
                Did::new(DID).unwrap(),
                "bafyreiexample",
                schema(n.as_str()),
            ))
        };
        let r = Resolver::new()
            .bundled(false)
            .cache_dir(&dir)
            .fetcher(fetcher);
        let found = r.resolve("com.example.status.post").unwrap();
        let uri = format!("at://{DID}/{SCHEMA_COLLECTION}/com.example.status.post");
        let cached = dir.join("com.example.status.post.json");
        assert_eq!(
            found.source,
            Source::Network {
                uri: uri.clone(),
                cid: "bafyreiexample".into(),
                cached: Some(cached.clone())
            }
        );
        let prov = found.provenance.unwrap();
        assert_eq!(
            (prov.did.as_str(), prov.cid.as_str()),
            (DID, "bafyreiexample")
        );
        assert_eq!(prov.uri(&found.doc.id), uri);
        assert!(cached.is_file());
        // Second time: from the cache, with the provenance read back, no fetch.
        let again = r.resolve("com.example.status.post").unwrap();
        assert_eq!(again.source, Source::Cache(cached));
        assert_eq!(again.provenance, Some(prov));
        assert_eq!(again.doc, found.doc);
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn network_step_refuses_a_record_for_another_nsid_and_caches_nothing() {
        let dir = temp("mismatch");
        let r = Resolver::new()
            .bundled(false)
            .cache_dir(&dir)
            .fetcher(|_: &Nsid| {
                Ok(Fetched::new(
                    Did::new(DID).unwrap(),
                    "bafy",
                    schema("com.example.status.other"),
                ))
            });
        let e = r.resolve("com.example.status.post").unwrap_err();
        assert!(matches!(e, Error::IdMismatch { .. }), "{e}");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        // A fetcher's own error comes through; no fetcher at all is the old error.
        let r = Resolver::new().bundled(false).fetcher(|n: &Nsid| {
            Err(Error::Fetch {
                nsid: n.as_str().to_owned(),
                reason: "offline".into(),
            })
        });
        assert_eq!(
            r.resolve("com.example.x").unwrap_err().to_string(),
            "cannot resolve lexicon com.example.x from the network: offline"
        );
        assert!(matches!(
            Resolver::new().bundled(false).resolve("com.example.x"),
            Err(Error::NetworkResolutionUnavailable { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
