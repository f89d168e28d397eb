//! Parsing and checking lexicon documents (JSON) into the [model](crate::model).

use std::collections::BTreeMap;

use atmo_syntax::{Did, Language, Nsid, RecordKey};
use serde_json::{Map, Value};

use crate::error::{DocError, Error};
use crate::model::{
    ArrayType, BlobType, Body, BooleanType, BytesType, CidLinkType, Def, ErrorDef, IntegerType,
    LexiconDoc, Message, NullType, ObjectType, ParamsType, Permission, PermissionSetDef,
    ProcedureDef, QueryDef, RecordDef, RecordKeyType, RefTarget, RefType, Schema, StringFormat,
    StringType, SubscriptionDef, TokenDef, UnionType, UnknownType, check_def_name,
};
use crate::path::push_key;

/// Most definitions one document may have, and most entries in any one list or map of a
/// document (properties, refs, enum values...). The official set's largest is far below.
pub const MAX_ENTRIES: usize = 10_000;

type R<T> = Result<T, DocError>;

fn err(path: &str, reason: impl Into<String>) -> DocError {
    DocError {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

fn child(path: &str, key: &str) -> String {
    let mut p = path.to_owned();
    push_key(&mut p, key);
    p
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON object being read, with its path.
struct Obj<'a> {
    m: &'a Map<String, Value>,
    path: String,
}

impl<'a> Obj<'a> {
    fn new(v: &'a Value, path: String) -> R<Self> {
        match v {
            Value::Object(m) => Ok(Self { m, path }),
            other => Err(err(
                &path,
                format!("expected an object, found {}", kind(other)),
            )),
        }
    }

    fn at(&self, key: &str) -> String {
        child(&self.path, key)
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.m.get(key)
    }

    fn str_opt(&self, key: &str) -> R<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(err(
                &self.at(key),
                format!("expected a string, found {}", kind(other)),
            )),
        }
    }

    fn str_req(&self, key: &str) -> R<&'a str> {
        self.str_opt(key)?
            .ok_or_else(|| err(&self.at(key), "required field is missing"))
    }

    fn desc(&self) -> R<Option<String>> {
        Ok(self.str_opt("description")?.map(str::to_owned))
    }

    fn bool_opt(&self, key: &str) -> R<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(err(
                &self.at(key),
                format!("expected a boolean, found {}", kind(other)),
            )),
        }
    }

    fn i64_opt(&self, key: &str) -> R<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => int(v, &self.at(key)).map(Some),
        }
    }

    fn u64_opt(&self, key: &str) -> R<Option<u64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| err(&self.at(key), "expected a non-negative integer")),
        }
    }

    fn list(&self, key: &str) -> R<Option<&'a [Value]>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) if a.len() > MAX_ENTRIES => Err(err(
                &self.at(key),
                format!("more than {MAX_ENTRIES} entries"),
            )),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(other) => Err(err(
                &self.at(key),
                format!("expected an array, found {}", kind(other)),
            )),
        }
    }

    fn str_list(&self, key: &str) -> R<Option<Vec<String>>> {
        let Some(items) = self.list(key)? else {
            return Ok(None);
        };
        let base = self.at(key);
        items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(err(
                    &format!("{base}[{i}]"),
                    format!("expected a string, found {}", kind(other)),
                )),
            })
            .collect::<R<Vec<_>>>()
            .map(Some)
    }

    fn i64_list(&self, key: &str) -> R<Option<Vec<i64>>> {
        let Some(items) = self.list(key)? else {
            return Ok(None);
        };
        let base = self.at(key);
        items
            .iter()
            .enumerate()
            .map(|(i, v)| int(v, &format!("{base}[{i}]")))
            .collect::<R<Vec<_>>>()
            .map(Some)
    }

    fn obj(&self, key: &str) -> R<Option<Obj<'a>>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => Obj::new(v, self.at(key)).map(Some),
        }
    }

    fn no_default_and_const(&self) -> R<()> {
        if self.get("default").is_some() && self.get("const").is_some() {
            return Err(err(&self.path, "cannot have both `default` and `const`"));
        }
        Ok(())
    }
}

