//! The client: XRPC calls over the shared transport (atmo-http), with an [`Auth`]
//! plugged in.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant, SystemTime};

use atmo_http::{Body, ConnectPolicy, HttpClient, Transport};
use atmo_syntax::{Nsid, ServiceUrl};
use bytes::Bytes;
use http::HeaderMap;
use tracing::Instrument;

use crate::auth::{Auth, AuthDecision, AuthRequest, AuthResponse, NoAuth};
use crate::error::{Error, Result};
use crate::request::{CallOptions, Labeler, ProxyTarget, XrpcRequest, apply_options, parse_base};
use crate::response::XrpcResponse;
use crate::xrpc_error::{MAX_ERROR_BODY, RateLimit, XrpcError};

/// Default connect timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default deadline for a whole request (head and body).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Default cap on a buffered response body.
const MAX_BODY: usize = 64 * 1024 * 1024;
/// Default cap on one blob download (`sync.getBlob`): 100 MiB.
pub const DEFAULT_MAX_BLOB_DOWNLOAD: u64 = 100 * 1024 * 1024;
/// Default cap on one repository download (`sync.getRepo`): 1 GiB.
pub const DEFAULT_MAX_REPO_DOWNLOAD: u64 = 1024 * 1024 * 1024;
/// The most times one call is sent again because its [`Auth`] asked (a refresh, then a
/// new DPoP nonce).
const MAX_AUTH_RETRIES: u32 = 2;

/// When to wait and retry after `429 Too Many Requests`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retry at all (off by default).
    pub retry_on_429: bool,
    /// Never wait longer than this for a reset; a longer wait returns the 429 error.
    pub max_wait: Duration,
    /// At most this many retries per call.
    pub max_retries: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            retry_on_429: false,
            max_wait: Duration::from_secs(30),
            max_retries: 2,
        }
    }
}

/// Configures a [`Client`].
#[derive(Clone)]
pub struct ClientBuilder {
    base: String,
    transport: Option<Arc<dyn Transport>>,
    policy: ConnectPolicy,
    connect_timeout: Duration,
    timeout: Duration,
    max_body: usize,
    max_blob_download: u64,
    max_repo_download: u64,
    retry: RetryPolicy,
    defaults: CallOptions,
    user_agent: String,
    auth: Arc<dyn Auth>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base", &self.base)
            .field("policy", &self.policy)
            .field("timeout", &self.timeout)
            .field("max_body", &self.max_body)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Connect timeout (default 10 s), for the client's own transport.
    #[must_use]
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Deadline for each request, head and buffered body (default 60 s); for streamed
    /// downloads, the longest wait for the next chunk.
    #[must_use]
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// The largest buffered response body (default 64 MiB).
    #[must_use]
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// The most bytes one blob download (`getBlob`) may stream (default
    /// [`DEFAULT_MAX_BLOB_DOWNLOAD`], 100 MiB); past it the stream ends with
    /// [`Error::TooLarge`].
    #[must_use]
    pub fn max_blob_download(mut self, bytes: u64) -> Self {
        self.max_blob_download = bytes;
        self
    }

    /// The most bytes one repository download (`getRepo`) may stream (default
    /// [`DEFAULT_MAX_REPO_DOWNLOAD`], 1 GiB); past it the stream ends with
    /// [`Error::TooLarge`].
    #[must_use]
    pub fn max_repo_download(mut self, bytes: u64) -> Self {
        self.max_repo_download = bytes;
        self
    }

