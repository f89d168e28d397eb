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

/// Most addresses tried per host name.
const MAX_ADDRS: usize = 16;

/// Resolves the host, checks every address against the policy, dials them in turn.
#[derive(Clone, Debug)]
pub(crate) struct PolicyConnector {
    pub(crate) policy: Arc<ConnectPolicy>,
    pub(crate) connect_timeout: Duration,
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
        let tls = uri.scheme_str() == Some("https");
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let addrs = self.lookup(&host, port).await?;
        let mut last: Option<(SocketAddr, std::io::Error)> = None;
        for addr in addrs {
            match tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr)).await {
                Ok(Ok(s)) => {
                    // Nagle only delays small requests; failing to turn it off is harmless.
                    let _ = s.set_nodelay(true);
                    return Ok(TokioIo::new(s));
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
            host: clip(&host, 256),
            addr,
            kind: e.kind(),
            message: e.to_string(),
        })
    }

    /// Resolves `host` and checks every address: one non-public address refuses the name,
    /// so DNS answers that mix a public and a private address cannot be used to reach
    /// the private one.
    async fn lookup(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Error> {
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
        for addr in &addrs {
            self.policy.check_addr(host, addr.ip())?;
        }
        Ok(addrs)
    }
}
