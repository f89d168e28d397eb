//! Typed events of com.atproto.sync.subscribeRepos and com.atproto.label.subscribeLabels.

use atmo_data::{Cid, Value};
use atmo_repo::Action;
use atmo_syntax::{Did, Tid};

use crate::error::{Error, FrameError};
use crate::frame::{Frame, FrameLimits};

/// One record operation of a `#commit`.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    /// Create, update or delete.
    pub action: Action,
    /// `collection/rkey`.
    pub path: String,
    /// The new record's CID (none for a delete).
    pub cid: Option<Cid>,
    /// The previous record's CID (sync 1.1; none for a create).
    pub prev: Option<Cid>,
    /// The record, decoded from the commit's blocks once the commit passed verification
    /// and the collection filter (none for deletes and before verification).
    pub record: Option<Value>,
}

impl Op {
    /// The collection (the path before `/`).
    pub fn collection(&self) -> &str {
        self.path
            .split_once('/')
            .map_or(self.path.as_str(), |(c, _)| c)
    }

    /// The record key (the path after `/`).
    pub fn rkey(&self) -> &str {
        self.path.split_once('/').map_or("", |(_, r)| r)
    }

    /// The record decoded into a typed value (e.g. an atmo-api record type); `None`
    /// when the op carries no record (a delete, or before verification).
    ///
    /// # Errors
    /// [`atmo_data::Error`] when the record does not fit `T`.
    pub fn record_as<T: serde::de::DeserializeOwned>(&self) -> Option<Result<T, atmo_data::Error>> {
        self.record.clone().map(atmo_data::from_value)
    }
}

/// A `#commit`: a repository changed.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitEvent {
    /// The stream sequence number.
    pub seq: i64,
    /// The repository.
    pub repo: Did,
    /// The commit's rev.
    pub rev: Tid,
    /// The previous commit's rev, if any.
    pub since: Option<Tid>,
    /// The commit's CID.
    pub commit: Cid,
    /// The tree root before this commit (sync 1.1).
    pub prev_data: Option<Cid>,
    /// The CAR slice: the commit, the changed tree nodes and records.
    pub blocks: Vec<u8>,
    /// The operations (after verification: only those the collection filter keeps).
    pub ops: Vec<Op>,
    /// When the event was emitted.
    pub time: String,
    /// The commit was too big for the stream (deprecated).
    pub too_big: bool,
    /// The repository's chain broke before this event (a commit was rejected or its
    /// `prevData` did not match the last tree seen): resync it (getRepo) to trust it.
    pub desynchronized: bool,
}

/// A `#sync`: the repository's current commit, after which the chain starts over.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncEvent {
    /// The stream sequence number.
    pub seq: i64,
    /// The repository.
    pub did: Did,
    /// A CAR holding the commit block.
    pub blocks: Vec<u8>,
    /// The commit's rev.
    pub rev: Tid,
    /// When the event was emitted.
    pub time: String,
}

/// An `#identity`: the handle or DID document may have changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityEvent {
    /// The stream sequence number.
    pub seq: i64,
    /// The account.
    pub did: Did,
    /// When the event was emitted.
    pub time: String,
    /// The handle, if given.
    pub handle: Option<String>,
}

/// An `#account`: the account's hosting status changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountEvent {
    /// The stream sequence number.
    pub seq: i64,
    /// The account.
    pub did: Did,
    /// When the event was emitted.
    pub time: String,
    /// Whether the account is active.
    pub active: bool,
    /// Why not, if inactive (`takendown`, `deactivated`...).
    pub status: Option<String>,
}

/// An `#info` message (no sequence number), e.g. `OutdatedCursor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfoEvent {
    /// The name.
    pub name: String,
    /// The message, if any.
    pub message: Option<String>,
}

/// A message of a type this crate does not know, passed on as it came.
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownEvent {
    /// The type, e.g. `#future`.
    pub t: String,
    /// The body.
    pub body: Value,
}

impl UnknownEvent {
    /// The body's `seq`, if it has one.
    pub fn seq(&self) -> Option<i64> {
        self.body.get("seq").and_then(Value::as_integer)
    }
}

/// A message of com.atproto.sync.subscribeRepos.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
// Commits are the common case; boxing them would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
pub enum RepoEvent {
    /// `#commit`.
    Commit(CommitEvent),
    /// `#sync`.
    Sync(SyncEvent),
    /// `#identity`.
    Identity(IdentityEvent),
    /// `#account`.
    Account(AccountEvent),
    /// `#info`.
    Info(InfoEvent),
    /// Any other type.
    Unknown(UnknownEvent),
}