fn int(v: &Value, path: &str) -> R<i64> {
    v.as_i64()
        .ok_or_else(|| err(path, format!("expected an integer, found {}", kind(v))))
}

fn min_max(o: &Obj<'_>, min: Option<u64>, max: Option<u64>, what: &str) -> R<()> {
    if let (Some(min), Some(max)) = (min, max) {
        if max < min {
            return Err(err(
                &o.path,
                format!("max{what} ({max}) is less than min{what} ({min})"),
            ));
        }
    }
    Ok(())
}

/// Parses a lexicon document from JSON text and checks it.
pub(crate) fn doc_from_str(s: &str) -> Result<LexiconDoc, Error> {
    let v = json_unique_keys(s)?;
    Ok(doc_from_value(&v)?)
}

/// Parses JSON text, refusing an object with a repeated key (naming its path).
pub(crate) fn json_unique_keys(s: &str) -> Result<Value, Error> {
    let v: Value = serde_json::from_str(s).map_err(|e| Error::Json(e.to_string()))?;
    // serde_json keeps the last of repeated keys; a document with repeated keys means
    // two things at once, so it is refused (the data model forbids them too).
    let mut de = serde_json::Deserializer::from_str(s);
    serde::de::DeserializeSeed::deserialize(UniqueKeys("$".to_owned()), &mut de)
        .map_err(|e| Error::Json(e.to_string()))?;
    Ok(v)
}

/// Walks JSON and fails on the first object with a repeated key, naming its path.
struct UniqueKeys(String);

impl<'de> serde::de::DeserializeSeed<'de> for UniqueKeys {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for UniqueKeys {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        while seq
            .next_element_seed(UniqueKeys(format!("{}[{i}]", self.0)))?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = std::collections::BTreeSet::new();
        while let Some(k) = map.next_key::<String>()? {
            let mut path = self.0.clone();
            push_key(&mut path, &k);
            if !seen.insert(k) {
                return Err(serde::de::Error::custom(format!("duplicate key at {path}")));
            }
            map.next_value_seed(UniqueKeys(path))?;
        }
        Ok(())
    }
}

/// Parses a lexicon document from a JSON value and checks it.
pub(crate) fn doc_from_value(v: &Value) -> R<LexiconDoc> {
    let o = Obj::new(v, "$".to_owned())?;
    match o.get("lexicon") {
        Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
        Some(other) => {
            return Err(err(
                &o.at("lexicon"),
                format!("the lexicon version must be the integer 1, found {other}"),
            ));
        }
        None => return Err(err(&o.at("lexicon"), "required field is missing")),
    }
    let id_str = o.str_req("id")?;
    let id = Nsid::new(id_str)
        .map_err(|e| err(&o.at("id"), format!("{id_str:?} is not a valid NSID: {e}")))?;
    let revision = o.u64_opt("revision")?;
    let description = o.desc()?;
    let defs_obj = o
        .obj("defs")?
        .ok_or_else(|| err(&o.at("defs"), "required field is missing"))?;
    if defs_obj.m.len() > MAX_ENTRIES {
        return Err(err(
            &defs_obj.path,
            format!("more than {MAX_ENTRIES} definitions"),
        ));
    }
    let mut defs = BTreeMap::new();
    for (name, dv) in defs_obj.m {
        let path = defs_obj.at(name);
        check_def_name(name).map_err(|e| err(&path, format!("bad definition name: {e}")))?;
        let def = parse_def(dv, path, name, &id)?;
        defs.insert(name.clone(), def);
    }
    // A reference into this document must name one of its definitions (references to
    // other documents are checked against a catalog: `Catalog::dangling_refs`).
    for (name, def) in &defs {
        let mut refs = Vec::new();
        crate::catalog::def_refs(def, &mut refs);
        if let Some(r) = refs
            .iter()
            .find(|r| r.target.nsid == id && !defs.contains_key(&r.target.name))
        {
            return Err(err(
                &defs_obj.at(name),
                format!("reference {:?} names no definition of this document", r.raw),
            ));
        }
    }
    Ok(LexiconDoc {
        lexicon: 1,
        id,
        revision,
        description,
        defs,
    })
}

