//! Error answers of XRPC services and their rate-limit headers: pure functions, no I/O.

use std::fmt;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};

/// The most characters of an error name or message kept from a response.
pub const MAX_ERROR_TEXT: usize = 2048;
/// The most bytes of an error body that are parsed.
pub const MAX_ERROR_BODY: usize = 64 * 1024;

/// An error answer from an XRPC service: the status and the `{error, message}` body.
///
/// ```
/// let e = atmo_xrpc::XrpcError::from_parts(
///     400,
///     &http::HeaderMap::new(),
///     br#"{"error":"ExpiredToken","message":"Token has expired"}"#,
/// );
/// assert!(e.is_expired_token());
/// assert_eq!(e.to_string(), "HTTP 400 ExpiredToken: Token has expired");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XrpcError {
    /// The HTTP status.
    pub status: u16,
    /// The `error` name, e.g. `InvalidRequest`, `ExpiredToken`, `RecordNotFound`.
    pub error: Option<String>,
    /// The human-readable `message`.
    pub message: Option<String>,
    /// Rate-limit headers, if the response carried them.
    pub rate_limit: Option<RateLimit>,
}

impl XrpcError {
    /// Parses an error response; a body that is not an `{error, message}` object leaves
    /// both fields `None`. Strings are cut at [`MAX_ERROR_TEXT`] characters.
    pub fn from_parts(status: u16, headers: &HeaderMap, body: &[u8]) -> Self {
        let (error, message) = parse_error_body(body);
        Self {
            status,
            error,
            message,
            rate_limit: RateLimit::from_headers(headers),
        }
    }

    /// The `error` name, if any.
    pub fn error_name(&self) -> Option<&str> {
        self.error.as_deref()
    }

    fn named(&self, name: &str) -> bool {
        self.error.as_deref() == Some(name)
    }

    /// The access token expired: refresh the session and retry.
    pub fn is_expired_token(&self) -> bool {
        self.named("ExpiredToken")
    }

    /// The token is not valid (revoked, wrong audience, bad signature).
    pub fn is_invalid_token(&self) -> bool {
        self.named("InvalidToken")
    }

    /// The call needs authentication (401 or `AuthenticationRequired`).
    pub fn is_auth_required(&self) -> bool {
        self.status == 401 || self.named("AuthenticationRequired")
    }

    /// Too many requests (429 or `RateLimitExceeded`).
    pub fn is_rate_limited(&self) -> bool {
        self.status == 429 || self.named("RateLimitExceeded")
    }

    /// A record, blob, repo or route that does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status == 404
            || matches!(
                self.error.as_deref(),
                Some("RecordNotFound" | "BlobNotFound" | "RepoNotFound" | "NotFound")
            )
    }

    /// A `swapRecord`/`swapCommit` that did not match (`InvalidSwap`).
    pub fn is_invalid_swap(&self) -> bool {
        self.named("InvalidSwap")
    }

    /// A server-side failure (5xx).
    pub fn is_server_error(&self) -> bool {
        (500..600).contains(&self.status)
    }
}

