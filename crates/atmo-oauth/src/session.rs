//! [`OAuthSession`]: an [`atmo_xrpc::Auth`] with DPoP, nonces, refresh (single-flight in
//! the process and across processes sharing a store), revocation.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use atmo_syntax::{Did, ServiceUrl};
use atmo_xrpc::{Auth, AuthDecision, AuthFuture, AuthRequest, AuthResponse, AuthTicket, XrpcError};

use crate::client::OAuthClient;
use crate::error::{Error, OAuthErrorCode, Result};
use crate::jose::now_secs;
use crate::metadata::origin_of;
use crate::protocol::{
    CallbackParams, TokenSet, token_code_body, token_refresh_body, www_authenticate_error,
};
use crate::scope::ScopeSet;
use crate::store::StoredSession;

/// Refresh this many seconds before the access token expires.
const EXPIRY_MARGIN: u64 = 10;

/// A signed-in account: DPoP-bound tokens, refreshed as needed. Cheap to clone; clones
/// share the session. Plug it into an XRPC client with [`OAuthSession::xrpc_client`] or
/// `atmo_xrpc::Client::with_auth(session)`: every call then carries
/// `Authorization: DPoP <token>` and a `DPoP` proof with `ath`, is sent again with the
/// PDS's nonce on `use_dpop_nonce`, and once more after a refresh when the access token
/// expired.
///
/// ```no_run
/// # async fn demo(client: atmo_oauth::OAuthClient, did: atmo_syntax::Did) -> Result<(), atmo_oauth::Error> {
/// let session = client.restore(&did)?;
/// let pds = session.xrpc_client()?;
/// let me = pds.send(&atmo_xrpc::XrpcRequest::query("com.atproto.server.getSession")?).await?;
/// # let _ = me; Ok(()) }
/// ```
#[derive(Clone)]
pub struct OAuthSession {
    inner: Arc<Inner>,
}

struct Inner {
    client: OAuthClient,
    did: Did,
    /// The account's PDS (fixed for the session's life: `sub` resolved to it).
    pds: ServiceUrl,
    state: tokio::sync::Mutex<State>,
    ended: AtomicBool,
}

struct State {
    data: StoredSession,
    generation: u64,
}

impl std::fmt::Debug for OAuthSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthSession")
            .field("did", &self.inner.did)
            .finish_non_exhaustive()
    }
}

/// An OAuth error as the XRPC error the [`Auth`] trait speaks.
fn to_xrpc(e: Error) -> atmo_xrpc::Error {
    match e {
        Error::Xrpc(e) => e,
        Error::Http(e) => atmo_xrpc::Error::Transport(e),
        Error::OAuth {
            status,
            code,
            description,
            ..
        } => atmo_xrpc::Error::SessionExpired(Box::new(XrpcError {
            status,
            error: Some(code.as_str().to_owned()),
            message: description,
            rate_limit: None,
        })),
        Error::SessionEnded { did } => atmo_xrpc::Error::SessionExpired(Box::new(XrpcError {
            status: 401,
            error: Some("invalid_grant".into()),
            message: Some(format!("the OAuth session of {did} ended; sign in again")),
            rate_limit: None,
        })),
        Error::Store {
            path,
            kind,
            message,
        } => atmo_xrpc::Error::SessionStore {
            path,
            kind,
            message,
        },
        other => atmo_xrpc::Error::Request(other.to_string()),
    }
}

impl OAuthSession {
    pub(crate) fn new(client: OAuthClient, data: StoredSession) -> Self {
        Self {
            inner: Arc::new(Inner {
                did: data.did().clone(),
                pds: data.pds.clone(),
                client,
                state: tokio::sync::Mutex::new(State {
                    data,
                    generation: 0,
                }),
                ended: AtomicBool::new(false),
            }),
        }
    }

    /// The account.
    #[must_use]
    pub fn did(&self) -> &Did {
        &self.inner.did
    }

    /// The session as it is now (tokens and key included: keep it private).
    pub async fn data(&self) -> StoredSession {
        self.inner.state.lock().await.data.clone()
    }

