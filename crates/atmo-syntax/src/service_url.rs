//! Base URLs of services: a PDS, an entryway, a relay, an AppView.

use crate::macros::{char_at, order_by_str, string_type_impls};

/// The base URL of a service that speaks XRPC, such as a PDS: `http(s)://host[:port][/path]`.
///
/// What the DID document's `#atproto_pds` endpoint, a session's PDS and an XRPC client's
/// base are. The host is a DNS name, an IPv4 address or a bracketed IPv6 address; no user
/// info, query or fragment. The form kept is normalised: scheme and host in lower case,
/// trailing slashes removed (`https://PDS.example.com/` is `https://pds.example.com`), so
/// two spellings of one service compare equal. At most 2,048 bytes.
///
/// Whether a URL may be *contacted* (plain `http`, a loopback or private address) is not
/// decided here but by the connect policy of the HTTP client (atmo-http).
///
/// ```
/// use atmo_syntax::ServiceUrl;
///
/// let pds = ServiceUrl::new("https://PDS.Example.com/")?;
/// assert_eq!(pds.as_str(), "https://pds.example.com");
/// assert_eq!(pds.host(), "pds.example.com");
/// assert_eq!(pds.port(), None);
/// assert!(pds.is_https());
/// assert!(ServiceUrl::new("https://pds.example.com/?x=1").is_err());
/// assert!(ServiceUrl::new("ftp://pds.example.com").is_err());
/// # Ok::<(), atmo_syntax::ServiceUrlError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ServiceUrl {
    s: String,
    /// Byte range of the host in `s` (brackets of an IPv6 address included).
    host: (u16, u16),
    port: Option<u16>,
}

/// Why a string is not a valid [`ServiceUrl`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceUrlError {
    /// The input is empty.
    #[error("empty string")]
    Empty,
    /// Longer than [`ServiceUrl::MAX_LEN`].
    #[error("too long: {len} bytes, at most {max}")]
    TooLong {
        /// Length of the input in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The scheme is not `http://` or `https://`.
    #[error("the scheme must be http:// or https://")]
    BadScheme,
    /// Nothing where the host should be.
    #[error("no host")]
    NoHost,
    /// A character that can not appear in the host.
    #[error("invalid character {ch:?} in the host at byte {at}")]
    BadHostChar {
        /// Byte offset of the character.
        at: usize,
        /// The character.
        ch: char,
    },
    /// A DNS name with an empty label or a label over 63 bytes.
    #[error("invalid host name at byte {at}")]
    BadHostName {
        /// Byte offset of the host.
        at: usize,
    },
    /// A bracketed host that is not an IPv6 address.
    #[error("invalid IPv6 address at byte {at}")]
    BadIpv6 {
        /// Byte offset of the `[`.
        at: usize,
    },
    /// The port is not a number from 1 to 65535.
    #[error("invalid port at byte {at}")]
    BadPort {
        /// Byte offset of the port.
        at: usize,
    },
    /// User info (`user@`) before the host.
    #[error("user info is not allowed (byte {at})")]
    UserInfo {
        /// Byte offset of the `@`.
        at: usize,
    },
    /// A query (`?`) or fragment (`#`).
    #[error("no query or fragment allowed (byte {at})")]
    QueryOrFragment {
        /// Byte offset of the `?` or `#`.
        at: usize,
    },
    /// A character that can not appear in the path, or a bad percent-escape.
    #[error("invalid character {ch:?} in the path at byte {at}")]
    BadPathChar {
        /// Byte offset of the character.
        at: usize,
        /// The character.
        ch: char,
    },
}

impl ServiceUrl {
    /// Maximum length in bytes.
    pub const MAX_LEN: usize = 2048;

    /// Parses, validates and normalises a service URL.
    ///
    /// # Errors
    ///
    /// Returns a [`ServiceUrlError`] saying what is wrong and where.
    pub fn new(s: &str) -> Result<Self, ServiceUrlError> {
        parse(s)
    }

    fn from_string(s: String) -> Result<Self, ServiceUrlError> {
        parse(&s)
    }

    /// The URL as a string (normalised; no trailing slash).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.s
    }

    /// Consumes the URL, returning its string.
    #[must_use]
    pub fn into_string(self) -> String {
        self.s
    }

    /// `https` or `http`.
    #[must_use]
    pub fn scheme(&self) -> &str {
        if self.is_https() { "https" } else { "http" }
    }

    /// Whether the scheme is `https`.
    #[must_use]
    pub fn is_https(&self) -> bool {
        self.s.starts_with("https:")
    }

    /// The host: a lower-case DNS name, an IPv4 address or an IPv6 address in brackets.
    #[must_use]
    pub fn host(&self) -> &str {
        self.s
            .get(usize::from(self.host.0)..usize::from(self.host.1))
            .unwrap_or_default()
    }

    /// The port, if one is written.
    #[must_use]
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The port, or the scheme's default (443 or 80).
    #[must_use]
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(if self.is_https() { 443 } else { 80 })
    }

    /// The path after the authority (empty, or starting with `/` and not ending with it).
    #[must_use]
    pub fn path(&self) -> &str {
        let end = usize::from(self.host.1);
        let rest = self.s.get(end..).unwrap_or_default();
        rest.find('/')
            .map_or("", |i| rest.get(i..).unwrap_or_default())
    }

    /// `scheme://host[:port]`, without the path.
    #[must_use]
    pub fn origin(&self) -> &str {
        let p = self.path().len();
        self.s.get(..self.s.len() - p).unwrap_or_default()
    }
}

