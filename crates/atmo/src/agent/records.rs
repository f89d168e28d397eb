//! Typed record operations on the signed-in account's repository, batched writes, and
//! a repository's head.

use atmo_api::Collection;
use atmo_api::com_atproto::repo::{
    apply_writes, create_record, delete_record, get_record, put_record,
};
use atmo_api::com_atproto::sync::get_latest_commit;
use atmo_api::records::{Records, Stored, Swap, Written};
use atmo_data::{Cid, Value};
use atmo_syntax::{AtUri, CidString, Did, Nsid, RecordKey, Tid};
use futures_util::{Stream, StreamExt as _};

use super::Agent;
use crate::error::{Error, Result};

/// A repository's current commit (`com.atproto.sync.getLatestCommit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoHead {
    /// The commit's CID.
    pub cid: Cid,
    /// The commit's revision.
    pub rev: Tid,
}

/// One write of a batch ([`Agent::apply_writes`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Write {
    /// Create a record (the PDS picks a TID key when `rkey` is `None`).
    Create {
        /// The collection.
        collection: Nsid,
        /// The key, if chosen.
        rkey: Option<RecordKey>,
        /// The record, with its `$type`.
        value: Value,
    },
    /// Replace (or create) the record at a key.
    Update {
        /// The collection.
        collection: Nsid,
        /// The key.
        rkey: RecordKey,
        /// The record, with its `$type`.
        value: Value,
    },
    /// Delete the record at a key.
    Delete {
        /// The collection.
        collection: Nsid,
        /// The key.
        rkey: RecordKey,
    },
}

fn collection<R: Collection>() -> Result<Nsid> {
    R::nsid().map_err(|e| Error::Record {
        nsid: R::NSID,
        message: e.to_string(),
    })
}

fn encode<R: Collection>(record: &R) -> Result<Value> {
    atmo_api::record_value(record).map_err(|e| Error::Record {
        nsid: R::NSID,
        message: e.to_string(),
    })
}

fn cid_string(c: &Cid) -> Result<CidString> {
    CidString::new(&c.to_string()).map_err(|e| Error::Record {
        nsid: "cid",
        message: e.to_string(),
    })
}

pub(crate) fn parse_cid(c: &CidString) -> Result<Cid> {
    Cid::parse(c.as_str()).map_err(|e| {
        Error::Xrpc(atmo_xrpc::Error::Decode {
            what: "CID".to_owned(),
            message: e.to_string(),
        })
    })
}

impl Write {
    /// Creates `record` under a key the PDS picks (or the collection's literal key).
    ///
    /// # Errors
    ///
    /// [`Error::Record`] when the record does not fit the data model.
    pub fn create<R: Collection>(record: &R) -> Result<Self> {
        let rkey = match R::KEY.fixed() {
            Some(k) => Some(RecordKey::new(k).map_err(|e| Error::Record {
                nsid: R::NSID,
                message: e.to_string(),
            })?),
            None => None,
        };
        Ok(Self::Create {
            collection: collection::<R>()?,
            rkey,
            value: encode(record)?,
        })
    }

    /// Creates `record` at `rkey`.
    ///
    /// # Errors
    ///
    /// As [`Write::create`].
    pub fn create_at<R: Collection>(rkey: RecordKey, record: &R) -> Result<Self> {
        Ok(Self::Create {
            collection: collection::<R>()?,
            rkey: Some(rkey),
            value: encode(record)?,
        })
    }

    /// Writes `record` at `rkey`, replacing what is there.
    ///
    /// # Errors
    ///
    /// As [`Write::create`].
    pub fn update<R: Collection>(rkey: RecordKey, record: &R) -> Result<Self> {
        Ok(Self::Update {
            collection: collection::<R>()?,
            rkey,
            value: encode(record)?,
        })
    }

    /// Deletes the `R` at `rkey`.
    ///
    /// # Errors
    ///
    /// [`Error::Record`] for a collection name that is not an NSID (never for a
    /// generated type).
    pub fn delete<R: Collection>(rkey: RecordKey) -> Result<Self> {
        Ok(Self::Delete {
            collection: collection::<R>()?,
            rkey,
        })
    }

    fn into_item(self) -> apply_writes::InputWritesItem {
        match self {
            Self::Create {
                collection,
                rkey,
                value,
            } => {
                let mut c = apply_writes::Create::new(collection, value);
                c.rkey = rkey;
                c.into()
            }
            Self::Update {
                collection,
                rkey,
                value,
            } => apply_writes::Update::new(collection, rkey, value).into(),
            Self::Delete { collection, rkey } => apply_writes::Delete::new(collection, rkey).into(),
        }
    }
}

/// What one write of a batch gave back, in the order of the writes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteResult {
    /// A created record.
    Created(Written),
    /// An updated record.
    Updated(Written),
    /// A deleted record.
    Deleted,
}

impl Agent {
    /// Typed record operations on the signed-in account's repository (the lower-level
    /// form of the methods below, with its own error types).
    ///
    /// # Errors
    ///
    /// [`Error::NotSignedIn`] for a public agent.
    pub fn records(&self) -> Result<Records> {
        Ok(Records::new(self.client(), self.require_did()?.clone()))
    }

    /// Creates a record in the account's repository (the PDS picks a TID key, or the
    /// collection's literal key such as a profile's `self` is used).
    ///
    /// # Errors
    ///
    /// [`Error::NotSignedIn`]; the PDS's refusal as [`Error::Endpoint`] or
    /// [`Error::Xrpc`].
    pub async fn create_record<R: Collection>(&self, record: &R) -> Result<Written> {
        self.records()?
            .create(record)
            .await
            .map_err(|e| Error::from_call(create_record::NSID, e))
    }

