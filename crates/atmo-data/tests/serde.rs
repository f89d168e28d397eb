//! Typed structs through serde: DAG-CBOR and atproto JSON.

use atmo_data::{Blob, Cid, Value, cbor, from_cbor, from_json, json, to_cbor, to_json};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StrongRef {
    uri: String,
    cid: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Node {
    #[serde(rename = "$type")]
    kind: String,
    data: Cid,
    prev: Option<Cid>,
    #[serde(with = "atmo_data::bytes")]
    sig: Vec<u8>,
    version: u8,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<StrongRef>,
    tags: Vec<String>,
    avatar: Blob,
    state: State,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum State {
    Active,
    Moved { to: String },
}

fn sample() -> Node {
    Node {
        kind: "com.example.node".into(),
        data: Cid::for_dag_cbor(b"\xa0"),
        prev: None,
        sig: vec![1, 2, 3, 255],
        version: 3,
        created_at: "2024-01-01T00:00:00.000Z".into(),
        subject: Some(StrongRef {
            uri: "at://did:plc:abc/app.bsky.feed.post/3k".into(),
            cid: "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a".into(),
        }),
        tags: vec!["a".into(), "b".into()],
        avatar: Blob::new(Cid::for_raw(b"png"), "image/png", 3),
        state: State::Moved { to: "x".into() },
    }
}

#[test]
fn cbor_round_trip_uses_tag_42_and_byte_strings() {
    let n = sample();
    let bytes = to_cbor(&n).unwrap();
    let v = cbor::decode(&bytes).unwrap();
    assert!(matches!(v.get("data"), Some(Value::Link(_))));
    assert_eq!(v.get("sig"), Some(&Value::Bytes(vec![1, 2, 3, 255])));
    assert_eq!(v.get("prev"), Some(&Value::Null));
    assert!(matches!(
        v.get("avatar").and_then(|a| a.get("ref")),
        Some(Value::Link(_))
    ));
    // Keys are in DAG-CBOR order whatever the struct's field order.
    let keys: Vec<_> = v.as_map().unwrap().keys().collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| atmo_data::key_cmp(a, b));
    assert_eq!(keys, sorted);
    assert_eq!(from_cbor::<Node>(&bytes).unwrap(), n);
}

#[test]
fn json_round_trip_uses_link_and_bytes_objects() {
    let n = sample();
    let text = to_json(&n).unwrap();
    assert!(text.contains(&format!(r#""data":{{"$link":"{}"}}"#, n.data)));
    assert!(text.contains(r#""sig":{"$bytes":"AQID/w"}"#));
    assert_eq!(from_json::<Node>(&text).unwrap(), n);
    // JSON and CBOR agree on the value.
    assert_eq!(
        json::from_str(&text).unwrap(),
        cbor::decode(&to_cbor(&n).unwrap()).unwrap()
    );
}

#[test]
fn plain_serde_json_speaks_atproto_json_too() {
    let n = sample();
    let direct = serde_json::to_value(&n).unwrap();
    assert_eq!(direct["data"]["$link"], n.data.to_string());
    assert_eq!(direct["sig"]["$bytes"], "AQID/w");
    let back: Node = serde_json::from_value(direct).unwrap();
    assert_eq!(back, n);
}

#[test]
fn floats_and_big_unsigned_rejected() {
    #[derive(Serialize)]
    struct F {
        x: f64,
    }
    assert!(to_cbor(&F { x: 1.0 }).is_err());
    assert!(to_cbor(&u64::MAX).is_err());
    assert!(from_json::<Value>(r#"{"x": 0.5}"#).is_err());
}

#[test]
fn value_serde_round_trip() {
    let v = json::from_str(
        r#"{"a": [1, -2, "x", {"$bytes": "AQ"}, {"$link": "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a"}], "b": null, "c": true}"#,
    )
    .unwrap();
    assert_eq!(atmo_data::to_value(&v).unwrap(), v);
    assert_eq!(atmo_data::from_value::<Value>(v.clone()).unwrap(), v);
    assert_eq!(
        serde_json::from_str::<Value>(&serde_json::to_string(&v).unwrap()).unwrap(),
        v
    );
    assert_eq!(json::from_str(&json::to_string_pretty(&v)).unwrap(), v);
}

#[test]
fn legacy_blob_reads_and_writes() {
    let text = r#"{"cid": "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy", "mimeType": "image/png"}"#;
    let b: Blob = from_json(text).unwrap();
    assert_eq!(b.size, None);
    assert_eq!(b.mime_type, "image/png");
    assert_eq!(from_json::<Blob>(&to_json(&b).unwrap()).unwrap(), b);
    assert!(from_json::<Blob>(r#"{"$type": "blob", "mimeType": "a/b"}"#).is_err());
}

#[test]
fn a_blob_with_a_byte_string_mime_type_is_refused_as_decode_refuses_it() {
    // {"$type": "blob", "ref": <link>, "size": 5, "mimeType": h'696d6167652f6a706567'}:
    // serde's `String` would take the UTF-8 bytes, the strict decoder says BadBlob.
    let cid = atmo_data::Cid::for_raw(b"x");
    let mut m = atmo_data::Map::new();
    m.insert("$type", atmo_data::Value::from("blob"));
    m.insert("size", atmo_data::Value::Integer(5));
    m.insert("ref", atmo_data::Value::Link(Box::new(cid)));
    m.insert("mimeType", atmo_data::Value::Bytes(b"image/jpeg".to_vec()));
    let v = atmo_data::Value::Map(m);
    let bytes = atmo_data::cbor::encode(&v);
    let strict = atmo_data::cbor::decode(&bytes).unwrap_err();
    assert_eq!(strict.kind, atmo_data::cbor::DecodeErrorKind::BadBlob);
    assert_eq!(
        atmo_data::from_cbor::<atmo_data::Blob>(&bytes).unwrap_err(),
        atmo_data::Error::Cbor(strict)
    );
}
