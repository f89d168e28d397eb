//! Emission of one lexicon document as the body of one Rust module.
//!
//! Here: the names of every document ([`Index`]), the [`Emitter`] and its dispatch on
//! each definition. Beside it: `objects` (structs, known values), `unions`, `endpoints`
//! (params, bodies, errors, calls), `types` (schema and reference types), `members`
//! (constructors and setters) and `docs` (doc comments).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use atmo_syntax::Nsid;

use super::names::{Names, camel, screaming, snake};
use super::{Options, type_string};
use crate::Catalog;
mod docs;
mod endpoints;
mod members;
mod objects;
mod types;
mod unions;

use crate::model::{Def, DefId, LexiconDoc, RecordKeyType, Schema};
use docs::{desc_doc, doc_lines, push_doc};
use endpoints::{BodyType, Ep, paginated};

/// The Rust module path of an NSID: `app.bsky.feed.post` -> `[app_bsky, feed, post]`.
pub(super) fn module_path(nsid: &Nsid) -> Vec<String> {
    let segs: Vec<&str> = nsid.as_str().split('.').collect();
    let mut out = Vec::with_capacity(segs.len());
    if let [a, b, rest @ ..] = segs.as_slice() {
        out.push(snake(&format!("{a}_{b}")));
        out.extend(rest.iter().map(|s| snake(s)));
    }
    out
}

fn last_segment(nsid: &Nsid) -> &str {
    nsid.as_str().rsplit('.').next().unwrap_or("")
}

/// The names given to one document's definitions.
#[derive(Debug, Default)]
pub(super) struct DocNames {
    /// Type names taken in the module (definitions, reserved names).
    types: Names,
    /// Definition name -> Rust type name.
    def_types: BTreeMap<String, String>,
    /// Definition name (of a token) -> constant name.
    consts: BTreeMap<String, String>,
    /// Constant names taken in the module.
    const_names: Names,
}

/// Names for every document of the catalog, computed before any emission so references
/// across documents resolve to the same names.
#[derive(Debug, Default)]
pub(super) struct Index {
    docs: HashMap<String, DocNames>,
}

impl Index {
    pub(super) fn new(docs: &[&LexiconDoc]) -> Self {
        let mut idx = Self::default();
        for doc in docs {
            idx.docs
                .insert(doc.id.as_str().to_owned(), Self::name_doc(doc));
        }
        idx
    }

    fn name_doc(doc: &LexiconDoc) -> DocNames {
        let mut n = DocNames::default();
        n.const_names.claim("NSID");
        let last = camel(last_segment(&doc.id));
        match doc.main() {
            Some(Def::Record(_)) => {
                n.types.claim("Record");
                n.def_types.insert("main".into(), "Record".into());
            }
            Some(Def::Query(_) | Def::Procedure(_)) => {
                for r in ["Params", "Input", "Output", "Error"] {
                    n.types.claim(r);
                }
                let marker = n.types.claim(&last);
                n.def_types.insert("main".into(), marker);
            }
            Some(Def::Subscription(_)) => {
                for r in ["Params", "Message", "Error"] {
                    n.types.claim(r);
                }
            }
            Some(Def::Type(_)) => {
                // `Main` when another definition would take the NSID's own name
                // (`app.bsky.embed.external` has `#external`).
                let clash = doc
                    .defs
                    .keys()
                    .any(|k| k.as_str() != "main" && camel(k) == last);
                let name = n.types.claim(if clash { "Main" } else { &last });
                n.def_types.insert("main".into(), name);
            }
            Some(Def::Token(_)) => {
                let c = n.const_names.claim(&screaming(last_segment(&doc.id)));
                n.consts.insert("main".into(), c);
            }
            _ => {}
        }
        for (name, def) in doc.defs.iter().filter(|(k, _)| k.as_str() != "main") {
            match def {
                Def::Token(_) => {
                    let c = n.const_names.claim(&screaming(name));
                    n.consts.insert(name.clone(), c);
                }
                Def::Type(_) | Def::Record(_) => {
                    let t = n.types.claim(&camel(name));
                    n.def_types.insert(name.clone(), t);
                }
                _ => {}
            }
        }
        n
    }
}

/// What emitting one document produced.
pub(super) struct DocOut {
    pub(super) doc: Vec<String>,
    pub(super) body: String,
    pub(super) items: usize,
    pub(super) namespaces_used: BTreeSet<String>,
}

struct Emitter<'a> {
    doc: &'a LexiconDoc,
    cat: &'a Catalog,
    index: &'a Index,
    opts: &'a Options,
    types: Names,
    mods: Names,
    out: String,
    items: usize,
    ns_used: BTreeSet<String>,
}

