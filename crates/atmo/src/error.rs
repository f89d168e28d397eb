//! The one error type of the facade.

use std::path::PathBuf;

use atmo_syntax::AtUri;

/// Why a service-auth token was refused (see the `service_auth` module).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenProblem {
    /// Not three base64url parts with a JSON header and payload of the right shape.
    Malformed(&'static str),
    /// A `typ` that marks another kind of token (`at+jwt`, `refresh+jwt`, `dpop+jwt`).
    WrongType(String),
    /// An `alg` other than `ES256K` / `ES256`, or one that does not match the key.
    Algorithm(String),
    /// `exp` is in the past (beyond the allowed clock skew).
    Expired {
        /// The token's `exp` (seconds since the epoch).
        exp: i64,
        /// The verifier's clock (seconds since the epoch).
        now: i64,
    },
    /// `iat` is in the future (beyond the allowed clock skew).
    NotYetValid {
        /// The token's `iat`.
        iat: i64,
        /// The verifier's clock.
        now: i64,
    },
    /// `aud` is not the verifying service.
    Audience {
        /// What the verifier expected.
        expected: String,
        /// What the token said.
        found: String,
    },
    /// `lxm` is missing or names another method.
    Method {
        /// The method being called.
        expected: String,
        /// What the token said (`None`: no `lxm`).
        found: Option<String>,
    },
    /// `iss` is not a DID (optionally with a `#service` fragment).
    Issuer(String),
    /// The signature does not verify with the issuer's current key.
    Signature,
    /// The `jti` was seen before (a replay).
    Replayed(String),
}

impl std::fmt::Display for TokenProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(what) => write!(f, "malformed token: {what}"),
            Self::WrongType(t) => write!(f, "token type {t:?} is not a service-auth token"),
            Self::Algorithm(a) => write!(f, "unsupported or mismatched algorithm {a:?}"),
            Self::Expired { exp, now } => write!(f, "token expired at {exp} (now {now})"),
            Self::NotYetValid { iat, now } => {
                write!(f, "token issued in the future at {iat} (now {now})")
            }
            Self::Audience { expected, found } => {
                write!(f, "audience is {found:?}, expected {expected:?}")
            }
            Self::Method {
                expected,
                found: Some(found),
            } => write!(f, "lexicon method is {found:?}, expected {expected:?}"),
            Self::Method {
                expected,
                found: None,
            } => write!(f, "no lexicon method (lxm), expected {expected:?}"),
            Self::Issuer(iss) => write!(f, "issuer {iss:?} is not a DID"),
            Self::Signature => f.write_str("signature does not match the issuer's key"),
            Self::Replayed(jti) => write!(f, "token id {jti:?} was already used"),
        }
    }
}

/// Everything the facade's own code can fail with; the layers' errors are wrapped whole.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A call failed (transport, an error answer the caller did not expect, decoding).
    #[cfg(feature = "xrpc")]
    #[error(transparent)]
    Xrpc(#[from] atmo_xrpc::Error),
    /// Resolving a handle or DID failed.
    #[cfg(feature = "identity")]
    #[error(transparent)]
    Identity(#[from] atmo_identity::Error),
    /// An OAuth session failed (refresh refused, revocation, store).
    #[cfg(feature = "oauth")]
    #[error(transparent)]
    OAuth(#[from] atmo_oauth::Error),
    /// A compare-and-swap write lost a race: the repo or record was not at the expected
    /// version (`InvalidSwap`). Read again and retry.
    #[cfg(feature = "xrpc")]
    #[error("{nsid}: the repository changed under a swap condition: {detail}")]
    InvalidSwap {
        /// The write endpoint.
        nsid: &'static str,
        /// The service's answer.
        detail: Box<atmo_xrpc::XrpcError>,
    },
    /// The service answered with another error its lexicon declares.
    #[cfg(feature = "xrpc")]
    #[error("{nsid}: {name}: {detail}")]
    Endpoint {
        /// The endpoint.
        nsid: &'static str,
        /// The declared error's name (`RecordNotFound`, `RepoNotFound`...).
        name: &'static str,
        /// The service's answer.
        detail: Box<atmo_xrpc::XrpcError>,
    },
    /// The operation writes to the signed-in account's repository but the agent has no
    /// account (it was built for public reads).
    #[error("this needs a signed-in account")]
    NotSignedIn,
    /// A record the operation needs does not exist.
    #[error("record not found: {uri}")]
    RecordNotFound {
        /// The record.
        uri: AtUri,
    },
    /// An AT-URI that does not name what the operation needs.
    #[error("{uri}: {problem}")]
    BadUri {
        /// The URI given.
        uri: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A post's text is longer than the limit.
    #[error("the text is {graphemes} graphemes long; the limit is {max}")]
    TextTooLong {
        /// Its length in graphemes.
        graphemes: usize,
        /// The limit.
        max: usize,
    },
    /// More images than a post can hold.
    #[error("{count} images; a post holds at most {max}")]
    TooManyImages {
        /// How many were given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A file given as an image is not a PNG, JPEG, GIF or WebP image.
    #[error("{}: not an image (PNG, JPEG, GIF or WebP)", path.display())]
    NotAnImage {
        /// The file.
        path: PathBuf,
    },
    /// Reading a file failed.
    #[error("{}: {kind}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        kind: std::io::ErrorKind,
    },
    /// A record could not be encoded or decoded as its type.
    #[error("{nsid}: {message}")]
    Record {
        /// The collection.
        nsid: &'static str,
        /// What failed.
        message: String,
    },
    /// A service-auth token was refused.
    #[error("service auth token refused: {0}")]
    Token(TokenProblem),
    /// Signing a token failed.
    #[error("signing failed: {0}")]
    Sign(#[from] atmo_crypto::Error),
    /// An update kept losing the race to concurrent writers.
    #[error("gave up after {attempts} conflicting attempts")]
    TooManyConflicts {
        /// How many times it tried.
        attempts: u32,
    },
}

/// The facade's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(feature = "xrpc")]
impl Error {
    /// Sorts the error of a typed call: a declared `InvalidSwap` becomes
    /// [`Error::InvalidSwap`], another declared error [`Error::Endpoint`], anything else
    /// [`Error::Xrpc`].
    pub fn from_call<E: atmo_xrpc::EndpointError>(
        nsid: &'static str,
        e: atmo_xrpc::CallError<E>,
    ) -> Self {
        match e {
            atmo_xrpc::CallError::Endpoint { error, detail } => {
                let name = error.as_str();
                if name == "InvalidSwap" {
                    Self::InvalidSwap { nsid, detail }
                } else {
                    Self::Endpoint { nsid, name, detail }
                }
            }
            atmo_xrpc::CallError::Other(e) => Self::Xrpc(e),
            other => Self::Xrpc(other.into_error()),
        }
    }

    /// True for [`Error::InvalidSwap`].
    #[must_use]
    pub fn is_invalid_swap(&self) -> bool {
        matches!(self, Self::InvalidSwap { .. })
    }
}