    /// Creates a record at a chosen key, only on top of commit `swap_commit` if given.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSwap`] when the repository moved past `swap_commit`; as
    /// [`Agent::create_record`].
    pub async fn create_record_at<R: Collection>(
        &self,
        rkey: Option<RecordKey>,
        record: &R,
        swap_commit: Option<&Cid>,
    ) -> Result<Written> {
        self.records()?
            .create_with(record, rkey, swap_commit)
            .await
            .map_err(|e| Error::from_call(create_record::NSID, e))
    }

    /// Reads a record of the account's repository; `None` when there is none at `rkey`.
    ///
    /// # Errors
    ///
    /// [`Error::Xrpc`] (`Decode`) when the record is not an `R`; as
    /// [`Agent::create_record`].
    pub async fn get_record<R: Collection>(&self, rkey: &RecordKey) -> Result<Option<Stored<R>>> {
        match self.records()?.get::<R>(rkey).await {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.is_endpoint(&get_record::Error::RecordNotFound) => Ok(None),
            Err(e) => Err(Error::from_call(get_record::NSID, e)),
        }
    }

    /// Writes a record at `rkey` (creating or replacing it) under the `swap` conditions.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSwap`] when a condition does not hold; as
    /// [`Agent::create_record`].
    pub async fn put_record<R: Collection>(
        &self,
        rkey: &RecordKey,
        record: &R,
        swap: Swap,
    ) -> Result<Written> {
        self.records()?
            .put(rkey, record, swap)
            .await
            .map_err(|e| Error::from_call(put_record::NSID, e))
    }

    /// Deletes the `R` at `rkey` under the `swap` conditions (deleting a record that does
    /// not exist succeeds).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSwap`] when a condition does not hold; as
    /// [`Agent::create_record`].
    pub async fn delete_record<R: Collection>(&self, rkey: &RecordKey, swap: Swap) -> Result<()> {
        self.records()?
            .delete::<R>(rkey, swap)
            .await
            .map_err(|e| Error::from_call(delete_record::NSID, e))
    }

    /// Deletes the record an AT-URI names in the account's repository, whatever its
    /// collection (a like, a follow, a post).
    ///
    /// # Errors
    ///
    /// [`Error::BadUri`] when the URI is not a record of this account; as
    /// [`Agent::create_record`].
    pub async fn delete_uri(&self, uri: &AtUri) -> Result<()> {
        let me = self.require_did()?;
        let (Some(collection), Some(rkey)) = (uri.collection(), uri.rkey()) else {
            return Err(Error::BadUri {
                uri: uri.to_string(),
                problem: "not a record URI (at://did/collection/rkey)",
            });
        };
        if uri.authority().as_str() != me.as_str() {
            return Err(Error::BadUri {
                uri: uri.to_string(),
                problem: "not a record of the signed-in account",
            });
        }
        let input = delete_record::Input::new(me.clone().into(), collection.clone(), rkey.clone());
        self.client()
            .call(&input)
            .await
            .map_err(|e| Error::from_call(delete_record::NSID, e))?;
        Ok(())
    }

    /// Every `R` of the account's repository, in key order, fetched page by page as the
    /// stream is read; the first error ends it.
    pub fn list_records<R>(&self) -> impl Stream<Item = Result<Stored<R>>> + use<R>
    where
        R: Collection + Send + 'static,
    {
        match self.records() {
            Ok(records) => records
                .list::<R>()
                .map(|item| item.map_err(|e| Error::Xrpc(e.into_error())))
                .left_stream(),
            Err(e) => futures_util::stream::iter([Err(e)]).right_stream(),
        }
    }

    /// Applies several writes as one commit, only on top of commit `swap_commit` if
    /// given; returns one result per write, in order.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSwap`] when the repository moved past `swap_commit`; as
    /// [`Agent::create_record`].
    pub async fn apply_writes(
        &self,
        writes: Vec<Write>,
        swap_commit: Option<&Cid>,
    ) -> Result<Vec<WriteResult>> {
        let did = self.require_did()?.clone();
        let items: Vec<_> = writes.into_iter().map(Write::into_item).collect();
        let mut input = apply_writes::Input::new(did.into(), items);
        input.swap_commit = swap_commit.map(cid_string).transpose()?;
        let out = self
            .client()
            .call(&input)
            .await
            .map_err(|e| Error::from_call(apply_writes::NSID, e))?;
        out.results
            .unwrap_or_default()
            .into_iter()
            .map(|r| {
                Ok(match r {
                    apply_writes::OutputResultsItem::CreateResult(c) => {
                        WriteResult::Created(Written {
                            cid: parse_cid(&c.cid)?,
                            uri: c.uri,
                        })
                    }
                    apply_writes::OutputResultsItem::UpdateResult(u) => {
                        WriteResult::Updated(Written {
                            cid: parse_cid(&u.cid)?,
                            uri: u.uri,
                        })
                    }
                    _ => WriteResult::Deleted,
                })
            })
            .collect()
    }

    /// The current commit of `did`'s repository, asked of the PDS its DID document names.
    ///
    /// # Errors
    ///
    /// [`Error::Identity`] when the DID does not resolve; [`Error::Endpoint`] with
    /// `RepoNotFound`, `RepoTakendown`... as the PDS says; [`Error::Xrpc`].
    pub async fn get_repo_head(&self, did: &Did) -> Result<RepoHead> {
        let pds = self.pds_client(did).await?;
        let out = pds
            .call(&get_latest_commit::Params::new(did.clone()))
            .await
            .map_err(|e| Error::from_call(get_latest_commit::NSID, e))?;
        Ok(RepoHead {
            cid: parse_cid(&out.cid)?,
            rev: out.rev,
        })
    }
}
