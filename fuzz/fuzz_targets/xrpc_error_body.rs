//! XRPC error bodies: never panic, always bounded, and a parsed name survives a rebuild.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (error, message) = atmo_xrpc::parse_error_body(data);
    for s in [&error, &message].into_iter().flatten() {
        assert!(!s.is_empty());
        assert!(s.chars().count() <= atmo_xrpc::MAX_ERROR_TEXT);
    }
    let e = atmo_xrpc::XrpcError::from_parts(400, &http::HeaderMap::new(), data);
    assert_eq!(
        (e.error.clone(), e.message.clone()),
        (error.clone(), message.clone())
    );
    let _ = e.to_string();
    // Re-encoding what was parsed parses to the same thing.
    let rebuilt = serde_json::json!({ "error": error, "message": message }).to_string();
    assert_eq!(
        atmo_xrpc::parse_error_body(rebuilt.as_bytes()),
        (error, message)
    );
});
