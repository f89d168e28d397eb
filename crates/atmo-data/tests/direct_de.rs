//! Differential tests of the one-pass deserializers: `from_cbor::<T>` (straight from the
//! bytes) against `from_value(cbor::decode(..))` (through a `Value`), and `from_json::<T>`
//! against `from_value(json::from_str(..))`, on the interop fixtures and on generated and
//! mutated inputs: the same value when both accept, the same rejection otherwise.

use std::path::PathBuf;

use atmo_data::{Cid, Error, Map, Value, cbor, from_cbor, from_json, from_value, json};
use base64::Engine as _;
use proptest::prelude::*;
use serde::Deserialize;

/// A typed record in the style of the generated ones.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Post {
    text: String,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    langs: Option<Vec<String>>,
    #[serde(default)]
    reply: Option<Box<Post>>,
    #[serde(default)]
    link: Option<Cid>,
    #[serde(default, with = "opt_bytes")]
    data: Option<Vec<u8>>,
    #[serde(default)]
    n: Option<i64>,
    #[serde(default)]
    any: Option<Value>,
}

mod opt_bytes {
    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        atmo_data::bytes::deserialize(d).map(Some)
    }
}

fn old_cbor<T: serde::de::DeserializeOwned>(b: &[u8]) -> Result<T, Error> {
    from_value(cbor::decode(b)?)
}

fn old_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, Error> {
    from_value(json::from_str(s)?)
}

/// Same value, or both rejected with the same kind of error (the same `DecodeError`,
/// offset included, for CBOR that is not strict).
fn same<T: PartialEq + std::fmt::Debug>(
    new: Result<T, Error>,
    old: Result<T, Error>,
) -> Result<(), String> {
    // The direct path also says where a typed error happened (`Error::At`); the kind of
    // error must be the same.
    let new = new.map_err(|e| e.innermost().clone());
    match (new, old) {
        (Ok(a), Ok(b)) if a == b => Ok(()),
        (Err(Error::Cbor(a)), Err(Error::Cbor(b))) if a == b => Ok(()),
        (Err(Error::Json(_)), Err(Error::Json(_))) => Ok(()),
        (Err(Error::Serde(_)), Err(Error::Serde(_))) => Ok(()),
        (a, b) => Err(format!("direct {a:?} != through Value {b:?}")),
    }
}

fn check_cbor(b: &[u8]) -> Result<(), String> {
    same(from_cbor::<Value>(b), old_cbor::<Value>(b))?;
    same(from_cbor::<Post>(b), old_cbor::<Post>(b))?;
    same(from_cbor::<Vec<Value>>(b), old_cbor::<Vec<Value>>(b))?;
    same(from_cbor::<Option<i64>>(b), old_cbor::<Option<i64>>(b))?;
    same(
        from_cbor::<serde::de::IgnoredAny>(b).map(|_| ()),
        old_cbor::<serde::de::IgnoredAny>(b).map(|_| ()),
    )
}

fn check_json(s: &str) -> Result<(), String> {
    same(from_json::<Value>(s), old_json::<Value>(s))?;
    // Typed from JSON, the direct path is at most as lenient: through a `Value`, a
    // `{"$bytes"}` object became bytes first, which a `String` field took as text.
    match (from_json::<Post>(s), old_json::<Post>(s)) {
        (Ok(a), Ok(b)) if a == b => Ok(()),
        (Err(_), _) => Ok(()),
        (a, b) => Err(format!("direct {a:?} != through Value {b:?}")),
    }
}

