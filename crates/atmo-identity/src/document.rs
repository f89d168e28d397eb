//! The DID document model: what atproto reads from a `did:plc` or `did:web` document.

use atmo_crypto::{Curve, PublicKey};
use atmo_syntax::{Did, Handle, ServiceUrl};
use serde::{Deserialize, Serialize};

use crate::Error;

/// Bounds applied while parsing a DID document (the input is untrusted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DocumentLimits {
    /// Largest document in bytes. Default 64 KiB (real documents are under 2 KiB).
    pub max_bytes: usize,
    /// Most entries in each of `alsoKnownAs`, `verificationMethod` and `service`.
    /// Default 64.
    pub max_entries: usize,
}

impl Default for DocumentLimits {
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024,
            max_entries: 64,
        }
    }
}

/// A DID document, with the fields atproto uses; other fields are ignored.
///
/// ```
/// use atmo_identity::DidDocument;
///
/// # fn main() -> Result<(), atmo_identity::Error> {
/// let doc = DidDocument::from_json(br##"{
///   "id": "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
///   "alsoKnownAs": ["at://atproto.com"],
///   "verificationMethod": [{
///     "id": "did:plc:ewvi7nxzyoun6zhxrhs64oiz#atproto",
///     "type": "Multikey",
///     "controller": "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
///     "publicKeyMultibase": "zQ3shunBKsXixLxKtC5qeSG9E4J5RkGN57im31pcTzbNQnm5w"
///   }],
///   "service": [{
///     "id": "#atproto_pds",
///     "type": "AtprotoPersonalDataServer",
///     "serviceEndpoint": "https://enoki.us-east.host.bsky.network"
///   }]
/// }"##)?;
/// assert_eq!(doc.handle().map(|h| h.to_string()).as_deref(), Some("atproto.com"));
/// assert_eq!(doc.pds_endpoint(), Some("https://enoki.us-east.host.bsky.network"));
/// let key = doc.signing_key()?;
/// assert_eq!(key.to_did_key(), "did:key:zQ3shunBKsXixLxKtC5qeSG9E4J5RkGN57im31pcTzbNQnm5w");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DidDocument {
    /// The JSON-LD `@context` (a string or a list), kept as written.
    #[serde(rename = "@context", default, skip_serializing_if = "Option::is_none")]
    pub context: Option<serde_json::Value>,
    /// The DID this document describes.
    pub id: Did,
    /// Other names of the subject; atproto handles are the `at://<handle>` entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_known_as: Vec<String>,
    /// Public keys; the atproto signing key has the id `#atproto`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verification_method: Vec<VerificationMethod>,
    /// Services; the PDS has the id `#atproto_pds`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service: Vec<Service>,
}

/// One entry of `verificationMethod`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMethod {
    /// `#atproto` or `<did>#atproto`.
    pub id: String,
    /// `Multikey`, or the legacy `EcdsaSecp256k1VerificationKey2019` /
    /// `EcdsaSecp256r1VerificationKey2019`.
    #[serde(rename = "type")]
    pub type_: String,
    /// The controlling DID.
    #[serde(default)]
    pub controller: String,
    /// The key, multibase encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_multibase: Option<String>,
}

/// One entry of `service`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    /// `#atproto_pds` or `<did>#atproto_pds`.
    pub id: String,
    /// `AtprotoPersonalDataServer` for a PDS.
    #[serde(rename = "type")]
    pub type_: serde_json::Value,
    /// The endpoint: a URL string for atproto services.
    pub service_endpoint: serde_json::Value,
}

/// The verification method type atproto writes today.
pub const MULTIKEY: &str = "Multikey";
/// The legacy secp256k1 verification method type (keys without a multicodec prefix).
pub const LEGACY_K256: &str = "EcdsaSecp256k1VerificationKey2019";
/// The legacy P-256 verification method type (keys without a multicodec prefix).
pub const LEGACY_P256: &str = "EcdsaSecp256r1VerificationKey2019";
/// The service type of a PDS.
pub const PDS_SERVICE_TYPE: &str = "AtprotoPersonalDataServer";

