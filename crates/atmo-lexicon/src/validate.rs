//! Runtime validation of data against lexicon definitions.

use atmo_data::{Blob, Map, Value};
use atmo_syntax::{
    AtIdentifier, AtUri, CidString, Datetime, Did, Handle, Language, LenientDatetime, Nsid,
    RecordKey, Tid, Uri,
};
use unicode_segmentation::UnicodeSegmentation as _;

use crate::Catalog;
use crate::error::{ValidationError, Violation};
use crate::model::{
    BlobType, Def, DefId, IntegerType, ObjectType, RecordDef, Schema, StringFormat, StringType,
    UnionType,
};
use crate::path::{Seg, render};

/// How deep validation follows nested data and references before giving up.
pub const MAX_DEPTH: usize = 256;

/// Options for runtime validation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidateOptions {
    /// Accept legacy blob references (`{"cid": ..., "mimeType": ...}`, no size); old
    /// records in real repositories have them. Default: true.
    pub allow_legacy_blob: bool,
    /// Accept datetimes that only roughly follow the spec (`LenientDatetime`). Default:
    /// false.
    pub lenient_datetime: bool,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        Self {
            allow_legacy_blob: true,
            lenient_datetime: false,
        }
    }
}

impl ValidateOptions {
    /// Sets [`ValidateOptions::allow_legacy_blob`].
    pub fn allow_legacy_blob(mut self, yes: bool) -> Self {
        self.allow_legacy_blob = yes;
        self
    }

    /// Sets [`ValidateOptions::lenient_datetime`].
    pub fn lenient_datetime(mut self, yes: bool) -> Self {
        self.lenient_datetime = yes;
        self
    }
}

type R = Result<(), ValidationError>;

/// `$type` with a `#main` suffix removed.
fn normalize_type(t: &str) -> &str {
    t.strip_suffix("#main").unwrap_or(t)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Map(_) => "object",
        other => other.kind(),
    }
}

pub(crate) struct Validator<'a> {
    cat: &'a Catalog,
    opts: &'a ValidateOptions,
    segs: Vec<Seg<'a>>,
    depth: usize,
}

impl<'a> Validator<'a> {
    pub(crate) fn new(cat: &'a Catalog, opts: &'a ValidateOptions) -> Self {
        Self {
            cat,
            opts,
            segs: Vec::with_capacity(16),
            depth: 0,
        }
    }

    fn fail(&self, kind: Violation) -> ValidationError {
        ValidationError {
            path: render(&self.segs),
            kind,
        }
    }

    fn fail_at(&mut self, seg: Seg<'a>, kind: Violation) -> ValidationError {
        self.segs.push(seg);
        let e = self.fail(kind);
        self.segs.pop();
        e
    }

    fn wrong(&self, expected: &'static str, v: &Value) -> ValidationError {
        self.fail(Violation::WrongType {
            expected,
            found: kind(v),
        })
    }

