//! The Rust type of a schema or of a reference.

use super::docs::desc_doc;
use super::members::string_type;
use super::module_path;
use crate::codegen::names::camel;
use crate::model::{Def, DefId, RefTarget, Schema};

use super::Emitter;

impl Emitter<'_> {
    /// The Rust type of a schema; inline objects and unions are emitted under `hint`.
    pub(super) fn schema_type(&mut self, schema: &Schema, hint: &str, ctx: &DefId) -> String {
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
    pub(super) fn ref_type(&mut self, r: &RefTarget) -> String {
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
}
