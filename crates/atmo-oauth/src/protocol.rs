//! The sans-IO exchanges: form bodies of PAR, token and revocation requests, the
//! authorization URL, and the parsing and checking of what comes back (error bodies,
//! `WWW-Authenticate`, PAR and token responses, the callback).

use atmo_syntax::Did;
use serde::{Deserialize, Serialize};

use crate::error::{Error, OAuthErrorCode, Result, clip};
use crate::scope::ScopeSet;

/// Largest token or PAR response accepted.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Longest token accepted (access or refresh).
pub const MAX_TOKEN_LEN: usize = 16 * 1024;
/// Longest callback query accepted.
pub const MAX_CALLBACK_LEN: usize = 8 * 1024;

/// `application/x-www-form-urlencoded` of some pairs.
///
/// ```
/// assert_eq!(atmo_oauth::form(&[("a", "b c"), ("d", "e&f")]), "a=b+c&d=e%26f");
/// ```
#[must_use]
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The parameters of a pushed authorization request (RFC 9126) beyond the client's own.
#[derive(Debug, Clone)]
pub struct ParParams<'a> {
    /// Where the user comes back.
    pub redirect_uri: &'a str,
    /// The scopes asked for.
    pub scope: &'a ScopeSet,
    /// The opaque `state`.
    pub state: &'a str,
    /// The PKCE S256 challenge.
    pub code_challenge: &'a str,
    /// The handle or DID the user typed, to prefill the sign-in page.
    pub login_hint: Option<&'a str>,
}

/// The PAR form body: the client's parameters (`client_id`, and its assertion), then
/// `response_type=code`, PKCE S256, `state`, `redirect_uri`, `scope`, `login_hint`.
///
/// ```
/// use atmo_oauth::{ParParams, ScopeSet, par_body};
/// let scope = ScopeSet::generic();
/// let body = par_body(&[("client_id", "c".into())], &ParParams {
///     redirect_uri: "http://127.0.0.1/cb", scope: &scope, state: "s",
///     code_challenge: "ch", login_hint: Some("alice.test"),
/// });
/// assert!(body.contains("code_challenge_method=S256"));
/// assert!(body.contains("login_hint=alice.test"));
/// ```
#[must_use]
pub fn par_body(client: &[(&str, String)], p: &ParParams<'_>) -> String {
    let scope = p.scope.to_string();
    let mut pairs: Vec<(&str, &str)> = client.iter().map(|(k, v)| (*k, v.as_str())).collect();
    pairs.extend([
        ("response_type", "code"),
        ("code_challenge", p.code_challenge),
        ("code_challenge_method", "S256"),
        ("state", p.state),
        ("redirect_uri", p.redirect_uri),
        ("scope", scope.as_str()),
    ]);
    if let Some(h) = p.login_hint {
        pairs.push(("login_hint", h));
    }
    form(&pairs)
}

