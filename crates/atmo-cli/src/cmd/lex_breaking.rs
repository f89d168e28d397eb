//! `atmo lex breaking OLD NEW`: the changes from one version of a lexicon to the next
//! that break data or callers written against the old one, following the lexicon
//! specification's evolution rules: anything valid under the old schema stays valid
//! under the new one, new fields are optional, fields are neither removed nor renamed,
//! types do not change.
//!
//! Reported: a changed id; removed definitions; changed types (also of a definition, a
//! ref target, a record key or an input/output encoding); removed fields; new required
//! fields and fields that became required or stopped being nullable; narrowed limits
//! (a minimum raised or added, a maximum lowered or added: lengths, graphemes, integer
//! range, blob size, array length); a format added or changed; enum values removed or an
//! enum added; a const added or changed; accepted blob types narrowed; union variants
//! removed, a union closed, or a closed union changed; a procedure input added or an
//! input or output removed.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use super::lex_lint::read_doc;
use crate::error::CliError;
use crate::io::println;

/// Collects breaking changes, each with where it is.
struct Diff {
    old_id: String,
    new_id: String,
    changes: Vec<(String, String)>,
}

fn ty(v: &Value) -> &str {
    v.get("type").and_then(Value::as_str).unwrap_or_default()
}

fn strs(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|x| match x.as_str() {
            Some(s) => s.to_owned(),
            None => x.to_string(),
        })
        .collect()
}

/// Whether a MIME pattern (`image/*`, `*/*`, or exact) accepts `mime`.
fn mime_accepts(pattern: &str, mime: &str) -> bool {
    pattern == "*/*"
        || pattern == mime
        || pattern
            .strip_suffix("/*")
            .is_some_and(|p| mime.split('/').next() == Some(p))
}

impl Diff {
    fn add(&mut self, at: &str, what: String) {
        self.changes.push((at.to_owned(), what));
    }

    /// A ref as an absolute `nsid#name` (local refs are relative to their document).
    fn absolute(r: &str, id: &str) -> String {
        match r.strip_prefix('#') {
            Some(name) => format!("{id}#{name}"),
            None if r.contains('#') => r.to_owned(),
            None => format!("{r}#main"),
        }
    }

    /// A lower bound may not rise (nor appear); an upper bound may not fall (nor appear).
    fn bounds(&mut self, o: &Value, n: &Value, at: &str, mins: &[&str], maxs: &[&str]) {
        for key in mins {
            match (
                o.get(*key).and_then(Value::as_i64),
                n.get(*key).and_then(Value::as_i64),
            ) {
                (None, Some(b)) => self.add(at, format!("{key} {b} added")),
                (Some(a), Some(b)) if b > a => {
                    self.add(at, format!("{key} raised from {a} to {b}"))
                }
                _ => {}
            }
        }
        for key in maxs {
            match (
                o.get(*key).and_then(Value::as_i64),
                n.get(*key).and_then(Value::as_i64),
            ) {
                (None, Some(b)) => self.add(at, format!("{key} {b} added")),
                (Some(a), Some(b)) if b < a => {
                    self.add(at, format!("{key} lowered from {a} to {b}"))
                }
                _ => {}
            }
        }
    }

    /// `enum` and `const` may not narrow.
    fn values(&mut self, o: &Value, n: &Value, at: &str) {
        if n.get("enum").is_some() {
            if o.get("enum").is_none() {
                self.add(
                    at,
                    "enum added (only its values are allowed now)".to_owned(),
                );
            } else {
                let new: BTreeSet<String> = strs(n, "enum").into_iter().collect();
                for v in strs(o, "enum") {
                    if !new.contains(&v) {
                        self.add(at, format!("enum value {v:?} removed"));
                    }
                }
            }
        }
        if let Some(c) = n.get("const")
            && o.get("const") != Some(c)
        {
            match o.get("const") {
                None => self.add(at, format!("const {c} added")),
                Some(old) => self.add(at, format!("const changed from {old} to {c}")),
            }
        }
    }