    /// What to do on 429.
    #[must_use]
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Proxy and labeler headers for every call (a call's own options win).
    #[must_use]
    pub fn default_options(mut self, opts: CallOptions) -> Self {
        self.defaults = opts;
        self
    }

    /// The `User-Agent` header.
    #[must_use]
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// The connect policy of the client's own transport (default: https only, public
    /// addresses only). Not used with [`ClientBuilder::http`] or
    /// [`ClientBuilder::transport`], whose own policy applies.
    #[must_use]
    pub fn policy(mut self, policy: ConnectPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Allow every address and plain http (a development network, a PDS on loopback).
    #[must_use]
    pub fn allow_private_network(mut self, yes: bool) -> Self {
        self.policy = self.policy.allow_private_network(yes);
        self
    }

    /// Send through this HTTP client (share one pool and one policy with the identity
    /// resolver and other clients).
    #[must_use]
    pub fn http(mut self, http: HttpClient) -> Self {
        self.policy = http.policy().clone();
        self.transport = Some(Arc::new(http));
        self
    }

    /// Send through any [`Transport`] (tests, WASM, your own HTTP stack).
    #[must_use]
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// How calls are authenticated (default [`NoAuth`]); see [`Client::with_auth`].
    #[must_use]
    pub fn auth(mut self, auth: Arc<dyn Auth>) -> Self {
        self.auth = auth;
        self
    }

    /// Builds the client. Must be called inside a tokio runtime only when used.
    ///
    /// # Errors
    ///
    /// [`Error::BaseUrl`] for a bad URL; [`Error::Transport`] when the connect policy
    /// refuses the URL (plain http to a host it does not allow).
    pub fn build(self) -> Result<Client> {
        let base = parse_base(&self.base)?;
        let uri: http::Uri = base
            .as_str()
            .parse()
            .map_err(|_| Error::Request(format!("{base} is not an HTTP URI")))?;
        let host = base.host().to_owned();
        let transport: Arc<dyn Transport> = match self.transport {
            Some(t) => t,
            None => {
                self.policy.check_uri(&uri)?;
                Arc::new(
                    HttpClient::builder()
                        .policy(self.policy)
                        .connect_timeout(self.connect_timeout)
                        .timeout(self.timeout)
                        .user_agent(self.user_agent.clone())
                        .build()?,
                )
            }
        };
        Ok(Client {
            shared: Arc::new(Shared {
                transport,
                base,
                host,
                timeout: self.timeout,
                max_body: self.max_body,
                max_blob_download: self.max_blob_download,
                max_repo_download: self.max_repo_download,
                retry: self.retry,
                user_agent: http::HeaderValue::from_str(&self.user_agent)
                    .unwrap_or_else(|_| http::HeaderValue::from_static("atmo-xrpc")),
                rates: StdMutex::new(HashMap::new()),
            }),
            auth: self.auth,
            defaults: Arc::new(self.defaults),
        })
    }
}

/// An XRPC client for one service (a PDS, an AppView, a relay), cheap to clone.
///
/// The transport (with its connect policy) and the rate-limit tracking are shared by
/// clones and by [`Client::with_auth`]; the [`Auth`] is per client value.
///
/// ```no_run
/// # async fn demo() -> Result<(), atmo_xrpc::Error> {
/// use atmo_xrpc::{Client, PasswordSession};
///
/// let public = Client::new("https://pds.example.com")?;
/// let session = PasswordSession::login(&public, "alice.example.com", "app-password").await?;
/// let client = session.client(); // every call now carries the session, refreshed as needed
/// let res = client.send(&atmo_xrpc::XrpcRequest::query("com.atproto.server.getSession")?).await?;
/// # let _ = res; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    auth: Arc<dyn Auth>,
    defaults: Arc<CallOptions>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.shared.base)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

struct Shared {
    transport: Arc<dyn Transport>,
    base: ServiceUrl,
    host: String,
    timeout: Duration,
    max_body: usize,
    max_blob_download: u64,
    max_repo_download: u64,
    retry: RetryPolicy,
    user_agent: http::HeaderValue,
    rates: StdMutex<HashMap<(String, String), RateLimit>>,
}

/// Whether a call is authorized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthMode {
    /// Never.
    None,
    /// When the client's auth has credentials.
    IfAny,
    /// Always; without credentials the call fails with [`Error::NoSession`].
    Required,
}

