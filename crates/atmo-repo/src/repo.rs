//! Whole repositories: import a CAR, list and verify records, build a signed repository.

use std::collections::HashSet;

use atmo_crypto::{Keypair, PublicKey};
use atmo_data::{Cid, Value, ValueRef, cbor};
use atmo_syntax::{Did, Tid};

use crate::car::{CarReader, write_car};
use crate::commit::Commit;
use crate::error::{Error, MstError, RepoError};
use crate::mst::{self, Mst, Walk};
use crate::store::CarBlockStore;

/// A repository read from a CAR file: the commit (the first root), the record tree and
/// the records, all borrowed from the file's bytes.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use atmo_crypto::{Curve, Keypair};
/// use atmo_repo::{Repo, VerifyOptions, build_repo};
///
/// let key = Keypair::generate(Curve::P256)?;
/// let post = atmo_data::json::from_str(r#"{"$type": "app.bsky.feed.post", "text": "hi", "createdAt": "2024-01-01T00:00:00Z"}"#)?;
/// let built = build_repo(
///     &"did:plc:abcdefghijklmnopqrstuvwx".parse()?,
///     &key,
///     "3kabcdefghij2".parse()?,
///     [("app.bsky.feed.post/3kabcdefghij2".to_string(), post)],
/// )?;
///
/// let repo = Repo::from_car(&built.car)?;
/// for record in repo.records() {
///     let record = record?;
///     assert_eq!(record.collection(), "app.bsky.feed.post");
///     assert_eq!(record.value()?.get("text").and_then(|t| t.as_str()), Some("hi"));
/// }
/// let report = repo.verify(&VerifyOptions::new().key(key.public_key()))?;
/// assert_eq!(report.records, 1);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Repo<'a> {
    store: CarBlockStore<'a>,
    commit: Commit,
    commit_cid: Cid,
}

impl<'a> Repo<'a> {
    /// Reads a repository CAR with the default limits, checking every block's hash on the
    /// calling thread, and decodes its commit. To check the hashes of a large file on
    /// several threads, use [`Repo::from_reader`] with
    /// [`CarReader::threads`](crate::car::CarReader::threads).
    ///
    /// # Errors
    /// [`Error::Car`] for a bad file, [`RepoError::NoRoot`] or
    /// [`RepoError::MissingBlock`] for a missing commit, [`Error::Commit`] for a bad one.
    pub fn from_car(bytes: &'a [u8]) -> Result<Self, Error> {
        Self::from_store(CarBlockStore::from_car(bytes)?)
    }

    /// Like [`Repo::from_car`] with a configured reader (limits, hash checks).
    ///
    /// # Errors
    /// As for [`Repo::from_car`].
    pub fn from_reader(reader: CarReader<'a>) -> Result<Self, Error> {
        Self::from_store(CarBlockStore::from_reader(reader)?)
    }

    /// A repository over an already indexed CAR.
    ///
    /// # Errors
    /// As for [`Repo::from_car`], except CAR errors.
    pub fn from_store(store: CarBlockStore<'a>) -> Result<Self, Error> {
        let commit_cid = *store.roots().first().ok_or(RepoError::NoRoot)?;
        let bytes = store.get(&commit_cid).ok_or(RepoError::MissingBlock {
            what: "commit",
            cid: commit_cid,
        })?;
        let commit = Commit::decode(bytes)?;
        Ok(Self {
            store,
            commit,
            commit_cid,
        })
    }

    /// The commit.
    pub fn commit(&self) -> &Commit {
        &self.commit
    }

    /// The commit's CID (the CAR's first root).
    pub fn commit_cid(&self) -> Cid {
        self.commit_cid
    }

