//! XRPC for atproto: a sans-IO core and a hyper + rustls transport, sessions, rate
//! limits, blobs.
//!
//! # First: a client, a login and a call
//!
//! ```no_run
//! # async fn demo() -> Result<(), atmo_xrpc::Error> {
//! use atmo_xrpc::{Client, PasswordSession, XrpcRequest};
//!
//! let pds = Client::new("https://pds.example.com")?; // https and public addresses only
//! let session = PasswordSession::login(&pds, "alice.example.com", "app-password").await?;
//! let client = session.client(); // calls carry the session; it is refreshed as needed
//!
//! // Any method by name, JSON in and out (atmo-api gives every official one typed:
//! // `client.call(get_session::GetSession)` returns its generated `Output`).
//! let me = client.send(&XrpcRequest::query("com.atproto.server.getSession")?).await?;
//! println!("{}", String::from_utf8_lossy(&me.body));
//! # Ok(()) }
//! ```
//!
//! The `atmo` facade's `Agent` builds on this client for the common jobs (posts, records,
//! blobs, profiles).
//!
//! # Layers
//!
//! - The core (always built, no async runtime): [`XrpcRequest`] builds an
//!   [`http::Request`] from an NSID, query parameters (percent-encoded, arrays as repeated
//!   keys) and a [`RequestBody`] (JSON, DAG-CBOR, raw bytes); [`CallOptions`] carries the
//!   `atproto-proxy` ([`ProxyTarget`]) and `atproto-accept-labelers` headers;
//!   [`classify`] sorts a response into an [`XrpcResponse`] or an [`XrpcError`]
//!   (`{error, message}`), and [`RateLimit`] reads the `ratelimit-*` headers. The
//!   [`Endpoint`] trait describes one method for typed calls (with its declared errors,
//!   an [`EndpointError`]); [`Call`] is a value that names a whole call, [`Paginated`] an
//!   endpoint with a cursor, [`CallError`] the error of a typed call (the endpoint's
//!   declared error, or any other [`Error`]). atmo-api generates all of them from the
//!   lexicons.
//! - The `client` feature (default): [`Client`] over the shared transport of `atmo-http`
//!   (hyper + rustls, one connect policy: https and public addresses only unless allowed,
//!   checked on every connection), with deadlines, body caps, a tracing span per call,
//!   rate-limit tracking and an optional wait-and-retry on 429; typed calls
//!   ([`Client::call`], [`Client::call_endpoint`]) and typed pagination
//!   ([`Client::paginate`]) of the endpoints atmo-api generates; and the streamed
//!   transfers a typed call cannot do, since it reads the whole body: CID-checked blob
//!   download ([`Client::get_blob`]), repository download ([`Client::get_repo`]) and
//!   blob upload from a reader ([`Client::upload_blob_reader`]).
//! - Authentication is a plug-in: the client holds an [`Auth`] that authorizes each
//!   request and sees each answer (to refresh, or to learn a DPoP nonce, and retry).
//!   [`NoAuth`] for public calls; [`PasswordSession`] for app passwords (one refresh in
//!   flight per process, and one across processes sharing a [`FileSessionStore`], whose
//!   lock makes the second process adopt the first one's tokens); OAuth sessions
//!   implement the same trait in `atmo-oauth`.
//!
//! ```
//! # fn main() -> Result<(), atmo_xrpc::Error> {
//! use atmo_xrpc::{XrpcRequest, classify};
//!
//! let req = XrpcRequest::query("com.atproto.repo.getRecord")?
//!     .param("repo", "alice.test")
//!     .param("collection", "app.bsky.feed.post")
//!     .param("rkey", "3jzfcijpj2z2a");
//! let http_req = req.to_http("https://pds.example", None)?;
//! assert_eq!(http_req.method(), http::Method::GET);
//!
//! // ... send it with any HTTP client, then:
//! let err = classify(400, http::HeaderMap::new(), br#"{"error":"RecordNotFound"}"#[..].into())
//!     .unwrap_err();
//! assert!(err.is_not_found());
//! # Ok(()) }
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

mod call_error;
mod endpoint;
mod error;
pub mod private_file;
mod request;
mod response;
mod xrpc_error;

#[cfg(feature = "client")]
mod auth;
#[cfg(feature = "client")]
mod blob;
#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
mod pagination;
#[cfg(feature = "client")]
mod session;
#[cfg(feature = "client")]
mod transfer;
#[cfg(feature = "client")]
mod typed;

pub use call_error::{CallError, EndpointError};
pub use endpoint::{BinaryInput, Call, Endpoint, JSON_ENCODING, Paginated};
pub use error::{Error, Result};
pub use request::{
    ACCEPT_LABELERS_HEADER, CONTENT_LABELERS_HEADER, CallOptions, Labeler, Method, PROXY_HEADER,
    ProxyTarget, RequestBody, XrpcRequest, apply_options, parse_base, percent_encode_into,
};
pub use response::{XrpcResponse, classify};
pub use xrpc_error::{MAX_ERROR_BODY, MAX_ERROR_TEXT, RateLimit, XrpcError, parse_error_body};

#[cfg(feature = "client")]
pub use auth::{
    Auth, AuthDecision, AuthFuture, AuthRequest, AuthResponse, AuthTicket, HeaderAuth, NoAuth,
};
#[cfg(feature = "client")]
pub use blob::BlobStream;
#[cfg(feature = "client")]
pub use client::{
    Client, ClientBuilder, DEFAULT_MAX_BLOB_DOWNLOAD, DEFAULT_MAX_REPO_DOWNLOAD, RetryPolicy,
};
#[cfg(feature = "client")]
pub use pagination::{Page, paginate};
#[cfg(feature = "client")]
pub use session::{FileSessionStore, PasswordSession, SessionData, SessionStore, StoreGuard};
