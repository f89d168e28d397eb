//! One hand-built byte string per rejection rule of the strict decoder, plus the
//! accepting edge cases next to each.

use atmo_data::cbor::{self, DecodeErrorKind as K, DecodeLimits};
use atmo_data::{Cid, CidError, Value};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Asserts that all three decoders reject `h` with `kind` at `offset`.
fn rejects(h: &str, offset: usize, kind: K) {
    let b = hex(h);
    let e = cbor::decode(&b).unwrap_err();
    assert_eq!((e.offset, e.kind), (offset, kind), "owned decoder on {h}");
    let e = cbor::decode_ref(&b).unwrap_err();
    assert_eq!(
        (e.offset, e.kind),
        (offset, kind),
        "borrowed decoder on {h}"
    );
    let e = cbor::validate(&b, &DecodeLimits::DEFAULT).unwrap_err();
    assert_eq!((e.offset, e.kind), (offset, kind), "validator on {h}");
}

/// Asserts that `h` decodes and re-encodes to the same bytes.
fn accepts(h: &str) -> Value {
    let b = hex(h);
    let v = cbor::decode(&b).unwrap_or_else(|e| panic!("{h}: {e}"));
    assert_eq!(cbor::encode(&v), b, "re-encoding {h}");
    assert_eq!(cbor::encode_ref(&cbor::decode_ref(&b).unwrap()), b);
    v
}

const CID_HEX: &str = "015512205891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

#[test]
fn indefinite_lengths() {
    rejects("5f ff", 0, K::IndefiniteLength); // bytes
    rejects("7f ff", 0, K::IndefiniteLength); // text
    rejects("9f ff", 0, K::IndefiniteLength); // array
    rejects("bf ff", 0, K::IndefiniteLength); // map
    rejects("ff", 0, K::IndefiniteLength); // stray break
}

#[test]
fn non_shortest_heads() {
    rejects("18 17", 0, K::NonShortest); // 23 in one extra byte
    accepts("18 18");
    rejects("19 00ff", 0, K::NonShortest);
    accepts("19 0100");
    rejects("1a 0000ffff", 0, K::NonShortest);
    accepts("1a 00010000");
    rejects("1b 00000000ffffffff", 0, K::NonShortest);
    accepts("1b 0000000100000000");
    rejects("38 00", 0, K::NonShortest); // negative
    rejects("58 01 00", 0, K::NonShortest); // bytes length
    rejects("78 01 61", 0, K::NonShortest); // text length
    rejects("98 01 00", 0, K::NonShortest); // array length
    rejects("b8 01 6161 00", 0, K::NonShortest); // map length
    rejects("a1 78 01 61 00", 1, K::NonShortest); // key length
}

#[test]
fn reserved_info() {
    rejects("1c", 0, K::Reserved { info: 28 });
    rejects("5d", 0, K::Reserved { info: 29 });
    rejects("fe", 0, K::Reserved { info: 30 });
}

#[test]
fn integers_outside_i64() {
    accepts("1b 7fffffffffffffff");
    rejects("1b 8000000000000000", 0, K::IntegerOverflow);
    assert_eq!(accepts("3b 7fffffffffffffff"), Value::Integer(i64::MIN));
    rejects("3b 8000000000000000", 0, K::IntegerOverflow);
}

#[test]
fn map_keys() {
    rejects("a1 01 01", 1, K::NonStringKey);
    rejects("a1 41 61 01", 1, K::NonStringKey); // byte-string key
    rejects("a2 6162 01 6161 01", 4, K::UnsortedKeys); // "b" before "a"
    rejects("a2 626161 01 6162 01", 5, K::UnsortedKeys); // longer key first
    rejects("a2 6161 01 6161 02", 4, K::DuplicateKey);
    accepts("a2 6162 01 626161 01"); // "b" then "aa": length first
}

#[test]
fn tags_and_cids() {
    rejects("c1 00", 0, K::Tag { tag: 1 });
    rejects(
        "d9 002a 58 25 00 015512205891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
        0,
        K::NonShortest,
    );
    rejects("d8 2b 40", 0, K::Tag { tag: 43 });
    rejects("d8 2a 61 61", 2, K::CidNotBytes);
    rejects(&format!("d8 2a 58 24 {CID_HEX}"), 2, K::CidPrefix);
    rejects("d8 2a 41 00", 2, K::Cid(CidError::Truncated { at: 0 }));
    rejects(
        "d8 2a 42 00 02",
        2,
        K::Cid(CidError::Version { version: 2 }),
    );
    let v = accepts(&format!("d8 2a 58 25 00 {CID_HEX}"));
    assert_eq!(v.as_link().unwrap().codec(), atmo_data::cid::RAW);
    assert_eq!(
        v.as_link().unwrap().to_string(),
        Cid::from_bytes(&hex(CID_HEX)).unwrap().to_string()
    );
}

