//! Typed record operations on one repo: create, get, put, delete and list any
//! [`Collection`] through the generated `com.atproto.repo` endpoints.
//!
//! Records are written with their `$type` ([`record_value`]); reads decode into the
//! record type, which keeps the fields it does not know in `extra` (and notes its `$type`
//! in `has_type`, writing it back).
//!
//! ```no_run
//! # #[cfg(feature = "app_bsky")]
//! # async fn demo(client: atmo_xrpc::Client, did: atmo_syntax::Did) -> Result<(), atmo_xrpc::Error> {
//! use futures_util::TryStreamExt;
//! use atmo_api::app_bsky::feed::post;
//! use atmo_api::records::{Records, Swap};
//!
//! let repo = Records::new(&client, did);
//! let now = atmo_syntax::LenientDatetime::new("2024-05-01T12:00:00.000Z");
//! let created = repo.create(&post::Record::new("hello", now)).await?;
//! let Some(rkey) = created.uri.rkey().cloned() else { return Ok(()) };
//!
//! let got = repo.get::<post::Record>(&rkey).await?;
//! assert_eq!(got.value.text, "hello");
//!
//! let edited = post::Record::new("hello again", got.value.created_at.clone());
//! repo.put(&rkey, &edited, Swap::record(created.cid)).await?;
//!
//! let all: Vec<_> = repo.list::<post::Record>().try_collect().await?;
//! println!("{} posts", all.len());
//! repo.delete::<post::Record>(&rkey, Swap::none()).await?;
//! # Ok(()) }
//! ```

use std::convert::Infallible;

use atmo_data::Cid;
use atmo_syntax::{AtIdentifier, AtUri, CidString, Nsid, RecordKey};
use atmo_xrpc::{CallError, Client, Error};
use futures_util::{Stream, StreamExt};

use crate::com_atproto::repo::{
    create_record, delete_record, get_record, list_records, put_record,
};
use crate::rt::{Collection, record_value};

/// What a write gave back: the record's URI and the CID of its new version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// `at://<did>/<collection>/<rkey>`.
    pub uri: AtUri,
    /// The CID of the record as written.
    pub cid: Cid,
}

/// A record read from a repo.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored<R> {
    /// `at://<did>/<collection>/<rkey>`.
    pub uri: AtUri,
    /// The CID of this version (always given by `listRecords`; `getRecord` may omit it).
    pub cid: Option<Cid>,
    /// The record.
    pub value: R,
}

impl<R> From<Stored<R>> for (AtUri, Option<Cid>, R) {
    fn from(s: Stored<R>) -> Self {
        (s.uri, s.cid, s.value)
    }
}

/// Compare-and-swap conditions of a put or delete: the write fails with the endpoint's
/// `InvalidSwap` when the repo or record is not as expected.
///
/// ```
/// use atmo_api::records::Swap;
/// assert_eq!(Swap::none(), Swap::default());
/// assert_eq!(Swap::absent().record, Some(None));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Swap {
    /// The repo's current commit must have this CID.
    pub commit: Option<Cid>,
    /// The record's current version: `Some(Some(cid))` must be that CID, `Some(None)`
    /// must not exist (puts only), `None` not checked.
    pub record: Option<Option<Cid>>,
}

impl Swap {
    /// No condition.
    pub fn none() -> Self {
        Self::default()
    }

    /// The record's current version must be `cid`.
    pub fn record(cid: Cid) -> Self {
        Self {
            commit: None,
            record: Some(Some(cid)),
        }
    }

    /// The record must not exist yet (a put that only creates).
    pub fn absent() -> Self {
        Self {
            commit: None,
            record: Some(None),
        }
    }

    /// The repo's current commit must be `cid`.
    pub fn commit(cid: Cid) -> Self {
        Self {
            commit: Some(cid),
            record: None,
        }
    }

    /// Adds a commit condition.
    #[must_use]
    pub fn and_commit(mut self, cid: Cid) -> Self {
        self.commit = Some(cid);
        self
    }
}

/// Typed record operations on one repo, through a client (logged in, for writes).
#[derive(Debug, Clone)]
pub struct Records {
    client: Client,
    repo: AtIdentifier,
}

impl Records {
    /// Operations on `repo` (a DID or handle) through `client` (cloned: it is cheap).
    pub fn new(client: &Client, repo: impl Into<AtIdentifier>) -> Self {
        Self {
            client: client.clone(),
            repo: repo.into(),
        }
    }

    /// The repo.
    pub fn repo(&self) -> &AtIdentifier {
        &self.repo
    }

    /// Creates a record; the PDS picks the key, except for a collection with a literal
    /// key (a profile's `self`), which is used.
    ///
    /// # Errors
    ///
    /// As [`Records::create_with`].
    pub async fn create<R: Collection>(
        &self,
        record: &R,
    ) -> Result<Written, CallError<create_record::Error>> {
        let rkey = match R::KEY.fixed() {
            Some(k) => Some(RecordKey::new(k).map_err(|e| request_error(&e))?),
            None => None,
        };
        self.create_with(record, rkey, None).await
    }

    /// Creates a record with the given key, if any, and only on top of commit
    /// `swap_commit`, if given.
    ///
    /// # Errors
    ///
    /// [`create_record::Error::InvalidSwap`] when the commit is not `swap_commit`;
    /// otherwise as `atmo_xrpc::Client::call`.
    pub async fn create_with<R: Collection>(
        &self,
        record: &R,
        rkey: Option<RecordKey>,
        swap_commit: Option<&Cid>,
    ) -> Result<Written, CallError<create_record::Error>> {
        let mut input = create_record::Input::new(self.repo.clone(), nsid::<R>()?, value(record)?);
        input.rkey = rkey;
        input.swap_commit = swap_commit.map(cid_string).transpose()?;
        let out = self.client.call(&input).await?;
        written(out.uri, &out.cid)
    }

