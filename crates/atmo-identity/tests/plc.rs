//! did:plc operations and audit logs without a network: the codec against a real log from
//! the reference directory, strict decoding, and verification of logs built and signed
//! here (legacy create, recoveries with chosen timestamps, high-S signatures).

use atmo_crypto::{Curve, Keypair};
use atmo_data::Cid;
use atmo_identity::plc::{
    AuditEntry, LegacyCreate, Operation, PlcLimits, UnsignedPlcOperation, VerifyOptions,
    parse_audit_log, verify_audit_log,
};
use atmo_identity::{Error, PlcRule};
use atmo_syntax::{Datetime, Did};

const ALICE_AUDIT: &[u8] = include_bytes!("fixtures/plc_audit_alice.json");
const HOUR: i64 = 3_600_000_000;
const T0: i64 = 1_765_000_000_000_000;

fn key(curve: Curve) -> Keypair {
    Keypair::generate(curve).unwrap()
}

fn entry(did: &Did, op: &Operation, micros: i64, nullified: bool) -> AuditEntry {
    AuditEntry {
        did: did.clone(),
        operation: op.clone(),
        cid: op.cid(),
        nullified,
        created_at: Datetime::from_timestamp_micros(micros).unwrap(),
    }
}

fn rule(err: Error) -> (usize, PlcRule) {
    match err {
        Error::PlcInvalidOperation { index, rule, .. } => (index, *rule),
        other => panic!("not an invalid operation: {other}"),
    }
}

fn genesis(rotation: &[&Keypair], signer: &Keypair, handle: &str) -> (Did, Operation) {
    let keys: Vec<_> = rotation.iter().map(|k| k.public_key()).collect();
    UnsignedPlcOperation::atproto(&keys, &signer.public_key(), handle, "https://pds.test")
        .sign(signer)
        .unwrap()
        .into_genesis()
        .unwrap()
}

fn state_of(op: &Operation, did: &Did) -> atmo_identity::plc::PlcData {
    atmo_identity::plc::PlcData::from_operation(did, op).unwrap()
}

#[test]
fn real_log_reproduces_its_cid_and_did() {
    let log = parse_audit_log(ALICE_AUDIT, &PlcLimits::default()).unwrap();
    let e = &log[0];
    // The DAG-CBOR encoding is the reference's: same CID, same DID.
    assert_eq!(e.operation.cid(), e.cid);
    assert_eq!(e.operation.genesis_did().unwrap(), e.did);
    // JSON round trip is exact.
    let original: serde_json::Value = serde_json::from_slice(ALICE_AUDIT).unwrap();
    assert_eq!(serde_json::Value::Array(vec![e.to_json()]), original);
    assert_eq!(
        Operation::from_json(&e.operation.to_json()).unwrap(),
        e.operation
    );
    let did = e.did.clone();
    let v = verify_audit_log(&did, log, &VerifyOptions::default()).unwrap();
    let state = v.state.unwrap();
    assert_eq!(state.handles().next().unwrap().as_str(), "alice.test");
    assert_eq!(state.pds_endpoint(), Some("http://localhost:39287"));
    assert_eq!(v.signers, vec![0]);
}

