//! The one HTTP transport under atmo's network crates.
//!
//! # First: a client that will not be pointed at your own network
//!
//! ```no_run
//! # async fn demo() -> Result<(), atmo_http::Error> {
//! use atmo_http::{ConnectPolicy, HttpClient};
//!
//! let http = HttpClient::builder().policy(ConnectPolicy::default()).build()?;
//! let res = http.get("https://example.com/.well-known/atproto-did", "text/plain", 2048).await?;
//! println!("{}", String::from_utf8_lossy(res.body()));
//! // A URL from a hostile DID document is refused before any byte is sent:
//! assert!(http.get("http://127.0.0.1:6379/", "*/*", 1).await.is_err());
//! # Ok(()) }
//! ```
//!
//! Identity resolution, XRPC, OAuth and the firehose's websocket upgrade all reach
//! servers named by untrusted data: handles, DID documents, OAuth metadata. This crate
//! gives them one stack with one rule about where connections may go:
//!
//! - [`ConnectPolicy`] (always built, pure): https only and public unicast addresses only,
//!   unless private networks or named hosts are allowed. Checked on the URL before any
//!   request and on every address a name resolves to, at connect time, so redirects that
//!   a caller follows are re-checked on every hop.
//! - [`Transport`]: the trait the higher crates call (bring your own for tests or WASM),
//!   with [`Body`] as the body type both ways.
//! - [`HttpClient`] (the `client` feature, default): hyper + hyper-util + rustls, pooled
//!   keep-alive connections (HTTP/1.1 and HTTP/2 by ALPN), connect and response deadlines,
//!   [`read_body`] with a size cap and a deadline, the `User-Agent`, and the TLS
//!   configuration (roots and crypto provider) of your choice, ring and the webpki roots
//!   by default. It is cheap to clone; clones share the connection pool.
//! - [`Proxy`]: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` are honoured by
//!   default (curl's rules), through HTTP `CONNECT` tunnels; the connect policy still
//!   applies to the target.
//!
#![cfg_attr(feature = "client", doc = "```no_run")]
#![cfg_attr(not(feature = "client"), doc = "```ignore")]
//! # async fn demo() -> Result<(), atmo_http::Error> {
//! use atmo_http::{ConnectPolicy, HttpClient};
//!
//! let client = HttpClient::builder()
//!     .policy(ConnectPolicy::default().allow_host("localhost"))
//!     .build()?;
//! let res = client.get("http://localhost:2583/xrpc/_health", "application/json", 1 << 20).await?;
//! assert_eq!(res.status(), 200);
//! // A name that resolves to a private address is refused before any byte is sent:
//! let err = client.get("https://10.0.0.1/", "*/*", 1024).await.unwrap_err();
//! assert!(err.is_policy());
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

mod error;
pub mod policy;
mod transport;

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
mod connector;
#[cfg(feature = "client")]
mod proxy;

pub use error::Error;
pub use policy::ConnectPolicy;
pub use transport::{Body, ResponseFuture, Transport, empty, full};

#[cfg(feature = "client")]
pub use client::{HttpClient, HttpClientBuilder, Stream, read_body};
#[cfg(feature = "client")]
pub use proxy::Proxy;
