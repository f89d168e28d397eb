//! The lexicon lockfile: each NSID pinned to the `com.atproto.lexicon.schema` record it
//! was pulled from (the repository's DID, the record's `at://` URI, the record's CID),
//! and the lexicon directory it describes.
//!
//! `atmo lex pull NSID...` resolves lexicons from the network, writes each document at
//! its upstream path under a directory (`com/example/status.json`) and records it in
//! `lexicons.lock`; `atmo lex pull --locked` fails when what resolves differs from the
//! lock. Offline, [`Lockfile::catalog`] reads exactly the locked documents from the
//! directory and checks each file against its pinned CID, so a code generator (or a
//! build script) can generate from the locked set and nothing else.
//!
//! # The format
//!
//! JSON, written by [`Lockfile::to_text`] the same way every time: two-space indents,
//! the NSIDs sorted (bytewise), one field per line, a final newline, so a change of
//! one lexicon is a one-line diff (its `cid`), and a new lexicon is a block of its own.
//!
//! ```json
//! {
//!   "version": 1,
//!   "lexicons": {
//!     "com.example.status.post": {
//!       "did": "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
//!       "uri": "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/com.atproto.lexicon.schema/com.example.status.post",
//!       "cid": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"
//!     }
//!   }
//! }
//! ```
//!
//! `version` is 1. `uri` is redundant (it is always
//! `at://<did>/com.atproto.lexicon.schema/<nsid>`) and is there for the reader; parsing
//! checks it. `cid` is the CID of the record (its DAG-CBOR, `$type` included), as the
//! PDS reports it and as a verifier computes it. Reading is strict: unknown fields,
//! repeated keys, an invalid NSID, DID or CID, or a `uri` that does not match are
//! errors.
//!
//! # The documents
//!
//! A document file holds the record without its `$type` (so the directory looks like
//! the upstream lexicon repositories); its record CID is that of the file's JSON with
//! `"$type": "com.atproto.lexicon.schema"` put back ([`record_cid`]).
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use atmo_lexicon::{LockEntry, Lockfile, lock};
//! let dir = std::env::temp_dir().join(format!("atmo-lexicon-lock-doc-{}", std::process::id()));
//! let record = serde_json::json!({"$type": "com.atproto.lexicon.schema", "lexicon": 1,
//!     "id": "com.example.status", "defs": {"main": {"type": "token"}}});
//! let nsid = atmo_syntax::Nsid::new("com.example.status")?;
//! let path = lock::write_doc(&dir, &nsid, &record)?;
//! assert!(path.ends_with("com/example/status.json"));
//!
//! let mut locked = Lockfile::new();
//! let did = atmo_syntax::Did::new("did:plc:ewvi7nxzyoun6zhxrhs64oiz")?;
//! locked.insert(nsid, LockEntry::new(did, lock::record_cid(&record)?));
//! let text = locked.to_text();
//! assert_eq!(Lockfile::parse(&text)?, locked);
//! // Codegen input: exactly the locked documents, each checked against its CID.
//! let catalog = locked.catalog(&dir)?;
//! assert!(catalog.get("com.example.status").is_some());
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use atmo_data::Cid;
use atmo_syntax::{Did, Nsid};

use crate::catalog::{Catalog, doc_in_file, read_text};
use crate::error::Error;
use crate::parse::json_unique_keys;
use crate::resolve::{Fetched, SCHEMA_COLLECTION, io_err, schema_uri, write_atomic};

/// The lockfile's usual name.
pub const LOCKFILE_NAME: &str = "lexicons.lock";

/// The lockfile format version this crate reads and writes.
pub const LOCK_VERSION: u64 = 1;

/// Most NSIDs one lockfile may hold.
pub const MAX_LOCK_ENTRIES: usize = 100_000;

/// Where one NSID is pinned: the repository and the record's CID.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockEntry {
    /// The DID of the repository holding the schema record (the one the NSID
    /// authority's `_lexicon` TXT record named).
    pub did: Did,
    /// The CID of the `com.atproto.lexicon.schema` record.
    pub cid: Cid,
}

