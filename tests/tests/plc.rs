//! did:plc audit-log verification against the reference directory (`@did-plc/server`):
//! DIDs made here with our own keys through the directory's own API (`POST /<did>`),
//! key rotations, handle changes, a recovery that nullifies operations, a tombstone, a DID
//! made by the reference PDS; then tampered copies of those real logs, each failing with
//! the rule it breaks; and `atmo plc log|verify`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::thread;

use atmo_crypto::{Curve, Keypair};
use atmo_data::Cid;
use atmo_identity::plc::{
    AuditEntry, Operation, PlcData, PlcLimits, UnsignedPlcOperation, VerifiedLog, VerifyOptions,
    parse_audit_log, verify_audit_log,
};
use atmo_identity::{Error, PlcRule, Resolver, ResolverConfig};
use atmo_syntax::Did;
use atmo_tests::refnet::{RefNet, http_get};
use atmo_tests::support::{atmo_bin, test_account, unique};

fn resolver(plc: &str) -> Resolver {
    let mut c = ResolverConfig::default();
    c.plc_url = plc.to_owned();
    c.allow_private_network = true;
    c.use_dns = false;
    Resolver::new(c).unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn key(curve: Curve) -> Keypair {
    Keypair::generate(curve).unwrap()
}

fn handle(prefix: &str) -> String {
    format!("{}.test", unique(prefix))
}

/// Posts a genesis with these rotation keys, signed by `signer`.
fn create(r: &Resolver, rotation: &[&Keypair], signer: &Keypair) -> (Did, Operation) {
    let keys: Vec<_> = rotation.iter().map(|k| k.public_key()).collect();
    let signing = key(Curve::K256);
    let (did, op) = UnsignedPlcOperation::atproto(
        &keys,
        &signing.public_key(),
        &handle("plc"),
        "https://pds.example.com",
    )
    .sign(signer)
    .unwrap()
    .into_genesis()
    .unwrap();
    rt().block_on(r.plc_submit(&did, &op)).unwrap();
    (did, op)
}

/// Signs `change(update of prev)` with `signer` and posts it.
fn update(
    r: &Resolver,
    did: &Did,
    prev: &Operation,
    signer: &Keypair,
    change: impl FnOnce(UnsignedPlcOperation) -> UnsignedPlcOperation,
) -> Result<Operation, Error> {
    let state = PlcData::from_operation(did, prev).unwrap();
    let op = change(UnsignedPlcOperation::update(&state, prev.cid()))
        .sign(signer)
        .unwrap();
    rt().block_on(r.plc_submit(did, &op))?;
    Ok(op)
}

fn audit(r: &Resolver, did: &Did) -> Vec<AuditEntry> {
    rt().block_on(r.plc_audit_log(did)).unwrap()
}

fn verify(did: &Did, entries: Vec<AuditEntry>) -> Result<VerifiedLog, Error> {
    verify_audit_log(did, entries, &VerifyOptions::default())
}

fn broken(did: &Did, entries: Vec<AuditEntry>) -> (usize, PlcRule) {
    match verify(did, entries) {
        Err(Error::PlcInvalidOperation { index, rule, .. }) => (index, *rule),
        other => panic!("expected a broken operation, got {other:?}"),
    }
}

/// Replaces an entry's operation and states its true CID (a tamper that is not caught by
/// the CID check alone).
fn replace(entries: &mut [AuditEntry], i: usize, op: Operation) {
    entries[i].cid = op.cid();
    entries[i].operation = op;
}

#[test]
fn rotations_and_handle_changes_verify() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let r = resolver(&net.plc);
    let k1 = key(Curve::K256);
    let k2 = key(Curve::P256);
    let (did, g) = create(&r, &[&k1], &k1);
    let new_handle = handle("renamed");
    let a = update(&r, &did, &g, &k1, |u| u.with_handle(&new_handle)).unwrap();
    let b = update(&r, &did, &a, &k1, |u| {
        u.with_rotation_keys(&[k2.public_key(), k1.public_key()])
    })
    .unwrap();
    // The new first rotation key (P-256) now signs.
    let c = update(&r, &did, &b, &k2, |u| {
        u.with_pds("https://pds2.example.com")
    })
    .unwrap();
    let signing = key(Curve::P256);
    let d = update(&r, &did, &c, &k1, |u| {
        u.with_signing_key(&signing.public_key())
    })
    .unwrap();
    // A key that was dropped may no longer sign.
    let k3 = key(Curve::K256);
    let refused = update(&r, &did, &d, &k3, |u| u.with_handle("x.test")).unwrap_err();
    assert!(
        matches!(refused, Error::PlcRejected { status: 400, .. }),
        "{refused}"
    );

    let log = rt()
        .block_on(r.plc_verify(&did, &VerifyOptions::default()))
        .unwrap();
    assert_eq!(log.entries.len(), 5);
    assert_eq!(log.chain, vec![0, 1, 2, 3, 4]);
    assert_eq!(log.signers, vec![0, 0, 0, 0, 1]);
    assert_eq!(log.nullified_count(), 0);
    let state = log.state.unwrap();
    assert_eq!(state.also_known_as, vec![format!("at://{new_handle}")]);
    assert_eq!(state.pds_endpoint(), Some("https://pds2.example.com"));
    assert_eq!(
        state.atproto_key(),
        Some(signing.public_key().to_did_key().as_str())
    );
    assert_eq!(
        state.rotation_keys,
        vec![k2.public_key().to_did_key(), k1.public_key().to_did_key()]
    );
    // What the resolver serves agrees.
    let doc = rt().block_on(r.resolve_did_uncached(&did)).unwrap();
    assert_eq!(doc.signing_key().unwrap(), signing.public_key());
}