/// The token request for an authorization code.
#[must_use]
pub fn token_code_body(
    client: &[(&str, String)],
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> String {
    let mut pairs: Vec<(&str, &str)> = client.iter().map(|(k, v)| (*k, v.as_str())).collect();
    pairs.extend([
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ]);
    form(&pairs)
}

/// The token request for a refresh.
#[must_use]
pub fn token_refresh_body(client: &[(&str, String)], refresh_token: &str) -> String {
    let mut pairs: Vec<(&str, &str)> = client.iter().map(|(k, v)| (*k, v.as_str())).collect();
    pairs.extend([
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ]);
    form(&pairs)
}

/// The revocation request (RFC 7009) for one token.
#[must_use]
pub fn revoke_body(client: &[(&str, String)], token: &str) -> String {
    let mut pairs: Vec<(&str, &str)> = client.iter().map(|(k, v)| (*k, v.as_str())).collect();
    pairs.push(("token", token));
    form(&pairs)
}

/// The URL the user is sent to after PAR: the authorization endpoint with `client_id`
/// and `request_uri`.
///
/// ```
/// let u = atmo_oauth::authorization_url("https://a.example/oauth/authorize", "https://c/m.json", "urn:x:1")?;
/// assert_eq!(u, "https://a.example/oauth/authorize?client_id=https%3A%2F%2Fc%2Fm.json&request_uri=urn%3Ax%3A1");
/// # Ok::<(), atmo_oauth::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Config`] for an endpoint that is not a URL.
pub fn authorization_url(endpoint: &str, client_id: &str, request_uri: &str) -> Result<String> {
    let mut u = url::Url::parse(endpoint)
        .map_err(|_| Error::Config(format!("authorization endpoint {:?}", clip(endpoint, 256))))?;
    u.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("request_uri", request_uri);
    Ok(u.into())
}

/// An OAuth error body `{"error", "error_description"}`, if the bytes are one.
///
/// ```
/// use atmo_oauth::{OAuthErrorCode, parse_error_body};
/// let (code, desc) = parse_error_body(br#"{"error":"use_dpop_nonce","error_description":"x"}"#).unwrap();
/// assert_eq!(code, OAuthErrorCode::UseDpopNonce);
/// assert_eq!(desc.as_deref(), Some("x"));
/// ```
#[must_use]
pub fn parse_error_body(bytes: &[u8]) -> Option<(OAuthErrorCode, Option<String>)> {
    #[derive(Deserialize)]
    struct Body {
        error: String,
        #[serde(default)]
        error_description: Option<String>,
    }
    if bytes.len() > MAX_RESPONSE_BYTES {
        return None;
    }
    let b: Body = serde_json::from_slice(bytes).ok()?;
    Some((
        OAuthErrorCode::parse(&b.error),
        b.error_description.map(|d| clip(&d, 512)),
    ))
}

/// The `error` of a `WWW-Authenticate: DPoP ...` (or `Bearer ...`) challenge.
///
/// ```
/// use atmo_oauth::{OAuthErrorCode, www_authenticate_error};
/// assert_eq!(
///     www_authenticate_error(r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#),
///     Some(OAuthErrorCode::UseDpopNonce)
/// );
/// assert_eq!(www_authenticate_error("DPoP algs=\"ES256\""), None);
/// ```
#[must_use]
pub fn www_authenticate_error(value: &str) -> Option<OAuthErrorCode> {
    if value.len() > 4096 {
        return None;
    }
    let (scheme, rest) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("dpop") && !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    // auth-params: name=token or name="quoted", comma-separated.
    let mut rest = rest.trim_start();
    while !rest.is_empty() {
        let (name, after) = rest.split_once('=')?;
        let name = name.trim().trim_start_matches(',').trim();
        let after = after.trim_start();
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"')?;
            (q.get(..end)?, q.get(end + 1..)?)
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after.get(..end)?.trim(), after.get(end..)?)
        };
        if name.eq_ignore_ascii_case("error") {
            return Some(OAuthErrorCode::parse(value));
        }
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    None
}

/// A PAR answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ParResponse {
    /// The handle of the pushed request, for the authorization URL.
    pub request_uri: String,
    /// Seconds it is valid.
    #[serde(default)]
    pub expires_in: Option<u64>,
}

impl ParResponse {
    /// Parses a PAR answer.
    ///
    /// # Errors
    ///
    /// [`Error::Response`] for anything but an object with a short `request_uri`.
    pub fn parse(bytes: &[u8], url: &str) -> Result<Self> {
        if bytes.len() > MAX_RESPONSE_BYTES {
            return Err(Error::response(url, "PAR response too large"));
        }
        let r: Self = serde_json::from_slice(bytes).map_err(|e| {
            Error::response(url, format!("PAR response: {}", clip(&e.to_string(), 200)))
        })?;
        if r.request_uri.is_empty() || r.request_uri.len() > 2048 {
            return Err(Error::response(url, "PAR request_uri empty or too long"));
        }
        Ok(r)
    }
}

/// A token endpoint answer as it came.
#[derive(Deserialize)]
struct RawTokenResponse {
    access_token: String,
    token_type: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    sub: Option<String>,
}

