//! Service auth: the short-lived JWTs one atproto service shows another (a PDS calling a
//! feed generator or labeler on a user's behalf, or any service receiving proxied calls).
//!
//! A token is `header.payload.signature`, base64url without padding: the header names the
//! algorithm (`ES256K` for a secp256k1 key, `ES256` for P-256), the payload carries
//! `iss` (the account's DID, optionally `#service`), `aud` (the receiving service's DID),
//! `exp`, `iat`, `lxm` (the one XRPC method it allows) and a random `jti`; the signature is
//! the 64-byte `r || s` over `header.payload`, made with the issuer's `#atproto` key.
//!
//! - [`create`] signs a token with a key the caller holds (a service's own key, or an
//!   account's key in tests); a signed-in account asks its PDS instead
//!   (`Agent::service_auth`).
//! - [`verify_with_key`] checks a token against a known key (sans-IO);
//!   [`Verifier::verify`] resolves the issuer's key through atmo-identity (the `#atproto`
//!   key, or `#atproto_label` for an issuer `did#atproto_labeler`), re-resolving once
//!   when the signature fails (a key rotated since the cache filled).
//!
//! ```
//! use std::time::Duration;
//! use atmo::crypto::{Curve, Keypair};
//! use atmo::service_auth::{self, Expect, Options};
//! use atmo::syntax::{Did, Nsid};
//!
//! # fn main() -> Result<(), atmo::Error> {
//! let key = Keypair::generate(Curve::K256)?;
//! let iss = Did::new("did:plc:ewvi7nxzyoun6zhxrhs64oiz").expect("valid DID");
//! let lxm = Nsid::new("app.bsky.feed.getFeedSkeleton").expect("valid NSID");
//! let token = service_auth::create(&key, &Options::new(iss.as_str(), "did:web:feed.example")
//!     .lxm(lxm.clone()).ttl(Duration::from_secs(60)))?;
//!
//! let claims = service_auth::verify_with_key(&token, &key.public_key(),
//!     &Expect::new("did:web:feed.example").lxm(lxm))?;
//! assert_eq!(claims.iss, iss.as_str());
//!
//! let wrong = Expect::new("did:web:other.example");
//! assert!(service_auth::verify_with_key(&token, &key.public_key(), &wrong).is_err());
//! # Ok(()) }
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use atmo_crypto::{Curve, Keypair, PublicKey};
use atmo_syntax::{Did, Nsid};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, TokenProblem};

/// How long a token lives when the caller does not say: one minute, as the reference
/// implementation does.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);
/// The clock skew a verifier tolerates on `exp` and `iat` by default.
pub const DEFAULT_SKEW: Duration = Duration::from_secs(30);
/// The longest token accepted by a verifier (bytes), so a hostile header cannot make it
/// decode megabytes.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// A token's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Claims {
    /// The issuer: a DID, optionally with a `#service` fragment.
    pub iss: String,
    /// The audience: the receiving service's DID (optionally with a `#service` fragment).
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// The XRPC method the token allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lxm: Option<String>,
    /// A unique token id (for replay checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

impl Claims {
    /// The issuer's DID (without a `#service` fragment).
    ///
    /// # Errors
    ///
    /// [`Error::Token`] with [`TokenProblem::Issuer`] when it is not a DID.
    pub fn issuer_did(&self) -> Result<Did> {
        let did = self
            .iss
            .split_once('#')
            .map_or(self.iss.as_str(), |(d, _)| d);
        Did::new(did).map_err(|_| Error::Token(TokenProblem::Issuer(self.iss.clone())))
    }

    /// The fragment of the verification method that signs for this issuer:
    /// `atproto_label` for `did#atproto_labeler`, `atproto` otherwise.
    #[must_use]
    pub fn key_fragment(&self) -> &'static str {
        match self.iss.split_once('#') {
            Some((_, "atproto_labeler")) => "atproto_label",
            _ => "atproto",
        }
    }
}

/// What to put in a new token.
#[derive(Debug, Clone)]
pub struct Options {
    iss: String,
    aud: String,
    lxm: Option<Nsid>,
    ttl: Duration,
    now: Option<SystemTime>,
}

