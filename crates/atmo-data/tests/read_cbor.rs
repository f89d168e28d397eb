//! The direct reader (`read_cbor`, `FromCbor`) against serde's one pass (`from_cbor`) for
//! a hand-written reader of the same shape as a serde derive: the same value when both
//! accept, the same CBOR error, a type error where the other gives one; the limits apply
//! alike. (The generated atmo-api readers are held to the same by tests/api_roundtrip.rs
//! and the api_records fuzz target.)

use atmo_data::cbor::{DecodeErrorKind, DecodeLimits};
use atmo_data::{CborReader, Cid, Error, FromCbor, ReadError, Value, cbor, from_cbor, read_cbor};
use proptest::prelude::*;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize, PartialEq)]
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
    #[serde(default)]
    n: Option<i64>,
    #[serde(default)]
    flag: Option<bool>,
    #[serde(default)]
    any: Option<Value>,
}

impl<'de> FromCbor<'de> for Post {
    fn from_cbor(r: &mut CborReader<'de>) -> Result<Self, ReadError> {
        let mut p = Post::default();
        let mut text = None;
        let mut m = r.map()?;
        while let Some(k) = m.key()? {
            match k {
                b"n" => p.n = m.value()?,
                b"any" => p.any = m.value()?,
                b"flag" => p.flag = m.value()?,
                b"link" => p.link = m.value()?,
                b"text" => text = Some(m.value()?),
                b"langs" => p.langs = m.value()?,
                b"reply" => p.reply = m.value()?,
                b"createdAt" => p.created_at = m.value()?,
                // As serde's derive: an unknown key (UTF-8) is passed over.
                _ => {
                    m.reader().check_utf8(k)?;
                    m.skip()?;
                }
            }
        }
        p.text = text.ok_or_else(|| ReadError::custom("missing field `text`"))?;
        Ok(p)
    }
}

/// Both paths on `b`, with `limits`: equal, or the same failure.
fn agree(b: &[u8], limits: &DecodeLimits) -> Result<(), String> {
    let read = atmo_data::read_cbor_with::<Post>(b, limits);
    let serde = atmo_data::from_cbor_with::<Post>(b, limits);
    match (&read, &serde) {
        (Ok(a), Ok(b)) if a == b => Ok(()),
        (Err(Error::Cbor(a)), Err(Error::Cbor(b))) if a == b => Ok(()),
        (Err(a), Err(b))
            if matches!(a.innermost(), Error::Serde(_))
                && matches!(b.innermost(), Error::Serde(_)) =>
        {
            Ok(())
        }
        _ => Err(format!("read_cbor {read:?} != from_cbor {serde:?}")),
    }
}

fn post_json() -> &'static str {
    r#"{"text": "hi", "createdAt": "2024-01-01T00:00:00Z", "langs": ["en", "fr"], "n": -3,
        "flag": true, "link": {"$link": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"},
        "any": {"a": [1, null, {"$bytes": "AAE"}]}, "other": 5,
        "reply": {"text": "re", "reply": {"text": "re re", "createdAt": null}}}"#
}

#[test]
fn reads_the_same_value_as_serde() {
    let b = cbor::encode(&atmo_data::json::from_str(post_json()).unwrap());
    let p: Post = read_cbor(&b).unwrap();
    assert_eq!(p, from_cbor::<Post>(&b).unwrap());
    assert_eq!(
        p.reply.as_ref().unwrap().reply.as_ref().unwrap().text,
        "re re"
    );
    assert_eq!(
        p.langs.as_deref(),
        Some(&["en".to_owned(), "fr".to_owned()][..])
    );
}

