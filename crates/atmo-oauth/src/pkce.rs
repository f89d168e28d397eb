//! PKCE (RFC 7636) with the S256 method, the only one atproto allows.

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::jose::{b64u, random_b64u};

/// A PKCE verifier and its S256 challenge. The verifier is a secret until the token
/// request: `Debug` does not show it.
///
/// ```
/// use atmo_oauth::Pkce;
/// // RFC 7636, Appendix B.
/// let p = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
/// assert_eq!(p.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Pkce {
    verifier: String,
    challenge: String,
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkce")
            .field("challenge", &self.challenge)
            .finish_non_exhaustive()
    }
}

impl Pkce {
    /// A fresh verifier of 32 random bytes (43 characters).
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] when the OS has no randomness.
    pub fn generate() -> Result<Self> {
        Self::from_verifier(&random_b64u(32)?)
    }

    /// From a verifier: 43 to 128 characters of `[A-Za-z0-9-._~]`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for any other verifier.
    pub fn from_verifier(verifier: &str) -> Result<Self> {
        let ok_char = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~');
        if !(43..=128).contains(&verifier.len()) || !verifier.bytes().all(ok_char) {
            return Err(Error::Config(
                "a PKCE verifier is 43 to 128 characters of [A-Za-z0-9-._~]".into(),
            ));
        }
        Ok(Self {
            verifier: verifier.to_owned(),
            challenge: b64u(&Sha256::digest(verifier.as_bytes())),
        })
    }

    /// The verifier (sent with the token request).
    #[must_use]
    pub fn verifier(&self) -> &str {
        &self.verifier
    }

    /// `BASE64URL(SHA256(verifier))` (sent with the authorization request).
    #[must_use]
    pub fn challenge(&self) -> &str {
        &self.challenge
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        let p = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
        assert_eq!(p.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn generated_and_refused() {
        let p = Pkce::generate().unwrap();
        assert_eq!(p.verifier().len(), 43);
        assert!(Pkce::from_verifier("short").is_err());
        assert!(Pkce::from_verifier(&"a".repeat(129)).is_err());
        assert!(Pkce::from_verifier(&format!("{}!", "a".repeat(50))).is_err());
        assert!(!format!("{p:?}").contains(p.verifier()));
    }
}