    /// The blocks of the CAR.
    pub fn store(&self) -> &CarBlockStore<'a> {
        &self.store
    }

    /// The record tree.
    pub fn mst(&self) -> Mst<'_, CarBlockStore<'a>> {
        Mst::new(&self.store, self.commit.data)
    }

    /// Every record in key order (collection, then record key), with the tree's canonical
    /// form checked on the way. Record values are decoded on demand ([`Record::value`]).
    pub fn records(&self) -> Records<'_, 'a> {
        Records {
            walk: self.mst().walk(),
            store: &self.store,
            prefix: None,
        }
    }

    /// Hands every record to `f` on up to `threads` threads (the calling one included;
    /// [`car::default_threads`](crate::car::default_threads) is a good choice when you want
    /// several), in no particular order, with the same checks as [`Repo::records`], and returns the
    /// number of records. The tree is cut into subtrees that the threads walk in turn, so
    /// the walk, the record lookups and whatever `f` does (such as decoding the record)
    /// run side by side. With `threads` at most 1 this is [`Repo::records`] in a loop and
    /// no thread is started. The extra threads are scoped: the call returns once they
    /// are all done, so inside an async runtime call it where blocking is allowed (such
    /// as tokio's `spawn_blocking`), as for any long computation.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use atmo_crypto::{Curve, Keypair};
    /// # let key = Keypair::generate(Curve::K256)?;
    /// # let like = atmo_data::json::from_str(r#"{"$type": "app.bsky.feed.like"}"#)?;
    /// # let records = (0..50).map(|i| (format!("app.bsky.feed.like/3kabcdefgh{i:03}"), like.clone()));
    /// # let did = "did:plc:abcdefghijklmnopqrstuvwx".parse()?;
    /// # let car = atmo_repo::build_repo(&did, &key, atmo_syntax::Tid::now(), records)?.car;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// let repo = atmo_repo::Repo::from_car(&car)?;
    /// let likes = AtomicUsize::new(0);
    /// let n = repo.for_each_record(2, |record| {
    ///     if record.value()?.get("$type").and_then(|t| t.as_str()) == Some("app.bsky.feed.like") {
    ///         likes.fetch_add(1, Ordering::Relaxed);
    ///     }
    ///     Ok(())
    /// })?;
    /// assert_eq!((n, likes.into_inner()), (50, 50));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The first problem in key order: of the tree (as for [`Repo::records`]), a missing
    /// record block, or an error returned by `f`. Once one is found the rest of the work
    /// is abandoned, but `f` may already have seen records after it.
    pub fn for_each_record<F>(&self, threads: usize, f: F) -> Result<usize, Error>
    where
        F: Fn(Record<'a>) -> Result<(), Error> + Sync,
    {
        if threads <= 1 {
            let mut n = 0;
            for record in self.records() {
                f(record?)?;
                n += 1;
            }
            return Ok(n);
        }
        let count = std::sync::atomic::AtomicUsize::new(0);
        let store = &self.store;
        self.mst()
            .par_walk(threads, |path, cid| -> Result<(), Error> {
                let Some(bytes) = store.get(&cid) else {
                    return Err(RepoError::MissingBlock {
                        what: "record",
                        cid,
                    }
                    .into());
                };
                f(Record { path, cid, bytes })?;
                count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(())
            })?;
        Ok(count.into_inner())
    }

    /// The records of one collection, in record key order.
    pub fn collection(&self, nsid: &str) -> Records<'_, 'a> {
        Records {
            walk: self.mst().walk(),
            store: &self.store,
            prefix: Some(format!("{nsid}/")),
        }
    }

    /// One record by collection and record key.
    ///
    /// # Errors
    /// [`Error::Mst`] for a bad tree on the key's path, [`RepoError::MissingBlock`] if the
    /// record's block is not in the CAR.
    pub fn get(&self, collection: &str, rkey: &str) -> Result<Option<Record<'a>>, Error> {
        let path = format!("{collection}/{rkey}");
        let Some(cid) = self.mst().get(&path)? else {
            return Ok(None);
        };
        let bytes = self.store.get(&cid).ok_or(RepoError::MissingBlock {
            what: "record",
            cid,
        })?;
        Ok(Some(Record { path, cid, bytes }))
    }

    /// Checks the whole repository: the commit signature (if a key is given), the DID (if
    /// one is expected), the tree's canonical form, and that every record block is present
    /// and is a strict DAG-CBOR map. Block hashes were checked when the CAR was read
    /// (unless the reader was told to trust them).
    ///
    /// # Errors
    /// The first problem found.
    pub fn verify(&self, opts: &VerifyOptions) -> Result<VerifyReport, Error> {
        self.verify_commit(opts)?;
        let mut walk = self.mst().walk();
        let mut records = 0usize;
        let mut record_cids = HashSet::new();
        for r in walk.by_ref() {
            let (path, cid) = r?;
            let bytes = self.store.get(&cid).ok_or(RepoError::MissingBlock {
                what: "record",
                cid,
            })?;
            if record_cids.insert(cid) {
                cbor::validate(bytes, &cbor::DecodeLimits::DEFAULT).map_err(|source| {
                    RepoError::RecordCbor {
                        path: path.clone(),
                        cid,
                        source,
                    }
                })?;
                if bytes.first().is_none_or(|b| b >> 5 != 5) {
                    return Err(RepoError::RecordNotMap { path, cid }.into());
                }
            }
            records += 1;
        }
        Ok(VerifyReport {
            records,
            nodes: walk.nodes_read(),
            blocks: self.store.len(),
            signature_checked: opts.key.is_some(),
        })
    }
}