impl LockEntry {
    /// An entry.
    pub fn new(did: Did, cid: Cid) -> Self {
        Self { did, cid }
    }

    /// The schema record's URI: `at://<did>/com.atproto.lexicon.schema/<nsid>`.
    pub fn uri(&self, nsid: &str) -> String {
        schema_uri(self.did.as_str(), nsid)
    }
}

/// The contents of a `lexicons.lock`: NSIDs (sorted) and where each is pinned. See the
/// [module docs](self) for the format.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lockfile {
    entries: BTreeMap<String, LockEntry>,
}

impl Lockfile {
    /// An empty lockfile.
    pub fn new() -> Self {
        Self::default()
    }

    /// The entry for `nsid`.
    pub fn get(&self, nsid: &str) -> Option<&LockEntry> {
        self.entries.get(nsid)
    }

    /// Pins `nsid`, returning the entry it replaces.
    pub fn insert(&mut self, nsid: Nsid, entry: LockEntry) -> Option<LockEntry> {
        self.entries.insert(nsid.as_str().to_owned(), entry)
    }

    /// Unpins `nsid`, returning its entry.
    pub fn remove(&mut self, nsid: &str) -> Option<LockEntry> {
        self.entries.remove(nsid)
    }

    /// The entries, sorted by NSID.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &LockEntry)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of NSIDs.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if no NSID is pinned.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Parses lockfile text (see the [module docs](self) for the format and what is
    /// refused).
    ///
    /// # Errors
    /// [`Error::Json`] if the text is not JSON (or repeats a key); [`Error::Lock`] naming
    /// the JSON path of the first problem otherwise.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let v = json_unique_keys(text)?;
        let fail = |path: &str, reason: String| Error::Lock {
            path: path.to_owned(),
            reason,
        };
        let top = v
            .as_object()
            .ok_or_else(|| fail("$", "not a JSON object".into()))?;
        if let Some(k) = top.keys().find(|k| *k != "version" && *k != "lexicons") {
            return Err(fail("$", format!("unknown field {k:?}")));
        }
        match top.get("version").and_then(serde_json::Value::as_u64) {
            Some(LOCK_VERSION) => {}
            Some(n) => {
                return Err(fail(
                    "$.version",
                    format!("version {n} is not supported (this reader knows {LOCK_VERSION})"),
                ));
            }
            None => return Err(fail("$.version", "missing, or not an integer".into())),
        }
        let lexicons = top
            .get("lexicons")
            .and_then(serde_json::Value::as_object)
            .ok_or_else(|| fail("$.lexicons", "missing, or not an object".into()))?;
        if lexicons.len() > MAX_LOCK_ENTRIES {
            return Err(fail(
                "$.lexicons",
                format!(
                    "{} entries, at most {MAX_LOCK_ENTRIES} allowed",
                    lexicons.len()
                ),
            ));
        }
        let mut entries = BTreeMap::new();
        for (nsid, entry) in lexicons {
            let mut at = String::from("$.lexicons");
            crate::path::push_key(&mut at, nsid);
            let id = Nsid::new(nsid).map_err(|e| fail(&at, format!("not an NSID: {e}")))?;
            let obj = entry
                .as_object()
                .ok_or_else(|| fail(&at, "not an object".into()))?;
            if let Some(k) = obj
                .keys()
                .find(|k| !matches!(k.as_str(), "did" | "uri" | "cid"))
            {
                return Err(fail(&at, format!("unknown field {k:?}")));
            }
            let field = |k: &str| {
                obj.get(k)
                    .and_then(serde_json::Value::as_str)
                    .ok_or_else(|| fail(&format!("{at}.{k}"), "missing, or not a string".into()))
            };
            let did = Did::new(field("did")?)
                .map_err(|e| fail(&format!("{at}.did"), format!("not a DID: {e}")))?;
            let cid = Cid::parse(field("cid")?)
                .map_err(|e| fail(&format!("{at}.cid"), format!("not a CID: {e}")))?;
            let e = LockEntry::new(did, cid);
            let uri = field("uri")?;
            if uri != e.uri(id.as_str()) {
                return Err(fail(
                    &format!("{at}.uri"),
                    format!("{uri:?} is not {:?}", e.uri(id.as_str())),
                ));
            }
            entries.insert(id.as_str().to_owned(), e);
        }
        Ok(Self { entries })
    }

    /// Reads and parses a lockfile (at most [`crate::MAX_FILE_SIZE`] bytes).
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be read; as [`Lockfile::parse`] otherwise, with the
    /// file named in the message.
    pub fn read(path: &Path) -> Result<Self, Error> {
        let text = read_text(path)?;
        Self::parse(&text).map_err(|e| match e {
            Error::Json(m) => Error::Json(format!("{}: {m}", path.display())),
            Error::Lock { path: at, reason } => Error::Lock {
                path: format!("{} {at}", path.display()),
                reason,
            },
            other => other,
        })
    }

    /// The lockfile's text, the same bytes for the same entries (see the
    /// [module docs](self)).
    pub fn to_text(&self) -> String {
        let q = |s: &str| serde_json::Value::from(s).to_string();
        let mut out = format!("{{\n  \"version\": {LOCK_VERSION},\n  \"lexicons\": {{");
        let mut first = true;
        for (nsid, e) in &self.entries {
            out.push_str(if first { "\n" } else { ",\n" });
            first = false;
            out.push_str(&format!(
                "    {}: {{\n      \"did\": {},\n      \"uri\": {},\n      \"cid\": {}\n    }}",
                q(nsid),
                q(e.did.as_str()),
                q(&e.uri(nsid)),
                q(&e.cid.to_string())
            ));
        }
        out.push_str(if first { "}\n}\n" } else { "\n  }\n}\n" });
        out
    }

    /// Writes [`Lockfile::to_text`] to `path` (beside it first, then renamed, so a
    /// reader never sees half a lockfile).
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be written.
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        write_atomic(path, self.to_text().as_bytes())
    }

    /// Reads exactly the locked documents from `dir` (each at its upstream path,
    /// [`doc_path`]) into a catalog, checking each file against the lock: its document
    /// defines its NSID and its record CID ([`record_cid`]) is the pinned one. Other
    /// files in `dir` are not read.
    ///
    /// # Errors
    /// [`Error::Io`] for a missing or unreadable file; [`Error::Json`]/[`Error::Doc`]
    /// for an invalid one; [`Error::IdMismatch`] for a file defining another NSID;
    /// [`Error::Locked`] for a file whose record CID is not the pinned one.
    pub fn catalog(&self, dir: &Path) -> Result<Catalog, Error> {
        let mut cat = Catalog::new();
        for (nsid, e) in &self.entries {
            let path = dir.join(crate::bundled::nsid_path(nsid));
            let text = read_text(&path)?;
            let doc = doc_in_file(&path, &text)?;
            if doc.id.as_str() != nsid {
                return Err(Error::IdMismatch {
                    path: path.display().to_string(),
                    expected: nsid.clone(),
                    found: doc.id.as_str().to_owned(),
                });
            }
            let json = json_unique_keys(&text)?;
            let found = record_cid(&json).map_err(|e| match e {
                Error::Json(m) => Error::Json(format!("{}: {m}", path.display())),
                other => other,
            })?;
            if found != e.cid {
                return Err(Error::Locked {
                    nsid: nsid.clone(),
                    origin: path.display().to_string(),
                    locked: e.cid.to_string(),
                    found: found.to_string(),
                });
            }
            cat.insert(doc);
        }
        Ok(cat)
    }
}

