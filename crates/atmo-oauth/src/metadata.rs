//! Authorization server and protected resource metadata (RFC 8414, RFC 9728), parsed
//! with a size bound and checked against the atproto OAuth profile.

use serde::{Deserialize, Serialize};

use crate::error::{MetadataError, clip};

/// Largest metadata document accepted.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;

/// The origin (`scheme://host[:port]`) of an http(s) URL, if it has one.
pub(crate) fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    if !matches!(u.scheme(), "https" | "http") {
        return None;
    }
    let o = u.origin();
    o.is_tuple().then(|| o.ascii_serialization())
}

/// Whether a host is loopback (`localhost`, `127.0.0.1`, `[::1]`), where plain http is
/// accepted in metadata (the connect policy still decides whether it is reached).
fn is_loopback_host(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Checks that `url` is an https URL (or http on loopback), returns it parsed.
fn check_url(field: &'static str, url: &str) -> Result<url::Url, MetadataError> {
    let bad = |reason| MetadataError::Endpoint {
        field,
        url: clip(url, 256),
        reason,
    };
    let u = url::Url::parse(url).map_err(|_| bad("not a URL"))?;
    match u.scheme() {
        "https" => {}
        "http" if is_loopback_host(&u) => {}
        _ => return Err(bad("must be https")),
    }
    if u.host().is_none() || !u.username().is_empty() || u.password().is_some() {
        return Err(bad("needs a host and no credentials"));
    }
    if u.fragment().is_some() {
        return Err(bad("must have no fragment"));
    }
    Ok(u)
}

/// Checks that `url` is a URL of `field` on the issuer's origin.
fn check_same_origin(field: &'static str, url: &str, issuer: &str) -> Result<(), MetadataError> {
    let u = check_url(field, url)?;
    if u.origin().ascii_serialization() != issuer {
        return Err(MetadataError::Endpoint {
            field,
            url: clip(url, 256),
            reason: "not on the issuer's origin",
        });
    }
    Ok(())
}

/// Checks that `issuer` is a bare origin and equals `expected` (the origin it was
/// fetched from, or the one a protected resource named).
pub(crate) fn check_issuer(issuer: &str, expected: &str) -> Result<(), MetadataError> {
    let u = check_url("issuer", issuer)?;
    let origin = u.origin().ascii_serialization();
    // RFC 8414 §2: no query or fragment; atproto: the origin alone (a trailing slash is
    // how URL libraries print an empty path, so it is refused as a different string).
    if issuer != origin || issuer != expected {
        return Err(MetadataError::IssuerMismatch {
            expected: clip(expected, 256),
            found: clip(issuer, 256),
        });
    }
    Ok(())
}

/// What an atproto authorization server publishes at
/// `/.well-known/oauth-authorization-server`. Unknown fields are ignored.
///
/// ```
/// use atmo_oauth::AuthorizationServerMetadata;
/// let json = br#"{
///   "issuer": "https://auth.example.com",
///   "authorization_endpoint": "https://auth.example.com/oauth/authorize",
///   "token_endpoint": "https://auth.example.com/oauth/token",
///   "pushed_authorization_request_endpoint": "https://auth.example.com/oauth/par",
///   "require_pushed_authorization_requests": true,
///   "response_types_supported": ["code"],
///   "grant_types_supported": ["authorization_code", "refresh_token"],
///   "code_challenge_methods_supported": ["S256"],
///   "dpop_signing_alg_values_supported": ["ES256"],
///   "scopes_supported": ["atproto", "transition:generic"],
///   "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
///   "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
///   "authorization_response_iss_parameter_supported": true,
///   "client_id_metadata_document_supported": true
/// }"#;
/// let meta = AuthorizationServerMetadata::parse(json, "https://auth.example.com").unwrap();
/// assert_eq!(meta.token_endpoint, "https://auth.example.com/oauth/token");
/// // Fetched from somewhere else: refused.
/// assert!(AuthorizationServerMetadata::parse(json, "https://evil.example.com").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthorizationServerMetadata {
    /// The issuer: an origin, equal to where the document was fetched from.
    pub issuer: String,
    /// Where the user is sent.
    pub authorization_endpoint: String,
    /// Token exchange and refresh.
    pub token_endpoint: String,
    /// Pushed authorization requests (RFC 9126).
    pub pushed_authorization_request_endpoint: String,
    /// Token revocation (RFC 7009), if offered.
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// PAR is required (atproto: must be true).
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// Must contain `code`.
    #[serde(default)]
    pub response_types_supported: Vec<String>,
    /// Must contain `authorization_code` and `refresh_token`.
    #[serde(default)]
    pub grant_types_supported: Vec<String>,
    /// Must contain `S256`.
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    /// Must contain `ES256`.
    #[serde(default)]
    pub dpop_signing_alg_values_supported: Vec<String>,
    /// Must contain `atproto`.
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    /// `none` and/or `private_key_jwt`.
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// Must contain `ES256` when `private_key_jwt` is offered.
    #[serde(default)]
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    /// RFC 9207 (atproto: must be true).
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// Client ID metadata documents (atproto: must be true).
    #[serde(default)]
    pub client_id_metadata_document_supported: bool,
    /// Protected resources this server serves, if listed.
    #[serde(default)]
    pub protected_resources: Vec<String>,
}

