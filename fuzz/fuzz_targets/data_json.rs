//! atproto JSON parsing of arbitrary text. Invariants: no panic; on `Ok`, writing the
//! value as JSON and reading it back gives the same value, and its DAG-CBOR decodes to it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(v) = atmo_data::json::from_slice(data) {
        let text = atmo_data::json::to_string(&v);
        let again = atmo_data::json::from_str(&text).expect("own JSON output parses");
        assert_eq!(again, v);
        let bytes = atmo_data::cbor::encode(&v);
        assert_eq!(
            atmo_data::cbor::decode(&bytes).expect("own CBOR output decodes"),
            v
        );
    }
});