#[test]
fn strict_decoding_names_what_is_wrong() {
    let good: serde_json::Value = serde_json::from_slice::<Vec<serde_json::Value>>(ALICE_AUDIT)
        .unwrap()
        .remove(0);
    type Mutation = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "unknown field",
            Box::new(|v| v["operation"]["extra"] = 1.into()),
        ),
        (
            "prev is missing",
            Box::new(|v| {
                v["operation"].as_object_mut().unwrap().remove("prev");
            }),
        ),
        (
            "not a CID",
            Box::new(|v| v["operation"]["prev"] = "bafy-nope".into()),
        ),
        (
            "expected 'b', base32 lower case",
            Box::new(|v| {
                // The same CID in upper-case base32: not the form that hashes the same.
                v["operation"]["prev"] =
                    "BAFYREIAGDBZ6QXH2Y6ABJZUPA2PTXMIFYJ4UDH5TXQ3PT3OKZ22S2BROG4".into()
            }),
        ),
        (
            "rotationKeys is not an array",
            Box::new(|v| v["operation"]["rotationKeys"] = "k".into()),
        ),
        (
            "unknown operation type",
            Box::new(|v| v["operation"]["type"] = "plc_other".into()),
        ),
        (
            "sig is missing",
            Box::new(|v| {
                v["operation"].as_object_mut().unwrap().remove("sig");
            }),
        ),
        (
            "services.atproto_pds is not an object",
            Box::new(|v| v["operation"]["services"]["atproto_pds"] = 3.into()),
        ),
        (
            "nullified is not a boolean",
            Box::new(|v| v["nullified"] = "no".into()),
        ),
        (
            "createdAt",
            Box::new(|v| v["createdAt"] = "yesterday".into()),
        ),
        (
            "unknown field \"extra\"",
            Box::new(|v| v["extra"] = true.into()),
        ),
        ("did", Box::new(|v| v["did"] = "not a did".into())),
    ];
    for (want, mutate) in cases {
        let mut v = good.clone();
        mutate(&mut v);
        let bytes = serde_json::to_vec(&serde_json::Value::Array(vec![good.clone(), v])).unwrap();
        match parse_audit_log(&bytes, &PlcLimits::default()) {
            Err(Error::PlcDecode {
                index: Some(1),
                message,
            }) => {
                assert!(message.contains(want), "{want}: {message}")
            }
            other => panic!("{want}: {other:?}"),
        }
    }
    let create_with_prev = serde_json::json!({
        "type": "create", "signingKey": "k", "recoveryKey": "k", "handle": "h",
        "service": "s", "prev": "bafyreiagdbz6qxh2y6abjzupa2ptxmifyj4udh5txq3pt3okz22s2brog4",
        "sig": ""
    });
    let err = Operation::from_json(&create_with_prev).unwrap_err();
    assert!(err.to_string().contains("prev: null"), "{err}");
}

#[test]
fn size_limits_are_enforced() {
    let limits = PlcLimits {
        max_log_bytes: 100,
        ..PlcLimits::default()
    };
    let err = parse_audit_log(ALICE_AUDIT, &limits).unwrap_err();
    assert!(matches!(err, Error::PlcDecode { index: None, .. }), "{err}");
    let limits = PlcLimits {
        max_entries: 0,
        ..PlcLimits::default()
    };
    assert!(parse_audit_log(ALICE_AUDIT, &limits).is_err());
    // An operation over 7500 bytes of DAG-CBOR.
    let k = key(Curve::K256);
    let mut op = UnsignedPlcOperation::atproto(
        &[k.public_key()],
        &k.public_key(),
        "a.test",
        "https://p.test",
    );
    op.also_known_as
        .push(format!("https://{}", "x".repeat(8000)));
    let (did, op) = op.sign(&k).unwrap().into_genesis().unwrap();
    let err = verify_audit_log(
        &did,
        vec![entry(&did, &op, T0, false)],
        &VerifyOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(
        rule(err),
        (0, PlcRule::TooLarge { limit: 7500, .. })
    ));
}

