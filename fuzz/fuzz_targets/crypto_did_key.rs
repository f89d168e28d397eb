//! Fuzz `atmo_crypto::PublicKey::from_did_key` / `from_multikey` and private multibase keys:
//! never panics; parse -> format -> parse is the identity (did:key strings have one form).
#![no_main]

use atmo_crypto::{Keypair, PublicKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = PublicKey::from_did_key(s) {
        let did = key.to_did_key();
        assert_eq!(did, s, "a did:key has exactly one encoding");
        let again = PublicKey::from_did_key(&did).expect("a formatted did:key parses again");
        assert_eq!(again, key);
        assert_eq!(PublicKey::from_multikey(&key.to_multikey()), Ok(key));
        assert_eq!(
            PublicKey::from_sec1_bytes(key.curve(), &key.to_sec1_compressed()),
            Ok(key)
        );
    }
    if let Ok(key) = PublicKey::from_multikey(s) {
        assert_eq!(key.to_multikey(), s);
    }
    if let Ok(keypair) = Keypair::from_private_key_multibase(s) {
        assert_eq!(keypair.to_private_key_multibase(), s);
        let hex = keypair.to_private_key_hex();
        assert_eq!(
            Keypair::from_private_key_hex(keypair.curve(), &hex),
            Ok(keypair)
        );
    }
});
