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