fn type_of<'a>(o: &Obj<'a>) -> R<&'a str> {
    o.str_req("type")
}

fn parse_def(v: &Value, path: String, name: &str, base: &Nsid) -> R<Def> {
    let o = Obj::new(v, path)?;
    let ty = type_of(&o)?;
    let primary = matches!(
        ty,
        "record" | "query" | "procedure" | "subscription" | "permission-set"
    );
    if primary && name != "main" {
        return Err(err(
            &o.path,
            format!("a {ty} definition must be named `main`, not `{name}`"),
        ));
    }
    Ok(match ty {
        "record" => Def::Record(parse_record(&o, base)?),
        "query" => Def::Query(Box::new(QueryDef {
            description: o.desc()?,
            parameters: parse_params_opt(&o, base)?,
            output: parse_body_opt(&o, "output", base)?,
            errors: parse_errors(&o)?,
        })),
        "procedure" => Def::Procedure(Box::new(ProcedureDef {
            description: o.desc()?,
            parameters: parse_params_opt(&o, base)?,
            input: parse_body_opt(&o, "input", base)?,
            output: parse_body_opt(&o, "output", base)?,
            errors: parse_errors(&o)?,
        })),
        "subscription" => Def::Subscription(Box::new(parse_subscription(&o, base)?)),
        "permission-set" => Def::PermissionSet(Box::new(parse_permission_set(&o)?)),
        "token" => Def::Token(TokenDef {
            description: o.desc()?,
        }),
        // Types that may only appear inline (as a field, an item or a body schema): the
        // reference parser (`@atproto/lexicon`) accepts none of them as a named
        // definition.
        "ref" | "union" | "params" | "null" => {
            return Err(err(
                &o.at("type"),
                format!("a named definition cannot be of type {ty} (only inline)"),
            ));
        }
        _ => Def::Type(parse_schema_obj(&o, ty, base)?),
    })
}

fn parse_record(o: &Obj<'_>, base: &Nsid) -> R<RecordDef> {
    let key_str = o.str_req("key")?;
    let key = match key_str {
        "tid" => RecordKeyType::Tid,
        "nsid" => RecordKeyType::Nsid,
        "any" => RecordKeyType::Any,
        other => match other.strip_prefix("literal:") {
            Some(lit) => {
                RecordKey::new(lit).map_err(|e| {
                    err(
                        &o.at("key"),
                        format!("{lit:?} is not a valid record key: {e}"),
                    )
                })?;
                RecordKeyType::Literal(lit.to_owned())
            }
            None => {
                return Err(err(
                    &o.at("key"),
                    format!("unknown record key type {other:?} (tid, nsid, any or literal:<key>)"),
                ));
            }
        },
    };
    let rec = o
        .obj("record")?
        .ok_or_else(|| err(&o.at("record"), "required field is missing"))?;
    let rec_ty = type_of(&rec)?;
    if rec_ty != "object" {
        return Err(err(
            &rec.at("type"),
            format!("a record's schema must be an object, not {rec_ty}"),
        ));
    }
    Ok(RecordDef {
        description: o.desc()?,
        key,
        record: parse_object(&rec, base)?,
    })
}

