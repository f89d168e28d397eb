//! The crate's error type, and the opaque transport error.

use std::fmt;

use crate::response::XrpcError;

/// Everything that can go wrong in an XRPC call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The service answered with an error status (and usually an `{error, message}` body).
    #[error(transparent)]
    Xrpc(Box<XrpcError>),
    /// The request never got a complete answer: connection, TLS, timeout, I/O.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A service URL that cannot be used.
    #[error("invalid service URL {url:?}: {reason}")]
    BaseUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A request that cannot be built (bad header value, bad parameter, bad proxy target).
    #[error("invalid request: {0}")]
    Request(String),
    /// A request body or parameter set that does not serialize.
    #[error("cannot encode {what}: {message}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// Why it failed.
        message: String,
    },
    /// A success response whose body is not what was expected.
    #[error("cannot decode the {what} response body: {message}")]
    Decode {
        /// What was being decoded (`JSON`, `CBOR`, the NSID...).
        what: String,
        /// Why it failed.
        message: String,
    },
    /// A response body larger than the configured cap.
    #[error("response body larger than the limit of {limit} bytes")]
    TooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// Downloaded bytes whose hash does not match the CID asked for.
    #[error("CID mismatch: asked for {expected}, the bytes hash to {actual}")]
    CidMismatch {
        /// The CID that was requested.
        expected: String,
        /// The CID of the bytes received.
        actual: String,
    },
    /// A call that needs a session was made without one (log in first).
    #[error("no session: log in first (this call needs an authenticated session)")]
    NoSession,
    /// The session could not be refreshed; log in again.
    #[error("the session expired and could not be refreshed ({0}); log in again")]
    SessionExpired(String),
    /// Reading or writing the session store failed.
    #[error("session store {path}: {message}")]
    SessionStore {
        /// The file.
        path: String,
        /// What failed.
        message: String,
    },
}

/// A convenient alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of transport failure a [`TransportError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// Connecting failed (refused, unreachable, DNS, TLS handshake).
    Connect,
    /// The connect or request deadline passed.
    Timeout,
    /// The connection broke while sending or receiving.
    Io,
    /// The peer sent something that is not HTTP.
    Protocol,
    /// Plain `http://` to a host that is not loopback (use https).
    Insecure,
    /// Reading a local body source (a file, a stream) failed.
    Body,
}

/// A failure below XRPC: opaque, with [`TransportError::kind`] and `is_*` checks, so no
/// dependency's error type leaks into the API.
#[derive(Debug)]
pub struct TransportError {
    kind: TransportErrorKind,
    message: String,
}

impl TransportError {
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(crate) fn new(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// Builds one from any error, with its chain of sources in the message.
    #[cfg(feature = "client")]
    pub(crate) fn from_err(
        kind: TransportErrorKind,
        err: &(dyn std::error::Error + 'static),
    ) -> Self {
        let mut message = err.to_string();
        let mut source = err.source();
        while let Some(s) = source {
            let text = s.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = s.source();
        }
        Self::new(kind, message)
    }

    /// The kind of failure.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// True when a deadline passed.
    pub fn is_timeout(&self) -> bool {
        self.kind == TransportErrorKind::Timeout
    }

    /// True when the connection could not be made.
    pub fn is_connect(&self) -> bool {
        self.kind == TransportErrorKind::Connect
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            TransportErrorKind::Connect => "cannot connect",
            TransportErrorKind::Timeout => "timed out",
            TransportErrorKind::Io => "connection failed",
            TransportErrorKind::Protocol => "HTTP protocol error",
            TransportErrorKind::Insecure => "refused insecure URL",
            TransportErrorKind::Body => "cannot read the request body",
        };
        write!(f, "{what}: {}", self.message)
    }
}

impl std::error::Error for TransportError {}

impl Error {
    /// The XRPC error, if the service answered with one.
    pub fn as_xrpc(&self) -> Option<&XrpcError> {
        match self {
            Self::Xrpc(e) => Some(e.as_ref()),
            _ => None,
        }
    }

    /// True for a transport timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Transport(t) if t.is_timeout())
    }

    /// True when the service said the record (or blob, or repo) does not exist.
    pub fn is_not_found(&self) -> bool {
        self.as_xrpc().is_some_and(XrpcError::is_not_found)
    }
}

impl From<XrpcError> for Error {
    fn from(e: XrpcError) -> Self {
        Self::Xrpc(Box::new(e))
    }
}