#[test]
fn key_rules() {
    let k = key(Curve::K256);
    let keys: Vec<_> = (0..6).map(|_| key(Curve::K256).public_key()).collect();
    type Case = (UnsignedPlcOperation, fn(&PlcRule) -> bool);
    let cases: Vec<Case> = vec![
        (
            UnsignedPlcOperation::atproto(&[], &k.public_key(), "a.test", "https://p.test"),
            |r| matches!(r, PlcRule::NoRotationKeys),
        ),
        (
            UnsignedPlcOperation::atproto(&keys, &k.public_key(), "a.test", "https://p.test"),
            |r| matches!(r, PlcRule::TooManyRotationKeys { count: 6, limit: 5 }),
        ),
        (
            UnsignedPlcOperation::atproto(
                &[k.public_key(), k.public_key()],
                &k.public_key(),
                "a.test",
                "https://p.test",
            ),
            |r| matches!(r, PlcRule::DuplicateRotationKey { .. }),
        ),
        (
            {
                let mut op = UnsignedPlcOperation::atproto(
                    &[k.public_key()],
                    &k.public_key(),
                    "a.test",
                    "https://p.test",
                );
                op.verification_methods
                    .insert("atproto".into(), "did:key:zNope".into());
                op
            },
            |r| matches!(r, PlcRule::UnsupportedKey { .. }),
        ),
    ];
    for (op, check) in cases {
        let (did, op) = op.sign(&k).unwrap().into_genesis().unwrap();
        let err = verify_audit_log(
            &did,
            vec![entry(&did, &op, T0, false)],
            &VerifyOptions::default(),
        )
        .unwrap_err();
        let (index, r) = rule(err);
        assert_eq!(index, 0);
        assert!(check(&r), "{r}");
    }
}

#[test]
fn legacy_create_genesis_verifies_and_normalizes() {
    let recovery = key(Curve::K256);
    let signing = key(Curve::P256);
    let create = Operation::Create(LegacyCreate {
        signing_key: signing.public_key().to_did_key(),
        recovery_key: recovery.public_key().to_did_key(),
        handle: "old.test".into(),
        service: "pds.old.test".into(),
        sig: String::new(),
    })
    .signed(&signing)
    .unwrap();
    let did = create.genesis_did().unwrap();
    // The signing key is the second rotation key: it may sign the next operation.
    let state = state_of(&create, &did);
    assert_eq!(
        state.rotation_keys,
        vec![
            recovery.public_key().to_did_key(),
            signing.public_key().to_did_key()
        ]
    );
    assert_eq!(state.also_known_as, vec!["at://old.test"]);
    assert_eq!(state.pds_endpoint(), Some("https://pds.old.test"));
    let update = UnsignedPlcOperation::update(&state, create.cid())
        .with_handle("new.test")
        .sign(&signing)
        .unwrap();
    let log = vec![
        entry(&did, &create, T0, false),
        entry(&did, &update, T0 + 1, false),
    ];
    let v = verify_audit_log(&did, log.clone(), &VerifyOptions::default()).unwrap();
    assert_eq!(v.signers, vec![1, 1]);
    assert_eq!(v.state.unwrap().also_known_as, vec!["at://new.test"]);

    // A create anywhere but first is refused.
    let mut bad = log.clone();
    bad.push(entry(&did, &create, T0 + 2, false));
    assert!(matches!(
        rule(verify_audit_log(&did, bad, &VerifyOptions::default()).unwrap_err()),
        (2, PlcRule::CreateAfterGenesis)
    ));
    // A create signed by another key.
    let other = create.clone().signed(&key(Curve::K256)).unwrap();
    let did2 = other.genesis_did().unwrap();
    let err = verify_audit_log(
        &did2,
        vec![entry(&did2, &other, T0, false)],
        &VerifyOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(rule(err), (0, PlcRule::BadSignature)));
}

/// A DID with rotation keys [high, low], one update signed by `low`, then a recovery by
/// `high` at `recovery_at` (hours after the update) that forks from the genesis.
fn recovery_log(recovery_signer: usize, recovery_at: i64) -> (Did, Vec<AuditEntry>) {
    let high = key(Curve::P256);
    let low = key(Curve::K256);
    let (did, g) = genesis(&[&high, &low], &low, "r.test");
    let state = state_of(&g, &did);
    let upd = UnsignedPlcOperation::update(&state, g.cid())
        .with_handle("hijacked.test")
        .sign(&low)
        .unwrap();
    let signer = if recovery_signer == 0 { &high } else { &low };
    let rec = UnsignedPlcOperation::update(&state, g.cid())
        .with_handle("back.test")
        .sign(signer)
        .unwrap();
    let log = vec![
        entry(&did, &g, T0, false),
        entry(&did, &upd, T0 + HOUR, true),
        entry(&did, &rec, T0 + HOUR + recovery_at * HOUR, false),
    ];
    (did, log)
}