fn parse_subscription(o: &Obj<'_>, base: &Nsid) -> R<SubscriptionDef> {
    let message = match o.obj("message")? {
        None => None,
        Some(m) => {
            let s = m
                .obj("schema")?
                .ok_or_else(|| err(&m.at("schema"), "required field is missing"))?;
            let ty = type_of(&s)?;
            if ty != "union" {
                return Err(err(
                    &s.at("type"),
                    format!("a subscription message schema must be a union, not {ty}"),
                ));
            }
            Some(Message {
                description: m.desc()?,
                schema: parse_union(&s, base)?,
            })
        }
    };
    Ok(SubscriptionDef {
        description: o.desc()?,
        parameters: parse_params_opt(o, base)?,
        message,
        errors: parse_errors(o)?,
    })
}

fn parse_errors(o: &Obj<'_>) -> R<Vec<ErrorDef>> {
    let Some(items) = o.list("errors")? else {
        return Ok(Vec::new());
    };
    let base = o.at("errors");
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let e = Obj::new(v, format!("{base}[{i}]"))?;
            let name = e.str_req("name")?;
            if name.is_empty() {
                return Err(err(&e.at("name"), "an error name cannot be empty"));
            }
            Ok(ErrorDef {
                name: name.to_owned(),
                description: e.desc()?,
            })
        })
        .collect()
}

fn parse_body_opt(o: &Obj<'_>, key: &str, base: &Nsid) -> R<Option<Body>> {
    let Some(b) = o.obj(key)? else {
        return Ok(None);
    };
    let encoding = b.str_req("encoding")?;
    if encoding.is_empty() {
        return Err(err(&b.at("encoding"), "the encoding cannot be empty"));
    }
    let schema = match b.obj("schema")? {
        None => None,
        Some(s) => {
            let ty = type_of(&s)?;
            if !matches!(ty, "object" | "ref" | "union") {
                return Err(err(
                    &s.at("type"),
                    format!("a body schema must be an object, ref or union, not {ty}"),
                ));
            }
            Some(parse_schema_obj(&s, ty, base)?)
        }
    };
    Ok(Some(Body {
        description: b.desc()?,
        encoding: encoding.to_owned(),
        schema,
    }))
}

fn parse_params_opt(o: &Obj<'_>, base: &Nsid) -> R<Option<ParamsType>> {
    let Some(p) = o.obj("parameters")? else {
        return Ok(None);
    };
    let ty = type_of(&p)?;
    if ty != "params" {
        return Err(err(
            &p.at("type"),
            format!("parameters must be of type params, not {ty}"),
        ));
    }
    let (required, _, properties) = parse_fields(&p, base, false)?;
    for (name, s) in &properties {
        let ok = |s: &Schema| {
            matches!(
                s,
                Schema::Boolean(_) | Schema::Integer(_) | Schema::String(_) | Schema::Unknown(_)
            )
        };
        let fine = match s {
            Schema::Array(a) => ok(&a.items),
            other => ok(other),
        };
        if !fine {
            return Err(err(
                &child(&p.at("properties"), name),
                "a parameter must be a boolean, integer, string, unknown, or an array of those",
            ));
        }
    }
    Ok(Some(ParamsType {
        description: p.desc()?,
        required,
        properties,
    }))
}

type Fields = (Vec<String>, Vec<String>, BTreeMap<String, Schema>);

fn parse_fields(o: &Obj<'_>, base: &Nsid, with_nullable: bool) -> R<Fields> {
    let mut properties = BTreeMap::new();
    // The spec (and the reference parser) require `properties` on objects and params.
    let props = o
        .obj("properties")?
        .ok_or_else(|| err(&o.at("properties"), "required field is missing"))?;
    {
        if props.m.len() > MAX_ENTRIES {
            return Err(err(
                &props.path,
                format!("more than {MAX_ENTRIES} properties"),
            ));
        }
        for (name, v) in props.m {
            let path = props.at(name);
            if name.is_empty() {
                return Err(err(&path, "a property name cannot be empty"));
            }
            properties.insert(name.clone(), parse_schema(v, path, base)?);
        }
    }
    let required = o.str_list("required")?.unwrap_or_default();
    let nullable = if with_nullable {
        o.str_list("nullable")?.unwrap_or_default()
    } else {
        Vec::new()
    };
    for (key, list) in [("required", &required), ("nullable", &nullable)] {
        for (i, f) in list.iter().enumerate() {
            if !properties.contains_key(f) {
                return Err(err(
                    &format!("{}[{i}]", o.at(key)),
                    format!("{key} field {f:?} is not in properties"),
                ));
            }
        }
    }
    Ok((required, nullable, properties))
}