/// Where `nsid`'s document lives under `dir`: its upstream path
/// (`com.example.status.post` -> `dir/com/example/status/post.json`).
pub fn doc_path(dir: &Path, nsid: &Nsid) -> PathBuf {
    dir.join(crate::bundled::nsid_path(nsid.as_str()))
}

/// The CID of the `com.atproto.lexicon.schema` record that a document (or the record
/// itself) stands for: the JSON with `"$type": "com.atproto.lexicon.schema"` (added if
/// missing), read as atproto JSON, encoded as DAG-CBOR.
///
/// # Errors
/// [`Error::Json`] if `doc` is not an object, has another `$type`, or is not atproto
/// JSON (a float, say).
pub fn record_cid(doc: &serde_json::Value) -> Result<Cid, Error> {
    let mut record = doc
        .as_object()
        .ok_or_else(|| Error::Json("a lexicon document is a JSON object".into()))?
        .clone();
    match record.get("$type") {
        None => {
            record.insert("$type".into(), SCHEMA_COLLECTION.into());
        }
        Some(t) if t.as_str() == Some(SCHEMA_COLLECTION) => {}
        Some(t) => {
            return Err(Error::Json(format!(
                "$type is {t}, not \"{SCHEMA_COLLECTION}\""
            )));
        }
    }
    let text = serde_json::Value::Object(record).to_string();
    let value = atmo_data::json::record_from_str(&text).map_err(|e| Error::Json(e.to_string()))?;
    Ok(Cid::for_dag_cbor(&atmo_data::cbor::encode(&value)))
}