/// The tokens of a session, checked. `Debug` does not show the tokens.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenSet {
    /// The account (`sub`).
    pub sub: Did,
    /// The issuer that issued them.
    pub iss: String,
    /// The access token (DPoP-bound).
    pub access_token: String,
    /// The refresh token, if one was issued.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// The scopes granted.
    pub scope: ScopeSet,
    /// When the access token expires (seconds since the epoch), if said.
    #[serde(default)]
    pub expires_at: Option<u64>,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("sub", &self.sub)
            .field("iss", &self.iss)
            .field("scope", &self.scope)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl TokenSet {
    /// Parses and checks a token response from `iss`, received at `now` (seconds):
    /// `token_type` is `DPoP`, `sub` is a DID (and `expected_sub` when given), the scope
    /// includes `atproto`, the tokens are non-empty and at most [`MAX_TOKEN_LEN`].
    ///
    /// ```
    /// use atmo_oauth::TokenSet;
    /// let body = br#"{"access_token":"a","token_type":"DPoP","refresh_token":"r",
    ///   "scope":"atproto transition:generic","sub":"did:plc:abc","expires_in":60}"#;
    /// let t = TokenSet::from_response(body, "https://auth.example", None, 1000)?;
    /// assert_eq!(t.sub.as_str(), "did:plc:abc");
    /// assert_eq!(t.expires_at, Some(1060));
    /// # Ok::<(), atmo_oauth::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::TokenResponse`] naming the check that failed,
    /// [`Error::SubjectMismatch`] for another account.
    pub fn from_response(
        bytes: &[u8],
        iss: &str,
        expected_sub: Option<&Did>,
        now: u64,
    ) -> Result<Self> {
        let bad = |m: String| Error::TokenResponse(m);
        if bytes.len() > MAX_RESPONSE_BYTES {
            return Err(bad("larger than 64 KiB".into()));
        }
        let r: RawTokenResponse = serde_json::from_slice(bytes).map_err(|e| {
            bad(format!(
                "not a token response: {}",
                clip(&e.to_string(), 200)
            ))
        })?;
        if !r.token_type.eq_ignore_ascii_case("dpop") {
            return Err(bad(format!(
                "token_type is {:?}, not DPoP",
                clip(&r.token_type, 64)
            )));
        }
        if r.access_token.is_empty() || r.access_token.len() > MAX_TOKEN_LEN {
            return Err(bad("access_token empty or too long".into()));
        }
        if let Some(t) = &r.refresh_token
            && (t.is_empty() || t.len() > MAX_TOKEN_LEN)
        {
            return Err(bad("refresh_token empty or too long".into()));
        }
        let sub = r.sub.ok_or_else(|| bad("no sub".into()))?;
        let sub =
            Did::new(&sub).map_err(|_| bad(format!("sub {:?} is not a DID", clip(&sub, 128))))?;
        if let Some(expected) = expected_sub
            && expected != &sub
        {
            return Err(Error::SubjectMismatch {
                expected: expected.clone(),
                found: sub,
            });
        }
        let scope = ScopeSet::parse(r.scope.as_deref().unwrap_or(""))?;
        if !scope.has_atproto() {
            return Err(bad("the granted scope lacks atproto".into()));
        }
        Ok(Self {
            sub,
            iss: iss.to_owned(),
            access_token: r.access_token,
            refresh_token: r.refresh_token,
            scope,
            expires_at: r.expires_in.map(|s| now.saturating_add(s)),
        })
    }

    /// Whether the access token expires within `margin` seconds of `now`.
    #[must_use]
    pub fn expires_within(&self, now: u64, margin: u64) -> bool {
        self.expires_at
            .is_some_and(|e| e <= now.saturating_add(margin))
    }
}

/// The parameters the authorization server sends the user back with.
#[derive(Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CallbackParams {
    /// The authorization code.
    pub code: Option<String>,
    /// The `state` of the request.
    pub state: Option<String>,
    /// The issuer (RFC 9207).
    pub iss: Option<String>,
    /// The error code, when the authorization failed.
    pub error: Option<String>,
    /// The error description.
    pub error_description: Option<String>,
}

