//! OAuth scopes for atproto: `atproto`, the `transition:` scopes and the granular
//! permission scopes (`repo:`, `rpc:`, `blob:`, `account:`, `identity:`, `include:`), as a
//! typed parser and builder.
//!
//! ```
//! use atmo_oauth::{RepoAction, Scope, ScopeSet};
//! let scopes = ScopeSet::new()
//!     .with(Scope::Atproto)
//!     .with(Scope::repo("app.bsky.feed.post", &[RepoAction::Create])?);
//! assert_eq!(scopes.to_string(), "atproto repo:app.bsky.feed.post?action=create");
//! let back: ScopeSet = scopes.to_string().parse()?;
//! assert_eq!(back, scopes);
//! # Ok::<(), atmo_oauth::ScopeError>(())
//! ```

use std::fmt::{self, Write as _};
use std::str::FromStr;

use atmo_syntax::{Did, Nsid};

use crate::error::{ScopeError, clip};

/// Longest scope string (the whole space-separated list) accepted.
pub const MAX_SCOPE_LEN: usize = 16 * 1024;
/// Most scopes in one list.
pub const MAX_SCOPES: usize = 256;
/// Most values of one repeated parameter (`collection`, `action`, `lxm`, `accept`).
pub const MAX_PARAM_VALUES: usize = 64;

fn err(scope: &str, reason: &'static str) -> ScopeError {
    ScopeError {
        scope: clip(scope, 256),
        reason,
    }
}

/// A repository write the `repo:` scope allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RepoAction {
    /// Create records.
    Create,
    /// Update records.
    Update,
    /// Delete records.
    Delete,
}

impl RepoAction {
    /// All three, in canonical order.
    pub const ALL: [RepoAction; 3] = [Self::Create, Self::Update, Self::Delete];

    /// `create`, `update` or `delete`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }

    /// The action for a string.
    ///
    /// # Errors
    ///
    /// [`ScopeError`] for anything but `create`, `update`, `delete`.
    pub fn parse(s: &str) -> Result<Self, ScopeError> {
        match s {
            "create" => Ok(Self::Create),
            "update" => Ok(Self::Update),
            "delete" => Ok(Self::Delete),
            _ => Err(err(s, "action must be create, update or delete")),
        }
    }
}

/// An NSID or `*` (any).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NsidOrAny {
    /// `*`
    Any,
    /// One NSID.
    Nsid(Nsid),
}

impl NsidOrAny {
    fn parse(s: &str, scope: &str) -> Result<Self, ScopeError> {
        if s == "*" {
            return Ok(Self::Any);
        }
        Nsid::new(s)
            .map(Self::Nsid)
            .map_err(|_| err(scope, "not an NSID or *"))
    }
}

impl fmt::Display for NsidOrAny {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("*"),
            Self::Nsid(n) => f.write_str(n.as_str()),
        }
    }
}

/// `repo:`: record writes in some collections.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoScope {
    /// The collections (sorted, no duplicates, at least one).
    pub collections: Vec<NsidOrAny>,
    /// The actions allowed (sorted, no duplicates, at least one; all three by default).
    pub actions: Vec<RepoAction>,
}

/// `rpc:`: calls of some methods at a service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RpcScope {
    /// The lexicon methods (sorted, no duplicates, at least one).
    pub lxms: Vec<NsidOrAny>,
    /// The service: `*` or a DID with a service fragment (`did:web:api.example#svc`).
    pub aud: String,
}

/// `blob:`: blob uploads of some MIME types.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobScope {
    /// MIME patterns: `type/subtype`, `type/*` or `*/*` (sorted, no duplicates).
    pub accept: Vec<String>,
}

/// What an `account:` scope is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountAttr {
    /// `email`
    Email,
    /// `repo` (whole-repository operations, e.g. import)
    Repo,
    /// `status` (activation)
    Status,
}

/// Read or manage, for `account:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AccountAction {
    /// `read` (the default)
    #[default]
    Read,
    /// `manage`
    Manage,
}

/// What an `identity:` scope allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentityAttr {
    /// `handle`: change the handle.
    Handle,
    /// `*`: any identity change.
    Any,
}