impl Client {
    /// A client for the service at `base` with default settings.
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::build`].
    pub fn new(base: impl AsRef<str>) -> Result<Self> {
        Self::builder(base).build()
    }

    /// A builder for the service at `base` (a string or a [`ServiceUrl`]).
    pub fn builder(base: impl AsRef<str>) -> ClientBuilder {
        ClientBuilder {
            base: base.as_ref().to_owned(),
            transport: None,
            policy: ConnectPolicy::default(),
            connect_timeout: CONNECT_TIMEOUT,
            timeout: REQUEST_TIMEOUT,
            max_body: MAX_BODY,
            max_blob_download: DEFAULT_MAX_BLOB_DOWNLOAD,
            max_repo_download: DEFAULT_MAX_REPO_DOWNLOAD,
            retry: RetryPolicy::default(),
            defaults: CallOptions::default(),
            user_agent: concat!("atmo-xrpc/", env!("CARGO_PKG_VERSION")).to_owned(),
            auth: Arc::new(NoAuth),
        }
    }

    /// This client with another [`Auth`] (same service, transport and settings).
    #[must_use]
    pub fn with_auth(&self, auth: impl Auth + 'static) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            auth: Arc::new(auth),
            defaults: Arc::clone(&self.defaults),
        }
    }

    /// This client with an [`Auth`] already shared.
    #[must_use]
    pub fn with_shared_auth(&self, auth: Arc<dyn Auth>) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            auth,
            defaults: Arc::clone(&self.defaults),
        }
    }

    /// This client with other default [`CallOptions`] (same service, transport and
    /// auth); a request's own options still win.
    #[must_use]
    pub fn with_options(&self, options: CallOptions) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            auth: Arc::clone(&self.auth),
            defaults: Arc::new(options),
        }
    }

    /// This client with every call forwarded by the service to `target`
    /// (`atproto-proxy: did#service_id`), e.g. `did:web:api.bsky.chat#bsky_chat`.
    #[must_use]
    pub fn with_proxy(&self, target: ProxyTarget) -> Self {
        let mut options = (*self.defaults).clone();
        options.proxy = Some(target);
        self.with_options(options)
    }

    /// This client asking for labels from these labelers on every call
    /// (`atproto-accept-labelers`).
    #[must_use]
    pub fn with_accept_labelers(&self, labelers: Vec<Labeler>) -> Self {
        let mut options = (*self.defaults).clone();
        options.accept_labelers = Some(labelers);
        self.with_options(options)
    }

    /// The default [`CallOptions`] of this client's calls.
    pub fn options(&self) -> &CallOptions {
        &self.defaults
    }

    /// This client without credentials.
    #[must_use]
    pub fn without_auth(&self) -> Self {
        self.with_auth(NoAuth)
    }

    /// The client's [`Auth`].
    pub fn auth(&self) -> &Arc<dyn Auth> {
        &self.auth
    }

    /// The service URL (normalised: no trailing `/`), as a string.
    pub fn base(&self) -> &str {
        self.shared.base.as_str()
    }

    /// The service URL.
    pub fn service_url(&self) -> &ServiceUrl {
        &self.shared.base
    }

    /// The deadline of a request (and, for streams, of each chunk).
    pub fn timeout(&self) -> Duration {
        self.shared.timeout
    }

    pub(crate) fn max_body(&self) -> usize {
        self.shared.max_body
    }

    pub(crate) fn max_blob_download(&self) -> u64 {
        self.shared.max_blob_download
    }

    pub(crate) fn max_repo_download(&self) -> u64 {
        self.shared.max_repo_download
    }

