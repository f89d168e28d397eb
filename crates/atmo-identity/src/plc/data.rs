//! [`PlcData`]: the state of a did:plc identity after an operation (what the directory
//! serves at `GET /<did>/data`), and its comparison with what a directory serves.

use std::collections::BTreeMap;

use atmo_crypto::PublicKey;
use atmo_syntax::{Did, Handle};

use super::op::{LegacyCreate, Operation, PlcOperation, PlcService};
use crate::Error;
use crate::document::DidDocument;
use crate::error::clip;

/// The PLC state of a DID: what its last valid operation says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlcData {
    /// The DID.
    pub did: Did,
    /// Rotation keys (`did:key`), highest priority first.
    pub rotation_keys: Vec<String>,
    /// Verification methods: id (without `#`) to `did:key`.
    pub verification_methods: BTreeMap<String, String>,
    /// Other names (`at://<handle>` first, by atproto convention).
    pub also_known_as: Vec<String>,
    /// Services: id (without `#`) to service.
    pub services: BTreeMap<String, PlcService>,
}

/// `at://` in front of a bare handle (reference `ensureAtprotoPrefix`: a URL scheme is
/// dropped first).
fn atproto_uri(handle: &str) -> String {
    if handle.starts_with("at://") {
        return handle.to_owned();
    }
    let stripped = handle
        .replacen("http://", "", 1)
        .replacen("https://", "", 1);
    format!("at://{stripped}")
}

/// `https://` in front of a URL without an http(s) scheme (reference `ensureHttpPrefix`).
fn http_url(url: &str) -> String {
    if url.starts_with("http://") || url.starts_with("https://") {
        url.to_owned()
    } else {
        format!("https://{url}")
    }
}

impl PlcData {
    /// The state after `op` (`None` for a tombstone). A legacy create becomes the regular
    /// form as the reference's `normalizeOp` does: `atproto` = signingKey, rotation keys
    /// `[recoveryKey, signingKey]`, `at://<handle>`, `atproto_pds` = service.
    #[must_use]
    pub fn from_operation(did: &Did, op: &Operation) -> Option<Self> {
        match op {
            Operation::Plc(PlcOperation {
                rotation_keys,
                verification_methods,
                also_known_as,
                services,
                ..
            }) => Some(Self {
                did: did.clone(),
                rotation_keys: rotation_keys.clone(),
                verification_methods: verification_methods.clone(),
                also_known_as: also_known_as.clone(),
                services: services.clone(),
            }),
            Operation::Tombstone(_) => None,
            Operation::Create(LegacyCreate {
                signing_key,
                recovery_key,
                handle,
                service,
                ..
            }) => Some(Self {
                did: did.clone(),
                rotation_keys: vec![recovery_key.clone(), signing_key.clone()],
                verification_methods: BTreeMap::from([("atproto".to_owned(), signing_key.clone())]),
                also_known_as: vec![atproto_uri(handle)],
                services: BTreeMap::from([(
                    "atproto_pds".to_owned(),
                    PlcService {
                        type_: crate::document::PDS_SERVICE_TYPE.to_owned(),
                        endpoint: http_url(service),
                    },
                )]),
            }),
        }
    }

