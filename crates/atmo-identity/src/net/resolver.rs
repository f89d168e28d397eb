//! [`Resolver`]: handle -> DID, DID -> document, both directions checked, with a cache.
//! Handle resolution is in `handles.rs`, DID resolution in `dids.rs`.

use std::sync::Arc;

use atmo_syntax::{AtIdentifier, Did, Handle};
use tracing::Instrument as _;

use super::cache::{Cache, CacheStats};
use super::config::{ResolvedIdentity, ResolverConfig};
use super::http::HttpClient;
use crate::Error;
use crate::document::DidDocument;
use crate::error::clip;
use crate::handle::{self};

pub(super) struct Inner {
    pub(super) config: ResolverConfig,
    pub(super) http: HttpClient,
    pub(super) docs: Cache<Did, DidDocument>,
    pub(super) handles: Cache<Handle, Did>,
    #[cfg(feature = "resolve-dns")]
    pub(super) dns: tokio::sync::OnceCell<hickory_resolver::TokioResolver>,
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
    pub(super) inner: Arc<Inner>,
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
            let pds = doc.pds_url()?;
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
}
