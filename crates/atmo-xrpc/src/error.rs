//! The crate's error type.

use std::path::PathBuf;

use crate::xrpc_error::XrpcError;

/// Everything that can go wrong in an XRPC call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The service answered with an error status (and usually an `{error, message}` body).
    #[error(transparent)]
    Xrpc(Box<XrpcError>),
    /// The request never got a complete answer: the connect policy refused it, or the
    /// connection, TLS, a deadline or I/O failed.
    #[error(transparent)]
    Transport(#[from] atmo_http::Error),
    /// A service URL that cannot be used.
    #[error("invalid service URL {url:?}: {reason}")]
    BaseUrl {
        /// The URL as given (at most 256 bytes of it).
        url: String,
        /// What is wrong with it.
        reason: atmo_syntax::ServiceUrlError,
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
    /// Writing a download to the caller's writer failed.
    #[error("writing the download failed: {message}")]
    Write {
        /// The I/O error kind.
        kind: std::io::ErrorKind,
        /// What failed.
        message: String,
    },
    /// A call that needs a session was made without one (log in first).
    #[error("no session: log in first (this call needs an authenticated session)")]
    NoSession,
    /// The session could not be refreshed (the service's answer is kept); log in again.
    #[error("the session expired and could not be refreshed ({0}); log in again")]
    SessionExpired(Box<XrpcError>),
    /// Reading, writing or locking the session store failed.
    #[error("session store {}: {message}", path.display())]
    SessionStore {
        /// The file (or another store's name).
        path: PathBuf,
        /// The I/O error kind, when the failure was I/O.
        kind: Option<std::io::ErrorKind>,
        /// What failed.
        message: String,
    },
}

/// A convenient alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

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
