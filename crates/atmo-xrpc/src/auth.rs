//! Authentication as a plug-in: the client asks an [`Auth`] to authorize each request
//! and shows it each answer; the auth decides whether the request goes once more (after
//! a token refresh, or with a new DPoP nonce). App-password sessions
//! ([`crate::PasswordSession`]) live in this crate; OAuth DPoP sessions and
//! service-auth tokens implement the same trait in their own crates, without touching
//! the transport.

use std::future::Future;
use std::pin::Pin;

use atmo_syntax::Nsid;
use http::HeaderMap;

use crate::error::Result;
use crate::xrpc_error::XrpcError;

/// What [`Auth`] methods return.
pub type AuthFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// A request about to be sent, for [`Auth::authorize`] to add its headers to.
#[derive(Debug)]
#[non_exhaustive]
pub struct AuthRequest<'a> {
    /// The HTTP method.
    pub method: &'a http::Method,
    /// The absolute URL (for a DPoP proof's `htu`).
    pub uri: &'a http::Uri,
    /// The XRPC method.
    pub nsid: &'a Nsid,
    /// The request headers: add `Authorization` (and `DPoP`) here.
    pub headers: &'a mut HeaderMap,
    /// 0 for the first send, 1.. for the retries an [`Auth`] asked for.
    pub attempt: u32,
}

/// An answer, for [`Auth::on_response`].
#[derive(Debug)]
#[non_exhaustive]
pub struct AuthResponse<'a> {
    /// The absolute URL that answered.
    pub uri: &'a http::Uri,
    /// The HTTP status.
    pub status: u16,
    /// The response headers (`DPoP-Nonce`, `WWW-Authenticate`...).
    pub headers: &'a HeaderMap,
    /// The parsed error, for an error status.
    pub error: Option<&'a XrpcError>,
}

/// What [`Auth::authorize`] hands back to [`Auth::on_response`] for the same request, e.g.
/// the generation of the token it used, so that of many requests that saw the same
/// expired token only the first refreshes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuthTicket(pub u64);

/// Whether the client should send the request once more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthDecision {
    /// Return this answer to the caller.
    Done,
    /// Send the request again (the auth refreshed a token or learned a nonce); the client
    /// retries at most twice per call, and never a request whose body was a stream.
    Retry,
}

/// How a [`crate::Client`] authenticates its calls.
///
/// ```
/// use atmo_xrpc::{Auth, AuthDecision, AuthFuture, AuthRequest, AuthResponse, AuthTicket};
///
/// /// A fixed bearer token (say, a service-auth JWT minted elsewhere).
/// #[derive(Debug)]
/// struct Bearer(http::HeaderValue);
///
/// impl Auth for Bearer {
///     fn authorize<'a>(&'a self, req: AuthRequest<'a>) -> AuthFuture<'a, AuthTicket> {
///         req.headers.insert(http::header::AUTHORIZATION, self.0.clone());
///         Box::pin(async { Ok(AuthTicket::default()) })
///     }
///     fn on_response<'a>(&'a self, _: AuthTicket, _: &'a AuthResponse<'a>)
///         -> AuthFuture<'a, AuthDecision> {
///         Box::pin(async { Ok(AuthDecision::Done) })
///     }
/// }
/// ```
pub trait Auth: Send + Sync + std::fmt::Debug {
    /// Adds credentials to a request.
    ///
    /// # Errors
    ///
    /// Whatever stops the request from being authorized (no session, a failed proof).
    fn authorize<'a>(&'a self, req: AuthRequest<'a>) -> AuthFuture<'a, AuthTicket>;

    /// Sees every answer to a request it authorized (success or error) and says whether
    /// to send it again.
    ///
    /// # Errors
    ///
    /// A failed refresh ([`crate::Error::SessionExpired`]) or store.
    fn on_response<'a>(
        &'a self,
        ticket: AuthTicket,
        res: &'a AuthResponse<'a>,
    ) -> AuthFuture<'a, AuthDecision>;

    /// Whether there are credentials at all: calls that need a session fail with
    /// [`crate::Error::NoSession`] without them, and calls that may go either way are
    /// sent without asking this auth.
    fn is_authenticated(&self) -> bool {
        true
    }

    /// The account the credentials act for, if there is one (record helpers write to
    /// its repository by default).
    fn account_did(&self) -> Option<atmo_syntax::Did> {
        None
    }
}

/// No credentials: public calls only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoAuth;

impl Auth for NoAuth {
    fn authorize<'a>(&'a self, _req: AuthRequest<'a>) -> AuthFuture<'a, AuthTicket> {
        Box::pin(async { Ok(AuthTicket::default()) })
    }

    fn on_response<'a>(
        &'a self,
        _ticket: AuthTicket,
        _res: &'a AuthResponse<'a>,
    ) -> AuthFuture<'a, AuthDecision> {
        Box::pin(async { Ok(AuthDecision::Done) })
    }

    fn is_authenticated(&self) -> bool {
        false
    }
}

/// One fixed header on every call: a bearer token minted elsewhere (a service-auth JWT
/// from `com.atproto.server.getServiceAuth`, a refresh token), or HTTP Basic (a PDS's
/// admin password). The value is marked sensitive, so `Debug` never shows it; nothing is
/// refreshed or retried.
///
/// ```
/// use atmo_xrpc::{Client, HeaderAuth};
///
/// let client = Client::new("https://pds.example.com")?;
/// let admin = client.with_auth(HeaderAuth::basic("admin", "hunter2")?);
/// let service = client.with_auth(HeaderAuth::bearer("eyJ...")?);
/// assert!(!format!("{admin:?}").contains("hunter2"));
/// # let _ = service;
/// # Ok::<(), atmo_xrpc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct HeaderAuth {
    name: http::HeaderName,
    value: http::HeaderValue,
}

impl HeaderAuth {
    /// `name: value` on every call (the value is marked sensitive).
    #[must_use]
    pub fn new(name: http::HeaderName, mut value: http::HeaderValue) -> Self {
        value.set_sensitive(true);
        Self { name, value }
    }

    /// `Authorization: Bearer <token>`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Request`] when the token cannot be a header value.
    pub fn bearer(token: &str) -> crate::Result<Self> {
        let value = http::HeaderValue::try_from(format!("Bearer {token}"))
            .map_err(|_| crate::Error::Request("the token is not a valid header value".into()))?;
        Ok(Self::new(http::header::AUTHORIZATION, value))
    }

    /// `Authorization: Basic <base64(user:password)>`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Request`] when the result cannot be a header value.
    pub fn basic(user: &str, password: &str) -> crate::Result<Self> {
        use base64::Engine as _;
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let value = http::HeaderValue::try_from(format!("Basic {encoded}")).map_err(|_| {
            crate::Error::Request("the credentials are not a valid header value".into())
        })?;
        Ok(Self::new(http::header::AUTHORIZATION, value))
    }
}

impl Auth for HeaderAuth {
    fn authorize<'a>(&'a self, req: AuthRequest<'a>) -> AuthFuture<'a, AuthTicket> {
        req.headers.insert(self.name.clone(), self.value.clone());
        Box::pin(async { Ok(AuthTicket::default()) })
    }

    fn on_response<'a>(
        &'a self,
        _ticket: AuthTicket,
        _res: &'a AuthResponse<'a>,
    ) -> AuthFuture<'a, AuthDecision> {
        Box::pin(async { Ok(AuthDecision::Done) })
    }
}
