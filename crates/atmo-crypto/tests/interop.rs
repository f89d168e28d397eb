//! The official atproto crypto interop vectors (tests/interop/crypto), every case, failures
//! reported by case. `fixtures/upstream-extra.json` adds the upstream cases the vendored
//! subset leaves out (K-256 signatures, two more K-256 keys).
//!
//! With `--features secp256k1` the same cases judge the libsecp256k1 backend.

use atmo_crypto::{Curve, Keypair, PublicKey, VerifyError};
use base64::Engine as _;
use serde_json::Value;

const INTEROP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/interop/crypto/");
const EXTRA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/upstream-extra.json"
);

fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Standard base64, with or without padding (the fixtures omit it).
fn b64(s: &str) -> Vec<u8> {
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine
        .decode(s)
        .unwrap_or_else(|e| panic!("bad base64 {s:?}: {e}"))
}

fn field<'a>(case: &'a Value, name: &str) -> &'a str {
    case[name]
        .as_str()
        .unwrap_or_else(|| panic!("case without string {name}: {case}"))
}

/// Checks one signature case; returns a description of what went wrong, if anything.
fn check_signature_case(case: &Value) -> Result<(), String> {
    let did = field(case, "publicKeyDid");
    let key = PublicKey::from_did_key(did).map_err(|e| format!("did:key rejected: {e}"))?;
    if key.to_did_key() != did {
        return Err(format!("did:key re-encodes as {}", key.to_did_key()));
    }
    let curve = match field(case, "algorithm") {
        "ES256K" => Curve::K256,
        "ES256" => Curve::P256,
        other => return Err(format!("unknown algorithm {other}")),
    };
    if key.curve() != curve || key.jwt_alg() != field(case, "algorithm") {
        return Err(format!(
            "curve {} does not match the algorithm",
            key.curve()
        ));
    }
    let legacy = PublicKey::from_legacy_multibase(curve, field(case, "publicKeyMultibase"))
        .map_err(|e| format!("legacy publicKeyMultibase rejected: {e}"))?;
    if legacy != key {
        return Err("legacy publicKeyMultibase is a different key".into());
    }

    let msg = b64(field(case, "messageBase64"));
    let sig = b64(field(case, "signatureBase64"));
    let valid = case["validSignature"]
        .as_bool()
        .ok_or("no validSignature")?;
    let tags: Vec<&str> = case["tags"]
        .as_array()
        .ok_or("no tags")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let got = key.verify(&msg, &sig);
    let prehashed = key.verify_prehashed(&atmo_crypto::sha256(&msg), &sig);
    if got != prehashed {
        return Err(format!("verify {got:?} but verify_prehashed {prehashed:?}"));
    }
    match (valid, got) {
        (true, Ok(())) => {
            key.verify_lax(&msg, &sig)
                .map_err(|e| format!("verify_lax rejected a valid signature: {e}"))?;
            if key.verify(b"another message", &sig) != Err(VerifyError::Invalid) {
                return Err("the signature also verifies another message".into());
            }
        }
        (true, Err(e)) => return Err(format!("valid signature rejected: {e}")),
        (false, Ok(())) => return Err("invalid signature accepted".into()),
        (false, Err(e)) => {
            if tags.contains(&"high-s") {
                if e != VerifyError::HighS {
                    return Err(format!("high-S case rejected for another reason: {e:?}"));
                }
                // Apart from the S rule the signature is genuine.
                key.verify_lax(&msg, &sig)
                    .map_err(|e| format!("verify_lax rejected the high-S case: {e}"))?;
            }
            if tags.contains(&"der-encoded") {
                if !matches!(e, VerifyError::Der { .. }) {
                    return Err(format!("DER case rejected for another reason: {e:?}"));
                }
                if !matches!(key.verify_lax(&msg, &sig), Err(VerifyError::Der { .. })) {
                    return Err("verify_lax does not reject DER".into());
                }
            }
        }
    }
    Ok(())
}

fn run_signature_cases(cases: &[Value]) -> usize {
    let mut failures = Vec::new();
    for case in cases {
        if let Err(why) = check_signature_case(case) {
            failures.push(format!("{}: {why}", field(case, "comment")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    cases.len()
}

#[test]
fn signature_fixtures() {
    let all = load(&format!("{INTEROP}signature-fixtures.json"));
    let cases = all.as_array().expect("an array of cases");
    assert_eq!(run_signature_cases(cases), 3);
}

#[test]
fn signature_fixtures_upstream_extra() {
    let extra = load(EXTRA);
    let cases = extra["signatures"].as_array().expect("signatures");
    assert_eq!(run_signature_cases(cases), 3);
}

/// The K-256 cases above ran on the backend the features chose.
#[test]
fn k256_backend_follows_the_feature() {
    let want = if cfg!(feature = "secp256k1") {
        "libsecp256k1"
    } else {
        "rustcrypto"
    };
    assert_eq!(atmo_crypto::k256_backend(), want);
}

fn check_key_pair(curve: Curve, private: &[u8], did: &str) -> Result<(), String> {
    let keypair =
        Keypair::from_private_key_bytes(curve, private).map_err(|e| format!("private key: {e}"))?;
    let public = keypair.public_key();
    if public.to_did_key() != did {
        return Err(format!("derived {} instead", public.to_did_key()));
    }
    let parsed = PublicKey::from_did_key(did).map_err(|e| format!("did:key rejected: {e}"))?;
    if parsed != public || parsed.to_did_key() != did {
        return Err("did:key does not round-trip".into());
    }
    if keypair.to_private_key_bytes() != private {
        return Err("private key bytes do not round-trip".into());
    }
    let mb = keypair.to_private_key_multibase();
    let back = Keypair::from_private_key_multibase(&mb).map_err(|e| format!("{mb}: {e}"))?;
    if back != keypair {
        return Err("private multibase does not round-trip".into());
    }
    let sig = keypair.sign(did.as_bytes()).map_err(|e| e.to_string())?;
    parsed
        .verify(did.as_bytes(), &sig)
        .map_err(|e| format!("own signature rejected: {e}"))
}

fn run_k256(cases: &[Value]) -> usize {
    let mut failures = Vec::new();
    for case in cases {
        let did = field(case, "publicDidKey");
        let hex = field(case, "privateKeyBytesHex");
        let result = Keypair::from_private_key_hex(Curve::K256, hex)
            .map_err(|e| format!("hex: {e}"))
            .and_then(|k| check_key_pair(Curve::K256, &k.to_private_key_bytes(), did));
        if let Err(why) = result {
            failures.push(format!("{did}: {why}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    cases.len()
}

#[test]
fn w3c_didkey_k256() {
    let all = load(&format!("{INTEROP}w3c_didkey_K256.json"));
    assert_eq!(run_k256(all.as_array().expect("array")), 3);
}

#[test]
fn w3c_didkey_k256_upstream_extra() {
    let extra = load(EXTRA);
    assert_eq!(run_k256(extra["k256"].as_array().expect("k256")), 2);
}

#[test]
fn w3c_didkey_p256() {
    let all = load(&format!("{INTEROP}w3c_didkey_P256.json"));
    let cases = all.as_array().expect("array");
    let mut failures = Vec::new();
    for case in cases {
        let did = field(case, "publicDidKey");
        // Raw base58btc of the 32 private key bytes (no multibase prefix, no multicodec).
        let private = bs58::decode(field(case, "privateKeyBytesBase58"))
            .into_vec()
            .expect("base58");
        if let Err(why) = check_key_pair(Curve::P256, &private, did) {
            failures.push(format!("{did}: {why}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(cases.len(), 1);
}