fn vectors(name: &str) -> Vec<serde_json::Value> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/interop/data-model")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn interop_fixtures_direct_equals_through_value() {
    let mut failures = Vec::new();
    for case in vectors("data-model-fixtures.json") {
        let b = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(case["cbor_base64"].as_str().unwrap().trim_end_matches('='))
            .unwrap();
        let text = case["json"].to_string();
        // The fixture itself, and every truncation and one-byte change of it.
        let mut inputs = vec![b.clone()];
        for i in 0..b.len() {
            inputs.push(b[..i].to_vec());
            for x in [0x00, 0x18, 0x5f, 0xa1, 0xd8, 0xf9, 0xff] {
                let mut m = b.clone();
                m[i] = x;
                inputs.push(m);
            }
        }
        for input in &inputs {
            if let Err(e) = check_cbor(input) {
                failures.push(format!("{}: {e}", case["cid"]));
            }
        }
        if let Err(e) = check_json(&text) {
            failures.push(format!("{} (JSON): {e}", case["cid"]));
        }
        // The value itself is the same whichever way it is read.
        assert_eq!(from_cbor::<Value>(&b).unwrap(), cbor::decode(&b).unwrap());
    }
    for name in ["data-model-valid.json", "data-model-invalid.json"] {
        for case in vectors(name) {
            if let Err(e) = check_json(&case["json"].to_string()) {
                failures.push(format!("{} ({name}): {e}", case["note"]));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn typed_fields_read_directly() {
    let cid = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm";
    let text = format!(
        r#"{{"text": "hi", "langs": ["en"], "link": {{"$link": "{cid}"}}, "data": {{"$bytes": "AQID"}},
            "n": -5, "any": {{"x": [1, {{"$link": "{cid}"}}]}}, "reply": {{"text": "parent"}}}}"#
    );
    let v = json::from_str(&text).unwrap();
    let b = cbor::encode(&v);
    let post: Post = from_cbor(&b).unwrap();
    assert_eq!(post.link.unwrap().to_string(), cid);
    assert_eq!(post.data.as_deref(), Some(&[1u8, 2, 3][..]));
    assert_eq!(post.reply.as_ref().unwrap().text, "parent");
    assert_eq!(post, from_json::<Post>(&text).unwrap());
    assert_eq!(post, old_cbor::<Post>(&b).unwrap());
    // Errors name what is wrong; a CBOR error keeps its offset.
    let e = from_cbor::<Post>(&b[..b.len() - 1]).unwrap_err();
    assert!(matches!(e, Error::Cbor(_)), "{e}");
    assert!(matches!(
        from_json::<Post>(r#"{"text": 1}"#),
        Err(Error::Serde(_))
    ));
    assert!(matches!(
        from_json::<Post>(r#"{"text": "a", "n": 1.5}"#),
        Err(Error::Json(_))
    ));
    // Borrowing from the input.
    #[derive(Deserialize)]
    struct Borrowed<'a> {
        text: &'a str,
    }
    assert_eq!(from_cbor::<Borrowed<'_>>(&b).unwrap().text, "hi");
}

#[test]
fn limits_apply_to_the_direct_path() {
    let mut v = Value::Null;
    for _ in 0..200 {
        v = Value::Array(vec![v]);
    }
    let b = cbor::encode(&v);
    let want = cbor::decode(&b).unwrap_err();
    assert_eq!(from_cbor::<Value>(&b), Err(Error::Cbor(want)));
    assert_eq!(
        from_cbor::<serde::de::IgnoredAny>(&b).map(|_| ()),
        Err(Error::Cbor(want))
    );
}

fn cid() -> impl Strategy<Value = Cid> {
    any::<Vec<u8>>().prop_map(|b| Cid::for_dag_cbor(&b))
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Integer),
        ".{0,20}".prop_map(Value::from),
        proptest::collection::vec(any::<u8>(), 0..20).prop_map(Value::Bytes),
        cid().prop_map(Value::link),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec(
                (
                    prop_oneof![
                        "[a-z$]{0,5}".boxed(),
                        Just("text".to_owned()).boxed(),
                        Just("n".to_owned()).boxed(),
                        Just("link".to_owned()).boxed(),
                        Just("reply".to_owned()).boxed()
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|es| Value::Map(es.into_iter().collect::<Map>())),
        ]
    })
}

proptest! {
    #[test]
    fn generated_values_direct_equals_through_value(v in value()) {
        let b = cbor::encode(&v);
        prop_assert_eq!(from_cbor::<Value>(&b), old_cbor::<Value>(&b));
        if let Err(e) = check_cbor(&b) { prop_assert!(false, "{}", e); }
        if let Err(e) = check_json(&json::to_string(&v)) { prop_assert!(false, "{}", e); }
    }

    #[test]
    fn mutated_values_direct_equals_through_value(v in value(), at in any::<usize>(), x in any::<u8>(), cut in any::<bool>()) {
        let mut b = cbor::encode(&v);
        let i = at % b.len();
        if cut { b.truncate(i); } else { b[i] = x; }
        if let Err(e) = check_cbor(&b) { prop_assert!(false, "{}", e); }
    }

    #[test]
    fn arbitrary_bytes_direct_equals_through_value(b in proptest::collection::vec(any::<u8>(), 0..48)) {
        if let Err(e) = check_cbor(&b) { prop_assert!(false, "{}", e); }
    }
}

#[test]
fn blobs_read_in_one_pass_with_the_value_rules() {
    let cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
    let current = format!(
        r#"{{"$type": "blob", "ref": {{"$link": "{cid}"}}, "mimeType": "image/png", "size": 3}}"#
    );
    let legacy = format!(r#"{{"cid": "{cid}", "mimeType": "image/png"}}"#);
    for text in [&current, &legacy] {
        let v = json::from_str(text).unwrap();
        let want = atmo_data::Blob::from_value(&v).unwrap();
        assert_eq!(from_json::<atmo_data::Blob>(text).unwrap(), want);
        assert_eq!(
            from_cbor::<atmo_data::Blob>(&cbor::encode(&v)).unwrap(),
            want
        );
    }
    for bad in [
        current
            .replace(r#"{"$link": "bafk"#, r#""bafk"#)
            .replace(r#"4s52zy"}"#, r#"4s52zy""#),
        current.replace(r#""size": 3"#, r#""size": -1"#),
        current.replace(r#""size": 3"#, r#""size": "3""#),
        current.replace(r#""blob""#, r#""blub""#),
        current.replace(r#""mimeType": "image/png", "#, ""),
        format!(r#"{{"cid": "{cid}"}}"#),
    ] {
        assert!(from_json::<atmo_data::Blob>(&bad).is_err(), "{bad}");
        if let Ok(v) = json::from_str(&bad) {
            assert!(
                from_cbor::<atmo_data::Blob>(&cbor::encode(&v)).is_err(),
                "{bad}"
            );
        }
    }
}

#[test]
fn typed_errors_say_where() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Image {
        alt: String,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Embed {
        images: Vec<Image>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Doc {
        embed: Embed,
        text: String,
    }
    let v = json::from_str(r#"{"text": "hi", "embed": {"images": [{"alt": "a"}, {"alt": 7}]}}"#)
        .unwrap();
    let b = cbor::encode(&v);
    let err = from_cbor::<Doc>(&b).unwrap_err();
    let Error::At {
        path,
        offset,
        source,
    } = &err
    else {
        panic!("no location: {err:?}");
    };
    assert_eq!(path, "$.embed.images[1].alt");
    // The offset is where the bad value (the integer 7) starts.
    assert_eq!(b[*offset], 0x07);
    assert!(matches!(**source, Error::Serde(_)));
    assert!(
        err.to_string()
            .starts_with("at $.embed.images[1].alt (byte "),
        "{err}"
    );

    // A missing field is reported at the object that lacks it.
    let v = json::from_str(r#"{"text": "hi", "embed": {"images": [{}]}}"#).unwrap();
    let err = from_cbor::<Doc>(&cbor::encode(&v)).unwrap_err();
    assert!(
        err.to_string().starts_with("at $.embed.images[0] (byte "),
        "{err}"
    );
    assert!(err.to_string().ends_with("missing field `alt`"), "{err}");
}
