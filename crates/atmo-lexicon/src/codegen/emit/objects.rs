//! Structs for objects and records, and the constants of known string values.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::docs::{doc_lines, push_doc};
use super::members::{Member, constructors};
use crate::codegen::names::{Names, camel, screaming, snake};
use crate::model::{Def, DefId, ObjectType, Schema, StringType};

use super::Emitter;

impl Emitter<'_> {
    /// Constants for the known or enumerated values of a string definition or field, in a
    /// module named after `module_hint`; `what` names the string in the module's doc.
    pub(super) fn known_values(&mut self, module_hint: &str, what: &str, st: &StringType) {
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
    pub(super) fn object(
        &mut self,
        ty: &str,
        o: &ObjectType,
        doc: &[String],
        record: Option<&DefId>,
    ) {
        let rt = self.opts.runtime.clone();
        let mut fields = String::new();
        let mut ser = String::new();
        let mut de = String::new();
        let mut de_arms = String::new();
        // The direct DAG-CBOR reader (`atmo_data::FromCbor`): a match on the key's bytes.
        let mut cbor_arms: Vec<(usize, String)> = Vec::new();
        let mut cbor_build = String::new();
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
            cbor_arms.push((
                i,
                format!("if {rt}::key_is(k, {prop:?}.as_bytes()) {{\nm.{arm}(&mut f.{i})?;\n}}"),
            ));
            let cbuild = match dm {
                "req" => format!("m.need(f.{i}, {prop:?})?"),
                _ => build,
            };
            let _ = writeln!(cbor_build, "{field}: {cbuild},");
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
        let (record_nsid, type_cbor) = match &has_type {
            Some(f) => ("NSID", format!("{f}: m.had_type(),\n")),
            None => ("\"\"", String::new()),
        };
        // Tests in DAG-CBOR key order, the order the keys come in.
        cbor_arms.sort_by_key(|(i, _)| *i);
        let cbor_arms: String = cbor_arms
            .into_iter()
            .map(|(_, a)| format!("{a} else "))
            .collect::<String>()
            + "{\n";
        let slots = match de_names.len() {
            0 => String::new(),
            1 => "let mut f = (None,);\n".to_owned(),
            n => format!("let mut f = ({});\n", vec!["None"; n].join(", ")),
        };
        let _ = writeln!(
            s,
            "impl<'de> atmo_data::FromCbor<'de> for {ty} {{\n#[inline]\nfn from_cbor(r: &mut atmo_data::CborReader<'de>) -> Result<Self, atmo_data::ReadError> {{\n<Self as {rt}::CborObject>::read_cbor(r, false)\n}}\n}}\nimpl {rt}::CborObject for {ty} {{\nfn read_cbor(r: &mut atmo_data::CborReader<'_>, member: bool) -> Result<Self, atmo_data::ReadError> {{\nlet mut m = {rt}::CborObj::new(r, {record_nsid}, member)?;\n{slots}while let Some(k) = m.key()? {{\n{cbor_arms}m.other(k)?;\n}}\n}}\nOk(Self {{\n{cbor_build}{type_cbor}{extra}: m.rest(),\n}})\n}}\n}}"
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
    pub(super) fn field_type(
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
    pub(super) fn reaches(&self, from: &DefId, to: &DefId, seen: &mut BTreeSet<DefId>) -> bool {
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
}
