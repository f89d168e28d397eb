//! Emission of one lexicon document as the body of one Rust module.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use atmo_syntax::Nsid;

use super::names::{Names, camel, screaming, serde_camel, snake};
use super::{Options, type_string};
use crate::Catalog;
use crate::model::{
    Body, Def, DefId, ErrorDef, LexiconDoc, ObjectType, ParamsType, RecordKeyType, RefTarget,
    Schema, StringFormat, StringType, UnionType,
};

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

fn doc_lines(s: &str) -> Vec<String> {
    s.lines().map(|l| l.trim_end().to_owned()).collect()
}

fn push_doc(out: &mut String, lines: &[String]) {
    for l in lines {
        if l.is_empty() {
            out.push_str("///\n");
        } else {
            let _ = writeln!(out, "/// {l}");
        }
    }
}

fn desc_doc(title: String, desc: Option<&str>) -> Vec<String> {
    let mut v = vec![title];
    if let Some(d) = desc {
        v.push(String::new());
        v.extend(doc_lines(d));
    }
    v
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

    /// Constants for the known or enumerated values of a string definition or field, in a
    /// module named after `module_hint`; `what` names the string in the module's doc.
    fn known_values(&mut self, module_hint: &str, what: &str, st: &StringType) {
        let values: Vec<&String> = st
            .known_values
            .iter()
            .chain(st.enum_values.iter().flatten())
            .collect();
        if values.is_empty() {
            return;
        }
        let m = self.mods.claim(module_hint);
        let mut s = format!("/// Known values of {what}.\npub mod {m} {{\n");
        let mut consts = Names::new();
        for v in values {
            let short = v.rsplit('#').next().unwrap_or(v);
            let c = consts.claim(&screaming(short));
            let _ = writeln!(s, "/// `{v}`\npub const {c}: &str = {v:?};");
            self.items += 1;
        }
        s.push_str("}\n");
        self.out.push_str(&s);
    }

    /// A struct for an object. `record` is set for a record's object.
    ///
    /// Its serde impls are calls into the runtime's `MapSer`/`MapDe` rather than derives:
    /// far less code per struct than serde's derive with `#[serde(flatten)]`.
    fn object(&mut self, ty: &str, o: &ObjectType, doc: &[String], record: Option<&DefId>) {
        let rt = self.opts.runtime.clone();
        let mut fields = String::new();
        let mut ser = String::new();
        let mut de = String::new();
        let mut de_arms = String::new();
        let mut cbor_order: Vec<&String> = o.properties.keys().collect();
        cbor_order.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
        let de_names: Vec<String> = cbor_order.iter().map(|p| format!("{p:?}")).collect();
        let mut taken = Names::new();
        let mut field_values = Vec::new();
        let mut members = Vec::new();
        for (prop, schema) in &o.properties {
            let field = taken.claim(&snake(prop));
            let strings = match schema {
                Schema::String(st) => Some(st),
                Schema::Array(a) => match &*a.items {
                    Schema::String(st) => Some(st),
                    _ => None,
                },
                _ => None,
            };
            if let Some(st) = strings {
                field_values.push((snake(&format!("{ty}_{prop}")), prop, st));
            }
            let hint = format!("{ty}{}", camel(prop));
            let mut rust = self.field_type(schema, &hint, ty, record);
            let required = o.is_required(prop);
            let nullable = o.is_nullable(prop);
            if let Some(d) = schema.description() {
                push_doc(&mut fields, &doc_lines(d));
            }
            if !required && nullable {
                // Absent and null mean different things (putRecord's `swapRecord`).
                push_doc(
                    &mut fields,
                    &["Optional and nullable: `None` is absent, `Some(None)` is null.".into()],
                );
                members.push(Member::opt(&field, format!("Option<{rust}>")));
                rust = format!("Option<Option<{rust}>>");
            } else if !required {
                members.push(Member::opt(&field, rust.clone()));
                rust = format!("Option<{rust}>");
            } else if nullable {
                rust = format!("Option<{rust}>");
                members.push(Member::req(prop, &field, rust.clone()));
            } else {
                members.push(Member::req(prop, &field, rust.clone()));
            }
            let _ = writeln!(fields, "pub {field}: {rust},");
            let (sm, dm) = if required {
                ("req", "req")
            } else {
                ("opt", "opt")
            };
            let dm = match (required, nullable) {
                (true, true) => "opt",
                (false, true) => "opt_nullable",
                _ => dm,
            };
            let _ = writeln!(ser, "m.{sm}({prop:?}, &self.{field})?;");
            // One pass: a match arm reads the field's value into slot `f.{i}`, then the
            // struct is built from the slots. `i` is the field's place in DAG-CBOR key
            // order (shorter first, then bytewise), the order keys come in from DAG-CBOR.
            let i = cbor_order
                .iter()
                .position(|p| *p == prop)
                .unwrap_or_default();
            let (arm, build) = match dm {
                "req" => ("req", format!("m.need(f.{i}, {i})?")),
                "opt" => ("opt", format!("f.{i}.flatten()")),
                _ => ("opt", format!("f.{i}")),
            };
            let _ = writeln!(de_arms, "{i} => m.{arm}(&mut f.{i})?,");
            let _ = writeln!(de, "{field}: {build},");
        }
        let extra = taken.claim("extra");
        // A record remembers whether it was read with its `$type` (its NSID) instead of
        // keeping it in `extra`, and writes it back.
        let has_type = record.map(|_| taken.claim("has_type"));
        let (type_field, type_const, type_ser, type_de) = match &has_type {
            Some(f) => (
                format!(
                    "/// Whether the record was read with its `$type` (the collection NSID), which is then written back.\npub {f}: bool,\n"
                ),
                "const TYPE: &'static str = NSID;\n".to_owned(),
                format!("m.record_type(self.{f}, NSID)?;\n"),
                format!("{f}: m.had_type(),\n"),
            ),
            None => Default::default(),
        };
        let mutable = if o.properties.is_empty() && has_type.is_none() {
            ""
        } else {
            "mut "
        };
        let mut s = String::new();
        push_doc(&mut s, doc);
        let default = if members.iter().any(|m| m.required) {
            ""
        } else {
            ", Default"
        };
        let _ = writeln!(
            s,
            "#[derive(Debug, Clone, PartialEq{default})]\n#[non_exhaustive]\npub struct {ty} {{"
        );
        s.push_str(&fields);
        s.push_str(&type_field);
        let _ = writeln!(
            s,
            "/// Fields not in the lexicon, kept as found.\npub {extra}: std::collections::BTreeMap<String, atmo_data::Value>,\n}}"
        );
        let _ = writeln!(
            s,
            "impl serde::Serialize for {ty} {{\nfn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {{\nlet {mutable}m = {rt}::MapSer::new(s)?;\n{type_ser}{ser}m.end(&self.{extra})\n}}\n}}"
        );
        let de_loop = match de_names.len() {
            0 => "while m.field()?.is_some() {}\n".to_owned(),
            // One field: every known key is field 0.
            1 => format!(
                "let mut f = (None,);\nwhile m.field()?.is_some() {{\n{};\n}}\n",
                de_arms
                    .trim_start_matches("0 => ")
                    .trim_end()
                    .trim_end_matches(',')
            ),
            n => format!(
                "let mut f = ({});\nwhile let Some(i) = m.field()? {{\nmatch i {{\n{de_arms}_ => {{}}\n}}\n}}\n",
                vec!["None"; n].join(", ")
            ),
        };
        let _ = writeln!(
            s,
            "impl<'de> serde::Deserialize<'de> for {ty} {{\nfn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {{\n{rt}::object(d)\n}}\n}}\nimpl {rt}::Object for {ty} {{\nconst FIELDS: &'static [&'static str] = &[{names}];\n{type_const}fn read<'de, A: serde::de::MapAccess<'de>>(mut m: {rt}::MapDe<'de, A>) -> Result<Self, A::Error> {{\n{de_loop}Ok(Self {{\n{de}{type_de}{extra}: m.rest(),\n}})\n}}\n}}",
            names = de_names.join(", ")
        );
        let mut defaults = vec![extra.as_str()];
        defaults.extend(has_type.as_deref());
        s.push_str(&constructors(&rt, ty, &o.required, &members, &defaults));
        self.out.push_str(&s);
        self.items += 1;
        for (module, prop, st) in field_values {
            self.known_values(&module, &format!("the `{prop}` field of [`{ty}`]"), st);
        }
    }

    /// The type of an object field: like [`Self::schema_type`], boxing a direct reference
    /// that leads back to the containing definition.
    fn field_type(
        &mut self,
        schema: &Schema,
        hint: &str,
        parent_ty: &str,
        parent: Option<&DefId>,
    ) -> String {
        let parent_id = parent.cloned().unwrap_or_else(|| {
            let name = self
                .index
                .docs
                .get(self.doc.id.as_str())
                .and_then(|n| n.def_types.iter().find(|(_, t)| *t == parent_ty))
                .map(|(d, _)| d.clone())
                .unwrap_or_default();
            self.def_id(&name)
        });
        let t = self.schema_type(schema, hint, &parent_id);
        if let Schema::Ref(r) = schema {
            if self.reaches(&r.reference.target, &parent_id, &mut BTreeSet::new()) {
                return format!("Box<{t}>");
            }
        }
        t
    }

    /// True if definition `from` holds (through direct, unboxed refs) `to`.
    fn reaches(&self, from: &DefId, to: &DefId, seen: &mut BTreeSet<DefId>) -> bool {
        if from == to {
            return true;
        }
        if !seen.insert(from.clone()) {
            return false;
        }
        let obj = match self.cat.def(from) {
            Some(Def::Type(Schema::Object(o))) => o,
            Some(Def::Record(r)) => &r.record,
            _ => return false,
        };
        obj.properties.values().any(|s| match s {
            Schema::Ref(r) => self.reaches(&r.reference.target, to, seen),
            _ => false,
        })
    }

    /// The Rust type of a schema; inline objects and unions are emitted under `hint`.
    fn schema_type(&mut self, schema: &Schema, hint: &str, ctx: &DefId) -> String {
        match schema {
            Schema::Null(_) => "()".into(),
            Schema::Boolean(_) => "bool".into(),
            Schema::Integer(_) => "i64".into(),
            Schema::String(s) => string_type(s.format).into(),
            Schema::Bytes(_) => format!("{}::Bytes", self.opts.runtime),
            Schema::CidLink(_) => "atmo_data::Cid".into(),
            Schema::Blob(_) => "atmo_data::Blob".into(),
            Schema::Unknown(_) => "atmo_data::Value".into(),
            Schema::Array(a) => {
                let inner = self.schema_type(&a.items, &format!("{hint}Item"), ctx);
                format!("Vec<{inner}>")
            }
            Schema::Object(o) => {
                let name = self.types.claim(&camel(hint));
                let doc = desc_doc(
                    format!("An object inside `{ctx}`."),
                    o.description.as_deref(),
                );
                self.object(&name, o, &doc, None);
                name
            }
            Schema::Union(u) => {
                let name = self.types.claim(&camel(hint));
                let doc = desc_doc(format!("A union inside `{ctx}`."), u.description.as_deref());
                self.union(&name, u, &doc);
                name
            }
            Schema::Ref(r) => self.ref_type(&r.reference),
        }
    }

    /// The Rust path of a referenced definition.
    fn ref_type(&mut self, r: &RefTarget) -> String {
        let t = &r.target;
        let Some(def) = self.cat.def(t) else {
            return "atmo_data::Value".into();
        };
        let name = match def {
            Def::Record(_) | Def::Type(_) => self
                .index
                .docs
                .get(t.nsid.as_str())
                .and_then(|n| n.def_types.get(&t.name))
                .cloned(),
            Def::Token(_) => return "String".into(),
            _ => None,
        };
        let Some(name) = name else {
            return "atmo_data::Value".into();
        };
        if t.nsid == self.doc.id {
            return name;
        }
        let path = module_path(&t.nsid);
        let root = if self.opts.generates(t.nsid.as_str()) {
            if let Some(ns) = path.first() {
                self.ns_used.insert(ns.clone());
            }
            &self.opts.root
        } else {
            &self.opts.external_root
        };
        format!("{root}::{}::{name}", path.join("::"))
    }

    /// The variant name for a union member.
    fn variant_name(&self, t: &DefId) -> String {
        let last = last_segment(&t.nsid);
        if t.nsid == self.doc.id {
            if t.is_main() {
                camel(last)
            } else {
                camel(&t.name)
            }
        } else if t.is_main() {
            camel(last)
        } else if last == "defs" {
            camel(&t.name)
        } else {
            format!("{}{}", camel(last), camel(&t.name))
        }
    }

    /// An enum for a union, with serde through the runtime helpers.
    fn union(&mut self, ty: &str, u: &UnionType, doc: &[String]) {
        let rt = self.opts.runtime.clone();
        let mut variants = Names::new();
        if !u.closed {
            variants.claim("Unknown");
        }
        let mut members = Vec::new();
        let mut objects = Vec::new();
        for r in &u.refs {
            let v = variants.claim(&self.variant_name(&r.target));
            let t = self.ref_type(r);
            if matches!(
                self.cat.def(&r.target),
                Some(Def::Record(_) | Def::Type(Schema::Object(_)))
            ) {
                objects.push((v.clone(), t.clone()));
            }
            members.push((v, t, type_string(&r.target)));
        }
        // `From` each member object, so `with_embed(images)` takes the member itself; not
        // for a type listed twice, nor the union itself.
        let from: Vec<&(String, String)> = objects
            .iter()
            .filter(|(_, t)| t != ty && objects.iter().filter(|(_, o)| o == t).count() == 1)
            .collect();
        let mut s = String::new();
        push_doc(&mut s, doc);
        let _ = writeln!(s, "#[derive(Debug, Clone, PartialEq)]\npub enum {ty} {{");
        for (v, t, tag) in &members {
            let _ = writeln!(s, "/// `{tag}`\n{v}(Box<{t}>),");
        }
        if !u.closed {
            s.push_str("/// A `$type` this version does not know, kept as found.\nUnknown(atmo_data::Value),\n");
        }
        s.push_str("}\n");
        let _ = writeln!(
            s,
            "impl serde::Serialize for {ty} {{\nfn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {{\nmatch self {{"
        );
        for (v, _, tag) in &members {
            let _ = writeln!(s, "Self::{v}(v) => {rt}::serialize_tagged(s, {tag:?}, v),");
        }
        if !u.closed {
            s.push_str("Self::Unknown(v) => serde::Serialize::serialize(v, s),\n");
        }
        s.push_str("}\n}\n}\n");
        if members.is_empty() && u.closed {
            s = s.replace("match self {", "match *self {");
        }
        // One pass: `rt::union` finds `$type` and hands the rest of the map to `member`.
        let _ = writeln!(
            s,
            "impl<'de> serde::Deserialize<'de> for {ty} {{\nfn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {{\n{rt}::union(d)\n}}\n}}\nimpl {rt}::Union for {ty} {{\nfn member<'de, A: serde::de::MapAccess<'de>>(tag: &str, m: {rt}::Member<'_, 'de, A>) -> Result<Self, A::Error> {{"
        );
        let fallback = if u.closed {
            "return Err(m.not_member())"
        } else {
            "Self::Unknown(m.unknown()?)"
        };
        if members.is_empty() {
            let only = if u.closed {
                "Err(m.not_member())"
            } else {
                "Ok(Self::Unknown(m.unknown()?))"
            };
            let _ = writeln!(s, "let _ = tag;\n{only}");
        } else {
            s.push_str("Ok(match tag {\n");
            for (v, _, tag) in &members {
                let _ = writeln!(s, "{tag:?} => Self::{v}(m.read()?),");
            }
            let _ = writeln!(s, "_ => {fallback},\n}})");
        }
        s.push_str("}\n");
        if !u.closed {
            s.push_str(
                "fn untagged(v: atmo_data::Value) -> Option<Self> {\nSome(Self::Unknown(v))\n}\n",
            );
        }
        s.push_str("}\n");
        if !from.is_empty() {
            let _ = writeln!(s, "{rt}::union_from! {{ {ty};");
            for (v, t) in from {
                let _ = writeln!(s, "    {v} {t},");
            }
            s.push_str("}\n");
        }
        self.out.push_str(&s);
        self.items += 1;
    }

    /// The `Params` struct; returns the type to use (`()` for none).
    fn params(&mut self, p: Option<&ParamsType>) -> String {
        let Some(p) = p.filter(|p| !p.properties.is_empty()) else {
            return "()".into();
        };
        let ctx = self.def_id("main");
        let mut s = String::new();
        push_doc(
            &mut s,
            &desc_doc(
                format!("Query parameters of `{ctx}`."),
                p.description.as_deref(),
            ),
        );
        let default = if p.properties.keys().any(|k| p.required.contains(k)) {
            ""
        } else {
            "#[derive(Default)]\n"
        };
        let _ = writeln!(
            s,
            "{DERIVES}\n{default}#[non_exhaustive]\n#[serde(rename_all = \"camelCase\")]\npub struct Params {{"
        );
        let mut taken = Names::new();
        let mut field_values = Vec::new();
        let mut members = Vec::new();
        for (prop, schema) in &p.properties {
            let field = taken.claim(&snake(prop));
            match schema {
                Schema::String(st) => field_values.push((prop, st)),
                Schema::Array(a) => {
                    if let Schema::String(st) = &*a.items {
                        field_values.push((prop, st));
                    }
                }
                _ => {}
            }
            let mut rust = self.schema_type(schema, &format!("Params{}", camel(prop)), &ctx);
            if let Some(d) = schema.description() {
                push_doc(&mut s, &doc_lines(d));
            }
            let mut attrs = Vec::new();
            if serde_camel(&field) != *prop {
                attrs.push(format!("rename = {prop:?}"));
            }
            let required = p.required.iter().any(|r| r == prop);
            if !required {
                if matches!(schema, Schema::Array(_)) {
                    attrs.push("default".into());
                    attrs.push("skip_serializing_if = \"Vec::is_empty\"".into());
                    members.push(Member {
                        prop: prop.clone(),
                        field: field.clone(),
                        ty: rust.clone(),
                        required: false,
                        wrap: false,
                    });
                } else {
                    attrs.push("default".into());
                    attrs.push("skip_serializing_if = \"Option::is_none\"".into());
                    members.push(Member::opt(&field, rust.clone()));
                    rust = format!("Option<{rust}>");
                }
            } else {
                members.push(Member::req(prop, &field, rust.clone()));
            }
            if !attrs.is_empty() {
                let _ = writeln!(s, "#[serde({})]", attrs.join(", "));
            }
            let _ = writeln!(s, "pub {field}: {rust},");
        }
        s.push_str("}\n");
        let rt = &self.opts.runtime;
        s.push_str(&constructors(rt, "Params", &p.required, &members, &[]));
        self.out.push_str(&s);
        self.items += 1;
        for (prop, st) in field_values {
            let module = snake(&format!("params_{prop}"));
            self.known_values(
                &module,
                &format!("the `{prop}` parameter of [`Params`]"),
                st,
            );
        }
        "Params".into()
    }

    /// The `Input`/`Output` type.
    fn body(&mut self, name: &str, b: Option<&Body>) -> BodyType {
        let Some(b) = b else {
            return BodyType::none();
        };
        if b.encoding != "application/json" {
            let ty = if name == "Input" {
                "atmo_xrpc::BinaryInput"
            } else {
                "bytes::Bytes"
            };
            return BodyType {
                ty: ty.into(),
                encoding: Some(b.encoding.clone()),
                local: false,
            };
        }
        let ctx = self.def_id("main");
        let what = if name == "Input" { "input" } else { "output" };
        let doc = desc_doc(format!("The {what} of `{ctx}`."), b.description.as_deref());
        let local = |ty: &str| BodyType {
            ty: ty.into(),
            encoding: None,
            local: true,
        };
        match &b.schema {
            None => BodyType {
                ty: "atmo_data::Value".into(),
                encoding: None,
                local: false,
            },
            Some(Schema::Object(o)) => {
                self.object(name, o, &doc, None);
                local(name)
            }
            Some(Schema::Union(u)) => {
                self.union(name, u, &doc);
                local(name)
            }
            Some(other) => {
                let t = self.schema_type(other, name, &ctx);
                let mut s = String::new();
                push_doc(&mut s, &doc);
                let _ = writeln!(s, "pub type {name} = {t};");
                self.out.push_str(&s);
                self.items += 1;
                BodyType {
                    ty: name.into(),
                    encoding: None,
                    local: false,
                }
            }
        }
    }

    /// The `Error` enum of the declared errors; false if there are none.
    fn errors(&mut self, errors: &[ErrorDef]) -> bool {
        if errors.is_empty() {
            return false;
        }
        let mut names = Names::new();
        let vs: Vec<(String, &ErrorDef)> = errors
            .iter()
            .map(|e| (names.claim(&camel(&e.name)), e))
            .collect();
        let mut s = format!(
            "/// The errors `{}` declares.\n#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]\npub enum Error {{\n",
            self.doc.id
        );
        for (v, e) in &vs {
            push_doc(
                &mut s,
                &desc_doc(format!("`{}`", e.name), e.description.as_deref()),
            );
            let _ = writeln!(s, "{v},");
        }
        s.push_str("}\nimpl Error {\n/// The error name sent in the response body.\npub const fn as_str(self) -> &'static str {\nmatch self {\n");
        for (v, e) in &vs {
            let _ = writeln!(s, "Self::{v} => {:?},", e.name);
        }
        s.push_str("}\n}\n/// The declared error with this name, if any.\npub fn from_name(name: &str) -> Option<Self> {\nmatch name {\n");
        for (v, e) in &vs {
            let _ = writeln!(s, "{:?} => Some(Self::{v}),", e.name);
        }
        s.push_str("_ => None,\n}\n}\n}\n");
        s.push_str("impl atmo_xrpc::EndpointError for Error {\n#[inline]\nfn from_name(name: &str) -> Option<Self> {\nSelf::from_name(name)\n}\n#[inline]\nfn as_str(&self) -> &'static str {\nSelf::as_str(*self)\n}\n}\nimpl std::fmt::Display for Error {\n#[inline]\nfn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {\nf.write_str(self.as_str())\n}\n}\n");
        self.out.push_str(&s);
        self.items += 1;
        true
    }

    fn endpoint(&mut self, name: &str, ep: &Ep<'_>) {
        let ty = self.def_type_name(name);
        let method = ep.method;
        let mut s = String::new();
        push_doc(
            &mut s,
            &desc_doc(
                format!("The `{}` {}.", self.doc.id, method.to_lowercase()),
                ep.desc,
            ),
        );
        let error = if ep.errors {
            "Error"
        } else {
            "std::convert::Infallible"
        };
        let _ = writeln!(
            s,
            "#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]\npub struct {ty};\nimpl atmo_xrpc::Endpoint for {ty} {{\nconst NSID: &'static str = NSID;\nconst METHOD: atmo_xrpc::Method = atmo_xrpc::Method::{method};\ntype Params = {};\ntype Input = {};\ntype Output = {};\ntype Error = {error};",
            ep.params, ep.input.ty, ep.output.ty
        );
        if let Some(ct) = &ep.input.encoding {
            let _ = writeln!(
                s,
                "const INPUT_ENCODING: &'static str = {ct:?};\nfn request(params: &Self::Params, input: Option<&Self::Input>) -> atmo_xrpc::Result<atmo_xrpc::XrpcRequest> {{\natmo_xrpc::BinaryInput::request::<Self>(params, input)\n}}"
            );
        }
        if let Some(ct) = &ep.output.encoding {
            let _ = writeln!(
                s,
                "const OUTPUT_ENCODING: &'static str = {ct:?};\nfn decode(res: &atmo_xrpc::XrpcResponse) -> atmo_xrpc::Result<bytes::Bytes> {{\nOk(res.body.clone())\n}}"
            );
        }
        s.push_str("}\n");
        // The value that names the whole call, for `Client::call`.
        let no_input = ep.input.ty == "()";
        let call = if ep.params != "()" && no_input {
            Some(("Params", "self", "None"))
        } else if ep.params == "()" && no_input {
            Some((ty.as_str(), "&()", "None"))
        } else if ep.params == "()" && ep.input.local {
            Some(("Input", "&()", "Some(self)"))
        } else {
            None
        };
        if let Some((target, params, input)) = call {
            let _ = writeln!(
                s,
                "impl atmo_xrpc::Call for {target} {{\ntype Endpoint = {ty};\n#[inline]\nfn params(&self) -> &{} {{\n{params}\n}}\n#[inline]\nfn input(&self) -> Option<&{}> {{\n{input}\n}}\n}}",
                ep.params, ep.input.ty
            );
        }
        if let Some(required) = ep.paginated {
            let cursor = if required {
                "Some(&output.cursor)"
            } else {
                "output.cursor.as_deref()"
            };
            let _ = writeln!(
                s,
                "impl atmo_xrpc::Paginated for {ty} {{\n#[inline]\nfn set_cursor(params: &mut Params, cursor: Option<String>) {{\nparams.cursor = cursor;\n}}\n#[inline]\nfn cursor(output: &Output) -> Option<&str> {{\n{cursor}\n}}\n}}"
            );
        }
        self.out.push_str(&s);
        self.items += 1;
    }
}

