//! The hyper + rustls client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header;
use http_body_util::{BodyExt as _, Limited};
use hyper_util::client::legacy::Client as LegacyClient;
use hyper_util::rt::TokioExecutor;

use crate::connector::PolicyConnector;
use crate::error::{Error, clip};
use crate::policy::ConnectPolicy;
use crate::proxy::Proxy;
use crate::transport::{Body, ResponseFuture, Transport};

/// Default connect timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default deadline for a response head.
const TIMEOUT: Duration = Duration::from_secs(60);
/// How long an idle connection is kept. Short: the policy ran when it was opened, and a
/// name's addresses may change.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Idle connections kept per origin.
const MAX_IDLE_PER_HOST: usize = 8;

type Https = hyper_rustls::HttpsConnector<PolicyConnector>;

/// Configures an [`HttpClient`].
#[derive(Debug, Clone)]
pub struct HttpClientBuilder {
    policy: ConnectPolicy,
    connect_timeout: Duration,
    timeout: Duration,
    idle_timeout: Duration,
    max_idle_per_host: usize,
    user_agent: String,
    tls: Option<rustls::ClientConfig>,
    proxy: Option<Proxy>,
}

impl Default for HttpClientBuilder {
    fn default() -> Self {
        Self {
            policy: ConnectPolicy::default(),
            connect_timeout: CONNECT_TIMEOUT,
            timeout: TIMEOUT,
            idle_timeout: IDLE_TIMEOUT,
            max_idle_per_host: MAX_IDLE_PER_HOST,
            user_agent: concat!("atmo/", env!("CARGO_PKG_VERSION")).to_owned(),
            tls: None,
            proxy: None,
        }
    }
}

impl HttpClientBuilder {
    /// The connect policy (default: https only, public addresses only).
    #[must_use]
    pub fn policy(mut self, policy: ConnectPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Shorthand for a policy that allows (or not) every address and plain http.
    #[must_use]
    pub fn allow_private_network(mut self, yes: bool) -> Self {
        self.policy = self.policy.allow_private_network(yes);
        self
    }

    /// Connect timeout per address (default 10 s).
    #[must_use]
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Deadline for a response head after the request is sent (default 60 s). Bodies
    /// have their own deadline, given to [`read_body`].
    #[must_use]
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// How long idle connections are kept (default 30 s) and how many per origin
    /// (default 8); 0 keeps none.
    #[must_use]
    pub fn pool(mut self, idle_timeout: Duration, max_idle_per_host: usize) -> Self {
        self.idle_timeout = idle_timeout;
        self.max_idle_per_host = max_idle_per_host;
        self
    }

    /// The `User-Agent` sent when a request has none (default `atmo/<version>`).
    #[must_use]
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// The rustls configuration: roots, crypto provider, protocol versions. ALPN is set
    /// by the client (h2, http/1.1). Default: the ring provider, safe default versions,
    /// the webpki roots.
    #[must_use]
    pub fn tls_config(mut self, config: rustls::ClientConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// The forward proxy (default: [`Proxy::from_env`], read when the client is built;
    /// [`Proxy::none`] for direct connections only).
    #[must_use]
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// Builds the client (no I/O; the first request needs a tokio runtime).
    ///
    /// # Errors
    ///
    /// [`Error::Setup`] when the default TLS configuration cannot be made, or the
    /// `User-Agent` is not a valid header value.
    pub fn build(self) -> Result<HttpClient, Error> {
        let tls = match self.tls {
            Some(c) => c,
            None => rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Setup(e.to_string()))?
            .with_root_certificates(rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            })
            .with_no_client_auth(),
        };
        let policy = Arc::new(self.policy);
        // Streams (websocket upgrades) speak HTTP/1.1 only; the pooled client sets its
        // own ALPN list on its copy.
        let mut stream_tls = tls.clone();
        stream_tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let connector = PolicyConnector {
            policy: Arc::clone(&policy),
            connect_timeout: self.connect_timeout,
            proxy: self.proxy.unwrap_or_else(Proxy::from_env),
        };
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(connector.clone());
        let http = LegacyClient::builder(TokioExecutor::new())
            .pool_idle_timeout(self.idle_timeout)
            .pool_max_idle_per_host(self.max_idle_per_host)
            .build(https);
        let user_agent = header::HeaderValue::from_str(&self.user_agent)
            .map_err(|_| Error::Setup("the User-Agent is not a valid header value".into()))?;
        Ok(HttpClient {
            inner: Arc::new(Inner {
                http,
                policy,
                timeout: self.timeout,
                user_agent,
                connector,
                stream_tls: Arc::new(stream_tls),
            }),
        })
    }
}

