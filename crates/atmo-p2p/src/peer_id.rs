//! atproto identities as libp2p peers: the PeerID of a DID's `#atproto` signing key.
//!
//! A libp2p PeerID is the multihash of the peer's public key in libp2p's protobuf key
//! encoding (the peer-id spec): a secp256k1 key (the usual atproto signing key) is its
//! 33-byte compressed point, short enough to be inlined (identity multihash, PeerIDs
//! starting `16Uiu2`); a P-256 key is its DER SubjectPublicKeyInfo under the ECDSA key
//! type, hashed with SHA-256 (PeerIDs starting `Qm`).

use atmo_crypto::{Curve, Keypair, PublicKey};
use atmo_identity::DidDocument;
use libp2p::PeerId;
use libp2p::identity;

use crate::error::Error;

/// The libp2p public key of an atproto public key.
///
/// # Errors
/// [`Error::Key`] if libp2p refuses the point (it never does for a key atmo-crypto
/// accepted).
pub fn libp2p_public_key(key: &PublicKey) -> Result<identity::PublicKey, Error> {
    match key.curve() {
        Curve::K256 => identity::secp256k1::PublicKey::try_from_bytes(&key.to_sec1_compressed())
            .map(identity::PublicKey::from)
            .map_err(|_| Error::Key {
                reason: "libp2p refuses the secp256k1 point",
            }),
        Curve::P256 => identity::ecdsa::PublicKey::try_from_bytes(&key.to_sec1_uncompressed())
            .map(identity::PublicKey::from)
            .map_err(|_| Error::Key {
                reason: "libp2p refuses the P-256 point",
            }),
    }
}

/// The PeerID of an atproto public key (see the module documentation for the encoding).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let key = atmo_crypto::PublicKey::from_did_key(
///     "did:key:zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF",
/// )?;
/// let peer = atmo_p2p::peer_id_for_key(&key)?;
/// assert!(peer.to_string().starts_with("16Uiu2"));
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::Key`], see [`libp2p_public_key`].
pub fn peer_id_for_key(key: &PublicKey) -> Result<PeerId, Error> {
    Ok(libp2p_public_key(key)?.to_peer_id())
}

/// The PeerID of a DID: that of the `#atproto` signing key of its document.
///
/// To resolve the DID first, use [`Resolver::resolve_did`](atmo_identity::Resolver::resolve_did)
/// (or the CLI's `atmo p2p peer-id DID`).
///
/// # Errors
/// [`Error::Identity`] when the document has no usable `#atproto` key.
pub fn peer_id_for_did(doc: &DidDocument) -> Result<PeerId, Error> {
    peer_id_for_key(&doc.signing_key()?)
}

/// Does `peer` belong to `doc`'s DID, that is, is it the PeerID of the document's
/// `#atproto` signing key? False when the document has no usable key.
pub fn peer_belongs_to_did(peer: &PeerId, doc: &DidDocument) -> bool {
    peer_id_for_did(doc).is_ok_and(|p| p == *peer)
}

