//! [`OAuthClient`]: discovery, PAR, the authorization URL, the callback and token
//! exchange, over one [`HttpClient`] (every fetch passes its connect policy).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use atmo_http::{ConnectPolicy, HttpClient};
use atmo_identity::{Resolver, ResolverConfig};
use atmo_syntax::{Did, ServiceUrl};
use bytes::Bytes;

use crate::client_meta::{ClientAuth, ClientMetadata};
use crate::dpop::DpopKey;
use crate::error::{Error, MetadataError, OAuthErrorCode, Result, clip};
use crate::jose::{now_secs, random_b64u};
use crate::metadata::{
    AuthorizationServerMetadata, MAX_METADATA_BYTES, ProtectedResourceMetadata, origin_of,
};
use crate::pkce::Pkce;
use crate::protocol::{
    MAX_RESPONSE_BYTES, ParParams, ParResponse, TokenSet, authorization_url, par_body,
    parse_error_body, revoke_body, www_authenticate_error,
};
use crate::scope::ScopeSet;
use crate::store::{AuthState, MemorySessionStore, MemoryStateStore, SessionStore, StateStore};

/// How long a pending sign-in is accepted by default: 10 minutes.
pub const DEFAULT_STATE_TTL: Duration = Duration::from_secs(600);

/// Builds an [`OAuthClient`].
#[derive(Debug)]
pub struct OAuthClientBuilder {
    metadata: ClientMetadata,
    auth: ClientAuth,
    http: Option<HttpClient>,
    policy: Option<ConnectPolicy>,
    resolver: Option<Resolver>,
    states: Option<Arc<dyn StateStore>>,
    sessions: Option<Arc<dyn SessionStore>>,
    state_ttl: Duration,
}

impl OAuthClientBuilder {
    /// The client's authentication (default [`ClientAuth::None`]).
    #[must_use]
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.auth = auth;
        self
    }

    /// The HTTP client (and so the connect policy) for every fetch; default a new one
    /// with the default policy (https and public addresses only).
    #[must_use]
    pub fn http(mut self, http: HttpClient) -> Self {
        self.http = Some(http);
        self
    }

    /// The connect policy of the HTTP client built when none is given.
    #[must_use]
    pub fn policy(mut self, policy: ConnectPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The identity resolver; default one sharing the HTTP client, with private
    /// networks allowed only when the policy allows them.
    #[must_use]
    pub fn resolver(mut self, resolver: Resolver) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// Where pending sign-ins are kept (default in memory).
    #[must_use]
    pub fn state_store(mut self, store: Arc<dyn StateStore>) -> Self {
        self.states = Some(store);
        self
    }

    /// Where sessions are kept (default in memory).
    #[must_use]
    pub fn session_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.sessions = Some(store);
        self
    }

    /// How long a pending sign-in is accepted (default [`DEFAULT_STATE_TTL`]).
    #[must_use]
    pub fn state_ttl(mut self, ttl: Duration) -> Self {
        self.state_ttl = ttl;
        self
    }

    /// The client.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for invalid client metadata or an auth method that does not
    /// match it, [`Error::Http`] when the HTTP client cannot be set up.
    pub fn build(self) -> Result<OAuthClient> {
        self.metadata.validate()?;
        let confidential = self.metadata.token_endpoint_auth_method == "private_key_jwt";
        if confidential != matches!(self.auth, ClientAuth::PrivateKeyJwt { .. }) {
            return Err(Error::Config(
                "the client auth does not match token_endpoint_auth_method".into(),
            ));
        }
        let http = match self.http {
            Some(h) => h,
            None => HttpClient::builder()
                .policy(self.policy.unwrap_or_default())
                .user_agent(concat!("atmo-oauth/", env!("CARGO_PKG_VERSION")))
                .build()?,
        };
        let resolver = match self.resolver {
            Some(r) => r,
            None => {
                let mut config = ResolverConfig::default();
                config.allow_private_network = http.policy().allows_private_network();
                Resolver::with_http(config, http.clone())
            }
        };
        Ok(OAuthClient {
            inner: Arc::new(Inner {
                metadata: self.metadata,
                auth: self.auth,
                http,
                resolver,
                states: self
                    .states
                    .unwrap_or_else(|| Arc::new(MemoryStateStore::default())),
                sessions: self
                    .sessions
                    .unwrap_or_else(|| Arc::new(MemorySessionStore::default())),
                state_ttl: self.state_ttl,
                nonces: Mutex::new(HashMap::new()),
            }),
        })
    }
}