    /// The scopes granted.
    pub async fn scope(&self) -> ScopeSet {
        self.inner.state.lock().await.data.tokens.scope.clone()
    }

    /// The account's PDS.
    #[must_use]
    pub fn pds(&self) -> &ServiceUrl {
        &self.inner.pds
    }

    /// An XRPC client for the account's PDS that authenticates with this session, over
    /// the OAuth client's HTTP client (and connect policy).
    ///
    /// # Errors
    ///
    /// [`Error::Xrpc`] for a PDS URL the client refuses.
    pub fn xrpc_client(&self) -> Result<atmo_xrpc::Client> {
        let client = atmo_xrpc::Client::builder(self.inner.pds.as_str())
            .http(self.inner.client.http().clone())
            .build()?;
        Ok(client.with_auth(self.clone()))
    }

    /// Refreshes the tokens now (the refresh token rotates).
    ///
    /// # Errors
    ///
    /// [`Error::SessionEnded`] when the server refuses the refresh token (the session is
    /// then deleted from the store), [`Error::OAuth`], transport and store errors.
    pub async fn refresh(&self) -> Result<()> {
        let generation = self.inner.state.lock().await.generation;
        self.refresh_after(generation).await
    }

    /// Refreshes unless the session changed since `generation`. The state lock is held
    /// across the refresh (one in flight per process) and so is the store's lock (one
    /// across processes sharing the store).
    async fn refresh_after(&self, generation: u64) -> Result<()> {
        let mut st = self.inner.state.lock().await;
        if st.generation != generation {
            return Ok(());
        }
        if self.inner.ended.load(Ordering::SeqCst) {
            return Err(Error::SessionEnded {
                did: self.inner.did.clone(),
            });
        }
        let store = Arc::clone(self.inner.client.session_store());
        let did = self.inner.did.clone();
        let lock_store = Arc::clone(&store);
        let lock_did = did.clone();
        let _guard = tokio::task::spawn_blocking(move || lock_store.lock(&lock_did))
            .await
            .map_err(|e| Error::Store {
                path: "<lock>".into(),
                kind: None,
                message: e.to_string(),
            })??;
        // Another process may have refreshed while we waited: its tokens are the live ones.
        if let Some(stored) = store.load(&did)?
            && stored.dpop_key == st.data.dpop_key
            && stored.tokens.refresh_token != st.data.tokens.refresh_token
        {
            tracing::debug!("OAuth session refreshed by another process; adopting it");
            st.data = stored;
            st.generation += 1;
            return Ok(());
        }
        let Some(refresh_token) = st.data.tokens.refresh_token.clone() else {
            return Err(Error::SessionEnded { did });
        };
        let server = st.data.server.clone();
        let key = st.data.dpop_key.clone();
        let url = &server.token_endpoint;
        let answer = self
            .inner
            .client
            .dpop_post(url, &key, &server.issuer, |client| {
                token_refresh_body(client, &refresh_token)
            })
            .await?;
        if answer.status != 200 {
            let e = OAuthClient::oauth_error(url, &answer);
            if e.oauth_code() == Some(&OAuthErrorCode::InvalidGrant) {
                tracing::warn!("OAuth refresh refused (invalid_grant); the session ended");
                self.inner.ended.store(true, Ordering::SeqCst);
                store.delete(&did)?;
                st.generation += 1;
                return Err(Error::SessionEnded { did });
            }
            return Err(e);
        }
        let mut tokens =
            TokenSet::from_response(&answer.body, &server.issuer, Some(&did), now_secs())?;
        if tokens.refresh_token.is_none() {
            tokens.refresh_token = Some(refresh_token);
        }
        st.data.tokens = tokens;
        store.save(&st.data)?;
        st.generation += 1;
        tracing::debug!("OAuth session refreshed");
        Ok(())
    }