    fn object(&mut self, o: &Value, n: &Value, at: &str) {
        let empty = serde_json::Map::new();
        let op = o
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let np = n
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let set = |v: &Value, k: &str| -> BTreeSet<String> { strs(v, k).into_iter().collect() };
        let (oreq, nreq) = (set(o, "required"), set(n, "required"));
        let (onull, nnull) = (set(o, "nullable"), set(n, "nullable"));
        for (name, os) in op {
            let here = format!("{at}.{name}");
            match np.get(name) {
                None => self.add(&here, "field removed".to_owned()),
                Some(ns) => {
                    if nreq.contains(name) && !oreq.contains(name) {
                        self.add(&here, "field became required".to_owned());
                    }
                    if onull.contains(name) && !nnull.contains(name) {
                        self.add(&here, "field is no longer nullable".to_owned());
                    }
                    self.schema(os, ns, &here);
                }
            }
        }
        for name in np.keys() {
            if !op.contains_key(name) && nreq.contains(name) {
                self.add(&format!("{at}.{name}"), "new required field".to_owned());
            }
        }
    }

    /// An input, output or message body `{encoding, schema}`.
    fn body(&mut self, o: Option<&Value>, n: Option<&Value>, at: &str, input: bool) {
        match (o, n) {
            (None, Some(_)) if input => self.add(at, "input added".to_owned()),
            (Some(_), None) => self.add(at, "removed".to_owned()),
            (Some(o), Some(n)) => {
                let (oe, ne) = (o.get("encoding"), n.get("encoding"));
                if oe != ne {
                    self.add(
                        at,
                        format!(
                            "encoding changed from {} to {}",
                            oe.map_or("none".to_owned(), Value::to_string),
                            ne.map_or("none".to_owned(), Value::to_string)
                        ),
                    );
                }
                match (o.get("schema"), n.get("schema")) {
                    (Some(os), Some(ns)) => self.schema(os, ns, at),
                    (Some(_), None) => self.add(at, "schema removed".to_owned()),
                    (None, Some(_)) => self.add(at, "schema added".to_owned()),
                    (None, None) => {}
                }
            }
            _ => {}
        }
    }

