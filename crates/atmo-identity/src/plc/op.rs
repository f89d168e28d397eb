//! The did:plc operation model: [`Operation`] (`plc_operation`, `plc_tombstone`, legacy
//! `create`), its strict JSON decoding, its DAG-CBOR encoding (signed and unsigned), its
//! CID, and the DID a genesis operation hashes to.

use std::collections::BTreeMap;

use atmo_data::{Cid, Map, Value};
use atmo_syntax::Did;
use base64::Engine as _;

use crate::Error;
use crate::error::clip;

/// The `type` of a regular operation.
pub const TYPE_OPERATION: &str = "plc_operation";
/// The `type` of a tombstone.
pub const TYPE_TOMBSTONE: &str = "plc_tombstone";
/// The `type` of the legacy genesis operation.
pub const TYPE_CREATE: &str = "create";

/// A service of a did:plc identity (`services.<id>`), e.g. `atproto_pds`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PlcService {
    /// Its `type`, e.g. `AtprotoPersonalDataServer`.
    pub type_: String,
    /// Its `endpoint` URL.
    pub endpoint: String,
}

/// A regular operation (`type: "plc_operation"`): the whole state of the identity after it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PlcOperation {
    /// Rotation keys (`did:key`), highest priority first.
    pub rotation_keys: Vec<String>,
    /// Verification methods: id (without `#`) to `did:key`, e.g. `atproto`.
    pub verification_methods: BTreeMap<String, String>,
    /// Other names of the DID, e.g. `at://alice.test`, in priority order.
    pub also_known_as: Vec<String>,
    /// Services: id (without `#`) to service, e.g. `atproto_pds`.
    pub services: BTreeMap<String, PlcService>,
    /// The CID of the previous operation; `None` for a genesis operation.
    pub prev: Option<Cid>,
    /// The signature: base64url (no padding) of 64 bytes.
    pub sig: String,
}

/// A tombstone (`type: "plc_tombstone"`): deactivates the DID.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tombstone {
    /// The CID of the previous operation.
    pub prev: Cid,
    /// The signature: base64url (no padding) of 64 bytes.
    pub sig: String,
}

/// The deprecated genesis format (`type: "create"`, `prev: null`), still served for old DIDs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LegacyCreate {
    /// The atproto signing key (`did:key`); also the second rotation key.
    pub signing_key: String,
    /// The recovery key (`did:key`); the first rotation key.
    pub recovery_key: String,
    /// The handle, without `at://`.
    pub handle: String,
    /// The PDS URL.
    pub service: String,
    /// The signature: base64url (no padding) of 64 bytes.
    pub sig: String,
}

/// A signed did:plc operation of any of the three kinds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `plc_operation`.
    Plc(PlcOperation),
    /// `plc_tombstone`.
    Tombstone(Tombstone),
    /// The legacy `create`.
    Create(LegacyCreate),
}

fn string(s: &str) -> Value {
    Value::String(s.into())
}

fn strings(list: &[String]) -> Value {
    Value::Array(list.iter().map(|s| string(s)).collect())
}

impl PlcOperation {
    /// The map of fields without `sig`.
    fn unsigned_map(&self) -> Map {
        let mut m = Map::new();
        m.insert("type", string(TYPE_OPERATION));
        m.insert("rotationKeys", strings(&self.rotation_keys));
        let mut vm = Map::new();
        for (k, v) in &self.verification_methods {
            vm.insert(k.clone(), string(v));
        }
        m.insert("verificationMethods", Value::Map(vm));
        m.insert("alsoKnownAs", strings(&self.also_known_as));
        let mut services = Map::new();
        for (k, s) in &self.services {
            let mut sm = Map::new();
            sm.insert("type", string(&s.type_));
            sm.insert("endpoint", string(&s.endpoint));
            services.insert(k.clone(), Value::Map(sm));
        }
        m.insert("services", Value::Map(services));
        m.insert(
            "prev",
            self.prev.map_or(Value::Null, |c| string(&c.to_string())),
        );
        m
    }
}