    /// Signs out: revokes the tokens at the authorization server (best effort), deletes
    /// the session from the store, and ends it (clients using it fail with
    /// `NoSession`). Returns whether the server confirmed the revocation.
    ///
    /// # Errors
    ///
    /// Store errors.
    pub async fn sign_out(&self) -> Result<bool> {
        let data = {
            let mut st = self.inner.state.lock().await;
            st.generation += 1;
            st.data.clone()
        };
        self.inner.ended.store(true, Ordering::SeqCst);
        let revoked = self
            .inner
            .client
            .revoke_tokens(&data.server, &data.dpop_key, &data.tokens)
            .await;
        self.inner.client.session_store().delete(&self.inner.did)?;
        Ok(revoked)
    }

    /// The `Authorization` and `DPoP` header values for one request to `url`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a URL that cannot be proofed, [`Error::Crypto`].
    pub async fn auth_headers(
        &self,
        method: &str,
        url: &str,
    ) -> Result<(http::HeaderValue, http::HeaderValue)> {
        let st = self.inner.state.lock().await;
        self.headers_for(&st.data, method, url)
    }

    fn headers_for(
        &self,
        data: &StoredSession,
        method: &str,
        url: &str,
    ) -> Result<(http::HeaderValue, http::HeaderValue)> {
        let token = &data.tokens.access_token;
        let nonce = origin_of(url).and_then(|o| self.inner.client.nonce(&o));
        let proof = data
            .dpop_key
            .proof(method, url, nonce.as_deref(), Some(token))?;
        let mut authz = http::HeaderValue::from_str(&format!("DPoP {token}")).map_err(|_| {
            Error::TokenResponse("the access token is not a valid header value".into())
        })?;
        authz.set_sensitive(true);
        let mut dpop = http::HeaderValue::from_str(&proof)
            .map_err(|_| Error::Config("the DPoP proof is not a valid header value".into()))?;
        dpop.set_sensitive(true);
        Ok((authz, dpop))
    }

    async fn authorize_inner(&self, req: AuthRequest<'_>) -> Result<AuthTicket> {
        if self.inner.ended.load(Ordering::SeqCst) {
            return Err(Error::Xrpc(atmo_xrpc::Error::NoSession));
        }
        let (generation, expiring) = {
            let st = self.inner.state.lock().await;
            (
                st.generation,
                st.data.tokens.expires_within(now_secs(), EXPIRY_MARGIN)
                    && st.data.tokens.refresh_token.is_some(),
            )
        };
        if expiring {
            self.refresh_after(generation).await?;
        }
        let st = self.inner.state.lock().await;
        let (authz, dpop) =
            self.headers_for(&st.data, req.method.as_str(), &req.uri.to_string())?;
        req.headers.insert(http::header::AUTHORIZATION, authz);
        req.headers.insert("dpop", dpop);
        Ok(AuthTicket(st.generation))
    }

    async fn on_response_inner(
        &self,
        ticket: AuthTicket,
        res: &AuthResponse<'_>,
    ) -> Result<AuthDecision> {
        if let Some(o) = origin_of(&res.uri.to_string()) {
            self.inner.client.learn_nonce(&o, res.headers);
        }
        if res.status != 401 && res.status != 400 {
            return Ok(AuthDecision::Done);
        }
        let challenge = res
            .headers
            .get(http::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(www_authenticate_error);
        let xrpc_name = res.error.and_then(|e| e.error_name());
        if challenge == Some(OAuthErrorCode::UseDpopNonce) || xrpc_name == Some("use_dpop_nonce") {
            // Sent again when the answer carries a nonce (the client caps the retries).
            return Ok(if res.headers.contains_key("dpop-nonce") {
                AuthDecision::Retry
            } else {
                AuthDecision::Done
            });
        }
        let expired = res.status == 401
            && (challenge == Some(OAuthErrorCode::InvalidToken)
                || matches!(
                    xrpc_name,
                    Some("ExpiredToken" | "InvalidToken" | "invalid_token")
                ));
        if expired {
            self.refresh_after(ticket.0).await?;
            return Ok(AuthDecision::Retry);
        }
        Ok(AuthDecision::Done)
    }
}

impl Auth for OAuthSession {
    fn authorize<'a>(&'a self, req: AuthRequest<'a>) -> AuthFuture<'a, AuthTicket> {
        Box::pin(async move { self.authorize_inner(req).await.map_err(to_xrpc) })
    }

