//! The hyper + rustls transport.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::HeaderMap;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client as LegacyClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tracing::Instrument;

use crate::error::{Error, Result, TransportError, TransportErrorKind};
use crate::request::{CallOptions, XrpcRequest, apply_options, check_base};
use crate::response::{MAX_ERROR_BODY, RateLimit, XrpcError, XrpcResponse};
use crate::session::{AuthState, SessionStore};

pub(crate) type ReqBody = UnsyncBoxBody<Bytes, std::io::Error>;
type Https = hyper_rustls::HttpsConnector<HttpConnector>;

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
    connect_timeout: Duration,
    timeout: Duration,
    max_body: usize,
    max_blob_download: u64,
    max_repo_download: u64,
    retry: RetryPolicy,
    defaults: CallOptions,
    user_agent: String,
    allow_insecure_http: bool,
    store: Option<Arc<dyn SessionStore>>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base", &self.base)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("max_body", &self.max_body)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Connect timeout (default 10 s).
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

    /// Allow plain `http://` to hosts that are not loopback (off: only https, and http
    /// to `localhost`, `127.0.0.0/8` and `::1`).
    #[must_use]
    pub fn allow_insecure_http(mut self, yes: bool) -> Self {
        self.allow_insecure_http = yes;
        self
    }

    /// Where sessions are saved after login and refresh, and removed on logout.
    #[must_use]
    pub fn session_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Builds the client. Must be called inside a tokio runtime only when used.
    ///
    /// # Errors
    ///
    /// [`Error::BaseUrl`] for a bad URL, [`Error::Transport`] (`Insecure`) for plain http
    /// to a non-loopback host without [`ClientBuilder::allow_insecure_http`].
    pub fn build(self) -> Result<Client> {
        let base = check_base(&self.base)?.to_owned();
        let uri: http::Uri = base.parse().map_err(|_| Error::BaseUrl {
            url: base.clone(),
            reason: "not a URL",
        })?;
        let host = uri.host().unwrap_or_default().to_owned();
        if uri.scheme_str() == Some("http") && !self.allow_insecure_http && !is_loopback(&host) {
            return Err(TransportError::new(
                TransportErrorKind::Insecure,
                format!("{base}: plain http is only allowed to loopback hosts"),
            )
            .into());
        }
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(self.connect_timeout));
        http.set_nodelay(true);
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::from_err(TransportErrorKind::Connect, &e))?
        .with_root_certificates(rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        })
        .with_no_client_auth();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let http = LegacyClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(https);
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                host,
                timeout: self.timeout,
                max_body: self.max_body,
                max_blob_download: self.max_blob_download,
                max_repo_download: self.max_repo_download,
                retry: self.retry,
                defaults: self.defaults,
                user_agent: http::HeaderValue::from_str(&self.user_agent)
                    .unwrap_or_else(|_| http::HeaderValue::from_static("atmo-xrpc")),
                rates: StdMutex::new(HashMap::new()),
                auth: tokio::sync::Mutex::new(AuthState::default()),
                store: self.store,
            }),
        })
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") || h.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    h.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// An XRPC client for one service (a PDS, an AppView, a relay), cheap to clone.
///
/// ```no_run
/// # async fn demo() -> Result<(), atmo_xrpc::Error> {
/// let client = atmo_xrpc::Client::new("https://bsky.social")?;
/// let desc = client.describe_repo("atproto.com").await?;
/// println!("{}", desc.get("did").and_then(|d| d.as_str()).unwrap_or("?"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    http: LegacyClient<Https, ReqBody>,
    pub(crate) base: String,
    host: String,
    pub(crate) timeout: Duration,
    pub(crate) max_body: usize,
    pub(crate) max_blob_download: u64,
    pub(crate) max_repo_download: u64,
    retry: RetryPolicy,
    defaults: CallOptions,
    user_agent: http::HeaderValue,
    rates: StdMutex<HashMap<(String, String), RateLimit>>,
    pub(crate) auth: tokio::sync::Mutex<AuthState>,
    pub(crate) store: Option<Arc<dyn SessionStore>>,
}