impl Operation {
    /// The operation's `type`: `plc_operation`, `plc_tombstone` or `create`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Plc(_) => TYPE_OPERATION,
            Self::Tombstone(_) => TYPE_TOMBSTONE,
            Self::Create(_) => TYPE_CREATE,
        }
    }

    /// The CID of the previous operation (`None` for a genesis operation).
    #[must_use]
    pub fn prev(&self) -> Option<Cid> {
        match self {
            Self::Plc(op) => op.prev,
            Self::Tombstone(t) => Some(t.prev),
            Self::Create(_) => None,
        }
    }

    /// The signature as written (base64url).
    #[must_use]
    pub fn sig(&self) -> &str {
        match self {
            Self::Plc(op) => &op.sig,
            Self::Tombstone(t) => &t.sig,
            Self::Create(c) => &c.sig,
        }
    }

    /// Replaces the signature (as base64url text).
    pub fn set_sig(&mut self, sig: String) {
        match self {
            Self::Plc(op) => op.sig = sig,
            Self::Tombstone(t) => t.sig = sig,
            Self::Create(c) => c.sig = sig,
        }
    }

    /// The signature's 64 bytes, if `sig` is unpadded base64url of 64 bytes (with no stray
    /// bits in its last character).
    #[must_use]
    pub fn sig_bytes(&self) -> Option<[u8; atmo_crypto::SIGNATURE_LEN]> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(self.sig())
            .ok()?;
        bytes.try_into().ok()
    }

    /// The operation as a data-model map, without `sig` when `signed` is false.
    #[must_use]
    pub fn to_value(&self, signed: bool) -> Value {
        let mut m = match self {
            Self::Plc(op) => op.unsigned_map(),
            Self::Tombstone(t) => {
                let mut m = Map::new();
                m.insert("type", string(TYPE_TOMBSTONE));
                m.insert("prev", string(&t.prev.to_string()));
                m
            }
            Self::Create(c) => {
                let mut m = Map::new();
                m.insert("type", string(TYPE_CREATE));
                m.insert("signingKey", string(&c.signing_key));
                m.insert("recoveryKey", string(&c.recovery_key));
                m.insert("handle", string(&c.handle));
                m.insert("service", string(&c.service));
                m.insert("prev", Value::Null);
                m
            }
        };
        if signed {
            m.insert("sig", string(self.sig()));
        }
        Value::Map(m)
    }

    /// The DAG-CBOR of the signed operation (what its CID and a genesis DID hash).
    #[must_use]
    pub fn to_cbor(&self) -> Vec<u8> {
        atmo_data::cbor::encode(&self.to_value(true))
    }

    /// The DAG-CBOR of the operation without `sig` (what the signature covers).
    #[must_use]
    pub fn unsigned_cbor(&self) -> Vec<u8> {
        atmo_data::cbor::encode(&self.to_value(false))
    }

    /// The operation's CID: CIDv1, dag-cbor, sha-256 of [`to_cbor`](Self::to_cbor).
    #[must_use]
    pub fn cid(&self) -> Cid {
        Cid::for_dag_cbor(&self.to_cbor())
    }

    /// The DID this operation names when it is a genesis operation: `did:plc:` and the
    /// first 24 characters of base32 (lower case, RFC 4648) of SHA-256 of
    /// [`to_cbor`](Self::to_cbor).
    ///
    /// # Errors
    ///
    /// None in practice: [`Error::InvalidDid`] would mean the DID syntax refused
    /// `did:plc:` and 24 characters of `a-z2-7`.
    pub fn genesis_did(&self) -> Result<Did, Error> {
        did_for_signed_cbor(&self.to_cbor())
    }

    /// The rotation keys that may sign the next operation: `rotationKeys`, or for a legacy
    /// create `[recoveryKey, signingKey]` (reference: `normalizeOp`); none after a
    /// tombstone.
    #[must_use]
    pub fn rotation_keys(&self) -> Vec<&str> {
        match self {
            Self::Plc(op) => op.rotation_keys.iter().map(String::as_str).collect(),
            Self::Tombstone(_) => Vec::new(),
            Self::Create(c) => vec![c.recovery_key.as_str(), c.signing_key.as_str()],
        }
    }

    /// The operation as JSON (the form the directory takes and serves).
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        fn to_json(v: &Value) -> serde_json::Value {
            match v {
                Value::String(s) => serde_json::Value::String(s.to_string()),
                Value::Array(a) => serde_json::Value::Array(a.iter().map(to_json).collect()),
                Value::Map(m) => serde_json::Value::Object(
                    m.iter().map(|(k, v)| (k.to_owned(), to_json(v))).collect(),
                ),
                _ => serde_json::Value::Null,
            }
        }
        to_json(&self.to_value(true))
    }

    /// Decodes an operation from its JSON form, strictly: the fields of its `type` and no
    /// other, each of the right JSON type, `prev` present (`null` only where allowed) and a
    /// CID in its canonical string form.
    ///
    /// # Errors
    ///
    /// [`Error::PlcDecode`] (with no index) naming what is wrong.
    pub fn from_json(json: &serde_json::Value) -> Result<Self, Error> {
        decode(json).map_err(|message| Error::PlcDecode {
            index: None,
            message,
        })
    }
}

/// The DID of a genesis operation given its signed DAG-CBOR.
pub(crate) fn did_for_signed_cbor(cbor: &[u8]) -> Result<Did, Error> {
    let hash = atmo_crypto::sha256(cbor);
    let mut id = base32_lower(&hash);
    id.truncate(24);
    let text = format!("did:plc:{id}");
    Did::new(&text).map_err(|error| Error::InvalidDid {
        input: text,
        source_name: "a did:plc genesis hash".to_owned(),
        error,
    })
}

/// RFC 4648 base32, lower case, no padding.
fn base32_lower(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let digit = |v: u32| char::from(ALPHABET.get((v & 31) as usize).copied().unwrap_or(b'a'));
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(digit(buffer >> bits));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(digit(buffer << (5 - bits)));
    }
    out
}

