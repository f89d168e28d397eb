//! Document rules and validation constraints beyond what the interop vectors cover.

use atmo_lexicon::model::{RecordKeyType, StringFormat};
use atmo_lexicon::{
    Catalog, Def, DefId, Error, LexiconDoc, RefTarget, Resolver, Schema, Violation, mime_matches,
};
use atmo_syntax::Nsid;

fn doc(defs: &str) -> Result<LexiconDoc, Error> {
    LexiconDoc::from_json(&format!(
        r#"{{"lexicon": 1, "id": "com.example.test", "defs": {defs}}}"#
    ))
}

fn doc_err(defs: &str) -> (String, String) {
    match doc(defs) {
        Err(Error::Doc(e)) => (e.path, e.reason),
        other => panic!("expected a document error for {defs}, got {other:?}"),
    }
}

#[test]
fn document_rules() {
    let cases = [
        (
            r#"{"main": {"type": "string", "format": "colour"}}"#,
            "$.defs.main.format",
        ),
        // Objects and params must have `properties` (spec; the reference parser too).
        (r#"{"main": {"type": "object"}}"#, "$.defs.main.properties"),
        (
            r#"{"main": {"type": "query", "parameters": {"type": "params"}}}"#,
            "$.defs.main.parameters.properties",
        ),
        // Types that may only appear inline cannot be named definitions.
        (r#"{"n": {"type": "null"}}"#, "$.defs.n.type"),
        (r#"{"u": {"type": "union", "refs": []}}"#, "$.defs.u.type"),
        (r##"{"r": {"type": "ref", "ref": "#u"}}"##, "$.defs.r.type"),
        (
            r#"{"main": {"type": "integer", "default": 1, "const": 1}}"#,
            "$.defs.main",
        ),
        (
            r#"{"main": {"type": "integer", "minimum": 5, "maximum": 1}}"#,
            "$.defs.main",
        ),
        (
            r#"{"main": {"type": "string", "minLength": 5, "maxLength": 1}}"#,
            "$.defs.main",
        ),
        (
            r#"{"main": {"type": "object", "required": ["a"], "properties": {}}}"#,
            "$.defs.main.required[0]",
        ),
        (
            r#"{"main": {"type": "object", "nullable": ["a"], "properties": {}}}"#,
            "$.defs.main.nullable[0]",
        ),
        (r#"{"main": {"type": "array"}}"#, "$.defs.main.items"),
        (
            r#"{"main": {"type": "array", "items": {"type": "token"}}}"#,
            "$.defs.main.items.type",
        ),
        (r#"{"main": {"type": "union"}}"#, "$.defs.main.type"),
        (
            r#"{"main": {"type": "params", "properties": {}}}"#,
            "$.defs.main.type",
        ),
        (
            r#"{"main": {"type": "object", "properties": {"a": {"type": "ref", "ref": "not a ref!"}}}}"#,
            "$.defs.main.properties.a.ref",
        ),
        (
            r##"{"main": {"type": "object", "properties": {"a": {"type": "ref", "ref": "#"}}}}"##,
            "$.defs.main.properties.a.ref",
        ),
        (
            r##"{"main": {"type": "object", "properties": {"a": {"type": "union", "refs": ["#x", 3]}}}}"##,
            "$.defs.main.properties.a.refs[1]",
        ),
        (
            r#"{"main": {"type": "object", "properties": {"a": {"type": "float"}}}}"#,
            "$.defs.main.properties.a.type",
        ),
        (
            r#"{"main": {"type": "record", "key": "uuid", "record": {"type": "object"}}}"#,
            "$.defs.main.key",
        ),
        (
            r#"{"main": {"type": "record", "key": "literal:..", "record": {"type": "object"}}}"#,
            "$.defs.main.key",
        ),
        (
            r#"{"main": {"type": "record", "key": "tid", "record": {"type": "string"}}}"#,
            "$.defs.main.record.type",
        ),
        (
            r#"{"main": {"type": "query", "parameters": {"type": "params", "properties": {"o": {"type": "object", "properties": {}}}}}}"#,
            "$.defs.main.parameters.properties.o",
        ),
        (
            r#"{"main": {"type": "query", "output": {"encoding": "application/json", "schema": {"type": "string"}}}}"#,
            "$.defs.main.output.schema.type",
        ),
        (
            r#"{"main": {"type": "procedure", "input": {"schema": {"type": "object"}}}}"#,
            "$.defs.main.input.encoding",
        ),
        (
            r#"{"main": {"type": "subscription", "message": {"schema": {"type": "object"}}}}"#,
            "$.defs.main.message.schema.type",
        ),
        (
            r#"{"main": {"type": "blob", "maxSize": 0}}"#,
            "$.defs.main.maxSize",
        ),
        (
            r#"{"main": {"type": "blob", "accept": ["image"]}}"#,
            "$.defs.main.accept[0]",
        ),
        (
            r#"{"main": {"type": "permission-set", "permissions": [{"type": "permission", "resource": "rpc", "lxm": ["*"], "aud": "*"}]}}"#,
            "$.defs.main.permissions[0]",
        ),
        (
            r#"{"main": {"type": "permission-set", "permissions": [{"type": "permission", "resource": "repo"}]}}"#,
            "$.defs.main.permissions[0].collection",
        ),
        (
            r#"{"main": {"type": "permission-set", "title:lang": {"not a tag": "x"}, "permissions": []}}"#,
            "$.defs.main.title:lang[\"not a tag\"]",
        ),
        (r#"{"bad.name": {"type": "token"}}"#, "$.defs[\"bad.name\"]"),
        (
            r#"{"main": {"description": "no type"}}"#,
            "$.defs.main.type",
        ),
    ];
    for (defs, path) in cases {
        let (got, reason) = doc_err(defs);
        assert_eq!(got, path, "{defs}: {reason}");
    }
    for text in [
        r#"{"lexicon": 2, "id": "com.example.test", "defs": {}}"#,
        r#"{"id": "com.example.test", "defs": {}}"#,
        r#"{"lexicon": 1, "defs": {}}"#,
        r#"{"lexicon": 1, "id": "com.example.test"}"#,
        r#"[]"#,
    ] {
        assert!(
            matches!(LexiconDoc::from_json(text), Err(Error::Doc(_))),
            "{text}"
        );
    }
    assert!(matches!(LexiconDoc::from_json("{"), Err(Error::Json(_))));
}

#[test]
fn refs_are_made_absolute() {
    let d = doc(r##"{"main": {"type": "object", "properties": {
        "a": {"type": "ref", "ref": "#other"},
        "b": {"type": "ref", "ref": "com.example.elsewhere"},
        "c": {"type": "union", "refs": ["com.example.elsewhere#thing", "#other"], "closed": true}}},
        "other": {"type": "token"}}"##)
    .expect("valid");
    let Some(Def::Type(Schema::Object(o))) = d.main() else {
        panic!("an object")
    };
    let Some(Schema::Ref(a)) = o.properties.get("a") else {
        panic!("a ref")
    };
    assert_eq!(a.reference.raw, "#other");
    assert_eq!(a.reference.target.to_string(), "com.example.test#other");
    let Some(Schema::Ref(b)) = o.properties.get("b") else {
        panic!("a ref")
    };
    assert!(b.reference.target.is_main());
    assert_eq!(b.reference.target.to_string(), "com.example.elsewhere");
    let Some(Schema::Union(c)) = o.properties.get("c") else {
        panic!("a union")
    };
    assert!(c.closed);
    assert_eq!(c.refs.len(), 2);
    let base = Nsid::new("com.example.base").expect("nsid");
    assert!(RefTarget::resolve("", &base).is_err());
    assert!(DefId::parse("#x").is_err());
    assert_eq!(
        DefId::parse("com.example.a#b").expect("ok").to_string(),
        "com.example.a#b"
    );
}

#[test]
fn model_fields() {
    let d = doc(r#"{"main": {"type": "record", "key": "literal:self", "record": {"type": "object",
        "properties": {"s": {"type": "string", "format": "at-uri", "knownValues": ["a"], "default": "a"}}}}}"#)
    .expect("valid");
    let Some(Def::Record(r)) = d.main() else {
        panic!("record")
    };
    assert_eq!(r.key, RecordKeyType::Literal("self".into()));
    let Some(Schema::String(s)) = r.record.properties.get("s") else {
        panic!("string")
    };
    assert_eq!(s.format, Some(StringFormat::AtUri));
    assert_eq!(s.known_values, vec!["a".to_owned()]);
    assert_eq!(s.default.as_deref(), Some("a"));
    for f in StringFormat::ALL {
        assert_eq!(StringFormat::from_name(f.as_str()), Some(f));
    }
}

const TEST_LEX: &str = r##"{"lexicon": 1, "id": "com.example.test", "defs": {
  "main": {"type": "record", "key": "any", "record": {"type": "object",
    "required": ["n"], "nullable": ["maybe"],
    "properties": {
      "n": {"type": "integer", "enum": [1, 2, 3]},
      "maybe": {"type": "string"},
      "s": {"type": "string", "const": "fixed"},
      "e": {"type": "string", "enum": ["a", "b"]},
      "k": {"type": "string", "knownValues": ["x"]},
      "b": {"type": "boolean", "const": true},
      "tok": {"type": "ref", "ref": "#someToken"},
      "u": {"type": "unknown"},
      "img": {"type": "blob", "accept": ["image/*"], "maxSize": 100},
      "mainU": {"type": "union", "refs": ["com.example.test#obj"], "closed": true},
      "g": {"type": "string", "minGraphemes": 2},
      "nul": {"type": "null"},
      "dangling": {"type": "ref", "ref": "com.example.missing#thing"},
      "q": {"type": "ref", "ref": "com.example.query"}
    }}},
  "someToken": {"type": "token"},
  "obj": {"type": "object", "properties": {"v": {"type": "integer"}}}
}}"##;

fn cat() -> Catalog {
    let mut c = Catalog::new();
    c.add_json(TEST_LEX).expect("valid");
    c.add_json(r#"{"lexicon": 1, "id": "com.example.query", "defs": {"main": {"type": "query"}}}"#)
        .expect("valid");
    c
}

fn violation(fields: &str) -> (String, Violation) {
    let text = format!(r#"{{"$type": "com.example.test", "n": 1 {fields}}}"#);
    match cat().validate_record_json("com.example.test", &text) {
        Err(Error::Validation(e)) => (e.path, e.kind),
        other => panic!("expected a violation for {fields}, got {other:?}"),
    }
}

fn ok(fields: &str) {
    let text = format!(r#"{{"$type": "com.example.test", "n": 1 {fields}}}"#);
    if let Err(e) = cat().validate_record_json("com.example.test", &text) {
        panic!("{fields}: {e}");
    }
}

#[test]
fn constraints() {
    ok(r#", "maybe": null"#);
    assert_eq!(
        violation(r#", "s": null"#),
        ("$.s".into(), Violation::NotNullable)
    );
    ok(r#", "s": "fixed""#);
    assert!(matches!(violation(r#", "s": "other""#), (p, Violation::Const { .. }) if p == "$.s"));
    assert_eq!(
        violation(r#", "e": "c""#),
        ("$.e".into(), Violation::NotInEnum)
    );
    ok(r#", "e": "b", "k": "anything""#);
    assert!(matches!(
        violation(r#", "b": false"#).1,
        Violation::Const { .. }
    ));
    ok(r#", "tok": "com.example.test#someToken""#);
    assert!(matches!(
        violation(r#", "tok": "com.example.test#other""#).1,
        Violation::WrongToken { .. }
    ));
    ok(r#", "u": {"anything": [1, 2]}"#);
    assert!(
        matches!(violation(r#", "u": {"$bytes": "AAAA"}"#), (p, Violation::WrongType { expected: "object", found: "bytes" }) if p == "$.u")
    );
    assert!(matches!(
        violation(r#", "u": [1]"#).1,
        Violation::WrongType { .. }
    ));
    ok(
        r#", "img": {"$type": "blob", "ref": {"$link": "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"}, "mimeType": "image/png", "size": 100}"#,
    );
    assert!(matches!(violation(r#", "img": {"$type": "blob", "ref": {"$link": "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"}, "mimeType": "video/mp4", "size": 1}"#).1, Violation::BlobMimeType { .. }));
    ok(r#", "mainU": {"$type": "com.example.test#obj", "v": 1}"#);
    assert!(
        matches!(violation(r#", "mainU": {"$type": "com.example.other", "v": 1}"#), (p, Violation::UnexpectedType { .. }) if p == "$.mainU.$type")
    );
    assert!(matches!(
        violation(r#", "g": "a""#).1,
        Violation::TooShort {
            unit: "graphemes",
            ..
        }
    ));
    ok(r#", "g": "ab", "nul": null"#);
    assert!(matches!(
        violation(r#", "nul": 1"#).1,
        Violation::WrongType {
            expected: "null",
            ..
        }
    ));
    assert!(
        matches!(violation(r#", "dangling": {}"#), (p, Violation::UnresolvedRef { .. }) if p == "$.dangling")
    );
    assert!(matches!(
        violation(r#", "q": {}"#).1,
        Violation::NotADataType { kind: "query", .. }
    ));
    let e = cat()
        .validate_record_json(
            "com.example.test",
            r#"{"$type": "com.example.test", "n": 4}"#,
        )
        .unwrap_err();
    assert_eq!(e.to_string(), "$.n: value is not one of the allowed values");
}

#[test]
fn record_type_and_shape() {
    let c = cat();
    assert!(
        c.validate_record_json(
            "com.example.test",
            r#"{"$type": "com.example.test#main", "n": 1}"#
        )
        .is_ok()
    );
    let e = c
        .validate_record_json("com.example.test", r#"{"n": 1}"#)
        .unwrap_err();
    assert_eq!(e.to_string(), "$.$type: required field is missing");
    let e = c
        .validate_record_json("com.example.test", "[1]")
        .unwrap_err();
    assert_eq!(e.to_string(), "$: expected object, found array");
    assert!(matches!(
        c.validate_record_json("com.example.test", r#"{"a": 1.5}"#),
        Err(Error::Json(_))
    ));
    assert!(
        c.check_record_key("com.example.test", "anything-goes")
            .is_ok()
    );
    assert!(c.check_record_key("com.example.test", "..").is_err());
}

#[test]
fn graphemes_count_clusters_not_bytes() {
    let mut c = Catalog::new();
    c.add_json(r#"{"lexicon": 1, "id": "com.example.g", "defs": {"main": {"type": "record", "key": "tid",
        "record": {"type": "object", "properties": {"t": {"type": "string", "maxGraphemes": 2}}}}}}"#)
        .expect("valid");
    let v = |t: &str| {
        c.validate_record_json(
            "com.example.g",
            &format!(r#"{{"$type": "com.example.g", "t": "{t}"}}"#),
        )
    };
    // Family emoji (ZWJ sequence), flag, e + combining accent: one grapheme each.
    assert!(v("👨‍👩‍👧‍👦🇧🇷").is_ok());
    assert!(v("e\u{301}a").is_ok());
    assert!(v("abc").is_err());
}

#[test]
fn mime_patterns() {
    assert!(mime_matches("image/*", "image/png"));
    assert!(mime_matches("image/png", "IMAGE/PNG"));
    assert!(mime_matches("*/*", "anything/at-all"));
    assert!(mime_matches("text/plain", "text/plain; charset=utf-8"));
    assert!(!mime_matches("image/*", "video/mp4"));
    assert!(!mime_matches("image/*", "image"));
    assert!(!mime_matches("image/png", "image/jpeg"));
}

#[test]
fn duplicates_and_lookups() {
    let mut c = cat();
    assert!(matches!(c.add_json(TEST_LEX), Err(Error::Duplicate { .. })));
    assert!(matches!(
        c.lookup("com.example.test#someToken"),
        Some(Def::Token(_))
    ));
    assert!(c.lookup("com.example.test#nothing").is_none());
    let dangling = c.dangling_refs();
    assert_eq!(dangling.len(), 1);
    assert_eq!(dangling[0].1.raw, "com.example.missing#thing");
}

#[test]
fn resolver_order_and_errors() {
    let base = std::env::temp_dir().join(format!("atmo-lexicon-rules-{}", std::process::id()));
    let (a, b) = (base.join("a"), base.join("b"));
    std::fs::create_dir_all(a.join("com/example")).expect("mkdir");
    std::fs::create_dir_all(&b).expect("mkdir");
    let lex = |id: &str, desc: &str| {
        format!(
            r#"{{"lexicon": 1, "id": "{id}", "description": "{desc}", "defs": {{"main": {{"type": "token"}}}}}}"#
        )
    };
    std::fs::write(
        a.join("com/example/one.json"),
        lex("com.example.one", "from a"),
    )
    .expect("write");
    std::fs::write(
        b.join("com.example.one.json"),
        lex("com.example.one", "from b"),
    )
    .expect("write");
    std::fs::write(
        b.join("com.example.two.json"),
        lex("com.example.three", "liar"),
    )
    .expect("write");
    let r = Resolver::new().bundled(false).search_path(&a).cache_dir(&b);
    let one = r.resolve("com.example.one").expect("found");
    assert_eq!(one.doc.description.as_deref(), Some("from a"));
    assert!(one.source.to_string().starts_with("search path: "));
    assert!(matches!(
        r.resolve("com.example.two"),
        Err(Error::IdMismatch { .. })
    ));
    assert!(matches!(
        r.resolve("com.example.none"),
        Err(Error::NetworkResolutionUnavailable { .. })
    ));
    assert!(r.resolve("not-an-nsid").is_err());
    // A directory load reads every file; two files with one NSID are an error.
    let mut c = Catalog::new();
    assert_eq!(c.load_dir(&b).expect("loads"), 2);
    assert!(c.get("com.example.three").is_some());
    std::fs::create_dir_all(b.join("sub")).expect("mkdir");
    std::fs::write(b.join("sub/copy.json"), lex("com.example.one", "copy")).expect("write");
    assert!(matches!(
        Catalog::new().load_dir(&b),
        Err(Error::Duplicate { .. })
    ));
    std::fs::write(b.join("sub/copy.json"), "{\"lexicon\": 1}").expect("write");
    let err = Catalog::new().load_dir(&b).unwrap_err();
    assert!(err.to_string().contains("copy.json"), "{err}");
    let _ = std::fs::remove_dir_all(&base);
}

#[cfg(not(feature = "bundled"))]
#[test]
fn bundled_needs_the_feature() {
    assert!(matches!(Catalog::bundled(), Err(Error::BundledUnavailable)));
}