/// An atproto OAuth client: one app (its [`ClientMetadata`] and [`ClientAuth`]), its
/// stores, its HTTP client. Cheap to clone; clones share the DPoP nonce cache.
///
/// ```no_run
/// # async fn demo() -> Result<(), atmo_oauth::Error> {
/// use std::sync::Arc;
/// use atmo_oauth::{AuthorizeOptions, ClientMetadata, FileSessionStore, OAuthClient, ScopeSet};
///
/// let meta = ClientMetadata::loopback(&["http://127.0.0.1:8080/callback".into()], &ScopeSet::generic())?;
/// let client = OAuthClient::builder(meta)
///     .session_store(Arc::new(FileSessionStore::new(atmo_oauth::default_store_dir()?)))
///     .build()?;
/// let url = client.authorize("alice.example.com", AuthorizeOptions::default()).await?;
/// # let _ = url; Ok(()) }
/// ```
#[derive(Clone)]
pub struct OAuthClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) metadata: ClientMetadata,
    pub(crate) auth: ClientAuth,
    pub(crate) http: HttpClient,
    pub(crate) resolver: Resolver,
    pub(crate) states: Arc<dyn StateStore>,
    pub(crate) sessions: Arc<dyn SessionStore>,
    state_ttl: Duration,
    /// The latest `DPoP-Nonce` per origin (authorization servers and PDSs).
    nonces: Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("client_id", &self.inner.metadata.client_id)
            .field("auth", &self.inner.auth)
            .finish_non_exhaustive()
    }
}

/// What [`OAuthClient::discover`] found.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Discovered {
    /// The account, when the input was a handle or DID.
    pub did: Option<Did>,
    /// The PDS, when known (from the DID document, or the URL typed).
    pub pds: Option<ServiceUrl>,
    /// The authorization server, validated.
    pub server: AuthorizationServerMetadata,
}

/// Options of [`OAuthClient::authorize`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct AuthorizeOptions {
    /// The scopes (default: the client metadata's `scope`).
    pub scope: Option<ScopeSet>,
    /// The redirect URI (default: the first of the client's).
    pub redirect_uri: Option<String>,
    /// The app's own data, handed back by [`OAuthClient::callback`].
    pub app_state: Option<String>,
}

impl AuthorizeOptions {
    /// Options with these scopes.
    #[must_use]
    pub fn with_scope(mut self, scope: ScopeSet) -> Self {
        self.scope = Some(scope);
        self
    }

    /// Options with this redirect URI.
    #[must_use]
    pub fn with_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(uri.into());
        self
    }

    /// Options carrying the app's own data.
    #[must_use]
    pub fn with_app_state(mut self, state: impl Into<String>) -> Self {
        self.app_state = Some(state.into());
        self
    }
}

/// A buffered answer.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Bytes,
}

impl OAuthClient {
    /// A builder for a client with this metadata.
    #[must_use]
    pub fn builder(metadata: ClientMetadata) -> OAuthClientBuilder {
        OAuthClientBuilder {
            metadata,
            auth: ClientAuth::None,
            http: None,
            policy: None,
            resolver: None,
            states: None,
            sessions: None,
            state_ttl: DEFAULT_STATE_TTL,
        }
    }