#[test]
fn recovery_within_the_window_by_a_higher_key_nullifies() {
    let (did, log) = recovery_log(0, 71);
    let v = verify_audit_log(&did, log.clone(), &VerifyOptions::default()).unwrap();
    assert_eq!(v.chain, vec![0, 2]);
    assert_eq!(v.nullified_count(), 1);
    assert_eq!(
        v.state.as_ref().unwrap().also_known_as,
        vec!["at://back.test"]
    );
    // Flags must match.
    let mut flipped = log;
    flipped[1].nullified = false;
    assert_eq!(
        rule(verify_audit_log(&did, flipped, &VerifyOptions::default()).unwrap_err()),
        (
            1,
            PlcRule::NullifiedFlag {
                stated: false,
                expected: true
            }
        )
    );
}

#[test]
fn late_recovery_fails() {
    let (did, log) = recovery_log(0, 73);
    let (index, r) = rule(verify_audit_log(&did, log, &VerifyOptions::default()).unwrap_err());
    assert_eq!(index, 2);
    assert!(
        matches!(r, PlcRule::LateRecovery { elapsed_secs } if elapsed_secs == 73 * 3600),
        "{r}"
    );
    // Exactly 72 hours is still inside the window.
    let (did, log) = recovery_log(0, 72);
    verify_audit_log(&did, log, &VerifyOptions::default()).unwrap();
}

#[test]
fn recovery_by_an_equal_key_fails() {
    let (did, log) = recovery_log(1, 1);
    let (index, r) = rule(verify_audit_log(&did, log, &VerifyOptions::default()).unwrap_err());
    assert_eq!(index, 2);
    assert_eq!(
        r,
        PlcRule::RecoveryKeyNotHigher {
            signer: Some(1),
            disputed: 1
        }
    );
}

#[test]
fn tombstone_ends_the_log_unless_recovered() {
    let high = key(Curve::K256);
    let low = key(Curve::K256);
    let (did, g) = genesis(&[&high, &low], &high, "t.test");
    let t = Operation::tombstone(g.cid(), &low).unwrap();
    let v = verify_audit_log(
        &did,
        vec![entry(&did, &g, T0, false), entry(&did, &t, T0 + 1, false)],
        &VerifyOptions::default(),
    )
    .unwrap();
    assert!(v.is_tombstoned());
    // After a tombstone nothing follows.
    let after = UnsignedPlcOperation::update(&state_of(&g, &did), t.cid())
        .sign(&high)
        .unwrap();
    let log = vec![
        entry(&did, &g, T0, false),
        entry(&did, &t, T0 + 1, false),
        entry(&did, &after, T0 + 2, false),
    ];
    assert!(matches!(
        rule(verify_audit_log(&did, log, &VerifyOptions::default()).unwrap_err()),
        (2, PlcRule::PrevIsTombstone { .. })
    ));
    // But a higher key can undo it within the window.
    let undo = UnsignedPlcOperation::update(&state_of(&g, &did), g.cid())
        .sign(&high)
        .unwrap();
    let log = vec![
        entry(&did, &g, T0, false),
        entry(&did, &t, T0 + 1, true),
        entry(&did, &undo, T0 + 2, false),
    ];
    let v = verify_audit_log(&did, log, &VerifyOptions::default()).unwrap();
    assert!(!v.is_tombstoned());
    // A genesis cannot be a tombstone.
    let err = verify_audit_log(
        &did,
        vec![entry(&did, &t, T0, false)],
        &VerifyOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(rule(err), (0, PlcRule::GenesisTombstone)));
}