    /// The handles named in `alsoKnownAs` (`at://<handle>`), in order, skipping entries that
    /// are not valid handles.
    pub fn handles(&self) -> impl Iterator<Item = Handle> + '_ {
        self.also_known_as
            .iter()
            .filter_map(|a| a.strip_prefix("at://"))
            .filter_map(|h| Handle::new(h).ok())
    }

    /// The `atproto` verification method (the repo signing key), as written.
    #[must_use]
    pub fn atproto_key(&self) -> Option<&str> {
        self.verification_methods.get("atproto").map(String::as_str)
    }

    /// The `atproto_pds` service endpoint, when its type is `AtprotoPersonalDataServer`.
    #[must_use]
    pub fn pds_endpoint(&self) -> Option<&str> {
        self.services
            .get("atproto_pds")
            .filter(|s| s.type_ == crate::document::PDS_SERVICE_TYPE)
            .map(|s| s.endpoint.as_str())
    }

    /// The data as the directory's JSON (`GET /<did>/data`).
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        let services: serde_json::Map<String, serde_json::Value> = self
            .services
            .iter()
            .map(|(k, s)| {
                (
                    k.clone(),
                    serde_json::json!({"type": s.type_, "endpoint": s.endpoint}),
                )
            })
            .collect();
        serde_json::json!({
            "did": self.did.as_str(),
            "verificationMethods": self.verification_methods,
            "rotationKeys": self.rotation_keys,
            "alsoKnownAs": self.also_known_as,
            "services": services,
        })
    }

    /// Reads the directory's `GET /<did>/data` answer: `did` and the four fields of a
    /// regular operation, nothing else.
    ///
    /// # Errors
    ///
    /// [`Error::PlcDecode`] when it is not that shape.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        let err = |message: String| Error::PlcDecode {
            index: None,
            message: format!("/data: {message}"),
        };
        let json: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| err(format!("not JSON: {e}")))?;
        let mut obj = json
            .as_object()
            .cloned()
            .ok_or_else(|| err("not an object".to_owned()))?;
        let did = obj
            .remove("did")
            .and_then(|d| d.as_str().map(str::to_owned))
            .ok_or_else(|| err("did is missing or not a string".to_owned()))?;
        let did = Did::new(&did).map_err(|e| err(format!("did {:?}: {e}", clip(&did, 128))))?;
        obj.insert("type".to_owned(), super::op::TYPE_OPERATION.into());
        obj.insert("prev".to_owned(), serde_json::Value::Null);
        obj.insert("sig".to_owned(), "".into());
        let op = Operation::from_json(&serde_json::Value::Object(obj)).map_err(|e| match e {
            Error::PlcDecode { message, .. } => err(message),
            other => other,
        })?;
        Self::from_operation(&did, &op).ok_or_else(|| err("not a state".to_owned()))
    }

    /// Checks that `served` (the directory's `/data`) is this state.
    ///
    /// # Errors
    ///
    /// [`Error::PlcMismatch`] naming the first field that differs.
    pub fn check_served_data(&self, served: &PlcData) -> Result<(), Error> {
        let mismatch = |field, derived: String, served: String| Error::PlcMismatch {
            did: self.did.clone(),
            field,
            derived,
            served,
        };
        if served.did != self.did {
            return Err(mismatch(
                "/data did",
                self.did.to_string(),
                served.did.to_string(),
            ));
        }
        if served.rotation_keys != self.rotation_keys {
            return Err(mismatch(
                "/data rotationKeys",
                format!("{:?}", self.rotation_keys),
                format!("{:?}", served.rotation_keys),
            ));
        }
        if served.verification_methods != self.verification_methods {
            return Err(mismatch(
                "/data verificationMethods",
                format!("{:?}", self.verification_methods),
                format!("{:?}", served.verification_methods),
            ));
        }
        if served.also_known_as != self.also_known_as {
            return Err(mismatch(
                "/data alsoKnownAs",
                format!("{:?}", self.also_known_as),
                format!("{:?}", served.also_known_as),
            ));
        }
        if served.services != self.services {
            return Err(mismatch(
                "/data services",
                format!("{:?}", self.services),
                format!("{:?}", served.services),
            ));
        }
        Ok(())
    }

    /// Checks that the DID document the directory serves renders this state: its `id`,
    /// `alsoKnownAs` (same list, same order), one verification method per entry with the
    /// same key (compared as keys, so the legacy and Multikey forms both match), and one
    /// service per entry with the same type and endpoint.
    ///
    /// # Errors
    ///
    /// [`Error::PlcMismatch`] naming the first difference.
    pub fn check_served_document(&self, doc: &DidDocument) -> Result<(), Error> {
        let mismatch = |field, derived: String, served: String| Error::PlcMismatch {
            did: self.did.clone(),
            field,
            derived,
            served,
        };
        if doc.id != self.did {
            return Err(mismatch(
                "document id",
                self.did.to_string(),
                doc.id.to_string(),
            ));
        }
        if doc.also_known_as != self.also_known_as {
            return Err(mismatch(
                "document alsoKnownAs",
                format!("{:?}", self.also_known_as),
                format!("{:?}", doc.also_known_as),
            ));
        }
        if doc.verification_method.len() != self.verification_methods.len() {
            return Err(mismatch(
                "document verificationMethod count",
                self.verification_methods.len().to_string(),
                doc.verification_method.len().to_string(),
            ));
        }
        for (id, key) in &self.verification_methods {
            let served = doc
                .verification_key(id)
                .map(|k| k.to_did_key())
                .unwrap_or_else(|e| format!("none ({e})"));
            let same = PublicKey::from_did_key(key).is_ok_and(|k| k.to_did_key() == served);
            if !same {
                return Err(mismatch("document verificationMethod", key.clone(), served));
            }
        }
        if doc.service.len() != self.services.len() {
            return Err(mismatch(
                "document service count",
                self.services.len().to_string(),
                doc.service.len().to_string(),
            ));
        }
        for (id, s) in &self.services {
            let served = doc.service_endpoint(id, &s.type_);
            if served != Some(s.endpoint.as_str()) {
                return Err(mismatch(
                    "document service",
                    format!("#{id} {} {}", s.type_, s.endpoint),
                    format!("#{id} {served:?}"),
                ));
            }
        }
        Ok(())
    }
}
