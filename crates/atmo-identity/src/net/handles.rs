//! Handle -> DID: DNS TXT, the well-known URL (redirects followed under the policy), and
//! an XRPC `resolveHandle` service.

use atmo_syntax::{Did, Handle};
use tracing::Instrument as _;

use crate::Error;
use crate::error::clip;
use crate::handle::{self, HandleSource, MAX_WELL_KNOWN_BODY};

use super::resolver::Resolver;

impl Resolver {
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
                    // A did= answer that breaks the rule is a failure, not a reason
                    // to ask another method (as in the spec and the reference).
                    Err(
                        e @ (Error::DnsAmbiguous { .. }
                        | Error::InvalidDid { .. }
                        | Error::DnsTxt { .. }),
                    ) => return Err(e),
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
    /// [`Error::DnsAmbiguous`], [`Error::InvalidDid`], [`Error::DnsTxt`] (see
    /// [`handle::parse_dns_txt`]), [`Error::Dns`], [`Error::Timeout`].
    pub async fn resolve_handle_dns(&self, handle: &Handle) -> Result<Option<Did>, Error> {
        let records = self.txt_lookup(&handle::dns_txt_name(handle)).await?;
        if records.is_empty() {
            return Ok(None);
        }
        handle::parse_dns_txt(handle, records)
    }

    /// The TXT strings at DNS name `name` (each record's character strings joined, at most
    /// one more than [`MAX_TXT_STRINGS`](atmo_syntax::txt::MAX_TXT_STRINGS) records, so
    /// that the `did=` rule sees when there are too many), through the configured [`dns_servers`](super::ResolverConfig::dns_servers)
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
                .take(atmo_syntax::txt::MAX_TXT_STRINGS + 1)
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
    /// [`well_known_endpoint`](super::ResolverConfig::well_known_endpoint)). Redirects (301, 302,
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
}

#[cfg(feature = "resolve-dns")]
fn build_dns(
    timeout: std::time::Duration,
    servers: Option<&[std::net::SocketAddr]>,
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
