//! A small HTTP/1.1 GET client on hyper + rustls with the SSRF policy applied to every
//! resolved address, a deadline on every request and a cap on every body.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

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
        let addrs = self.lookup(url, host, port).await?;
        let tcp = connect(url, &addrs).await?;
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let host_value = host_header.unwrap_or(authority.as_str());
        let req = Request::get(path)
            .header(header::HOST, host_value)
            .header(header::USER_AGENT, &self.user_agent)
            .header(header::ACCEPT, accept)
            .header(header::CONNECTION, "close")
            .body(Empty::<Bytes>::new())
            .map_err(|_| bad("cannot build a request for it"))?;
        if tls {
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
            exchange(url, TokioIo::new(stream), req, max_bytes).await
        } else {
            exchange(url, TokioIo::new(tcp), req, max_bytes).await
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

async fn exchange<T>(
    url: &str,
    io: TokioIo<T>,
    req: Request<Empty<Bytes>>,
    max_bytes: usize,
) -> Result<Response, Error>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| transport(url, format!("HTTP handshake: {e}")))?;
    let driver = tokio::spawn(conn);
    let result = async {
        let res = sender
            .send_request(req)
            .await
            .map_err(|e| transport(url, format!("HTTP: {e}")))?;
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.len() <= 2048)
            .map(str::to_owned);
        if let Some(len) = res
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
        {
            if len > max_bytes as u64 {
                return Err(Error::ResponseTooLarge {
                    url: clip(url, 512),
                    limit: max_bytes,
                });
            }
        }
        let mut body = res.into_body();
        let mut buf: Vec<u8> = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| transport(url, format!("reading the body: {e}")))?;
            if let Ok(data) = frame.into_data() {
                if buf.len().saturating_add(data.len()) > max_bytes {
                    return Err(Error::ResponseTooLarge {
                        url: clip(url, 512),
                        limit: max_bytes,
                    });
                }
                buf.extend_from_slice(&data);
            }
        }
        Ok(Response {
            status,
            location,
            body: Bytes::from(buf),
        })
    }
    .await;
    driver.abort();
    result
}
