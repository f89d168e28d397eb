//! `atmo key`, run as a user would: the real binary, real exit codes, the interop signature
//! fixtures through `atmo key verify`.

use std::path::PathBuf;
use std::process::{Command, Output};

fn atmo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_atmo"))
        .args(args)
        .output()
        .expect("the atmo binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf-8 stderr")
}

/// `name: value` lines of plain output.
fn field<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(": ")))
        .unwrap_or_else(|| panic!("no {name} in {out:?}"))
}

/// The string value of `"name"` in a flat JSON object printed by atmo (no nesting, no escapes
/// in our values).
fn json_field<'a>(json: &'a str, name: &str) -> &'a str {
    let key = format!("\"{name}\":\"");
    let start = json
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {json}"))
        + key.len();
    let len = json[start..].find('"').expect("closing quote");
    &json[start..start + len]
}

const K256_HEX: &str = "9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c";
const K256_DID: &str = "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme";

#[test]
fn public_prints_the_did_key_of_the_interop_private_key() {
    let o = atmo(&[
        "key",
        "public",
        "--curve",
        "k256",
        "--private-key-hex",
        K256_HEX,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("{K256_DID}\n"));
}

#[test]
fn public_rejects_bad_private_keys() {
    for (curve, hex, needle) in [
        ("k256", "00", "32"),
        ("p256", "zz", "hex"),
        (
            "k256",
            "0000000000000000000000000000000000000000000000000000000000000000",
            "not a valid",
        ),
    ] {
        let o = atmo(&["key", "public", "--curve", curve, "--private-key-hex", hex]);
        assert_eq!(o.status.code(), Some(1), "{curve} {hex}");
        assert!(o.stdout.is_empty());
        let err = stderr(&o);
        assert!(err.contains(needle), "{curve} {hex}: {err}");
    }
    // Missing --curve is a usage error.
    let o = atmo(&["key", "public", "--private-key-hex", K256_HEX]);
    assert_eq!(o.status.code(), Some(2));
    let o = atmo(&[
        "key",
        "public",
        "--curve",
        "ed25519",
        "--private-key-hex",
        K256_HEX,
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn generate_plain_and_json_agree_with_public_and_inspect() {
    for curve in ["k256", "p256"] {
        let o = atmo(&["key", "generate", "--curve", curve]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let out = stdout(&o);
        assert_eq!(out.lines().count(), 4, "{out}");
        assert_eq!(field(&out, "curve"), curve);
        let hex = field(&out, "privateKeyHex");
        assert_eq!(hex.len(), 64);
        assert!(field(&out, "privateKeyMultibase").starts_with('z'));
        let did = field(&out, "didKey");

        let o = atmo(&["key", "public", "--curve", curve, "--private-key-hex", hex]);
        assert_eq!(stdout(&o), format!("{did}\n"));

        let o = atmo(&["key", "inspect", did]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let info = stdout(&o);
        assert_eq!(field(&info, "curve"), curve);
        assert_eq!(field(&info, "didKey"), did);
        assert_eq!(format!("did:key:{}", field(&info, "multikey")), did);
        assert_eq!(field(&info, "publicKeyHex").len(), 66);

        let o = atmo(&["key", "generate", "--curve", curve, "--json"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let json = stdout(&o);
        assert!(json.starts_with('{') && json.ends_with("}\n"), "{json}");
        assert_eq!(json_field(&json, "curve"), curve);
        let hex = json_field(&json, "privateKeyHex");
        let did = json_field(&json, "didKey");
        assert!(json_field(&json, "privateKeyMultibase").starts_with('z'));
        let o = atmo(&["key", "public", "--curve", curve, "--private-key-hex", hex]);
        assert_eq!(stdout(&o), format!("{did}\n"));
    }
    // The default curve is k256.
    let o = atmo(&["key", "generate"]);
    assert_eq!(field(&stdout(&o), "curve"), "k256");
    assert!(field(&stdout(&o), "didKey").starts_with("did:key:zQ3s"));
}

#[test]
fn inspect_shows_the_interop_keys() {
    let o = atmo(&["key", "inspect", K256_DID, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let json = stdout(&o);
    assert_eq!(json_field(&json, "curve"), "k256");
    assert_eq!(json_field(&json, "jwtAlg"), "ES256K");
    assert_eq!(json_field(&json, "didKey"), K256_DID);

    // The P-256 fixture key: its legacy publicKeyMultibase is the bare compressed point.
    let o = atmo(&[
        "key",
        "inspect",
        "did:key:zDnaembgSGUhZULN2Caob4HLJPaxBh92N7rtH21TErzqf8HQo",
    ]);
    let info = stdout(&o);
    assert_eq!(field(&info, "curve"), "p256");
    assert_eq!(field(&info, "jwtAlg"), "ES256");
    assert_eq!(
        field(&info, "publicKeyHex"),
        "033a8273eece6b0d82e95c3506617db5000e14ff0023325d0bb0274918bc6a6cdc"
    );
}

#[test]
fn inspect_rejects_bad_keys_with_the_reason() {
    for (did, needle) in [
        ("did:web:example.com", "did:key"),
        ("did:key:zQ3sh0", "'0'"),
        (
            "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "0xed",
        ),
    ] {
        let o = atmo(&["key", "inspect", did]);
        assert_eq!(o.status.code(), Some(1), "{did}");
        assert!(o.stdout.is_empty());
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{did}: {err}");
    }
}

/// One case of signature-fixtures.json: the string fields and validSignature.
#[derive(Debug, Default)]
struct SigCase {
    comment: String,
    message: String,
    did: String,
    signature: String,
    valid: Option<bool>,
    tags: String,
}

/// Reads the vendored fixture file. It is pretty-printed JSON with one `"name": value` per
/// line; the counts asserted below catch any change of layout.
fn signature_cases() -> Vec<SigCase> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/interop/crypto/signature-fixtures.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut cases = Vec::new();
    let mut case = SigCase::default();
    for line in text.lines().map(str::trim) {
        if line.starts_with('{') {
            case = SigCase::default();
        } else if line.starts_with('}') {
            cases.push(std::mem::take(&mut case));
        } else if let Some((name, value)) = line.split_once(": ") {
            let value = value.trim_end_matches(',');
            let string = value.trim_matches('"').to_owned();
            match name.trim_matches('"') {
                "comment" => case.comment = string,
                "messageBase64" => case.message = string,
                "publicKeyDid" => case.did = string,
                "signatureBase64" => case.signature = string,
                "validSignature" => case.valid = Some(value == "true"),
                "tags" => case.tags = value.to_owned(),
                _ => {}
            }
        }
    }
    for c in &cases {
        assert!(
            !c.message.is_empty() && !c.did.is_empty() && !c.signature.is_empty(),
            "{c:?}"
        );
        assert!(c.valid.is_some(), "{c:?}");
    }
    cases
}

#[test]
fn verify_every_interop_signature_fixture() {
    let cases = signature_cases();
    assert_eq!(cases.len(), 3);
    let mut failures = Vec::new();
    for c in &cases {
        let o = atmo(&[
            "key",
            "verify",
            "--key",
            &c.did,
            "--message-base64",
            &c.message,
            "--signature-base64",
            &c.signature,
        ]);
        let err = stderr(&o);
        let ok = if c.valid == Some(true) {
            o.status.code() == Some(0) && stdout(&o) == "valid\n"
        } else {
            let reason_ok = if c.tags.contains("high-s") {
                err.contains("high S")
            } else if c.tags.contains("der-encoded") {
                err.contains("DER")
            } else {
                true
            };
            o.status.code() == Some(1) && o.stdout.is_empty() && reason_ok
        };
        if !ok {
            failures.push(format!(
                "{}: exit {:?}, stdout {:?}, stderr {err:?}",
                c.comment,
                o.status.code(),
                stdout(&o)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn verify_reports_wrong_key_length_and_bad_input() {
    let msg = "oWVoZWxsb2V3b3JsZA";
    let sig =
        "2vZNsG3UKvvO/CDlrdvyZRISOFylinBh0Jupc6KcWoJWExHptCfduPleDbG3rko3YZnn9Lw0IjpixVmexJDegg";
    let p256 = "did:key:zDnaembgSGUhZULN2Caob4HLJPaxBh92N7rtH21TErzqf8HQo";
    let other = "did:key:zDnaeT6hL2RnTdUhAPLij1QBkhYZnmuKyM7puQLW1tkF4Zkt8";
    for (key, msg, sig, needle) in [
        (other, msg, sig, "does not match"),
        (p256, "b3RoZXI", sig, "does not match"),
        (p256, msg, "AAAA", "3 bytes, expected 64"),
        (p256, msg, "!!!", "--signature-base64"),
        (p256, "%%", sig, "--message-base64"),
        ("did:key:zXYZ", msg, sig, "--key"),
    ] {
        let o = atmo(&[
            "key",
            "verify",
            "--key",
            key,
            "--message-base64",
            msg,
            "--signature-base64",
            sig,
        ]);
        assert_eq!(o.status.code(), Some(1), "{key} {msg} {sig}");
        let err = stderr(&o);
        assert!(err.contains(needle), "{key} {msg} {sig}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // URL-safe alphabet and padding are accepted.
    let url_safe = sig.replace('/', "_").replace('+', "-");
    let o = atmo(&[
        "key",
        "verify",
        "--key",
        p256,
        "--message-base64",
        "oWVoZWxsb2V3b3JsZA==",
        "--signature-base64",
        &url_safe,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn verify_round_trips_a_generated_key() {
    use base64::Engine as _;
    let o = atmo(&["key", "generate", "--curve", "p256"]);
    let out = stdout(&o);
    let did = field(&out, "didKey");
    // No signing subcommand: sign with the library, verify with the binary.
    let keypair = atmo_crypto::Keypair::from_private_key_hex(
        atmo_crypto::Curve::P256,
        field(&out, "privateKeyHex"),
    )
    .unwrap();
    let sig = keypair.sign(b"hello").unwrap();
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    let o = atmo(&[
        "key",
        "verify",
        "--key",
        did,
        "--message-base64",
        &b64.encode(b"hello"),
        "--signature-base64",
        &b64.encode(sig),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