/// A DID with rotation keys [high, low]: two updates signed by `low`, then a recovery by
/// `high` forking from the genesis. Returns the keys, the DID and the operations.
struct Recovered {
    high: Keypair,
    low: Keypair,
    did: Did,
    genesis: Operation,
    recovery: Operation,
}

fn recovered(r: &Resolver) -> Recovered {
    let high = key(Curve::P256);
    let low = key(Curve::K256);
    let (did, genesis) = create(r, &[&high, &low], &high);
    let a = update(r, &did, &genesis, &low, |u| {
        u.with_handle(&handle("stolen"))
    })
    .unwrap();
    let _b = update(r, &did, &a, &low, |u| {
        u.with_pds("https://evil.example.com")
    })
    .unwrap();
    // A recovery by the lower key itself is refused by the directory.
    let err = update(r, &did, &genesis, &low, |u| u.with_handle("nope.test")).unwrap_err();
    assert!(matches!(err, Error::PlcRejected { .. }), "{err}");
    let recovery = update(r, &did, &genesis, &high, |u| {
        u.with_rotation_keys(&[high.public_key()])
    })
    .unwrap();
    Recovered {
        high,
        low,
        did,
        genesis,
        recovery,
    }
}

#[test]
fn recovery_nullifies_and_verifies() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let r = resolver(&net.plc);
    let rec = recovered(&r);
    let log = rt()
        .block_on(r.plc_verify(&rec.did, &VerifyOptions::default()))
        .unwrap();
    let flags: Vec<bool> = log.entries.iter().map(|e| e.nullified).collect();
    assert_eq!(flags, vec![false, true, true, false]);
    assert_eq!(log.chain, vec![0, 3]);
    assert_eq!(log.signers, vec![0, 1, 1, 0]);
    assert_eq!(log.head().unwrap().cid, rec.recovery.cid());
    write_fixture("plc_audit_recovered.json", &net.plc, &rec.did);
    let state = log.state.unwrap();
    assert_eq!(
        state.rotation_keys,
        vec![rec.high.public_key().to_did_key()]
    );
    assert_eq!(state.pds_endpoint(), Some("https://pds.example.com"));
}

