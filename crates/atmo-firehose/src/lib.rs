//! atproto event streams: com.atproto.sync.subscribeRepos and
//! com.atproto.label.subscribeLabels.
//!
//! The sans-IO core is always built:
//! - [`decode_frame`]: a frame's two DAG-CBOR values (header `{op, t}`, then the body),
//!   error frames (`op: -1`) as [`Error::ErrorFrame`], bounded by [`FrameLimits`].
//! - [`RepoEvent`] (`#commit`, `#sync`, `#identity`, `#account`, `#info`, unknown types
//!   passed on) and [`LabelEvent`] (`#labels`, `#info`).
//! - [`Verifier`]: per [`VerifyLevel`], every block against its CID, the commit
//!   signature, sync 1.1 (operations inverted against `prevData`, `rev` strictly
//!   increasing), with each repository's state and desynchronisation flagged.
//! - [`verify_pool`]: the same checks on several threads, repositories spread over the
//!   workers by DID (each repository's events in order on one worker), the verdicts handed
//!   out in the order the events came, every queue bounded; [`Checker`] is its
//!   single-threaded unit.
//! - [`Filter`]: DIDs and collections, applied before records are decoded.
//! - [`CursorStore`]: [`MemoryCursorStore`], [`FileCursorStore`].
//!
//! With the default `client` feature, [`Subscription`] connects to a relay or PDS over a
//! websocket on atmo-http's policy-checked streams, resumes from a cursor, reconnects with
//! jittered backoff from the last sequence number delivered (never repeating one,
//! reporting gaps), pings and reconnects on stalls, and buffers a bounded number of items
//! (a slow consumer slows reading).
//!
//! ```
//! use atmo_data::{cbor, json};
//! use atmo_firehose::{FrameLimits, RepoEvent};
//! let mut frame = cbor::encode(&json::from_str(r##"{"op": 1, "t": "#identity"}"##).unwrap());
//! frame.extend(cbor::encode(&json::from_str(
//!     r#"{"seq": 1, "did": "did:plc:abcdefghijklmnopqrstuvwx", "time": "2024-01-01T00:00:00Z"}"#,
//! ).unwrap()));
//! let ev = RepoEvent::decode(&frame, &FrameLimits::DEFAULT).unwrap();
//! assert_eq!(ev.kind(), "identity");
//! ```
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

#[cfg(feature = "client")]
mod client;
mod cursor;
mod error;
mod event;
mod filter;
mod frame;
pub mod jetstream;
mod label;
#[cfg(feature = "client")]
mod labels_client;
mod pool;
mod verify;

#[cfg(feature = "client")]
pub use client::{Config, Item, Resynced, Subscription, subscribe_url};
pub use cursor::{CursorStore, FileCursorStore, MemoryCursorStore};
pub use error::{Error, FrameError, VerifyError};
pub use event::{
    AccountEvent, CommitEvent, IdentityEvent, InfoEvent, LabelEvent, Op, RepoEvent, SyncEvent,
    UnknownEvent,
};
pub use filter::Filter;
pub use frame::{Frame, FrameLimits, decode_frame};
pub use label::{Label, LabelError, MAX_LABEL_VALUE};
#[cfg(feature = "client")]
pub use labels_client::{LabelConfig, LabelItem, LabelSubscription, subscribe_labels_url};
pub use pool::{
    Checked, Checker, KeySource, Output, PoolOptions, PoolReceiver, PoolSender, verify_pool,
};
pub use verify::{DEFAULT_MAX_REPOS, RepoState, Verifier, VerifyLevel};