type Obj = serde_json::Map<String, serde_json::Value>;

fn field_str(obj: &Obj, key: &str) -> Result<String, String> {
    match obj.get(key) {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("{key} is not a string")),
        None => Err(format!("{key} is missing")),
    }
}

fn field_strings(obj: &Obj, key: &str) -> Result<Vec<String>, String> {
    match obj.get(key) {
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{key} holds a value that is not a string"))
            })
            .collect(),
        Some(_) => Err(format!("{key} is not an array")),
        None => Err(format!("{key} is missing")),
    }
}

fn field_map<'a>(obj: &'a Obj, key: &str) -> Result<&'a Obj, String> {
    match obj.get(key) {
        Some(serde_json::Value::Object(m)) => Ok(m),
        Some(_) => Err(format!("{key} is not an object")),
        None => Err(format!("{key} is missing")),
    }
}

/// A CID in its canonical string form (what re-encoding gives back).
fn parse_cid(key: &str, s: &str) -> Result<Cid, String> {
    let cid = Cid::parse(s).map_err(|e| format!("{key} {:?} is not a CID: {e}", clip(s, 128)))?;
    if cid.to_string() != s {
        return Err(format!(
            "{key} {:?} is not a CID in canonical form",
            clip(s, 128)
        ));
    }
    Ok(cid)
}

fn only_fields(obj: &Obj, allowed: &[&str]) -> Result<(), String> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!("unknown field {:?}", clip(k, 64))),
        None => Ok(()),
    }
}

fn decode(json: &serde_json::Value) -> Result<Operation, String> {
    let obj = json
        .as_object()
        .ok_or_else(|| "the operation is not a JSON object".to_owned())?;
    let kind = field_str(obj, "type")?;
    match kind.as_str() {
        TYPE_OPERATION => {
            only_fields(
                obj,
                &[
                    "type",
                    "rotationKeys",
                    "verificationMethods",
                    "alsoKnownAs",
                    "services",
                    "prev",
                    "sig",
                ],
            )?;
            let mut verification_methods = BTreeMap::new();
            for (k, v) in field_map(obj, "verificationMethods")? {
                let v = v.as_str().ok_or_else(|| {
                    format!("verificationMethods.{} is not a string", clip(k, 64))
                })?;
                verification_methods.insert(k.clone(), v.to_owned());
            }
            let mut services = BTreeMap::new();
            for (k, v) in field_map(obj, "services")? {
                let s = v
                    .as_object()
                    .ok_or_else(|| format!("services.{} is not an object", clip(k, 64)))?;
                only_fields(s, &["type", "endpoint"])?;
                services.insert(
                    k.clone(),
                    PlcService {
                        type_: field_str(s, "type")?,
                        endpoint: field_str(s, "endpoint")?,
                    },
                );
            }
            let prev = match obj.get("prev") {
                Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(s)) => Some(parse_cid("prev", s)?),
                Some(_) => return Err("prev is neither null nor a string".to_owned()),
                None => {
                    return Err(
                        "prev is missing (it must be present, null for a genesis)".to_owned()
                    );
                }
            };
            Ok(Operation::Plc(PlcOperation {
                rotation_keys: field_strings(obj, "rotationKeys")?,
                verification_methods,
                also_known_as: field_strings(obj, "alsoKnownAs")?,
                services,
                prev,
                sig: field_str(obj, "sig")?,
            }))
        }
        TYPE_TOMBSTONE => {
            only_fields(obj, &["type", "prev", "sig"])?;
            Ok(Operation::Tombstone(Tombstone {
                prev: parse_cid("prev", &field_str(obj, "prev")?)?,
                sig: field_str(obj, "sig")?,
            }))
        }
        TYPE_CREATE => {
            only_fields(
                obj,
                &[
                    "type",
                    "signingKey",
                    "recoveryKey",
                    "handle",
                    "service",
                    "prev",
                    "sig",
                ],
            )?;
            if obj.get("prev") != Some(&serde_json::Value::Null) {
                return Err("a create operation must have prev: null".to_owned());
            }
            Ok(Operation::Create(LegacyCreate {
                signing_key: field_str(obj, "signingKey")?,
                recovery_key: field_str(obj, "recoveryKey")?,
                handle: field_str(obj, "handle")?,
                service: field_str(obj, "service")?,
                sig: field_str(obj, "sig")?,
            }))
        }
        other => Err(format!("unknown operation type {:?}", clip(other, 64))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc4648_vectors() {
        // RFC 4648 section 10, lower-cased, without padding.
        for (input, want) in [
            ("", ""),
            ("f", "my"),
            ("fo", "mzxq"),
            ("foo", "mzxw6"),
            ("foob", "mzxw6yq"),
            ("fooba", "mzxw6ytb"),
            ("foobar", "mzxw6ytboi"),
        ] {
            assert_eq!(base32_lower(input.as_bytes()), want, "{input}");
        }
    }
}