/// hyper + rustls with the connect policy on every connection; cheap to clone (clones
/// share the pool). See the [crate docs](crate).
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: LegacyClient<Https, Body>,
    policy: Arc<ConnectPolicy>,
    timeout: Duration,
    user_agent: header::HeaderValue,
    connector: PolicyConnector,
    stream_tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("policy", &self.inner.policy)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client with the default settings and policy.
    ///
    /// # Errors
    ///
    /// As [`HttpClientBuilder::build`].
    pub fn new() -> Result<Self, Error> {
        Self::builder().build()
    }

    /// A builder.
    #[must_use]
    pub fn builder() -> HttpClientBuilder {
        HttpClientBuilder::default()
    }

    /// The connect policy.
    #[must_use]
    pub fn policy(&self) -> &ConnectPolicy {
        &self.inner.policy
    }

    /// The response-head deadline.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// Sends a request and waits for the response head (under the deadline).
    ///
    /// # Errors
    ///
    /// Policy refusals ([`Error::Insecure`], [`Error::Forbidden`], [`Error::Url`]),
    /// [`Error::Dns`], [`Error::Connect`], [`Error::Tls`], [`Error::Timeout`],
    /// [`Error::Io`].
    pub async fn request(
        &self,
        mut req: http::Request<Body>,
    ) -> Result<http::Response<Body>, Error> {
        self.inner.policy.check_uri(req.uri())?;
        let url = clip(&req.uri().to_string(), 512);
        if !req.headers().contains_key(header::USER_AGENT) {
            req.headers_mut()
                .insert(header::USER_AGENT, self.inner.user_agent.clone());
        }
        let host = req.uri().host().unwrap_or_default().to_owned();
        let fut = self.inner.http.request(req);
        let res = match tokio::time::timeout(self.inner.timeout, fut).await {
            Err(_) => {
                return Err(Error::Timeout {
                    url,
                    what: "response",
                    after: self.inner.timeout,
                });
            }
            Ok(Err(e)) => return Err(map_legacy(&e, &url, &host)),
            Ok(Ok(res)) => res,
        };
        let url2 = url.clone();
        Ok(res.map(move |b| {
            b.map_err(move |e| Error::Io {
                url: url2.clone(),
                kind: io_kind(&e),
                message: format!("reading the body: {e}"),
            })
            .boxed_unsync()
        }))
    }

    /// `GET url` with an `Accept` header, the whole body read (at most `max_bytes`,
    /// within the response deadline). Redirects are returned, not followed.
    ///
    /// # Errors
    ///
    /// As [`HttpClient::request`], and [`Error::TooLarge`].
    pub async fn get(
        &self,
        url: &str,
        accept: &str,
        max_bytes: u64,
    ) -> Result<http::Response<Bytes>, Error> {
        let mut headers = http::HeaderMap::new();
        let accept = header::HeaderValue::from_str(accept).map_err(|_| Error::Url {
            url: clip(url, 512),
            reason: "the Accept value is not a valid header",
        })?;
        headers.insert(header::ACCEPT, accept);
        self.get_with_headers(url, headers, max_bytes).await
    }

    /// `GET url` with these headers (a `Host` replaces the URL's, as in tests where a
    /// server is reached under another name than the one it should see; `Connection:
    /// close` keeps the connection out of the pool), the whole body read as
    /// [`HttpClient::get`] does.
    ///
    /// # Errors
    ///
    /// As [`HttpClient::get`].
    pub async fn get_with_headers(
        &self,
        url: &str,
        headers: http::HeaderMap,
        max_bytes: u64,
    ) -> Result<http::Response<Bytes>, Error> {
        let mut req = http::Request::get(url)
            .body(crate::transport::empty())
            .map_err(|_| Error::Url {
                url: clip(url, 512),
                reason: "cannot build a request for it",
            })?;
        req.headers_mut().extend(headers);
        let deadline = Instant::now() + self.inner.timeout;
        let res = self.request(req).await?;
        let (parts, body) = res.into_parts();
        let body = read_body(body, max_bytes, Some(deadline), url).await?;
        Ok(http::Response::from_parts(parts, body))
    }
}

