//! The high-level [`Agent`]: the common jobs of apps and bots, one call each.
//!
//! An agent wraps an XRPC client for the account's PDS (signed in with an app password
//! or an OAuth session, or not signed in at all for public reads) and a resolver for
//! handles and DIDs. Records are typed through the generated lexicon types
//! (`atmo::api`), their `Collection` impls naming the collection.
//!
//! ```no_run
//! # async fn demo() -> Result<(), atmo::Error> {
//! use atmo::Agent;
//!
//! let agent = Agent::login("https://pds.example.com", "alice.example.com", "app-password").await?;
//! let post = agent.post("hello from atmo").lang("en").send().await?;
//! agent.like(&post.uri).await?;
//!
//! let profile = agent.update_profile(|p| {
//!     p.description = Some("I post from Rust".into());
//! }).await?;
//! println!("{} {}", post.uri, profile.cid);
//! # Ok(()) }
//! ```

mod blob;
mod facets;
mod post;
mod profile;
mod public;
mod records;

use std::sync::{Arc, OnceLock};

use atmo_identity::{Resolver, ResolverConfig};
use atmo_syntax::{Did, Handle, Nsid};
use atmo_xrpc::{Client, Labeler, PasswordSession, ProxyTarget};

use crate::error::{Error, Result};

pub use self::blob::{ImageInfo, MAX_FILE_BLOB};
pub use self::post::{MAX_IMAGES, MAX_POST_GRAPHEMES, PostBuilder};
pub use self::profile::PROFILE_ATTEMPTS;
pub use self::records::{RepoHead, Write, WriteResult};
pub use atmo_api::records::{Stored, Swap, Written};

/// How the agent is signed in.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Session {
    /// An app-password session (`com.atproto.server.createSession`).
    Password(PasswordSession),
    /// An OAuth session (DPoP-bound tokens).
    #[cfg(feature = "oauth")]
    OAuth(atmo_oauth::OAuthSession),
}

/// A client for one account (or for public reads), with the common jobs as methods.
///
/// Cheap to clone; clones share the connection pool, the session (refreshed as needed)
/// and the resolver's cache.
#[derive(Clone, Debug)]
pub struct Agent {
    client: Client,
    did: Option<Did>,
    handle: Option<Handle>,
    session: Option<Session>,
    resolver: Arc<OnceLock<Resolver>>,
}

impl Agent {
    /// An agent on any XRPC client: signed in as the client's auth's account, if it has
    /// one, or for public reads.
    #[must_use]
    pub fn new(client: Client) -> Self {
        Self {
            did: client.auth().account_did(),
            client,
            handle: None,
            session: None,
            resolver: Arc::new(OnceLock::new()),
        }
    }

    /// Signs in to the PDS (or entryway) at `service` with an app password, under the
    /// default connect policy (https and public addresses only).
    ///
    /// # Errors
    ///
    /// [`Error::Xrpc`]: a refused URL, a failed exchange, `AuthenticationRequired` for a
    /// wrong password.
    pub async fn login(service: &str, identifier: &str, password: &str) -> Result<Self> {
        let client = Client::new(service)?;
        let session = PasswordSession::login(&client, identifier, password).await?;
        Ok(Self::from_password(session).await)
    }

    /// An agent signed in with an app-password session.
    pub async fn from_password(session: PasswordSession) -> Self {
        let data = session.data().await;
        Self {
            client: session.client(),
            did: Some(data.did),
            handle: Some(data.handle),
            session: Some(Session::Password(session)),
            resolver: Arc::new(OnceLock::new()),
        }
    }

    /// An agent signed in with an OAuth session (its handle is not known until
    /// [`Agent::refresh_handle`]).
    ///
    /// # Errors
    ///
    /// [`Error::OAuth`] when the session's PDS URL is refused by the connect policy.
    #[cfg(feature = "oauth")]
    pub fn from_oauth(session: atmo_oauth::OAuthSession) -> Result<Self> {
        let client = session.xrpc_client()?;
        Ok(Self {
            client,
            did: Some(session.did().clone()),
            handle: None,
            session: Some(Session::OAuth(session)),
            resolver: Arc::new(OnceLock::new()),
        })
    }

    /// An agent for public reads from `service` (no account).
    ///
    /// # Errors
    ///
    /// [`Error::Xrpc`] for a URL the connect policy refuses.
    pub fn public(service: &str) -> Result<Self> {
        Ok(Self::new(Client::new(service)?))
    }

