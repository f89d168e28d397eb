//! Enums for unions, tagged by `$type`.

use std::fmt::Write as _;

use super::docs::push_doc;
use super::last_segment;
use crate::codegen::names::{Names, camel};
use crate::codegen::type_string;
use crate::model::{Def, DefId, Schema, UnionType};

use super::Emitter;

impl Emitter<'_> {
    /// The variant name for a union member.
    pub(super) fn variant_name(&self, t: &DefId) -> String {
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
    pub(super) fn union(&mut self, ty: &str, u: &UnionType, doc: &[String]) {
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
        // The direct DAG-CBOR reader: the `$type` found by looking ahead, then the member
        // read from the whole map. A union with a member that is not an object is read
        // through its serde impl.
        let mut c = format!(
            "impl<'de> atmo_data::FromCbor<'de> for {ty} {{\nfn from_cbor(r: &mut atmo_data::CborReader<'de>) -> Result<Self, atmo_data::ReadError> {{\n"
        );
        if members.len() != objects.len() {
            c.push_str("r.serde()\n");
        } else {
            c.push_str("Ok(match r.map_type()? {\n");
            for (v, _, tag) in &members {
                let _ = writeln!(c, "Some({tag:?}) => Self::{v}({rt}::member(r)?),");
            }
            if u.closed {
                let _ = writeln!(c, "t => return Err({rt}::not_member(r, t)),");
            } else {
                c.push_str("_ => Self::Unknown(r.value()?),\n");
            }
            c.push_str("})\n");
        }
        c.push_str("}\n}\n");
        s.push_str(&c);
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
}
