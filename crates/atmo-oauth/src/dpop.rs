//! DPoP (RFC 9449): a per-session ES256 key and the proofs it signs.

use atmo_crypto::{Curve, Keypair};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result, clip};
use crate::jose::{PublicJwk, b64u, now_secs, random_b64u, sign_es256};

/// Longest URL a proof is made for.
pub const MAX_HTU_LEN: usize = 2048;

/// A DPoP key: P-256, one per session. `Debug` shows only the thumbprint; the private
/// key leaves only through serde (for a session store, which keeps it private).
///
/// ```
/// # fn main() -> Result<(), atmo_oauth::Error> {
/// use atmo_oauth::DpopKey;
/// let key = DpopKey::generate()?;
/// let proof = key.proof("POST", "https://pds.example.com/oauth/par?x=1", None, None)?;
/// let claims = atmo_oauth::decode_jwt_payload(&proof)?;
/// assert_eq!(claims["htu"], "https://pds.example.com/oauth/par");
/// assert_eq!(claims["htm"], "POST");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct DpopKey {
    key: Keypair,
    jwk: PublicJwk,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopKey")
            .field("jkt", &self.jwk.thumbprint())
            .finish_non_exhaustive()
    }
}

impl PartialEq for DpopKey {
    fn eq(&self, other: &Self) -> bool {
        self.jwk == other.jwk
    }
}

impl Eq for DpopKey {}

impl DpopKey {
    /// A fresh key.
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] when the OS has no randomness.
    pub fn generate() -> Result<Self> {
        Self::from_keypair(Keypair::generate(Curve::P256)?)
    }

    /// A key from a P-256 keypair.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for another curve.
    pub fn from_keypair(key: Keypair) -> Result<Self> {
        let jwk = PublicJwk::from_public_key(&key.public_key())?;
        Ok(Self { key, jwk })
    }

    /// The public JWK (in every proof's header).
    #[must_use]
    pub fn public_jwk(&self) -> &PublicJwk {
        &self.jwk
    }

    /// The RFC 7638 thumbprint (`jkt`) the tokens are bound to.
    #[must_use]
    pub fn thumbprint(&self) -> String {
        self.jwk.thumbprint()
    }

    /// A proof for one request, with a fresh `jti` and the current time as `iat`;
    /// `access_token` adds `ath` (for resource requests).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a URL that cannot be normalised, [`Error::Crypto`].
    pub fn proof(
        &self,
        method: &str,
        url: &str,
        nonce: Option<&str>,
        access_token: Option<&str>,
    ) -> Result<String> {
        self.proof_with(&DpopClaims {
            method,
            url,
            nonce,
            access_token,
            iat: now_secs(),
            jti: &random_b64u(16)?,
        })
    }

    /// A proof with every claim given (for tests and replays of a known proof).
    ///
    /// # Errors
    ///
    /// As [`DpopKey::proof`].
    pub fn proof_with(&self, claims: &DpopClaims<'_>) -> Result<String> {
        let header = serde_json::json!({
            "typ": "dpop+jwt",
            "alg": "ES256",
            "jwk": self.jwk.to_json(),
        });
        let mut payload = serde_json::json!({
            "jti": claims.jti,
            "htm": claims.method,
            "htu": normalize_htu(claims.url)?,
            "iat": claims.iat,
        });
        if let Some(obj) = payload.as_object_mut() {
            if let Some(n) = claims.nonce {
                obj.insert("nonce".into(), n.into());
            }
            if let Some(t) = claims.access_token {
                obj.insert("ath".into(), access_token_hash(t).into());
            }
        }
        sign_es256(&self.key, &header, &payload)
    }

    pub(crate) fn private_key_hex(&self) -> String {
        self.key.to_private_key_hex()
    }

    pub(crate) fn from_private_key_hex(hex: &str) -> Result<Self> {
        let key = Keypair::from_private_key_hex(Curve::P256, hex)
            .map_err(|e| Error::Config(format!("stored DPoP key: {e}")))?;
        Self::from_keypair(key)
    }
}

impl serde::Serialize for DpopKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.private_key_hex())
    }
}

impl<'de> serde::Deserialize<'de> for DpopKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::from_private_key_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// The claims of one DPoP proof.
#[derive(Debug, Clone, Copy)]
pub struct DpopClaims<'a> {
    /// `htm`: the HTTP method.
    pub method: &'a str,
    /// The request URL (`htu` is it without query and fragment).
    pub url: &'a str,
    /// `nonce`: the server's latest `DPoP-Nonce`.
    pub nonce: Option<&'a str>,
    /// The access token, for `ath`.
    pub access_token: Option<&'a str>,
    /// `iat`, seconds since the epoch.
    pub iat: u64,
    /// `jti`, unique per proof.
    pub jti: &'a str,
}

