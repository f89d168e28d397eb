//! Strict DAG-CBOR decoding of arbitrary bytes. Invariants: no panic; on `Ok`, the owned
//! and borrowed decoders agree, validation agrees, re-encoding gives the input back, and
//! the value goes to atproto JSON and back unchanged (what decodes has a JSON form).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let owned = atmo_data::cbor::decode(data);
    let borrowed = atmo_data::cbor::decode_ref(data);
    let valid = atmo_data::cbor::validate(data, &atmo_data::cbor::DecodeLimits::DEFAULT);
    match (owned, borrowed) {
        (Ok(v), Ok(r)) => {
            assert!(valid.is_ok());
            assert_eq!(atmo_data::cbor::encode(&v), data);
            assert_eq!(atmo_data::cbor::encode_ref(&r), data);
            assert_eq!(r.to_owned_value(), v);
            let json = atmo_data::json::to_string(&v);
            let back = atmo_data::json::from_str(&json).expect("decoded data has a JSON form");
            assert_eq!(back, v, "JSON round trip");
        }
        (Err(a), Err(b)) => {
            assert_eq!(a, b);
            assert_eq!(valid, Err(a));
        }
        (a, b) => panic!("decoders disagree: {a:?} vs {b:?}"),
    }
});