#[test]
fn floats_and_simple_values() {
    rejects("f9 3c00", 0, K::Float);
    rejects("fa 3f800000", 0, K::Float);
    rejects("fb 3ff0000000000000", 0, K::Float);
    rejects("f7", 0, K::Simple { value: 23 }); // undefined
    rejects("f0", 0, K::Simple { value: 16 });
    rejects("f8 ff", 0, K::Simple { value: 255 });
    assert_eq!(accepts("f4"), Value::Bool(false));
    assert_eq!(accepts("f5"), Value::Bool(true));
    assert_eq!(accepts("f6"), Value::Null);
}

#[test]
fn utf8_trailing_and_truncation() {
    rejects("62 c3 28", 1, K::InvalidUtf8);
    rejects("a1 61 ff 01", 2, K::InvalidUtf8); // in a key
    rejects("01 02", 1, K::TrailingBytes { extra: 1 });
    rejects("", 0, K::UnexpectedEnd);
    rejects("19 01", 2, K::UnexpectedEnd);
    rejects("63 6161", 3, K::UnexpectedEnd);
    rejects("82 01", 2, K::UnexpectedEnd);
    rejects("a1 6161", 3, K::UnexpectedEnd);
}

#[test]
fn huge_declared_lengths_do_not_allocate() {
    // Over the default limits: rejected at the head.
    rejects(
        "9b 0000000100000000",
        0,
        K::TooManyItems {
            len: 1 << 32,
            max: 1 << 20,
        },
    );
    rejects(
        "5b 0000000100000000",
        0,
        K::TooLong {
            len: 1 << 32,
            max: 16 << 20,
        },
    );
    // With no limits at all, a length the remaining input cannot hold is truncation,
    // found before anything is reserved.
    let open = DecodeLimits::DEFAULT
        .with_max_items(usize::MAX)
        .with_max_bytes(usize::MAX);
    for h in [
        "9b 0000000100000000",
        "bb 0000000100000000",
        "5b 0000000100000000",
        "82 00",
    ] {
        let e = cbor::decode_with(&hex(h), &open).unwrap_err();
        assert_eq!(e.kind, K::UnexpectedEnd, "{h}");
    }
}

/// What has no faithful JSON form is refused, so that decode -> JSON -> encode gives the
/// same bytes.
#[test]
fn maps_without_a_json_form() {
    // {"$bytes": "AQID"} and {"$link": "x"}: in JSON these keys mean bytes and a link.
    rejects(
        "a1 66 2462797465 73 64 41514944",
        1,
        K::ReservedKey { key: "$bytes" },
    );
    rejects("a1 65 246c696e6b 61 78", 1, K::ReservedKey { key: "$link" });
    rejects(
        "a2 61 61 01 65 246c696e6b 01",
        4,
        K::ReservedKey { key: "$link" },
    );
    // {"$type": 1}, {"$type": ""}, {"$type": null}.
    rejects("a1 65 2474797065 01", 7, K::BadType);
    rejects("a1 65 2474797065 60", 7, K::BadType);
    rejects("a1 65 2474797065 f6", 7, K::BadType);
    accepts("a1 65 2474797065 61 78");
    // Other `$` keys are fine.
    accepts("a1 64 24616263 01");
    // A blob needs ref (link), size (non-negative integer) and mimeType (text).
    let cid = format!("d82a 58 25 00 {CID_HEX}");
    let blob = |reff: &str, size: &str, mime: &str| {
        format!(
            "a4 63 726566 {reff} 64 73697a65 {size} 65 2474797065 64 626c6f62 68 6d696d6554797065 {mime}"
        )
    };
    let ok = blob(&cid, "0a", "63 612f62");
    let v = accepts(&ok);
    assert_eq!(
        atmo_data::json::from_str(&atmo_data::json::to_string(&v)).unwrap(),
        v
    );
    rejects(&blob("01", "0a", "63 612f62"), 0, K::BadBlob);
    rejects(&blob(&cid, "29", "63 612f62"), 0, K::BadBlob);
    rejects(&blob(&cid, "0a", "01"), 0, K::BadBlob);
    rejects("a1 65 2474797065 64 626c6f62", 0, K::BadBlob);
}

/// The default depth is what the JSON reader takes: 127 nested containers.
#[test]
fn default_depth_matches_the_json_reader() {
    let nested = |n: usize| hex(&format!("{}80", "81".repeat(n - 1)));
    let v = cbor::decode(&nested(127)).unwrap();
    let json = atmo_data::json::to_string(&v);
    assert_eq!(atmo_data::json::from_str(&json).unwrap(), v);
    let e = cbor::decode(&nested(128)).unwrap_err();
    assert_eq!((e.offset, e.kind), (127, K::TooDeep { max: 127 }));
    assert!(atmo_data::json::from_str(&format!("{}{}", "[".repeat(128), "]".repeat(128))).is_err());
}