/// One scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// `atproto`: required in every atproto request.
    Atproto,
    /// `transition:generic`: what an app password allows.
    TransitionGeneric,
    /// `transition:chat.bsky`: chat, with `transition:generic`.
    TransitionChatBsky,
    /// `transition:email`: read the account email.
    TransitionEmail,
    /// `repo:...`
    Repo(RepoScope),
    /// `rpc:...`
    Rpc(RpcScope),
    /// `blob:...`
    Blob(BlobScope),
    /// `account:<attr>[?action=manage]`
    Account {
        /// What about the account.
        attr: AccountAttr,
        /// Read or manage.
        action: AccountAction,
    },
    /// `identity:<handle|*>`
    Identity(IdentityAttr),
    /// `include:<nsid>[?aud=...]`: a permission set published as a lexicon.
    Include {
        /// The permission set.
        nsid: Nsid,
        /// The service its `rpc` permissions are for, if given.
        aud: Option<String>,
    },
    /// A scope this crate does not know, kept as it came.
    Other(String),
}

impl Scope {
    /// `repo:<collection>` with some actions (all three when `actions` is empty); At.pm's
    /// `collection_scope('app.bsky.feed.post', 'create')` is
    /// `Scope::repo("app.bsky.feed.post", &[RepoAction::Create])`.
    ///
    /// # Errors
    ///
    /// [`ScopeError`] unless `collection` is an NSID or `*`.
    pub fn repo(collection: &str, actions: &[RepoAction]) -> Result<Self, ScopeError> {
        let c = NsidOrAny::parse(collection, collection)?;
        let mut actions = actions.to_vec();
        if actions.is_empty() {
            actions = RepoAction::ALL.to_vec();
        }
        actions.sort();
        actions.dedup();
        Ok(Self::Repo(RepoScope {
            collections: vec![c],
            actions,
        }))
    }

    /// `rpc:<lxm>?aud=<aud>`.
    ///
    /// # Errors
    ///
    /// [`ScopeError`] unless `lxm` is an NSID or `*` and `aud` is `*` or a DID with a
    /// service fragment.
    pub fn rpc(lxm: &str, aud: &str) -> Result<Self, ScopeError> {
        let l = NsidOrAny::parse(lxm, lxm)?;
        check_aud(aud, aud)?;
        Ok(Self::Rpc(RpcScope {
            lxms: vec![l],
            aud: aud.to_owned(),
        }))
    }

    /// `blob:<mime pattern>`.
    ///
    /// # Errors
    ///
    /// [`ScopeError`] for a pattern that is not `type/subtype`, `type/*` or `*/*`.
    pub fn blob(accept: &str) -> Result<Self, ScopeError> {
        check_mime(accept, accept)?;
        Ok(Self::Blob(BlobScope {
            accept: vec![accept.to_owned()],
        }))
    }