fn parse_object(o: &Obj<'_>, base: &Nsid) -> R<ObjectType> {
    let (required, nullable, properties) = parse_fields(o, base, true)?;
    Ok(ObjectType {
        description: o.desc()?,
        required,
        nullable,
        properties,
    })
}

fn parse_refs(o: &Obj<'_>, base: &Nsid) -> R<Vec<RefTarget>> {
    let refs = o
        .str_list("refs")?
        .ok_or_else(|| err(&o.at("refs"), "required field is missing"))?;
    let at = o.at("refs");
    refs.iter()
        .enumerate()
        .map(|(i, r)| {
            RefTarget::resolve(r, base)
                .map_err(|e| err(&format!("{at}[{i}]"), format!("bad reference {r:?}: {e}")))
        })
        .collect()
}

fn parse_union(o: &Obj<'_>, base: &Nsid) -> R<UnionType> {
    Ok(UnionType {
        description: o.desc()?,
        refs: parse_refs(o, base)?,
        closed: o.bool_opt("closed")?.unwrap_or(false),
    })
}

/// A field type (inside objects, arrays, parameters and bodies).
fn parse_schema(v: &Value, path: String, base: &Nsid) -> R<Schema> {
    let o = Obj::new(v, path)?;
    let ty = type_of(&o)?;
    parse_schema_obj(&o, ty, base)
}

fn parse_schema_obj(o: &Obj<'_>, ty: &str, base: &Nsid) -> R<Schema> {
    let description = o.desc()?;
    Ok(match ty {
        "null" => Schema::Null(NullType { description }),
        "boolean" => {
            o.no_default_and_const()?;
            Schema::Boolean(BooleanType {
                description,
                default: o.bool_opt("default")?,
                const_value: o.bool_opt("const")?,
            })
        }
        "integer" => {
            o.no_default_and_const()?;
            let minimum = o.i64_opt("minimum")?;
            let maximum = o.i64_opt("maximum")?;
            if let (Some(min), Some(max)) = (minimum, maximum) {
                if max < min {
                    return Err(err(
                        &o.path,
                        format!("maximum ({max}) is less than minimum ({min})"),
                    ));
                }
            }
            Schema::Integer(IntegerType {
                description,
                minimum,
                maximum,
                enum_values: o.i64_list("enum")?,
                default: o.i64_opt("default")?,
                const_value: o.i64_opt("const")?,
            })
        }
        "string" => Schema::String(parse_string(o, description)?),
        "bytes" => {
            let min_length = o.u64_opt("minLength")?;
            let max_length = o.u64_opt("maxLength")?;
            min_max(o, min_length, max_length, "Length")?;
            Schema::Bytes(BytesType {
                description,
                min_length,
                max_length,
            })
        }
        "cid-link" => Schema::CidLink(CidLinkType { description }),
        "blob" => {
            let accept = o.str_list("accept")?;
            for (i, a) in accept.iter().flatten().enumerate() {
                let ok = a == "*/*"
                    || a.split_once('/').is_some_and(|(t, s)| {
                        !t.is_empty() && t != "*" && !s.is_empty() && !s.contains('/')
                    });
                if !ok {
                    return Err(err(
                        &format!("{}[{i}]", o.at("accept")),
                        format!("{a:?} is not a MIME type pattern"),
                    ));
                }
            }
            let max_size = o.u64_opt("maxSize")?;
            if max_size == Some(0) {
                return Err(err(&o.at("maxSize"), "maxSize must be positive"));
            }
            Schema::Blob(BlobType {
                description,
                accept,
                max_size,
            })
        }
        "array" => {
            let min_length = o.u64_opt("minLength")?;
            let max_length = o.u64_opt("maxLength")?;
            min_max(o, min_length, max_length, "Length")?;
            let items = o
                .get("items")
                .ok_or_else(|| err(&o.at("items"), "required field is missing"))?;
            Schema::Array(ArrayType {
                description,
                items: Box::new(parse_schema(items, o.at("items"), base)?),
                min_length,
                max_length,
            })
        }
        "object" => Schema::Object(parse_object(o, base)?),
        "ref" => {
            let raw = o.str_req("ref")?;
            let reference = RefTarget::resolve(raw, base)
                .map_err(|e| err(&o.at("ref"), format!("bad reference {raw:?}: {e}")))?;
            Schema::Ref(RefType {
                description,
                reference,
            })
        }
        "union" => Schema::Union(parse_union(o, base)?),
        "unknown" => Schema::Unknown(UnknownType { description }),
        "record" | "query" | "procedure" | "subscription" | "permission-set" | "token"
        | "params" => {
            return Err(err(
                &o.at("type"),
                format!("{ty} is not allowed here (only as a top-level definition)"),
            ));
        }
        other => {
            return Err(err(&o.at("type"), format!("unknown type {other:?}")));
        }
    })
}

