//! Strict DAG-CBOR decoding of arbitrary bytes. Invariants: no panic; on `Ok`, the owned
//! and borrowed decoders agree, validation agrees, and re-encoding gives the input back.
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
        }
        (Err(a), Err(b)) => {
            assert_eq!(a, b);
            assert_eq!(valid, Err(a));
        }
        (a, b) => panic!("decoders disagree: {a:?} vs {b:?}"),
    }
});
