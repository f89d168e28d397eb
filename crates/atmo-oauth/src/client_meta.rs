//! The client side of the profile: client metadata documents (loopback, public web,
//! confidential) and client authentication (`none`, `private_key_jwt`).

use atmo_crypto::{Curve, Keypair};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, clip};
use crate::jose::{PublicJwk, now_secs, random_b64u, sign_es256};
use crate::metadata::MAX_METADATA_BYTES;
use crate::scope::ScopeSet;

/// `client_assertion_type` for `private_key_jwt` (RFC 7523).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client metadata document, as an app serves it at its `client_id` URL (or, for the
/// loopback client, as the authorization server derives it).
///
/// ```
/// use atmo_oauth::{ClientMetadata, ScopeSet};
/// let meta = ClientMetadata::loopback(&["http://127.0.0.1:8080/callback".into()], &ScopeSet::generic())?;
/// assert_eq!(
///     meta.client_id,
///     "http://localhost?redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fcallback&scope=atproto+transition%3Ageneric"
/// );
/// # Ok::<(), atmo_oauth::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClientMetadata {
    /// The client ID: the URL of this document (or the loopback form).
    pub client_id: String,
    /// `web` or `native`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_type: Option<String>,
    /// Shown to the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// The app's home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    /// Where the user comes back (at least one).
    pub redirect_uris: Vec<String>,
    /// Every scope the client may ask for (must include `atproto`).
    pub scope: String,
    /// `authorization_code` and `refresh_token`.
    pub grant_types: Vec<String>,
    /// `code`.
    pub response_types: Vec<String>,
    /// `none` (public) or `private_key_jwt` (confidential).
    pub token_endpoint_auth_method: String,
    /// `ES256` for `private_key_jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_signing_alg: Option<String>,
    /// Must be true.
    pub dpop_bound_access_tokens: bool,
    /// The JWKS URL of a confidential client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// An inline JWKS of a confidential client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
}

/// Whether `host` is a name the atproto OAuth profile treats as local, never a public
/// client's: a single label, or one under `.test`, `.local`, `.localhost`, `.invalid` or
/// `.example` (the reference authorization server refuses such `client_id`s and redirect
/// URIs).
fn is_local_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    match host.rsplit_once('.') {
        None => true,
        Some((_, tld)) => matches!(tld, "test" | "local" | "localhost" | "invalid" | "example"),
    }
}

fn loopback_redirect(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|u| {
        u.scheme() == "http"
            && match u.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                _ => false,
            }
    })
}

impl ClientMetadata {
    fn base(client_id: String, redirect_uris: Vec<String>, scope: &ScopeSet) -> Self {
        Self {
            client_id,
            application_type: Some("web".into()),
            client_name: None,
            client_uri: None,
            redirect_uris,
            scope: scope.to_string(),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            response_types: vec!["code".into()],
            token_endpoint_auth_method: "none".into(),
            token_endpoint_auth_signing_alg: None,
            dpop_bound_access_tokens: true,
            jwks_uri: None,
            jwks: None,
        }
    }

    /// The loopback development client: `client_id` is
    /// `http://localhost?redirect_uri=...&scope=...`, redirect URIs are
    /// `http://127.0.0.1[:port]/...` or `http://[::1][:port]/...`, authentication `none`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a redirect URI that is not loopback, or a scope without
    /// `atproto`.
    pub fn loopback(redirect_uris: &[String], scope: &ScopeSet) -> Result<Self> {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for r in redirect_uris {
            q.append_pair("redirect_uri", r);
        }
        q.append_pair("scope", &scope.to_string());
        let meta = Self {
            application_type: Some("native".into()),
            ..Self::base(
                format!("http://localhost?{}", q.finish()),
                redirect_uris.to_vec(),
                scope,
            )
        };
        meta.validate()?;
        Ok(meta)
    }