    fn enter(&mut self) -> R {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.fail(Violation::TooDeep { limit: MAX_DEPTH }));
        }
        Ok(())
    }

    /// Validates a whole record (its `$type` must name the record).
    pub(crate) fn record(&mut self, nsid: &str, rec: &'a RecordDef, v: &'a Value) -> R {
        let Value::Map(m) = v else {
            return Err(self.wrong("object", v));
        };
        match m.get("$type") {
            None => return Err(self.fail_at(Seg::Key("$type"), Violation::MissingRequired)),
            Some(Value::String(t)) if normalize_type(t) == nsid => {}
            Some(Value::String(t)) => {
                return Err(self.fail_at(
                    Seg::Key("$type"),
                    Violation::UnexpectedType {
                        found: t.to_string(),
                    },
                ));
            }
            Some(other) => {
                let e = Violation::WrongType {
                    expected: "string",
                    found: kind(other),
                };
                return Err(self.fail_at(Seg::Key("$type"), e));
            }
        }
        self.object(&rec.record, m)
    }

    fn object(&mut self, o: &'a ObjectType, m: &'a Map) -> R {
        for (name, schema) in &o.properties {
            match m.get(name) {
                None => {
                    if o.is_required(name) {
                        return Err(self.fail_at(Seg::Key(name), Violation::MissingRequired));
                    }
                }
                Some(Value::Null) if o.is_nullable(name) || matches!(schema, Schema::Null(_)) => {}
                Some(Value::Null) => {
                    return Err(self.fail_at(Seg::Key(name), Violation::NotNullable));
                }
                Some(v) => {
                    self.segs.push(Seg::Key(name));
                    self.schema(schema, v)?;
                    self.segs.pop();
                }
            }
        }
        Ok(())
    }

    fn schema(&mut self, s: &'a Schema, v: &'a Value) -> R {
        match s {
            Schema::Null(_) => match v {
                Value::Null => Ok(()),
                _ => Err(self.wrong("null", v)),
            },
            Schema::Boolean(b) => {
                let Value::Bool(x) = v else {
                    return Err(self.wrong("boolean", v));
                };
                match b.const_value {
                    Some(c) if c != *x => Err(self.fail(Violation::Const {
                        expected: c.to_string(),
                    })),
                    _ => Ok(()),
                }
            }
            Schema::Integer(i) => {
                let Value::Integer(x) = v else {
                    return Err(self.wrong("integer", v));
                };
                self.integer(i, *x)
            }
            Schema::String(st) => {
                let Value::String(x) = v else {
                    return Err(self.wrong("string", v));
                };
                self.string(st, x)
            }
            Schema::Bytes(b) => {
                let Value::Bytes(x) = v else {
                    return Err(self.wrong("bytes", v));
                };
                self.lengths("bytes", x.len(), b.min_length, b.max_length)
            }
            Schema::CidLink(_) => match v {
                Value::Link(_) => Ok(()),
                _ => Err(self.wrong("cid-link", v)),
            },
            Schema::Blob(b) => self.blob(b, v),
            Schema::Array(a) => {
                let Value::Array(items) = v else {
                    return Err(self.wrong("array", v));
                };
                self.lengths("elements", items.len(), a.min_length, a.max_length)?;
                self.enter()?;
                for (i, item) in items.iter().enumerate() {
                    self.segs.push(Seg::Index(i));
                    self.schema(&a.items, item)?;
                    self.segs.pop();
                }
                self.depth -= 1;
                Ok(())
            }
            Schema::Object(o) => {
                let Value::Map(m) = v else {
                    return Err(self.wrong("object", v));
                };
                self.enter()?;
                self.object(o, m)?;
                self.depth -= 1;
                Ok(())
            }
            Schema::Ref(r) => self.def_target(&r.reference.target, v),
            Schema::Union(u) => self.union(u, v),
            Schema::Unknown(_) => match v {
                Value::Map(_) => Ok(()),
                _ => Err(self.wrong("object", v)),
            },
        }
    }

    fn lengths(&self, unit: &'static str, len: usize, min: Option<u64>, max: Option<u64>) -> R {
        let len = len as u64;
        if let Some(min) = min.filter(|m| len < *m) {
            return Err(self.fail(Violation::TooShort { unit, min, len }));
        }
        if let Some(max) = max.filter(|m| len > *m) {
            return Err(self.fail(Violation::TooLong { unit, max, len }));
        }
        Ok(())
    }

    fn integer(&self, i: &IntegerType, x: i64) -> R {
        if let Some(c) = i.const_value.filter(|c| *c != x) {
            return Err(self.fail(Violation::Const {
                expected: c.to_string(),
            }));
        }
        if i.minimum.is_some_and(|m| x < m) || i.maximum.is_some_and(|m| x > m) {
            return Err(self.fail(Violation::OutOfRange { value: x }));
        }
        if let Some(e) = &i.enum_values {
            if !e.contains(&x) {
                return Err(self.fail(Violation::NotInEnum));
            }
        }
        Ok(())
    }

    fn string(&self, st: &StringType, x: &str) -> R {
        if let Some(c) = st.const_value.as_ref().filter(|c| *c != x) {
            return Err(self.fail(Violation::Const {
                expected: format!("{c:?}"),
            }));
        }
        if let Some(e) = &st.enum_values {
            if !e.iter().any(|e| e == x) {
                return Err(self.fail(Violation::NotInEnum));
            }
        }
        self.lengths("bytes", x.len(), st.min_length, st.max_length)?;
        // Every grapheme has at least one byte: count only when the byte length could
        // break a limit.
        let len = x.len() as u64;
        let may_exceed = st.max_graphemes.is_some_and(|m| len > m);
        let may_fall_short = st.min_graphemes.is_some_and(|m| m > 0);
        if may_exceed || may_fall_short {
            let g = x.graphemes(true).count();
            self.lengths("graphemes", g, st.min_graphemes, st.max_graphemes)?;
        }
        if let Some(f) = st.format {
            self.format(f, x)?;
        }
        Ok(())
    }

    fn format(&self, f: StringFormat, x: &str) -> R {
        let res: Result<(), String> = match f {
            StringFormat::AtIdentifier => AtIdentifier::new(x).map(drop).map_err(|e| e.to_string()),
            StringFormat::AtUri => at_uri_format(x),
            StringFormat::Cid => CidString::new(x).map(drop).map_err(|e| e.to_string()),
            StringFormat::Datetime if self.opts.lenient_datetime => {
                let _ = LenientDatetime::new(x);
                Ok(())
            }
            StringFormat::Datetime => Datetime::new(x).map(drop).map_err(|e| e.to_string()),
            StringFormat::Did => Did::new(x).map(drop).map_err(|e| e.to_string()),
            StringFormat::Handle => Handle::new(x).map(drop).map_err(|e| e.to_string()),
            StringFormat::Nsid => Nsid::new(x).map(drop).map_err(|e| e.to_string()),
            StringFormat::Tid => Tid::new(x).map(drop).map_err(|e| e.to_string()),
            StringFormat::RecordKey => RecordKey::new(x).map(drop).map_err(|e| e.to_string()),
            StringFormat::Uri => Uri::new(x).map(drop).map_err(|e| e.to_string()),
            StringFormat::Language => Language::new(x).map(drop).map_err(|e| e.to_string()),
        };
        res.map_err(|reason| self.fail(Violation::Format { format: f, reason }))
    }

    fn blob(&self, b: &BlobType, v: &Value) -> R {
        if !matches!(v, Value::Map(_)) {
            return Err(self.wrong("blob", v));
        }
        let blob = Blob::from_value(v).map_err(|e| {
            let reason = e.to_string();
            let reason = reason.strip_prefix("not a blob: ").unwrap_or(&reason);
            self.fail(Violation::BadBlob {
                reason: reason.to_owned(),
            })
        })?;
        let Some(size) = blob.size else {
            if !self.opts.allow_legacy_blob {
                return Err(self.fail(Violation::BadBlob {
                    reason: "legacy blob reference (no size)".to_owned(),
                }));
            }
            return self.mime(b, &blob.mime_type);
        };
        self.mime(b, &blob.mime_type)?;
        if let Some(max) = b.max_size.filter(|m| size > *m) {
            return Err(self.fail(Violation::BlobTooLarge { max, size }));
        }
        Ok(())
    }

    fn mime(&self, b: &BlobType, mime: &str) -> R {
        let Some(accept) = &b.accept else {
            return Ok(());
        };
        if accept.iter().any(|pat| mime_matches(pat, mime)) {
            Ok(())
        } else {
            Err(self.fail(Violation::BlobMimeType {
                mime_type: mime.to_owned(),
            }))
        }
    }

    fn union(&mut self, u: &'a UnionType, v: &'a Value) -> R {
        let Value::Map(m) = v else {
            return Err(self.wrong("object", v));
        };
        let t = match m.get("$type") {
            Some(Value::String(t)) => normalize_type(t),
            Some(other) => {
                let e = Violation::WrongType {
                    expected: "string",
                    found: kind(other),
                };
                return Err(self.fail_at(Seg::Key("$type"), e));
            }
            None => return Err(self.fail(Violation::MissingType)),
        };
        let found = u.refs.iter().find(|r| {
            let id = &r.target;
            match t.split_once('#') {
                Some((nsid, name)) => id.nsid.as_str() == nsid && id.name == name,
                None => id.is_main() && id.nsid.as_str() == t,
            }
        });
        match found {
            Some(r) => self.def_target(&r.target, v),
            None if u.closed => Err(self.fail_at(
                Seg::Key("$type"),
                Violation::UnexpectedType {
                    found: t.to_owned(),
                },
            )),
            None => Ok(()),
        }
    }

    /// Validates `v` against the definition `id` names.
    pub(crate) fn def_target(&mut self, id: &DefId, v: &'a Value) -> R {
        let cat = self.cat;
        let Some(def) = cat.def(id) else {
            return Err(self.fail(Violation::UnresolvedRef {
                target: id.to_string(),
            }));
        };
        self.enter()?;
        match def {
            Def::Type(s) => self.schema(s, v)?,
            Def::Record(r) => {
                let Value::Map(m) = v else {
                    return Err(self.wrong("object", v));
                };
                self.object(&r.record, m)?;
            }
            Def::Token(_) => {
                let Value::String(s) = v else {
                    return Err(self.wrong("string", v));
                };
                if normalize_type(s) != id.to_string() {
                    return Err(self.fail(Violation::WrongToken {
                        expected: id.to_string(),
                    }));
                }
            }
            other => {
                return Err(self.fail(Violation::NotADataType {
                    target: id.to_string(),
                    kind: other.type_name(),
                }));
            }
        }
        self.depth -= 1;
        Ok(())
    }
}