    /// Parses one scope. Unknown resources are kept as [`Scope::Other`]; a known resource
    /// with bad parameters is an error.
    ///
    /// # Errors
    ///
    /// [`ScopeError`] for characters outside RFC 6749's scope-token set, or a malformed
    /// permission scope.
    pub fn parse(s: &str) -> Result<Self, ScopeError> {
        if s.is_empty() {
            return Err(err(s, "empty"));
        }
        if s.len() > 2048 {
            return Err(err(s, "longer than 2048 bytes"));
        }
        // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
        if !s
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
        {
            return Err(err(s, "characters outside the scope-token set"));
        }
        match s {
            "atproto" => return Ok(Self::Atproto),
            "transition:generic" => return Ok(Self::TransitionGeneric),
            "transition:chat.bsky" => return Ok(Self::TransitionChatBsky),
            "transition:email" => return Ok(Self::TransitionEmail),
            _ => {}
        }
        let (head, query) = match s.split_once('?') {
            Some((h, q)) => (h, Some(q)),
            None => (s, None),
        };
        let (resource, positional) = match head.split_once(':') {
            Some((r, p)) => (r, Some(p)),
            None => (head, None),
        };
        if !matches!(
            resource,
            "repo" | "rpc" | "blob" | "account" | "identity" | "include"
        ) {
            return Ok(Self::Other(s.to_owned()));
        }
        let params = parse_query(query.unwrap_or(""), s)?;
        let get_all = |name: &str| -> Vec<&str> {
            params
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .collect()
        };
        let allow_only = |names: &[&str]| -> Result<(), ScopeError> {
            if params.iter().all(|(k, _)| names.contains(&k.as_str())) {
                Ok(())
            } else {
                Err(err(s, "unknown parameter"))
            }
        };
        // The positional value and the same-named parameter are alternatives.
        let positional_or = |name: &str| -> Result<Vec<String>, ScopeError> {
            let mut v: Vec<String> = get_all(name).into_iter().map(str::to_owned).collect();
            match (positional, v.is_empty()) {
                (Some(p), true) => Ok(vec![percent_decode(p, s)?]),
                (Some(_), false) => Err(err(s, "both a positional value and a parameter")),
                (None, _) => {
                    v.truncate(MAX_PARAM_VALUES + 1);
                    Ok(v)
                }
            }
        };
        let one = |name: &str| -> Result<Option<String>, ScopeError> {
            let v = get_all(name);
            match v.as_slice() {
                [] => Ok(None),
                [x] => Ok(Some((*x).to_owned())),
                _ => Err(err(s, "a parameter given twice")),
            }
        };
        match resource {
            "repo" => {
                allow_only(&["collection", "action"])?;
                let cols = positional_or("collection")?;
                let mut collections = bounded(cols, s)?
                    .iter()
                    .map(|c| NsidOrAny::parse(c, s))
                    .collect::<Result<Vec<_>, _>>()?;
                collections.sort();
                collections.dedup();
                let raw_actions = get_all("action");
                if raw_actions.len() > MAX_PARAM_VALUES {
                    return Err(err(s, "too many values"));
                }
                let mut actions = raw_actions
                    .iter()
                    .map(|a| RepoAction::parse(a).map_err(|_| err(s, "unknown repo action")))
                    .collect::<Result<Vec<_>, _>>()?;
                if actions.is_empty() {
                    actions = RepoAction::ALL.to_vec();
                }
                actions.sort();
                actions.dedup();
                Ok(Self::Repo(RepoScope {
                    collections,
                    actions,
                }))
            }
            "rpc" => {
                allow_only(&["lxm", "aud"])?;
                let mut lxms = bounded(positional_or("lxm")?, s)?
                    .iter()
                    .map(|c| NsidOrAny::parse(c, s))
                    .collect::<Result<Vec<_>, _>>()?;
                lxms.sort();
                lxms.dedup();
                let aud = one("aud")?.ok_or_else(|| err(s, "rpc needs aud"))?;
                check_aud(&aud, s)?;
                if aud == "*" && lxms.contains(&NsidOrAny::Any) {
                    return Err(err(s, "rpc:* needs a specific aud"));
                }
                Ok(Self::Rpc(RpcScope { lxms, aud }))
            }
            "blob" => {
                allow_only(&["accept"])?;
                let mut accept = bounded(positional_or("accept")?, s)?;
                for a in &accept {
                    check_mime(a, s)?;
                }
                accept.sort();
                accept.dedup();
                Ok(Self::Blob(BlobScope { accept }))
            }
            "account" => {
                allow_only(&["attr", "action"])?;
                let attr = match positional_or("attr")?.as_slice() {
                    [a] if a == "email" => AccountAttr::Email,
                    [a] if a == "repo" => AccountAttr::Repo,
                    [a] if a == "status" => AccountAttr::Status,
                    _ => return Err(err(s, "account needs one attr: email, repo or status")),
                };
                let action = match one("action")?.as_deref() {
                    None | Some("read") => AccountAction::Read,
                    Some("manage") => AccountAction::Manage,
                    Some(_) => return Err(err(s, "account action must be read or manage")),
                };
                Ok(Self::Account { attr, action })
            }
            "identity" => {
                allow_only(&["attr"])?;
                match positional_or("attr")?.as_slice() {
                    [a] if a == "handle" => Ok(Self::Identity(IdentityAttr::Handle)),
                    [a] if a == "*" => Ok(Self::Identity(IdentityAttr::Any)),
                    _ => Err(err(s, "identity needs one attr: handle or *")),
                }
            }
            _ => {
                allow_only(&["nsid", "aud"])?;
                let nsid = match positional_or("nsid")?.as_slice() {
                    [n] => Nsid::new(n).map_err(|_| err(s, "include needs an NSID"))?,
                    _ => return Err(err(s, "include needs one NSID")),
                };
                let aud = one("aud")?;
                if let Some(a) = &aud {
                    check_aud(a, s)?;
                }
                Ok(Self::Include { nsid, aud })
            }
        }
    }
}

