//! The server-side request forgery policy, as this crate reports it.
//!
//! The policy itself lives in [`atmo_http::policy`] and is applied by the shared
//! transport on every connection; this module keeps the address check under this crate's
//! error type for callers that check an address themselves.

use std::net::IpAddr;

use crate::Error;

pub use atmo_http::policy::non_public_reason;

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
    atmo_http::ConnectPolicy::default()
        .allow_private_network(allow_private)
        .check_addr(host, addr)
        .map_err(|e| Error::from_http(host, e))
}
