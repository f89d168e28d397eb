//! Labels (`com.atproto.label.defs#label`): typed, signed and verified.
//!
//! A label's signature is made by the labeller's `#atproto_label` key over the DAG-CBOR
//! encoding of the label without its `sig` field. [`Label::verify`] re-encodes exactly
//! the fields that came (so a labeller that writes `neg: false` and one that omits it
//! both verify); [`Label::sign`] writes the canonical form (`ver: 1`, no `neg` when it
//! is false, no empty `cid`).
//!
//! ```
//! use atmo_crypto::{Curve, Keypair};
//! use atmo_firehose::Label;
//!
//! let key = Keypair::generate(Curve::K256).unwrap();
//! let label = Label::new(
//!     "did:plc:ar7c4by46qjdydhdevvrndac".parse().unwrap(),
//!     "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3k2a",
//!     "spam",
//!     "2024-05-01T12:00:00.000Z",
//! )
//! .sign(&key)
//! .unwrap();
//! assert!(label.verify(&key.public_key()).is_ok());
//! let mut forged = label.clone();
//! forged.val = "ok".into();
//! assert!(forged.verify(&key.public_key()).is_err());
//! ```

use atmo_crypto::{Keypair, PublicKey};
use atmo_data::{Map, Value};
use atmo_syntax::Did;

/// The longest label value (bytes), as the lexicon says.
pub const MAX_LABEL_VALUE: usize = 128;

/// Why a label is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LabelError {
    /// Not a map, or a field missing or of the wrong type.
    #[error("label field {field}: {reason}")]
    Field {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// No `sig`.
    #[error("label from {src} is not signed")]
    Unsigned {
        /// The labeller.
        src: String,
    },
    /// The signature does not verify with the labeller's key.
    #[error("label from {src} ({val} on {uri}): the signature does not match the labeller's key")]
    BadSignature {
        /// The labeller.
        src: String,
        /// The value.
        val: String,
        /// The subject.
        uri: String,
    },
    /// Signing failed.
    #[error("signing: {0}")]
    Sign(String),
}

/// One label.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Label {
    /// The version (1).
    pub ver: Option<i64>,
    /// The labeller.
    pub src: Did,
    /// The subject: an AT-URI (a record) or a DID (an account).
    pub uri: String,
    /// The subject record's version, if the label is about one.
    pub cid: Option<String>,
    /// The value (`spam`, `porn`, `!hide`...).
    pub val: String,
    /// A negation: removes an earlier label.
    pub neg: bool,
    /// When it was created.
    pub cts: String,
    /// When it expires.
    pub exp: Option<String>,
    /// The signature.
    pub sig: Option<Vec<u8>>,
    /// The map as received (what the signature covers, less `sig`).
    raw: Option<Map>,
}

fn field(reason: &'static str, field: &'static str) -> LabelError {
    LabelError::Field { field, reason }
}

impl Label {
    /// An unsigned label of version 1.
    #[must_use]
    pub fn new(
        src: Did,
        uri: impl Into<String>,
        val: impl Into<String>,
        cts: impl Into<String>,
    ) -> Self {
        Self {
            ver: Some(1),
            src,
            uri: uri.into(),
            cid: None,
            val: val.into(),
            neg: false,
            cts: cts.into(),
            exp: None,
            sig: None,
            raw: None,
        }
    }