/// The Rust type of an endpoint's input or output.
struct BodyType {
    /// The type (`()` for none).
    ty: String,
    /// The content type of a non-JSON body.
    encoding: Option<String>,
    /// True if the type is a struct or enum of this module.
    local: bool,
}

impl BodyType {
    fn none() -> Self {
        Self {
            ty: "()".into(),
            encoding: None,
            local: false,
        }
    }
}

/// What [`Emitter::endpoint`] needs.
struct Ep<'a> {
    method: &'static str,
    desc: Option<&'a str>,
    params: String,
    input: BodyType,
    output: BodyType,
    errors: bool,
    /// `Some(output cursor is required)` for a cursor-paginated query.
    paginated: Option<bool>,
}

/// `Some(output cursor is required)` if a query has an optional string `cursor`
/// parameter and a string `cursor` in its JSON object output.
fn paginated(params: Option<&ParamsType>, output: Option<&Body>) -> Option<bool> {
    let p = params?;
    let plain = |s: &Schema| matches!(s, Schema::String(st) if st.format.is_none());
    if !p.properties.get("cursor").is_some_and(plain) || p.required.iter().any(|r| r == "cursor") {
        return None;
    }
    let out = output?;
    if out.encoding != "application/json" {
        return None;
    }
    match &out.schema {
        Some(Schema::Object(o))
            if o.properties.get("cursor").is_some_and(plain) && !o.is_nullable("cursor") =>
        {
            Some(o.is_required("cursor"))
        }
        _ => None,
    }
}