#[test]
fn tombstoned_did_verifies_as_deactivated() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let r = resolver(&net.plc);
    let k = key(Curve::K256);
    let (did, g) = create(&r, &[&k], &k);
    let a = update(&r, &did, &g, &k, |u| u.with_handle(&handle("last"))).unwrap();
    let t = Operation::tombstone(a.cid(), &k).unwrap();
    rt().block_on(r.plc_submit(&did, &t)).unwrap();
    // Nothing may follow a tombstone: neither an update nor another tombstone.
    let state = PlcData::from_operation(&did, &a).unwrap();
    let after = UnsignedPlcOperation::update(&state, t.cid())
        .sign(&k)
        .unwrap();
    let refused = rt().block_on(r.plc_submit(&did, &after)).unwrap_err();
    assert!(matches!(refused, Error::PlcRejected { .. }), "{refused}");
    let refused = rt()
        .block_on(r.plc_submit(&did, &Operation::tombstone(t.cid(), &k).unwrap()))
        .unwrap_err();
    assert!(matches!(refused, Error::PlcRejected { .. }), "{refused}");

    let log = rt()
        .block_on(r.plc_verify(&did, &VerifyOptions::default()))
        .unwrap();
    assert!(log.is_tombstoned());
    assert_eq!(log.entries.len(), 3);
    assert_eq!(log.head().unwrap().operation_type(), "plc_tombstone");
    assert_eq!(rt().block_on(r.plc_data(&did)).unwrap(), None);
    write_fixture("plc_audit_tombstoned.json", &net.plc, &did);
}

/// With `ATMO_WRITE_PLC_FIXTURES=1`, saves the directory's audit log of `did` under
/// crates/atmo-identity/tests/fixtures (offline tests and fuzz seeds read them).
fn write_fixture(name: &str, plc: &str, did: &Did) {
    if std::env::var_os("ATMO_WRITE_PLC_FIXTURES").is_none() {
        return;
    }
    let body = http_get(&format!("{plc}/{did}/log/audit")).unwrap().body;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/atmo-identity/tests/fixtures")
        .join(name);
    std::fs::write(&path, body).unwrap();
}

#[test]
fn a_did_made_by_the_reference_pds_verifies() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let account = rt().block_on(test_account(&net.pds, "plcpds"));
    let r = resolver(&net.plc);
    let did = Did::new(&account.did).unwrap();
    let log = rt()
        .block_on(r.plc_verify(&did, &VerifyOptions::default()))
        .unwrap();
    let state = log.state.unwrap();
    assert_eq!(
        state.also_known_as,
        vec![format!("at://{}", account.handle)]
    );
    assert_eq!(state.pds_endpoint(), Some(net.pds.as_str()));
    assert!(state.atproto_key().is_some());
}

