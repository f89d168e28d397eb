//! [`Resolver`]: handle -> DID, DID -> document, both directions checked, with a cache.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use atmo_crypto::PublicKey;
use atmo_syntax::{AtIdentifier, Did, Handle};
use tracing::Instrument as _;

use super::cache::{Cache, CacheStats};
use super::http::HttpClient;
use crate::document::{DidDocument, DocumentLimits};
use crate::error::clip;
use crate::handle::{self, HandleSource, MAX_WELL_KNOWN_BODY};
use crate::plc::{AuditEntry, MAX_AUDIT_LOG_BYTES, parse_audit_log};
use crate::{DEFAULT_PLC_URL, Error};

/// How a [`Resolver`] behaves. Start from [`ResolverConfig::default`] and set fields.
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
    pub pds: String,
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

struct Inner {
    config: ResolverConfig,
    http: HttpClient,
    docs: Cache<Did, DidDocument>,
    handles: Cache<Handle, Did>,
    #[cfg(feature = "resolve-dns")]
    dns: tokio::sync::OnceCell<hickory_resolver::TokioResolver>,
}

/// Resolves handles and DIDs. Cheap to clone (the cache is shared).
///
/// ```no_run
/// use atmo_identity::{Resolver, ResolverConfig};
///
/// # async fn run() -> Result<(), atmo_identity::Error> {
/// let resolver = Resolver::new(ResolverConfig::default())?;
/// let id = resolver.resolve("atproto.com").await?;
/// println!("{} {} {} {}", id.did, id.handle_or_invalid(), id.pds, id.signing_key);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Resolver {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Resolver {
    /// A resolver with the given configuration.
    ///
    /// # Errors
    ///
    /// [`Error::Setup`] when TLS cannot be configured.
    pub fn new(config: ResolverConfig) -> Result<Self, Error> {
        let http = atmo_http::HttpClient::builder()
            .allow_private_network(config.allow_private_network)
            .timeout(config.timeout)
            .user_agent(config.user_agent.clone())
            .build()
            .map_err(|e| Error::Setup(e.to_string()))?;
        Ok(Self::with_http(config, http))
    }

    /// A resolver that fetches through `http`, sharing its connection pool and its connect
    /// policy (which then decides where connections may go; `allow_private_network`,
    /// `timeout` and `user_agent` of `config` are not used for HTTP).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), atmo_http::Error> {
    /// let http = atmo_http::HttpClient::new()?;
    /// let resolver = atmo_identity::Resolver::with_http(Default::default(), http.clone());
    /// // ... and the same `http` for XRPC clients: one pool, one policy.
    /// # let _ = resolver; Ok(()) }
    /// ```
    #[must_use]
    pub fn with_http(config: ResolverConfig, http: atmo_http::HttpClient) -> Self {
        let http = HttpClient::new(http);
        Self {
            inner: Arc::new(Inner {
                docs: Cache::new(config.cache_ttl, config.cache_capacity),
                handles: Cache::new(config.cache_ttl, config.cache_capacity),
                http,
                config,
                #[cfg(feature = "resolve-dns")]
                dns: tokio::sync::OnceCell::new(),
            }),
        }
    }

    /// The HTTP transport this resolver fetches through (share it with XRPC clients).
    #[must_use]
    pub fn http(&self) -> &atmo_http::HttpClient {
        self.inner.http.transport()
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &ResolverConfig {
        &self.inner.config
    }

    /// Hit and miss counts of the handle and document caches together.
    #[must_use]
    pub fn cache_stats(&self) -> CacheStats {
        let a = self.inner.docs.stats();
        let b = self.inner.handles.stats();
        CacheStats {
            hits: a.hits + b.hits,
            misses: a.misses + b.misses,
            entries: a.entries + b.entries,
        }
    }

    /// Forgets everything cached.
    pub fn clear_cache(&self) {
        self.inner.docs.clear();
        self.inner.handles.clear();
    }

    /// Forgets the cached document of `did`.
    pub fn invalidate_did(&self, did: &Did) {
        self.inner.docs.remove(did);
    }

    /// Forgets the cached DID of `handle`.
    pub fn invalidate_handle(&self, handle: &Handle) {
        self.inner.handles.remove(handle);
    }

    /// Resolves a handle or a DID (as typed: `@` and `at://` prefixes are accepted) to
    /// a checked identity.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidIdentifier`] for bad input, otherwise as
    /// [`resolve_identifier`](Self::resolve_identifier).
    pub async fn resolve(&self, input: &str) -> Result<ResolvedIdentity, Error> {
        let trimmed = input.trim();
        let text = trimmed
            .strip_prefix("at://")
            .or_else(|| trimmed.strip_prefix('@'))
            .unwrap_or(trimmed);
        let id = AtIdentifier::new(text).map_err(|e| Error::InvalidIdentifier {
            input: clip(input, 256),
            reason: e.to_string(),
        })?;
        self.resolve_identifier(&id).await
    }

    /// Resolves a handle or DID to a checked identity.
    ///
    /// From a handle: handle -> DID -> document; the handle is kept only if the document
    /// lists it back. From a DID: DID -> document -> claimed handle -> DID; the handle is
    /// kept only if it resolves to the same DID. Either way an unverified handle is
    /// reported as `handle: None`, never silently trusted.
    ///
    /// # Errors
    ///
    /// When the handle does not resolve, the document cannot be fetched or parsed, or it
    /// names no usable signing key or PDS.
    pub async fn resolve_identifier(&self, id: &AtIdentifier) -> Result<ResolvedIdentity, Error> {
        let span = tracing::debug_span!("atmo_identity::resolve", id = %id.as_str(), did = tracing::field::Empty, handle_ok = tracing::field::Empty);
        async {
            let (did, doc, claimed, handle) = match id {
                AtIdentifier::Handle(h) => {
                    let did = self.resolve_handle(h).await?;
                    let doc = self.resolve_did(&did).await?;
                    let ok = handle::document_claims(&doc, h);
                    (did, doc, Some(h.clone()), ok.then(|| h.clone()))
                }
                AtIdentifier::Did(did) => {
                    let doc = self.resolve_did(did).await?;
                    let claimed = doc.handle();
                    let verified = match &claimed {
                        Some(h) => self.verify_handle(h, did).await.then(|| h.clone()),
                        None => None,
                    };
                    (did.clone(), doc, claimed, verified)
                }
            };
            let span = tracing::Span::current();
            span.record("did", did.as_str());
            span.record("handle_ok", handle.is_some());
            let pds = doc.require_pds_endpoint()?.to_owned();
            let signing_key = doc.signing_key()?;
            Ok(ResolvedIdentity {
                did,
                handle,
                claimed_handle: claimed,
                pds,
                signing_key,
                doc,
            })
        }
        .instrument(span)
        .await
    }

    /// DID -> handle: the handle the document claims, if it resolves back to `did`.
    ///
    /// # Errors
    ///
    /// When the document cannot be fetched; an unverified handle is `Ok(None)`.
    pub async fn verified_handle(&self, did: &Did) -> Result<Option<Handle>, Error> {
        let doc = self.resolve_did(did).await?;
        Ok(match doc.handle() {
            Some(h) if self.verify_handle(&h, did).await => Some(h),
            _ => None,
        })
    }

    async fn verify_handle(&self, handle: &Handle, did: &Did) -> bool {
        match self.resolve_handle(handle).await {
            Ok(found) => found.as_str() == did.as_str(),
            Err(e) => {
                tracing::debug!(handle = %handle, error = %e, "claimed handle does not resolve");
                false
            }
        }
    }

    /// Handle -> DID (cached): through the configured XRPC resolver if there is one,
    /// otherwise DNS TXT first and the well-known URL when DNS has no record.
    ///
    /// # Errors
    ///
    /// [`Error::HandleNotFound`] when no method finds a DID; [`Error::DnsAmbiguous`];
    /// [`Error::Forbidden`] and transport errors from the lookups.
    pub async fn resolve_handle(&self, handle: &Handle) -> Result<Did, Error> {
        self.inner
            .handles
            .get_or_fetch(handle.clone(), || async {
                self.resolve_handle_uncached(handle).await.map(|(d, _)| d)
            })
            .await
    }

    /// Handle -> DID without the cache, with the method that found it.
    ///
    /// # Errors
    ///
    /// As [`resolve_handle`](Self::resolve_handle).
    pub async fn resolve_handle_uncached(
        &self,
        handle: &Handle,
    ) -> Result<(Did, HandleSource), Error> {
        let span = tracing::debug_span!("atmo_identity::resolve_handle", handle = %handle, source = tracing::field::Empty);
        async {
            if !handle::is_resolvable(handle) {
                return Err(Error::HandleNotFound {
                    handle: handle.to_string(),
                    reason: "its top-level domain is never resolved".to_owned(),
                });
            }
            if let Some(service) = &self.inner.config.handle_resolver {
                let did = self.resolve_handle_xrpc(service, handle).await?;
                tracing::Span::current().record("source", "xrpc");
                return Ok((did, HandleSource::Xrpc));
            }
            let mut reasons = Vec::new();
            if self.inner.config.use_dns {
                match self.resolve_handle_dns(handle).await {
                    Ok(Some(did)) => {
                        tracing::Span::current().record("source", "dns");
                        return Ok((did, HandleSource::Dns));
                    }
                    Ok(None) => reasons.push("DNS: no did= TXT record".to_owned()),
                    Err(e @ Error::DnsAmbiguous { .. }) => return Err(e),
                    Err(e) => reasons.push(format!("DNS: {e}")),
                }
            }
            match self.resolve_handle_well_known(handle).await {
                Ok(did) => {
                    tracing::Span::current().record("source", "well-known");
                    Ok((did, HandleSource::WellKnown))
                }
                Err(e @ Error::Forbidden { .. }) if reasons.is_empty() => Err(e),
                Err(e) => {
                    reasons.push(format!("well-known: {e}"));
                    Err(Error::HandleNotFound {
                        handle: handle.to_string(),
                        reason: reasons.join("; "),
                    })
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Handle -> DID through DNS TXT `_atproto.<handle>`: `Ok(None)` when there is no
    /// `did=` record. Without the `resolve-dns` feature this always answers `Ok(None)`.
    ///
    /// # Errors
    ///
    /// [`Error::DnsAmbiguous`], [`Error::Dns`], [`Error::Timeout`].
    pub async fn resolve_handle_dns(&self, handle: &Handle) -> Result<Option<Did>, Error> {
        let records = self.txt_lookup(&handle::dns_txt_name(handle)).await?;
        if records.is_empty() {
            return Ok(None);
        }
        handle::parse_dns_txt(handle, records)
    }

    /// The TXT strings at DNS name `name` (each record's character strings joined, at most
    /// 64 records), through the configured [`dns_servers`](ResolverConfig::dns_servers)
    /// or the system's; empty when the name has no TXT record (or does not exist). Used for
    /// handles (`_atproto.<handle>`) and lexicon authorities (`_lexicon.<authority>`).
    /// Without the `resolve-dns` feature this always answers an empty list.
    ///
    /// # Errors
    ///
    /// [`Error::Dns`], [`Error::Timeout`], [`Error::Setup`] for an empty server list.
    pub async fn txt_lookup(&self, name: &str) -> Result<Vec<String>, Error> {
        #[cfg(feature = "resolve-dns")]
        {
            let name = name.to_owned();
            let resolver = self
                .inner
                .dns
                .get_or_try_init(|| async {
                    build_dns(
                        self.inner.config.timeout,
                        self.inner.config.dns_servers.as_deref(),
                    )
                })
                .await?;
            let lookup =
                tokio::time::timeout(self.inner.config.timeout, resolver.txt_lookup(name.clone()))
                    .await
                    .map_err(|_| Error::Timeout {
                        url: name.clone(),
                        after: self.inner.config.timeout,
                    })?;
            let lookup = match lookup {
                Ok(l) => l,
                Err(e) if e.is_no_records_found() => return Ok(Vec::new()),
                Err(e) => {
                    return Err(Error::Dns {
                        name,
                        message: e.to_string(),
                    });
                }
            };
            Ok(lookup
                .iter()
                .take(64)
                .map(|txt| {
                    txt.txt_data()
                        .iter()
                        .map(|chunk| String::from_utf8_lossy(chunk))
                        .collect::<String>()
                })
                .collect())
        }
        #[cfg(not(feature = "resolve-dns"))]
        {
            let _ = name;
            Ok(Vec::new())
        }
    }

    /// Handle -> DID through `https://<handle>/.well-known/atproto-did` (or the configured
    /// [`well_known_endpoint`](ResolverConfig::well_known_endpoint)). Redirects (301, 302,
    /// 303, 307, 308) are followed, as the handle spec allows, up to
    /// [`MAX_WELL_KNOWN_REDIRECTS`] hops; every hop goes through the same SSRF policy, and
    /// a redirect from https to plain http is refused unless private networks are allowed.
    ///
    /// # Errors
    ///
    /// [`Error::Status`] for a non-2xx answer, [`Error::Redirect`] for a redirect that is
    /// not followed, [`Error::WellKnownBody`] for a body that is not a DID, transport and
    /// SSRF errors.
    pub async fn resolve_handle_well_known(&self, handle: &Handle) -> Result<Did, Error> {
        let (mut url, mut host) = match &self.inner.config.well_known_endpoint {
            Some(base) => (
                format!("{}/.well-known/atproto-did", base.trim_end_matches('/')),
                Some(handle.as_str()),
            ),
            None => (
                format!("https://{}/.well-known/atproto-did", handle.as_str()),
                None,
            ),
        };
        let mut hops = 0;
        loop {
            let res = self
                .inner
                .http
                .get(&url, "text/plain", MAX_WELL_KNOWN_BODY, host, false)
                .await?;
            if matches!(res.status, 301 | 302 | 303 | 307 | 308) {
                let refuse = |reason| Error::Redirect {
                    url: clip(&url, 512),
                    reason,
                };
                if hops == MAX_WELL_KNOWN_REDIRECTS {
                    return Err(refuse("too many redirects"));
                }
                hops += 1;
                let location = res
                    .location
                    .ok_or_else(|| refuse("no usable Location header"))?;
                let next = redirect_target(&url, &location)
                    .ok_or_else(|| refuse("Location is not an absolute URL or path"))?;
                if url.starts_with("https://")
                    && next.starts_with("http://")
                    && !self.inner.http.allow_private
                {
                    return Err(refuse("redirect from https to http"));
                }
                // A path on the same origin (the only relative form `redirect_target`
                // follows) keeps the Host the first request used; another origin is asked
                // under its own name.
                if !location.starts_with('/') {
                    host = None;
                }
                url = next;
                continue;
            }
            if !(200..300).contains(&res.status) {
                return Err(Error::Status {
                    url,
                    status: res.status,
                });
            }
            return handle::parse_well_known(handle, &res.body);
        }
    }

    /// Handle -> DID through `com.atproto.identity.resolveHandle` on `service`.
    ///
    /// # Errors
    ///
    /// [`Error::HandleNotFound`] when the service says so, [`Error::Xrpc`] for another
    /// XRPC error, [`Error::ResponseJson`] for a malformed answer, transport errors.
    pub async fn resolve_handle_xrpc(&self, service: &str, handle: &Handle) -> Result<Did, Error> {
        let url = format!(
            "{}/xrpc/com.atproto.identity.resolveHandle?handle={}",
            service.trim_end_matches('/'),
            handle.as_str()
        );
        let res = self
            .inner
            .http
            .get(&url, "application/json", 16 * 1024, None, true)
            .await?;
        let json: serde_json::Value = serde_json::from_slice(&res.body).map_err(|e| {
            if res.status == 200 {
                Error::ResponseJson {
                    url: url.clone(),
                    message: e.to_string(),
                }
            } else {
                Error::Status {
                    url: url.clone(),
                    status: res.status,
                }
            }
        })?;
        if res.status != 200 {
            let field = |k: &str| {
                json.get(k)
                    .and_then(|v| v.as_str())
                    .map(|s| clip(s, 256))
                    .unwrap_or_default()
            };
            let error = field("error");
            if error == "HandleNotFound" || res.status == 404 {
                return Err(Error::HandleNotFound {
                    handle: handle.to_string(),
                    reason: format!("{url}: {}", field("message")),
                });
            }
            return Err(Error::Xrpc {
                url,
                error: if error.is_empty() {
                    format!("HTTP {}", res.status)
                } else {
                    error
                },
                message: field("message"),
            });
        }
        let did = json
            .get("did")
            .and_then(|d| d.as_str())
            .ok_or_else(|| Error::ResponseJson {
                url: url.clone(),
                message: "no \"did\" string".to_owned(),
            })?;
        Did::new(did).map_err(|error| Error::InvalidDid {
            input: clip(did, 256),
            source_name: url,
            error,
        })
    }

    /// DID -> document (cached), checking that the document's `id` is the DID.
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedDidMethod`], [`Error::UnsupportedDidWeb`], [`Error::DidNotFound`],
    /// [`Error::Status`], document parse errors, [`Error::DocumentIdMismatch`], transport
    /// and SSRF errors.
    pub async fn resolve_did(&self, did: &Did) -> Result<DidDocument, Error> {
        self.inner
            .docs
            .get_or_fetch(did.clone(), || self.resolve_did_uncached(did))
            .await
    }

    /// DID -> document without the cache.
    ///
    /// # Errors
    ///
    /// As [`resolve_did`](Self::resolve_did).
    pub async fn resolve_did_uncached(&self, did: &Did) -> Result<DidDocument, Error> {
        let span = tracing::debug_span!("atmo_identity::resolve_did", did = %did, url = tracing::field::Empty);
        async {
            let url = self.did_document_url(did)?;
            tracing::Span::current().record("url", url.as_str());
            let max = self.inner.config.document_limits.max_bytes;
            let res = self
                .inner
                .http
                .get(
                    &url,
                    "application/did+ld+json, application/json",
                    max,
                    None,
                    true,
                )
                .await
                .map_err(|e| match e {
                    Error::ResponseTooLarge { limit, .. } => Error::DocumentTooLarge {
                        len: limit.saturating_add(1),
                        limit,
                    },
                    e => e,
                })?;
            match res.status {
                200..=299 => {}
                404 | 410 => {
                    return Err(Error::DidNotFound {
                        did: did.to_string(),
                        status: res.status,
                    });
                }
                status => return Err(Error::Status { url, status }),
            }
            let doc =
                DidDocument::from_json_with_limits(&res.body, self.inner.config.document_limits)?;
            doc.check_id(did)?;
            Ok(doc)
        }
        .instrument(span)
        .await
    }

    /// The URL a DID's document is fetched from: `<plc>/<did>` for did:plc,
    /// `https://<host>/.well-known/did.json` for did:web (`http://` for `localhost` when
    /// private networks are allowed).
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedDidMethod`], [`Error::UnsupportedDidWeb`].
    pub fn did_document_url(&self, did: &Did) -> Result<String, Error> {
        match did.method() {
            "plc" => Ok(format!(
                "{}/{}",
                self.inner.config.plc_url.trim_end_matches('/'),
                did.as_str()
            )),
            "web" => {
                let web_err = |reason| Error::UnsupportedDidWeb {
                    did: did.to_string(),
                    reason,
                };
                let id = did.identifier();
                if id.contains(':') {
                    return Err(web_err("atproto allows no path in did:web"));
                }
                let host = id.replace("%3A", ":").replace("%3a", ":");
                if host.contains('%') {
                    return Err(web_err("only %3A (a port) may be percent-encoded"));
                }
                let name = host.rsplit_once(':').map_or(host.as_str(), |(n, _)| n);
                let scheme = if name == "localhost" && self.inner.config.allow_private_network {
                    "http"
                } else {
                    "https"
                };
                Ok(format!("{scheme}://{host}/.well-known/did.json"))
            }
            other => Err(Error::UnsupportedDidMethod {
                method: clip(other, 64),
            }),
        }
    }

    /// The did:plc audit log of `did` from the configured directory.
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedDidMethod`] for another method, [`Error::DidNotFound`],
    /// [`Error::Status`], parse and transport errors.
    pub async fn plc_audit_log(&self, did: &Did) -> Result<Vec<AuditEntry>, Error> {
        if did.method() != "plc" {
            return Err(Error::UnsupportedDidMethod {
                method: clip(did.method(), 64),
            });
        }
        let url = format!(
            "{}/{}/log/audit",
            self.inner.config.plc_url.trim_end_matches('/'),
            did.as_str()
        );
        let span = tracing::debug_span!("atmo_identity::plc_audit_log", did = %did);
        async {
            let res = self
                .inner
                .http
                .get(&url, "application/json", MAX_AUDIT_LOG_BYTES, None, true)
                .await?;
            match res.status {
                200..=299 => parse_audit_log(&res.body, MAX_AUDIT_LOG_BYTES),
                404 | 410 => Err(Error::DidNotFound {
                    did: did.to_string(),
                    status: res.status,
                }),
                status => Err(Error::Status { url, status }),
            }
        }
        .instrument(span)
        .await
    }
}

#[cfg(feature = "resolve-dns")]
fn build_dns(
    timeout: Duration,
    servers: Option<&[SocketAddr]>,
) -> Result<hickory_resolver::TokioResolver, Error> {
    use hickory_resolver::config::ResolverConfig as DnsConfig;
    use hickory_resolver::config::{NameServerConfig, NameServerConfigGroup};
    use hickory_resolver::name_server::TokioConnectionProvider;
    use hickory_resolver::proto::xfer::Protocol;
    let mut builder = match servers {
        Some(servers) => {
            if servers.is_empty() {
                return Err(Error::Setup("dns_servers is an empty list".to_owned()));
            }
            let group: NameServerConfigGroup = servers
                .iter()
                .flat_map(|&addr| {
                    [
                        NameServerConfig::new(addr, Protocol::Udp),
                        NameServerConfig::new(addr, Protocol::Tcp),
                    ]
                })
                .collect::<Vec<_>>()
                .into();
            hickory_resolver::TokioResolver::builder_with_config(
                DnsConfig::from_parts(None, Vec::new(), group),
                TokioConnectionProvider::default(),
            )
        }
        None => match hickory_resolver::TokioResolver::builder_tokio() {
            Ok(b) => b,
            Err(_) => hickory_resolver::TokioResolver::builder_with_config(
                DnsConfig::default(),
                TokioConnectionProvider::default(),
            ),
        },
    };
    builder.options_mut().timeout = timeout;
    builder.options_mut().attempts = 1;
    Ok(builder.build())
}

/// Most redirects followed by [`Resolver::resolve_handle_well_known`].
pub const MAX_WELL_KNOWN_REDIRECTS: usize = 5;

/// The URL a `Location` header points to from `base`: an absolute http(s) URL, or an
/// absolute path on `base`'s origin. Other relative forms are not followed.
fn redirect_target(base: &str, location: &str) -> Option<String> {
    if location.starts_with("https://") || location.starts_with("http://") {
        return Some(location.to_owned());
    }
    if !location.starts_with('/') || location.starts_with("//") {
        return None;
    }
    let scheme_end = base.find("://")? + 3;
    let origin_end = base
        .get(scheme_end..)?
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    Some(format!("{}{location}", base.get(..origin_end)?))
}

#[cfg(test)]
mod tests {
    use super::redirect_target;

    #[test]
    fn redirect_targets() {
        let base = "https://alice.example.com/.well-known/atproto-did";
        assert_eq!(
            redirect_target(base, "/other/atproto-did").as_deref(),
            Some("https://alice.example.com/other/atproto-did")
        );
        assert_eq!(
            redirect_target("http://127.0.0.1:8080", "/x").as_deref(),
            Some("http://127.0.0.1:8080/x")
        );
        assert_eq!(
            redirect_target(base, "https://b.example/.well-known/atproto-did").as_deref(),
            Some("https://b.example/.well-known/atproto-did")
        );
        assert_eq!(redirect_target(base, "//b.example/x"), None);
        assert_eq!(redirect_target(base, "relative/x"), None);
        assert_eq!(redirect_target(base, "ftp://b.example/x"), None);
    }
}