    /// The loopback client a loopback `client_id` stands for (its `redirect_uri`s and
    /// `scope`), e.g. to restore a stored session of it.
    ///
    /// ```
    /// use atmo_oauth::{ClientMetadata, ScopeSet};
    /// let m = ClientMetadata::loopback(&["http://127.0.0.1:1/callback".into()], &ScopeSet::generic())?;
    /// assert_eq!(ClientMetadata::from_loopback_client_id(&m.client_id)?, m);
    /// # Ok::<(), atmo_oauth::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for anything but a valid loopback `client_id`.
    pub fn from_loopback_client_id(client_id: &str) -> Result<Self> {
        let Some(query) = client_id.strip_prefix("http://localhost?") else {
            return Err(Error::Config("not a loopback client_id".into()));
        };
        let mut redirects = Vec::new();
        let mut scope = None;
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "redirect_uri" => redirects.push(v.into_owned()),
                "scope" => scope = Some(ScopeSet::parse(&v)?),
                _ => return Err(Error::Config("unknown loopback client_id parameter".into())),
            }
        }
        let scope = scope.unwrap_or_else(|| ScopeSet::new().with(crate::scope::Scope::Atproto));
        let meta = Self::loopback(&redirects, &scope)?;
        if meta.client_id != client_id {
            return Err(Error::Config("a loopback client_id in another form".into()));
        }
        Ok(meta)
    }

    /// A public web client whose document the app serves at `client_id` (an https URL).
    ///
    /// ```
    /// use atmo_oauth::{ClientMetadata, ScopeSet};
    /// let meta = ClientMetadata::public_web(
    ///     "https://app.example.com/client-metadata.json",
    ///     &["https://app.example.com/callback".into()],
    ///     &ScopeSet::generic(),
    /// )?;
    /// let json = meta.to_json();
    /// assert_eq!(ClientMetadata::parse(json.as_bytes(), &meta.client_id)?, meta);
    /// # Ok::<(), atmo_oauth::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] as [`ClientMetadata::validate`] says.
    pub fn public_web(client_id: &str, redirect_uris: &[String], scope: &ScopeSet) -> Result<Self> {
        let meta = Self::base(client_id.to_owned(), redirect_uris.to_vec(), scope);
        meta.validate()?;
        Ok(meta)
    }

    /// A confidential client (`private_key_jwt`, ES256) whose keys are published at
    /// `jwks_uri`, or inline from `auth` when `jwks_uri` is `None`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] as [`ClientMetadata::validate`] says, or when `auth` has no key.
    pub fn confidential(
        client_id: &str,
        redirect_uris: &[String],
        scope: &ScopeSet,
        auth: &ClientAuth,
        jwks_uri: Option<&str>,
    ) -> Result<Self> {
        let jwks = auth.jwks()?;
        let meta = Self {
            token_endpoint_auth_method: "private_key_jwt".into(),
            token_endpoint_auth_signing_alg: Some("ES256".into()),
            jwks_uri: jwks_uri.map(str::to_owned),
            jwks: jwks_uri.is_none().then_some(jwks),
            ..Self::base(client_id.to_owned(), redirect_uris.to_vec(), scope)
        };
        meta.validate()?;
        Ok(meta)
    }

    /// Whether this is the loopback development client.
    #[must_use]
    pub fn is_loopback(&self) -> bool {
        self.client_id == "http://localhost" || self.client_id.starts_with("http://localhost?")
    }

    /// The document as JSON (what the app serves at `client_id`).
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Parses (at most 64 KiB) and validates a document fetched from `client_id`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for bad JSON, a `client_id` that is not `expected_client_id`, or
    /// a broken rule.
    pub fn parse(bytes: &[u8], expected_client_id: &str) -> Result<Self> {
        if bytes.len() > MAX_METADATA_BYTES {
            return Err(Error::Config("client metadata larger than 64 KiB".into()));
        }
        let meta: Self = serde_json::from_slice(bytes).map_err(|e| {
            Error::Config(format!("client metadata: {}", clip(&e.to_string(), 256)))
        })?;
        if meta.client_id != expected_client_id {
            return Err(Error::Config(format!(
                "client metadata names client_id {:?}, not {:?}",
                clip(&meta.client_id, 256),
                clip(expected_client_id, 256)
            )));
        }
        meta.validate()?;
        Ok(meta)
    }

    /// The atproto rules: `atproto` scope; `code`; `authorization_code`; DPoP-bound;
    /// loopback clients with loopback redirect URIs and `none`; other clients with an
    /// https `client_id` and https redirect URIs (or a custom scheme for `native`);
    /// `private_key_jwt` with ES256 and keys.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the rule broken.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::Config(m.to_owned()));
        let scope = ScopeSet::parse(&self.scope)?;
        if !scope.has_atproto() {
            return bad("the client's scope must include atproto");
        }
        if !self.dpop_bound_access_tokens {
            return bad("dpop_bound_access_tokens must be true");
        }
        if !self.response_types.iter().any(|r| r == "code") {
            return bad("response_types must include code");
        }
        if !self.grant_types.iter().any(|g| g == "authorization_code") {
            return bad("grant_types must include authorization_code");
        }
        if self.redirect_uris.is_empty() {
            return bad("at least one redirect URI is needed");
        }
        if self.is_loopback() {
            if self.token_endpoint_auth_method != "none" {
                return bad("a loopback client authenticates with none");
            }
            if !self.redirect_uris.iter().all(|r| loopback_redirect(r)) {
                return bad(
                    "loopback redirect URIs are http://127.0.0.1[:port]/... or http://[::1][:port]/...",
                );
            }
            return Ok(());
        }
        let id = url::Url::parse(&self.client_id)
            .map_err(|_| Error::Config("client_id is not a URL".into()))?;
        if id.scheme() != "https" || id.host().is_none() || id.fragment().is_some() {
            return bad("client_id must be an https URL");
        }
        match id.host() {
            Some(url::Host::Domain(d)) if !is_local_name(d) => {}
            Some(url::Host::Domain(_)) => {
                return bad("the client_id's host must be a public name, not a local one");
            }
            _ => return bad("the client_id's host must be a name, not an IP address"),
        }
        if id.path() == "/" || id.path().ends_with('/') || !id.username().is_empty() {
            return bad("client_id must name a document (a path not ending in /, no credentials)");
        }
        for r in &self.redirect_uris {
            let u = url::Url::parse(r).map_err(|_| {
                Error::Config(format!("redirect URI {:?} is not a URL", clip(r, 256)))
            })?;
            let native = self.application_type.as_deref() == Some("native");
            let ok = match u.scheme() {
                "https" => u.host_str().is_some_and(|h| !is_local_name(h)),
                "http" => loopback_redirect(r),
                _ => native && u.scheme().contains('.'),
            };
            if !ok {
                return bad(
                    "redirect URIs must be https (or loopback http, or a reverse-domain scheme for native apps)",
                );
            }
        }
        match self.token_endpoint_auth_method.as_str() {
            "none" => Ok(()),
            "private_key_jwt" => {
                if self.token_endpoint_auth_signing_alg.as_deref() != Some("ES256") {
                    return bad("private_key_jwt needs token_endpoint_auth_signing_alg ES256");
                }
                if self.jwks.is_none() == self.jwks_uri.is_none() {
                    return bad("private_key_jwt needs exactly one of jwks and jwks_uri");
                }
                Ok(())
            }
            _ => bad("token_endpoint_auth_method must be none or private_key_jwt"),
        }
    }
}