#[test]
fn tampered_copies_fail_with_the_rule_they_break() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let r = resolver(&net.plc);
    let rec = recovered(&r);
    let did = rec.did.clone();
    // The real log, as served, verifies; every copy below changes one thing.
    let real = audit(&r, &did);
    verify(&did, real.clone()).unwrap();

    // A changed field: the stated CID no longer matches...
    let mut log = real.clone();
    let Operation::Plc(mut op) = log[1].operation.clone() else {
        panic!("not a plc_operation")
    };
    op.also_known_as = vec!["at://someone-else.test".into()];
    log[1].operation = Operation::Plc(op.clone());
    assert!(matches!(
        broken(&did, log.clone()),
        (1, PlcRule::CidMismatch { .. })
    ));
    // ...and with the CID fixed, the signature does not.
    replace(&mut log, 1, Operation::Plc(op));
    assert_eq!(broken(&did, log), (1, PlcRule::BadSignature));

    // A swapped signature (that of the next operation).
    let mut log = real.clone();
    let mut op = log[1].operation.clone();
    op.set_sig(log[2].operation.sig().to_owned());
    replace(&mut log, 1, op);
    assert_eq!(broken(&did, log), (1, PlcRule::BadSignature));

    // A broken prev.
    let mut log = real.clone();
    let Operation::Plc(mut op) = log[2].operation.clone() else {
        panic!("not a plc_operation")
    };
    let nowhere = Cid::for_dag_cbor(b"\xa0");
    op.prev = Some(nowhere);
    replace(&mut log, 2, Operation::Plc(op));
    assert_eq!(
        broken(&did, log),
        (2, PlcRule::PrevNotFound { prev: nowhere })
    );

    // A wrong cid (that of another operation).
    let mut log = real.clone();
    log[2].cid = log[1].cid;
    let (i, rule) = broken(&did, log);
    assert_eq!(
        (i, rule),
        (
            2,
            PlcRule::CidMismatch {
                computed: real[2].cid
            }
        )
    );

    // A nullified flag flipped, either way.
    let mut log = real.clone();
    log[2].nullified = false;
    assert_eq!(
        broken(&did, log),
        (
            2,
            PlcRule::NullifiedFlag {
                stated: false,
                expected: true
            }
        )
    );
    let mut log = real.clone();
    log[3].nullified = true;
    assert_eq!(
        broken(&did, log),
        (
            3,
            PlcRule::NullifiedFlag {
                stated: true,
                expected: false
            }
        )
    );

    // A genesis that does not hash to the DID: the same log under another DID.
    let other = Did::new("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa").unwrap();
    let mut log = real.clone();
    for e in &mut log {
        e.did = other.clone();
    }
    assert_eq!(
        broken(&other, log),
        (
            0,
            PlcRule::GenesisHash {
                derived: did.clone()
            }
        )
    );

    // A lower-priority key nullifying: the recovery re-signed by the key that signed the
    // operations it nullifies.
    let mut log = real.clone();
    let resigned = log[3].operation.clone().signed(&rec.low).unwrap();
    replace(&mut log, 3, resigned);
    assert_eq!(
        broken(&did, log),
        (
            3,
            PlcRule::RecoveryKeyNotHigher {
                signer: Some(1),
                disputed: 1
            }
        )
    );
    // A key outside the parent's rotation keys.
    let mut log = real.clone();
    let resigned = log[3].operation.clone().signed(&key(Curve::K256)).unwrap();
    replace(&mut log, 3, resigned);
    assert_eq!(
        broken(&did, log),
        (
            3,
            PlcRule::RecoveryKeyNotHigher {
                signer: None,
                disputed: 1
            }
        )
    );
    // The genesis re-signed by a stranger (so it hashes to another DID).
    let mut log = real.clone();
    let resigned = rec.genesis.clone().signed(&key(Curve::K256)).unwrap();
    replace(&mut log, 0, resigned);
    assert!(matches!(
        broken(&did, log),
        (0, PlcRule::GenesisHash { .. })
    ));

    // The recovery window, measured from the first nullified operation's createdAt.
    let mut log = real.clone();
    let late = log[1].created_at.timestamp_micros() + 72 * 3_600_000_000 + 1_000_000;
    log[3].created_at = atmo_syntax::Datetime::from_timestamp_micros(late).unwrap();
    assert!(matches!(
        broken(&did, log),
        (3, PlcRule::LateRecovery { .. })
    ));

    // The raw bytes: a tampered JSON body fails the same way through the parser.
    let body = http_get(&format!("{}/{did}/log/audit", net.plc))
        .unwrap()
        .body;
    let text = String::from_utf8(body).unwrap();
    let sig = real[1].operation.sig();
    let flipped_sig = text.replacen(sig, real[2].operation.sig(), 1);
    let parsed = parse_audit_log(flipped_sig.as_bytes(), &PlcLimits::default()).unwrap();
    assert!(matches!(
        broken(&did, parsed),
        (1, PlcRule::CidMismatch { .. })
    ));
}

