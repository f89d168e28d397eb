//! A set of lexicon documents keyed by NSID, with lookups by `nsid#def`.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::Path;

use atmo_data::Value;
use atmo_syntax::{Nsid, RecordKey, Tid};

use crate::error::{Error, ValidationError, Violation};
use crate::model::{Def, DefId, LexiconDoc, RecordKeyType, RefTarget, Schema};
use crate::validate::{ValidateOptions, Validator};

/// Largest lexicon file read from disk (4 MiB; the largest official one is about 40 KB).
pub const MAX_FILE_SIZE: u64 = 4 * 1024 * 1024;
/// Most files one [`Catalog::load_dir`] call reads.
pub const MAX_FILES: usize = 100_000;
/// Deepest directory nesting [`Catalog::load_dir`] walks into.
pub const MAX_DIR_DEPTH: usize = 32;

/// Lexicon documents, keyed by NSID.
///
/// ```
/// # fn main() -> Result<(), atmo_lexicon::Error> {
/// use atmo_lexicon::Catalog;
/// let mut cat = Catalog::new();
/// cat.add_json(r#"{"lexicon": 1, "id": "com.example.status", "defs": {"main": {
///     "type": "record", "key": "tid", "record": {"type": "object", "required": ["status"],
///     "properties": {"status": {"type": "string", "maxGraphemes": 1}}}}}}"#)?;
/// cat.validate_record_json("com.example.status", r#"{"$type": "com.example.status", "status": "👍"}"#)?;
/// let err = cat
///     .validate_record_json("com.example.status", r#"{"$type": "com.example.status", "status": "ab"}"#)
///     .unwrap_err();
/// assert!(err.to_string().starts_with("$.status: too long"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    docs: HashMap<String, LexiconDoc>,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// The official lexicons vendored in this repository (`lexicons/`), embedded at build
    /// time with the `bundled` feature.
    ///
    /// # Errors
    /// [`Error::BundledUnavailable`] without the feature; [`Error::Doc`] if an embedded
    /// file is invalid (a test guards against that).
    pub fn bundled() -> Result<Self, Error> {
        let files = crate::bundled::files();
        if files.is_empty() {
            return Err(Error::BundledUnavailable);
        }
        let mut cat = Self::new();
        for (_, text) in files {
            cat.add(LexiconDoc::from_json(text)?)?;
        }
        Ok(cat)
    }

    /// Adds a document.
    ///
    /// # Errors
    /// [`Error::Duplicate`] if the catalog already has a document with this NSID.
    pub fn add(&mut self, doc: LexiconDoc) -> Result<(), Error> {
        let key = doc.id.as_str().to_owned();
        if self.docs.contains_key(&key) {
            return Err(Error::Duplicate { nsid: key });
        }
        self.docs.insert(key, doc);
        Ok(())
    }

    /// Adds a document, replacing any with the same NSID (returned).
    pub fn insert(&mut self, doc: LexiconDoc) -> Option<LexiconDoc> {
        self.docs.insert(doc.id.as_str().to_owned(), doc)
    }

    /// Parses, checks and adds a document given as JSON text.
    ///
    /// # Errors
    /// As [`LexiconDoc::from_json`] and [`Catalog::add`].
    pub fn add_json(&mut self, text: &str) -> Result<&LexiconDoc, Error> {
        let doc = LexiconDoc::from_json(text)?;
        let key = doc.id.as_str().to_owned();
        self.add(doc)?;
        self.docs.get(&key).ok_or(Error::NotFound(key))
    }

    /// Reads every `*.json` file under `dir` (recursively, without following symbolic
    /// links to directories) and adds it, replacing documents with the same NSID that were
    /// already in the catalog (so a user's directory overrides the bundled set). Returns
    /// how many files were read.
    ///
    /// # Errors
    /// [`Error::Io`] if a file cannot be read (or is larger than [`MAX_FILE_SIZE`]),
    /// [`Error::Doc`]/[`Error::Json`] (prefixed with the file name) if one is not a valid
    /// lexicon, [`Error::Duplicate`] if two files in `dir` define the same NSID.
    pub fn load_dir(&mut self, dir: &Path) -> Result<usize, Error> {
        let mut files = Vec::new();
        collect_json(dir, 0, &mut files)?;
        files.sort();
        let mut seen = HashMap::new();
        for f in &files {
            let doc = read_doc(f)?;
            let nsid = doc.id.as_str().to_owned();
            if let Some(prev) = seen.insert(nsid.clone(), f.clone()) {
                return Err(Error::Duplicate {
                    nsid: format!("{nsid} ({} and {})", prev.display(), f.display()),
                });
            }
            self.insert(doc);
        }
        Ok(files.len())
    }

    /// The document with this NSID.
    pub fn get(&self, nsid: &str) -> Option<&LexiconDoc> {
        self.docs.get(nsid)
    }

    /// The definition with this id.
    pub fn def(&self, id: &DefId) -> Option<&Def> {
        self.docs.get(id.nsid.as_str())?.defs.get(&id.name)
    }

    /// The definition named by an absolute reference string (`nsid` or `nsid#name`).
    pub fn lookup(&self, reference: &str) -> Option<&Def> {
        let (nsid, name) = reference.split_once('#').unwrap_or((reference, "main"));
        self.docs.get(nsid)?.defs.get(name)
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// True if there are no documents.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// The documents, sorted by NSID.
    pub fn docs(&self) -> Vec<&LexiconDoc> {
        let mut v: Vec<_> = self.docs.values().collect();
        v.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        v
    }

    /// Every reference (in refs and unions) whose target is not in the catalog, as
    /// (the definition holding it, the reference), sorted.
    pub fn dangling_refs(&self) -> Vec<(DefId, RefTarget)> {
        let mut out = Vec::new();
        for doc in self.docs() {
            for (name, def) in &doc.defs {
                let here = DefId::new(doc.id.clone(), name.clone());
                let mut refs = Vec::new();
                def_refs(def, &mut refs);
                for r in refs {
                    if self.def(&r.target).is_none() {
                        out.push((here.clone(), r.clone()));
                    }
                }
            }
        }
        out
    }

    /// Validates a record against the `main` record definition of `nsid`, with the
    /// default [`ValidateOptions`].
    ///
    /// # Errors
    /// [`Error::NotFound`] if the catalog has no record definition for `nsid`;
    /// [`Error::Validation`] naming the path of the first bad field otherwise.
    pub fn validate_record(&self, nsid: &str, record: &Value) -> Result<(), Error> {
        self.validate_record_with(nsid, record, &ValidateOptions::default())
    }

    /// [`Catalog::validate_record`] with explicit options.
    ///
    /// # Errors
    /// As [`Catalog::validate_record`].
    pub fn validate_record_with(
        &self,
        nsid: &str,
        record: &Value,
        opts: &ValidateOptions,
    ) -> Result<(), Error> {
        let Some(Def::Record(rec)) = self.lookup(nsid) else {
            return Err(Error::NotFound(format!("{nsid} (a record definition)")));
        };
        let mut v = Validator::new(self, opts);
        v.record(nsid, rec, record)?;
        Ok(())
    }

    /// Parses atproto JSON text and validates it as a record of `nsid`.
    ///
    /// # Errors
    /// [`Error::Json`] if the text is not atproto JSON; otherwise as
    /// [`Catalog::validate_record`].
    pub fn validate_record_json(&self, nsid: &str, text: &str) -> Result<(), Error> {
        let v = atmo_data::json::from_str(text).map_err(|e| Error::Json(e.to_string()))?;
        self.validate_record(nsid, &v)
    }

    /// Validates any value against a definition (an object, a record's object, a string
    /// type...), as a ref to it would.
    ///
    /// # Errors
    /// [`Error::NotFound`] if the catalog lacks `def`; [`Error::Validation`] otherwise.
    pub fn validate_value(&self, def: &DefId, value: &Value) -> Result<(), Error> {
        if self.def(def).is_none() {
            return Err(Error::NotFound(def.to_string()));
        }
        let opts = ValidateOptions::default();
        let mut v = Validator::new(self, &opts);
        v.def_target(def, value)?;
        Ok(())
    }

    /// Checks a record key against the key type of `nsid`'s record definition.
    ///
    /// # Errors
    /// [`Error::NotFound`] without a record definition; [`Error::Validation`] (path `$`)
    /// if the key is not allowed.
    pub fn check_record_key(&self, nsid: &str, rkey: &str) -> Result<(), Error> {
        let Some(Def::Record(rec)) = self.lookup(nsid) else {
            return Err(Error::NotFound(format!("{nsid} (a record definition)")));
        };
        let bad = |reason: String| {
            Error::Validation(ValidationError {
                path: "$".to_owned(),
                kind: Violation::BadRecordKey { reason },
            })
        };
        RecordKey::new(rkey).map_err(|e| bad(e.to_string()))?;
        match &rec.key {
            RecordKeyType::Any => Ok(()),
            RecordKeyType::Tid => Tid::new(rkey).map(drop).map_err(|e| bad(e.to_string())),
            RecordKeyType::Nsid => Nsid::new(rkey).map(drop).map_err(|e| bad(e.to_string())),
            RecordKeyType::Literal(lit) if lit == rkey => Ok(()),
            RecordKeyType::Literal(lit) => Err(bad(format!("the key must be {lit:?}"))),
        }
    }
}