    /// The client metadata.
    #[must_use]
    pub fn metadata(&self) -> &ClientMetadata {
        &self.inner.metadata
    }

    /// The HTTP client.
    #[must_use]
    pub fn http(&self) -> &HttpClient {
        &self.inner.http
    }

    /// The session store.
    #[must_use]
    pub fn session_store(&self) -> &Arc<dyn SessionStore> {
        &self.inner.sessions
    }

    pub(crate) fn nonce(&self, origin: &str) -> Option<String> {
        self.inner
            .nonces
            .lock()
            .ok()
            .and_then(|m| m.get(origin).cloned())
    }

    /// Remembers a `DPoP-Nonce` of `origin`.
    pub(crate) fn learn_nonce(&self, origin: &str, headers: &http::HeaderMap) {
        let Some(n) = headers
            .get("dpop-nonce")
            .and_then(|v| v.to_str().ok())
            .filter(|n| !n.is_empty() && n.len() <= 512)
        else {
            return;
        };
        let Ok(mut m) = self.inner.nonces.lock() else {
            return;
        };
        if m.len() > 1024 {
            m.clear();
        }
        m.insert(origin.to_owned(), n.to_owned());
    }

    async fn get_json(&self, url: &str) -> Result<Bytes> {
        let res = self
            .inner
            .http
            .get(url, "application/json", MAX_METADATA_BYTES as u64)
            .await?;
        if res.status() != 200 {
            return Err(Error::response(
                url,
                format!("HTTP {} instead of 200", res.status().as_u16()),
            ));
        }
        Ok(res.into_body())
    }

    /// `<pds>/.well-known/oauth-protected-resource`, validated (its `resource` is the
    /// PDS's origin).
    ///
    /// # Errors
    ///
    /// [`Error::Http`], [`Error::Response`] for a status other than 200,
    /// [`Error::Metadata`].
    pub async fn protected_resource(&self, pds: &str) -> Result<ProtectedResourceMetadata> {
        let origin = origin_of(pds).ok_or_else(|| Error::InvalidIdentifier {
            input: clip(pds, 256),
        })?;
        let url = format!("{origin}/.well-known/oauth-protected-resource");
        let body = self.get_json(&url).await?;
        ProtectedResourceMetadata::parse(&body, &origin).map_err(|e| Error::metadata(&url, e))
    }

    /// `<issuer>/.well-known/oauth-authorization-server`, validated against the atproto
    /// profile (its `issuer` is `issuer`).
    ///
    /// # Errors
    ///
    /// As [`OAuthClient::protected_resource`].
    pub async fn authorization_server(&self, issuer: &str) -> Result<AuthorizationServerMetadata> {
        let origin = origin_of(issuer).ok_or_else(|| {
            Error::metadata(
                issuer,
                MetadataError::Field {
                    field: "issuer",
                    reason: "not an http(s) URL",
                },
            )
        })?;
        if origin != issuer {
            return Err(Error::metadata(
                issuer,
                MetadataError::Field {
                    field: "issuer",
                    reason: "an issuer is an origin",
                },
            ));
        }
        let url = format!("{origin}/.well-known/oauth-authorization-server");
        let body = self.get_json(&url).await?;
        AuthorizationServerMetadata::parse(&body, issuer).map_err(|e| Error::metadata(&url, e))
    }