fn parse_string(o: &Obj<'_>, description: Option<String>) -> R<StringType> {
    o.no_default_and_const()?;
    let format = match o.str_opt("format")? {
        None => None,
        Some(f) => Some(
            StringFormat::from_name(f)
                .ok_or_else(|| err(&o.at("format"), format!("unknown string format {f:?}")))?,
        ),
    };
    let min_length = o.u64_opt("minLength")?;
    let max_length = o.u64_opt("maxLength")?;
    min_max(o, min_length, max_length, "Length")?;
    let min_graphemes = o.u64_opt("minGraphemes")?;
    let max_graphemes = o.u64_opt("maxGraphemes")?;
    min_max(o, min_graphemes, max_graphemes, "Graphemes")?;
    Ok(StringType {
        description,
        format,
        max_length,
        min_length,
        max_graphemes,
        min_graphemes,
        known_values: o.str_list("knownValues")?.unwrap_or_default(),
        enum_values: o.str_list("enum")?,
        default: o.str_opt("default")?.map(str::to_owned),
        const_value: o.str_opt("const")?.map(str::to_owned),
    })
}

fn lang_map(o: &Obj<'_>, key: &str) -> R<BTreeMap<String, String>> {
    let Some(m) = o.obj(key)? else {
        return Ok(BTreeMap::new());
    };
    let mut out = BTreeMap::new();
    for (lang, v) in m.m {
        let path = m.at(lang);
        Language::new(lang)
            .map_err(|e| err(&path, format!("{lang:?} is not a language tag: {e}")))?;
        let Value::String(s) = v else {
            return Err(err(&path, format!("expected a string, found {}", kind(v))));
        };
        out.insert(lang.clone(), s.clone());
    }
    Ok(out)
}

fn parse_permission_set(o: &Obj<'_>) -> R<PermissionSetDef> {
    let items = o
        .list("permissions")?
        .ok_or_else(|| err(&o.at("permissions"), "required field is missing"))?;
    let at = o.at("permissions");
    let permissions = items
        .iter()
        .enumerate()
        .map(|(i, v)| parse_permission(&Obj::new(v, format!("{at}[{i}]"))?))
        .collect::<R<Vec<_>>>()?;
    Ok(PermissionSetDef {
        title: o.str_opt("title")?.map(str::to_owned),
        title_lang: lang_map(o, "title:lang")?,
        detail: o.str_opt("detail")?.map(str::to_owned),
        detail_lang: lang_map(o, "detail:lang")?,
        permissions,
    })
}

