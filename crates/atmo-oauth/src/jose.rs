//! The JOSE pieces OAuth needs: base64url, P-256 JWKs with RFC 7638 thumbprints, and
//! compact ES256 JWS.

use atmo_crypto::{Curve, Keypair, PublicKey};
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// base64url without padding.
pub(crate) fn b64u(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// `n` random bytes from the operating system, base64url.
pub(crate) fn random_b64u(n: usize) -> Result<String> {
    use atmo_crypto::p256::elliptic_curve::rand_core::{OsRng, RngCore as _};
    let mut buf = vec![0u8; n];
    OsRng
        .try_fill_bytes(&mut buf)
        .map_err(|e| atmo_crypto::Error::Randomness {
            reason: e.to_string(),
        })?;
    Ok(b64u(&buf))
}

/// The public half of a P-256 key as a JWK (`kty: EC`, `crv: P-256`).
///
/// ```
/// # fn main() -> Result<(), atmo_oauth::Error> {
/// use atmo_oauth::PublicJwk;
/// let key = atmo_crypto::Keypair::generate(atmo_crypto::Curve::P256)?;
/// let jwk = PublicJwk::from_public_key(&key.public_key())?;
/// assert_eq!(jwk.to_json()["crv"], "P-256");
/// assert_eq!(jwk.thumbprint().len(), 43);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicJwk {
    x: String,
    y: String,
}

impl PublicJwk {
    /// The JWK of a P-256 public key.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a key on another curve.
    pub fn from_public_key(key: &PublicKey) -> Result<Self> {
        if key.curve() != Curve::P256 {
            return Err(Error::Config("OAuth keys must be P-256 (ES256)".into()));
        }
        let sec1 = key.to_sec1_uncompressed();
        let (x, y) = match (sec1.get(1..33), sec1.get(33..65)) {
            (Some(x), Some(y)) => (x, y),
            _ => return Err(Error::Config("malformed P-256 point".into())),
        };
        Ok(Self {
            x: b64u(x),
            y: b64u(y),
        })
    }

    /// From base64url coordinates, as found in a JWK.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] unless they are a point on P-256.
    pub fn from_coordinates(x: &str, y: &str) -> Result<Self> {
        let dec = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s);
        let (Ok(xb), Ok(yb)) = (dec(x), dec(y)) else {
            return Err(Error::Config("JWK coordinates are not base64url".into()));
        };
        if xb.len() != 32 || yb.len() != 32 {
            return Err(Error::Config("JWK coordinates must be 32 bytes".into()));
        }
        let mut sec1 = Vec::with_capacity(65);
        sec1.push(4);
        sec1.extend_from_slice(&xb);
        sec1.extend_from_slice(&yb);
        PublicKey::from_sec1_bytes(Curve::P256, &sec1)
            .map_err(|_| Error::Config("JWK is not a point on P-256".into()))?;
        Ok(Self {
            x: x.to_owned(),
            y: y.to_owned(),
        })
    }

    /// The JWK as a JSON object (`kty`, `crv`, `x`, `y`).
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "kty": "EC", "crv": "P-256", "x": self.x, "y": self.y })
    }

    /// The RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order,
    /// base64url (the `jkt` of a DPoP-bound token).
    #[must_use]
    pub fn thumbprint(&self) -> String {
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            self.x, self.y
        );
        b64u(&Sha256::digest(canonical.as_bytes()))
    }
}

/// A compact JWS (`header.payload.signature`) signed with ES256 by a P-256 key.
///
/// ```
/// # fn main() -> Result<(), atmo_oauth::Error> {
/// let key = atmo_crypto::Keypair::generate(atmo_crypto::Curve::P256)?;
/// let jws = atmo_oauth::sign_es256(
///     &key,
///     &serde_json::json!({"alg": "ES256", "typ": "JWT"}),
///     &serde_json::json!({"iss": "me"}),
/// )?;
/// assert_eq!(jws.split('.').count(), 3);
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// [`Error::Config`] for a key not on P-256, [`Error::Crypto`] if signing fails.
pub fn sign_es256(
    key: &Keypair,
    header: &serde_json::Value,
    payload: &serde_json::Value,
) -> Result<String> {
    if key.curve() != Curve::P256 {
        return Err(Error::Config("ES256 needs a P-256 key".into()));
    }
    let mut out = b64u(header.to_string().as_bytes());
    out.push('.');
    out.push_str(&b64u(payload.to_string().as_bytes()));
    let sig = key.sign(out.as_bytes())?;
    out.push('.');
    out.push_str(&b64u(&sig));
    Ok(out)
}

/// Seconds since the Unix epoch.
pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9449_thumbprint() {
        // RFC 9449 §4.1 (the proof's jwk) and §6.1 (its jkt).
        let jwk = PublicJwk::from_coordinates(
            "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
            "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
        )
        .unwrap();
        assert_eq!(
            jwk.thumbprint(),
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
        );
    }

    #[test]
    fn es256_verifies() {
        let key = Keypair::generate(Curve::P256).unwrap();
        let jws = sign_es256(
            &key,
            &serde_json::json!({"alg":"ES256"}),
            &serde_json::json!({"a":1}),
        )
        .unwrap();
        let (input, sig) = jws.rsplit_once('.').unwrap();
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sig)
            .unwrap();
        key.public_key().verify(input.as_bytes(), &sig).unwrap();
    }

    #[test]
    fn bad_coordinates() {
        assert!(PublicJwk::from_coordinates("AAAA", "AAAA").is_err());
        assert!(PublicJwk::from_coordinates(&b64u(&[0; 32]), &b64u(&[0; 32])).is_err());
    }
}