/// Writes a schema record's document at [`doc_path`] under `dir` (creating
/// directories): the record without its `$type`, indented JSON with sorted keys and a
/// final newline, written beside its place and renamed. Returns the path.
///
/// # Errors
/// [`Error::Json`] if `record` is not an object; [`Error::Io`] if the file cannot be
/// written.
pub fn write_doc(dir: &Path, nsid: &Nsid, record: &serde_json::Value) -> Result<PathBuf, Error> {
    let mut doc = record
        .as_object()
        .ok_or_else(|| Error::Json("a schema record is a JSON object".into()))?
        .clone();
    doc.remove("$type");
    let mut text = serde_json::to_string_pretty(&serde_json::Value::Object(doc))
        .map_err(|e| Error::Json(e.to_string()))?;
    text.push('\n');
    let path = doc_path(dir, nsid);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
    }
    write_atomic(&path, text.as_bytes())?;
    Ok(path)
}

/// Most documents [`fetch_closure`] fetches by default in one pull (the NSIDs named and
/// every lexicon they reference, directly or not).
pub const MAX_PULL: usize = 256;

/// One lexicon fetched by [`fetch_closure`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PulledDoc {
    /// Its NSID.
    pub nsid: Nsid,
    /// What the fetcher returned (the DID, the record's CID, the record).
    pub fetched: Fetched,
    /// The document, checked ([`check_schema_record`](crate::check_schema_record)).
    pub doc: crate::model::LexiconDoc,
    /// For a lexicon pulled because another one references it: the first one found
    /// referencing it (`None` for the NSIDs named).
    pub referenced_by: Option<Nsid>,
}