impl DidDocument {
    /// Parses a DID document from JSON with the default [`DocumentLimits`].
    ///
    /// # Errors
    ///
    /// [`Error::DocumentTooLarge`], [`Error::DocumentJson`] (also for an `id` that is not a
    /// DID), [`Error::DocumentTooManyEntries`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        Self::from_json_with_limits(bytes, DocumentLimits::default())
    }

    /// Parses a DID document from JSON within the given limits.
    ///
    /// # Errors
    ///
    /// As [`from_json`](Self::from_json).
    pub fn from_json_with_limits(bytes: &[u8], limits: DocumentLimits) -> Result<Self, Error> {
        if bytes.len() > limits.max_bytes {
            return Err(Error::DocumentTooLarge {
                len: bytes.len(),
                limit: limits.max_bytes,
            });
        }
        let doc: Self = serde_json::from_slice(bytes).map_err(|e| Error::DocumentJson {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        for (field, count) in [
            ("alsoKnownAs", doc.also_known_as.len()),
            ("verificationMethod", doc.verification_method.len()),
            ("service", doc.service.len()),
        ] {
            if count > limits.max_entries {
                return Err(Error::DocumentTooManyEntries {
                    field,
                    count,
                    limit: limits.max_entries,
                });
            }
        }
        Ok(doc)
    }

    /// The document as JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        // Serializing this plain tree of strings and JSON values cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The DID the document describes.
    #[must_use]
    pub fn did(&self) -> &Did {
        &self.id
    }

    /// Checks that the document describes `did`.
    ///
    /// # Errors
    ///
    /// [`Error::DocumentIdMismatch`] when it does not.
    pub fn check_id(&self, did: &Did) -> Result<(), Error> {
        if self.id.as_str() == did.as_str() {
            Ok(())
        } else {
            Err(Error::DocumentIdMismatch {
                expected: did.to_string(),
                found: self.id.to_string(),
            })
        }
    }

    /// The handles the document claims: every `at://` entry of `alsoKnownAs` that is a
    /// syntactically valid handle, in order, lower-cased.
    pub fn handles(&self) -> impl Iterator<Item = Handle> + '_ {
        self.also_known_as
            .iter()
            .filter_map(|aka| aka.strip_prefix("at://"))
            .filter_map(|h| Handle::new(h).ok())
    }

    /// The claimed handle: the first valid `at://` entry of `alsoKnownAs`.
    ///
    /// It is only a claim: the handle must resolve back to this DID before it is shown
    /// (the resolver does that check).
    #[must_use]
    pub fn handle(&self) -> Option<Handle> {
        self.handles().next()
    }

    /// Whether a fragment id (`#name`) or an absolute one (`<did>#name`) names `fragment`.
    fn id_matches(&self, id: &str, fragment: &str) -> bool {
        match id.split_once('#') {
            Some(("", f)) => f == fragment,
            Some((did, f)) => f == fragment && did == self.id.as_str(),
            None => false,
        }
    }

    /// The `#atproto` verification method, if present.
    #[must_use]
    pub fn atproto_verification_method(&self) -> Option<&VerificationMethod> {
        self.verification_method
            .iter()
            .find(|m| self.id_matches(&m.id, "atproto"))
    }

    /// The atproto signing key: the `#atproto` verification method (matched as `#atproto`
    /// or `<did>#atproto`), as `Multikey` or one of the two legacy types.
    ///
    /// # Errors
    ///
    /// [`Error::NoSigningKey`] without such a method, [`Error::UnsupportedKeyType`] for
    /// another type or a missing `publicKeyMultibase`, [`Error::BadSigningKey`] for a key
    /// that does not decode.
    pub fn signing_key(&self) -> Result<PublicKey, Error> {
        self.verification_key("atproto")
    }

    /// The key of the verification method with this fragment (`atproto` for the repo
    /// signing key, `atproto_label` for a labeler's), matched as `#<fragment>` or
    /// `<did>#<fragment>`.
    ///
    /// # Errors
    ///
    /// As [`DidDocument::signing_key`].
    pub fn verification_key(&self, fragment: &str) -> Result<PublicKey, Error> {
        let method = self
            .verification_method
            .iter()
            .find(|m| self.id_matches(&m.id, fragment))
            .ok_or_else(|| Error::NoSigningKey {
                did: self.id.to_string(),
            })?;
        let unsupported = || Error::UnsupportedKeyType {
            did: self.id.to_string(),
            method_type: method.type_.clone(),
        };
        let multibase = method
            .public_key_multibase
            .as_deref()
            .ok_or_else(unsupported)?;
        let parsed = match method.type_.as_str() {
            MULTIKEY => PublicKey::from_multikey(multibase),
            LEGACY_K256 => PublicKey::from_legacy_multibase(Curve::K256, multibase),
            LEGACY_P256 => PublicKey::from_legacy_multibase(Curve::P256, multibase),
            _ => return Err(unsupported()),
        };
        parsed.map_err(|error| Error::BadSigningKey {
            did: self.id.to_string(),
            method_type: method.type_.clone(),
            error,
        })
    }

    /// The endpoint of the service with the given fragment (`atproto_pds`) and type, when
    /// it is a string.
    #[must_use]
    pub fn service_endpoint(&self, fragment: &str, service_type: &str) -> Option<&str> {
        self.service
            .iter()
            .find(|s| self.id_matches(&s.id, fragment))
            .filter(|s| s.type_.as_str() == Some(service_type))
            .and_then(|s| s.service_endpoint.as_str())
    }

    /// The PDS URL: the `#atproto_pds` service of type `AtprotoPersonalDataServer`, when
    /// its endpoint is an `http://` or `https://` URL with a host and nothing after it but
    /// an optional `/`.
    #[must_use]
    pub fn pds_endpoint(&self) -> Option<&str> {
        self.service_endpoint("atproto_pds", PDS_SERVICE_TYPE)
            .filter(|e| is_base_url(e))
    }

    /// Like [`pds_endpoint`](Self::pds_endpoint), with the reason when there is none.
    ///
    /// # Errors
    ///
    /// [`Error::NoPds`] without the service, [`Error::BadPdsEndpoint`] for a bad URL.
    pub fn require_pds_endpoint(&self) -> Result<&str, Error> {
        match self.service_endpoint("atproto_pds", PDS_SERVICE_TYPE) {
            None => Err(Error::NoPds {
                did: self.id.to_string(),
            }),
            Some(e) if is_base_url(e) => Ok(e),
            Some(e) => Err(Error::BadPdsEndpoint {
                did: self.id.to_string(),
                endpoint: crate::error::clip(e, 256),
            }),
        }
    }
}

impl DidDocument {
    /// The PDS URL as a typed [`ServiceUrl`] (normalised: lower case, no trailing `/`).
    ///
    /// # Errors
    ///
    /// As [`require_pds_endpoint`](Self::require_pds_endpoint).
    pub fn pds_url(&self) -> Result<ServiceUrl, Error> {
        let e = self.require_pds_endpoint()?;
        ServiceUrl::new(e).map_err(|_| Error::BadPdsEndpoint {
            did: self.id.to_string(),
            endpoint: crate::error::clip(e, 256),
        })
    }
}

/// `http(s)://host[:port][/]`: what a service endpoint must look like.
pub(crate) fn is_base_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    !authority.is_empty()
        && authority.len() <= 300
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}
