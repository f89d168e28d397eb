//! Jetstream's v1 JSON events, and how a subscribeRepos event becomes them.

use atmo_repo::Action;
use serde::{Deserialize, Serialize};

use crate::event::{CommitEvent, RepoEvent};

/// One Jetstream event: `{did, time_us, kind, commit | identity | account}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JetstreamEvent {
    /// The repository (account) the event is about.
    pub did: String,
    /// When the server saw it, in microseconds since the Unix epoch; strictly increasing
    /// in one server's stream, and the cursor to resume from.
    pub time_us: i64,
    /// What happened.
    #[serde(flatten)]
    pub body: EventBody,
}

/// The kind of a [`JetstreamEvent`] and its payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[non_exhaustive]
pub enum EventBody {
    /// A record was created, updated or deleted.
    Commit {
        /// The change.
        commit: CommitInfo,
    },
    /// The account's identity (handle, DID document) changed.
    Identity {
        /// The details.
        identity: IdentityInfo,
    },
    /// The account's hosting status changed.
    Account {
        /// The details.
        account: AccountInfo,
    },
}

/// One record operation of a commit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommitInfo {
    /// The commit's revision.
    pub rev: String,
    /// `create`, `update` or `delete`.
    pub operation: String,
    /// The record's collection.
    pub collection: String,
    /// The record's key.
    pub rkey: String,
    /// The record, as atproto JSON (creates and updates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<serde_json::Value>,
    /// The record's CID (creates and updates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
}

/// An identity change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityInfo {
    /// The account.
    pub did: String,
    /// The handle, if the upstream event carried one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    /// The upstream sequence number.
    pub seq: i64,
    /// The upstream event's time.
    pub time: String,
}

/// A hosting-status change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountInfo {
    /// Whether the account is active.
    pub active: bool,
    /// The account.
    pub did: String,
    /// The upstream sequence number.
    pub seq: i64,
    /// The upstream event's time.
    pub time: String,
    /// Why it is not active (`takendown`, `deactivated`, `deleted`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl JetstreamEvent {
    /// The collection of a commit event.
    #[must_use]
    pub fn collection(&self) -> Option<&str> {
        match &self.body {
            EventBody::Commit { commit } => Some(&commit.collection),
            _ => None,
        }
    }

    /// `commit`, `identity` or `account`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match &self.body {
            EventBody::Commit { .. } => "commit",
            EventBody::Identity { .. } => "identity",
            EventBody::Account { .. } => "account",
        }
    }

    /// The events a subscribeRepos event becomes: one per operation of a commit (its
    /// records as atproto JSON), one for an identity or account change, none for the
    /// rest (`#sync` and `#info` have no v1 form). `time_us` is given to the first, and
    /// counts up by one for each next one, so cursors stay distinct.
    #[must_use]
    pub fn from_repo_event(event: &RepoEvent, time_us: i64) -> Vec<JetstreamEvent> {
        match event {
            RepoEvent::Commit(c) => commit_events(c, time_us),
            RepoEvent::Identity(i) => vec![JetstreamEvent {
                did: i.did.to_string(),
                time_us,
                body: EventBody::Identity {
                    identity: IdentityInfo {
                        did: i.did.to_string(),
                        handle: i.handle.clone(),
                        seq: i.seq,
                        time: i.time.clone(),
                    },
                },
            }],
            RepoEvent::Account(a) => vec![JetstreamEvent {
                did: a.did.to_string(),
                time_us,
                body: EventBody::Account {
                    account: AccountInfo {
                        active: a.active,
                        did: a.did.to_string(),
                        seq: a.seq,
                        time: a.time.clone(),
                        status: a.status.clone(),
                    },
                },
            }],
            _ => Vec::new(),
        }
    }
}

fn commit_events(c: &CommitEvent, time_us: i64) -> Vec<JetstreamEvent> {
    let mut t = time_us;
    c.ops
        .iter()
        .map(|op| {
            let operation = match op.action {
                Action::Create => "create",
                Action::Update => "update",
                Action::Delete => "delete",
            };
            let record = op
                .record
                .as_ref()
                .and_then(|v| serde_json::from_str(&atmo_data::json::to_string(v)).ok());
            let ev = JetstreamEvent {
                did: c.repo.to_string(),
                time_us: t,
                body: EventBody::Commit {
                    commit: CommitInfo {
                        rev: c.rev.to_string(),
                        operation: operation.to_owned(),
                        collection: op.collection().to_owned(),
                        rkey: op.rkey().to_owned(),
                        record,
                        cid: op.cid.map(|c| c.to_string()),
                    },
                },
            };
            t = t.saturating_add(1);
            ev
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_v1_wire_shape_round_trips() {
        let text = r#"{"did":"did:plc:eygmaihciaxprqvxpfvl6flk","time_us":1725911162329308,"kind":"commit","commit":{"rev":"3l3qo2vutsw2b","operation":"create","collection":"app.bsky.feed.like","rkey":"3l3qo2vuowo2b","record":{"$type":"app.bsky.feed.like","createdAt":"2024-09-09T19:46:02.102Z"},"cid":"bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi"}}"#;
        let ev: JetstreamEvent = serde_json::from_str(text).unwrap();
        assert_eq!(ev.kind(), "commit");
        assert_eq!(ev.collection(), Some("app.bsky.feed.like"));
        let back: serde_json::Value = serde_json::to_value(&ev).unwrap();
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(text).unwrap()
        );

        let acct = r#"{"did":"did:plc:ufbl4k27gp6kzas5glhz7fim","time_us":1725516665333808,"kind":"account","account":{"active":true,"did":"did:plc:ufbl4k27gp6kzas5glhz7fim","seq":1409753013,"time":"2024-09-05T06:11:04.870Z"}}"#;
        let ev: JetstreamEvent = serde_json::from_str(acct).unwrap();
        assert!(matches!(ev.body, EventBody::Account { ref account } if account.active));
        assert!(
            serde_json::from_str::<JetstreamEvent>(r#"{"did":"x","time_us":1,"kind":"nope"}"#)
                .is_err()
        );
    }
}
