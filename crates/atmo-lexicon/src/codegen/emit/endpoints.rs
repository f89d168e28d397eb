//! Queries and procedures: `Params`, `Input`/`Output`, the `Error` enum, the endpoint
//! marker and its `Call` and `Paginated` impls.

use std::fmt::Write as _;

use super::DERIVES;
use super::docs::{desc_doc, doc_lines, push_doc};
use super::members::{Member, constructors};
use crate::codegen::names::{Names, camel, serde_camel, snake};
use crate::model::{Body, ErrorDef, ParamsType, Schema};

use super::Emitter;

impl Emitter<'_> {
    /// The `Params` struct; returns the type to use (`()` for none).
    pub(super) fn params(&mut self, p: Option<&ParamsType>) -> String {
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
    pub(super) fn body(&mut self, name: &str, b: Option<&Body>) -> BodyType {
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
    pub(super) fn errors(&mut self, errors: &[ErrorDef]) -> bool {
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

    pub(super) fn endpoint(&mut self, name: &str, ep: &Ep<'_>) {
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
pub(super) struct BodyType {
    /// The type (`()` for none).
    pub(super) ty: String,
    /// The content type of a non-JSON body.
    pub(super) encoding: Option<String>,
    /// True if the type is a struct or enum of this module.
    pub(super) local: bool,
}

impl BodyType {
    pub(super) fn none() -> Self {
        Self {
            ty: "()".into(),
            encoding: None,
            local: false,
        }
    }
}

/// What [`Emitter::endpoint`] needs.
pub(super) struct Ep<'a> {
    pub(super) method: &'static str,
    pub(super) desc: Option<&'a str>,
    pub(super) params: String,
    pub(super) input: BodyType,
    pub(super) output: BodyType,
    pub(super) errors: bool,
    /// `Some(output cursor is required)` for a cursor-paginated query.
    pub(super) paginated: Option<bool>,
}

/// `Some(output cursor is required)` if a query has an optional string `cursor`
/// parameter and a string `cursor` in its JSON object output.
pub(super) fn paginated(params: Option<&ParamsType>, output: Option<&Body>) -> Option<bool> {
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
