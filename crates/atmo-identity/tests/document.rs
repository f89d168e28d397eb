//! DID documents: real ones from the reference network's PLC, and hand-made edge cases.

use atmo_identity::plc::{Operation, parse_audit_log};
use atmo_identity::{DidDocument, DocumentLimits, Error};

const ALICE: &[u8] = include_bytes!("fixtures/plc_doc_alice.json");
const ALICE_AUDIT: &[u8] = include_bytes!("fixtures/plc_audit_alice.json");
const MULTIKEY: &[u8] = include_bytes!("fixtures/multikey_doc.json");

#[test]
fn real_plc_document_parses() {
    let doc = DidDocument::from_json(ALICE).unwrap();
    assert_eq!(doc.did().as_str(), "did:plc:aymhh2c47ldyafhgr4dj6o5r");
    assert_eq!(doc.handle().unwrap().as_str(), "alice.test");
    assert!(doc.pds_endpoint().unwrap().starts_with("http://localhost:"));
    let key = doc.signing_key().unwrap();
    assert_eq!(key.curve(), atmo_crypto::Curve::K256);
}

#[test]
fn legacy_key_matches_the_audit_log_did_key() {
    let doc = DidDocument::from_json(ALICE).unwrap();
    let log = parse_audit_log(ALICE_AUDIT, &Default::default()).unwrap();
    assert_eq!(log.len(), 1);
    let entry = &log[0];
    assert_eq!(entry.did, *doc.did());
    assert_eq!(entry.operation_type(), "plc_operation");
    assert!(!entry.nullified);
    let Operation::Plc(op) = &entry.operation else {
        panic!("not a plc_operation: {:?}", entry.operation)
    };
    assert_eq!(
        doc.signing_key().unwrap().to_did_key(),
        op.verification_methods["atproto"]
    );
}

#[test]
fn multikey_form_with_absolute_ids() {
    let doc = DidDocument::from_json(MULTIKEY).unwrap();
    let legacy = DidDocument::from_json(ALICE).unwrap();
    assert_eq!(doc.signing_key().unwrap(), legacy.signing_key().unwrap());
    // Handles are lower-cased; non-at:// entries are skipped.
    assert_eq!(doc.handle().unwrap().as_str(), "alice.test");
    assert_eq!(doc.handles().count(), 1);
    assert_eq!(doc.pds_endpoint(), Some("https://pds.example.com"));
}

#[test]
fn document_round_trips_through_json() {
    for bytes in [ALICE, MULTIKEY] {
        let doc = DidDocument::from_json(bytes).unwrap();
        let again = DidDocument::from_json(doc.to_json().as_bytes()).unwrap();
        assert_eq!(doc, again);
    }
}

fn doc_with(vm: &str, service: &str, aka: &str) -> Vec<u8> {
    format!(
        r#"{{"id":"did:plc:aaaaaaaaaaaaaaaaaaaaaaaa","alsoKnownAs":[{aka}],"verificationMethod":[{vm}],"service":[{service}]}}"#
    )
    .into_bytes()
}

#[test]
fn first_valid_at_handle_wins() {
    let doc = DidDocument::from_json(&doc_with(
        "",
        "",
        r#""https://x.com","at://not a handle","at://bob.test","at://carol.test""#,
    ))
    .unwrap();
    assert_eq!(doc.handle().unwrap().as_str(), "bob.test");
    let none = DidDocument::from_json(&doc_with("", "", "")).unwrap();
    assert!(none.handle().is_none());
}