    fn on_response<'a>(
        &'a self,
        ticket: AuthTicket,
        res: &'a AuthResponse<'a>,
    ) -> AuthFuture<'a, AuthDecision> {
        Box::pin(async move { self.on_response_inner(ticket, res).await.map_err(to_xrpc) })
    }

    fn is_authenticated(&self) -> bool {
        !self.inner.ended.load(Ordering::SeqCst)
    }

    fn account_did(&self) -> Option<Did> {
        Some(self.inner.did.clone())
    }
}

/// The calls that make sessions (here, so that `client.rs` does not import this file).
impl OAuthClient {
    /// Completes a sign-in from the callback's query (or whole URL): the state is taken
    /// (once; a replayed callback finds nothing), checked for expiry; `iss` must be the
    /// issuer (RFC 9207); the code is exchanged (DPoP, PKCE); the token response is
    /// checked (DPoP, `sub` a DID and the account asked for, `atproto` scope); and `sub`
    /// must resolve to a PDS whose authorization server is that issuer. The session is
    /// stored; the app's state is handed back.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownState`], [`Error::StateExpired`], [`Error::MissingIssuer`],
    /// [`Error::IssuerMismatch`], [`Error::AuthorizationFailed`], [`Error::OAuth`],
    /// [`Error::TokenResponse`], [`Error::SubjectMismatch`],
    /// [`Error::AuthorizationServerMismatch`], resolution and store errors.
    pub async fn callback(&self, query: &str) -> Result<(OAuthSession, Option<String>)> {
        let params = CallbackParams::parse(query)?;
        let state = params.state.as_deref().ok_or(Error::Callback("no state"))?;
        let st = self.inner.states.take(state)?.ok_or(Error::UnknownState)?;
        if st.expires_at <= now_secs() {
            return Err(Error::StateExpired);
        }
        let server = st.server;
        let code = params.check(
            &server.issuer,
            server.authorization_response_iss_parameter_supported,
        )?;
        let url = &server.token_endpoint;
        let answer = self
            .dpop_post(url, &st.dpop_key, &server.issuer, |client| {
                token_code_body(client, code, &st.redirect_uri, &st.verifier)
            })
            .await?;
        if answer.status != 200 {
            return Err(Self::oauth_error(url, &answer));
        }
        let tokens = TokenSet::from_response(
            &answer.body,
            &server.issuer,
            st.expected_did.as_ref(),
            now_secs(),
        )?;
        let pds = match self.check_issuer_of(&tokens.sub, &server.issuer).await {
            Ok(pds) => pds,
            Err(e) => {
                // The tokens are not trusted: give them back.
                self.revoke_tokens(&server, &st.dpop_key, &tokens).await;
                return Err(e);
            }
        };
        let data = StoredSession::new(
            self.inner.metadata.client_id.clone(),
            server,
            pds,
            st.dpop_key,
            tokens,
        );
        self.inner.sessions.save(&data)?;
        Ok((OAuthSession::new(self.clone(), data), st.app_state))
    }

    /// The stored session of `did`, as it is (no network; an expired access token is
    /// refreshed on first use).
    ///
    /// # Errors
    ///
    /// [`Error::NoSession`], store errors.
    pub fn restore(&self, did: &Did) -> Result<OAuthSession> {
        let data = self
            .inner
            .sessions
            .load(did)?
            .ok_or_else(|| Error::NoSession { did: did.clone() })?;
        Ok(OAuthSession::new(self.clone(), data))
    }

    /// A session from a stored record, used as it is (not saved anywhere new).
    #[must_use]
    pub fn session_from(&self, data: StoredSession) -> OAuthSession {
        OAuthSession::new(self.clone(), data)
    }
}
