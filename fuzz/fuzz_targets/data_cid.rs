//! CID parsing of arbitrary bytes and strings. Invariants: no panic; on `Ok`, the binary
//! and string forms round-trip exactly.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(c) = atmo_data::Cid::from_bytes(data) {
        assert_eq!(c.to_bytes(), data);
        assert_eq!(c.encoded_len(), data.len());
        assert_eq!(atmo_data::Cid::parse(&c.to_string()), Ok(c));
    }
    if let Ok((c, rest)) = atmo_data::Cid::read_prefix(data) {
        assert_eq!(c.encoded_len() + rest.len(), data.len());
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(c) = atmo_data::Cid::parse(s) {
            assert_eq!(c.to_string(), s);
        }
    }
});