#[test]
fn signing_key_errors_say_why() {
    let did = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
    let no_key = DidDocument::from_json(&doc_with("", "", "")).unwrap();
    assert!(matches!(
        no_key.signing_key(),
        Err(Error::NoSigningKey { .. })
    ));

    // Another DID's #atproto does not count.
    let other = DidDocument::from_json(&doc_with(
        r#"{"id":"did:plc:bbbbbbbbbbbbbbbbbbbbbbbb#atproto","type":"Multikey","publicKeyMultibase":"zQ3shjtpFPNx3GWykdA1fsjeURd1BGnRzppkw48ZzVfBab6GA"}"#,
        "",
        "",
    ))
    .unwrap();
    assert!(matches!(
        other.signing_key(),
        Err(Error::NoSigningKey { .. })
    ));

    let ed = DidDocument::from_json(&doc_with(
        &format!(r#"{{"id":"{did}#atproto","type":"Ed25519VerificationKey2020","publicKeyMultibase":"z6Mk"}}"#),
        "",
        "",
    ))
    .unwrap();
    assert!(matches!(
        ed.signing_key(),
        Err(Error::UnsupportedKeyType { .. })
    ));

    let bad = DidDocument::from_json(&doc_with(
        r##"{"id":"#atproto","type":"Multikey","publicKeyMultibase":"zNotAKey"}"##,
        "",
        "",
    ))
    .unwrap();
    assert!(matches!(
        bad.signing_key(),
        Err(Error::BadSigningKey { .. })
    ));
}

#[test]
fn pds_endpoint_needs_the_right_id_type_and_url() {
    let svc = |id: &str, ty: &str, ep: &str| {
        DidDocument::from_json(&doc_with(
            "",
            &format!(r#"{{"id":"{id}","type":"{ty}","serviceEndpoint":"{ep}"}}"#),
            "",
        ))
        .unwrap()
    };
    let ok = svc(
        "#atproto_pds",
        "AtprotoPersonalDataServer",
        "https://pds.example.com/",
    );
    assert_eq!(ok.pds_endpoint(), Some("https://pds.example.com/"));
    assert!(
        svc(
            "#atproto_labeler",
            "AtprotoPersonalDataServer",
            "https://a.com"
        )
        .pds_endpoint()
        .is_none()
    );
    assert!(
        svc("#atproto_pds", "AtprotoLabeler", "https://a.com")
            .pds_endpoint()
            .is_none()
    );
    for bad in [
        "ftp://a.com",
        "https://",
        "https://a.com/path",
        "https://a b.com",
        "javascript:x",
    ] {
        let doc = svc("#atproto_pds", "AtprotoPersonalDataServer", bad);
        assert!(doc.pds_endpoint().is_none(), "{bad}");
        assert!(
            matches!(
                doc.require_pds_endpoint(),
                Err(Error::BadPdsEndpoint { .. })
            ),
            "{bad}"
        );
    }
    let none = DidDocument::from_json(&doc_with("", "", "")).unwrap();
    assert!(matches!(
        none.require_pds_endpoint(),
        Err(Error::NoPds { .. })
    ));
}

#[test]
fn limits_are_enforced() {
    let mut limits = DocumentLimits::default();
    limits.max_bytes = 100;
    assert!(matches!(
        DidDocument::from_json_with_limits(ALICE, limits),
        Err(Error::DocumentTooLarge { limit: 100, .. })
    ));
    let many: Vec<String> = (0..65).map(|i| format!("\"at://h{i}.test\"")).collect();
    let doc = doc_with("", "", &many.join(","));
    assert!(matches!(
        DidDocument::from_json(&doc),
        Err(Error::DocumentTooManyEntries {
            field: "alsoKnownAs",
            count: 65,
            limit: 64
        })
    ));
}

#[test]
fn malformed_documents_are_rejected_with_a_position() {
    for bad in [
        &b""[..],
        b"[]",
        b"{}",
        br#"{"id":"not-a-did"}"#,
        br#"{"id":"did:plc:aaa","alsoKnownAs":"at://x.test"}"#,
        br##"{"id":"did:plc:aaa","verificationMethod":[{"id":"#atproto"}]}"##,
        b"{\"id\":\"did:plc:aaa\"",
    ] {
        match DidDocument::from_json(bad) {
            Err(Error::DocumentJson { line, column, .. }) => {
                assert!(line >= 1 && column <= bad.len() + 1)
            }
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(bad)),
        }
    }
}

#[test]
fn id_must_match() {
    let doc = DidDocument::from_json(ALICE).unwrap();
    assert!(doc.check_id(doc.did()).is_ok());
    let other = atmo_syntax::Did::new("did:plc:bbbbbbbbbbbbbbbbbbbbbbbb").unwrap();
    assert!(matches!(
        doc.check_id(&other),
        Err(Error::DocumentIdMismatch { .. })
    ));
}