fn bounded(v: Vec<String>, s: &str) -> Result<Vec<String>, ScopeError> {
    if v.is_empty() {
        return Err(err(s, "no value"));
    }
    if v.len() > MAX_PARAM_VALUES {
        return Err(err(s, "too many values"));
    }
    Ok(v)
}

fn check_aud(aud: &str, s: &str) -> Result<(), ScopeError> {
    if aud == "*" {
        return Ok(());
    }
    let (did, fragment) = aud
        .split_once('#')
        .ok_or_else(|| err(s, "aud must be * or a DID with a #service fragment"))?;
    if fragment.is_empty()
        || !fragment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        return Err(err(s, "bad service fragment in aud"));
    }
    Did::new(did).map_err(|_| err(s, "aud is not a DID"))?;
    Ok(())
}

fn check_mime(m: &str, s: &str) -> Result<(), ScopeError> {
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match m.split_once('/') {
        Some(("*", "*")) => Ok(()),
        Some((t, "*")) if token(t) => Ok(()),
        Some((t, st)) if token(t) && token(st) => Ok(()),
        _ => Err(err(s, "MIME pattern must be type/subtype, type/* or */*")),
    }
}

fn parse_query(q: &str, s: &str) -> Result<Vec<(String, String)>, ScopeError> {
    let mut out = Vec::new();
    if q.is_empty() {
        return Ok(out);
    }
    for pair in q.split('&') {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| err(s, "a parameter without ="))?;
        if k.is_empty() || v.is_empty() {
            return Err(err(s, "an empty parameter name or value"));
        }
        if out.len() >= 4 * MAX_PARAM_VALUES {
            return Err(err(s, "too many parameters"));
        }
        out.push((percent_decode(k, s)?, percent_decode(v, s)?));
    }
    Ok(out)
}

fn percent_decode(v: &str, s: &str) -> Result<String, ScopeError> {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| err(s, "bad percent-encoding"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| err(s, "percent-encoding is not UTF-8"))
}

