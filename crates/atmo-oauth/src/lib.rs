//! The atproto OAuth client.
//!
//! atproto apps sign users in with OAuth 2.1 as the atproto profile has it: discovery
//! from a handle, DID or PDS URL; pushed authorization requests (PAR) with PKCE S256;
//! tokens bound to a per-session DPoP key (ES256), with server nonces; the `iss`
//! parameter on the callback; and a check that the token's `sub` resolves to a PDS
//! whose authorization server is the one that answered.
//!
//! - The sans-IO core, always built: [`AuthorizationServerMetadata`] and
//!   [`ProtectedResourceMetadata`] validation, [`Pkce`], [`DpopKey`] proofs, JWKs and
//!   thumbprints ([`PublicJwk`]), [`ClientMetadata`] (loopback, public web, confidential)
//!   and [`ClientAuth`] (`private_key_jwt` assertions), request bodies ([`par_body`],
//!   [`token_code_body`]...), response checks ([`TokenSet::from_response`],
//!   [`CallbackParams`]), [`Scope`] and [`ScopeSet`], and the stores ([`StateStore`],
//!   [`SessionStore`], in memory and as 0600 files; in SQLite with the `sqlite`
//!   feature).
//! - The tokio edge (feature `client`, default): [`OAuthClient`] (discover, authorize,
//!   callback, restore, revoke) over one [`atmo_http::HttpClient`] and its connect
//!   policy, and [`OAuthSession`], an [`atmo_xrpc::Auth`]: with
//!   `atmo_xrpc::Client::with_auth(session)` every call is DPoP-bound, retried on
//!   `use_dpop_nonce`, and refreshed when the access token expires.
//!
#![cfg_attr(feature = "client", doc = "```no_run")]
#![cfg_attr(not(feature = "client"), doc = "```ignore")]
//! # async fn demo() -> Result<(), atmo_oauth::Error> {
//! use atmo_oauth::{AuthorizeOptions, ClientMetadata, OAuthClient, ScopeSet};
//!
//! let meta = ClientMetadata::loopback(&["http://127.0.0.1:8080/callback".into()], &ScopeSet::generic())?;
//! let client = OAuthClient::builder(meta).build()?;
//! let url = client.authorize("alice.example.com", AuthorizeOptions::default()).await?;
//! println!("open {url}");
//! // ... the browser comes back to http://127.0.0.1:8080/callback?code=...&state=...&iss=...
//! # let query = "";
//! let (session, _app_state) = client.callback(query).await?;
//! let pds = session.xrpc_client()?;
//! # let _ = pds; Ok(()) }
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

mod client_meta;
mod dpop;
mod error;
mod jose;
mod metadata;
mod pkce;
mod protocol;
pub mod scope;
#[cfg(feature = "sqlite")]
mod sqlite;
mod store;
#[cfg(test)]
mod store_tests;

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
mod session;

pub use client_meta::{CLIENT_ASSERTION_TYPE, ClientAuth, ClientMetadata};
pub use dpop::{
    DpopClaims, DpopKey, MAX_HTU_LEN, access_token_hash, decode_jwt_payload, normalize_htu,
};
pub use error::{Error, MetadataError, OAuthErrorCode, Result, ScopeError};
pub use jose::{PublicJwk, sign_es256};
pub use metadata::{AuthorizationServerMetadata, MAX_METADATA_BYTES, ProtectedResourceMetadata};
pub use pkce::Pkce;
pub use protocol::{
    CallbackParams, MAX_CALLBACK_LEN, MAX_RESPONSE_BYTES, MAX_TOKEN_LEN, ParParams, ParResponse,
    TokenSet, authorization_url, form, par_body, parse_error_body, revoke_body, token_code_body,
    token_refresh_body, www_authenticate_error,
};
pub use scope::{RepoAction, Scope, ScopeSet};
#[cfg(feature = "sqlite")]
pub use sqlite::{DEFAULT_LOCK_LEASE, SqliteStore};
pub use store::{
    AuthState, FileSessionStore, FileStateStore, MemorySessionStore, MemoryStateStore,
    SessionStore, StateStore, StoreGuard, StoredSession, default_store_dir,
};

#[cfg(feature = "client")]
pub use client::{
    AuthorizeOptions, DEFAULT_STATE_TTL, Discovered, OAuthClient, OAuthClientBuilder,
};
#[cfg(feature = "client")]
pub use session::OAuthSession;