/// The lexicon `at-uri` format as a record may hold it: the restricted AT-URI syntax
/// ([`AtUri`]: no query, no trailing slash, valid collection and record key), optionally
/// followed by a `#` fragment that is a JSON pointer (`/` then the URI characters the
/// full AT-URI syntax allows there, percent-escapes well-formed UTF-8).
///
/// The spec's restricted grammar has no fragment ("not currently used"), and the typed
/// [`AtUri`] refuses one; but the full AT-URI syntax allows a JSON-pointer fragment and
/// the reference implementation's record validator (`@atproto/lexicon`) accepts it, so a
/// record the reference stores is not refused here.
fn at_uri_format(x: &str) -> Result<(), String> {
    let (uri, fragment) = match x.split_once('#') {
        Some((u, f)) => (u, Some(f)),
        None => (x, None),
    };
    if x.len() > AtUri::MAX_LEN {
        return Err(format!(
            "too long: {} bytes, at most {}",
            x.len(),
            AtUri::MAX_LEN
        ));
    }
    AtUri::new(uri).map_err(|e| e.to_string())?;
    match fragment {
        Some(f) => json_pointer_fragment(f).map_err(|e| format!("fragment: {e}")),
        None => Ok(()),
    }
}

/// A JSON pointer as an AT-URI fragment: `/`, then unreserved and sub-delimiter
/// characters, `:`, `@`, `/`, `[`, `]` and percent-escapes that decode to UTF-8.
fn json_pointer_fragment(f: &str) -> Result<(), String> {
    if !f.starts_with('/') {
        return Err("must be a JSON pointer starting with '/'".into());
    }
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"._~:@!$&'()*+,;=%[]/-".contains(&b);
    if let Some((at, b)) = f.bytes().enumerate().find(|&(_, b)| !allowed(b)) {
        return Err(format!(
            "character {:?} at byte {at} is not allowed",
            char::from(b)
        ));
    }
    let bytes = f.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent-escape at byte {i}"))?;
            decoded.push(hex);
            i += 3;
        } else {
            decoded.push(b);
            i += 1;
        }
    }
    std::str::from_utf8(&decoded)
        .map(drop)
        .map_err(|_| "percent-escapes do not decode to UTF-8".to_owned())
}

