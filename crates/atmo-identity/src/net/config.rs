//! What a [`super::Resolver`] is configured with, and what it answers.

use std::net::SocketAddr;
use std::time::Duration;

use atmo_crypto::PublicKey;
use atmo_syntax::{Did, Handle, ServiceUrl};

use crate::DEFAULT_PLC_URL;
use crate::document::{DidDocument, DocumentLimits};

/// How a [`Resolver`](super::Resolver) behaves. Start from [`ResolverConfig::default`] and set fields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ResolverConfig {
    /// The did:plc directory. Default `https://plc.directory`.
    pub plc_url: String,
    /// Resolve handles only through this service's `com.atproto.identity.resolveHandle`
    /// (e.g. a PDS or an AppView) instead of DNS and well-known. Default none.
    pub handle_resolver: Option<String>,
    /// Allow connections to private, loopback, link-local and other non-public addresses,
    /// and plain `http://` URLs. Default false: only public addresses over HTTPS.
    pub allow_private_network: bool,
    /// Look handles up in DNS TXT (`_atproto.<handle>`) before the well-known URL.
    /// Default true when the `resolve-dns` feature is on.
    pub use_dns: bool,
    /// Ask these DNS servers (UDP, then TCP for truncated answers) instead of the system's
    /// configured ones, e.g. a company resolver or a test server. Default none: the
    /// system configuration (`/etc/resolv.conf`), or public resolvers when there is none.
    /// The server addresses are trusted as configured: the SSRF policy applies to the
    /// HTTP connections made from the answers, not to these.
    pub dns_servers: Option<Vec<SocketAddr>>,
    /// For development networks: fetch `/.well-known/atproto-did` from this base URL with
    /// the `Host` header set to the handle, instead of from `https://<handle>`.
    pub well_known_endpoint: Option<String>,
    /// Time limit of each request (connect, TLS, headers and body), and of each DNS query.
    /// Default 10 s.
    pub timeout: Duration,
    /// How long resolved handles and documents are kept. Zero disables the cache.
    /// Default 10 minutes.
    pub cache_ttl: Duration,
    /// Most entries kept per cache (handles, documents). Default 10 000.
    pub cache_capacity: usize,
    /// Bounds on DID documents.
    pub document_limits: DocumentLimits,
    /// The `User-Agent` sent.
    pub user_agent: String,
}

impl Default for ResolverConfig {
    fn default() -> Self {
        Self {
            plc_url: DEFAULT_PLC_URL.to_owned(),
            handle_resolver: None,
            allow_private_network: false,
            use_dns: cfg!(feature = "resolve-dns"),
            dns_servers: None,
            well_known_endpoint: None,
            timeout: Duration::from_secs(10),
            cache_ttl: Duration::from_secs(600),
            cache_capacity: 10_000,
            document_limits: DocumentLimits::default(),
            user_agent: concat!("atmo-identity/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// An identity, resolved and checked in both directions.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResolvedIdentity {
    /// The DID.
    pub did: Did,
    /// The handle, only when it resolves to `did` and the document lists it back;
    /// `None` is shown as `handle.invalid`.
    pub handle: Option<Handle>,
    /// The handle the lookup started from, or the one the document claims, verified or not.
    pub claimed_handle: Option<Handle>,
    /// The PDS URL (`#atproto_pds`).
    pub pds: ServiceUrl,
    /// The signing key (`#atproto`).
    pub signing_key: PublicKey,
    /// The whole DID document.
    pub doc: DidDocument,
}

impl ResolvedIdentity {
    /// The handle to display: the verified handle or `handle.invalid`.
    #[must_use]
    pub fn handle_or_invalid(&self) -> &str {
        self.handle.as_ref().map_or(Handle::INVALID, Handle::as_str)
    }
}
