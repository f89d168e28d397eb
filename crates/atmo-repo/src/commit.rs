//! Signed commits: `{did, version, data, rev, prev, sig}`.

use atmo_crypto::{Keypair, PublicKey};
use atmo_data::{Cid, Map, Value, ValueRef, cbor};
use atmo_syntax::{Did, Tid};

use crate::error::CommitError;

/// The commit version this crate writes.
pub const VERSION: i64 = 3;

/// A repository commit, the root block of a repository.
///
/// Version 3 is written and read; version 2 is read (its `rev` may be absent). The
/// signature covers the DAG-CBOR of the commit without its `sig` field.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use atmo_crypto::{Curve, Keypair};
/// use atmo_repo::Commit;
///
/// let key = Keypair::generate(Curve::K256)?;
/// let data = atmo_data::Cid::for_dag_cbor(&[0xa2, 0x61, 0x65, 0x80, 0x61, 0x6c, 0xf6]);
/// let commit = Commit::sign("did:plc:abcdefghijklmnopqrstuvwx".parse()?, data, "3kabcdefghij2".parse()?, None, &key)?;
/// let bytes = commit.encode();
/// let back = Commit::decode(&bytes)?;
/// back.verify(&key.public_key())?;
/// assert_eq!(back, commit);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// The account's DID.
    pub did: Did,
    /// The repository format version (3, or 2 for old commits).
    pub version: i64,
    /// The root of the record tree (MST).
    pub data: Cid,
    /// The revision, a TID (absent only in some version 2 commits).
    pub rev: Option<Tid>,
    /// The previous commit, virtually always null in version 3.
    pub prev: Option<Cid>,
    /// The signature: 64 bytes, compact `r || s`, low-S.
    pub sig: Vec<u8>,
}

fn shape(reason: &'static str) -> CommitError {
    CommitError::Shape { reason }
}

impl Commit {
    /// Builds and signs a version 3 commit.
    ///
    /// # Errors
    /// [`CommitError::Sign`] if signing fails.
    pub fn sign(
        did: Did,
        data: Cid,
        rev: Tid,
        prev: Option<Cid>,
        key: &Keypair,
    ) -> Result<Self, CommitError> {
        let mut c = Self {
            did,
            version: VERSION,
            data,
            rev: Some(rev),
            prev,
            sig: Vec::new(),
        };
        let sig = key.sign(&c.unsigned_bytes()).map_err(CommitError::Sign)?;
        c.sig = sig.to_vec();
        Ok(c)
    }

    fn to_map(&self, with_sig: bool) -> Map {
        let mut m = Map::with_capacity(6);
        m.insert("did", Value::String(self.did.as_str().into()));
        m.insert("version", Value::Integer(self.version));
        m.insert("data", Value::link(self.data));
        if let Some(rev) = &self.rev {
            m.insert("rev", Value::String(rev.as_str().into()));
        }
        m.insert("prev", self.prev.map_or(Value::Null, Value::link));
        if with_sig {
            m.insert("sig", Value::Bytes(self.sig.clone()));
        }
        m
    }

    /// The DAG-CBOR bytes that are signed: the commit without `sig`.
    pub fn unsigned_bytes(&self) -> Vec<u8> {
        cbor::encode(&Value::Map(self.to_map(false)))
    }

    /// The DAG-CBOR block of the signed commit.
    pub fn encode(&self) -> Vec<u8> {
        cbor::encode(&Value::Map(self.to_map(true)))
    }

    /// The commit's CID (of [`Commit::encode`]).
    pub fn cid(&self) -> Cid {
        Cid::for_dag_cbor(&self.encode())
    }

    /// Decodes a commit block: strict DAG-CBOR, exactly the fields of its version (`did`,
    /// `version`, `data`, `rev`, `prev`, `sig`; version 2 may omit `rev`), `did` a valid
    /// DID and `rev` a valid TID.
    ///
    /// # Errors
    /// [`CommitError`] saying which rule is broken.
    pub fn decode(bytes: &[u8]) -> Result<Self, CommitError> {
        let v = cbor::decode_ref(bytes).map_err(CommitError::Cbor)?;
        let m = v.as_map().ok_or(shape("not a map"))?;
        let (mut did, mut version, mut data, mut rev, mut prev, mut sig) =
            (None, None, None, None, None, None);
        for (k, v) in m.iter() {
            let slot = match k {
                "did" => &mut did,
                "version" => &mut version,
                "data" => &mut data,
                "rev" => &mut rev,
                "prev" => &mut prev,
                "sig" => &mut sig,
                _ => return Err(shape("unknown field")),
            };
            *slot = Some(v);
        }
        let version = version
            .ok_or(shape("missing version"))?
            .as_integer()
            .ok_or(shape("version is not an integer"))?;
        if version != 2 && version != 3 {
            return Err(CommitError::Version { version });
        }
        let did = did
            .ok_or(shape("missing did"))?
            .as_str()
            .ok_or(shape("did is not a string"))?;
        let did = Did::new(did).map_err(CommitError::Did)?;
        let data = data
            .ok_or(shape("missing data"))?
            .as_link()
            .ok_or(shape("data is not a link"))?;
        let rev = match rev {
            None if version == 2 => None,
            None => return Err(shape("missing rev")),
            Some(r) => {
                let r = r.as_str().ok_or(shape("rev is not a string"))?;
                Some(Tid::new(r).map_err(CommitError::Rev)?)
            }
        };
        let prev = match prev.ok_or(shape("missing prev (it must be present, even if null)"))? {
            ValueRef::Null => None,
            ValueRef::Link(c) => Some(c.to_cid()),
            _ => return Err(shape("prev is neither a link nor null")),
        };
        let sig = sig
            .ok_or(shape("missing sig"))?
            .as_bytes()
            .ok_or(shape("sig is not a byte string"))?
            .to_vec();
        Ok(Self {
            did,
            version,
            data,
            rev,
            prev,
            sig,
        })
    }

    /// Verifies the signature against the account's signing key.
    ///
    /// # Errors
    /// [`CommitError::Signature`] with the reason (wrong key or content, high-S, not 64
    /// bytes...).
    pub fn verify(&self, key: &PublicKey) -> Result<(), CommitError> {
        key.verify(&self.unsigned_bytes(), &self.sig)
            .map_err(CommitError::Signature)
    }
}
