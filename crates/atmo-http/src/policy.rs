//! The connect policy: which URLs and addresses the transport may reach.
//!
//! URLs that reach a client often come from untrusted data: a handle's well-known
//! document, a `did:web` host name, the PDS endpoint in a DID document, an OAuth
//! server's metadata. By default the policy only lets connections reach public unicast
//! addresses over https. The address check runs on every address a host name resolves
//! to, at connect time (so a public-looking name that points at `127.0.0.1` is refused,
//! and so is every hop of a redirect the caller follows).
//!
//! This module is pure: no I/O, no async. The `client` feature's connector applies it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::{Error, clip};

/// Which URLs and addresses connections may reach.
///
/// - [`ConnectPolicy::default`]: https only, public unicast addresses only.
/// - [`ConnectPolicy::allow_private_network`]: any address, and plain http anywhere (a
///   development network, a test PDS on loopback).
/// - [`ConnectPolicy::allow_host`]: one host name (or IP literal) that may resolve to a
///   non-public address and may be reached over plain http; everything else stays under
///   the default rules.
///
/// ```
/// use atmo_http::ConnectPolicy;
///
/// let strict = ConnectPolicy::default();
/// assert!(strict.check_url("https://pds.example.com/xrpc/_health").is_ok());
/// assert!(strict.check_url("http://localhost:6379").is_err());
/// assert!(strict.check_addr("evil.example", "127.0.0.1".parse().unwrap()).is_err());
///
/// let dev = ConnectPolicy::default().allow_host("localhost");
/// assert!(dev.check_url("http://localhost:2583").is_ok());
/// assert!(dev.check_addr("localhost", "127.0.0.1".parse().unwrap()).is_ok());
/// assert!(dev.check_addr("evil.example", "127.0.0.1".parse().unwrap()).is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectPolicy {
    allow_private: bool,
    /// Lower-case host names (IPv6 literals without brackets).
    allowed_hosts: Vec<String>,
}

impl ConnectPolicy {
    /// The default policy: https only, public unicast addresses only.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Any address and plain http anywhere (`true`), or the default rules (`false`).
    #[must_use]
    pub fn allow_private_network(mut self, yes: bool) -> Self {
        self.allow_private = yes;
        self
    }

    /// Lets `host` (a name or an IP literal, compared case-insensitively) resolve to
    /// non-public addresses and be reached over plain http.
    #[must_use]
    pub fn allow_host(mut self, host: &str) -> Self {
        let h = normalize_host(host);
        if !self.allowed_hosts.contains(&h) {
            self.allowed_hosts.push(h);
        }
        self
    }

    /// Whether every address is allowed.
    #[must_use]
    pub fn allows_private_network(&self) -> bool {
        self.allow_private
    }

    /// Whether `host` is exempt from the address rules (private networks allowed, or the
    /// host listed with [`ConnectPolicy::allow_host`]).
    #[must_use]
    pub fn is_exempt(&self, host: &str) -> bool {
        self.allow_private
            || self
                .allowed_hosts
                .iter()
                .any(|h| *h == normalize_host(host))
    }

    /// Checks a URL before any connection: http or https, a host, no user info, and plain
    /// http only to exempt hosts.
    ///
    /// # Errors
    ///
    /// [`Error::Url`] for a URL that cannot be used, [`Error::Insecure`] for plain http to
    /// a host that is not exempt.
    pub fn check_url(&self, url: &str) -> Result<(), Error> {
        let uri: http::Uri = url.parse().map_err(|_| Error::Url {
            url: clip(url, 512),
            reason: "not a valid URL",
        })?;
        self.check_uri(&uri)
    }

    /// [`ConnectPolicy::check_url`] on a parsed URI.
    ///
    /// # Errors
    ///
    /// As [`ConnectPolicy::check_url`].
    pub fn check_uri(&self, uri: &http::Uri) -> Result<(), Error> {
        let bad = |reason| Error::Url {
            url: clip(&uri.to_string(), 512),
            reason,
        };
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("user info in URLs is not allowed"));
        }
        let host = authority.host();
        if host.is_empty() {
            return Err(bad("no host"));
        }
        match uri.scheme_str() {
            Some("https") => Ok(()),
            Some("http") if self.is_exempt(host) => Ok(()),
            Some("http") => Err(Error::Insecure {
                url: clip(&uri.to_string(), 512),
            }),
            _ => Err(bad("only http and https URLs are fetched")),
        }
    }

    /// Checks one resolved address of `host`.
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] for a non-public address of a host that is not exempt.
    pub fn check_addr(&self, host: &str, addr: IpAddr) -> Result<(), Error> {
        match non_public_reason(addr) {
            Some(reason) if !self.is_exempt(host) => Err(Error::Forbidden {
                host: clip(host, 256),
                addr,
                reason,
            }),
            _ => Ok(()),
        }
    }
}