fn need(list: &[String], value: &str, field: &'static str) -> Result<(), MetadataError> {
    if list.iter().any(|v| v == value) {
        Ok(())
    } else {
        Err(MetadataError::Field {
            field,
            reason: "lacks a value the atproto profile requires",
        })
    }
}

impl AuthorizationServerMetadata {
    /// Parses (at most [`MAX_METADATA_BYTES`]) and validates a document fetched from
    /// `<issuer>/.well-known/oauth-authorization-server`.
    ///
    /// # Errors
    ///
    /// [`MetadataError`] for malformed JSON, an `issuer` that is not `expected_issuer`,
    /// and every profile rule [`AuthorizationServerMetadata::validate`] checks.
    pub fn parse(bytes: &[u8], expected_issuer: &str) -> Result<Self, MetadataError> {
        if bytes.len() > MAX_METADATA_BYTES {
            return Err(MetadataError::Malformed("larger than 64 KiB".into()));
        }
        let meta: Self = serde_json::from_slice(bytes)
            .map_err(|e| MetadataError::Malformed(clip(&e.to_string(), 256)))?;
        meta.validate(expected_issuer)?;
        Ok(meta)
    }

    /// The atproto profile: issuer is the expected origin; PAR required; `code`;
    /// `authorization_code` and `refresh_token`; S256; ES256 DPoP; the `atproto` scope;
    /// `iss` in responses; client metadata documents; `none` or `private_key_jwt` (with
    /// ES256); https endpoints, with PAR, token and revocation on the issuer's origin.
    ///
    /// # Errors
    ///
    /// The first rule broken.
    pub fn validate(&self, expected_issuer: &str) -> Result<(), MetadataError> {
        check_issuer(&self.issuer, expected_issuer)?;
        let field = |field, reason| MetadataError::Field { field, reason };
        if !self.require_pushed_authorization_requests {
            return Err(field(
                "require_pushed_authorization_requests",
                "must be true",
            ));
        }
        if !self.authorization_response_iss_parameter_supported {
            return Err(field(
                "authorization_response_iss_parameter_supported",
                "must be true",
            ));
        }
        if !self.client_id_metadata_document_supported {
            return Err(field(
                "client_id_metadata_document_supported",
                "must be true",
            ));
        }
        need(
            &self.response_types_supported,
            "code",
            "response_types_supported",
        )?;
        need(
            &self.grant_types_supported,
            "authorization_code",
            "grant_types_supported",
        )?;
        need(
            &self.grant_types_supported,
            "refresh_token",
            "grant_types_supported",
        )?;
        need(
            &self.code_challenge_methods_supported,
            "S256",
            "code_challenge_methods_supported",
        )?;
        need(
            &self.dpop_signing_alg_values_supported,
            "ES256",
            "dpop_signing_alg_values_supported",
        )?;
        need(&self.scopes_supported, "atproto", "scopes_supported")?;
        let methods = &self.token_endpoint_auth_methods_supported;
        if !methods
            .iter()
            .any(|m| m == "none" || m == "private_key_jwt")
        {
            return Err(field(
                "token_endpoint_auth_methods_supported",
                "needs none or private_key_jwt",
            ));
        }
        if methods.iter().any(|m| m == "private_key_jwt") {
            need(
                &self.token_endpoint_auth_signing_alg_values_supported,
                "ES256",
                "token_endpoint_auth_signing_alg_values_supported",
            )?;
        }
        check_url("authorization_endpoint", &self.authorization_endpoint)?;
        check_same_origin("token_endpoint", &self.token_endpoint, &self.issuer)?;
        check_same_origin(
            "pushed_authorization_request_endpoint",
            &self.pushed_authorization_request_endpoint,
            &self.issuer,
        )?;
        if let Some(r) = &self.revocation_endpoint {
            check_same_origin("revocation_endpoint", r, &self.issuer)?;
        }
        Ok(())
    }

