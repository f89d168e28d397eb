//! The official data-model interop vectors (tests/interop/data-model), every case.

use std::path::PathBuf;

use atmo_data::{Cid, Value, cbor, json};
use base64::Engine as _;

fn vectors(name: &str) -> Vec<serde_json::Value> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/interop/data-model")
        .join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

/// Decodes the fixtures' base64 (standard alphabet, no padding).
fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(s.trim_end_matches('='))
        .unwrap()
}

#[test]
fn fixtures_json_cbor_cid_bit_for_bit() {
    let cases = vectors("data-model-fixtures.json");
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let json_text = case["json"].to_string();
        let want_cbor = b64(case["cbor_base64"].as_str().unwrap());
        let want_cid = case["cid"].as_str().unwrap();
        let check = || -> Result<(), String> {
            let v = json::record_from_str(&json_text).map_err(|e| format!("json: {e}"))?;
            let got = cbor::encode(&v);
            if got != want_cbor {
                return Err("JSON -> CBOR differs".into());
            }
            let cid = Cid::for_dag_cbor(&got);
            if cid.to_string() != want_cid {
                return Err(format!("CID {cid} != {want_cid}"));
            }
            // CBOR -> Value must give the same value and re-encode identically.
            let back = cbor::decode(&want_cbor).map_err(|e| format!("decode: {e}"))?;
            if back != v {
                return Err("CBOR -> Value differs from JSON -> Value".into());
            }
            if cbor::encode_ref(&cbor::decode_ref(&want_cbor).map_err(|e| e.to_string())?)
                != want_cbor
            {
                return Err("borrowed round trip differs".into());
            }
            // Value -> JSON -> Value is the identity.
            let again = json::from_str(&json::to_string(&back)).map_err(|e| e.to_string())?;
            if again != back {
                return Err("JSON round trip differs".into());
            }
            if !Cid::parse(want_cid)
                .map_err(|e| e.to_string())?
                .verify(&want_cbor)
            {
                return Err("verify failed".into());
            }
            Ok(())
        };
        if let Err(e) = check() {
            failures.push(format!("fixture #{i} ({want_cid}): {e}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn valid_cases_accepted_and_round_trip() {
    let cases = vectors("data-model-valid.json");
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in &cases {
        let note = case["note"].as_str().unwrap();
        let text = case["json"].to_string();
        match json::record_from_str(&text) {
            Ok(v) => {
                let bytes = cbor::encode(&v);
                match cbor::decode(&bytes) {
                    Ok(back) if back == v => {}
                    Ok(_) => failures.push(format!("{note}: CBOR round trip differs")),
                    Err(e) => failures.push(format!("{note}: {e}")),
                }
                let again: serde_json::Value = serde_json::from_str(&json::to_string(&v)).unwrap();
                if again != case["json"] {
                    failures.push(format!("{note}: JSON round trip differs"));
                }
            }
            Err(e) => failures.push(format!("{note}: rejected: {e}")),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn invalid_cases_rejected() {
    let cases = vectors("data-model-invalid.json");
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in &cases {
        let note = case["note"].as_str().unwrap();
        let text = case["json"].to_string();
        if let Ok(v) = json::record_from_str(&text) {
            failures.push(format!("{note}: accepted as {v:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Extra invalid cases named by the data model spec beyond the vendored subset.
#[test]
fn more_invalid_cases_rejected() {
    let cases = [
        ("float", r#"{"a": 1.5}"#),
        ("negative exponent", r#"{"a": 1e-2}"#),
        ("integer out of range", r#"{"a": 9223372036854775808}"#),
        ("$type wrong type", r#"{"rcrd": {"$type": 123}}"#),
        (
            "blob with string size",
            r#"{"blb": {"$type": "blob", "ref": {"$link": "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"}, "mimeType": "image/jpeg", "size": "10000"}}"#,
        ),
        (
            "blob with link as string",
            r#"{"blb": {"$type": "blob", "ref": "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy", "mimeType": "image/jpeg", "size": 10000}}"#,
        ),
        ("bytes wrong type", r#"{"lnk": {"$bytes": [1, 2, 3]}}"#),
        ("link wrong type", r#"{"lnk": {"$link": 1234}}"#),
        (
            "link with extra fields",
            r#"{"lnk": {"$link": "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a", "other": "blah"}}"#,
        ),
        ("duplicate keys", r#"{"a": 1, "a": 1}"#),
        ("integer too large", r#"{"a": 18446744073709551615}"#),
        ("top-level array", r#"[1, 2]"#),
        ("top-level null", "null"),
    ];
    for (note, text) in cases {
        assert!(json::record_from_str(text).is_err(), "{note}: accepted");
    }
    // A legacy-looking blob without $type is plain data and stays valid.
    let legacy = r#"{"b": {"cid": "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy", "mimeType": "image/png"}}"#;
    let v: Value = json::record_from_str(legacy).unwrap();
    assert!(
        atmo_data::Blob::from_value(v.get("b").unwrap())
            .unwrap()
            .size
            .is_none()
    );
}