#[test]
fn order_and_link_rules() {
    let k = key(Curve::K256);
    let (did, g) = genesis(&[&k], &k, "o.test");
    let u = UnsignedPlcOperation::update(&state_of(&g, &did), g.cid())
        .with_pds("https://p2.test")
        .sign(&k)
        .unwrap();
    // createdAt going back.
    let log = vec![entry(&did, &g, T0, false), entry(&did, &u, T0 - 1, false)];
    assert!(matches!(
        rule(verify_audit_log(&did, log, &VerifyOptions::default()).unwrap_err()),
        (1, PlcRule::CreatedAtBackwards { .. })
    ));
    // A later operation without prev.
    let mut no_prev = UnsignedPlcOperation::update(&state_of(&g, &did), g.cid());
    no_prev.prev = None;
    let no_prev = no_prev.sign(&k).unwrap();
    let log = vec![
        entry(&did, &g, T0, false),
        entry(&did, &no_prev, T0 + 1, false),
    ];
    assert!(matches!(
        rule(verify_audit_log(&did, log, &VerifyOptions::default()).unwrap_err()),
        (1, PlcRule::MissingPrev)
    ));
    // An entry of another DID.
    let (other, _) = genesis(&[&k], &k, "x.test");
    let mut log = vec![entry(&did, &g, T0, false), entry(&did, &u, T0 + 1, false)];
    log[1].did = other;
    assert!(matches!(
        rule(verify_audit_log(&did, log, &VerifyOptions::default()).unwrap_err()),
        (1, PlcRule::WrongDid { .. })
    ));
    // An empty log.
    assert!(matches!(
        verify_audit_log(&did, vec![], &VerifyOptions::default()),
        Err(Error::PlcEmptyLog { .. })
    ));
    // The fix for a wrong cid: the stated one is reported, the computed one named.
    let mut log = vec![entry(&did, &g, T0, false)];
    log[0].cid = Cid::for_dag_cbor(b"\xa0");
    let err = verify_audit_log(&did, log, &VerifyOptions::default()).unwrap_err();
    assert!(err.to_string().contains(&g.cid().to_string()), "{err}");
}

/// The same signature with `s` replaced by `n - s` (still valid ECDSA, but high-S).
fn high_s(curve: Curve, sig: &[u8; 64]) -> [u8; 64] {
    let out: Vec<u8> = match curve {
        Curve::P256 => {
            use atmo_crypto::p256::ecdsa::Signature;
            let s = Signature::from_slice(sig).unwrap();
            let (r, s) = s.split_scalars();
            Signature::from_scalars(r, -*s).unwrap().to_bytes().to_vec()
        }
        Curve::K256 => {
            use atmo_crypto::k256::ecdsa::Signature;
            let s = Signature::from_slice(sig).unwrap();
            let (r, s) = s.split_scalars();
            Signature::from_scalars(r, -*s).unwrap().to_bytes().to_vec()
        }
    };
    out.try_into().unwrap()
}

#[test]
fn high_s_follows_the_reference_per_curve() {
    use base64::Engine as _;
    for curve in [Curve::P256, Curve::K256] {
        let k = key(curve);
        let (_, g) = genesis(&[&k], &k, "s.test");
        let mut op = g.clone();
        let flipped = high_s(curve, &g.sig_bytes().unwrap());
        op.set_sig(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(flipped));
        let did = op.genesis_did().unwrap();
        let log = vec![entry(&did, &op, T0, false)];
        let lax = verify_audit_log(&did, log.clone(), &VerifyOptions::default());
        let strict = verify_audit_log(
            &did,
            log,
            &VerifyOptions {
                strict_low_s: true,
                ..Default::default()
            },
        );
        assert!(matches!(
            rule(strict.unwrap_err()),
            (0, PlcRule::BadSignature)
        ));
        match curve {
            // WebCrypto (the reference's P-256 verifier) takes high-S.
            Curve::P256 => {
                lax.unwrap();
            }
            // noble-secp256k1 in strict mode (the reference's) refuses it.
            Curve::K256 => assert!(matches!(rule(lax.unwrap_err()), (0, PlcRule::BadSignature))),
        }
    }
    // Padding or a wrong length is not a signature.
    let k = key(Curve::K256);
    let (_, mut g) = genesis(&[&k], &k, "p.test");
    let padded = format!("{}==", g.sig());
    g.set_sig(padded);
    let did = g.genesis_did().unwrap();
    let err = verify_audit_log(
        &did,
        vec![entry(&did, &g, T0, false)],
        &VerifyOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(rule(err), (0, PlcRule::SignatureEncoding)));
}

