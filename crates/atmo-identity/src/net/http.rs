//! A small HTTP/1.1 GET client on hyper + rustls with the SSRF policy applied to every
//! resolved address, a deadline on every request, a cap on every body, and kept-alive
//! connections reused per origin (a resolver asks the same PLC directory again and again).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Uri, header};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::Error;
use crate::error::clip;
use crate::ssrf::check_addr;

/// Most addresses tried per host name.
const MAX_ADDRS: usize = 16;

/// Idle connections kept per origin.
const MAX_IDLE_PER_ORIGIN: usize = 4;

/// Idle connections kept in all. Well-known lookups go to a new origin per handle: without
/// this cap a resolver verifying many handles would hold a socket for each for 30 s.
const MAX_IDLE_TOTAL: usize = 32;

/// How long an idle connection is kept. Short: the SSRF check ran when it was opened, and
/// the name's addresses may change.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a connection goes: scheme, host, port and the `Host` header it was opened for.
type Origin = (bool, String, u16, Option<String>);

/// An idle HTTP/1.1 connection, ready for the next request.
struct Idle {
    sender: hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    since: Instant,
}

/// Idle connections by origin.
#[derive(Default)]
struct Pool {
    idle: Mutex<HashMap<Origin, Vec<Idle>>>,
}

impl Pool {
    /// A live idle connection to `origin`, if one is kept.
    fn take(
        &self,
        origin: &Origin,
    ) -> Option<hyper::client::conn::http1::SendRequest<Empty<Bytes>>> {
        let mut idle = self.idle.lock().ok()?;
        let list = idle.get_mut(origin)?;
        while let Some(c) = list.pop() {
            // Not `is_ready()`: a connection that has just finished an answer may not be
            // marked ready yet; `exchange` waits for readiness and retries if it is gone.
            if c.since.elapsed() < IDLE_TIMEOUT && !c.sender.is_closed() {
                return Some(c.sender);
            }
        }
        None
    }

    fn put(&self, origin: Origin, sender: hyper::client::conn::http1::SendRequest<Empty<Bytes>>) {
        let Ok(mut idle) = self.idle.lock() else {
            return;
        };
        let mut total = 0;
        idle.retain(|_, l| {
            l.retain(|c| c.since.elapsed() < IDLE_TIMEOUT && !c.sender.is_closed());
            total += l.len();
            !l.is_empty()
        });
        if total >= MAX_IDLE_TOTAL {
            return;
        }
        let list = idle.entry(origin).or_default();
        if list.len() < MAX_IDLE_PER_ORIGIN {
            list.push(Idle {
                sender,
                since: Instant::now(),
            });
        }
    }
}

/// One GET's answer.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    /// The `Location` header of a redirect, if it is valid text.
    pub(crate) location: Option<String>,
    pub(crate) body: Bytes,
}

/// The client: TLS settings and the policy.
#[derive(Clone)]
pub(crate) struct HttpClient {
    tls: tokio_rustls::TlsConnector,
    pub(crate) allow_private: bool,
    timeout: Duration,
    user_agent: String,
    pool: Arc<Pool>,
}