pub(super) fn emit_doc(doc: &LexiconDoc, cat: &Catalog, index: &Index, opts: &Options) -> DocOut {
    let names = index.docs.get(doc.id.as_str());
    let mut e = Emitter {
        doc,
        cat,
        index,
        opts,
        types: names.map(|n| n.types.clone()).unwrap_or_default(),
        mods: Names::new(),
        out: String::new(),
        items: 0,
        ns_used: BTreeSet::new(),
    };
    let _ = writeln!(
        e.out,
        "/// The NSID of this lexicon.\npub const NSID: &str = {:?};",
        doc.id.as_str()
    );
    e.items += 1;
    if let Some(main) = doc.main() {
        e.def("main", main);
    }
    for (name, def) in doc.defs.iter().filter(|(k, _)| k.as_str() != "main") {
        e.def(name, def);
    }
    let mut mod_doc = vec![format!("`{}`", doc.id)];
    let desc = doc
        .description
        .as_deref()
        .or_else(|| doc.main().and_then(Def::description));
    if let Some(d) = desc {
        mod_doc.push(String::new());
        mod_doc.extend(doc_lines(d));
    }
    DocOut {
        doc: mod_doc,
        body: e.out,
        items: e.items,
        namespaces_used: e.ns_used,
    }
}

const DERIVES: &str = "#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]";

impl Emitter<'_> {
    fn def_id(&self, name: &str) -> DefId {
        DefId::new(self.doc.id.clone(), name)
    }

    fn def_type_name(&self, name: &str) -> String {
        self.index
            .docs
            .get(self.doc.id.as_str())
            .and_then(|n| n.def_types.get(name))
            .cloned()
            .unwrap_or_else(|| camel(name))
    }

    fn def(&mut self, name: &str, def: &Def) {
        let id = self.def_id(name);
        match def {
            Def::Record(r) => {
                let doc = desc_doc(
                    format!("A `{id}` record (key: `{}`).", r.key),
                    r.description.as_deref(),
                );
                let ty = self.def_type_name(name);
                self.object(&ty, &r.record, &doc, Some(&id));
                let rt = &self.opts.runtime;
                let key = match &r.key {
                    RecordKeyType::Tid => "Tid".to_owned(),
                    RecordKeyType::Nsid => "Nsid".to_owned(),
                    RecordKeyType::Literal(l) => format!("Literal({l:?})"),
                    _ => "Any".to_owned(),
                };
                let _ = writeln!(
                    self.out,
                    "impl {ty} {{\n/// The record's collection NSID.\npub const NSID: &'static str = NSID;\n}}\nimpl {rt}::Collection for {ty} {{\nconst NSID: &'static str = NSID;\nconst KEY: {rt}::RecordKeyKind = {rt}::RecordKeyKind::{key};\n}}"
                );
            }
            Def::Query(q) => {
                let params = self.params(q.parameters.as_ref());
                let output = self.body("Output", q.output.as_ref());
                let errors = self.errors(&q.errors);
                let ep = Ep {
                    method: "Query",
                    desc: q.description.as_deref(),
                    params,
                    input: BodyType::none(),
                    output,
                    errors,
                    paginated: paginated(q.parameters.as_ref(), q.output.as_ref()),
                };
                self.endpoint(name, &ep);
            }
            Def::Procedure(p) => {
                let params = self.params(p.parameters.as_ref());
                let input = self.body("Input", p.input.as_ref());
                let output = self.body("Output", p.output.as_ref());
                let errors = self.errors(&p.errors);
                let ep = Ep {
                    method: "Procedure",
                    desc: p.description.as_deref(),
                    params,
                    input,
                    output,
                    errors,
                    paginated: None,
                };
                self.endpoint(name, &ep);
            }
            Def::Subscription(s) => {
                self.params(s.parameters.as_ref());
                if let Some(m) = &s.message {
                    let doc = desc_doc(
                        format!("A message of the `{id}` subscription."),
                        m.description.as_deref(),
                    );
                    self.union("Message", &m.schema, &doc);
                }
                self.errors(&s.errors);
            }
            Def::Token(t) => {
                let c = self
                    .index
                    .docs
                    .get(self.doc.id.as_str())
                    .and_then(|n| n.consts.get(name))
                    .cloned()
                    .unwrap_or_else(|| screaming(name));
                let mut s = String::new();
                push_doc(
                    &mut s,
                    &desc_doc(format!("The token `{id}`."), t.description.as_deref()),
                );
                let _ = writeln!(s, "pub const {c}: &str = {:?};", type_string(&id));
                self.out.push_str(&s);
                self.items += 1;
            }
            Def::PermissionSet(_) => {}
            Def::Type(schema) => {
                let ty = self.def_type_name(name);
                let doc = desc_doc(format!("`{id}`"), schema.description());
                match schema {
                    Schema::Object(o) => self.object(&ty, o, &doc, None),
                    Schema::Union(u) => self.union(&ty, u, &doc),
                    other => {
                        let target = self.schema_type(other, &ty, &id);
                        let mut s = String::new();
                        push_doc(&mut s, &doc);
                        let _ = writeln!(s, "pub type {ty} = {target};");
                        self.out.push_str(&s);
                        self.items += 1;
                        if let Schema::String(st) = other {
                            self.known_values(&snake(name), &format!("[`{ty}`]"), st);
                        }
                    }
                }
            }
        }
    }
}