    /// Reads a record.
    ///
    /// # Errors
    ///
    /// [`get_record::Error::RecordNotFound`] when it does not exist; `Other` with
    /// [`Error::Decode`] when it is not an `R`; otherwise as `Client::call`.
    pub async fn get<R: Collection>(
        &self,
        rkey: &RecordKey,
    ) -> Result<Stored<R>, CallError<get_record::Error>> {
        let params = get_record::Params::new(self.repo.clone(), nsid::<R>()?, rkey.clone());
        let out = self.client.call(&params).await?;
        let cid = out.cid.as_ref().map(parse_cid).transpose()?;
        Ok(Stored {
            uri: out.uri,
            cid,
            value: decode(out.value)?,
        })
    }

    /// Writes a record at `rkey` (creating or replacing it) under the `swap` conditions.
    ///
    /// # Errors
    ///
    /// [`put_record::Error::InvalidSwap`] when a condition does not hold; otherwise as
    /// `Client::call`.
    pub async fn put<R: Collection>(
        &self,
        rkey: &RecordKey,
        record: &R,
        swap: Swap,
    ) -> Result<Written, CallError<put_record::Error>> {
        let mut input = put_record::Input::new(
            self.repo.clone(),
            nsid::<R>()?,
            rkey.clone(),
            value(record)?,
        );
        input.swap_commit = swap.commit.as_ref().map(cid_string).transpose()?;
        input.swap_record = match &swap.record {
            None => None,
            Some(None) => Some(None),
            Some(Some(c)) => Some(Some(cid_string(c)?)),
        };
        let out = self.client.call(&input).await?;
        written(out.uri, &out.cid)
    }

    /// Deletes a record (deleting one that does not exist succeeds) under the `swap`
    /// conditions (`Swap::absent` is not meaningful here and is ignored).
    ///
    /// # Errors
    ///
    /// [`delete_record::Error::InvalidSwap`] when a condition does not hold; otherwise
    /// as `Client::call`.
    pub async fn delete<R: Collection>(
        &self,
        rkey: &RecordKey,
        swap: Swap,
    ) -> Result<(), CallError<delete_record::Error>> {
        let mut input = delete_record::Input::new(self.repo.clone(), nsid::<R>()?, rkey.clone());
        input.swap_commit = swap.commit.as_ref().map(cid_string).transpose()?;
        input.swap_record = match &swap.record {
            Some(Some(c)) => Some(cid_string(c)?),
            _ => None,
        };
        self.client.call(&input).await?;
        Ok(())
    }

    /// Every record of collection `R`, in key order, fetched 100 per page as the stream
    /// is read. The first error (a call, or a record that is not an `R`) ends it.
    pub fn list<R>(&self) -> impl Stream<Item = Result<Stored<R>, CallError<Infallible>>> + use<R>
    where
        R: Collection + Send + 'static,
    {
        let first =
            nsid::<R>().map(|n| list_records::Params::new(self.repo.clone(), n).with_limit(100));
        let pages = match first {
            Ok(params) => self.client.paginate(params).left_stream(),
            Err(e) => futures_util::stream::iter([Err(CallError::Other(e))]).right_stream(),
        };
        let mut failed = false;
        pages
            .flat_map(|page| {
                let items: Vec<Result<Stored<R>, CallError<Infallible>>> = match page {
                    Err(e) => vec![Err(e)],
                    Ok(out) => out.records.into_iter().map(stored).collect(),
                };
                futures_util::stream::iter(items)
            })
            .take_while(move |item| {
                let go = !failed;
                failed |= item.is_err();
                std::future::ready(go)
            })
    }
}

fn stored<R: Collection>(r: list_records::Record) -> Result<Stored<R>, CallError<Infallible>> {
    Ok(Stored {
        cid: Some(parse_cid(&r.cid)?),
        uri: r.uri,
        value: decode(r.value)?,
    })
}

fn request_error(e: &dyn std::fmt::Display) -> Error {
    Error::Request(e.to_string())
}

fn nsid<R: Collection>() -> Result<Nsid, Error> {
    R::nsid().map_err(|e| request_error(&e))
}

fn value<R: Collection>(record: &R) -> Result<atmo_data::Value, Error> {
    record_value(record).map_err(|e| Error::Encode {
        what: "the record",
        message: e.to_string(),
    })
}

fn decode<R: Collection>(v: atmo_data::Value) -> Result<R, Error> {
    atmo_data::from_value(v).map_err(|e| Error::Decode {
        what: R::NSID.to_owned(),
        message: e.to_string(),
    })
}

fn parse_cid(c: &CidString) -> Result<Cid, Error> {
    Cid::parse(c.as_str()).map_err(|e| Error::Decode {
        what: "CID".to_owned(),
        message: e.to_string(),
    })
}

fn cid_string(c: &Cid) -> Result<CidString, Error> {
    CidString::new(&c.to_string()).map_err(|e| request_error(&e))
}

fn written<E>(uri: AtUri, cid: &CidString) -> Result<Written, CallError<E>> {
    Ok(Written {
        uri,
        cid: parse_cid(cid).map_err(CallError::Other)?,
    })
}