impl Options {
    /// A token from `iss` for `aud`, valid for [`DEFAULT_TTL`], for any method.
    pub fn new(iss: impl Into<String>, aud: impl Into<String>) -> Self {
        Self {
            iss: iss.into(),
            aud: aud.into(),
            lxm: None,
            ttl: DEFAULT_TTL,
            now: None,
        }
    }

    /// Restricts the token to one XRPC method.
    #[must_use]
    pub fn lxm(mut self, lxm: Nsid) -> Self {
        self.lxm = Some(lxm);
        self
    }

    /// How long the token lives.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Issues the token as of this time instead of now (tests of expiry).
    #[must_use]
    pub fn issued_at(mut self, now: SystemTime) -> Self {
        self.now = Some(now);
        self
    }
}

/// What a verifier expects of a token.
#[derive(Debug, Clone)]
pub struct Expect {
    aud: String,
    lxm: Option<Option<Nsid>>,
    skew: Duration,
    now: Option<SystemTime>,
}

impl Expect {
    /// Tokens for the service `aud` (its DID, or `did#service` when the service is named
    /// that way in tokens); the `lxm` is not checked unless [`Expect::lxm`] is called.
    pub fn new(aud: impl Into<String>) -> Self {
        Self {
            aud: aud.into(),
            lxm: None,
            skew: DEFAULT_SKEW,
            now: None,
        }
    }

    /// The method being called: the token's `lxm` must name it.
    #[must_use]
    pub fn lxm(mut self, lxm: Nsid) -> Self {
        self.lxm = Some(Some(lxm));
        self
    }

    /// The clock skew tolerated on `exp` and `iat`.
    #[must_use]
    pub fn skew(mut self, skew: Duration) -> Self {
        self.skew = skew;
        self
    }

    /// Checks as of this time instead of now.
    #[must_use]
    pub fn at(mut self, now: SystemTime) -> Self {
        self.now = Some(now);
        self
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
    alg: String,
}

fn epoch_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

fn alg_of(curve: Curve) -> &'static str {
    match curve {
        Curve::K256 => "ES256K",
        Curve::P256 => "ES256",
    }
}