/// How the client authenticates at the token, PAR and revocation endpoints.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum ClientAuth {
    /// A public client (`none`).
    #[default]
    None,
    /// A confidential client signing `client_assertion`s with an ES256 key.
    PrivateKeyJwt {
        /// The P-256 signing key.
        key: Keypair,
        /// Its `kid` in the JWKS.
        kid: String,
    },
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("ClientAuth::None"),
            Self::PrivateKeyJwt { kid, .. } => f
                .debug_struct("ClientAuth::PrivateKeyJwt")
                .field("kid", kid)
                .finish_non_exhaustive(),
        }
    }
}

impl ClientAuth {
    /// `private_key_jwt` with a P-256 key.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a key on another curve.
    pub fn private_key_jwt(key: Keypair, kid: impl Into<String>) -> Result<Self> {
        if key.curve() != Curve::P256 {
            return Err(Error::Config("private_key_jwt keys must be P-256".into()));
        }
        Ok(Self::PrivateKeyJwt {
            key,
            kid: kid.into(),
        })
    }

    /// The JWKS document of a confidential client (public keys only).
    ///
    /// ```
    /// # fn main() -> Result<(), atmo_oauth::Error> {
    /// let key = atmo_crypto::Keypair::generate(atmo_crypto::Curve::P256)?;
    /// let auth = atmo_oauth::ClientAuth::private_key_jwt(key, "k1")?;
    /// let jwks = auth.jwks()?;
    /// assert_eq!(jwks["keys"][0]["kid"], "k1");
    /// assert!(jwks["keys"][0].get("d").is_none());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a public client (no keys).
    pub fn jwks(&self) -> Result<serde_json::Value> {
        match self {
            Self::None => Err(Error::Config("a public client has no keys".into())),
            Self::PrivateKeyJwt { key, kid } => {
                let mut jwk = PublicJwk::from_public_key(&key.public_key())?.to_json();
                if let Some(o) = jwk.as_object_mut() {
                    o.insert("kid".into(), kid.clone().into());
                    o.insert("use".into(), "sig".into());
                    o.insert("alg".into(), "ES256".into());
                }
                Ok(serde_json::json!({ "keys": [jwk] }))
            }
        }
    }