    /// Reads a label from its data-model value (as a `#labels` message carries it).
    ///
    /// # Errors
    /// [`LabelError::Field`] naming the first bad field.
    pub fn from_value(v: &Value) -> Result<Self, LabelError> {
        let m = v.as_map().ok_or_else(|| field("not a map", "label"))?;
        let string = |name: &'static str| -> Result<Option<String>, LabelError> {
            match m.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.to_string())),
                Some(_) => Err(field("not a string", name)),
            }
        };
        let required = |name: &'static str| -> Result<String, LabelError> {
            string(name)?.ok_or_else(|| field("missing", name))
        };
        let src = Did::new(&required("src")?).map_err(|_| field("not a DID", "src"))?;
        let val = required("val")?;
        if val.len() > MAX_LABEL_VALUE {
            return Err(field("longer than 128 bytes", "val"));
        }
        let ver = match m.get("ver") {
            None => None,
            Some(Value::Integer(i)) => Some(*i),
            Some(_) => return Err(field("not an integer", "ver")),
        };
        let neg = match m.get("neg") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(field("not a boolean", "neg")),
        };
        let sig = match m.get("sig") {
            None => None,
            Some(Value::Bytes(b)) => Some(b.clone()),
            Some(_) => return Err(field("not bytes", "sig")),
        };
        let mut raw = m.clone();
        raw.remove("sig");
        Ok(Self {
            ver,
            src,
            uri: required("uri")?,
            cid: string("cid")?,
            val,
            neg,
            cts: required("cts")?,
            exp: string("exp")?,
            sig,
            raw: Some(raw),
        })
    }

    /// The canonical map of this label, without `sig`.
    fn canonical(&self) -> Map {
        let mut m = Map::new();
        m.insert("ver", Value::Integer(self.ver.unwrap_or(1)));
        m.insert("src", Value::from(self.src.as_str()));
        m.insert("uri", Value::from(self.uri.as_str()));
        if let Some(cid) = self.cid.as_deref().filter(|c| !c.is_empty()) {
            m.insert("cid", Value::from(cid));
        }
        m.insert("val", Value::from(self.val.as_str()));
        if self.neg {
            m.insert("neg", Value::Bool(true));
        }
        m.insert("cts", Value::from(self.cts.as_str()));
        if let Some(exp) = &self.exp {
            m.insert("exp", Value::from(exp.as_str()));
        }
        m
    }

    /// What the signature covers: the label as received (or, for a label made here,
    /// its canonical form), without `sig`, as DAG-CBOR.
    #[must_use]
    pub fn signing_bytes(&self) -> Vec<u8> {
        let map = self.raw.clone().unwrap_or_else(|| self.canonical());
        atmo_data::cbor::encode(&Value::Map(map))
    }

    /// This label signed with the labeller's key (in canonical form).
    ///
    /// # Errors
    /// [`LabelError::Sign`] if signing fails.
    pub fn sign(mut self, key: &Keypair) -> Result<Self, LabelError> {
        self.raw = None;
        let sig = key
            .sign(&self.signing_bytes())
            .map_err(|e| LabelError::Sign(e.to_string()))?;
        self.sig = Some(sig.to_vec());
        Ok(self)
    }

    /// Checks the signature with the labeller's `#atproto_label` key.
    ///
    /// # Errors
    /// [`LabelError::Unsigned`], [`LabelError::BadSignature`].
    pub fn verify(&self, key: &PublicKey) -> Result<(), LabelError> {
        let sig = self.sig.as_deref().ok_or_else(|| LabelError::Unsigned {
            src: self.src.to_string(),
        })?;
        key.verify(&self.signing_bytes(), sig)
            .map_err(|_| LabelError::BadSignature {
                src: self.src.to_string(),
                val: self.val.clone(),
                uri: self.uri.clone(),
            })
    }

    /// The label as a data-model value, with its signature.
    #[must_use]
    pub fn to_value(&self) -> Value {
        let mut m = self.raw.clone().unwrap_or_else(|| self.canonical());
        if let Some(sig) = &self.sig {
            m.insert("sig", Value::Bytes(sig.clone()));
        }
        Value::Map(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atmo_crypto::Curve;

    fn label() -> Label {
        Label::new(
            "did:plc:ar7c4by46qjdydhdevvrndac".parse().unwrap(),
            "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
            "!hide",
            "2024-05-01T12:00:00.000Z",
        )
    }

    #[test]
    fn signed_labels_round_trip_through_values() {
        for curve in [Curve::K256, Curve::P256] {
            let key = Keypair::generate(curve).unwrap();
            let l = label().sign(&key).unwrap();
            let back = Label::from_value(&l.to_value()).unwrap();
            back.verify(&key.public_key()).unwrap();
            assert_eq!(back.val, "!hide");
        }
    }

    #[test]
    fn a_label_written_with_neg_false_verifies_as_written() {
        let key = Keypair::generate(Curve::K256).unwrap();
        let mut m = label().canonical();
        m.insert("neg", Value::Bool(false));
        let sig = key
            .sign(&atmo_data::cbor::encode(&Value::Map(m.clone())))
            .unwrap();
        m.insert("sig", Value::Bytes(sig.to_vec()));
        let l = Label::from_value(&Value::Map(m)).unwrap();
        l.verify(&key.public_key()).unwrap();
    }

    #[test]
    fn tampering_and_bad_shapes_are_refused() {
        let key = Keypair::generate(Curve::K256).unwrap();
        let l = label().sign(&key).unwrap();
        let mut v = l.to_value();
        if let Value::Map(m) = &mut v {
            m.insert("val", Value::from("ok"));
        }
        let t = Label::from_value(&v).unwrap();
        assert!(matches!(
            t.verify(&key.public_key()),
            Err(LabelError::BadSignature { .. })
        ));
        let other = Keypair::generate(Curve::K256).unwrap();
        assert!(l.verify(&other.public_key()).is_err());
        assert!(matches!(
            label().verify(&key.public_key()),
            Err(LabelError::Unsigned { .. })
        ));
        for bad in [
            Value::from("x"),
            atmo_data::json::from_str(r#"{"src": "nope", "uri": "x", "val": "x", "cts": "x"}"#)
                .unwrap(),
            atmo_data::json::from_str(
                r#"{"src": "did:plc:ar7c4by46qjdydhdevvrndac", "uri": "x", "cts": "x"}"#,
            )
            .unwrap(),
        ] {
            assert!(Label::from_value(&bad).is_err());
        }
    }
}