fn parse(s: &str) -> Result<ServiceUrl, ServiceUrlError> {
    if s.is_empty() {
        return Err(ServiceUrlError::Empty);
    }
    if s.len() > ServiceUrl::MAX_LEN {
        return Err(ServiceUrlError::TooLong {
            len: s.len(),
            max: ServiceUrl::MAX_LEN,
        });
    }
    let lower_prefix = |p: &str| s.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
    let (scheme, start) = if lower_prefix("https://") {
        ("https://", 8)
    } else if lower_prefix("http://") {
        ("http://", 7)
    } else {
        return Err(ServiceUrlError::BadScheme);
    };
    let rest = s.get(start..).unwrap_or_default();
    let auth_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..auth_len).unwrap_or_default();
    if let Some(i) = authority.find('@') {
        return Err(ServiceUrlError::UserInfo { at: start + i });
    }
    // Host and port.
    let (host, port_str) = if authority.starts_with('[') {
        let close = authority
            .find(']')
            .ok_or(ServiceUrlError::BadIpv6 { at: start })?;
        let inner = authority.get(1..close).unwrap_or_default();
        if inner.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(ServiceUrlError::BadIpv6 { at: start });
        }
        let after = authority.get(close + 1..).unwrap_or_default();
        let port = match after.strip_prefix(':') {
            Some(p) => Some((p, start + close + 2)),
            None if after.is_empty() => None,
            None => {
                return Err(ServiceUrlError::BadHostChar {
                    at: start + close + 1,
                    ch: char_at(s, start + close + 1),
                });
            }
        };
        (authority.get(..=close).unwrap_or_default(), port)
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some((p, start + h.len() + 1))),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(ServiceUrlError::NoHost);
    }
    if !host.starts_with('[') {
        check_host_name(host, start)?;
    }
    let port = match port_str {
        None => None,
        Some((p, at)) => {
            let ok = !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit());
            match p.parse::<u16>() {
                Ok(n) if ok && n > 0 => Some(n),
                _ => return Err(ServiceUrlError::BadPort { at }),
            }
        }
    };
    // Path: no query or fragment; pchar and '/' only; trailing slashes dropped.
    let path_start = start + auth_len;
    let path = s.get(path_start..).unwrap_or_default();
    let bytes = path.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let at = path_start + i;
        match b {
            b'?' | b'#' => return Err(ServiceUrlError::QueryOrFragment { at }),
            b'%' => {
                let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
                if !(hex(i + 1) && hex(i + 2)) {
                    return Err(ServiceUrlError::BadPathChar { at, ch: '%' });
                }
                i += 3;
                continue;
            }
            b if b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'/' | b'-'
                        | b'.'
                        | b'_'
                        | b'~'
                        | b'!'
                        | b'$'
                        | b'&'
                        | b'\''
                        | b'('
                        | b')'
                        | b'*'
                        | b'+'
                        | b','
                        | b';'
                        | b'='
                        | b':'
                        | b'@'
                ) => {}
            _ => {
                return Err(ServiceUrlError::BadPathChar {
                    at,
                    ch: char_at(s, at),
                });
            }
        }
        i += 1;
    }
    let path = path.trim_end_matches('/');
    let mut out = String::with_capacity(scheme.len() + authority.len() + path.len());
    out.push_str(scheme);
    out.push_str(&host.to_ascii_lowercase());
    let host_end = out.len();
    if let Some(p) = port {
        out.push(':');
        out.push_str(&p.to_string());
    }
    out.push_str(path);
    let host_range = (
        u16::try_from(scheme.len()).unwrap_or(u16::MAX),
        u16::try_from(host_end).unwrap_or(u16::MAX),
    );
    Ok(ServiceUrl {
        s: out,
        host: host_range,
        port,
    })
}

/// A DNS name or an IPv4 address: labels of letters, digits and `-`, 1 to 63 bytes each.
fn check_host_name(host: &str, start: usize) -> Result<(), ServiceUrlError> {
    if let Some((i, _)) = host
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
    {
        return Err(ServiceUrlError::BadHostChar {
            at: start + i,
            ch: char_at(host, i),
        });
    }
    if host.split('.').any(|l| l.is_empty() || l.len() > 63) {
        return Err(ServiceUrlError::BadHostName { at: start });
    }
    Ok(())
}

