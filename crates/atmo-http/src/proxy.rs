//! Forward proxies: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`, reached with
//! HTTP `CONNECT` tunnels.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::client::proxy::matcher::Matcher;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::error::{Error, clip};

/// The longest proxy answer to a `CONNECT` read before giving up.
const MAX_CONNECT_ANSWER: usize = 8 * 1024;

/// Which proxy, if any, carries a connection.
///
/// The rules are curl's: `HTTPS_PROXY` (or `https_proxy`) for `https://` URLs,
/// `HTTP_PROXY` (or `http_proxy`) for `http://` URLs, `ALL_PROXY` for both when the
/// specific one is unset, and `NO_PROXY`: comma-separated host names (matching their
/// subdomains too), IP addresses, CIDR blocks, or `*`. Nothing is implied: loopback goes
/// through the proxy unless `NO_PROXY` names it. Like curl, the environment is ignored
/// when `REQUEST_METHOD` is set (a CGI process, where `HTTP_PROXY` can come from a
/// request header).
///
/// Every connection, `https` and plain `http` alike, goes through the proxy as an HTTP
/// `CONNECT` tunnel (with `Proxy-Authorization: Basic` when the proxy URL carries a user
/// and password), so TLS runs end to end with the target. The proxy itself must be an
/// `http://` URL; other schemes are refused with [`Error::Proxy`] when used.
///
/// The connect policy still applies through a proxy: the URL is checked as always, an IP
/// literal is checked as an address, and a host name is resolved here and each of its
/// addresses checked. A name that does not resolve here (networks where only the proxy
/// can resolve names) is left to the proxy, which then decides where it goes: the policy
/// can only check what this side can see. The proxy's own address is not checked: it is
/// chosen by whoever set the environment or called [`Proxy::new`].
///
/// ```
/// use atmo_http::Proxy;
///
/// let p = Proxy::new("http://proxy.internal:3128", None, "localhost, .corp.example");
/// assert!(p.is_some());
/// let from_env = Proxy::from_env(); // what HttpClient::builder() uses by default
/// # let _ = from_env;
/// let none = Proxy::none();
/// assert!(!none.is_some());
/// ```
#[derive(Clone, Default)]
pub struct Proxy {
    matcher: Option<Arc<Matcher>>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The matcher's own Debug would print proxy passwords.
        f.debug_struct("Proxy")
            .field("configured", &self.is_some())
            .finish()
    }
}

impl Proxy {
    /// No proxy: every connection is direct.
    #[must_use]
    pub fn none() -> Self {
        Self { matcher: None }
    }

    /// The proxies named by the environment (see the type's docs), read now.
    #[must_use]
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The proxies named by the variables `get` returns (`get("HTTPS_PROXY")`...), as
    /// [`from_env`](Self::from_env) reads them from the environment.
    #[must_use]
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Self {
        if get("REQUEST_METHOD").is_some() {
            return Self::none();
        }
        let first = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| get(n).filter(|v| !v.trim().is_empty()))
                .unwrap_or_default()
        };
        let all = first(&["ALL_PROXY", "all_proxy"]);
        let http = first(&["HTTP_PROXY", "http_proxy"]);
        let https = first(&["HTTPS_PROXY", "https_proxy"]);
        let no = first(&["NO_PROXY", "no_proxy"]);
        if all.is_empty() && http.is_empty() && https.is_empty() {
            return Self::none();
        }
        let matcher = Matcher::builder()
            .all(all)
            .http(http)
            .https(https)
            .no(no)
            .build();
        Self {
            matcher: Some(Arc::new(matcher)),
        }
    }

    /// One proxy for `https://` URLs and, unless `http` names another, for `http://`
    /// URLs too; `no_proxy` as `NO_PROXY`.
    #[must_use]
    pub fn new(https: &str, http: Option<&str>, no_proxy: &str) -> Self {
        let matcher = Matcher::builder()
            .https(https)
            .http(http.unwrap_or(https))
            .no(no_proxy)
            .build();
        Self {
            matcher: Some(Arc::new(matcher)),
        }
    }

    /// Whether any proxy is configured.
    #[must_use]
    pub fn is_some(&self) -> bool {
        self.matcher.is_some()
    }

    /// The proxy for `uri`, if it goes through one.
    pub(crate) fn intercept(&self, uri: &http::Uri) -> Option<Tunnel> {
        let m = self.matcher.as_ref()?.intercept(uri)?;
        Some(Tunnel {
            proxy: m.uri().clone(),
            auth: m.basic_auth().cloned(),
        })
    }
}

/// A proxy chosen for one connection.
pub(crate) struct Tunnel {
    proxy: http::Uri,
    auth: Option<http::HeaderValue>,
}

impl Tunnel {
    /// `host:port` of the proxy (no credentials), for errors and logs.
    pub(crate) fn name(&self) -> String {
        let host = self.proxy.host().unwrap_or_default();
        let port = self.proxy.port_u16().unwrap_or(80);
        clip(&format!("{host}:{port}"), 256)
    }

    /// The proxy's host and port, after checking it is an `http://` proxy.
    pub(crate) fn endpoint(&self) -> Result<(String, u16), Error> {
        if self.proxy.scheme_str() != Some("http") {
            return Err(Error::Proxy {
                proxy: self.name(),
                status: None,
                message: format!(
                    "only http:// proxies are supported, not {}://",
                    self.proxy.scheme_str().unwrap_or("?")
                ),
            });
        }
        let host = self
            .proxy
            .host()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        Ok((host, self.proxy.port_u16().unwrap_or(80)))
    }

