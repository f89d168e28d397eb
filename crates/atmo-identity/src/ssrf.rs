//! The server-side request forgery policy: which addresses the resolvers refuse to reach.
//!
//! Identity resolution fetches URLs that come from untrusted data (handles, `did:web`
//! host names, PDS endpoints), so by default it only connects to public unicast addresses.
//! The check runs on every address a host name resolves to, after DNS resolution, so a
//! public-looking name that points at `127.0.0.1` is refused too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::Error;

/// Why an address is not public, or `None` for a public unicast address.
///
/// ```
/// use atmo_identity::ssrf::non_public_reason;
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

/// Checks one resolved address of `host` against the policy.
///
/// ```
/// use atmo_identity::ssrf::check_addr;
///
/// assert!(check_addr("localhost", "127.0.0.1".parse().unwrap(), false).is_err());
/// assert!(check_addr("localhost", "127.0.0.1".parse().unwrap(), true).is_ok());
/// ```
///
/// # Errors
///
/// [`Error::Forbidden`] for a non-public address when `allow_private` is false.
pub fn check_addr(host: &str, addr: IpAddr, allow_private: bool) -> Result<(), Error> {
    match non_public_reason(addr) {
        Some(reason) if !allow_private => Err(Error::Forbidden {
            host: crate::error::clip(host, 256),
            addr,
            reason,
        }),
        _ => Ok(()),
    }
}
