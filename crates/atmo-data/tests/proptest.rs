//! Laws: decode(encode(v)) == v; JSON -> Value -> CBOR -> Value -> JSON is the identity;
//! map encoding does not depend on insertion order.

use atmo_data::{Cid, Map, Value, cbor, json};
use proptest::prelude::*;

fn cid() -> impl Strategy<Value = Cid> {
    prop_oneof![
        any::<Vec<u8>>().prop_map(|b| Cid::for_dag_cbor(&b)),
        any::<Vec<u8>>().prop_map(|b| Cid::for_raw(&b)),
        (
            0u64..1 << 40,
            0u64..1 << 20,
            proptest::collection::vec(any::<u8>(), 0..=64)
        )
            .prop_map(|(c, h, d)| Cid::new(c, h, &d).unwrap()),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Integer),
        prop_oneof![
            Just(0i64),
            Just(23),
            Just(24),
            Just(255),
            Just(256),
            Just(65535),
            Just(65536),
            Just(-24),
            Just(-25)
        ]
        .prop_map(Value::Integer),
        ".{0,40}".prop_map(Value::from),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
        cid().prop_map(Value::link),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::vec(("[a-z$]{0,6}", inner), 0..8)
                .prop_map(|es| Value::Map(es.into_iter().collect::<Map>())),
        ]
    })
}

proptest! {
    #[test]
    fn decode_encode_identity(v in value()) {
        let bytes = cbor::encode(&v);
        prop_assert_eq!(cbor::decode(&bytes).unwrap(), v.clone());
        let r = cbor::decode_ref(&bytes).unwrap();
        prop_assert_eq!(r.to_owned_value(), v);
        prop_assert_eq!(cbor::encode_ref(&r), bytes);
    }

    #[test]
    fn json_cbor_json_identity(v in value()) {
        // Maps with "$"-keys can collide with the $link/$bytes/$type forms; JSON of a
        // value that the JSON reader accepts must survive the whole cycle.
        let text = json::to_string(&v);
        if let Ok(from_json) = json::from_str(&text) {
            let back = cbor::decode(&cbor::encode(&from_json)).unwrap();
            prop_assert_eq!(json::to_string(&back), text);
        }
    }

    #[test]
    fn map_order_independent_of_insertion(es in proptest::collection::vec(("[a-z]{0,5}", any::<i64>()), 0..16), seed in any::<u64>()) {
        let mut a = Map::new();
        for (k, v) in &es { a.insert(k.clone(), Value::Integer(*v)); }
        // Insert the distinct final entries in a shuffled order.
        let mut finals: Vec<(String, i64)> = a.iter().map(|(k, v)| (k.to_owned(), v.as_integer().unwrap())).collect();
        let n = finals.len().max(1);
        finals.rotate_left((seed as usize) % n);
        finals.reverse();
        let mut b = Map::new();
        for (k, v) in finals { b.insert(k, Value::Integer(v)); }
        prop_assert_eq!(cbor::encode(&Value::Map(a)), cbor::encode(&Value::Map(b)));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_accepted_input_reencodes(b in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(v) = cbor::decode(&b) {
            prop_assert_eq!(cbor::encode(&v), b);
        }
    }
}