/// Collects every reference a definition holds (refs and union members).
pub fn def_refs<'a>(def: &'a Def, out: &mut Vec<&'a RefTarget>) {
    let params = |p: &'a Option<crate::model::ParamsType>, out: &mut Vec<&'a RefTarget>| {
        for s in p.iter().flat_map(|p| p.properties.values()) {
            schema_refs(s, out);
        }
    };
    let body = |b: &'a Option<crate::model::Body>, out: &mut Vec<&'a RefTarget>| {
        if let Some(s) = b.as_ref().and_then(|b| b.schema.as_ref()) {
            schema_refs(s, out);
        }
    };
    match def {
        Def::Record(r) => r
            .record
            .properties
            .values()
            .for_each(|s| schema_refs(s, out)),
        Def::Query(q) => {
            params(&q.parameters, out);
            body(&q.output, out);
        }
        Def::Procedure(p) => {
            params(&p.parameters, out);
            body(&p.input, out);
            body(&p.output, out);
        }
        Def::Subscription(s) => {
            params(&s.parameters, out);
            if let Some(m) = &s.message {
                out.extend(m.schema.refs.iter());
            }
        }
        Def::PermissionSet(_) | Def::Token(_) => {}
        Def::Type(s) => schema_refs(s, out),
    }
}