impl RepoEvent {
    /// Decodes a frame into an event.
    ///
    /// ```
    /// use atmo_data::{cbor, json};
    /// use atmo_firehose::{FrameLimits, RepoEvent};
    /// let mut bytes = cbor::encode(&json::from_str(r##"{"op": 1, "t": "#account"}"##).unwrap());
    /// bytes.extend(cbor::encode(&json::from_str(
    ///     r#"{"seq": 5, "did": "did:plc:abcdefghijklmnopqrstuvwx", "time": "2024-01-01T00:00:00Z", "active": true}"#,
    /// ).unwrap()));
    /// let ev = RepoEvent::decode(&bytes, &FrameLimits::DEFAULT).unwrap();
    /// assert_eq!(ev.seq(), Some(5));
    /// ```
    ///
    /// # Errors
    /// [`Error::Frame`] for a malformed frame or body, [`Error::ErrorFrame`] for an error
    /// frame.
    pub fn decode(bytes: &[u8], limits: &FrameLimits) -> Result<Self, Error> {
        Self::from_frame(crate::frame::decode_frame(bytes, limits)?, limits)
    }

    /// Turns a decoded frame into an event.
    ///
    /// # Errors
    /// As [`RepoEvent::decode`].
    pub fn from_frame(frame: Frame, limits: &FrameLimits) -> Result<Self, Error> {
        let (t, body) = match frame {
            Frame::Error { error, message } => return Err(Error::ErrorFrame { error, message }),
            Frame::Message { t, body } => (t, body),
        };
        let short = t
            .strip_prefix("com.atproto.sync.subscribeRepos")
            .unwrap_or(&t);
        let b = Body { t: short, v: &body };
        Ok(match short {
            "#commit" => Self::Commit(parse_commit(&b, limits)?),
            "#sync" => Self::Sync(SyncEvent {
                seq: b.int("seq")?,
                did: b.did("did")?,
                blocks: b.bytes("blocks")?,
                rev: b.tid("rev")?,
                time: b.string("time")?,
            }),
            "#identity" => Self::Identity(IdentityEvent {
                seq: b.int("seq")?,
                did: b.did("did")?,
                time: b.string("time")?,
                handle: b.opt_string("handle")?,
            }),
            "#account" => Self::Account(AccountEvent {
                seq: b.int("seq")?,
                did: b.did("did")?,
                time: b.string("time")?,
                active: b.bool("active")?,
                status: b.opt_string("status")?,
            }),
            "#info" => Self::Info(InfoEvent {
                name: b.string("name")?,
                message: b.opt_string("message")?,
            }),
            _ => Self::Unknown(UnknownEvent { t, body }),
        })
    }

    /// The sequence number (none for `#info`, and for unknown types without one).
    pub fn seq(&self) -> Option<i64> {
        match self {
            Self::Commit(e) => Some(e.seq),
            Self::Sync(e) => Some(e.seq),
            Self::Identity(e) => Some(e.seq),
            Self::Account(e) => Some(e.seq),
            Self::Info(_) => None,
            Self::Unknown(e) => e.seq(),
        }
    }

    /// The account the event is about, if any.
    pub fn did(&self) -> Option<&Did> {
        match self {
            Self::Commit(e) => Some(&e.repo),
            Self::Sync(e) => Some(&e.did),
            Self::Identity(e) => Some(&e.did),
            Self::Account(e) => Some(&e.did),
            Self::Info(_) | Self::Unknown(_) => None,
        }
    }

    /// The type name without `#`: `commit`, `sync`, `identity`, `account`, `info`, or the
    /// unknown type as sent.
    pub fn kind(&self) -> &str {
        match self {
            Self::Commit(_) => "commit",
            Self::Sync(_) => "sync",
            Self::Identity(_) => "identity",
            Self::Account(_) => "account",
            Self::Info(_) => "info",
            Self::Unknown(e) => e.t.trim_start_matches('#'),
        }
    }

    /// The event's time, if it has one.
    pub fn time(&self) -> Option<&str> {
        match self {
            Self::Commit(e) => Some(&e.time),
            Self::Sync(e) => Some(&e.time),
            Self::Identity(e) => Some(&e.time),
            Self::Account(e) => Some(&e.time),
            Self::Info(_) => None,
            Self::Unknown(e) => e.body.get("time").and_then(Value::as_str),
        }
    }
}

/// A message of com.atproto.label.subscribeLabels.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LabelEvent {
    /// `#labels`: labels as they came (not verified yet).
    Labels {
        /// The stream sequence number.
        seq: i64,
        /// The labels (`com.atproto.label.defs#label` objects).
        labels: Vec<Value>,
    },
    /// `#info`.
    Info(InfoEvent),
    /// Any other type.
    Unknown(UnknownEvent),
}

