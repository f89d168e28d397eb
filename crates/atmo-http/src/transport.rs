//! The transport trait and the body type every atmo client speaks.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Empty, Full};

use crate::error::Error;

/// A request or response body: a boxed stream of byte chunks whose errors are [`Error`]s.
pub type Body = UnsyncBoxBody<Bytes, Error>;

/// An empty body.
#[must_use]
pub fn empty() -> Body {
    Empty::new().map_err(|e| match e {}).boxed_unsync()
}

/// A body of these bytes.
#[must_use]
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|e| match e {})
        .boxed_unsync()
}

/// What [`Transport::send`] returns.
pub type ResponseFuture<'a> =
    Pin<Box<dyn Future<Output = Result<http::Response<Body>, Error>> + Send + 'a>>;

/// Sends one HTTP request and returns the response head with its unread body.
///
/// [`crate::HttpClient`] (the `client` feature) is the implementation atmo uses: hyper +
/// rustls with the connect policy on every connection. Tests, WASM programs and users
/// with their own HTTP stack implement this trait instead; the XRPC, identity and OAuth
/// crates only ever call it. An implementation must not follow redirects (callers that
/// do, follow them through `send` again, so every hop passes the policy).
///
/// ```
/// use atmo_http::{Body, Error, ResponseFuture, Transport};
///
/// /// Answers every request with 204, without a network.
/// #[derive(Debug)]
/// struct NoContent;
///
/// impl Transport for NoContent {
///     fn send(&self, _req: http::Request<Body>) -> ResponseFuture<'_> {
///         Box::pin(async {
///             http::Response::builder()
///                 .status(204)
///                 .body(atmo_http::empty())
///                 .map_err(|_| Error::Setup("response".into()))
///         })
///     }
/// }
/// ```
pub trait Transport: Send + Sync + std::fmt::Debug {
    /// Sends `req` (an absolute URI) and waits for the response head.
    ///
    /// # Errors
    ///
    /// Policy refusals, connection and TLS failures, the response deadline.
    fn send(&self, req: http::Request<Body>) -> ResponseFuture<'_>;
}

impl<T: Transport + ?Sized> Transport for std::sync::Arc<T> {
    fn send(&self, req: http::Request<Body>) -> ResponseFuture<'_> {
        (**self).send(req)
    }
}
