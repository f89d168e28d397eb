//! Building and signing operations: a genesis, updates (rotate keys, change the handle or
//! the PDS), a tombstone. Sign with any rotation key ([`atmo_crypto::Keypair`], secp256k1
//! or P-256); the signature covers the DAG-CBOR of the operation without `sig`.

use std::collections::BTreeMap;

use atmo_crypto::{Keypair, PublicKey};
use atmo_data::Cid;
use atmo_syntax::Did;
use base64::Engine as _;

use super::data::PlcData;
use super::op::{Operation, PlcOperation, PlcService, Tombstone};
use crate::Error;

/// A `plc_operation` before it is signed.
///
/// ```
/// use atmo_crypto::{Curve, Keypair};
/// use atmo_identity::plc::UnsignedPlcOperation;
///
/// # fn main() -> Result<(), atmo_identity::Error> {
/// let rotation = Keypair::generate(Curve::K256).map_err(atmo_identity::Error::Sign)?;
/// let signing = Keypair::generate(Curve::P256).map_err(atmo_identity::Error::Sign)?;
/// let genesis = UnsignedPlcOperation::atproto(
///     &[rotation.public_key()],
///     &signing.public_key(),
///     "alice.example.com",
///     "https://pds.example.com",
/// )
/// .sign(&rotation)?;
/// let did = genesis.genesis_did()?;
/// assert!(did.as_str().starts_with("did:plc:"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsignedPlcOperation {
    /// Rotation keys (`did:key`), highest priority first.
    pub rotation_keys: Vec<String>,
    /// Verification methods: id (without `#`) to `did:key`.
    pub verification_methods: BTreeMap<String, String>,
    /// Other names, e.g. `at://alice.test`.
    pub also_known_as: Vec<String>,
    /// Services: id (without `#`) to service.
    pub services: BTreeMap<String, PlcService>,
    /// The CID of the previous operation; `None` for a genesis.
    pub prev: Option<Cid>,
}

impl UnsignedPlcOperation {
    /// A genesis operation in the atproto shape: the rotation keys, the `atproto` signing
    /// key, `at://<handle>` and the `atproto_pds` service.
    #[must_use]
    pub fn atproto(
        rotation_keys: &[PublicKey],
        signing_key: &PublicKey,
        handle: &str,
        pds: &str,
    ) -> Self {
        Self {
            rotation_keys: rotation_keys.iter().map(PublicKey::to_did_key).collect(),
            verification_methods: BTreeMap::from([(
                "atproto".to_owned(),
                signing_key.to_did_key(),
            )]),
            also_known_as: vec![format!("at://{handle}")],
            services: BTreeMap::from([(
                "atproto_pds".to_owned(),
                PlcService {
                    type_: crate::document::PDS_SERVICE_TYPE.to_owned(),
                    endpoint: pds.to_owned(),
                },
            )]),
            prev: None,
        }
    }

    /// An update of `state` that follows the operation `prev` (change the fields, then
    /// [`sign`](Self::sign)).
    #[must_use]
    pub fn update(state: &PlcData, prev: Cid) -> Self {
        Self {
            rotation_keys: state.rotation_keys.clone(),
            verification_methods: state.verification_methods.clone(),
            also_known_as: state.also_known_as.clone(),
            services: state.services.clone(),
            prev: Some(prev),
        }
    }

    /// Replaces the rotation keys.
    #[must_use]
    pub fn with_rotation_keys(mut self, keys: &[PublicKey]) -> Self {
        self.rotation_keys = keys.iter().map(PublicKey::to_did_key).collect();
        self
    }

    /// Replaces the `atproto` signing key.
    #[must_use]
    pub fn with_signing_key(mut self, key: &PublicKey) -> Self {
        self.verification_methods
            .insert("atproto".to_owned(), key.to_did_key());
        self
    }

    /// Sets the handle: replaces the first `at://` entry of `alsoKnownAs` (or puts one
    /// first), as the reference's `updateHandleOp` does.
    #[must_use]
    pub fn with_handle(mut self, handle: &str) -> Self {
        let uri = format!("at://{handle}");
        match self
            .also_known_as
            .iter_mut()
            .find(|a| a.starts_with("at://"))
        {
            Some(slot) => *slot = uri,
            None => self.also_known_as.insert(0, uri),
        }
        self
    }

    /// Sets the `atproto_pds` service endpoint.
    #[must_use]
    pub fn with_pds(mut self, endpoint: &str) -> Self {
        self.services.insert(
            "atproto_pds".to_owned(),
            PlcService {
                type_: crate::document::PDS_SERVICE_TYPE.to_owned(),
                endpoint: endpoint.to_owned(),
            },
        );
        self
    }

    /// Signs with `key` (which must be a rotation key of the parent operation, or of this
    /// one for a genesis, for the directory to accept it).
    ///
    /// # Errors
    ///
    /// [`Error::Sign`] when signing fails.
    pub fn sign(self, key: &Keypair) -> Result<Operation, Error> {
        Operation::Plc(PlcOperation {
            rotation_keys: self.rotation_keys,
            verification_methods: self.verification_methods,
            also_known_as: self.also_known_as,
            services: self.services,
            prev: self.prev,
            sig: String::new(),
        })
        .signed(key)
    }
}

impl Operation {
    /// A tombstone following `prev`, signed by `key`.
    ///
    /// # Errors
    ///
    /// [`Error::Sign`] when signing fails.
    pub fn tombstone(prev: Cid, key: &Keypair) -> Result<Operation, Error> {
        Operation::Tombstone(Tombstone {
            prev,
            sig: String::new(),
        })
        .signed(key)
    }

    /// The operation with its `sig` replaced by `key`'s signature of its DAG-CBOR without
    /// `sig` (base64url, no padding).
    ///
    /// # Errors
    ///
    /// [`Error::Sign`] when signing fails.
    pub fn signed(mut self, key: &Keypair) -> Result<Operation, Error> {
        let sig = key.sign(&self.unsigned_cbor()).map_err(Error::Sign)?;
        self.set_sig(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig));
        Ok(self)
    }

    /// For a genesis operation, the DID and the operation; a shorthand for
    /// [`genesis_did`](Self::genesis_did).
    ///
    /// # Errors
    ///
    /// As [`genesis_did`](Self::genesis_did).
    pub fn into_genesis(self) -> Result<(Did, Operation), Error> {
        let did = self.genesis_did()?;
        Ok((did, self))
    }
}
