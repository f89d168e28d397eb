//! DID -> document: did:plc through the directory, did:web.

use atmo_syntax::Did;
use tracing::Instrument as _;

use crate::Error;
use crate::document::DidDocument;
use crate::error::clip;

use super::resolver::Resolver;

impl Resolver {
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
}
