//! `atmo lex lint FILE...`: style rules for lexicon documents, beyond what makes a
//! document valid (`atmo lex check`). Each rule has a name; every finding is one line
//! `FILE: RULE: WHERE: message` and any finding makes the exit code 1.
//!
//! The rules (see [`RULES`]) follow the lexicon specification's guidance and the style of
//! the official lexicons: primary definitions described,
//! lowerCamelCase names, grapheme limits on free text, consistent limits, datetimes
//! typed as such, `knownValues` rather than closed `enum`s, and open unions. What the
//! lexicon parser already enforces (a record's key, `required` and `nullable` naming
//! properties, each minimum at most its maximum) is not a lint rule: such a document is
//! not a valid lexicon at all (`atmo lex check`), and lint says so.

use std::path::{Path, PathBuf};

use atmo_lexicon::LexiconDoc;
use serde_json::Value;

use crate::error::CliError;
use crate::io::{println, read_input};

/// Each rule's name and what it asks for.
pub(crate) const RULES: &[(&str, &str)] = &[
    (
        "main-description",
        "a primary definition (record, query, procedure, subscription) has a description",
    ),
    (
        "camel-case",
        "the NSID's name segment and definition, property and parameter names are lowerCamelCase ASCII letters and digits",
    ),
    (
        "string-graphemes",
        "free text in a record (a string with no format, enum, const or knownValues) with maxLength also has maxGraphemes",
    ),
    (
        "limits-order",
        "maxGraphemes is at most maxLength (every grapheme is at least one byte)",
    ),
    (
        "datetime-format",
        "a string property named like a moment (createdAt, indexedAt: ending in At) has format datetime",
    ),
    (
        "known-values",
        "a string lists knownValues rather than a closed enum (a new enum value breaks readers)",
    ),
    (
        "open-union",
        "unions are open (closed: true forbids ever adding a variant)",
    ),
];

/// One finding.
struct Finding {
    rule: &'static str,
    at: String,
    message: String,
}

/// Walks one document and collects findings.
struct Linter {
    findings: Vec<Finding>,
    /// Inside a record definition: the data users write, where text is shown to people.
    in_record: bool,
}

fn is_camel(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase()) && chars.all(|c| c.is_ascii_alphanumeric())
}

