//! The crate's one error type, and the OAuth `error` codes.

use std::path::PathBuf;

use atmo_syntax::Did;

/// An OAuth `error` code (RFC 6749 §5.2, RFC 9449, RFC 9126, OpenID Connect), with the
/// codes this crate does not know kept as they came.
///
/// ```
/// use atmo_oauth::OAuthErrorCode;
/// assert_eq!(OAuthErrorCode::parse("use_dpop_nonce"), OAuthErrorCode::UseDpopNonce);
/// assert_eq!(OAuthErrorCode::parse("slow_down").as_str(), "slow_down");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OAuthErrorCode {
    /// `invalid_request`
    InvalidRequest,
    /// `invalid_client`
    InvalidClient,
    /// `invalid_grant`: a spent, revoked or expired code or refresh token.
    InvalidGrant,
    /// `unauthorized_client`
    UnauthorizedClient,
    /// `unsupported_grant_type`
    UnsupportedGrantType,
    /// `invalid_scope`
    InvalidScope,
    /// `access_denied`: the user said no.
    AccessDenied,
    /// `unsupported_response_type`
    UnsupportedResponseType,
    /// `server_error`
    ServerError,
    /// `temporarily_unavailable`
    TemporarilyUnavailable,
    /// `invalid_dpop_proof` (RFC 9449)
    InvalidDpopProof,
    /// `use_dpop_nonce` (RFC 9449): send again with the server's `DPoP-Nonce`.
    UseDpopNonce,
    /// `invalid_token` (RFC 6750): an expired or revoked access token.
    InvalidToken,
    /// `insufficient_scope` (RFC 6750)
    InsufficientScope,
    /// `invalid_request_uri` (RFC 9126)
    InvalidRequestUri,
    /// `login_required` (OpenID Connect)
    LoginRequired,
    /// `consent_required` (OpenID Connect)
    ConsentRequired,
    /// `invalid_client_metadata` (RFC 7591): the server could not fetch the client's
    /// metadata document (or its JWKS), or refuses what it says.
    InvalidClientMetadata,
    /// `invalid_client_id`: a `client_id` the server does not accept (e.g. on a local
    /// host name).
    InvalidClientId,
    /// `invalid_redirect_uri` (RFC 7591)
    InvalidRedirectUri,
    /// Any other code, as it came (cut to 128 bytes).
    Other(String),
}

impl OAuthErrorCode {
    /// The code for a string.
    #[must_use]
    pub fn parse(s: &str) -> Self {
        match s {
            "invalid_request" => Self::InvalidRequest,
            "invalid_client" => Self::InvalidClient,
            "invalid_grant" => Self::InvalidGrant,
            "unauthorized_client" => Self::UnauthorizedClient,
            "unsupported_grant_type" => Self::UnsupportedGrantType,
            "invalid_scope" => Self::InvalidScope,
            "access_denied" => Self::AccessDenied,
            "unsupported_response_type" => Self::UnsupportedResponseType,
            "server_error" => Self::ServerError,
            "temporarily_unavailable" => Self::TemporarilyUnavailable,
            "invalid_dpop_proof" => Self::InvalidDpopProof,
            "use_dpop_nonce" => Self::UseDpopNonce,
            "invalid_token" => Self::InvalidToken,
            "insufficient_scope" => Self::InsufficientScope,
            "invalid_request_uri" => Self::InvalidRequestUri,
            "login_required" => Self::LoginRequired,
            "consent_required" => Self::ConsentRequired,
            "invalid_client_metadata" => Self::InvalidClientMetadata,
            "invalid_client_id" => Self::InvalidClientId,
            "invalid_redirect_uri" => Self::InvalidRedirectUri,
            other => Self::Other(clip(other, 128)),
        }
    }

    /// The code as a string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::InvalidRequestUri => "invalid_request_uri",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::InvalidClientId => "invalid_client_id",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::Other(s) => s,
        }
    }
}