/// The owned decoder charges what it builds against `max_memory`; validation and
/// borrowed decoding build nothing and are not charged.
#[test]
fn memory_budget() {
    // An array of 1,000 empty maps.
    let mut b = vec![0x99, 0x03, 0xe8];
    b.extend(std::iter::repeat_n(0xa0, 1000));
    let entry = std::mem::size_of::<Value>();
    let tight = DecodeLimits::DEFAULT.with_max_memory(1000 * entry - 1);
    let e = cbor::decode_with(&b, &tight).unwrap_err();
    assert_eq!(
        (e.offset, e.kind),
        (
            0,
            K::MemoryBudget {
                max: 1000 * entry - 1
            }
        )
    );
    assert!(e.to_string().contains("bytes of memory"), "{e}");
    assert!(cbor::validate(&b, &tight).is_ok());
    assert!(cbor::decode_ref_with(&b, &tight).is_ok());
    let enough = DecodeLimits::DEFAULT.with_max_memory(1000 * entry);
    assert!(cbor::decode_with(&b, &enough).is_ok());
    // Byte strings and long text strings count their bytes; short strings are inline.
    let bytes = hex(&format!("58 40 {}", "00".repeat(64)));
    let e = cbor::decode_with(&bytes, &DecodeLimits::DEFAULT.with_max_memory(63)).unwrap_err();
    assert_eq!(e.kind, K::MemoryBudget { max: 63 });
    assert!(cbor::decode_with(&bytes, &DecodeLimits::DEFAULT.with_max_memory(64)).is_ok());
    let short = hex("63 616263");
    assert!(cbor::decode_with(&short, &DecodeLimits::DEFAULT.with_max_memory(0)).is_ok());
    // The default budget holds an ordinary record easily.
    assert_eq!(DecodeLimits::DEFAULT.max_memory, 1 << 30);
}

#[test]
fn limits() {
    let deep = hex(&format!("{}80", "81".repeat(10)));
    let lim = DecodeLimits::DEFAULT.with_max_depth(5);
    let e = cbor::decode_with(&deep, &lim).unwrap_err();
    assert_eq!((e.offset, e.kind), (5, K::TooDeep { max: 5 }));
    assert!(cbor::decode_with(&deep, &DecodeLimits::DEFAULT.with_max_depth(11)).is_ok());

    let arr = hex("83 01 02 03");
    let e = cbor::decode_with(&arr, &DecodeLimits::DEFAULT.with_max_items(2)).unwrap_err();
    assert_eq!(e.kind, K::TooManyItems { len: 3, max: 2 });

    let s = hex("63 616161");
    let e = cbor::decode_with(&s, &DecodeLimits::DEFAULT.with_max_bytes(2)).unwrap_err();
    assert_eq!(e.kind, K::TooLong { len: 3, max: 2 });

    // The default depth limit holds against a deeply nested input.
    let very_deep = vec![0x81u8; 100_000];
    assert!(matches!(
        cbor::decode(&very_deep).unwrap_err().kind,
        K::TooDeep { .. }
    ));
}

#[test]
fn decode_prefix_returns_rest() {
    let b = hex("a1 626f70 01 a0"); // {"op": 1} {}
    let (v, rest) = cbor::decode_prefix(&b, &DecodeLimits::DEFAULT).unwrap();
    assert_eq!(v.get("op").and_then(Value::as_integer), Some(1));
    assert_eq!(rest, &[0xa0]);
}

#[test]
fn error_messages_name_offset_and_reason() {
    let e = cbor::decode(&hex("a1 6161 f9 3c00")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid DAG-CBOR at byte 3: floats are not allowed"
    );
}

/// 127 nested arrays each claiming (almost) the whole remaining input as its length:
/// rejected without reserving depth x length entries on the way (the memory budget, which
/// charges declared lengths, stops it first; without a budget it is truncated).
#[test]
fn nested_length_heads_fail_cleanly() {
    let padding = 1 << 20;
    let mut input = Vec::new();
    for _ in 0..127 {
        input.push(0x9a); // array, 4-byte length
        input.extend_from_slice(&(padding as u32).to_be_bytes());
    }
    input.resize(input.len() + padding, 0xf6);
    let e = atmo_data::cbor::decode(&input).unwrap_err();
    assert_eq!(e.kind, K::MemoryBudget { max: 1 << 30 }, "{e}");
    let unbounded = DecodeLimits::DEFAULT.with_max_memory(usize::MAX);
    let e = atmo_data::cbor::decode_with(&input, &unbounded).unwrap_err();
    assert_eq!(e.kind, K::UnexpectedEnd, "{e}");
}