fn nsid_or_star(o: &Obj<'_>, key: &str, list: &[String]) -> R<()> {
    for (i, s) in list.iter().enumerate() {
        if s != "*" {
            Nsid::new(s).map_err(|e| {
                err(
                    &format!("{}[{i}]", o.at(key)),
                    format!("{s:?} is not an NSID or '*': {e}"),
                )
            })?;
        }
    }
    Ok(())
}

fn parse_permission(o: &Obj<'_>) -> R<Permission> {
    let ty = type_of(o)?;
    if ty != "permission" {
        return Err(err(
            &o.at("type"),
            format!("expected type permission, found {ty}"),
        ));
    }
    let resource = o.str_req("resource")?;
    let action = match o.get("action") {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(_) => o.str_list("action")?.unwrap_or_default(),
    };
    let p = Permission {
        resource: resource.to_owned(),
        collection: o.str_list("collection")?.unwrap_or_default(),
        action,
        lxm: o.str_list("lxm")?.unwrap_or_default(),
        aud: o.str_opt("aud")?.map(str::to_owned),
        inherit_aud: o.bool_opt("inheritAud")?.unwrap_or(false),
        accept: o.str_list("accept")?.unwrap_or_default(),
        attr: o.str_opt("attr")?.map(str::to_owned),
        description: o.desc()?,
    };
    let first_action = p.action.first().map(String::as_str);
    match resource {
        "repo" => {
            if p.collection.is_empty() {
                return Err(err(
                    &o.at("collection"),
                    "a repo permission needs collections",
                ));
            }
            nsid_or_star(o, "collection", &p.collection)?;
            if let Some(a) = p
                .action
                .iter()
                .find(|a| !matches!(a.as_str(), "create" | "update" | "delete"))
            {
                return Err(err(&o.at("action"), format!("unknown repo action {a:?}")));
            }
        }
        "rpc" => {
            if p.lxm.is_empty() {
                return Err(err(&o.at("lxm"), "an rpc permission needs lxm"));
            }
            nsid_or_star(o, "lxm", &p.lxm)?;
            if p.aud.as_deref() == Some("*") && p.lxm.iter().any(|l| l == "*") {
                return Err(err(&o.path, "lxm and aud cannot both be '*'"));
            }
            match (&p.aud, p.inherit_aud) {
                (Some(_), true) | (None, false) => {
                    return Err(err(
                        &o.path,
                        "an rpc permission needs exactly one of aud and inheritAud",
                    ));
                }
                (Some(aud), false) if aud != "*" => {
                    let ok = aud.split_once('#').is_some_and(|(did, frag)| {
                        !frag.is_empty() && !frag.contains('#') && Did::new(did).is_ok()
                    });
                    if !ok {
                        return Err(err(
                            &o.at("aud"),
                            format!("{aud:?} is not '*' or a service reference (did#id)"),
                        ));
                    }
                }
                _ => {}
            }
        }
        "blob" => {
            if p.accept.is_empty() {
                return Err(err(&o.at("accept"), "a blob permission needs accept"));
            }
        }
        "account" => {
            if !matches!(p.attr.as_deref(), Some("email" | "repo" | "status")) {
                return Err(err(
                    &o.at("attr"),
                    "account attr must be email, repo or status",
                ));
            }
            if !matches!(first_action, None | Some("read" | "manage")) {
                return Err(err(
                    &o.at("action"),
                    "account action must be read or manage",
                ));
            }
        }
        "identity" => {
            if !matches!(p.attr.as_deref(), Some("*" | "handle")) {
                return Err(err(&o.at("attr"), "identity attr must be '*' or handle"));
            }
            if !matches!(first_action, None | Some("submit" | "manage")) {
                return Err(err(
                    &o.at("action"),
                    "identity action must be submit or manage",
                ));
            }
        }
        other => {
            return Err(err(
                &o.at("resource"),
                format!("unknown permission resource {other:?}"),
            ));
        }
    }
    Ok(p)
}