/// A libp2p identity made of an atproto signing keypair, so that a node run by the
/// account itself answers as [`peer_id_for_did`] of its DID.
///
/// # Errors
/// [`Error::Key`] if libp2p refuses the secret (never for a key atmo-crypto made).
pub fn libp2p_keypair(key: &Keypair) -> Result<identity::Keypair, Error> {
    let mut secret = key.to_private_key_bytes();
    let refused = |_| Error::Key {
        reason: "libp2p refuses the secret key",
    };
    match key.curve() {
        Curve::K256 => identity::secp256k1::SecretKey::try_from_bytes(&mut secret)
            .map(|sk| identity::Keypair::from(identity::secp256k1::Keypair::from(sk)))
            .map_err(refused),
        Curve::P256 => identity::ecdsa::SecretKey::try_from_bytes(secret.as_slice())
            .map(|sk| identity::Keypair::from(identity::ecdsa::Keypair::from(sk)))
            .map_err(refused),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn a_node_keyed_by_the_signing_key_answers_as_the_did() {
        for curve in Curve::ALL {
            let key = Keypair::generate(curve).unwrap();
            let node = libp2p_keypair(&key).unwrap();
            assert_eq!(
                node.public().to_peer_id(),
                peer_id_for_key(&key.public_key()).unwrap()
            );
        }
    }

    /// The test vectors of the libp2p peer-id specification ("Test vectors": the public
    /// key protobuf of each private key), for both key kinds atproto uses.
    #[test]
    fn the_peer_id_specification_vectors() {
        let cases = [
            (
                Curve::K256,
                "53DADF1D5A164D6B4ACDB15E24AA4C5B1D3461BDBD42ABEDB0A4404D56CED8FB",
                "08021221037777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0e630bfca99",
            ),
            (
                // The scalar inside the vector's DER private key (after 02 01 01 04 20).
                Curve::P256,
                "3E5B1FE9712E6C314942A750BD67485DE3C1EFE85B1BFB520AE8F9AE3DFA4A4C",
                "0803125b3059301306072a8648ce3d020106082a8648ce3d03010703420004de3d300fa36ae0e8f5d530899d83abab44abf3161f162a4bc901d8e6ecda020e8b6d5f8da30525e71d6851510c098e5c47c646a597fb4dcec034e9f77c409e62",
            ),
        ];
        for (curve, private, public_pb) in cases {
            let key = Keypair::from_private_key_hex(curve, &private.to_lowercase()).unwrap();
            let public = libp2p_public_key(&key.public_key()).unwrap();
            assert_eq!(public.encode_protobuf(), hex(public_pb), "{curve}");
            // The PeerID: identity multihash up to 42 bytes, SHA-256 above.
            let pb = hex(public_pb);
            let want = if pb.len() <= 42 {
                [vec![0x00, pb.len() as u8], pb].concat()
            } else {
                [vec![0x12, 0x20], atmo_crypto::sha256(&pb).to_vec()].concat()
            };
            let peer = peer_id_for_key(&key.public_key()).unwrap();
            assert_eq!(peer.to_bytes(), want, "{curve}");
            // The node keyed by that private key answers as the same PeerID.
            assert_eq!(libp2p_keypair(&key).unwrap().public().to_peer_id(), peer);
        }
    }

    #[test]
    fn a_peer_belongs_to_a_did_only_with_its_signing_key() {
        let key = Keypair::generate(Curve::K256).unwrap();
        let doc = format!(
            r##"{{"id": "did:plc:abcdefghijklmnopqrstuvwx",
                "verificationMethod": [{{"id": "did:plc:abcdefghijklmnopqrstuvwx#atproto",
                    "type": "Multikey", "controller": "did:plc:abcdefghijklmnopqrstuvwx",
                    "publicKeyMultibase": "{}"}}]}}"##,
            key.public_key().to_multikey()
        );
        let doc = DidDocument::from_json(doc.as_bytes()).unwrap();
        let own = peer_id_for_did(&doc).unwrap();
        assert!(peer_belongs_to_did(&own, &doc));
        assert!(peer_belongs_to_did(
            &libp2p_keypair(&key).unwrap().public().to_peer_id(),
            &doc
        ));
        let other = Keypair::generate(Curve::K256).unwrap().public_key();
        assert!(!peer_belongs_to_did(
            &peer_id_for_key(&other).unwrap(),
            &doc
        ));
        assert!(!peer_belongs_to_did(&PeerId::random(), &doc));
        // No #atproto key: nobody belongs.
        let bare =
            DidDocument::from_json(br#"{"id": "did:plc:abcdefghijklmnopqrstuvwx"}"#).unwrap();
        assert!(peer_id_for_did(&bare).is_err());
        assert!(!peer_belongs_to_did(&own, &bare));
    }

    #[test]
    fn secp256k1_peer_ids_inline_the_key_and_p256_ones_hash_it() {
        let k = Keypair::generate(Curve::K256).unwrap().public_key();
        let peer = peer_id_for_key(&k).unwrap();
        let mh = peer.to_bytes();
        // identity multihash (0x00), 37 bytes: protobuf {Type: Secp256k1 (2), Data: 33 bytes}
        assert_eq!(&mh[..6], &[0x00, 37, 0x08, 0x02, 0x12, 33]);
        assert_eq!(&mh[6..], &k.to_sec1_compressed());

        let p = Keypair::generate(Curve::P256).unwrap().public_key();
        let mh = peer_id_for_key(&p).unwrap().to_bytes();
        assert_eq!(&mh[..2], &[0x12, 0x20]);
        // The digest is SHA-256 of {Type: ECDSA (3), Data: DER SubjectPublicKeyInfo}.
        let mut pb = vec![0x08, 0x03, 0x12, 91];
        pb.extend(hex("3059301306072a8648ce3d020106082a8648ce3d030107034200"));
        pb.extend(p.to_sec1_uncompressed());
        assert_eq!(&mh[2..], &atmo_crypto::sha256(&pb));
    }
}