    /// The last rate-limit headers seen, per host and category (policy).
    pub fn rate_limits(&self) -> Vec<(String, String, RateLimit)> {
        self.shared
            .rates
            .lock()
            .map(|m| {
                m.iter()
                    .map(|((h, c), r)| (h.clone(), c.clone(), r.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Sends a call, authorized when the client's auth has credentials, and returns the
    /// buffered success response.
    ///
    /// # Errors
    ///
    /// [`Error::Xrpc`] for an error answer, [`Error::Transport`] for a failed exchange
    /// (the connect policy's refusals among them), [`Error::TooLarge`] past the body cap.
    pub async fn send(&self, req: &XrpcRequest) -> Result<XrpcResponse> {
        self.call_mode(req, AuthMode::IfAny).await
    }

    /// Sends a call that needs credentials.
    ///
    /// # Errors
    ///
    /// As [`Client::send`], and [`Error::NoSession`] without credentials.
    pub async fn send_authed(&self, req: &XrpcRequest) -> Result<XrpcResponse> {
        self.call_mode(req, AuthMode::Required).await
    }

    /// Sends a call without credentials, whatever the client's auth.
    ///
    /// # Errors
    ///
    /// As [`Client::send`].
    pub async fn send_public(&self, req: &XrpcRequest) -> Result<XrpcResponse> {
        self.call_mode(req, AuthMode::None).await
    }

    pub(crate) async fn call_mode(
        &self,
        req: &XrpcRequest,
        mode: AuthMode,
    ) -> Result<XrpcResponse> {
        let deadline = Instant::now() + self.shared.timeout;
        let (head, body) = self.call_head(req, mode).await?;
        let body = self.collect(body, self.shared.max_body, deadline).await?;
        Ok(XrpcResponse {
            status: head.status.as_u16(),
            headers: head.headers,
            body,
        })
    }

    /// The success head and the unread body of a call whose request can be sent again.
    pub(crate) async fn call_head(
        &self,
        req: &XrpcRequest,
        mode: AuthMode,
    ) -> Result<(http::response::Parts, Body)> {
        let opts = req.options.or(&self.defaults);
        let template = req.to_http_at(&self.shared.base, None)?;
        let make = || {
            let mut r = template.clone().map(atmo_http::full);
            apply_options(r.headers_mut(), &opts)?;
            Ok(Some(r))
        };
        self.run(&req.nsid, mode, make).await
    }

    /// Sends a request whose body is a stream: it is sent once (an auth that asks for a
    /// retry gets its refresh, and the caller gets the error).
    pub(crate) async fn call_streaming(
        &self,
        nsid: &Nsid,
        req: http::Request<Body>,
        mode: AuthMode,
    ) -> Result<(http::response::Parts, Body)> {
        let mut once = Some(req);
        self.run(nsid, mode, move || Ok(once.take())).await
    }

    /// The exchange loop: authorize, send, show the auth the answer, retry as it says (at
    /// most [`MAX_AUTH_RETRIES`] times) and on 429 as the retry policy says.
    async fn run(
        &self,
        nsid: &Nsid,
        mode: AuthMode,
        mut make: impl FnMut() -> Result<Option<http::Request<Body>>>,
    ) -> Result<(http::response::Parts, Body)> {
        let use_auth = match mode {
            AuthMode::None => false,
            AuthMode::IfAny => self.auth.is_authenticated(),
            AuthMode::Required => {
                if !self.auth.is_authenticated() {
                    return Err(Error::NoSession);
                }
                true
            }
        };
        let mut auth_retries = 0;
        let mut rate_retries = 0;
        let mut last: Option<XrpcError> = None;
        loop {
            let Some(mut req) = make()? else {
                // A streamed body cannot be sent twice.
                return Err(last.map_or(Error::NoSession, Error::from));
            };
            req.headers_mut()
                .insert(http::header::USER_AGENT, self.shared.user_agent.clone());
            let uri = req.uri().clone();
            let ticket = if use_auth {
                let (mut parts, body) = req.into_parts();
                let t = self
                    .auth
                    .authorize(AuthRequest {
                        method: &parts.method,
                        uri: &uri,
                        nsid,
                        headers: &mut parts.headers,
                        attempt: auth_retries,
                    })
                    .await?;
                req = http::Request::from_parts(parts, body);
                Some(t)
            } else {
                None
            };
            let (parts, body) = self.exchange(nsid, req).await?;
            if parts.status.is_success() {
                if let Some(t) = ticket {
                    let info = AuthResponse {
                        uri: &uri,
                        status: parts.status.as_u16(),
                        headers: &parts.headers,
                        error: None,
                    };
                    self.auth.on_response(t, &info).await?;
                }
                return Ok((parts, body));
            }
            let deadline = Instant::now() + self.shared.timeout;
            let text = self
                .collect(body, MAX_ERROR_BODY, deadline)
                .await
                .unwrap_or_default();
            let err = XrpcError::from_parts(parts.status.as_u16(), &parts.headers, &text);
            if let Some(t) = ticket {
                let info = AuthResponse {
                    uri: &uri,
                    status: err.status,
                    headers: &parts.headers,
                    error: Some(&err),
                };
                let decision = self.auth.on_response(t, &info).await?;
                if decision == AuthDecision::Retry && auth_retries < MAX_AUTH_RETRIES {
                    auth_retries += 1;
                    last = Some(err);
                    continue;
                }
            }
            if err.status == 429
                && self.shared.retry.retry_on_429
                && rate_retries < self.shared.retry.max_retries
            {
                let wait = err
                    .rate_limit
                    .as_ref()
                    .and_then(|r| r.reset_in(SystemTime::now()))
                    .unwrap_or(Duration::from_secs(1))
                    .max(Duration::from_millis(100));
                if wait <= self.shared.retry.max_wait {
                    tracing::info!(
                        nsid = nsid.as_str(),
                        wait_ms = wait.as_millis() as u64,
                        "429: waiting for the rate limit to reset"
                    );
                    tokio::time::sleep(wait).await;
                    rate_retries += 1;
                    last = Some(err);
                    continue;
                }
            }
            return Err(err.into());
        }
    }

    /// Sends one HTTP request through the transport and waits for the response head; a
    /// span per call names the NSID, host and status (never a token).
    async fn exchange(
        &self,
        nsid: &Nsid,
        req: http::Request<Body>,
    ) -> Result<(http::response::Parts, Body)> {
        let span = tracing::debug_span!(
            "xrpc",
            nsid = nsid.as_str(),
            host = %self.shared.host,
            method = %req.method(),
            status = tracing::field::Empty
        );
        let fut = self.shared.transport.send(req);
        let res = async {
            let res = fut.await?;
            tracing::Span::current().record("status", res.status().as_u16());
            Ok::<_, Error>(res)
        }
        .instrument(span)
        .await?;
        let (parts, body) = res.into_parts();
        self.track(&parts.headers);
        Ok((parts, body))
    }

    /// Records the rate-limit headers of a response per host and category, and warns
    /// through `tracing` when a category drops below 10% left: once per drop (a category
    /// that stays low is not warned about again until it has recovered, e.g. in a new
    /// window). The warning names the host, the policy and the counts, never a token.
    fn track(&self, headers: &HeaderMap) {
        let Some(rl) = RateLimit::from_headers(headers) else {
            return;
        };
        let low = rl.is_low();
        let (policy, remaining, limit) = (rl.category(), rl.remaining, rl.limit);
        let was_low = match self.shared.rates.lock() {
            Ok(mut m) => m
                .insert((self.shared.host.clone(), rl.category()), rl)
                .is_some_and(|prev| prev.is_low()),
            Err(_) => false,
        };
        if low && !was_low {
            tracing::warn!(
                host = %self.shared.host,
                policy = %policy,
                remaining,
                limit,
                "rate limit: less than 10% left"
            );
        }
    }

    /// Reads a whole body, capped, before the deadline.
    pub(crate) async fn collect(&self, body: Body, cap: usize, deadline: Instant) -> Result<Bytes> {
        atmo_http::read_body(body, cap as u64, Some(deadline), self.shared.base.as_str())
            .await
            .map_err(|e| match e {
                atmo_http::Error::TooLarge { .. } => Error::TooLarge { limit: cap },
                other => Error::Transport(other),
            })
    }
}