fn num(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

impl Linter {
    fn add(&mut self, rule: &'static str, at: &str, message: String) {
        self.findings.push(Finding {
            rule,
            at: at.to_owned(),
            message,
        });
    }

    fn object(&mut self, v: &Value, at: &str) {
        let props = v.get("properties").and_then(Value::as_object);
        for (name, schema) in props.into_iter().flatten() {
            let here = format!("{at}.{name}");
            if !is_camel(name) {
                self.add(
                    "camel-case",
                    &here,
                    format!("property name {name:?} is not lowerCamelCase"),
                );
            }
            if name.len() > 2
                && name.ends_with("At")
                && schema.get("type").and_then(Value::as_str) == Some("string")
                && schema.get("format").and_then(Value::as_str) != Some("datetime")
            {
                self.add(
                    "datetime-format",
                    &here,
                    format!("{name:?} names a moment but is not format datetime"),
                );
            }
            self.schema(schema, &here);
        }
    }

    fn schema(&mut self, v: &Value, at: &str) {
        let ty = v.get("type").and_then(Value::as_str).unwrap_or_default();
        match ty {
            "record" => {
                if let Some(r) = v.get("record") {
                    self.in_record = true;
                    self.schema(r, at);
                    self.in_record = false;
                }
            }
            "query" | "procedure" | "subscription" => {
                if let Some(p) = v.get("parameters") {
                    self.object(p, &format!("{at}.parameters"));
                }
                for part in ["input", "output", "message"] {
                    if let Some(s) = v.get(part).and_then(|b| b.get("schema")) {
                        self.schema(s, &format!("{at}.{part}"));
                    }
                }
            }
            "object" | "params" => self.object(v, at),
            "array" => {
                if let Some(items) = v.get("items") {
                    self.schema(items, &format!("{at}[]"));
                }
            }
            "string" => self.string(v, at),
            "union" if v.get("closed").and_then(Value::as_bool) == Some(true) => {
                self.add(
                    "open-union",
                    at,
                    "the union is closed: no variant can ever be added".to_owned(),
                );
            }
            _ => {}
        }
    }

    fn string(&mut self, v: &Value, at: &str) {
        if let (Some(g), Some(b)) = (num(v, "maxGraphemes"), num(v, "maxLength"))
            && g > b
        {
            self.add(
                "limits-order",
                at,
                format!("maxGraphemes {g} is greater than maxLength {b}"),
            );
        }
        if v.get("enum").is_some() {
            self.add(
                "known-values",
                at,
                "a closed enum: list knownValues instead so values can be added".to_owned(),
            );
        }
        let constrained = ["format", "enum", "const", "knownValues"]
            .iter()
            .any(|k| v.get(k).is_some());
        if self.in_record
            && !constrained
            && v.get("maxLength").is_some()
            && v.get("maxGraphemes").is_none()
        {
            self.add(
                "string-graphemes",
                at,
                "free text has maxLength (bytes) but no maxGraphemes (what users see)".to_owned(),
            );
        }
    }

    fn doc(&mut self, doc: &Value, id: &str) {
        let name = id.rsplit('.').next().unwrap_or_default();
        if !is_camel(name) {
            self.add(
                "camel-case",
                id,
                format!("the NSID's name segment {name:?} is not lowerCamelCase"),
            );
        }
        let Some(defs) = doc.get("defs").and_then(Value::as_object) else {
            return;
        };
        for (name, def) in defs {
            let at = format!("{id}#{name}");
            if !is_camel(name) {
                self.add(
                    "camel-case",
                    &at,
                    format!("definition name {name:?} is not lowerCamelCase"),
                );
            }
            let ty = def.get("type").and_then(Value::as_str).unwrap_or_default();
            let primary = matches!(ty, "record" | "query" | "procedure" | "subscription");
            let described = def
                .get("description")
                .and_then(Value::as_str)
                .is_some_and(|d| !d.trim().is_empty());
            if primary && !described {
                self.add(
                    "main-description",
                    &at,
                    format!("the {ty} has no description"),
                );
            }
            self.schema(def, &at);
        }
    }
}

/// Runs `atmo lex lint`.
pub(crate) fn lint(files: &[PathBuf], skip: &[String], json: bool) -> Result<(), CliError> {
    for s in skip {
        if !RULES.iter().any(|(name, _)| name == s) {
            let names: Vec<&str> = RULES.iter().map(|(n, _)| *n).collect();
            return Err(CliError::usage(format!(
                "--skip {s:?}: no such rule (the rules: {})",
                names.join(", ")
            )));
        }
    }
    let mut total = 0usize;
    for file in files {
        let findings = lint_file(file)?;
        let findings: Vec<Finding> = findings
            .into_iter()
            .filter(|f| !skip.iter().any(|s| s == f.rule))
            .collect();
        total += findings.len();
        for f in &findings {
            if json {
                let obj = serde_json::json!({
                    "file": file.display().to_string(),
                    "rule": f.rule,
                    "path": f.at,
                    "message": f.message,
                });
                println(&obj.to_string())?;
            } else {
                println(&format!(
                    "{}: {}: {}: {}",
                    file.display(),
                    f.rule,
                    f.at,
                    f.message
                ))?;
            }
        }
        if findings.is_empty() && !json {
            println(&format!("{}: ok", file.display()))?;
        }
    }
    if total > 0 {
        return Err(CliError::failed(format!(
            "{total} lint finding{} in {} file{}",
            if total == 1 { "" } else { "s" },
            files.len(),
            if files.len() == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

/// A valid lexicon document's findings; an invalid one is an error naming the file.
fn lint_file(file: &Path) -> Result<Vec<Finding>, CliError> {
    let (doc, raw) = read_doc(file)?;
    let mut l = Linter {
        findings: Vec::new(),
        in_record: false,
    };
    l.doc(&raw, doc.id.as_str());
    Ok(l.findings)
}

/// Reads a lexicon document: checked as `atmo lex check` does, and as plain JSON.
pub(crate) fn read_doc(file: &Path) -> Result<(LexiconDoc, Value), CliError> {
    let bytes = read_input(Some(file))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| CliError::failed(format!("{}: not UTF-8 text: {e}", file.display())))?;
    let doc = LexiconDoc::from_json(text)
        .map_err(|e| CliError::failed(format!("{}: not a valid lexicon: {e}", file.display())))?;
    let raw: Value = serde_json::from_str(text)
        .map_err(|e| CliError::failed(format!("{}: {e}", file.display())))?;
    Ok((doc, raw))
}