    /// Whether the server accepts this client authentication method.
    #[must_use]
    pub fn supports_auth_method(&self, method: &str) -> bool {
        self.token_endpoint_auth_methods_supported
            .iter()
            .any(|m| m == method)
    }
}

/// What a PDS publishes at `/.well-known/oauth-protected-resource` (RFC 9728).
///
/// ```
/// use atmo_oauth::ProtectedResourceMetadata;
/// let json = br#"{"resource":"https://pds.example.com",
///                 "authorization_servers":["https://auth.example.com"]}"#;
/// let prm = ProtectedResourceMetadata::parse(json, "https://pds.example.com").unwrap();
/// assert_eq!(prm.authorization_server(), "https://auth.example.com");
/// assert!(ProtectedResourceMetadata::parse(json, "https://other.example.com").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ProtectedResourceMetadata {
    /// The resource: the PDS origin it was fetched from.
    pub resource: String,
    /// Exactly one authorization server (its issuer) in atproto.
    pub authorization_servers: Vec<String>,
    /// Scopes, if listed.
    #[serde(default)]
    pub scopes_supported: Vec<String>,
}

impl ProtectedResourceMetadata {
    /// Parses (at most [`MAX_METADATA_BYTES`]) and validates: `resource` is the origin it
    /// was fetched from, and there is one authorization server whose issuer is an origin.
    ///
    /// # Errors
    ///
    /// [`MetadataError`] for the first rule broken.
    pub fn parse(bytes: &[u8], expected_resource: &str) -> Result<Self, MetadataError> {
        if bytes.len() > MAX_METADATA_BYTES {
            return Err(MetadataError::Malformed("larger than 64 KiB".into()));
        }
        let meta: Self = serde_json::from_slice(bytes)
            .map_err(|e| MetadataError::Malformed(clip(&e.to_string(), 256)))?;
        check_issuer(&meta.resource, expected_resource)?;
        match meta.authorization_servers.as_slice() {
            [one] => {
                check_url("authorization_servers", one)?;
                if origin_of(one).as_deref() != Some(one.as_str()) {
                    return Err(MetadataError::Field {
                        field: "authorization_servers",
                        reason: "the issuer must be an origin",
                    });
                }
            }
            _ => {
                return Err(MetadataError::Field {
                    field: "authorization_servers",
                    reason: "atproto needs exactly one",
                });
            }
        }
        Ok(meta)
    }

