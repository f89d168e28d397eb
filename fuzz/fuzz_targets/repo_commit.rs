//! Commit decoding of arbitrary bytes. Invariants: no panic; on `Ok`, re-encoding gives
//! the input back (the commit CID is stable), the unsigned bytes decode as strict DAG-CBOR,
//! and verification with an unrelated key fails rather than panics.
#![no_main]

use atmo_repo::Commit;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(commit) = Commit::decode(data) else {
        return;
    };
    assert_eq!(commit.encode(), data);
    assert!(atmo_data::cbor::decode(&commit.unsigned_bytes()).is_ok());
    let key = atmo_crypto::PublicKey::from_did_key(
        "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
    )
    .expect("a valid did:key");
    let _ = commit.verify(&key);
});