fn random_jti() -> Result<String> {
    use atmo_crypto::p256::elliptic_curve::rand_core::{OsRng, RngCore as _};
    let mut bytes = [0u8; 16];
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| atmo_crypto::Error::Randomness {
            reason: e.to_string(),
        })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn json_b64<T: Serialize>(value: &T) -> Result<String> {
    let json = serde_json::to_vec(value).map_err(|e| Error::Record {
        nsid: "service auth",
        message: e.to_string(),
    })?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

/// Creates a token signed by `key`.
///
/// # Errors
///
/// [`Error::Sign`] if signing fails.
pub fn create(key: &Keypair, options: &Options) -> Result<String> {
    let now = epoch_secs(options.now.unwrap_or_else(SystemTime::now));
    let ttl = i64::try_from(options.ttl.as_secs()).unwrap_or(i64::MAX);
    let claims = Claims {
        iss: options.iss.clone(),
        aud: options.aud.clone(),
        exp: now.saturating_add(ttl),
        iat: Some(now),
        lxm: options.lxm.as_ref().map(|n| n.as_str().to_owned()),
        jti: Some(random_jti()?),
    };
    let header = Header {
        typ: Some("JWT".to_owned()),
        alg: alg_of(key.curve()).to_owned(),
    };
    let signing_input = format!("{}.{}", json_b64(&header)?, json_b64(&claims)?);
    let sig = key.sign(signing_input.as_bytes())?;
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

/// A token split and decoded, its signature not yet checked.
#[derive(Debug, Clone)]
pub struct Unverified {
    alg: String,
    claims: Claims,
    signing_input: String,
    signature: Vec<u8>,
}

impl Unverified {
    /// Splits and decodes a token; checks only its shape.
    ///
    /// # Errors
    ///
    /// [`Error::Token`]: [`TokenProblem::Malformed`] for anything that is not three
    /// base64url parts with JSON of the right shape, [`TokenProblem::WrongType`] for an
    /// access, refresh or DPoP token.
    pub fn parse(token: &str) -> Result<Self> {
        let bad = |what| Error::Token(TokenProblem::Malformed(what));
        if token.len() > MAX_TOKEN_LEN {
            return Err(bad("longer than 8 KiB"));
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("not three dot-separated parts"));
        };
        let header = URL_SAFE_NO_PAD
            .decode(h)
            .map_err(|_| bad("header is not base64url"))?;
        let header: Header = serde_json::from_slice(&header)
            .map_err(|_| bad("header is not a JSON object with alg"))?;
        if let Some(typ) = &header.typ
            && matches!(typ.as_str(), "at+jwt" | "refresh+jwt" | "dpop+jwt")
        {
            return Err(Error::Token(TokenProblem::WrongType(typ.clone())));
        }
        let payload = URL_SAFE_NO_PAD
            .decode(p)
            .map_err(|_| bad("payload is not base64url"))?;
        let claims: Claims = serde_json::from_slice(&payload)
            .map_err(|_| bad("payload lacks string iss/aud and integer exp"))?;
        let signature = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| bad("signature is not base64url"))?;
        Ok(Self {
            alg: header.alg,
            signing_input: format!("{h}.{p}"),
            claims,
            signature,
        })
    }

    /// The claims, unchecked.
    #[must_use]
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// Checks the claims (not the signature) against `expect`.
    ///
    /// # Errors
    ///
    /// [`Error::Token`] with the first claim that does not hold.
    pub fn check_claims(&self, expect: &Expect) -> Result<()> {
        let c = &self.claims;
        let now = epoch_secs(expect.now.unwrap_or_else(SystemTime::now));
        let skew = i64::try_from(expect.skew.as_secs()).unwrap_or(i64::MAX);
        if now > c.exp.saturating_add(skew) {
            return Err(Error::Token(TokenProblem::Expired { exp: c.exp, now }));
        }
        if let Some(iat) = c.iat
            && iat > now.saturating_add(skew)
        {
            return Err(Error::Token(TokenProblem::NotYetValid { iat, now }));
        }
        if c.aud != expect.aud {
            return Err(Error::Token(TokenProblem::Audience {
                expected: expect.aud.clone(),
                found: c.aud.clone(),
            }));
        }
        if let Some(Some(lxm)) = &expect.lxm
            && c.lxm.as_deref() != Some(lxm.as_str())
        {
            return Err(Error::Token(TokenProblem::Method {
                expected: lxm.as_str().to_owned(),
                found: c.lxm.clone(),
            }));
        }
        c.issuer_did()?;
        if let Some((_, fragment)) = c.iss.split_once('#')
            && (fragment.is_empty() || fragment.contains('#'))
        {
            return Err(Error::Token(TokenProblem::Issuer(c.iss.clone())));
        }
        Ok(())
    }

    /// Checks the signature with `key` (high-S signatures are tolerated, as the
    /// reference implementation does for tokens).
    ///
    /// # Errors
    ///
    /// [`TokenProblem::Algorithm`] when `alg` does not match the key's curve,
    /// [`TokenProblem::Signature`] when the signature does not verify.
    pub fn check_signature(&self, key: &PublicKey) -> Result<()> {
        if self.alg != alg_of(key.curve()) {
            return Err(Error::Token(TokenProblem::Algorithm(self.alg.clone())));
        }
        key.verify_lax(self.signing_input.as_bytes(), &self.signature)
            .map_err(|_| Error::Token(TokenProblem::Signature))
    }
}

/// Verifies a token against a known key: its shape, claims and signature.
///
/// # Errors
///
/// [`Error::Token`] with the reason.
pub fn verify_with_key(token: &str, key: &PublicKey, expect: &Expect) -> Result<Claims> {
    let t = Unverified::parse(token)?;
    t.check_claims(expect)?;
    t.check_signature(key)?;
    Ok(t.claims)
}

/// A replay check: remembers token ids until they expire.
pub trait ReplayCache: Send + Sync + std::fmt::Debug {
    /// Records `jti` (valid until `exp`); returns false if it was already there.
    fn check_and_insert(&self, jti: &str, exp: i64) -> bool;
}

/// An in-memory [`ReplayCache`] for one process, bounded in size: expired ids are
/// dropped first; past the bound the oldest-expiring go.
#[derive(Debug)]
pub struct MemoryReplayCache {
    seen: std::sync::Mutex<std::collections::HashMap<String, i64>>,
    max: usize,
}