/// Whether a call sends the session's access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    /// Never.
    None,
    /// When there is a session.
    IfAny,
    /// Always; without a session the call fails with [`Error::NoSession`].
    Required,
}

impl Client {
    /// A client for the service at `base` with default settings.
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::build`].
    pub fn new(base: &str) -> Result<Self> {
        Self::builder(base).build()
    }

    /// A builder for the service at `base`.
    pub fn builder(base: &str) -> ClientBuilder {
        ClientBuilder {
            base: base.to_owned(),
            connect_timeout: CONNECT_TIMEOUT,
            timeout: REQUEST_TIMEOUT,
            max_body: MAX_BODY,
            max_blob_download: DEFAULT_MAX_BLOB_DOWNLOAD,
            max_repo_download: DEFAULT_MAX_REPO_DOWNLOAD,
            retry: RetryPolicy::default(),
            defaults: CallOptions::default(),
            user_agent: concat!("atmo-xrpc/", env!("CARGO_PKG_VERSION")).to_owned(),
            allow_insecure_http: false,
            store: None,
        }
    }

    /// The service URL (no trailing `/`).
    pub fn base(&self) -> &str {
        &self.inner.base
    }

    /// The last rate-limit headers seen, per host and category (policy).
    pub fn rate_limits(&self) -> Vec<(String, String, RateLimit)> {
        self.inner
            .rates
            .lock()
            .map(|m| {
                m.iter()
                    .map(|((h, c), r)| (h.clone(), c.clone(), r.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Sends a call, with the session's access token when there is a session, and
    /// returns the buffered success response.
    ///
    /// # Errors
    ///
    /// [`Error::Xrpc`] for an error answer, [`Error::Transport`] for a failed exchange,
    /// [`Error::TooLarge`] past the body cap.
    pub async fn send(&self, req: &XrpcRequest) -> Result<XrpcResponse> {
        self.call(req, Auth::IfAny).await
    }

    /// Sends a call that needs a session.
    ///
    /// # Errors
    ///
    /// As [`Client::send`], and [`Error::NoSession`] without a session.
    pub async fn send_authed(&self, req: &XrpcRequest) -> Result<XrpcResponse> {
        self.call(req, Auth::Required).await
    }

    /// A typed call of an [`crate::Endpoint`].
    ///
    /// # Errors
    ///
    /// As [`Client::send`], and [`Error::Decode`] when the output does not decode.
    pub async fn call_endpoint<E: crate::Endpoint>(
        &self,
        params: &E::Params,
        input: Option<&E::Input>,
    ) -> Result<E::Output> {
        let req = E::request(params, input)?;
        let res = self.send(&req).await?;
        E::decode(&res)
    }

    pub(crate) async fn call(&self, req: &XrpcRequest, auth: Auth) -> Result<XrpcResponse> {
        let (head, body) = self.call_head(req, auth).await?;
        let body = self.collect(body, self.inner.max_body).await?;
        Ok(XrpcResponse {
            status: head.status.as_u16(),
            headers: head.headers,
            body,
        })
    }

    /// The success head and the unread body; refreshes an expired session once.
    pub(crate) async fn call_head(
        &self,
        req: &XrpcRequest,
        auth: Auth,
    ) -> Result<(http::response::Parts, Incoming)> {
        let mut refreshed = false;
        loop {
            let (token, generation) = match auth {
                Auth::None => (None, 0),
                Auth::IfAny | Auth::Required => {
                    let st = self.inner.auth.lock().await;
                    let token = st
                        .session
                        .as_ref()
                        .map(|s| format!("Bearer {}", s.access_jwt));
                    if token.is_none() && auth == Auth::Required {
                        return Err(Error::NoSession);
                    }
                    (token, st.generation)
                }
            };
            match self.execute(req, token.as_deref()).await {
                Err(Error::Xrpc(e)) if e.is_expired_token() && token.is_some() && !refreshed => {
                    refreshed = true;
                    self.refresh_after(generation).await?;
                }
                other => return other,
            }
        }
    }

    /// One call with a given `Authorization` value, with 429 retries.
    pub(crate) async fn execute(
        &self,
        req: &XrpcRequest,
        auth: Option<&str>,
    ) -> Result<(http::response::Parts, Incoming)> {
        let mut http_req = req.to_http(&self.inner.base, auth)?;
        let opts = req.options.or(&self.inner.defaults);
        apply_options(http_req.headers_mut(), &opts)?;
        let nsid = req.nsid.as_str();
        let mut retries = 0;
        loop {
            let attempt = http_req
                .clone()
                .map(|b| Full::new(b).map_err(|e| match e {}).boxed_unsync());
            let (parts, body) = self.exchange(nsid, attempt).await?;
            if parts.status.is_success() {
                return Ok((parts, body));
            }
            let text = self.collect(body, MAX_ERROR_BODY).await.unwrap_or_default();
            let err = XrpcError::from_parts(parts.status.as_u16(), &parts.headers, &text);
            if err.status == 429
                && self.inner.retry.retry_on_429
                && retries < self.inner.retry.max_retries
            {
                let wait = err
                    .rate_limit
                    .as_ref()
                    .and_then(|r| r.reset_in(SystemTime::now()))
                    .unwrap_or(Duration::from_secs(1))
                    .max(Duration::from_millis(100));
                if wait <= self.inner.retry.max_wait {
                    tracing::info!(
                        nsid,
                        wait_ms = wait.as_millis() as u64,
                        "429: waiting for the rate limit to reset"
                    );
                    tokio::time::sleep(wait).await;
                    retries += 1;
                    continue;
                }
            }
            return Err(err.into());
        }
    }

    /// Sends one HTTP request and waits for the response head, under the deadline; a
    /// span per call names the NSID, host and status (never the token).
    pub(crate) async fn exchange(
        &self,
        nsid: &str,
        mut req: http::Request<ReqBody>,
    ) -> Result<(http::response::Parts, Incoming)> {
        let span = tracing::debug_span!(
            "xrpc",
            nsid,
            host = %self.inner.host,
            method = %req.method(),
            status = tracing::field::Empty
        );
        req.headers_mut()
            .insert(http::header::USER_AGENT, self.inner.user_agent.clone());
        let fut = self.inner.http.request(req);
        let res: Result<http::Response<Incoming>> = async {
            match tokio::time::timeout(self.inner.timeout, fut).await {
                Err(_) => Err(TransportError::new(
                    TransportErrorKind::Timeout,
                    format!("{nsid}: no response within {:?}", self.inner.timeout),
                )
                .into()),
                Ok(Err(e)) => Err(Error::from(hyper_error(&e))),
                Ok(Ok(res)) => {
                    tracing::Span::current().record("status", res.status().as_u16());
                    Ok(res)
                }
            }
        }
        .instrument(span)
        .await;
        let (parts, body) = res?.into_parts();
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
        let was_low = match self.inner.rates.lock() {
            Ok(mut m) => m
                .insert((self.inner.host.clone(), rl.category()), rl)
                .is_some_and(|prev| prev.is_low()),
            Err(_) => false,
        };
        if low && !was_low {
            tracing::warn!(
                host = %self.inner.host,
                policy = %policy,
                remaining,
                limit,
                "rate limit: less than 10% left"
            );
        }
    }

    /// Reads a whole body, capped, under the request deadline.
    pub(crate) async fn collect(&self, body: Incoming, cap: usize) -> Result<Bytes> {
        let deadline = Instant::now() + self.inner.timeout;
        let fut = Limited::new(body, cap).collect();
        match tokio::time::timeout_at(deadline.into(), fut).await {
            Err(_) => Err(TransportError::new(
                TransportErrorKind::Timeout,
                format!("body not complete within {:?}", self.inner.timeout),
            )
            .into()),
            Ok(Err(e)) => {
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    Err(Error::TooLarge { limit: cap })
                } else {
                    Err(TransportError::from_err(TransportErrorKind::Io, e.as_ref()).into())
                }
            }
            Ok(Ok(c)) => Ok(c.to_bytes()),
        }
    }
}

pub(crate) fn hyper_error(e: &hyper_util::client::legacy::Error) -> TransportError {
    let kind = if e.is_connect() {
        TransportErrorKind::Connect
    } else {
        TransportErrorKind::Io
    };
    TransportError::from_err(kind, e)
}
