//! The TCP connector that applies the connect policy to every address it dials.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::error::{Error, clip};
use crate::policy::ConnectPolicy;
use crate::proxy::{Proxy, Tunnel};

/// Most addresses tried per host name.
const MAX_ADDRS: usize = 16;
/// How long a name may take to resolve here when a proxy carries the connection.
const LOCAL_LOOKUP_THROUGH_PROXY: Duration = Duration::from_secs(2);

/// Resolves the host, checks every address against the policy, dials them in turn.
#[derive(Clone, Debug)]
pub(crate) struct PolicyConnector {
    pub(crate) policy: Arc<ConnectPolicy>,
    pub(crate) connect_timeout: Duration,
    pub(crate) proxy: Proxy,
}

type ConnectFuture = Pin<Box<dyn Future<Output = Result<TokioIo<TcpStream>, Error>> + Send>>;

impl tower_service::Service<http::Uri> for PolicyConnector {
    type Response = TokioIo<TcpStream>;
    type Error = Error;
    type Future = ConnectFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { this.connect(uri).await })
    }
}

impl PolicyConnector {
    pub(crate) async fn connect(self, uri: http::Uri) -> Result<TokioIo<TcpStream>, Error> {
        self.policy.check_uri(&uri)?;
        let host = uri
            .host()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let tls = matches!(uri.scheme_str(), Some("https" | "wss"));
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        if let Some(tunnel) = self.proxy.intercept(&uri) {
            return self.connect_via(&tunnel, &host, port).await;
        }
        let addrs = self.lookup(&host, port).await?;
        self.dial(&host, addrs).await.map(TokioIo::new)
    }

    /// A `CONNECT` tunnel through `tunnel` to `host:port`. The target is checked as far
    /// as this side can see it: an IP literal as an address, a name by its addresses when
    /// it resolves here (see [`Proxy`](crate::Proxy)).
    async fn connect_via(
        &self,
        tunnel: &Tunnel,
        host: &str,
        port: u16,
    ) -> Result<TokioIo<TcpStream>, Error> {
        if host.parse::<IpAddr>().is_ok() {
            self.lookup(host, port).await?;
        } else {
            let budget = self.connect_timeout.min(LOCAL_LOOKUP_THROUGH_PROXY);
            match tokio::time::timeout(budget, tokio::net::lookup_host((host, port))).await {
                Ok(Ok(addrs)) => {
                    for addr in addrs.take(MAX_ADDRS) {
                        self.policy.check_addr(host, addr.ip())?;
                    }
                }
                _ => tracing::debug!(host, "does not resolve here; the proxy resolves it"),
            }
        }
        let (proxy_host, proxy_port) = tunnel.endpoint()?;
        let addrs = resolve(&proxy_host, proxy_port).await?;
        let mut stream = self.dial(&proxy_host, addrs).await?;
        tunnel
            .open(&mut stream, host, port, self.connect_timeout)
            .await?;
        Ok(TokioIo::new(stream))
    }

    /// Connects to the first of `addrs` that answers, each within the connect timeout.
    async fn dial(&self, host: &str, addrs: Vec<SocketAddr>) -> Result<TcpStream, Error> {
        let mut last: Option<(SocketAddr, std::io::Error)> = None;
        for addr in addrs {
            match tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr)).await {
                Ok(Ok(s)) => {
                    // Nagle only delays small requests; failing to turn it off is harmless.
                    let _ = s.set_nodelay(true);
                    return Ok(s);
                }
                Ok(Err(e)) => last = Some((addr, e)),
                Err(_) => {
                    last = Some((
                        addr,
                        std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!("connect timed out after {:?}", self.connect_timeout),
                        ),
                    ));
                }
            }
        }
        let (addr, e) = match last {
            Some((a, e)) => (Some(a), e),
            None => (None, std::io::Error::other("no address")),
        };
        Err(Error::Connect {
            host: clip(host, 256),
            addr,
            kind: e.kind(),
            message: e.to_string(),
        })
    }

    /// Resolves `host` and checks every address: one non-public address refuses the name,
    /// so DNS answers that mix a public and a private address cannot be used to reach
    /// the private one.
    async fn lookup(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Error> {
        let addrs = resolve(host, port).await?;
        for addr in &addrs {
            self.policy.check_addr(host, addr.ip())?;
        }
        Ok(addrs)
    }
}

/// The addresses of `host` (an IP literal is its own), at most [`MAX_ADDRS`].
async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, Error> {
    let addrs: Vec<SocketAddr> = if let Ok(ip) = host.parse::<IpAddr>() {
        vec![SocketAddr::new(ip, port)]
    } else {
        tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| Error::Dns {
                host: clip(host, 256),
                kind: e.kind(),
                message: e.to_string(),
            })?
            .take(MAX_ADDRS)
            .collect()
    };
    if addrs.is_empty() {
        return Err(Error::Dns {
            host: clip(host, 256),
            kind: std::io::ErrorKind::NotFound,
            message: "no addresses".into(),
        });
    }
    Ok(addrs)
}