/// The `htu` of a URL: scheme, host (lower case), port unless default, and path; no
/// query, no fragment (RFC 9449 §4.2).
///
/// ```
/// assert_eq!(
///     atmo_oauth::normalize_htu("HTTPS://PDS.Example.com:443/xrpc/a.b.c?x=1#f").unwrap(),
///     "https://pds.example.com/xrpc/a.b.c"
/// );
/// ```
///
/// # Errors
///
/// [`Error::Config`] for a URL that does not parse, is not http(s), or is longer than
/// [`MAX_HTU_LEN`].
pub fn normalize_htu(url: &str) -> Result<String> {
    if url.len() > MAX_HTU_LEN {
        return Err(Error::Config("URL too long for a DPoP proof".into()));
    }
    let mut u = url::Url::parse(url)
        .map_err(|e| Error::Config(format!("bad URL {:?}: {e}", clip(url, 256))))?;
    if !matches!(u.scheme(), "https" | "http") || u.host().is_none() {
        return Err(Error::Config(format!(
            "not an http(s) URL: {:?}",
            clip(url, 256)
        )));
    }
    u.set_query(None);
    u.set_fragment(None);
    Ok(u.into())
}

/// `ath`: base64url of SHA-256 of the access token (RFC 9449 §4.2).
///
/// ```
/// // RFC 9449 §7.1.
/// assert_eq!(
///     atmo_oauth::access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
///     "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
/// );
/// ```
#[must_use]
pub fn access_token_hash(token: &str) -> String {
    b64u(&Sha256::digest(token.as_bytes()))
}

/// The payload of a compact JWS, decoded but not verified (to look at a proof, or at a
/// token's claims for display). At most 16 KiB.
///
/// # Errors
///
/// [`Error::Config`] unless it is three base64url parts with a JSON object in the middle.
pub fn decode_jwt_payload(jwt: &str) -> Result<serde_json::Value> {
    use base64::Engine as _;
    if jwt.len() > 16 * 1024 {
        return Err(Error::Config("JWT larger than 16 KiB".into()));
    }
    let mut parts = jwt.split('.');
    let (Some(_), Some(p), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::Config("not a compact JWS".into()));
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(p)
        .map_err(|_| Error::Config("JWT payload is not base64url".into()))?;
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|_| Error::Config("JWT payload is not JSON".into()))?;
    if !v.is_object() {
        return Err(Error::Config("JWT payload is not an object".into()));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    #[test]
    fn rfc9449_ath() {
        assert_eq!(
            access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }

    #[test]
    fn proof_shape() {
        let key = DpopKey::generate().unwrap();
        let proof = key
            .proof_with(&DpopClaims {
                method: "GET",
                url: "https://Server.Example.COM:443/xrpc/x?y=1#z",
                nonce: Some("n1"),
                access_token: Some("tok"),
                iat: 1_700_000_000,
                jti: "j1",
            })
            .unwrap();
        let mut parts = proof.split('.');
        let header = parts.next().unwrap();
        let header: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(header)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["jwk"]["kty"], "EC");
        assert!(header["jwk"].get("d").is_none());
        let claims = decode_jwt_payload(&proof).unwrap();
        assert_eq!(claims["htu"], "https://server.example.com/xrpc/x");
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["nonce"], "n1");
        assert_eq!(claims["iat"], 1_700_000_000);
        assert_eq!(claims["jti"], "j1");
        assert_eq!(claims["ath"], access_token_hash("tok"));
        // The signature verifies with the key in the header.
        let (input, sig) = proof.rsplit_once('.').unwrap();
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sig)
            .unwrap();
        key.key.public_key().verify(input.as_bytes(), &sig).unwrap();
    }

    #[test]
    fn htu_rules() {
        assert_eq!(
            normalize_htu("http://localhost:2583/oauth/token").unwrap(),
            "http://localhost:2583/oauth/token"
        );
        assert!(normalize_htu("ftp://x/").is_err());
        assert!(normalize_htu("not a url").is_err());
        assert!(normalize_htu(&format!("https://a/{}", "x".repeat(3000))).is_err());
    }

    #[test]
    fn serde_round_trip_and_debug() {
        let key = DpopKey::generate().unwrap();
        let json = serde_json::to_string(&key).unwrap();
        let back: DpopKey = serde_json::from_str(&json).unwrap();
        assert_eq!(key, back);
        assert!(!format!("{key:?}").contains(&key.private_key_hex()));
    }

    #[test]
    fn jwt_payload_refusals() {
        assert!(decode_jwt_payload("a.b").is_err());
        assert!(decode_jwt_payload("a.!!.c").is_err());
        assert!(decode_jwt_payload(&format!("a.{}.c", b64u(b"[1]"))).is_err());
    }
}