string_type_impls!(
    ServiceUrl,
    ServiceUrlError,
    "a service URL (http(s)://host[:port])"
);
order_by_str!(ServiceUrl);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises() {
        let u = ServiceUrl::new("HTTPS://PDS.Example.COM:8443/").unwrap();
        assert_eq!(u.as_str(), "https://pds.example.com:8443");
        assert_eq!(u.host(), "pds.example.com");
        assert_eq!(u.port(), Some(8443));
        assert_eq!(u.port_or_default(), 8443);
        assert_eq!(u.path(), "");
        assert_eq!(u.origin(), "https://pds.example.com:8443");
        let u = ServiceUrl::new("http://localhost:2583").unwrap();
        assert_eq!(
            (u.scheme(), u.host(), u.port_or_default()),
            ("http", "localhost", 2583)
        );
        let u = ServiceUrl::new("https://example.com/pds/v1//").unwrap();
        assert_eq!(u.as_str(), "https://example.com/pds/v1");
        assert_eq!(u.path(), "/pds/v1");
        assert_eq!(u.origin(), "https://example.com");
        assert_eq!(u.port_or_default(), 443);
        let u = ServiceUrl::new("http://[::1]:80/").unwrap();
        assert_eq!((u.host(), u.port()), ("[::1]", Some(80)));
        let u = ServiceUrl::new("http://127.0.0.1").unwrap();
        assert_eq!(u.host(), "127.0.0.1");
        assert_eq!(
            ServiceUrl::new("https://a.example/").unwrap(),
            ServiceUrl::new("https://A.example").unwrap()
        );
    }

    #[test]
    fn errors_and_positions() {
        use ServiceUrlError as E;
        let err = |s: &str| ServiceUrl::new(s).unwrap_err();
        assert_eq!(err(""), E::Empty);
        assert_eq!(err("pds.example.com"), E::BadScheme);
        assert_eq!(err("wss://pds.example.com"), E::BadScheme);
        assert_eq!(err("https://"), E::NoHost);
        assert_eq!(err("https:///x"), E::NoHost);
        assert_eq!(err("https://:80"), E::NoHost);
        assert_eq!(err("https://u:p@host"), E::UserInfo { at: 11 });
        assert_eq!(err("https://host/?q"), E::QueryOrFragment { at: 13 });
        assert_eq!(err("https://host#f"), E::QueryOrFragment { at: 12 });
        assert_eq!(err("https://ho_st"), E::BadHostChar { at: 10, ch: '_' });
        assert_eq!(err("https://hö.st"), E::BadHostChar { at: 9, ch: 'ö' });
        assert_eq!(err("https://a..b"), E::BadHostName { at: 8 });
        assert_eq!(err("https://host:0"), E::BadPort { at: 13 });
        assert_eq!(err("https://host:65536"), E::BadPort { at: 13 });
        assert_eq!(err("https://host:"), E::BadPort { at: 13 });
        assert_eq!(err("https://host:+80"), E::BadPort { at: 13 });
        assert_eq!(err("https://[::1"), E::BadIpv6 { at: 8 });
        assert_eq!(err("https://[zz]"), E::BadIpv6 { at: 8 });
        assert_eq!(err("https://[::1]x"), E::BadHostChar { at: 13, ch: 'x' });
        assert_eq!(err("https://host/a b"), E::BadPathChar { at: 14, ch: ' ' });
        assert_eq!(err("https://host/%zz"), E::BadPathChar { at: 13, ch: '%' });
        let long = format!("https://{}", "a".repeat(ServiceUrl::MAX_LEN));
        assert!(matches!(err(&long), E::TooLong { .. }));
    }

    #[test]
    fn serde_round_trip() {
        let u: ServiceUrl = serde_json::from_str("\"https://PDS.example.com/\"").unwrap();
        assert_eq!(
            serde_json::to_string(&u).unwrap(),
            "\"https://pds.example.com\""
        );
        assert!(serde_json::from_str::<ServiceUrl>("\"nope\"").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_normal_form_is_fixed(s in "\\PC{0,40}") {
            if let Ok(u) = ServiceUrl::new(&s) {
                let again = ServiceUrl::new(u.as_str()).unwrap();
                proptest::prop_assert_eq!(again.as_str(), u.as_str());
            }
        }

        #[test]
        fn valid_forms_parse(
            https in proptest::bool::ANY,
            host in "[a-zA-Z0-9-]{1,12}(\\.[a-zA-Z0-9-]{1,12}){0,3}",
            port in proptest::option::of(1u16..),
            path in "(/[a-zA-Z0-9._~-]{0,6}){0,3}",
        ) {
            let scheme = if https { "https" } else { "http" };
            let port_s = port.map(|p| format!(":{p}")).unwrap_or_default();
            let u = ServiceUrl::new(&format!("{scheme}://{host}{port_s}{path}")).unwrap();
            proptest::prop_assert_eq!(u.host(), host.to_ascii_lowercase());
            proptest::prop_assert_eq!(u.port(), port);
            proptest::prop_assert_eq!(u.path(), path.trim_end_matches('/'));
            proptest::prop_assert_eq!(u.is_https(), https);
        }
    }
}