    /// This agent resolving handles and DIDs with `resolver` (for mentions, replies to
    /// other repos, public reads); by default one with [`ResolverConfig::default`] is
    /// made on first use.
    #[must_use]
    pub fn with_resolver(mut self, resolver: Resolver) -> Self {
        let cell = OnceLock::new();
        let _ = cell.set(resolver);
        self.resolver = Arc::new(cell);
        self
    }

    /// This agent with every call forwarded by the PDS to another service
    /// (`atproto-proxy`), e.g. the chat service `did:web:api.bsky.chat#bsky_chat`.
    #[must_use]
    pub fn with_proxy(&self, target: ProxyTarget) -> Self {
        let mut a = self.clone();
        a.client = self.client.with_proxy(target);
        a
    }

    /// This agent asking for labels from these labelers (`atproto-accept-labelers`).
    #[must_use]
    pub fn with_labelers(&self, labelers: Vec<Labeler>) -> Self {
        let mut a = self.clone();
        a.client = self.client.with_accept_labelers(labelers);
        a
    }

    /// The signed-in account, if any.
    #[must_use]
    pub fn did(&self) -> Option<&Did> {
        self.did.as_ref()
    }

    /// The signed-in account's handle, when known.
    #[must_use]
    pub fn handle(&self) -> Option<&Handle> {
        self.handle.as_ref()
    }

    /// How the agent is signed in.
    #[must_use]
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// The XRPC client (for typed calls the agent has no method for:
    /// `agent.client().call(params)`).
    #[must_use]
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The resolver.
    ///
    /// # Errors
    ///
    /// [`Error::Identity`] when the default resolver cannot be built.
    pub fn resolver(&self) -> Result<&Resolver> {
        if let Some(r) = self.resolver.get() {
            return Ok(r);
        }
        let made = Resolver::new(ResolverConfig::default())?;
        Ok(self.resolver.get_or_init(|| made))
    }

    /// The signed-in account, or [`Error::NotSignedIn`].
    ///
    /// # Errors
    ///
    /// [`Error::NotSignedIn`] for a public agent.
    pub fn require_did(&self) -> Result<&Did> {
        self.did.as_ref().ok_or(Error::NotSignedIn)
    }

    /// Re-reads the account's handle from its DID document (verified both ways).
    ///
    /// # Errors
    ///
    /// [`Error::NotSignedIn`]; [`Error::Identity`] when resolution fails.
    pub async fn refresh_handle(&mut self) -> Result<Option<&Handle>> {
        let did = self.require_did()?.clone();
        self.handle = self.resolver()?.verified_handle(&did).await?;
        Ok(self.handle.as_ref())
    }

    /// Signs out: ends the session on the server (an OAuth session's tokens are
    /// revoked) and forgets it. A public agent has nothing to end.
    ///
    /// # Errors
    ///
    /// [`Error::Xrpc`] when the server refuses or cannot be reached.
    pub async fn sign_out(self) -> Result<()> {
        match self.session {
            Some(Session::Password(s)) => Ok(s.logout().await?),
            #[cfg(feature = "oauth")]
            Some(Session::OAuth(s)) => Ok(s.sign_out().await.map(drop)?),
            None => Ok(()),
        }
    }

    /// A service-auth token from the PDS for calling service `aud` (its DID) as this
    /// account (`com.atproto.server.getServiceAuth`; `aud` a DID or `did#service`), limited to method `lxm` and
    /// expiring `exp` seconds from now (the PDS's default, 60 s, when `None`).
    ///
    /// # Errors
    ///
    /// [`Error::NotSignedIn`]; [`Error::Endpoint`] with `BadExpiration` for an `exp`
    /// the PDS does not allow; otherwise [`Error::Xrpc`].
    pub async fn service_auth(
        &self,
        aud: &str,
        lxm: Option<&Nsid>,
        exp: Option<u64>,
    ) -> Result<String> {
        use atmo_api::com_atproto::server::get_service_auth;
        self.require_did()?;
        let mut params = get_service_auth::Params::new(aud);
        params.lxm = lxm.cloned();
        if let Some(secs) = exp {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            params.exp = Some(i64::try_from(now.saturating_add(secs)).unwrap_or(i64::MAX));
        }
        let out = self
            .client
            .call(&params)
            .await
            .map_err(|e| Error::from_call(get_service_auth::NSID, e))?;
        Ok(out.token)
    }
}