/// Collects every reference inside a schema.
pub fn schema_refs<'a>(s: &'a Schema, out: &mut Vec<&'a RefTarget>) {
    match s {
        Schema::Ref(r) => out.push(&r.reference),
        Schema::Union(u) => out.extend(u.refs.iter()),
        Schema::Array(a) => schema_refs(&a.items, out),
        Schema::Object(o) => o.properties.values().for_each(|s| schema_refs(s, out)),
        _ => {}
    }
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: path.display().to_string(),
        msg: e.to_string(),
    }
}

fn collect_json(dir: &Path, depth: usize, out: &mut Vec<std::path::PathBuf>) -> Result<(), Error> {
    if depth > MAX_DIR_DEPTH {
        return Err(io_err(
            dir,
            format!("nested deeper than {MAX_DIR_DEPTH} levels"),
        ));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| io_err(dir, e))?;
    for e in entries {
        let e = e.map_err(|e| io_err(dir, e))?;
        let p = e.path();
        let ft = e.file_type().map_err(|e| io_err(&p, e))?;
        if ft.is_dir() {
            collect_json(&p, depth + 1, out)?;
        } else if p.extension().is_some_and(|x| x == "json") && !(ft.is_symlink() && p.is_dir()) {
            if out.len() >= MAX_FILES {
                return Err(io_err(dir, format!("more than {MAX_FILES} lexicon files")));
            }
            out.push(p);
        }
    }
    Ok(())
}

/// Reads and parses one lexicon file (bounded by [`MAX_FILE_SIZE`]).
pub(crate) fn read_doc(path: &Path) -> Result<LexiconDoc, Error> {
    let text = read_text(path)?;
    doc_in_file(path, &text)
}

/// A file's text, refusing one larger than [`MAX_FILE_SIZE`].
pub(crate) fn read_text(path: &Path) -> Result<String, Error> {
    let f = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    let mut text = String::new();
    f.take(MAX_FILE_SIZE + 1)
        .read_to_string(&mut text)
        .map_err(|e| io_err(path, e))?;
    if text.len() as u64 > MAX_FILE_SIZE {
        return Err(io_err(path, format!("larger than {MAX_FILE_SIZE} bytes")));
    }
    Ok(text)
}

/// Parses the lexicon document read from `path`, naming the file in errors.
pub(crate) fn doc_in_file(path: &Path, text: &str) -> Result<LexiconDoc, Error> {
    LexiconDoc::from_json(text).map_err(|e| match e {
        Error::Json(m) => Error::Json(format!("{}: {m}", path.display())),
        Error::Doc(mut d) => {
            d.reason = format!("{} ({})", d.reason, path.display());
            Error::Doc(d)
        }
        other => other,
    })
}