impl MemoryReplayCache {
    /// A cache of at most `max` ids.
    #[must_use]
    pub fn new(max: usize) -> Self {
        Self {
            seen: std::sync::Mutex::new(std::collections::HashMap::new()),
            max: max.max(1),
        }
    }
}

impl Default for MemoryReplayCache {
    fn default() -> Self {
        Self::new(100_000)
    }
}

impl ReplayCache for MemoryReplayCache {
    fn check_and_insert(&self, jti: &str, exp: i64) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return false;
        };
        if seen.contains_key(jti) {
            return false;
        }
        if seen.len() >= self.max {
            let now = epoch_secs(SystemTime::now());
            seen.retain(|_, e| *e >= now);
            while seen.len() >= self.max {
                let Some(oldest) = seen.iter().min_by_key(|(_, e)| **e).map(|(k, _)| k.clone())
                else {
                    break;
                };
                seen.remove(&oldest);
            }
        }
        seen.insert(jti.to_owned(), exp);
        true
    }
}

/// Verifies tokens for one service, resolving each issuer's key through atmo-identity.
#[derive(Debug, Clone)]
pub struct Verifier {
    resolver: atmo_identity::Resolver,
    replay: Option<std::sync::Arc<dyn ReplayCache>>,
}

impl Verifier {
    /// A verifier resolving keys with `resolver` (its cache is shared).
    #[must_use]
    pub fn new(resolver: atmo_identity::Resolver) -> Self {
        Self {
            resolver,
            replay: None,
        }
    }

    /// Refuses a token whose `jti` this cache has seen (a token without `jti` is then
    /// refused too).
    #[must_use]
    pub fn replay_cache(mut self, cache: std::sync::Arc<dyn ReplayCache>) -> Self {
        self.replay = Some(cache);
        self
    }