/// Fetches `roots` and, transitively, every lexicon their definitions reference (`ref`s
/// and `union` members, inside records, objects, arrays, parameters, inputs, outputs and
/// subscription messages; see [`def_refs`](crate::def_refs)) that `skip` does not rule
/// out (the bundled official set, say), each once, breadth first: the roots in the order
/// given, then what they reference in the order found. Every record is checked to be the
/// lexicon of its NSID.
///
/// ```
/// use atmo_lexicon::lock::fetch_closure;
/// use atmo_lexicon::{Fetched, SCHEMA_COLLECTION};
/// use atmo_syntax::{Did, Nsid};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // com.example.a refers to com.example.b and to an official lexicon.
/// let did = Did::new("did:plc:ewvi7nxzyoun6zhxrhs64oiz")?;
/// let fetcher = move |n: &Nsid| {
///     let props = match n.as_str() {
///         "com.example.a" => serde_json::json!({
///             "b": {"type": "ref", "ref": "com.example.b"},
///             "s": {"type": "ref", "ref": "com.atproto.repo.strongRef"}}),
///         _ => serde_json::json!({}),
///     };
///     Ok(Fetched::new(did.clone(), "bafy",
///         serde_json::json!({"$type": SCHEMA_COLLECTION, "lexicon": 1, "id": n.as_str(),
///             "defs": {"main": {"type": "object", "properties": props}}})))
/// };
/// let official = |n: &Nsid| n.as_str().starts_with("com.atproto.");
/// let got = fetch_closure(&fetcher, &[Nsid::new("com.example.a")?], official, 10)?;
/// let names: Vec<_> = got.iter().map(|p| p.nsid.as_str()).collect();
/// assert_eq!(names, ["com.example.a", "com.example.b"]);
/// assert_eq!(got[1].referenced_by.as_ref().map(Nsid::as_str), Some("com.example.a"));
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::TooManyLexicons`] when more than `max` documents would be fetched; the
/// fetcher's errors; those of [`check_schema_record`](crate::check_schema_record).
pub fn fetch_closure(
    fetcher: &dyn crate::LexiconFetcher,
    roots: &[Nsid],
    skip: impl Fn(&Nsid) -> bool,
    max: usize,
) -> Result<Vec<PulledDoc>, Error> {
    let mut queue: std::collections::VecDeque<(Nsid, Option<Nsid>)> =
        std::collections::VecDeque::new();
    let mut seen = std::collections::HashSet::new();
    for n in roots {
        if seen.insert(n.as_str().to_owned()) {
            queue.push_back((n.clone(), None));
        }
    }
    let mut out: Vec<PulledDoc> = Vec::new();
    while let Some((nsid, referenced_by)) = queue.pop_front() {
        if out.len() >= max {
            return Err(Error::TooManyLexicons {
                nsid: nsid.as_str().to_owned(),
                max,
            });
        }
        let fetched = fetcher.fetch(&nsid)?;
        let uri = schema_uri(fetched.did.as_str(), nsid.as_str());
        let doc = crate::check_schema_record(&nsid, &fetched.record, &uri)?;
        let mut refs = Vec::new();
        for def in doc.defs.values() {
            crate::def_refs(def, &mut refs);
        }
        for r in refs {
            let target = &r.target.nsid;
            if seen.contains(target.as_str()) || skip(target) {
                continue;
            }
            seen.insert(target.as_str().to_owned());
            queue.push_back((target.clone(), Some(nsid.clone())));
        }
        out.push(PulledDoc {
            nsid,
            fetched,
            doc,
            referenced_by,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DID: &str = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "atmo-lexicon-lock-{name}-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn record(id: &str, description: &str) -> serde_json::Value {
        serde_json::json!({
            "$type": SCHEMA_COLLECTION, "lexicon": 1, "id": id, "description": description,
            "defs": {"main": {"type": "record", "key": "tid", "record": {"type": "object",
                "properties": {"status": {"type": "string", "maxLength": 32}}}}}
        })
    }

    fn entry(rec: &serde_json::Value) -> LockEntry {
        LockEntry::new(Did::new(DID).unwrap(), record_cid(rec).unwrap())
    }

    #[test]
    fn text_is_sorted_stable_and_reads_back() {
        let mut l = Lockfile::new();
        assert_eq!(l.to_text(), "{\n  \"version\": 1,\n  \"lexicons\": {}\n}\n");
        assert_eq!(Lockfile::parse(&l.to_text()).unwrap(), l);
        let (b, a) = (record("com.example.b", "b"), record("com.example.a", "a"));
        l.insert(Nsid::new("com.example.b").unwrap(), entry(&b));
        l.insert(Nsid::new("com.example.a").unwrap(), entry(&a));
        let text = l.to_text();
        let want = format!(
            "{{\n  \"version\": 1,\n  \"lexicons\": {{\n    \"com.example.a\": {{\n      \
             \"did\": \"{DID}\",\n      \"uri\": \"at://{DID}/{SCHEMA_COLLECTION}/com.example.a\",\n      \
             \"cid\": \"{}\"\n    }},\n    \"com.example.b\": {{\n      \"did\": \"{DID}\",\n      \
             \"uri\": \"at://{DID}/{SCHEMA_COLLECTION}/com.example.b\",\n      \"cid\": \"{}\"\n    }}\n  \
             }}\n}}\n",
            entry(&a).cid,
            entry(&b).cid
        );
        assert_eq!(text, want);
        let back = Lockfile::parse(&text).unwrap();
        assert_eq!(back, l);
        assert_eq!(back.to_text(), text);
        assert_eq!(
            back.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            ["com.example.a", "com.example.b"]
        );
    }

    #[test]
    fn malformed_lockfiles_are_refused_with_a_path() {
        let cid = record_cid(&record("com.example.a", "a")).unwrap();
        let uri = format!("at://{DID}/{SCHEMA_COLLECTION}/com.example.a");
        let with =
            |entry: &str| format!(r#"{{"version": 1, "lexicons": {{"com.example.a": {entry}}}}}"#);
        let cases = [
            ("[]".to_owned(), "$"),
            (r#"{"version": 2, "lexicons": {}}"#.to_owned(), "$.version"),
            (r#"{"lexicons": {}}"#.to_owned(), "$.version"),
            (r#"{"version": 1}"#.to_owned(), "$.lexicons"),
            (r#"{"version": 1, "lexicons": {}, "x": 1}"#.to_owned(), "$"),
            (
                r#"{"version": 1, "lexicons": {"not an nsid": {}}}"#.to_owned(),
                r#"$.lexicons["not an nsid"]"#,
            ),
            (with(r#""x""#), r#"$.lexicons["com.example.a"]"#),
            (
                with(&format!(
                    r#"{{"did": "nope", "uri": "{uri}", "cid": "{cid}"}}"#
                )),
                r#"$.lexicons["com.example.a"].did"#,
            ),
            (
                with(&format!(
                    r#"{{"did": "{DID}", "uri": "{uri}", "cid": "bafy"}}"#
                )),
                r#"$.lexicons["com.example.a"].cid"#,
            ),
            (
                with(&format!(
                    r#"{{"did": "{DID}", "uri": "at://x", "cid": "{cid}"}}"#
                )),
                r#"$.lexicons["com.example.a"].uri"#,
            ),
            (
                with(&format!(r#"{{"did": "{DID}", "cid": "{cid}"}}"#)),
                r#"$.lexicons["com.example.a"].uri"#,
            ),
            (
                with(&format!(
                    r#"{{"did": "{DID}", "uri": "{uri}", "cid": "{cid}", "extra": 1}}"#
                )),
                r#"$.lexicons["com.example.a"]"#,
            ),
        ];
        for (text, path) in cases {
            match Lockfile::parse(&text) {
                Err(Error::Lock { path: p, .. }) => assert_eq!(p, path, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        // Repeated keys are refused by the JSON reading.
        let dup = r#"{"version": 1, "version": 1, "lexicons": {}}"#;
        assert!(matches!(Lockfile::parse(dup), Err(Error::Json(m)) if m.contains("duplicate key")));
    }

    #[test]
    fn catalog_reads_exactly_the_locked_documents_and_checks_each_cid() {
        let dir = temp("catalog");
        let rec = record("com.example.status.post", "v1");
        let nsid = Nsid::new("com.example.status.post").unwrap();
        let path = write_doc(&dir, &nsid, &rec).unwrap();
        assert_eq!(path, dir.join("com/example/status/post.json"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("$type"), "{text}");
        assert!(text.ends_with("}\n"));
        // Another file in the directory, not locked: not read (it is not even valid).
        std::fs::write(dir.join("other.json"), "not json").unwrap();
        let mut l = Lockfile::new();
        l.insert(nsid.clone(), entry(&rec));
        let cat = l.catalog(&dir).unwrap();
        assert_eq!(cat.len(), 1);
        assert!(cat.get("com.example.status.post").is_some());

        // An edited document no longer has the pinned CID.
        write_doc(&dir, &nsid, &record("com.example.status.post", "v2")).unwrap();
        match l.catalog(&dir).unwrap_err() {
            Error::Locked {
                nsid: n,
                origin,
                locked,
                found,
            } => {
                assert_eq!(n, "com.example.status.post");
                assert_eq!(origin, path.display().to_string());
                assert_eq!(locked, entry(&rec).cid.to_string());
                assert_eq!(
                    found,
                    record_cid(&record("com.example.status.post", "v2"))
                        .unwrap()
                        .to_string()
                );
            }
            other => panic!("{other:?}"),
        }
        // A document under the wrong path, and a missing one.
        write_doc(&dir, &nsid, &record("com.example.status.other", "v1")).unwrap();
        assert!(matches!(l.catalog(&dir), Err(Error::IdMismatch { .. })));
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(l.catalog(&dir), Err(Error::Io { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A fetcher serving lexicons whose `main` object refers to the given NSIDs.
    fn graph(
        edges: &'static [(&'static str, &'static [&'static str])],
    ) -> impl Fn(&Nsid) -> Result<Fetched, Error> + Send + Sync {
        move |n: &Nsid| {
            let Some((_, to)) = edges.iter().find(|(from, _)| *from == n.as_str()) else {
                return Err(Error::Fetch {
                    nsid: n.as_str().to_owned(),
                    reason: "no such lexicon".into(),
                });
            };
            let mut props = serde_json::Map::new();
            for (i, t) in to.iter().enumerate() {
                // One plain ref, one union member inside an array, one in a query output.
                let schema = match i % 2 {
                    0 => serde_json::json!({"type": "ref", "ref": format!("{t}#thing")}),
                    _ => serde_json::json!({"type": "array", "items":
                        {"type": "union", "refs": [t]}}),
                };
                props.insert(format!("p{i}"), schema);
            }
            Ok(Fetched::new(
                Did::new(DID).unwrap(),
                "bafy",
                serde_json::json!({"$type": SCHEMA_COLLECTION, "lexicon": 1, "id": n.as_str(),
                    "defs": {"main": {"type": "object", "properties": props},
                             "thing": {"type": "token"}}}),
            ))
        }
    }

    #[test]
    fn closure_follows_references_once_skips_and_is_bounded() {
        static EDGES: &[(&str, &[&str])] = &[
            (
                "com.example.a",
                &["com.example.b", "com.atproto.repo.strongRef"],
            ),
            ("com.example.b", &["com.example.c", "com.example.a"]),
            ("com.example.c", &["com.example.b", "com.example.c"]),
        ];
        let f = graph(EDGES);
        let official = |n: &Nsid| n.as_str().starts_with("com.atproto.");
        let a = Nsid::new("com.example.a").unwrap();
        let got = fetch_closure(&f, &[a.clone(), a.clone()], official, MAX_PULL).unwrap();
        let names: Vec<_> = got
            .iter()
            .map(|p| (p.nsid.as_str(), p.referenced_by.as_ref().map(Nsid::as_str)))
            .collect();
        assert_eq!(
            names,
            [
                ("com.example.a", None),
                ("com.example.b", Some("com.example.a")),
                ("com.example.c", Some("com.example.b"))
            ]
        );
        // The cap: three documents do not fit in two.
        let e = fetch_closure(&f, std::slice::from_ref(&a), official, 2).unwrap_err();
        assert_eq!(
            e,
            Error::TooManyLexicons {
                nsid: "com.example.c".into(),
                max: 2
            }
        );
        assert!(fetch_closure(&f, std::slice::from_ref(&a), official, 3).is_ok());
        // A referenced lexicon that cannot be fetched fails the pull, naming it.
        static BROKEN: &[(&str, &[&str])] = &[("com.example.a", &["com.example.gone"])];
        let e = fetch_closure(&graph(BROKEN), &[a], official, MAX_PULL).unwrap_err();
        assert!(
            matches!(&e, Error::Fetch { nsid, .. } if nsid == "com.example.gone"),
            "{e}"
        );
    }

    #[test]
    fn record_cid_is_the_cid_of_the_record_with_its_type() {
        let rec = record("com.example.a", "a");
        let mut doc = rec.clone();
        doc.as_object_mut().unwrap().remove("$type");
        let direct = Cid::for_dag_cbor(&atmo_data::cbor::encode(
            &atmo_data::json::record_from_str(&rec.to_string()).unwrap(),
        ));
        assert_eq!(record_cid(&rec).unwrap(), direct);
        assert_eq!(record_cid(&doc).unwrap(), direct);
        let mut other = rec.clone();
        other["$type"] = "com.example.x".into();
        assert!(matches!(record_cid(&other), Err(Error::Json(_))));
        assert!(matches!(
            record_cid(&serde_json::json!([])),
            Err(Error::Json(_))
        ));
    }
}
