//! Jetstream: the JSON event stream many atproto programs read instead of the CBOR
//! firehose, in its v1 protocol as the public instances and clients speak it.
//!
//! - [`JetstreamEvent`]: `{did, time_us, kind, commit | identity | account}`; a commit
//!   event is one record operation, its record as atproto JSON.
//! - [`SubscribeOptions`]: `wantedCollections` (NSIDs, or prefixes ending in `.*`),
//!   `wantedDids`, `maxMessageSizeBytes`; from and to the `/subscribe` query string and
//!   the `options_update` message.
//! - With the `client` feature: [`JetstreamClient`] (reconnects from the last `time_us`,
//!   never repeating an event) and [`JetstreamServer`], which turns a (verified)
//!   subscribeRepos stream into a Jetstream endpoint with cursor replay from a bounded
//!   on-disk buffer. Compression (zstd) is not offered.
//!
//! ```
//! use atmo_firehose::jetstream::{JetstreamEvent, SubscribeOptions};
//! let ev: JetstreamEvent = serde_json::from_str(r#"{"did": "did:plc:abc", "time_us": 1,
//!     "kind": "commit", "commit": {"rev": "3l3qo2vutsw2b", "operation": "delete",
//!     "collection": "app.bsky.feed.like", "rkey": "3l3qo2vuowo2b"}}"#).unwrap();
//! let (opts, _, _) = SubscribeOptions::from_query("wantedCollections=app.bsky.feed.*").unwrap();
//! assert!(opts.wants(&ev, 200));
//! ```

#[cfg(feature = "client")]
mod buffer;
#[cfg(feature = "client")]
mod client;
mod event;
mod options;
#[cfg(feature = "client")]
mod server;

#[cfg(feature = "client")]
pub use client::{JetstreamClient, JetstreamConfig, JetstreamItem, subscribe_url};
pub use event::{AccountInfo, CommitInfo, EventBody, IdentityInfo, JetstreamEvent};
pub use options::{
    MAX_WANTED_COLLECTIONS, MAX_WANTED_DIDS, OptionsError, SubscribeOptions, SubscriberMessage,
};
#[cfg(feature = "client")]
pub use server::{JetstreamServer, ServerConfig, ServerStats};
