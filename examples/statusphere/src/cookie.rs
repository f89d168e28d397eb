//! The session cookie: the signed-in DID, signed with HMAC-SHA-256 so that a browser
//! cannot forge or alter it. It carries no token: the OAuth session stays server-side.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// The cookie's name.
pub const NAME: &str = "statusphere_sid";

/// Signs and checks session cookie values.
#[derive(Clone)]
pub struct CookieKey {
    key: Vec<u8>,
}

impl std::fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieKey(..)")
    }
}

impl CookieKey {
    /// A key from secret bytes (at least 32).
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    fn mac(&self, value: &str) -> Option<Hmac<Sha256>> {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.key).ok()?;
        m.update(NAME.as_bytes());
        m.update(b"=");
        m.update(value.as_bytes());
        Some(m)
    }

    /// `value.signature`.
    pub fn sign(&self, value: &str) -> String {
        let tag = self
            .mac(value)
            .map(|m| URL_SAFE_NO_PAD.encode(m.finalize().into_bytes()))
            .unwrap_or_default();
        format!("{value}.{tag}")
    }

    /// The value of a signed cookie, if its signature holds (checked in constant time).
    pub fn verify<'a>(&self, signed: &'a str) -> Option<&'a str> {
        let (value, tag) = signed.rsplit_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.mac(value)?.verify_slice(&tag).ok()?;
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_values_verify_and_forgeries_do_not() {
        let k = CookieKey::new(vec![7; 32]);
        let s = k.sign("did:web:example.com");
        assert_eq!(k.verify(&s), Some("did:web:example.com"));
        assert_eq!(k.verify("did:plc:someoneelse"), None);
        let forged = s.replace("example", "exbmple");
        assert_eq!(k.verify(&forged), None);
        assert_eq!(CookieKey::new(vec![8; 32]).verify(&s), None);
    }
}