    /// From what the user typed to a validated authorization server: a handle or DID
    /// (-> DID document -> PDS -> protected resource -> authorization server), or an
    /// http(s) URL of a PDS (its protected resource metadata) or of an entryway (its
    /// authorization server metadata).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidIdentifier`], [`Error::Identity`], [`Error::Http`],
    /// [`Error::Metadata`], [`Error::Response`].
    pub async fn discover(&self, input: &str) -> Result<Discovered> {
        let input = input.trim();
        if input.starts_with("https://") || input.starts_with("http://") {
            let origin = origin_of(input)
                .and_then(|o| ServiceUrl::new(&o).ok())
                .ok_or_else(|| Error::InvalidIdentifier {
                    input: clip(input, 256),
                })?;
            return match self.protected_resource(origin.as_str()).await {
                Ok(prm) => Ok(Discovered {
                    did: None,
                    pds: Some(origin),
                    server: self
                        .authorization_server(prm.authorization_server())
                        .await?,
                }),
                Err(Error::Response { .. }) => Ok(Discovered {
                    did: None,
                    pds: None,
                    server: self.authorization_server(origin.as_str()).await?,
                }),
                Err(e) => Err(e),
            };
        }
        let id = self.inner.resolver.resolve(input).await?;
        let prm = self.protected_resource(id.pds.as_str()).await?;
        let server = self
            .authorization_server(prm.authorization_server())
            .await?;
        Ok(Discovered {
            did: Some(id.did),
            pds: Some(id.pds),
            server,
        })
    }