fn normalize_host(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// Why an address is not public, or `None` for a public unicast address.
///
/// ```
/// use atmo_http::policy::non_public_reason;
///
/// assert_eq!(non_public_reason("10.1.2.3".parse().unwrap()), Some("private"));
/// assert_eq!(non_public_reason("::ffff:127.0.0.1".parse().unwrap()), Some("loopback"));
/// assert_eq!(non_public_reason("1.1.1.1".parse().unwrap()), None);
/// ```
#[must_use]
pub fn non_public_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if a == 10 || (a == 172 && (16..=31).contains(&b)) || (a == 192 && b == 168) {
        Some("private")
    } else if a == 100 && (64..=127).contains(&b) {
        Some("shared (CGNAT)")
    } else if a == 169 && b == 254 {
        Some("link-local")
    } else if a == 192 && b == 0 && c == 0 {
        Some("IETF protocol assignment")
    } else if (a == 192 && b == 0 && c == 2)
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
    {
        Some("documentation")
    } else if a == 198 && (b == 18 || b == 19) {
        Some("benchmarking")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if a >= 240 {
        Some("reserved")
    } else {
        None
    }
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    let seg = ip.segments();
    let [s0, s1, s2, s3, s4, s5, s6, s7] = seg;
    let embedded = || Ipv4Addr::new((s6 >> 8) as u8, s6 as u8, (s7 >> 8) as u8, s7 as u8);
    if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if s0 == 0 && s1 == 0 && s2 == 0 && s3 == 0 && s4 == 0 && (s5 == 0xffff || s5 == 0) {
        // IPv4-mapped (::ffff:a.b.c.d) and the deprecated IPv4-compatible (::a.b.c.d).
        v4_reason(embedded()).or(if s5 == 0 { Some("reserved") } else { None })
    } else if s0 == 0x64 && s1 == 0xff9b && s2 == 0 && s3 == 0 && s4 == 0 && s5 == 0 {
        // NAT64 (64:ff9b::/96) reaches the embedded IPv4 address.
        v4_reason(embedded())
    } else if s0 == 0x2002 {
        // 6to4 (2002:a.b.c.d::/48) reaches the IPv4 address in segments 1 and 2.
        v4_reason(Ipv4Addr::new(
            (s1 >> 8) as u8,
            s1 as u8,
            (s2 >> 8) as u8,
            s2 as u8,
        ))
    } else if (s0 & 0xffc0) == 0xfe80 {
        Some("link-local")
    } else if (s0 & 0xffc0) == 0xfec0 {
        Some("site-local")
    } else if (s0 & 0xfe00) == 0xfc00 {
        Some("unique local")
    } else if (s0 & 0xff00) == 0xff00 {
        Some("multicast")
    } else if s0 == 0x2001 && s1 == 0x0db8 {
        Some("documentation")
    } else if s0 == 0x0100 && s1 == 0 && s2 == 0 && s3 == 0 {
        Some("discard-only")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_https_and_public_only() {
        let p = ConnectPolicy::default();
        assert!(p.check_url("https://example.com/x").is_ok());
        assert!(matches!(
            p.check_url("http://example.com/x"),
            Err(Error::Insecure { .. })
        ));
        assert!(matches!(
            p.check_url("ftp://example.com/x"),
            Err(Error::Url { .. })
        ));
        assert!(matches!(
            p.check_url("https://user@example.com/"),
            Err(Error::Url { .. })
        ));
        for (ip, why) in [
            ("127.0.0.1", "loopback"),
            ("10.0.0.1", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("0.0.0.0", "unspecified"),
            ("::1", "loopback"),
            ("fe80::1", "link-local"),
            ("fc00::1", "unique local"),
            ("::ffff:10.0.0.1", "private"),
        ] {
            let e = p.check_addr("h.example", ip.parse().unwrap()).unwrap_err();
            assert_eq!(
                e,
                Error::Forbidden {
                    host: "h.example".into(),
                    addr: ip.parse().unwrap(),
                    reason: why
                }
            );
            assert!(e.to_string().contains(ip.trim_start_matches("::ffff:")));
        }
        assert!(
            p.check_addr("h.example", "1.1.1.1".parse().unwrap())
                .is_ok()
        );
    }

    #[test]
    fn exemptions() {
        let p = ConnectPolicy::default()
            .allow_host("LocalHost.")
            .allow_host("[::1]");
        assert!(p.check_url("http://localhost:2583").is_ok());
        assert!(p.check_url("http://[::1]:2583").is_ok());
        assert!(
            p.check_addr("localhost", "127.0.0.1".parse().unwrap())
                .is_ok()
        );
        assert!(p.check_addr("::1", "::1".parse().unwrap()).is_ok());
        assert!(p.check_addr("other", "127.0.0.1".parse().unwrap()).is_err());
        assert!(p.check_url("http://other:80").is_err());
        let open = ConnectPolicy::default().allow_private_network(true);
        assert!(open.check_url("http://10.0.0.1:80").is_ok());
        assert!(open.check_addr("x", "10.0.0.1".parse().unwrap()).is_ok());
    }
}