/// One field of a generated struct, for its constructor and setters.
struct Member {
    /// The lexicon name.
    prop: String,
    /// The Rust field.
    field: String,
    /// The type a constructor argument or setter takes (`impl Into<..>`).
    ty: String,
    /// In the constructor, else a setter.
    required: bool,
    /// The setter wraps the value in `Some`.
    wrap: bool,
}

impl Member {
    fn req(prop: &str, field: &str, ty: String) -> Self {
        Self {
            prop: prop.to_owned(),
            field: field.to_owned(),
            ty,
            required: true,
            wrap: false,
        }
    }

    fn opt(field: &str, ty: String) -> Self {
        Self {
            prop: String::new(),
            field: field.to_owned(),
            ty,
            required: false,
            wrap: true,
        }
    }
}

/// `new(required...)` and a `with_<field>` setter per other field: generic, so nothing
/// is compiled for them until they are used. Constructor arguments follow the
/// lexicon's `required` order.
fn constructors(
    rt: &str,
    ty: &str,
    required: &[String],
    members: &[Member],
    defaults: &[&str],
) -> String {
    let mut args = Vec::new();
    for r in required {
        if let Some(m) = members.iter().find(|m| m.required && &m.prop == r) {
            if !args.iter().any(|a: &&Member| a.field == m.field) {
                args.push(m);
            }
        }
    }
    let mut s = format!(
        "impl {ty} {{\n/// A value with the required fields; set the others with the `with_*` methods.\n#[inline]\npub fn new("
    );
    // String formats take their exact type, so `"...".parse()?` infers it.
    let exact = |m: &Member| m.ty.starts_with("atmo_syntax::");
    for m in &args {
        if exact(m) {
            let _ = write!(s, "{}: {}, ", m.field, m.ty);
        } else {
            let _ = write!(s, "{}: impl Into<{}>, ", m.field, m.ty);
        }
    }
    s.push_str(") -> Self {\n");
    if args.is_empty() {
        s.push_str("Self::default()\n}\n}\n");
    } else {
        s.push_str("Self {\n");
    }
    for m in members.iter().filter(|_| !args.is_empty()) {
        if m.required && exact(m) {
            let _ = writeln!(s, "{},", m.field);
        } else if m.required {
            let _ = writeln!(s, "{0}: {0}.into(),", m.field);
        } else {
            let _ = writeln!(s, "{}: Default::default(),", m.field);
        }
    }
    if !args.is_empty() {
        for d in defaults {
            let _ = writeln!(s, "{d}: Default::default(),");
        }
        s.push_str("}\n}\n}\n");
    }
    let setters: Vec<&Member> = members.iter().filter(|m| !m.required).collect();
    if !setters.is_empty() {
        // One line per field, grouped by kind; the runtime's macro writes the `with_*`
        // methods.
        let _ = writeln!(s, "{rt}::setters! {{ {ty};");
        for kind in ["some", "exact", "set"] {
            let group: Vec<&&Member> = setters
                .iter()
                .filter(|m| {
                    kind == match (m.wrap, exact(m)) {
                        (true, true) => "exact",
                        (true, false) => "some",
                        _ => "set",
                    }
                })
                .collect();
            if group.is_empty() {
                continue;
            }
            let _ = writeln!(s, "  {kind} {{");
            for m in group {
                let name = m.field.trim_start_matches("r#");
                let _ = writeln!(s, "    with_{name} {} {},", m.field, m.ty);
            }
            s.push_str("  }\n");
        }
        s.push_str("}\n");
    }
    s
}

/// The Rust type for a string of a given format.
fn string_type(f: Option<StringFormat>) -> &'static str {
    match f {
        None => "String",
        Some(StringFormat::AtIdentifier) => "atmo_syntax::AtIdentifier",
        Some(StringFormat::AtUri) => "atmo_syntax::AtUri",
        Some(StringFormat::Cid) => "atmo_syntax::CidString",
        Some(StringFormat::Datetime) => "atmo_syntax::LenientDatetime",
        Some(StringFormat::Did) => "atmo_syntax::Did",
        Some(StringFormat::Handle) => "atmo_syntax::Handle",
        Some(StringFormat::Nsid) => "atmo_syntax::Nsid",
        Some(StringFormat::Tid) => "atmo_syntax::Tid",
        Some(StringFormat::RecordKey) => "atmo_syntax::RecordKey",
        Some(StringFormat::Uri) => "atmo_syntax::Uri",
        Some(StringFormat::Language) => "atmo_syntax::Language",
    }
}