    /// A `client_assertion` for `audience` (the issuer): `iss` = `sub` = `client_id`,
    /// `aud`, `jti`, `iat`, `exp` one minute later; header `alg` ES256 and `kid`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a public client, [`Error::Crypto`].
    pub fn client_assertion(
        &self,
        client_id: &str,
        audience: &str,
        iat: u64,
        jti: &str,
    ) -> Result<String> {
        match self {
            Self::None => Err(Error::Config("a public client has no keys".into())),
            Self::PrivateKeyJwt { key, kid } => sign_es256(
                key,
                &serde_json::json!({ "alg": "ES256", "typ": "JWT", "kid": kid }),
                &serde_json::json!({
                    "iss": client_id, "sub": client_id, "aud": audience,
                    "jti": jti, "iat": iat, "exp": iat + 60,
                }),
            ),
        }
    }

    /// The form parameters that identify and authenticate the client at an endpoint of
    /// `issuer`: `client_id`, and for `private_key_jwt` a fresh `client_assertion`.
    ///
    /// # Errors
    ///
    /// As [`ClientAuth::client_assertion`].
    pub fn params(&self, client_id: &str, issuer: &str) -> Result<Vec<(&'static str, String)>> {
        let mut out = vec![("client_id", client_id.to_owned())];
        if let Self::PrivateKeyJwt { .. } = self {
            let assertion =
                self.client_assertion(client_id, issuer, now_secs(), &random_b64u(16)?)?;
            out.push(("client_assertion_type", CLIENT_ASSERTION_TYPE.to_owned()));
            out.push(("client_assertion", assertion));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dpop::decode_jwt_payload;

    #[test]
    fn loopback_rules() {
        let scope = ScopeSet::generic();
        let m =
            ClientMetadata::loopback(&["http://127.0.0.1:4000/callback".into()], &scope).unwrap();
        assert!(m.is_loopback());
        assert!(
            ClientMetadata::loopback(&["http://localhost:4000/callback".into()], &scope).is_err()
        );
        assert!(ClientMetadata::loopback(&["https://127.0.0.1/callback".into()], &scope).is_err());
        assert!(ClientMetadata::loopback(&["http://[::1]:4000/cb".into()], &scope).is_ok());
        assert!(ClientMetadata::loopback(&[], &scope).is_err());
        let no_atproto = ScopeSet::parse("transition:generic").unwrap();
        assert!(ClientMetadata::loopback(&["http://127.0.0.1/".into()], &no_atproto).is_err());
    }

    #[test]
    fn web_and_confidential() {
        let scope = ScopeSet::generic();
        let r = vec!["https://app.example.com/cb".to_owned()];
        assert!(ClientMetadata::public_web("http://app.example.com/m.json", &r, &scope).is_err());
        // What the reference authorization server refuses as a client_id.
        for id in [
            "https://127.0.0.1/m.json",
            "https://[::1]/m.json",
            "https://localhost/m.json",
            "https://app.test/m.json",
            "https://app.local/m.json",
            "https://app.example/m.json",
            "https://app.invalid/m.json",
            "https://app.example.com/",
            "https://app.example.com/dir/",
            "https://u:p@app.example.com/m.json",
        ] {
            assert!(ClientMetadata::public_web(id, &r, &scope).is_err(), "{id}");
        }
        assert!(
            ClientMetadata::public_web(
                "https://app.example.com:8443/m.json",
                &["https://app.example.com:8443/cb".into()],
                &scope
            )
            .is_ok()
        );
        assert!(
            ClientMetadata::public_web(
                "https://app.example.com/m.json",
                &["https://app.test/cb".into()],
                &scope
            )
            .is_err()
        );
        assert!(
            ClientMetadata::public_web(
                "https://app.example.com/m.json",
                &["http://app.example.com/cb".into()],
                &scope
            )
            .is_err()
        );
        let key = Keypair::generate(Curve::P256).unwrap();
        let auth = ClientAuth::private_key_jwt(key.clone(), "k1").unwrap();
        let m =
            ClientMetadata::confidential("https://app.example.com/m.json", &r, &scope, &auth, None)
                .unwrap();
        assert_eq!(m.token_endpoint_auth_method, "private_key_jwt");
        assert!(m.jwks.is_some());
        let back = ClientMetadata::parse(m.to_json().as_bytes(), "https://app.example.com/m.json")
            .unwrap();
        assert_eq!(back, m);
        assert!(ClientMetadata::parse(m.to_json().as_bytes(), "https://other/").is_err());
        assert!(ClientAuth::private_key_jwt(Keypair::generate(Curve::K256).unwrap(), "k").is_err());
        assert!(!format!("{auth:?}").contains(&key.to_private_key_hex()));
    }

    #[test]
    fn client_assertion_claims() {
        use base64::Engine as _;
        let key = Keypair::generate(Curve::P256).unwrap();
        let auth = ClientAuth::private_key_jwt(key.clone(), "k1").unwrap();
        let jwt = auth
            .client_assertion("https://app/m.json", "https://issuer", 1000, "j")
            .unwrap();
        let claims = decode_jwt_payload(&jwt).unwrap();
        assert_eq!(claims["iss"], "https://app/m.json");
        assert_eq!(claims["sub"], "https://app/m.json");
        assert_eq!(claims["aud"], "https://issuer");
        assert_eq!(claims["exp"], 1060);
        let header = jwt.split('.').next().unwrap();
        let header: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(header)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["kid"], "k1");
        let (input, sig) = jwt.rsplit_once('.').unwrap();
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sig)
            .unwrap();
        key.public_key().verify(input.as_bytes(), &sig).unwrap();
        let params = auth.params("https://app/m.json", "https://issuer").unwrap();
        assert_eq!(params.len(), 3);
        assert_eq!(ClientAuth::None.params("c", "i").unwrap().len(), 1);
    }
}
