//! What a Jetstream subscriber asks for: collections, DIDs, a size cap; as query
//! parameters at connect time and as `options_update` messages later.

use serde::{Deserialize, Serialize};

use super::event::{EventBody, JetstreamEvent};

/// The most collections or DIDs one subscriber may name (Jetstream's limits).
pub const MAX_WANTED_COLLECTIONS: usize = 100;
/// See [`MAX_WANTED_COLLECTIONS`].
pub const MAX_WANTED_DIDS: usize = 10_000;

/// A subscriber's filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscribeOptions {
    /// Collections to receive commits of (empty: all). An entry ending in `.*` is a
    /// prefix (`app.bsky.graph.*`). Identity and account events are not filtered by it.
    #[serde(default)]
    pub wanted_collections: Vec<String>,
    /// Repositories to receive events of (empty: all).
    #[serde(default, rename = "wantedDids")]
    pub wanted_dids: Vec<String>,
    /// Events larger than this many bytes (as JSON) are not sent (0: no limit).
    #[serde(default)]
    pub max_message_size_bytes: usize,
}

/// Why options were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionsError {
    /// Too many collections or DIDs.
    #[error("too many {what} ({count}; at most {max})")]
    TooMany {
        /// `wantedCollections` or `wantedDids`.
        what: &'static str,
        /// How many were given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A collection that is neither an NSID nor an NSID prefix ending in `.*`.
    #[error("bad collection {0:?}")]
    BadCollection(String),
    /// A DID that is not a DID.
    #[error("bad DID {0:?}")]
    BadDid(String),
    /// A number that is not one.
    #[error("bad {what} {value:?}")]
    BadNumber {
        /// The parameter.
        what: &'static str,
        /// Its value.
        value: String,
    },
    /// A subscriber message that is not an `options_update`.
    #[error("bad subscriber message: {0}")]
    BadMessage(String),
}

/// A message a subscriber sends: `{"type": "options_update", "payload": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriberMessage {
    /// `options_update`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The new options.
    pub payload: SubscribeOptions,
}

impl SubscribeOptions {
    /// Checks the lists' sizes and syntax.
    ///
    /// # Errors
    /// [`OptionsError`] naming the first problem.
    pub fn check(&self) -> Result<(), OptionsError> {
        if self.wanted_collections.len() > MAX_WANTED_COLLECTIONS {
            return Err(OptionsError::TooMany {
                what: "wantedCollections",
                count: self.wanted_collections.len(),
                max: MAX_WANTED_COLLECTIONS,
            });
        }
        if self.wanted_dids.len() > MAX_WANTED_DIDS {
            return Err(OptionsError::TooMany {
                what: "wantedDids",
                count: self.wanted_dids.len(),
                max: MAX_WANTED_DIDS,
            });
        }
        for c in &self.wanted_collections {
            let ok = match c.strip_suffix(".*") {
                Some(prefix) => {
                    !prefix.is_empty()
                        && prefix.split('.').all(|seg| {
                            !seg.is_empty()
                                && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                        })
                }
                None => atmo_syntax::Nsid::new(c).is_ok(),
            };
            if !ok {
                return Err(OptionsError::BadCollection(c.clone()));
            }
        }
        for d in &self.wanted_dids {
            if atmo_syntax::Did::new(d).is_err() {
                return Err(OptionsError::BadDid(d.clone()));
            }
        }
        Ok(())
    }

    /// Whether a subscriber with these options receives `event` (its JSON being
    /// `json_len` bytes long).
    #[must_use]
    pub fn wants(&self, event: &JetstreamEvent, json_len: usize) -> bool {
        if self.max_message_size_bytes > 0 && json_len > self.max_message_size_bytes {
            return false;
        }
        if !self.wanted_dids.is_empty() && !self.wanted_dids.contains(&event.did) {
            return false;
        }
        match &event.body {
            EventBody::Commit { commit } => {
                self.wanted_collections.is_empty()
                    || self
                        .wanted_collections
                        .iter()
                        .any(|w| match w.strip_suffix('*') {
                            Some(prefix) => commit.collection.starts_with(prefix),
                            None => *w == commit.collection,
                        })
            }
            _ => true,
        }
    }

    /// The query string for `/subscribe` (without `?`), with a cursor if given.
    #[must_use]
    pub fn to_query(&self, cursor: Option<i64>) -> String {
        let mut parts: Vec<String> = Vec::new();
        for c in &self.wanted_collections {
            parts.push(format!("wantedCollections={}", encode(c)));
        }
        for d in &self.wanted_dids {
            parts.push(format!("wantedDids={}", encode(d)));
        }
        if self.max_message_size_bytes > 0 {
            parts.push(format!(
                "maxMessageSizeBytes={}",
                self.max_message_size_bytes
            ));
        }
        if let Some(c) = cursor {
            parts.push(format!("cursor={c}"));
        }
        parts.join("&")
    }