impl std::fmt::Display for OAuthErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which check of a metadata document failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// Not a JSON object of the expected shape, or larger than the limit.
    #[error("malformed: {0}")]
    Malformed(String),
    /// The `issuer` (or a protected resource's `resource`) is not the URL it was fetched
    /// from.
    #[error("issuer {found:?} does not match the URL it was fetched from ({expected:?})")]
    IssuerMismatch {
        /// The origin the document was fetched from.
        expected: String,
        /// What the document says.
        found: String,
    },
    /// A required field is missing or does not hold what the atproto profile needs.
    #[error("{field}: {reason}")]
    Field {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An endpoint that is not a usable URL, or not on the issuer's origin.
    #[error("{field} {url:?}: {reason}")]
    Endpoint {
        /// The field.
        field: &'static str,
        /// The URL (clipped).
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// A scope string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid scope {scope:?}: {reason}")]
pub struct ScopeError {
    /// The scope (clipped to 256 bytes).
    pub scope: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Everything that can go wrong in atproto OAuth.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The HTTP exchange failed, or the connect policy refused a URL.
    #[error(transparent)]
    Http(#[from] atmo_http::Error),
    /// Resolving a handle or DID failed.
    #[error(transparent)]
    Identity(#[from] atmo_identity::Error),
    /// An XRPC client could not be made, or a call failed.
    #[error(transparent)]
    Xrpc(#[from] atmo_xrpc::Error),
    /// A key could not be made or used.
    #[error(transparent)]
    Crypto(#[from] atmo_crypto::Error),
    /// What the user typed is not a handle, DID or http(s) URL.
    #[error("not a handle, DID or service URL: {input:?}")]
    InvalidIdentifier {
        /// The input (clipped).
        input: String,
    },
    /// A metadata document (authorization server, protected resource, client) was
    /// refused.
    #[error("OAuth metadata at {url}: {error}")]
    Metadata {
        /// Where it came from (clipped).
        url: String,
        /// The check that failed.
        error: MetadataError,
    },
    /// The client's own configuration is not usable (redirect URIs, keys, scope).
    #[error("OAuth client configuration: {0}")]
    Config(String),
    /// A scope that does not parse.
    #[error(transparent)]
    Scope(#[from] ScopeError),
    /// The server answered with an OAuth error.
    #[error("OAuth error from {url} (HTTP {status}): {code}{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    OAuth {
        /// The endpoint (clipped).
        url: String,
        /// The HTTP status.
        status: u16,
        /// The `error` code.
        code: OAuthErrorCode,
        /// The `error_description` (clipped to 512 bytes).
        description: Option<String>,
    },
    /// A server answer that is not what the protocol says (bad JSON, missing fields,
    /// wrong status).
    #[error("unexpected answer from {url}: {reason}")]
    Response {
        /// The endpoint (clipped).
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The callback's `state` is not one this client issued, or was used already (a
    /// replayed callback).
    #[error("unknown or already used OAuth state")]
    UnknownState,
    /// The callback came after its state expired.
    #[error("the OAuth state expired; start the sign-in again")]
    StateExpired,
    /// The callback carries no `iss` although the server promised it (RFC 9207).
    #[error("the callback has no iss parameter")]
    MissingIssuer,
    /// The callback's `iss` is not the authorization server the request went to.
    #[error("the callback's iss {found:?} is not the expected issuer {expected:?}")]
    IssuerMismatch {
        /// The issuer the request went to.
        expected: String,
        /// The `iss` received (clipped).
        found: String,
    },
    /// The callback is malformed (no `code`, oversized, bad encoding).
    #[error("malformed callback: {0}")]
    Callback(&'static str),
    /// The authorization server sent the user back with an error (`access_denied`...).
    #[error("authorization failed: {code}{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    AuthorizationFailed {
        /// The `error` code.
        code: OAuthErrorCode,
        /// The `error_description` (clipped).
        description: Option<String>,
    },
    /// The token response failed a check (token type, `sub`, scope).
    #[error("token response refused: {0}")]
    TokenResponse(String),
    /// The token's `sub` is not the account the sign-in started with.
    #[error("the token is for {found}, not for {expected}")]
    SubjectMismatch {
        /// The account asked for.
        expected: Did,
        /// The token's `sub`.
        found: Did,
    },
    /// The token's `sub` resolves to a PDS whose authorization server is not the issuer
    /// that answered: the session is refused.
    #[error("{did}'s PDS names the authorization server {found:?}, not the issuer {expected:?}")]
    AuthorizationServerMismatch {
        /// The account.
        did: Did,
        /// The issuer that issued the tokens.
        expected: String,
        /// The authorization server the account's PDS names.
        found: String,
    },
    /// No stored session for this account.
    #[error("no OAuth session stored for {did}")]
    NoSession {
        /// The account.
        did: Did,
    },
    /// The session was signed out, or its refresh token was refused: sign in again.
    #[error("the OAuth session of {did} ended; sign in again")]
    SessionEnded {
        /// The account.
        did: Did,
    },
    /// Reading, writing or locking a store failed.
    #[error("OAuth store {}: {message}", path.display())]
    Store {
        /// The file or directory (or another store's name).
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
    /// The OAuth error code, for [`Error::OAuth`] and [`Error::AuthorizationFailed`].
    #[must_use]
    pub fn oauth_code(&self) -> Option<&OAuthErrorCode> {
        match self {
            Self::OAuth { code, .. } | Self::AuthorizationFailed { code, .. } => Some(code),
            _ => None,
        }
    }

    pub(crate) fn response(url: &str, reason: impl Into<String>) -> Self {
        Self::Response {
            url: clip(url, 512),
            reason: reason.into(),
        }
    }

    #[cfg(feature = "client")]
    pub(crate) fn metadata(url: &str, error: MetadataError) -> Self {
        Self::Metadata {
            url: clip(url, 512),
            error,
        }
    }
}

/// `s` cut to at most `max` bytes on a char boundary, with `...` when cut.
pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = s.get(..end).unwrap_or_default().to_owned();
    out.push_str("...");
    out
}