    /// Verifies a token: shape, claims against `expect`, the signature with the issuer's
    /// key (re-resolved once if it fails), then the replay cache.
    ///
    /// # Errors
    ///
    /// [`Error::Token`] with the reason; [`Error::Identity`] when the issuer's DID
    /// document cannot be resolved or has no usable key.
    pub async fn verify(&self, token: &str, expect: &Expect) -> Result<Claims> {
        let t = Unverified::parse(token)?;
        t.check_claims(expect)?;
        let did = t.claims.issuer_did()?;
        let fragment = t.claims.key_fragment();
        let key = self
            .resolver
            .resolve_did(&did)
            .await?
            .verification_key(fragment)?;
        if t.check_signature(&key).is_err() {
            self.resolver.invalidate_did(&did);
            let fresh = self
                .resolver
                .resolve_did(&did)
                .await?
                .verification_key(fragment)?;
            t.check_signature(&fresh)?;
        }
        if let Some(cache) = &self.replay {
            let jti = t.claims.jti.clone().unwrap_or_default();
            if jti.is_empty() || !cache.check_and_insert(&jti, t.claims.exp) {
                return Err(Error::Token(TokenProblem::Replayed(jti)));
            }
        }
        Ok(t.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Keypair {
        Keypair::generate(Curve::K256).unwrap()
    }

    fn opts() -> Options {
        Options::new("did:plc:ewvi7nxzyoun6zhxrhs64oiz", "did:web:svc.example")
    }

    fn problem(r: Result<Claims>) -> TokenProblem {
        match r {
            Err(Error::Token(p)) => p,
            other => panic!("expected a token problem, got {other:?}"),
        }
    }

    #[test]
    fn round_trip_both_curves() {
        for curve in [Curve::K256, Curve::P256] {
            let k = Keypair::generate(curve).unwrap();
            let lxm = Nsid::new("app.bsky.feed.getFeedSkeleton").unwrap();
            let t = create(&k, &opts().lxm(lxm.clone())).unwrap();
            let c = verify_with_key(
                &t,
                &k.public_key(),
                &Expect::new("did:web:svc.example").lxm(lxm),
            )
            .unwrap();
            assert_eq!(c.lxm.as_deref(), Some("app.bsky.feed.getFeedSkeleton"));
            assert_eq!(c.jti.as_deref().map(str::len), Some(32));
            assert_eq!(c.exp - c.iat.unwrap(), 60);
        }
    }

    #[test]
    fn every_refusal_has_its_reason() {
        let k = key();
        let expect = || Expect::new("did:web:svc.example");
        let t = create(&k, &opts()).unwrap();
        let other = key();
        assert_eq!(
            problem(verify_with_key(&t, &other.public_key(), &expect())),
            TokenProblem::Signature
        );
        let p256 = Keypair::generate(Curve::P256).unwrap();
        assert!(matches!(
            problem(verify_with_key(&t, &p256.public_key(), &expect())),
            TokenProblem::Algorithm(a) if a == "ES256K"
        ));
        assert!(matches!(
            problem(verify_with_key(
                &t,
                &k.public_key(),
                &Expect::new("did:web:x")
            )),
            TokenProblem::Audience { .. }
        ));
        let lxm = Nsid::new("com.example.method").unwrap();
        assert_eq!(
            problem(verify_with_key(&t, &k.public_key(), &expect().lxm(lxm))),
            TokenProblem::Method {
                expected: "com.example.method".into(),
                found: None
            }
        );
        let old = SystemTime::now() - Duration::from_secs(3600);
        let stale = create(&k, &opts().issued_at(old)).unwrap();
        assert!(matches!(
            problem(verify_with_key(&stale, &k.public_key(), &expect())),
            TokenProblem::Expired { .. }
        ));
        let future = SystemTime::now() + Duration::from_secs(3600);
        let early = create(&k, &opts().issued_at(future)).unwrap();
        assert!(matches!(
            problem(verify_with_key(&early, &k.public_key(), &expect())),
            TokenProblem::NotYetValid { .. }
        ));
        // A changed payload breaks the signature.
        let mut parts: Vec<&str> = t.split('.').collect();
        let forged = json_b64(&Claims {
            iss: "did:plc:ewvi7nxzyoun6zhxrhs64oiz".into(),
            aud: "did:web:svc.example".into(),
            exp: i64::MAX / 2,
            iat: None,
            lxm: None,
            jti: None,
        })
        .unwrap();
        parts[1] = &forged;
        assert_eq!(
            problem(verify_with_key(
                &parts.join("."),
                &k.public_key(),
                &expect()
            )),
            TokenProblem::Signature
        );
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.e30.AA",
            &"x".repeat(MAX_TOKEN_LEN + 1),
        ] {
            assert!(matches!(
                problem(verify_with_key(bad, &k.public_key(), &expect())),
                TokenProblem::Malformed(_)
            ));
        }
        let dpop = format!(
            "{}.{}.AA",
            json_b64(&Header {
                typ: Some("dpop+jwt".into()),
                alg: "ES256".into()
            })
            .unwrap(),
            parts[1]
        );
        assert!(matches!(
            problem(verify_with_key(&dpop, &k.public_key(), &expect())),
            TokenProblem::WrongType(_)
        ));
        let not_did = create(&k, &Options::new("alice.test", "did:web:svc.example")).unwrap();
        assert!(matches!(
            problem(verify_with_key(&not_did, &k.public_key(), &expect())),
            TokenProblem::Issuer(_)
        ));
    }

    #[test]
    fn labeler_issuers_use_the_label_key() {
        let c = |iss: &str| Claims {
            iss: iss.into(),
            aud: String::new(),
            exp: 0,
            iat: None,
            lxm: None,
            jti: None,
        };
        assert_eq!(
            c("did:plc:abc#atproto_labeler").key_fragment(),
            "atproto_label"
        );
        assert_eq!(c("did:plc:abc").key_fragment(), "atproto");
        assert_eq!(
            c("did:plc:abc#x").issuer_did().unwrap().as_str(),
            "did:plc:abc"
        );
    }

    #[test]
    fn replay_cache_refuses_a_second_use_and_stays_bounded() {
        let cache = MemoryReplayCache::new(2);
        let far = epoch_secs(SystemTime::now()) + 100;
        assert!(cache.check_and_insert("a", far));
        assert!(!cache.check_and_insert("a", far));
        assert!(cache.check_and_insert("b", far + 1));
        assert!(cache.check_and_insert("c", far + 2));
        assert_eq!(cache.seen.lock().unwrap().len(), 2);
    }
}