    /// Reads a `/subscribe` query string: the options, the cursor if any, and whether
    /// the subscriber asked to send its options first (`requireHello`).
    ///
    /// # Errors
    /// [`OptionsError`] for a bad value or too many entries.
    pub fn from_query(query: &str) -> Result<(Self, Option<i64>, bool), OptionsError> {
        let mut opts = Self::default();
        let (mut cursor, mut hello) = (None, false);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = decode(v);
            match k {
                "wantedCollections" => opts.wanted_collections.push(v),
                "wantedDids" => opts.wanted_dids.push(v),
                "maxMessageSizeBytes" => {
                    opts.max_message_size_bytes =
                        v.parse().map_err(|_| OptionsError::BadNumber {
                            what: "maxMessageSizeBytes",
                            value: v.clone(),
                        })?;
                }
                "cursor" => {
                    cursor = Some(v.parse().map_err(|_| OptionsError::BadNumber {
                        what: "cursor",
                        value: v.clone(),
                    })?);
                }
                "requireHello" => hello = v == "true",
                _ => {}
            }
            if opts.wanted_collections.len() > MAX_WANTED_COLLECTIONS
                || opts.wanted_dids.len() > MAX_WANTED_DIDS
            {
                break;
            }
        }
        opts.check()?;
        Ok((opts, cursor, hello))
    }

    /// Reads a subscriber's message.
    ///
    /// # Errors
    /// [`OptionsError::BadMessage`] when it is not an `options_update`, or the options'
    /// own errors.
    pub fn from_message(text: &str) -> Result<Self, OptionsError> {
        let msg: SubscriberMessage =
            serde_json::from_str(text).map_err(|e| OptionsError::BadMessage(e.to_string()))?;
        if msg.kind != "options_update" {
            return Err(OptionsError::BadMessage(format!(
                "unknown type {:?}",
                msg.kind
            )));
        }
        msg.payload.check()?;
        Ok(msg.payload)
    }

    /// This as an `options_update` message.
    #[must_use]
    pub fn to_message(&self) -> String {
        let msg = SubscriberMessage {
            kind: "options_update".to_owned(),
            payload: self.clone(),
        };
        serde_json::to_string(&msg).unwrap_or_default()
    }
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':' | b'*') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let hex = |c: u8| char::from(c).to_digit(16);
    while let Some(&c) = b.get(i) {
        match (
            c,
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jetstream::event::{CommitInfo, EventBody};

    fn commit(did: &str, collection: &str) -> JetstreamEvent {
        JetstreamEvent {
            did: did.into(),
            time_us: 1,
            body: EventBody::Commit {
                commit: CommitInfo {
                    rev: "3l3qo2vutsw2b".into(),
                    operation: "create".into(),
                    collection: collection.into(),
                    rkey: "k".into(),
                    record: None,
                    cid: None,
                },
            },
        }
    }

    #[test]
    fn filters_as_jetstream_does() {
        let (o, cursor, hello) = SubscribeOptions::from_query(
            "wantedCollections=app.bsky.graph.*&wantedCollections=app.bsky.feed.post&wantedDids=did%3Aplc%3Aabc&cursor=17&requireHello=true",
        )
        .unwrap();
        assert_eq!((cursor, hello), (Some(17), true));
        assert!(o.wants(&commit("did:plc:abc", "app.bsky.graph.follow"), 10));
        assert!(o.wants(&commit("did:plc:abc", "app.bsky.feed.post"), 10));
        assert!(!o.wants(&commit("did:plc:abc", "app.bsky.feed.like"), 10));
        assert!(!o.wants(&commit("did:plc:xyz", "app.bsky.feed.post"), 10));
        let q = o.to_query(Some(17));
        assert_eq!(SubscribeOptions::from_query(&q).unwrap().0, o);

        let sized = SubscribeOptions {
            max_message_size_bytes: 5,
            ..Default::default()
        };
        assert!(!sized.wants(&commit("did:plc:abc", "a.b.c"), 6));
        for bad in [
            "wantedCollections=not%20an%20nsid",
            "wantedDids=alice",
            "cursor=x",
            "wantedCollections=.*",
        ] {
            assert!(SubscribeOptions::from_query(bad).is_err(), "{bad}");
        }
        let msg = o.to_message();
        assert_eq!(SubscribeOptions::from_message(&msg).unwrap(), o);
        assert!(SubscribeOptions::from_message(r#"{"type":"other","payload":{}}"#).is_err());
    }
}