#[test]
fn every_byte_changed_and_every_cut_fails_or_reads_alike() {
    let b = cbor::encode(&atmo_data::json::from_str(post_json()).unwrap());
    let limits = DecodeLimits::DEFAULT;
    for i in 0..b.len() {
        for x in [
            0x00u8, 0x01, 0x18, 0x1b, 0x40, 0x5f, 0x60, 0x7f, 0x80, 0xa1, 0xd8, 0xf5, 0xf6, 0xf9,
            0xff,
        ] {
            let mut d = b.clone();
            d[i] = x;
            agree(&d, &limits).unwrap_or_else(|e| panic!("byte {i} = {x:#x}: {e}"));
        }
        agree(&b[..i], &limits).unwrap_or_else(|e| panic!("cut at {i}: {e}"));
    }
}

#[test]
fn limits_apply_alike() {
    let b = cbor::encode(&atmo_data::json::from_str(post_json()).unwrap());
    for limits in [
        DecodeLimits::DEFAULT.with_max_depth(2),
        DecodeLimits::DEFAULT.with_max_items(1),
        DecodeLimits::DEFAULT.with_max_bytes(3),
    ] {
        agree(&b, &limits).unwrap();
        assert!(
            atmo_data::read_cbor_with::<Post>(&b, &limits).is_err(),
            "{limits:?}"
        );
    }
    // The memory budget is for building `Value`s (here the `any` field's): both paths
    // charge it alike.
    for max in [0, 16, 64, 1 << 20] {
        agree(&b, &DecodeLimits::DEFAULT.with_max_memory(max)).unwrap();
    }
    let e = atmo_data::read_cbor_with::<Post>(&b, &DecodeLimits::DEFAULT.with_max_depth(2))
        .unwrap_err();
    assert!(matches!(e, Error::Cbor(c) if matches!(c.kind, DecodeErrorKind::TooDeep { max: 2 })));
    // Bytes after the value.
    let mut long = b.clone();
    long.push(0x00);
    let e = read_cbor::<Post>(&long).unwrap_err();
    assert!(matches!(e, Error::Cbor(c) if c.kind == DecodeErrorKind::TrailingBytes { extra: 1 }));
}

#[test]
fn a_union_tag_is_found_by_looking_ahead_without_reading() {
    struct Tag(Option<String>, Value);
    impl<'de> FromCbor<'de> for Tag {
        fn from_cbor(r: &mut CborReader<'de>) -> Result<Self, ReadError> {
            let t = r.map_type()?.map(str::to_owned);
            Ok(Tag(t, r.value()?))
        }
    }
    let v = atmo_data::json::from_str(r#"{"a": 1, "did": "x", "$type": "t.u.v", "zzzzzz": 2}"#)
        .unwrap();
    let Tag(t, back) = read_cbor(&cbor::encode(&v)).unwrap();
    assert_eq!((t.as_deref(), back), (Some("t.u.v"), v));
    let v = atmo_data::json::from_str(r#"{"a": 1, "zzzzzz": 2}"#).unwrap();
    let Tag(t, _) = read_cbor(&cbor::encode(&v)).unwrap();
    assert_eq!(t, None);
    let Tag(t, _) = read_cbor(&cbor::encode(&Value::from("not a map"))).unwrap();
    assert_eq!(t, None);
    let mut m = atmo_data::Map::new();
    m.insert("$type", Value::Integer(5));
    assert!(read_cbor::<Tag>(&cbor::encode(&Value::Map(m))).is_err());
}

proptest! {
    #[test]
    fn random_changes_fail_or_read_alike(
        text in "[a-z\u{e9}]{0,20}",
        langs in proptest::collection::vec("[a-z]{2}", 0..4),
        n in any::<i64>(),
        at in any::<prop::sample::Index>(),
        x in any::<u8>(),
    ) {
        let mut m = atmo_data::Map::new();
        m.insert("text", Value::from(text.as_str()));
        m.insert("langs", Value::Array(langs.iter().map(|l| Value::from(l.as_str())).collect()));
        m.insert("n", Value::Integer(n));
        let b = cbor::encode(&Value::Map(m));
        prop_assert_eq!(agree(&b, &DecodeLimits::DEFAULT), Ok(()));
        let mut d = b.clone();
        d[at.index(b.len())] = x;
        prop_assert_eq!(agree(&d, &DecodeLimits::DEFAULT), Ok(()));
    }
}