    fn schema(&mut self, o: &Value, n: &Value, at: &str) {
        let (ot, nt) = (ty(o), ty(n));
        if ot != nt {
            self.add(at, format!("type changed from {ot} to {nt}"));
            return;
        }
        match ot {
            "record" => {
                let (ok, nk) = (o.get("key"), n.get("key"));
                if ok != nk {
                    self.add(
                        at,
                        format!(
                            "record key changed from {} to {}",
                            ok.map_or("none".to_owned(), Value::to_string),
                            nk.map_or("none".to_owned(), Value::to_string)
                        ),
                    );
                }
                if let (Some(or), Some(nr)) = (o.get("record"), n.get("record")) {
                    self.schema(or, nr, at);
                }
            }
            "query" | "procedure" | "subscription" => {
                let empty = serde_json::json!({"type": "params"});
                let op = o.get("parameters").unwrap_or(&empty);
                let np = n.get("parameters").unwrap_or(&empty);
                self.object(op, np, &format!("{at}.parameters"));
                self.body(o.get("input"), n.get("input"), &format!("{at}.input"), true);
                self.body(
                    o.get("output"),
                    n.get("output"),
                    &format!("{at}.output"),
                    false,
                );
                self.body(
                    o.get("message"),
                    n.get("message"),
                    &format!("{at}.message"),
                    false,
                );
            }
            "object" | "params" => self.object(o, n, at),
            "array" => {
                self.bounds(o, n, at, &["minLength"], &["maxLength"]);
                if let (Some(oi), Some(ni)) = (o.get("items"), n.get("items")) {
                    self.schema(oi, ni, &format!("{at}[]"));
                }
            }
            "string" => {
                self.bounds(
                    o,
                    n,
                    at,
                    &["minLength", "minGraphemes"],
                    &["maxLength", "maxGraphemes"],
                );
                if let Some(f) = n.get("format")
                    && o.get("format") != Some(f)
                {
                    match o.get("format") {
                        None => self.add(at, format!("format {f} added")),
                        Some(of) => self.add(at, format!("format changed from {of} to {f}")),
                    }
                }
                self.values(o, n, at);
            }
            "integer" => {
                self.bounds(o, n, at, &["minimum"], &["maximum"]);
                self.values(o, n, at);
            }
            "boolean" => self.values(o, n, at),
            "bytes" => self.bounds(o, n, at, &["minLength"], &["maxLength"]),
            "blob" => {
                self.bounds(o, n, at, &[], &["maxSize"]);
                if n.get("accept").is_some() {
                    let new = strs(n, "accept");
                    if o.get("accept").is_none() {
                        self.add(at, format!("accept {new:?} added (any type before)"));
                    } else {
                        for m in strs(o, "accept") {
                            if !new.iter().any(|p| mime_accepts(p, &m)) {
                                self.add(at, format!("accepted type {m:?} removed"));
                            }
                        }
                    }
                }
            }
            "ref" => {
                let r = |v: &Value, id: &str| {
                    v.get("ref")
                        .and_then(Value::as_str)
                        .map(|r| Self::absolute(r, id))
                };
                let (or, nr) = (r(o, &self.old_id), r(n, &self.new_id));
                if or != nr {
                    self.add(
                        at,
                        format!(
                            "ref changed from {} to {}",
                            or.unwrap_or_default(),
                            nr.unwrap_or_default()
                        ),
                    );
                }
            }
            "union" => {
                let refs = |v: &Value, id: &str| -> BTreeSet<String> {
                    strs(v, "refs")
                        .iter()
                        .map(|r| Self::absolute(r, id))
                        .collect()
                };
                let (or, nr) = (refs(o, &self.old_id), refs(n, &self.new_id));
                for r in or.difference(&nr) {
                    self.add(at, format!("union variant {r} removed"));
                }
                let closed = |v: &Value| v.get("closed").and_then(Value::as_bool) == Some(true);
                if closed(n) && !closed(o) {
                    self.add(at, "union closed".to_owned());
                } else if closed(o) {
                    for r in nr.difference(&or) {
                        self.add(at, format!("variant {r} added to a closed union"));
                    }
                }
            }
            _ => {}
        }
    }
}

/// Runs `atmo lex breaking`.
pub(crate) fn breaking(old: &Path, new: &Path, json: bool) -> Result<(), CliError> {
    let (od, oraw) = read_doc(old)?;
    let (nd, nraw) = read_doc(new)?;
    let mut d = Diff {
        old_id: od.id.as_str().to_owned(),
        new_id: nd.id.as_str().to_owned(),
        changes: Vec::new(),
    };
    if d.old_id != d.new_id {
        let (a, b) = (d.old_id.clone(), d.new_id.clone());
        d.add(&a, format!("id changed from {a} to {b}"));
    } else {
        let empty = serde_json::Map::new();
        let odefs = oraw
            .get("defs")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let ndefs = nraw
            .get("defs")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        for (name, o) in odefs {
            let at = format!("{}#{name}", d.old_id);
            match ndefs.get(name) {
                None => d.add(&at, "definition removed".to_owned()),
                Some(n) => d.schema(o, n, &at),
            }
        }
    }
    for (at, what) in &d.changes {
        if json {
            println(&serde_json::json!({ "path": at, "change": what }).to_string())?;
        } else {
            println(&format!("{at}: {what}"))?;
        }
    }
    if d.changes.is_empty() {
        if !json {
            println(&format!("no breaking changes in {}", d.new_id))?;
        }
        return Ok(());
    }
    Err(CliError::failed(format!(
        "{} breaking change{} from {} to {}",
        d.changes.len(),
        if d.changes.len() == 1 { "" } else { "s" },
        old.display(),
        new.display()
    )))
}
