//! The crate's one error type.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Everything that can go wrong between a request and its answer.
///
/// Each variant names what was asked for (a URL, a host, an address) and why it failed,
/// with typed fields; no dependency's error type leaks into it. It is `Clone`, so a
/// client can hand the same failure to several waiters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A URL that cannot be used at all.
    #[error("{url}: {reason}")]
    Url {
        /// The URL (clipped to 512 bytes).
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Plain `http://` to a host the connect policy does not exempt.
    #[error("{url}: plain http is refused (use https, or allow this host or private networks)")]
    Insecure {
        /// The URL (clipped).
        url: String,
    },
    /// The connect policy refused an address a host resolved to.
    #[error(
        "refusing to connect to {host} at {addr}: {reason} address (allow private networks to reach it)"
    )]
    Forbidden {
        /// The host name (clipped to 256 bytes).
        host: String,
        /// The refused address.
        addr: IpAddr,
        /// Which kind of address it is (`loopback`, `private`, `link-local`...).
        reason: &'static str,
    },
    /// The host name did not resolve.
    #[error("cannot resolve {host}: {message}")]
    Dns {
        /// The host name (clipped).
        host: String,
        /// The I/O error kind of the lookup.
        kind: std::io::ErrorKind,
        /// What the resolver said.
        message: String,
    },
    /// No connection could be made (refused, unreachable, connect timeout).
    #[error("cannot connect to {host} ({addr:?}): {message}")]
    Connect {
        /// The host name (clipped).
        host: String,
        /// The last address tried, if any.
        addr: Option<SocketAddr>,
        /// The I/O error kind.
        kind: std::io::ErrorKind,
        /// What failed.
        message: String,
    },
    /// The forward proxy could not open a tunnel: it refused (`status`), did not answer
    /// in time, did not speak HTTP, or is of an unsupported kind.
    #[error("proxy {proxy}: {message}")]
    Proxy {
        /// The proxy's `host:port` (never its credentials).
        proxy: String,
        /// The proxy's HTTP status, when it answered with one.
        status: Option<u16>,
        /// What failed.
        message: String,
    },
    /// The TLS handshake failed (certificate, protocol).
    #[error("TLS with {host} failed: {message}")]
    Tls {
        /// The host name (clipped).
        host: String,
        /// What failed.
        message: String,
    },
    /// A deadline passed: `what` says which (`connect`, `response`, `body`).
    #[error("{url}: no {what} within {after:?}")]
    Timeout {
        /// The URL (clipped).
        url: String,
        /// Which deadline.
        what: &'static str,
        /// The deadline.
        after: Duration,
    },
    /// A body larger than the caller's cap.
    #[error("{url}: body larger than the limit of {limit} bytes")]
    TooLarge {
        /// The URL (clipped).
        url: String,
        /// The cap in bytes.
        limit: u64,
    },
    /// The connection broke or the peer did not speak HTTP.
    #[error("{url}: {message}")]
    Io {
        /// The URL (clipped).
        url: String,
        /// The I/O error kind (`Other` for a protocol error).
        kind: std::io::ErrorKind,
        /// What failed.
        message: String,
    },
    /// Reading the caller's request body (a file, a stream) failed.
    #[error("reading the request body failed: {message}")]
    Body {
        /// The I/O error kind.
        kind: std::io::ErrorKind,
        /// What failed.
        message: String,
    },
    /// The client could not be set up (TLS configuration).
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
}

impl Error {
    /// True when a deadline passed.
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. })
    }

    /// True when no connection could be made (DNS, refused, TLS, policy).
    #[must_use]
    pub fn is_connect(&self) -> bool {
        matches!(
            self,
            Self::Dns { .. }
                | Self::Connect { .. }
                | Self::Tls { .. }
                | Self::Forbidden { .. }
                | Self::Proxy { .. }
        )
    }

    /// True when the connect policy refused the URL or an address.
    #[must_use]
    pub fn is_policy(&self) -> bool {
        matches!(self, Self::Forbidden { .. } | Self::Insecure { .. })
    }
}

/// `s` cut to at most `max` bytes (on a char boundary), with `...` when cut.
#[must_use]
pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", s.get(..end).unwrap_or_default())
}