/// Writes a parameter value, percent-encoding what the scope syntax reserves.
fn push_value(out: &mut String, v: &str) {
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:/*+!$'(),;@".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

fn write_multi(
    out: &mut String,
    resource: &str,
    name: &str,
    values: &[String],
    rest: &[(&str, String)],
) {
    out.push_str(resource);
    let mut params: Vec<(&str, &String)> = Vec::new();
    match values {
        [one] => {
            out.push(':');
            push_value(out, one);
        }
        many => params.extend(many.iter().map(|v| (name, v))),
    }
    params.extend(rest.iter().map(|(k, v)| (*k, v)));
    for (i, (k, v)) in params.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        out.push('=');
        push_value(out, v);
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        match self {
            Self::Atproto => out.push_str("atproto"),
            Self::TransitionGeneric => out.push_str("transition:generic"),
            Self::TransitionChatBsky => out.push_str("transition:chat.bsky"),
            Self::TransitionEmail => out.push_str("transition:email"),
            Self::Repo(r) => {
                let cols: Vec<String> = r.collections.iter().map(ToString::to_string).collect();
                let mut actions = r.actions.clone();
                actions.sort();
                actions.dedup();
                let rest: Vec<(&str, String)> = if actions == RepoAction::ALL {
                    Vec::new()
                } else {
                    actions
                        .iter()
                        .map(|a| ("action", a.as_str().to_owned()))
                        .collect()
                };
                write_multi(&mut out, "repo", "collection", &cols, &rest);
            }
            Self::Rpc(r) => {
                let lxms: Vec<String> = r.lxms.iter().map(ToString::to_string).collect();
                write_multi(&mut out, "rpc", "lxm", &lxms, &[("aud", r.aud.clone())]);
            }
            Self::Blob(b) => write_multi(&mut out, "blob", "accept", &b.accept, &[]),
            Self::Account { attr, action } => {
                out.push_str(match attr {
                    AccountAttr::Email => "account:email",
                    AccountAttr::Repo => "account:repo",
                    AccountAttr::Status => "account:status",
                });
                if *action == AccountAction::Manage {
                    out.push_str("?action=manage");
                }
            }
            Self::Identity(IdentityAttr::Handle) => out.push_str("identity:handle"),
            Self::Identity(IdentityAttr::Any) => out.push_str("identity:*"),
            Self::Include { nsid, aud } => {
                let rest: Vec<(&str, String)> = aud.iter().map(|a| ("aud", a.clone())).collect();
                write_multi(&mut out, "include", "nsid", &[nsid.to_string()], &rest);
            }
            Self::Other(s) => out.push_str(s),
        }
        f.write_str(&out)
    }
}

impl FromStr for Scope {
    type Err = ScopeError;
    fn from_str(s: &str) -> Result<Self, ScopeError> {
        Self::parse(s)
    }
}

/// A space-separated list of scopes, in order, without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct ScopeSet(Vec<Scope>);

impl ScopeSet {
    /// No scopes.
    #[must_use]
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// `atproto transition:generic`: what an app password allows.
    #[must_use]
    pub fn generic() -> Self {
        Self(vec![Scope::Atproto, Scope::TransitionGeneric])
    }

    /// This set with one more scope (kept once).
    #[must_use]
    pub fn with(mut self, scope: Scope) -> Self {
        self.insert(scope);
        self
    }

    /// Adds a scope unless it is there.
    pub fn insert(&mut self, scope: Scope) {
        if !self.0.contains(&scope) {
            self.0.push(scope);
        }
    }

    /// Whether the scope is in the set (as written: no implication between scopes).
    #[must_use]
    pub fn contains(&self, scope: &Scope) -> bool {
        self.0.contains(scope)
    }

    /// Whether `atproto` is in the set.
    #[must_use]
    pub fn has_atproto(&self) -> bool {
        self.contains(&Scope::Atproto)
    }

    /// The scopes.
    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    /// The number of scopes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Parses a space-separated list (at most [`MAX_SCOPE_LEN`] bytes and
    /// [`MAX_SCOPES`] scopes).
    ///
    /// # Errors
    ///
    /// [`ScopeError`] for the first scope that does not parse, or a list too long.
    pub fn parse(s: &str) -> Result<Self, ScopeError> {
        if s.len() > MAX_SCOPE_LEN {
            return Err(err(s, "scope list too long"));
        }
        let mut set = Self::new();
        for part in s.split(' ').filter(|p| !p.is_empty()) {
            if set.0.len() >= MAX_SCOPES {
                return Err(err(s, "too many scopes"));
            }
            set.insert(Scope::parse(part)?);
        }
        Ok(set)
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_char(' ')?;
            }
            write!(f, "{s}")?;
        }
        Ok(())
    }
}

impl FromStr for ScopeSet {
    type Err = ScopeError;
    fn from_str(s: &str) -> Result<Self, ScopeError> {
        Self::parse(s)
    }
}

impl serde::Serialize for ScopeSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ScopeSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        let mut set = Self::new();
        for s in iter {
            set.insert(s);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(s: &str) -> String {
        Scope::parse(s).unwrap().to_string()
    }

    #[test]
    fn spec_examples() {
        // From the atproto permission spec's examples.
        assert_eq!(round("repo:app.bsky.feed.post"), "repo:app.bsky.feed.post");
        assert_eq!(
            round("repo:app.bsky.feed.post?action=create&action=update"),
            "repo:app.bsky.feed.post?action=create&action=update"
        );
        assert_eq!(
            round("repo?collection=app.bsky.feed.post&collection=app.bsky.feed.like&action=delete"),
            "repo?collection=app.bsky.feed.like&collection=app.bsky.feed.post&action=delete"
        );
        assert_eq!(round("repo:*"), "repo:*");
        assert_eq!(
            round("rpc:app.bsky.feed.getFeedSkeleton?aud=did:web:feed.example.com%23bsky_fg"),
            "rpc:app.bsky.feed.getFeedSkeleton?aud=did:web:feed.example.com%23bsky_fg"
        );
        assert_eq!(round("blob:image/*"), "blob:image/*");
        assert_eq!(
            round("blob?accept=video/*&accept=image/png"),
            "blob?accept=image/png&accept=video/*"
        );
        assert_eq!(round("account:email"), "account:email");
        assert_eq!(round("account:email?action=read"), "account:email");
        assert_eq!(
            round("account:repo?action=manage"),
            "account:repo?action=manage"
        );
        assert_eq!(round("identity:handle"), "identity:handle");
        assert_eq!(round("identity:*"), "identity:*");
        assert_eq!(
            round("include:app.example.authFull?aud=did:web:api.example.com%23svc"),
            "include:app.example.authFull?aud=did:web:api.example.com%23svc"
        );
    }

    #[test]
    fn typed() {
        let s = Scope::parse("repo:app.bsky.feed.post?action=create").unwrap();
        let Scope::Repo(r) = &s else { panic!() };
        assert_eq!(r.actions, vec![RepoAction::Create]);
        assert_eq!(
            s,
            Scope::repo("app.bsky.feed.post", &[RepoAction::Create]).unwrap()
        );
        let Scope::Rpc(r) = Scope::rpc("*", "did:web:api.bsky.app#bsky_appview").unwrap() else {
            panic!()
        };
        assert_eq!(r.lxms, vec![NsidOrAny::Any]);
        assert_eq!(Scope::parse("atproto").unwrap(), Scope::Atproto);
        assert_eq!(
            Scope::parse("transition:generic").unwrap(),
            Scope::TransitionGeneric
        );
        assert_eq!(
            Scope::parse("transition:later").unwrap(),
            Scope::Other("transition:later".into())
        );
    }

    #[test]
    fn refusals() {
        for bad in [
            "",
            "repo:not an nsid",
            "repo:x",
            "repo:app.bsky.feed.post?action=publish",
            "repo:app.bsky.feed.post?collection=app.bsky.feed.like",
            "repo:app.bsky.feed.post?foo=bar",
            "rpc:app.bsky.feed.getFeed",
            "rpc:*?aud=*",
            "rpc:app.bsky.feed.getFeed?aud=did:web:x",
            "rpc:app.bsky.feed.getFeed?aud=notadid%23x",
            "blob:image",
            "blob:*/png",
            "account:phone",
            "account:email?action=write",
            "identity:email",
            "include:nope",
            "repo:app.bsky.feed.post?action",
            "repo:%zz",
            "quote\"d",
            "back\\slash",
        ] {
            assert!(Scope::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn sets() {
        let set = ScopeSet::parse("atproto  transition:generic atproto").unwrap();
        assert_eq!(set.to_string(), "atproto transition:generic");
        assert_eq!(set, ScopeSet::generic());
        assert!(set.has_atproto());
        assert!(ScopeSet::parse(&"atproto ".repeat(5000)).is_err());
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, "\"atproto transition:generic\"");
    }

    #[test]
    fn print_then_parse_is_identity() {
        for text in [
            "atproto repo:app.bsky.feed.post?action=delete&action=create",
            "blob:image/x^y blob?accept=a/b&accept=a/b",
            "rpc?lxm=a.b.c&lxm=*&aud=did:web:x%23y",
            "repo?collection=a.b.c&collection=a.b.c",
            "repo:%61.b.c?%61ction=create",
            "include:a.b.c",
            "unknown:thing?x=1 transition:later",
            "account:status?action=manage identity:*",
        ] {
            let set = ScopeSet::parse(text).unwrap();
            let shown = set.to_string();
            assert_eq!(ScopeSet::parse(&shown).unwrap(), set, "{text} -> {shown}");
        }
    }
}