impl HttpClient {
    /// Opens a raw byte stream to the origin of `uri` (TCP, and TLS for `https`/`wss`),
    /// with the connect policy checked on the URL and on every address, and the client's
    /// connect timeout and TLS configuration (ALPN `http/1.1`). For protocols that
    /// upgrade an HTTP/1.1 connection, such as websockets: `ws` and `wss` URLs are
    /// checked as `http` and `https`.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), atmo_http::Error> {
    /// let client = atmo_http::HttpClient::new()?;
    /// let uri: http::Uri = "wss://bsky.network/xrpc/com.atproto.sync.subscribeRepos".parse().map_err(|_| atmo_http::Error::Setup("uri".into()))?;
    /// let _stream = client.connect_stream(&uri).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Policy refusals, [`Error::Dns`], [`Error::Connect`], [`Error::Tls`], [`Error::Url`].
    pub async fn connect_stream(&self, uri: &http::Uri) -> Result<Stream, Error> {
        let url = clip(&uri.to_string(), 512);
        let tls = match uri.scheme_str() {
            Some("https" | "wss") => true,
            Some("http" | "ws") => false,
            _ => {
                return Err(Error::Url {
                    url,
                    reason: "the scheme is not http, https, ws or wss",
                });
            }
        };
        let host = uri.host().unwrap_or_default().to_owned();
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(if tls {
            http::uri::Scheme::HTTPS
        } else {
            http::uri::Scheme::HTTP
        });
        parts.authority = uri.authority().cloned();
        parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
        let origin = http::Uri::from_parts(parts).map_err(|_| Error::Url {
            url: url.clone(),
            reason: "no host",
        })?;
        let tcp = self
            .inner
            .connector
            .clone()
            .connect(origin)
            .await?
            .into_inner();
        if !tls {
            return Ok(Stream::Plain(tcp));
        }
        let name = rustls::pki_types::ServerName::try_from(
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
        )
        .map_err(|_| Error::Url {
            url: url.clone(),
            reason: "the host is not a valid TLS server name",
        })?;
        let connector = tokio_rustls::TlsConnector::from(Arc::clone(&self.inner.stream_tls));
        match tokio::time::timeout(
            self.inner.connector.connect_timeout,
            connector.connect(name, tcp),
        )
        .await
        {
            Ok(Ok(s)) => Ok(Stream::Tls(Box::new(s))),
            Ok(Err(e)) => Err(Error::Tls {
                host: clip(&host, 256),
                message: e.to_string(),
            }),
            Err(_) => Err(Error::Timeout {
                url,
                what: "TLS handshake",
                after: self.inner.connector.connect_timeout,
            }),
        }
    }
}

/// A byte stream opened by [`HttpClient::connect_stream`]: plain TCP or TLS over TCP.
#[derive(Debug)]
pub enum Stream {
    /// Plain TCP (`http`, `ws`).
    Plain(tokio::net::TcpStream),
    /// TLS over TCP (`https`, `wss`).
    Tls(Box<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>),
}

impl tokio::io::AsyncRead for Stream {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => std::pin::Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl tokio::io::AsyncWrite for Stream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => std::pin::Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => std::pin::Pin::new(s).poll_flush(cx),
            Self::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => std::pin::Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

impl Transport for HttpClient {
    fn send(&self, req: http::Request<Body>) -> ResponseFuture<'_> {
        Box::pin(self.request(req))
    }
}

/// Reads a whole body, at most `cap` bytes, before `deadline` if given; `url` names the
/// request in errors.
///
/// # Errors
///
/// [`Error::TooLarge`] past the cap, [`Error::Timeout`] past the deadline, the body's own
/// errors.
pub async fn read_body(
    body: Body,
    cap: u64,
    deadline: Option<Instant>,
    url: &str,
) -> Result<Bytes, Error> {
    let limit = usize::try_from(cap).unwrap_or(usize::MAX);
    let started = Instant::now();
    let fut = Limited::new(body, limit).collect();
    let res = match deadline {
        Some(d) => match tokio::time::timeout_at(d.into(), fut).await {
            Ok(r) => r,
            Err(_) => {
                return Err(Error::Timeout {
                    url: clip(url, 512),
                    what: "complete body",
                    // How long the body was given (not what is left of it: nothing).
                    after: d.saturating_duration_since(started),
                });
            }
        },
        None => fut.await,
    };
    match res {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) => {
            if e.is::<http_body_util::LengthLimitError>() {
                return Err(Error::TooLarge {
                    url: clip(url, 512),
                    limit: cap,
                });
            }
            match e.downcast::<Error>() {
                Ok(e) => Err(*e),
                Err(e) => Err(Error::Io {
                    url: clip(url, 512),
                    kind: std::io::ErrorKind::Other,
                    message: e.to_string(),
                }),
            }
        }
    }
}

/// Our own error if the connector or a body produced it, else a transport error built
/// from the chain of sources.
fn map_legacy(e: &hyper_util::client::legacy::Error, url: &str, host: &str) -> Error {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    let mut message = e.to_string();
    while let Some(s) = source {
        if let Some(ours) = s.downcast_ref::<Error>() {
            return ours.clone();
        }
        let text = s.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    if e.is_connect() {
        // Not from our TCP connector: the TLS layer above it.
        return Error::Tls {
            host: clip(host, 256),
            message,
        };
    }
    Error::Io {
        url: url.to_owned(),
        kind: io_kind(e),
        message,
    }
}

fn io_kind(e: &(dyn std::error::Error + 'static)) -> std::io::ErrorKind {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return io.kind();
        }
        source = s.source();
    }
    std::io::ErrorKind::Other
}