impl HttpClient {
    pub(crate) fn new(
        allow_private: bool,
        timeout: Duration,
        user_agent: String,
    ) -> Result<Self, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Setup(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
            allow_private,
            timeout,
            user_agent,
            pool: Arc::default(),
        })
    }

    /// `GET url`, reading at most `max_bytes` of body. `host_header` replaces the `Host`
    /// header (and the TLS server name) when the connection goes elsewhere than the name the
    /// server should see.
    pub(crate) async fn get(
        &self,
        url: &str,
        accept: &str,
        max_bytes: usize,
        host_header: Option<&str>,
    ) -> Result<Response, Error> {
        match tokio::time::timeout(
            self.timeout,
            self.get_inner(url, accept, max_bytes, host_header),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout {
                url: clip(url, 512),
                after: self.timeout,
            }),
        }
    }

    async fn get_inner(
        &self,
        url: &str,
        accept: &str,
        max_bytes: usize,
        host_header: Option<&str>,
    ) -> Result<Response, Error> {
        let bad = |reason| Error::Url {
            url: clip(url, 512),
            reason,
        };
        let uri: Uri = url.parse().map_err(|_| bad("not a valid URL"))?;
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") if self.allow_private => false,
            Some("http") => return Err(bad("plain http is only allowed with private networks")),
            _ => return Err(bad("only http and https URLs are fetched")),
        };
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("user info in URLs is not allowed"));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let host_value = host_header.unwrap_or(authority.as_str());
        let req = || {
            Request::get(path)
                .header(header::HOST, host_value)
                .header(header::USER_AGENT, &self.user_agent)
                .header(header::ACCEPT, accept)
                .body(Empty::<Bytes>::new())
                .map_err(|_| bad("cannot build a request for it"))
        };
        let origin: Origin = (tls, host.to_owned(), port, host_header.map(str::to_owned));
        // A kept connection first; if it fails before an answer (the server closed it
        // while idle), once more on a new one: a GET can be repeated.
        if let Some(sender) = self.pool.take(&origin) {
            match exchange(url, sender, req()?, max_bytes).await {
                Ok((res, Some(sender))) => {
                    self.pool.put(origin, sender);
                    return Ok(res);
                }
                Ok((res, None)) => return Ok(res),
                Err(Retry::No(e)) => return Err(e),
                Err(Retry::Yes(_)) => {}
            }
        }
        let addrs = self.lookup(url, host, port).await?;
        let tcp = connect(url, &addrs).await?;
        let sender = if tls {
            let name_text = host_header
                .map(|h| h.rsplit_once(':').map_or(h, |(n, _)| n))
                .unwrap_or(host);
            let name = rustls::pki_types::ServerName::try_from(name_text.to_owned())
                .map_err(|_| bad("host is not a valid TLS server name"))?;
            let stream = self
                .tls
                .connect(name, tcp)
                .await
                .map_err(|e| transport(url, format!("TLS: {e}")))?;
            handshake(url, TokioIo::new(stream)).await?
        } else {
            handshake(url, TokioIo::new(tcp)).await?
        };
        match exchange(url, sender, req()?, max_bytes).await {
            Ok((res, Some(sender))) => {
                self.pool.put(origin, sender);
                Ok(res)
            }
            Ok((res, None)) => Ok(res),
            Err(Retry::No(e) | Retry::Yes(e)) => Err(e),
        }
    }

    /// Resolves `host` and checks every address against the SSRF policy.
    async fn lookup(&self, url: &str, host: &str, port: u16) -> Result<Vec<SocketAddr>, Error> {
        let addrs: Vec<SocketAddr> = if let Ok(ip) = host.parse::<IpAddr>() {
            vec![SocketAddr::new(ip, port)]
        } else {
            tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| Error::Dns {
                    name: clip(host, 256),
                    message: e.to_string(),
                })?
                .take(MAX_ADDRS)
                .collect()
        };
        if addrs.is_empty() {
            return Err(Error::Dns {
                name: clip(host, 256),
                message: format!("no addresses (for {})", clip(url, 256)),
            });
        }
        for addr in &addrs {
            check_addr(host, addr.ip(), self.allow_private)?;
        }
        Ok(addrs)
    }
}

fn transport(url: &str, message: String) -> Error {
    Error::Transport {
        url: clip(url, 512),
        message,
    }
}

async fn connect(url: &str, addrs: &[SocketAddr]) -> Result<TcpStream, Error> {
    let mut last = String::from("no address");
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = format!("connect to {addr}: {e}"),
        }
    }
    Err(transport(url, last))
}

/// The HTTP/1.1 handshake on a connected stream; the connection is driven by a task that
/// ends when the connection closes or its sender is dropped.
async fn handshake<T>(
    url: &str,
    io: TokioIo<T>,
) -> Result<hyper::client::conn::http1::SendRequest<Empty<Bytes>>, Error>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| transport(url, format!("HTTP handshake: {e}")))?;
    tokio::spawn(conn);
    Ok(sender)
}

/// A failed exchange: `Yes` if nothing was answered, so a GET may be sent again on
/// another connection.
enum Retry {
    Yes(Error),
    No(Error),
}

/// One request and its whole (capped) answer; the sender comes back if the connection
/// can take another request.
async fn exchange(
    url: &str,
    mut sender: hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    req: Request<Empty<Bytes>>,
    max_bytes: usize,
) -> Result<
    (
        Response,
        Option<hyper::client::conn::http1::SendRequest<Empty<Bytes>>>,
    ),
    Retry,
> {
    sender
        .ready()
        .await
        .map_err(|e| Retry::Yes(transport(url, format!("HTTP: {e}"))))?;
    let res = sender
        .send_request(req)
        .await
        .map_err(|e| Retry::Yes(transport(url, format!("HTTP: {e}"))))?;
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 2048)
        .map(str::to_owned);
    let too_large = || {
        Retry::No(Error::ResponseTooLarge {
            url: clip(url, 512),
            limit: max_bytes,
        })
    };
    if res
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|len| len > max_bytes as u64)
    {
        return Err(too_large());
    }
    let mut body = res.into_body();
    let mut buf: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| Retry::No(transport(url, format!("reading the body: {e}"))))?;
        if let Ok(data) = frame.into_data() {
            if buf.len().saturating_add(data.len()) > max_bytes {
                return Err(too_large());
            }
            buf.extend_from_slice(&data);
        }
    }
    let reusable = !sender.is_closed();
    Ok((
        Response {
            status,
            location,
            body: Bytes::from(buf),
        },
        reusable.then_some(sender),
    ))
}