impl LabelEvent {
    /// Decodes a subscribeLabels frame.
    ///
    /// # Errors
    /// As [`RepoEvent::decode`].
    pub fn decode(bytes: &[u8], limits: &FrameLimits) -> Result<Self, Error> {
        let (t, body) = match crate::frame::decode_frame(bytes, limits)? {
            Frame::Error { error, message } => return Err(Error::ErrorFrame { error, message }),
            Frame::Message { t, body } => (t, body),
        };
        let short = t
            .strip_prefix("com.atproto.label.subscribeLabels")
            .unwrap_or(&t);
        let b = Body { t: short, v: &body };
        Ok(match short {
            "#labels" => {
                let seq = b.int("seq")?;
                let labels = b.array("labels", limits.max_items)?.to_vec();
                Self::Labels { seq, labels }
            }
            "#info" => Self::Info(InfoEvent {
                name: b.string("name")?,
                message: b.opt_string("message")?,
            }),
            _ => Self::Unknown(UnknownEvent { t, body }),
        })
    }
}

/// Field access with typed errors.
struct Body<'a> {
    t: &'a str,
    v: &'a Value,
}

impl Body<'_> {
    fn err(&self, field: &'static str, reason: &'static str) -> FrameError {
        FrameError::Field {
            kind: self.t.to_owned(),
            field,
            reason,
        }
    }

    fn get(&self, field: &'static str) -> Option<&Value> {
        self.v.get(field).filter(|v| !matches!(v, Value::Null))
    }

    fn int(&self, field: &'static str) -> Result<i64, FrameError> {
        self.get(field)
            .and_then(Value::as_integer)
            .ok_or_else(|| self.err(field, "missing or not an integer"))
    }

    fn bool(&self, field: &'static str) -> Result<bool, FrameError> {
        self.get(field)
            .and_then(Value::as_bool)
            .ok_or_else(|| self.err(field, "missing or not a boolean"))
    }

    fn string(&self, field: &'static str) -> Result<String, FrameError> {
        self.get(field)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| self.err(field, "missing or not a string"))
    }

    fn opt_string(&self, field: &'static str) -> Result<Option<String>, FrameError> {
        match self.get(field) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(|s| Some(s.to_owned()))
                .ok_or_else(|| self.err(field, "not a string")),
        }
    }

    fn bytes(&self, field: &'static str) -> Result<Vec<u8>, FrameError> {
        self.get(field)
            .and_then(Value::as_bytes)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| self.err(field, "missing or not bytes"))
    }

    fn did(&self, field: &'static str) -> Result<Did, FrameError> {
        self.get(field)
            .and_then(Value::as_str)
            .ok_or_else(|| self.err(field, "missing or not a string"))?
            .parse()
            .map_err(|_| self.err(field, "not a valid DID"))
    }

    fn tid(&self, field: &'static str) -> Result<Tid, FrameError> {
        self.get(field)
            .and_then(Value::as_str)
            .ok_or_else(|| self.err(field, "missing or not a string"))?
            .parse()
            .map_err(|_| self.err(field, "not a valid TID"))
    }

    fn opt_tid(&self, field: &'static str) -> Result<Option<Tid>, FrameError> {
        match self.get(field) {
            None => Ok(None),
            Some(_) => self.tid(field).map(Some),
        }
    }

    fn opt_link(&self, field: &'static str) -> Result<Option<Cid>, FrameError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Link(c)) => Ok(Some(**c)),
            Some(_) => Err(self.err(field, "not a CID link")),
        }
    }

    fn array(&self, field: &'static str, max: usize) -> Result<&[Value], FrameError> {
        match self.get(field) {
            Some(Value::Array(a)) if a.len() > max => Err(FrameError::TooMany {
                kind: self.t.to_owned(),
                field,
                len: a.len(),
                max,
            }),
            Some(Value::Array(a)) => Ok(a),
            _ => Err(self.err(field, "missing or not an array")),
        }
    }
}

fn parse_commit(b: &Body<'_>, limits: &FrameLimits) -> Result<CommitEvent, FrameError> {
    let commit = b
        .opt_link("commit")?
        .ok_or_else(|| b.err("commit", "missing"))?;
    let raw_ops = b.array("ops", limits.max_ops)?;
    let mut ops = Vec::with_capacity(raw_ops.len());
    for o in raw_ops {
        let ob = Body { t: b.t, v: o };
        let action = match ob.string("action")?.as_str() {
            "create" => Action::Create,
            "update" => Action::Update,
            "delete" => Action::Delete,
            _ => return Err(ob.err("action", "not create, update or delete")),
        };
        let path = ob.string("path")?;
        if path.len() > 1024 || !path.contains('/') {
            return Err(ob.err("path", "not collection/rkey"));
        }
        ops.push(Op {
            action,
            path,
            cid: ob.opt_link("cid")?,
            prev: ob.opt_link("prev")?,
            record: None,
        });
    }
    Ok(CommitEvent {
        seq: b.int("seq")?,
        repo: b.did("repo")?,
        rev: b.tid("rev")?,
        since: b.opt_tid("since")?,
        commit,
        prev_data: b.opt_link("prevData")?,
        blocks: b.bytes("blocks")?,
        ops,
        time: b.string("time")?,
        too_big: b.get("tooBig").and_then(Value::as_bool).unwrap_or(false),
        desynchronized: false,
    })
}