impl<'a> Repo<'a> {
    /// Checks the commit alone: its DID (if one is expected) and its signature (if a key
    /// is given). Nothing of the tree is read.
    ///
    /// # Errors
    /// [`RepoError::DidMismatch`], or the signature's error.
    pub fn verify_commit(&self, opts: &VerifyOptions) -> Result<(), Error> {
        if let Some(expected) = &opts.did
            && expected != &self.commit.did
        {
            return Err(RepoError::DidMismatch {
                expected: expected.to_string(),
                found: self.commit.did.to_string(),
            }
            .into());
        }
        if let Some(key) = &opts.key {
            self.commit.verify(key)?;
        }
        Ok(())
    }
}

/// Verifies a record proof, as `com.atproto.sync.getRecord` serves it: a CAR whose root
/// is a signed commit, with the tree nodes on the path to `collection/rkey` and the
/// record's block. Checked: every block against its CID, the commit's DID and signature
/// (as `opts` asks; give both to trust the answer), every node on the path (present,
/// canonical), and the record, a strict DAG-CBOR map. `Ok(None)` is a proof that the
/// signed tree does not hold the key.
///
/// ```
/// use atmo_repo::{VerifyOptions, verify_record_proof};
/// use atmo_crypto::{Curve, Keypair};
///
/// let key = Keypair::generate(Curve::K256).expect("a key");
/// let did: atmo_syntax::Did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz".parse()?;
/// let rev: atmo_syntax::Tid = "3kaaaaaaaaaa2".parse()?;
/// let note = atmo_data::json::record_from_str(r#"{"$type": "com.example.note", "n": 1}"#)?;
/// let car = atmo_repo::build_repo(&did, &key, rev, [("com.example.note/3kaaaaaaaaaa2".to_owned(), note)])?.car;
///
/// let opts = VerifyOptions::new().did(did).key(key.public_key());
/// let found = verify_record_proof(&car, &opts, "com.example.note", "3kaaaaaaaaaa2")?;
/// assert!(found.is_some());
/// assert!(verify_record_proof(&car, &opts, "com.example.note", "3kaaaaaaaaaa3")?.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// The first problem found: the CAR, a block's hash, the DID, the signature, a missing or
/// malformed node on the path ([`Error::Mst`]), a missing record block, or a record that
/// is not a strict DAG-CBOR map.
pub fn verify_record_proof<'a>(
    car: &'a [u8],
    opts: &VerifyOptions,
    collection: &str,
    rkey: &str,
) -> Result<Option<Record<'a>>, Error> {
    let repo = Repo::from_car(car)?;
    repo.verify_commit(opts)?;
    let Some(record) = repo.get(collection, rkey)? else {
        return Ok(None);
    };
    cbor::validate(record.bytes, &cbor::DecodeLimits::DEFAULT).map_err(|source| {
        RepoError::RecordCbor {
            path: record.path.clone(),
            cid: record.cid,
            source,
        }
    })?;
    if record.bytes.first().is_none_or(|b| b >> 5 != 5) {
        return Err(RepoError::RecordNotMap {
            path: record.path,
            cid: record.cid,
        }
        .into());
    }
    Ok(Some(record))
}

/// What [`Repo::verify`] checks beyond the structure.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// The account's signing key; if set, the commit signature must verify with it.
    pub key: Option<PublicKey>,
    /// The expected account DID; if set, the commit's `did` must equal it.
    pub did: Option<Did>,
}

impl VerifyOptions {
    /// No key, no expected DID: structure and hashes only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requires the commit signature to verify with `key`.
    pub fn key(mut self, key: PublicKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Requires the commit to be for `did`.
    pub fn did(mut self, did: Did) -> Self {
        self.did = Some(did);
        self
    }
}

/// What [`Repo::verify`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Number of records.
    pub records: usize,
    /// Number of tree nodes.
    pub nodes: usize,
    /// Number of distinct blocks in the CAR.
    pub blocks: usize,
    /// Whether the commit signature was checked.
    pub signature_checked: bool,
}

/// One record of a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    path: String,
    cid: Cid,
    bytes: &'a [u8],
}