impl std::fmt::Debug for CallbackParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackParams")
            .field("state", &self.state)
            .field("iss", &self.iss)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl CallbackParams {
    /// Parses a callback query (with or without the leading `?`; a whole URL is
    /// accepted too). At most [`MAX_CALLBACK_LEN`] bytes; a parameter given twice is
    /// refused.
    ///
    /// ```
    /// let p = atmo_oauth::CallbackParams::parse("?code=c&state=s&iss=https%3A%2F%2Fa.example")?;
    /// assert_eq!(p.iss.as_deref(), Some("https://a.example"));
    /// # Ok::<(), atmo_oauth::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Callback`] for an oversized query or a repeated parameter.
    pub fn parse(query: &str) -> Result<Self> {
        if query.len() > MAX_CALLBACK_LEN {
            return Err(Error::Callback("query too long"));
        }
        let q = match query.split_once('?') {
            Some((_, q)) => q,
            None => query,
        };
        let q = q.split('#').next().unwrap_or_default();
        let mut p = Self::default();
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            let slot = match k.as_ref() {
                "code" => &mut p.code,
                "state" => &mut p.state,
                "iss" => &mut p.iss,
                "error" => &mut p.error,
                "error_description" => &mut p.error_description,
                _ => continue,
            };
            if slot.is_some() {
                return Err(Error::Callback("a parameter given twice"));
            }
            *slot = Some(v.into_owned());
        }
        Ok(p)
    }

    /// The checks that need no state lookup: `iss` present (when the server promised
    /// it) and equal to `issuer`; then an `error` becomes [`Error::AuthorizationFailed`];
    /// else the `code`.
    ///
    /// # Errors
    ///
    /// [`Error::MissingIssuer`], [`Error::IssuerMismatch`], [`Error::AuthorizationFailed`],
    /// [`Error::Callback`] without a code.
    pub fn check(&self, issuer: &str, iss_required: bool) -> Result<&str> {
        match &self.iss {
            Some(i) if i != issuer => {
                return Err(Error::IssuerMismatch {
                    expected: issuer.to_owned(),
                    found: clip(i, 256),
                });
            }
            None if iss_required => return Err(Error::MissingIssuer),
            _ => {}
        }
        if let Some(e) = &self.error {
            return Err(Error::AuthorizationFailed {
                code: OAuthErrorCode::parse(e),
                description: self.error_description.as_deref().map(|d| clip(d, 512)),
            });
        }
        match self.code.as_deref() {
            Some(c) if !c.is_empty() && c.len() <= MAX_TOKEN_LEN => Ok(c),
            _ => Err(Error::Callback("no code")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn www_authenticate() {
        assert_eq!(
            www_authenticate_error(r#"DPoP error="invalid_token", error_description="exp""#),
            Some(OAuthErrorCode::InvalidToken)
        );
        assert_eq!(
            www_authenticate_error(r#"Bearer realm="x", error=invalid_token"#),
            Some(OAuthErrorCode::InvalidToken)
        );
        assert_eq!(www_authenticate_error("Basic realm=\"x\""), None);
        assert_eq!(www_authenticate_error("DPoP error=\"unterminated"), None);
        assert_eq!(www_authenticate_error(""), None);
    }

    #[test]
    fn token_checks() {
        let ok =
            |v: serde_json::Value| TokenSet::from_response(v.to_string().as_bytes(), "i", None, 0);
        let base = serde_json::json!({"access_token":"a","token_type":"DPoP","scope":"atproto","sub":"did:plc:x"});
        ok(base.clone()).unwrap();
        let mut v = base.clone();
        v["token_type"] = "Bearer".into();
        assert!(ok(v).is_err());
        let mut v = base.clone();
        v["sub"] = "alice".into();
        assert!(ok(v).is_err());
        let mut v = base.clone();
        v.as_object_mut().unwrap().remove("sub");
        assert!(ok(v).is_err());
        let mut v = base.clone();
        v["scope"] = "transition:generic".into();
        assert!(ok(v).is_err());
        let mut v = base.clone();
        v["access_token"] = "".into();
        assert!(ok(v).is_err());
        let other = Did::new("did:plc:y").unwrap();
        let e =
            TokenSet::from_response(base.to_string().as_bytes(), "i", Some(&other), 0).unwrap_err();
        assert!(matches!(e, Error::SubjectMismatch { .. }));
        let t = ok(base).unwrap();
        assert!(!format!("{t:?}").contains("\"a\""));
    }

    #[test]
    fn callback_checks() {
        let p = CallbackParams::parse("code=c&state=s&iss=https%3A%2F%2Fa").unwrap();
        assert_eq!(p.check("https://a", true).unwrap(), "c");
        assert!(matches!(
            p.check("https://b", true),
            Err(Error::IssuerMismatch { .. })
        ));
        let p = CallbackParams::parse("code=c&state=s").unwrap();
        assert!(matches!(
            p.check("https://a", true),
            Err(Error::MissingIssuer)
        ));
        assert_eq!(p.check("https://a", false).unwrap(), "c");
        let p = CallbackParams::parse("error=access_denied&state=s&iss=https%3A%2F%2Fa").unwrap();
        assert!(matches!(
            p.check("https://a", true),
            Err(Error::AuthorizationFailed {
                code: OAuthErrorCode::AccessDenied,
                ..
            })
        ));
        assert!(CallbackParams::parse("state=a&state=b").is_err());
        assert!(CallbackParams::parse(&"x".repeat(9000)).is_err());
        let p = CallbackParams::parse("http://127.0.0.1:1/callback?code=c&state=s#frag").unwrap();
        assert_eq!(p.state.as_deref(), Some("s"));
    }

    #[test]
    fn bodies() {
        let client = vec![("client_id", "c".to_owned())];
        let b = token_code_body(&client, "code", "http://127.0.0.1/cb", "v");
        assert_eq!(
            b,
            "client_id=c&grant_type=authorization_code&code=code&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&code_verifier=v"
        );
        assert_eq!(
            token_refresh_body(&client, "r"),
            "client_id=c&grant_type=refresh_token&refresh_token=r"
        );
        assert_eq!(revoke_body(&client, "t"), "client_id=c&token=t");
    }
}