impl fmt::Display for XrpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        match (&self.error, &self.message) {
            (Some(e), Some(m)) => write!(f, " {e}: {m}"),
            (Some(e), None) => write!(f, " {e}"),
            (None, Some(m)) => write!(f, ": {m}"),
            (None, None) => {
                let reason = StatusCode::from_u16(self.status)
                    .ok()
                    .and_then(|s| s.canonical_reason());
                match reason {
                    Some(r) => write!(f, " {r}"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl std::error::Error for XrpcError {}

/// Parses an `{error, message}` body, leniently: anything else gives `(None, None)`.
/// Bodies over [`MAX_ERROR_BODY`] bytes are not parsed; strings are cut at
/// [`MAX_ERROR_TEXT`] characters.
pub fn parse_error_body(body: &[u8]) -> (Option<String>, Option<String>) {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default)]
        error: Option<serde_json::Value>,
        #[serde(default)]
        message: Option<serde_json::Value>,
    }
    if body.len() > MAX_ERROR_BODY {
        return (None, None);
    }
    let Ok(b) = serde_json::from_slice::<Body>(body) else {
        return (None, None);
    };
    let text = |v: Option<serde_json::Value>| match v {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(cut(s)),
        _ => None,
    };
    (text(b.error), text(b.message))
}

fn cut(mut s: String) -> String {
    if let Some((i, _)) = s.char_indices().nth(MAX_ERROR_TEXT) {
        s.truncate(i);
    }
    s
}

/// The rate-limit headers of a response (`ratelimit-limit`, `-remaining`, `-reset`,
/// `-policy`).
///
/// ```
/// let mut h = http::HeaderMap::new();
/// h.insert("ratelimit-limit", "3000".parse().unwrap());
/// h.insert("ratelimit-remaining", "2999".parse().unwrap());
/// h.insert("ratelimit-reset", "1700000300".parse().unwrap());
/// h.insert("ratelimit-policy", "3000;w=300".parse().unwrap());
/// let rl = atmo_xrpc::RateLimit::from_headers(&h).unwrap();
/// assert_eq!((rl.limit, rl.remaining, rl.window_secs), (3000, 2999, Some(300)));
/// assert!(!rl.is_low());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub limit: u64,
    /// Requests left in this window.
    pub remaining: u64,
    /// When the window resets, in seconds since the Unix epoch (if given).
    pub reset: Option<u64>,
    /// The raw `ratelimit-policy` value, e.g. `3000;w=300`.
    pub policy: Option<String>,
    /// The window length from the policy's `w=` parameter, in seconds.
    pub window_secs: Option<u64>,
}

impl RateLimit {
    /// Reads the headers; `None` unless both limit and remaining are present integers.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let num = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let limit = num("ratelimit-limit")?;
        let remaining = num("ratelimit-remaining")?;
        let policy = headers
            .get("ratelimit-policy")
            .and_then(|v| v.to_str().ok())
            .map(|s| {
                // Trimmed again after the cut, which may end on a space: what is kept
                // reads back the same when written as a header again.
                let mut p = cut(s.trim().to_owned());
                p.truncate(p.trim_end().len());
                p
            });
        let window_secs = policy.as_deref().and_then(|p| {
            p.split(';')
                .skip(1)
                .filter_map(|kv| kv.trim().strip_prefix("w="))
                .find_map(|w| w.trim().parse().ok())
        });
        Some(Self {
            limit,
            remaining,
            reset: num("ratelimit-reset"),
            policy,
            window_secs,
        })
    }

    /// Below 10% of the limit left.
    pub fn is_low(&self) -> bool {
        self.remaining.saturating_mul(10) < self.limit
    }

    /// The category this limit counts: the policy text (or the limit when there is none).
    pub fn category(&self) -> String {
        self.policy
            .clone()
            .unwrap_or_else(|| format!("{};w=?", self.limit))
    }

    /// How long until the window resets, seen from `now`. A reset value that looks like
    /// a delta (smaller than one year of seconds) is read as seconds from now.
    pub fn reset_in(&self, now: SystemTime) -> Option<Duration> {
        let reset = self.reset?;
        if reset < 365 * 24 * 3600 {
            return Some(Duration::from_secs(reset));
        }
        let now = now.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs();
        Some(Duration::from_secs(reset.saturating_sub(now)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seen while writing the round trip of the `xrpc_rate_limit` fuzz target: a policy
    /// longer than [`MAX_ERROR_TEXT`] cut just after a space kept the space, and the value
    /// written back as a header read back without it.
    #[test]
    fn a_cut_policy_reads_back_the_same() {
        let long = format!("{};w=60", "a".repeat(MAX_ERROR_TEXT - 1) + " b");
        let mut h = HeaderMap::new();
        h.insert("ratelimit-limit", "10".parse().unwrap());
        h.insert("ratelimit-remaining", "5".parse().unwrap());
        h.insert("ratelimit-policy", long.parse().unwrap());
        let rl = RateLimit::from_headers(&h).unwrap();
        let policy = rl.policy.clone().unwrap();
        assert_eq!(policy, "a".repeat(MAX_ERROR_TEXT - 1));
        h.insert("ratelimit-policy", policy.parse().unwrap());
        assert_eq!(RateLimit::from_headers(&h), Some(rl));
    }
}