impl<'a> Record<'a> {
    /// `collection/rkey`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The collection NSID.
    pub fn collection(&self) -> &str {
        self.path.split_once('/').map_or("", |(c, _)| c)
    }

    /// The record key.
    pub fn rkey(&self) -> &str {
        self.path.split_once('/').map_or("", |(_, r)| r)
    }

    /// The record's CID.
    pub fn cid(&self) -> Cid {
        self.cid
    }

    /// The record's DAG-CBOR bytes (inside the CAR).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Decodes the record, borrowing from the CAR.
    ///
    /// # Errors
    /// [`RepoError::RecordCbor`] if it is not strict DAG-CBOR.
    pub fn value(&self) -> Result<ValueRef<'a>, Error> {
        cbor::decode_ref(self.bytes).map_err(|source| {
            RepoError::RecordCbor {
                path: self.path.clone(),
                cid: self.cid,
                source,
            }
            .into()
        })
    }

    /// Decodes the record into an owned [`Value`], in one pass over its bytes.
    ///
    /// # Errors
    /// [`RepoError::RecordCbor`] if it is not strict DAG-CBOR.
    pub fn to_value(&self) -> Result<Value, Error> {
        cbor::decode(self.bytes).map_err(|source| self.cbor_error(source))
    }

    /// Decodes the record straight into a typed value, such as a generated record type
    /// of atmo-api (`app_bsky::feed::post::Record`), in one pass over its bytes and with
    /// the strict DAG-CBOR rules: no [`Value`] is built on the way (see
    /// [`atmo_data::from_cbor`]). Strings may be borrowed from the CAR (`&'a str`).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use atmo_crypto::{Curve, Keypair};
    /// # let key = Keypair::generate(Curve::K256)?;
    /// # let post = atmo_data::json::from_str(r#"{"$type": "app.bsky.feed.post", "text": "hi", "createdAt": "2024-01-01T00:00:00Z"}"#)?;
    /// # let did = "did:plc:abcdefghijklmnopqrstuvwx".parse()?;
    /// # let car = atmo_repo::build_repo(&did, &key, atmo_syntax::Tid::now(), [("app.bsky.feed.post/3kabcdefghij2".to_string(), post)])?.car;
    /// #[derive(serde::Deserialize)]
    /// struct Post<'a> {
    ///     text: &'a str,
    /// }
    /// let repo = atmo_repo::Repo::from_car(&car)?;
    /// for record in repo.collection("app.bsky.feed.post") {
    ///     let post: Post = record?.decode()?;
    ///     assert_eq!(post.text, "hi");
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`RepoError::RecordCbor`] if it is not strict DAG-CBOR, [`RepoError::RecordType`]
    /// if it does not fit `T`.
    pub fn decode<T: serde::Deserialize<'a>>(&self) -> Result<T, Error> {
        atmo_data::from_cbor(self.bytes).map_err(|e| self.decode_error(e))
    }

    /// Decodes the record into a type that reads itself from DAG-CBOR
    /// ([`atmo_data::FromCbor`]), such as every generated type of atmo-api: the value and
    /// the errors of [`Self::decode`], with no serde visitor in between (see
    /// [`atmo_data::read_cbor`]), which makes it the faster way to read generated records.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use atmo_crypto::{Curve, Keypair};
    /// # let key = Keypair::generate(Curve::K256)?;
    /// # let post = atmo_data::json::from_str(r#"{"$type": "app.bsky.feed.post", "text": "hi", "createdAt": "2024-01-01T00:00:00Z"}"#)?;
    /// # let did = "did:plc:abcdefghijklmnopqrstuvwx".parse()?;
    /// # let car = atmo_repo::build_repo(&did, &key, atmo_syntax::Tid::now(), [("app.bsky.feed.post/3kabcdefghij2".to_string(), post)])?.car;
    /// use atmo_data::{CborReader, FromCbor, ReadError};
    /// /// A post's text, other keys passed over.
    /// struct Text<'a>(&'a str);
    /// impl<'de> FromCbor<'de> for Text<'de> {
    ///     fn from_cbor(r: &mut CborReader<'de>) -> Result<Self, ReadError> {
    ///         let (mut m, mut text) = (r.map()?, None);
    ///         while let Some(k) = m.key()? {
    ///             if k == b"text" { text = Some(m.value()?) } else { m.skip()? }
    ///         }
    ///         text.map(Text).ok_or_else(|| ReadError::custom("missing field `text`"))
    ///     }
    /// }
    /// let repo = atmo_repo::Repo::from_car(&car)?;
    /// for record in repo.collection("app.bsky.feed.post") {
    ///     assert_eq!(record?.read::<Text>()?.0, "hi");
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Self::decode`].
    pub fn read<T: atmo_data::FromCbor<'a>>(&self) -> Result<T, Error> {
        atmo_data::read_cbor(self.bytes).map_err(|e| self.decode_error(e))
    }

    #[cold]
    fn decode_error(&self, e: atmo_data::Error) -> Error {
        match e {
            atmo_data::Error::Cbor(source) => self.cbor_error(source),
            other => RepoError::RecordType {
                path: self.path.clone(),
                cid: self.cid,
                message: other.to_string(),
            }
            .into(),
        }
    }

    #[cold]
    fn cbor_error(&self, source: cbor::DecodeError) -> Error {
        RepoError::RecordCbor {
            path: self.path.clone(),
            cid: self.cid,
            source,
        }
        .into()
    }
}

/// Iterator over records; see [`Repo::records`].
#[derive(Debug)]
pub struct Records<'r, 'a> {
    walk: Walk<'r, CarBlockStore<'a>>,
    store: &'r CarBlockStore<'a>,
    prefix: Option<String>,
}

impl<'a> Iterator for Records<'_, 'a> {
    type Item = Result<Record<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (path, cid) = match self.walk.next()? {
                Ok(x) => x,
                Err(e) => return Some(Err(e.into())),
            };
            if let Some(p) = &self.prefix {
                if !path.starts_with(p.as_str()) {
                    if path.as_str() > p.as_str() {
                        return None;
                    }
                    continue;
                }
            }
            return Some(match self.store.get(&cid) {
                Some(bytes) => Ok(Record { path, cid, bytes }),
                None => Err(RepoError::MissingBlock {
                    what: "record",
                    cid,
                }
                .into()),
            });
        }
    }
}

/// A repository made by [`build_repo`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltRepo {
    /// The signed commit.
    pub commit: Commit,
    /// The commit's CID (the CAR's root).
    pub commit_cid: Cid,
    /// The CAR file: the commit, the tree nodes (root first), then the records in key order.
    pub car: Vec<u8>,
}

/// Builds a signed version 3 repository from records `(collection/rkey, value)`, in any
/// order, and writes it as a CAR.
///
/// # Errors
/// [`RepoError::InvalidPath`] or [`RepoError::DuplicatePath`] for bad paths,
/// [`RepoError::RecordTooLarge`] for a record the CAR readers' default block limit
/// would refuse, [`Error::Commit`] if signing fails.
pub fn build_repo(
    did: &Did,
    key: &Keypair,
    rev: Tid,
    records: impl IntoIterator<Item = (String, Value)>,
) -> Result<BuiltRepo, Error> {
    let mut items: Vec<(String, Cid, Vec<u8>)> = Vec::new();
    for (path, value) in records {
        if let Err(MstError::InvalidKey { reason, .. }) = mst::check_key(&path) {
            return Err(RepoError::InvalidPath { path, reason }.into());
        }
        let bytes = cbor::encode(&value);
        let cid = Cid::for_dag_cbor(&bytes);
        // What the CAR readers take (their default block limit), a writer must not exceed.
        let len = bytes.len() + cid.encoded_len();
        let max = crate::car::CarLimits::DEFAULT.max_block_len;
        if len > max {
            return Err(RepoError::RecordTooLarge { path, len, max }.into());
        }
        items.push((path, cid, bytes));
    }
    items.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    if let Some(w) = items.windows(2).find(|w| matches!(w, [a, b] if a.0 == b.0)) {
        let path = w.first().map(|a| a.0.clone()).unwrap_or_default();
        return Err(RepoError::DuplicatePath { path }.into());
    }
    let tree = mst::build(items.iter().map(|(p, c, _)| (p.clone(), *c)))?;
    let commit = Commit::sign(did.clone(), tree.root, rev, None, key)?;
    let commit_bytes = commit.encode();
    let commit_cid = Cid::for_dag_cbor(&commit_bytes);
    let mut seen = HashSet::new();
    let blocks = std::iter::once((commit_cid, commit_bytes.as_slice()))
        .chain(tree.blocks.iter().rev().map(|(c, b)| (*c, b.as_slice())))
        .chain(items.iter().map(|(_, c, b)| (*c, b.as_slice())))
        .filter(|(c, _)| seen.insert(*c));
    let car = write_car(&[commit_cid], blocks);
    Ok(BuiltRepo {
        commit,
        commit_cid,
        car,
    })
}