    /// `POST` a form with a DPoP proof (and the client's authentication, made fresh for
    /// each send), retried once with the server's new nonce on `use_dpop_nonce`.
    pub(crate) async fn dpop_post(
        &self,
        url: &str,
        key: &DpopKey,
        issuer: &str,
        body: impl Fn(&[(&str, String)]) -> String,
    ) -> Result<Answer> {
        let origin = origin_of(url).ok_or_else(|| Error::response(url, "not an http(s) URL"))?;
        let mut attempt = 0;
        loop {
            let client_params = self
                .inner
                .auth
                .params(&self.inner.metadata.client_id, issuer)?;
            let nonce = self.nonce(&origin);
            let proof = key.proof("POST", url, nonce.as_deref(), None)?;
            let req = http::Request::post(url)
                .header(
                    http::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .header(http::header::ACCEPT, "application/json")
                .header("DPoP", proof)
                .body(atmo_http::full(body(&client_params)))
                .map_err(|_| Error::response(url, "cannot build the request"))?;
            let deadline = Instant::now() + self.inner.http.timeout();
            let res = self.inner.http.request(req).await?;
            let (parts, b) = res.into_parts();
            let bytes =
                atmo_http::read_body(b, MAX_RESPONSE_BYTES as u64, Some(deadline), url).await?;
            self.learn_nonce(&origin, &parts.headers);
            let fresh = self.nonce(&origin) != nonce;
            let status = parts.status.as_u16();
            let wants_nonce = (status == 400 || status == 401)
                && (parse_error_body(&bytes)
                    .is_some_and(|(c, _)| c == OAuthErrorCode::UseDpopNonce)
                    || parts
                        .headers
                        .get(http::header::WWW_AUTHENTICATE)
                        .and_then(|v| v.to_str().ok())
                        .and_then(www_authenticate_error)
                        == Some(OAuthErrorCode::UseDpopNonce));
            if wants_nonce && fresh && attempt == 0 {
                attempt += 1;
                tracing::debug!(url = %clip(url, 256), "use_dpop_nonce: sending again with the new nonce");
                continue;
            }
            return Ok(Answer {
                status,
                body: bytes,
            });
        }
    }

    /// An error answer as [`Error::OAuth`] (or [`Error::Response`] without an OAuth body).
    pub(crate) fn oauth_error(url: &str, a: &Answer) -> Error {
        match parse_error_body(&a.body) {
            Some((code, description)) => Error::OAuth {
                url: clip(url, 512),
                status: a.status,
                code,
                description,
            },
            None => Error::response(url, format!("HTTP {}", a.status)),
        }
    }

    /// Starts a sign-in: discovery, a fresh DPoP key, PKCE verifier and `state`, the
    /// pushed authorization request (retried once on `use_dpop_nonce`); returns the URL
    /// to send the user to. A handle or DID typed is passed on as `login_hint`.
    ///
    /// # Errors
    ///
    /// As [`OAuthClient::discover`]; [`Error::Config`] for a redirect URI the client does
    /// not list; [`Error::OAuth`] when the server refuses the request; store errors.
    pub async fn authorize(&self, input: &str, opts: AuthorizeOptions) -> Result<String> {
        let meta = &self.inner.metadata;
        let redirect_uri = match opts.redirect_uri {
            Some(r) if meta.redirect_uris.contains(&r) => r,
            Some(_) => {
                return Err(Error::Config(
                    "the redirect URI is not one of the client's".into(),
                ));
            }
            None => meta
                .redirect_uris
                .first()
                .cloned()
                .ok_or_else(|| Error::Config("no redirect URI".into()))?,
        };
        let scope = match opts.scope {
            Some(s) => s,
            None => ScopeSet::parse(&meta.scope)?,
        };
        if !scope.has_atproto() {
            return Err(Error::Config("the scope must include atproto".into()));
        }
        let found = self.discover(input).await?;
        let server = found.server;
        let login_hint = (!input.starts_with("http")).then(|| input.trim());
        let pkce = Pkce::generate()?;
        let state = random_b64u(24)?;
        let key = DpopKey::generate()?;
        let ttl = self.inner.state_ttl.as_secs();
        self.inner.states.put(
            &state,
            &AuthState {
                server: server.clone(),
                dpop_key: key.clone(),
                verifier: pkce.verifier().to_owned(),
                redirect_uri: redirect_uri.clone(),
                expected_did: found.did.clone(),
                app_state: opts.app_state,
                expires_at: now_secs().saturating_add(ttl),
            },
        )?;
        let url = &server.pushed_authorization_request_endpoint;
        let params = ParParams {
            redirect_uri: &redirect_uri,
            scope: &scope,
            state: &state,
            code_challenge: pkce.challenge(),
            login_hint,
        };
        let answer = self
            .dpop_post(url, &key, &server.issuer, |client| {
                par_body(client, &params)
            })
            .await?;
        if !matches!(answer.status, 200 | 201) {
            let _ = self.inner.states.take(&state);
            return Err(Self::oauth_error(url, &answer));
        }
        let par = ParResponse::parse(&answer.body, url)?;
        authorization_url(
            &server.authorization_endpoint,
            &meta.client_id,
            &par.request_uri,
        )
    }

    /// `did` -> DID document -> PDS -> its authorization server, which must be `issuer`;
    /// returns the PDS.
    pub(crate) async fn check_issuer_of(&self, did: &Did, issuer: &str) -> Result<ServiceUrl> {
        let doc = self.inner.resolver.resolve_did_uncached(did).await?;
        let pds = doc.pds_url()?;
        let prm = self.protected_resource(pds.as_str()).await?;
        if prm.authorization_server() != issuer {
            return Err(Error::AuthorizationServerMismatch {
                did: did.clone(),
                expected: issuer.to_owned(),
                found: clip(prm.authorization_server(), 256),
            });
        }
        Ok(pds)
    }

    /// Revokes the refresh and access tokens (RFC 7009), best effort.
    pub(crate) async fn revoke_tokens(
        &self,
        server: &AuthorizationServerMetadata,
        key: &DpopKey,
        tokens: &TokenSet,
    ) -> bool {
        let Some(url) = &server.revocation_endpoint else {
            return false;
        };
        let mut ok = true;
        let list = tokens
            .refresh_token
            .iter()
            .chain(std::iter::once(&tokens.access_token));
        for token in list {
            let res = self
                .dpop_post(url, key, &server.issuer, |client| {
                    revoke_body(client, token)
                })
                .await;
            match res {
                Ok(a) if a.status == 200 => {}
                Ok(a) => {
                    ok = false;
                    tracing::debug!(status = a.status, "token revocation refused");
                }
                Err(e) => {
                    ok = false;
                    tracing::debug!(error = %e, "token revocation failed");
                }
            }
        }
        ok
    }
}