/// A directory on loopback that serves `log` as the audit log of every DID, and 404 for
/// everything else.
fn fake_directory(log: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                match stream.read(&mut byte) {
                    Ok(1) => head.push(byte[0]),
                    _ => break,
                }
            }
            let line = String::from_utf8_lossy(&head)
                .lines()
                .next()
                .unwrap_or("")
                .to_owned();
            let (status, body) = if line.contains("/log/audit ") {
                ("200 OK", log.clone())
            } else {
                ("404 Not Found", r#"{"message":"not here"}"#.to_owned())
            };
            let _ = stream.write_all(
                format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
    });
    url
}

fn atmo(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(atmo_bin()).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_plc_log_and_verify() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let r = resolver(&net.plc);
    let rec = recovered(&r);
    let did = rec.did.as_str();
    let netargs = ["--plc", net.plc.as_str(), "--allow-private-network"];

    let (code, out, err) = atmo(&[&["plc", "log", did][..], &netargs].concat());
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    for (i, line) in lines.iter().enumerate() {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 5, "{line}");
        assert_eq!(fields[0], i.to_string());
        assert!(fields[1].ends_with('Z'), "{line}");
        assert!(fields[2].starts_with("bafyrei"), "{line}");
        assert_eq!(fields[3], "plc_operation");
        let nullified = i == 1 || i == 2;
        assert_eq!(fields[4], format!("nullified={nullified}"));
    }

    let (code, out, err) = atmo(&[&["plc", "log", did, "--json"][..], &netargs].concat());
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["did"], did);
    assert_eq!(json["verified"], true);
    assert_eq!(json["error"], serde_json::Value::Null);
    assert_eq!(json["tombstoned"], false);
    let ops = json["operations"].as_array().unwrap();
    assert_eq!(ops.len(), 4);
    assert_eq!(ops[3]["cid"], rec.recovery.cid().to_string());
    assert_eq!(ops[1]["nullified"], true);
    assert_eq!(ops[3]["signer"], 0);
    assert_eq!(ops[0]["operation"]["type"], "plc_operation");
    assert_eq!(
        json["state"]["rotationKeys"],
        serde_json::json!([rec.high.public_key().to_did_key()])
    );

    let (code, out, err) = atmo(&[&["plc", "verify", did][..], &netargs].concat());
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!("{did}: verified 4 operations (2 nullified)")),
        "{out}"
    );
    assert!(out.contains("pds: https://pds.example.com"), "{out}");

    // A directory serving a tampered log: verify names the first broken operation.
    let real = audit(&r, &rec.did);
    let mut tampered: Vec<serde_json::Value> = real.iter().map(AuditEntry::to_json).collect();
    tampered[2]["nullified"] = false.into();
    let fake = fake_directory(serde_json::Value::Array(tampered).to_string());
    let fake_args = ["--plc", fake.as_str(), "--allow-private-network"];
    let (code, out, err) = atmo(&[&["plc", "verify", did][..], &fake_args].concat());
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(&format!("operation 2 ({})", real[2].cid)),
        "{err}"
    );
    assert!(err.contains("nullified"), "{err}");
    let (code, out, err) = atmo(&[&["plc", "log", did, "--json"][..], &fake_args].concat());
    assert_eq!(code, 1, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["verified"], false);
    assert!(
        json["error"].as_str().unwrap().contains("operation 2"),
        "{json}"
    );
    assert_eq!(json["state"], serde_json::Value::Null);

    // An unknown DID, and something that is not a did:plc.
    let (code, _, err) = atmo(
        &[
            &["plc", "verify", "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"][..],
            &netargs,
        ]
        .concat(),
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not found"), "{err}");
    let (code, _, err) = atmo(&[&["plc", "log", "did:web:example.com"][..], &netargs].concat());
    assert_eq!(code, 1, "{err}");

    // Both list the network options.
    for sub in ["log", "verify"] {
        let (_, help, _) = atmo(&["plc", sub, "--help"]);
        assert!(
            help.contains("--plc") && help.contains("--allow-private-network"),
            "{help}"
        );
    }
}