/// True if `mime` matches an `accept` pattern: exact (case-insensitive), `type/*`, or
/// `*/*`.
pub fn mime_matches(pattern: &str, mime: &str) -> bool {
    if pattern == "*/*" {
        return true;
    }
    // Parameters (`; charset=...`) do not take part in matching.
    let mime = mime.split(';').next().unwrap_or(mime).trim();
    match pattern.strip_suffix("/*") {
        Some(ty) => mime
            .split_once('/')
            .is_some_and(|(t, sub)| t.eq_ignore_ascii_case(ty) && !sub.is_empty()),
        None => pattern.eq_ignore_ascii_case(mime),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_uri_format_in_records() {
        let base = "at://did:plc:asdf123/com.atproto.feed.post/record";
        assert_eq!(at_uri_format(base), Ok(()));
        // A JSON-pointer fragment, as the reference's record validator accepts.
        for ok in ["#/", "#/text", "#/a~1b/0", "#/%C3%A9", "#/[0]"] {
            assert_eq!(at_uri_format(&format!("{base}{ok}")), Ok(()), "{ok}");
        }
        for bad in ["#text", "#/a b", "#/%zz", "#/%FF", "#/a#b", "#/é"] {
            assert!(at_uri_format(&format!("{base}{bad}")).is_err(), "{bad}");
        }
        // The rest of the URI is the restricted syntax.
        for bad in [
            "at://did:plc:asdf123/com.atproto.feed.post/",
            "at://did:plc:asdf123/com.atproto.feed.post/a?q=1",
            "at://did:plc:asdf123/com.atproto.feed.post/a/b",
            "at://did:plc:asdf123/com.atproto.feed.post/a b#/x",
        ] {
            assert!(at_uri_format(bad).is_err(), "{bad}");
        }
    }
}