    /// Asks the proxy, over `stream`, for a tunnel to `host:port`, within `deadline`.
    pub(crate) async fn open(
        &self,
        stream: &mut TcpStream,
        host: &str,
        port: u16,
        deadline: Duration,
    ) -> Result<(), Error> {
        let target = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let mut req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
        if let Some(auth) = self.auth.as_ref().and_then(|a| a.to_str().ok()) {
            req.push_str("Proxy-Authorization: ");
            req.push_str(auth);
            req.push_str("\r\n");
        }
        req.push_str("\r\n");
        let exchange = async {
            stream.write_all(req.as_bytes()).await?;
            read_head(stream).await
        };
        let head = match tokio::time::timeout(deadline, exchange).await {
            Err(_) => {
                return Err(self.error(None, format!("no answer to CONNECT within {deadline:?}")));
            }
            Ok(Err(e)) => return Err(self.error(None, format!("CONNECT {target}: {e}"))),
            Ok(Ok(head)) => head,
        };
        match parse_status(&head) {
            Some(200..=299) => Ok(()),
            Some(code) => Err(self.error(
                Some(code),
                format!("the proxy refused CONNECT {target} with status {code}"),
            )),
            None => Err(self.error(None, "the proxy's answer to CONNECT is not HTTP".into())),
        }
    }

    fn error(&self, status: Option<u16>, message: String) -> Error {
        Error::Proxy {
            proxy: self.name(),
            status,
            message,
        }
    }
}

/// Reads an HTTP response head, one byte at a time so nothing of the tunnel is consumed.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(256);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_CONNECT_ANSWER {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("answer head longer than {MAX_CONNECT_ANSWER} bytes"),
            ));
        }
        let b = stream.read_u8().await?;
        head.push(b);
    }
    Ok(head)
}

/// The status code of `HTTP/1.x NNN ...`.
fn parse_status(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\r').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split(' ');
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            list.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn via(p: &Proxy, url: &str) -> Option<String> {
        p.intercept(&url.parse().unwrap()).map(|t| t.name())
    }

    #[test]
    fn environment_rules() {
        let none = Proxy::from_vars(vars(&[]));
        assert!(!none.is_some());
        assert_eq!(via(&none, "https://pds.example"), None);

        let p = Proxy::from_vars(vars(&[
            ("HTTPS_PROXY", "http://secure.proxy:3128"),
            ("http_proxy", "http://plain.proxy:8080"),
            ("NO_PROXY", "localhost, .corp.example, 10.0.0.0/8"),
        ]));
        assert_eq!(
            via(&p, "https://pds.example").as_deref(),
            Some("secure.proxy:3128")
        );
        assert_eq!(
            via(&p, "http://pds.example").as_deref(),
            Some("plain.proxy:8080")
        );
        assert_eq!(via(&p, "https://localhost:2583"), None);
        assert_eq!(via(&p, "https://pds.corp.example"), None);
        assert_eq!(via(&p, "https://10.1.2.3"), None);
        assert_eq!(
            via(&p, "https://127.0.0.1").as_deref(),
            Some("secure.proxy:3128")
        );

        let all = Proxy::from_vars(vars(&[("ALL_PROXY", "http://all.proxy")]));
        assert_eq!(
            via(&all, "https://a.example").as_deref(),
            Some("all.proxy:80")
        );
        assert_eq!(
            via(&all, "http://a.example").as_deref(),
            Some("all.proxy:80")
        );

        let star = Proxy::from_vars(vars(&[("ALL_PROXY", "http://p:1"), ("NO_PROXY", "*")]));
        assert_eq!(via(&star, "https://a.example"), None);

        // A CGI process ignores the environment.
        let cgi = Proxy::from_vars(vars(&[
            ("HTTP_PROXY", "http://from.a.header"),
            ("REQUEST_METHOD", "GET"),
        ]));
        assert!(!cgi.is_some());
    }

    #[test]
    fn credentials_become_basic_auth_and_never_show() {
        let p = Proxy::new("http://user:secret@proxy.example:3128", None, "");
        let t = p
            .intercept(&"https://pds.example".parse().unwrap())
            .unwrap();
        assert_eq!(t.name(), "proxy.example:3128");
        assert_eq!(
            t.auth
                .as_ref()
                .map(|a| a.to_str().unwrap().to_owned())
                .as_deref(),
            Some("Basic dXNlcjpzZWNyZXQ=")
        );
        assert!(!format!("{p:?}").contains("secret"));
    }

    #[test]
    fn only_http_proxies() {
        let p = Proxy::new("socks5://proxy.example:1080", None, "");
        let t = p
            .intercept(&"https://pds.example".parse().unwrap())
            .unwrap();
        assert!(matches!(
            t.endpoint(),
            Err(Error::Proxy { status: None, .. })
        ));
        let p = Proxy::new("http://[::1]:3128", None, "");
        let t = p
            .intercept(&"https://pds.example".parse().unwrap())
            .unwrap();
        assert_eq!(t.endpoint().unwrap(), ("::1".to_owned(), 3128));
    }

    #[test]
    fn status_lines() {
        assert_eq!(
            parse_status(b"HTTP/1.1 200 Connection established\r\n\r\n"),
            Some(200)
        );
        assert_eq!(
            parse_status(b"HTTP/1.0 407 Proxy Authentication Required\r\n\r\n"),
            Some(407)
        );
        assert_eq!(parse_status(b"HTTP/1.1 200\r\n\r\n"), Some(200));
        assert_eq!(parse_status(b"SSH-2.0-OpenSSH\r\n\r\n"), None);
        assert_eq!(parse_status(b"HTTP/1.1 20\r\n\r\n"), None);
        assert_eq!(parse_status(b""), None);
    }
}