#[test]
fn real_recovery_and_tombstone_logs_verify_offline() {
    let recovered: &[u8] = include_bytes!("fixtures/plc_audit_recovered.json");
    let log = parse_audit_log(recovered, &PlcLimits::default()).unwrap();
    let did = log[0].did.clone();
    let v = verify_audit_log(&did, log, &VerifyOptions::default()).unwrap();
    let flags: Vec<bool> = v.entries.iter().map(|e| e.nullified).collect();
    assert_eq!(flags, vec![false, true, true, false]);
    assert_eq!(v.chain, vec![0, 3]);
    assert_eq!(v.signers, vec![0, 1, 1, 0]);

    let tombstoned: &[u8] = include_bytes!("fixtures/plc_audit_tombstoned.json");
    let log = parse_audit_log(tombstoned, &PlcLimits::default()).unwrap();
    let did = log[0].did.clone();
    let v = verify_audit_log(&did, log, &VerifyOptions::default()).unwrap();
    assert!(v.is_tombstoned());
    assert_eq!(v.head().unwrap().operation_type(), "plc_tombstone");
}

#[test]
fn served_data_and_document_are_compared_with_the_log() {
    let doc_bytes: &[u8] = include_bytes!("fixtures/plc_doc_alice.json");
    let doc = atmo_identity::DidDocument::from_json(doc_bytes).unwrap();
    let log = parse_audit_log(ALICE_AUDIT, &PlcLimits::default()).unwrap();
    let did = log[0].did.clone();
    let state = verify_audit_log(&did, log, &VerifyOptions::default())
        .unwrap()
        .state
        .unwrap();
    // The directory's legacy document form renders this state.
    state.check_served_document(&doc).unwrap();
    let served =
        atmo_identity::plc::PlcData::from_json(state.to_json().to_string().as_bytes()).unwrap();
    assert_eq!(served, state);
    state.check_served_data(&served).unwrap();

    let mut other = doc.clone();
    other.also_known_as = vec!["at://mallory.test".into()];
    match state.check_served_document(&other).unwrap_err() {
        Error::PlcMismatch { field, served, .. } => {
            assert_eq!(field, "document alsoKnownAs");
            assert!(served.contains("mallory"), "{served}");
        }
        e => panic!("{e}"),
    }
    let mut other = doc.clone();
    other.verification_method[0].public_key_multibase =
        Some(key(Curve::K256).public_key().to_multikey());
    other.verification_method[0].type_ = "Multikey".into();
    assert!(matches!(
        state.check_served_document(&other),
        Err(Error::PlcMismatch {
            field: "document verificationMethod",
            ..
        })
    ));
    let mut other = served.clone();
    other.services.get_mut("atproto_pds").unwrap().endpoint = "https://elsewhere.test".into();
    assert!(matches!(
        state.check_served_data(&other),
        Err(Error::PlcMismatch {
            field: "/data services",
            ..
        })
    ));
    // /data is decoded strictly too.
    let err =
        atmo_identity::plc::PlcData::from_json(br#"{"did":"did:plc:x","extra":1}"#).unwrap_err();
    assert!(matches!(err, Error::PlcDecode { .. }), "{err}");
}
