//! Fuzz `atmo_identity::DidDocument::from_json`: never panics; every accessor runs; a parsed
//! document re-serialises to JSON that parses to the same document.
#![no_main]

use atmo_identity::{DidDocument, handle};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = DidDocument::from_json(data) {
        let _ = doc.signing_key();
        let _ = doc.require_pds_endpoint();
        if let Some(h) = doc.handle() {
            assert!(
                handle::document_claims(&doc, &h),
                "the claimed handle is listed"
            );
        }
        if let Some(pds) = doc.pds_endpoint() {
            assert!(pds.starts_with("http://") || pds.starts_with("https://"));
        }
        let json = doc.to_json();
        let again = DidDocument::from_json(json.as_bytes()).expect("re-serialised JSON parses");
        assert_eq!(again, doc);
    }
    if let Ok(h) = atmo_syntax::Handle::new("alice.test") {
        let _ = handle::parse_well_known(&h, data);
        if let Ok(text) = std::str::from_utf8(data) {
            let _ = handle::parse_dns_txt(&h, text.lines());
        }
    }
});