    /// The one authorization server (its issuer URL).
    #[must_use]
    pub fn authorization_server(&self) -> &str {
        self.authorization_servers
            .first()
            .map_or("", String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> serde_json::Value {
        serde_json::json!({
          "issuer": "http://localhost:2583",
          "authorization_endpoint": "http://localhost:2583/oauth/authorize",
          "token_endpoint": "http://localhost:2583/oauth/token",
          "revocation_endpoint": "http://localhost:2583/oauth/revoke",
          "pushed_authorization_request_endpoint": "http://localhost:2583/oauth/par",
          "require_pushed_authorization_requests": true,
          "response_types_supported": ["code"],
          "grant_types_supported": ["authorization_code", "refresh_token"],
          "code_challenge_methods_supported": ["S256", "plain"],
          "dpop_signing_alg_values_supported": ["RS256", "ES256"],
          "scopes_supported": ["atproto", "transition:generic"],
          "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
          "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
          "authorization_response_iss_parameter_supported": true,
          "client_id_metadata_document_supported": true
        })
    }

    fn parse(
        v: &serde_json::Value,
        issuer: &str,
    ) -> Result<AuthorizationServerMetadata, MetadataError> {
        AuthorizationServerMetadata::parse(v.to_string().as_bytes(), issuer)
    }

    #[test]
    fn accepts_the_reference_shape() {
        parse(&good(), "http://localhost:2583").unwrap();
    }

    #[test]
    fn issuer_must_match() {
        let e = parse(&good(), "http://localhost:9999").unwrap_err();
        assert!(matches!(e, MetadataError::IssuerMismatch { .. }), "{e}");
        let mut v = good();
        v["issuer"] = "http://localhost:2583/".into();
        assert!(matches!(
            parse(&v, "http://localhost:2583").unwrap_err(),
            MetadataError::IssuerMismatch { .. }
        ));
    }

    #[test]
    fn profile_rules() {
        let cases: &[(&str, serde_json::Value)] = &[
            ("require_pushed_authorization_requests", false.into()),
            (
                "authorization_response_iss_parameter_supported",
                false.into(),
            ),
            ("client_id_metadata_document_supported", false.into()),
            (
                "dpop_signing_alg_values_supported",
                serde_json::json!(["RS256"]),
            ),
            (
                "code_challenge_methods_supported",
                serde_json::json!(["plain"]),
            ),
            ("scopes_supported", serde_json::json!(["openid"])),
            ("response_types_supported", serde_json::json!(["token"])),
            (
                "grant_types_supported",
                serde_json::json!(["authorization_code"]),
            ),
            (
                "token_endpoint_auth_methods_supported",
                serde_json::json!(["client_secret_basic"]),
            ),
            ("token_endpoint", "http://evil.example.com/token".into()),
            ("token_endpoint", "https://evil.example.com/token".into()),
            (
                "pushed_authorization_request_endpoint",
                "https://other.example/par".into(),
            ),
            ("authorization_endpoint", "javascript:alert(1)".into()),
        ];
        for (field, value) in cases {
            let mut v = good();
            v[*field] = value.clone();
            assert!(
                parse(&v, "http://localhost:2583").is_err(),
                "{field} = {value}"
            );
        }
        let mut v = good();
        v.as_object_mut().unwrap().remove("token_endpoint");
        assert!(parse(&v, "http://localhost:2583").is_err());
        assert!(AuthorizationServerMetadata::parse(b"[]", "x").is_err());
        assert!(AuthorizationServerMetadata::parse(&vec![b' '; 70_000], "x").is_err());
    }

    #[test]
    fn http_only_on_loopback() {
        let mut v = good();
        for f in [
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "pushed_authorization_request_endpoint",
            "revocation_endpoint",
        ] {
            let s = v[f]
                .as_str()
                .unwrap()
                .replace("localhost:2583", "example.com");
            v[f] = s.into();
        }
        assert!(parse(&v, "http://example.com").is_err());
    }

    #[test]
    fn protected_resource() {
        let ok =
            br#"{"resource":"http://localhost:1","authorization_servers":["http://localhost:2"]}"#;
        let p = ProtectedResourceMetadata::parse(ok, "http://localhost:1").unwrap();
        assert_eq!(p.authorization_server(), "http://localhost:2");
        for bad in [
            &br#"{"resource":"http://localhost:1","authorization_servers":[]}"#[..],
            br#"{"resource":"http://localhost:1","authorization_servers":["a","b"]}"#,
            br#"{"resource":"http://localhost:1","authorization_servers":["http://localhost:2/x"]}"#,
            br#"{"resource":"http://localhost:3","authorization_servers":["http://localhost:2"]}"#,
            br#"{"resource":1}"#,
        ] {
            assert!(ProtectedResourceMetadata::parse(bad, "http://localhost:1").is_err());
        }
    }
}
