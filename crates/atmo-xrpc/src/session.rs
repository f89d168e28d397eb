//! App-password sessions: login, resume, refresh (one in flight per process, one across
//! processes that share a store), logout, stores.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use atmo_syntax::{Did, Handle, ServiceUrl};
use serde::{Deserialize, Serialize};

use crate::auth::{
    Auth, AuthDecision, AuthFuture, AuthRequest, AuthResponse, AuthTicket, HeaderAuth,
};
use crate::client::{AuthMode, Client};
use crate::error::{Error, Result};
use crate::private_file;
use crate::request::XrpcRequest;

/// The tokens and identity of a logged-in account, as stored between runs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionData {
    /// The account's DID.
    pub did: Did,
    /// The account's handle (`handle.invalid` when the service cannot verify it).
    pub handle: Handle,
    /// The access token (short-lived).
    pub access_jwt: String,
    /// The refresh token.
    pub refresh_jwt: String,
    /// The service the session belongs to (its base URL).
    pub pds: ServiceUrl,
    /// The account email, if the service said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl std::fmt::Debug for SessionData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the tokens.
        f.debug_struct("SessionData")
            .field("did", &self.did)
            .field("handle", &self.handle)
            .field("pds", &self.pds)
            .finish_non_exhaustive()
    }
}

/// What `createSession`, `createAccount` and `refreshSession` answer.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionOut {
    did: Did,
    handle: Handle,
    access_jwt: String,
    refresh_jwt: String,
    #[serde(default)]
    email: Option<String>,
}

/// Held while a store is locked; dropping it unlocks.
pub trait StoreGuard: Send {}

impl StoreGuard for () {}

/// Where a session is kept between runs.
pub trait SessionStore: Send + Sync + std::fmt::Debug {
    /// The stored session, if any.
    ///
    /// # Errors
    ///
    /// [`Error::SessionStore`] when it cannot be read.
    fn load(&self) -> Result<Option<SessionData>>;
    /// Stores a session (after login and every refresh).
    ///
    /// # Errors
    ///
    /// [`Error::SessionStore`] when it cannot be written.
    fn save(&self, session: &SessionData) -> Result<()>;
    /// Forgets the session.
    ///
    /// # Errors
    ///
    /// [`Error::SessionStore`] when it cannot be removed.
    fn delete(&self) -> Result<()>;
    /// Takes the store's lock, shared with every process using the same store, until the
    /// guard is dropped; may block (it is called on a blocking thread). A refresh runs
    /// under it: it reloads the store first, and a session another process refreshed
    /// meanwhile is adopted instead of refreshed again (a refresh token is single-use).
    /// The default takes no lock (a store used by one process).
    ///
    /// # Errors
    ///
    /// [`Error::SessionStore`] when the lock cannot be taken.
    fn lock(&self) -> Result<Box<dyn StoreGuard>> {
        Ok(Box::new(()))
    }
}

/// A session in a JSON file, written with mode 0600 (atomically: a sibling file renamed
/// over it), locked across processes with an advisory lock on `<file>.lock`.
///
/// The default path is `$ATMO_SESSION_FILE`, else `$XDG_STATE_HOME/atmo/session.json`,
/// else `~/.local/state/atmo/session.json`.
///
/// ```
/// # fn main() -> Result<(), atmo_xrpc::Error> {
/// use atmo_xrpc::{FileSessionStore, SessionStore};
/// let dir = std::env::temp_dir().join(format!("atmo-doc-{}", std::process::id()));
/// let store = FileSessionStore::new(dir.join("session.json"));
/// assert!(store.load()?.is_none());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FileSessionStore {
    path: PathBuf,
}

/// The open lock file; the lock goes with the descriptor.
struct FileGuard(#[allow(dead_code, reason = "held for its lock")] std::fs::File);

impl StoreGuard for FileGuard {}

impl FileSessionStore {
    /// A store at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// A store at [`FileSessionStore::default_path`].
    ///
    /// # Errors
    ///
    /// [`Error::SessionStore`] when no path can be found (no `HOME`).
    pub fn at_default_path() -> Result<Self> {
        Ok(Self::new(Self::default_path()?))
    }

    /// `$ATMO_SESSION_FILE`, `$XDG_STATE_HOME/atmo/session.json` or
    /// `$HOME/.local/state/atmo/session.json`.
    ///
    /// # Errors
    ///
    /// [`Error::SessionStore`] when none of these variables is set.
    pub fn default_path() -> Result<PathBuf> {
        let nonempty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        if let Some(p) = nonempty("ATMO_SESSION_FILE") {
            return Ok(PathBuf::from(p));
        }
        if let Some(p) = nonempty("XDG_STATE_HOME") {
            return Ok(PathBuf::from(p).join("atmo/session.json"));
        }
        if let Some(h) = nonempty("HOME") {
            return Ok(PathBuf::from(h).join(".local/state/atmo/session.json"));
        }
        Err(Error::SessionStore {
            path: PathBuf::from("<none>"),
            kind: None,
            message: "set ATMO_SESSION_FILE, XDG_STATE_HOME or HOME".into(),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, message: impl std::fmt::Display) -> Error {
        Error::SessionStore {
            path: self.path.clone(),
            kind: None,
            message: message.to_string(),
        }
    }

    fn io_err(&self, e: &std::io::Error) -> Error {
        Error::SessionStore {
            path: self.path.clone(),
            kind: Some(e.kind()),
            message: e.to_string(),
        }
    }

    fn ensure_dir(&self) -> Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| self.io_err(&e))?;
        }
        Ok(())
    }
}

impl SessionStore for FileSessionStore {
    fn load(&self) -> Result<Option<SessionData>> {
        let Some(text) =
            private_file::read_bounded(&self.path, 1024 * 1024).map_err(|e| self.io_err(&e))?
        else {
            return Ok(None);
        };
        serde_json::from_slice(&text)
            .map(Some)
            .map_err(|e| self.err(e))
    }

    fn save(&self, session: &SessionData) -> Result<()> {
        self.ensure_dir()?;
        let text = serde_json::to_vec_pretty(session).map_err(|e| self.err(e))?;
        private_file::write_atomic(&self.path, &text).map_err(|e| self.io_err(&e))
    }

    fn delete(&self) -> Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io_err(&e)),
        }
    }

    fn lock(&self) -> Result<Box<dyn StoreGuard>> {
        self.ensure_dir()?;
        let f = private_file::open_private(&self.path.with_extension("json.lock"), false)
            .map_err(|e| self.io_err(&e))?;
        f.lock().map_err(|e| self.io_err(&e))?;
        Ok(Box::new(FileGuard(f)))
    }
}

/// An app-password session: an [`Auth`] that sends `Bearer <accessJwt>`, and on
/// `ExpiredToken` refreshes once (however many calls saw the same expired token) and has
/// the call sent again. Cheap to clone; clones share the session.
///
/// ```no_run
/// # async fn demo() -> Result<(), atmo_xrpc::Error> {
/// use std::sync::Arc;
/// use atmo_xrpc::{Client, FileSessionStore, PasswordSession, SessionStore as _};
///
/// let pds = Client::new("https://pds.example.com")?;
/// let store = Arc::new(FileSessionStore::at_default_path()?);
/// let session = match store.load()? {
///     Some(saved) => PasswordSession::resume(&pds, saved, Some(store)),
///     None => PasswordSession::login_with_store(&pds, "alice.example.com", "app-password", store).await?,
/// };
/// let client = session.client();
/// # let _ = client; Ok(()) }
/// ```
#[derive(Clone)]
pub struct PasswordSession {
    inner: Arc<Inner>,
}

struct Inner {
    /// The service, without credentials (for the session calls themselves).
    client: Client,
    store: Option<Arc<dyn SessionStore>>,
    /// The account (fixed for the session's life).
    did: Did,
    state: tokio::sync::Mutex<State>,
    /// Whether the session was logged out.
    ended: std::sync::atomic::AtomicBool,
}

/// The session and a generation counter that goes up on every change.
struct State {
    data: SessionData,
    generation: u64,
}

impl std::fmt::Debug for PasswordSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordSession")
            .field("service", &self.inner.client.base())
            .finish_non_exhaustive()
    }
}

impl PasswordSession {
    /// `com.atproto.server.createSession` with a handle, DID or email and an app
    /// password.
    ///
    /// # Errors
    ///
    /// [`Error::Xrpc`] (`AuthenticationRequired` for a wrong password), transport
    /// errors.
    pub async fn login(client: &Client, identifier: &str, password: &str) -> Result<Self> {
        Self::start(client, identifier, password, None).await
    }

    /// [`PasswordSession::login`], saving the session to `store` now and after every
    /// refresh.
    ///
    /// # Errors
    ///
    /// As [`PasswordSession::login`], and store errors.
    pub async fn login_with_store(
        client: &Client,
        identifier: &str,
        password: &str,
        store: Arc<dyn SessionStore>,
    ) -> Result<Self> {
        Self::start(client, identifier, password, Some(store)).await
    }

    async fn start(
        client: &Client,
        identifier: &str,
        password: &str,
        store: Option<Arc<dyn SessionStore>>,
    ) -> Result<Self> {
        let req = XrpcRequest::procedure("com.atproto.server.createSession")?
            .json(&serde_json::json!({ "identifier": identifier, "password": password }))?;
        let res = client.call_mode(&req, AuthMode::None).await?;
        Self::from_answer(client, res.json()?, store)
    }

    /// `com.atproto.server.createAccount`; the new account's session.
    ///
    /// # Errors
    ///
    /// As [`PasswordSession::login`].
    pub async fn create_account(
        client: &Client,
        handle: &str,
        email: &str,
        password: &str,
        store: Option<Arc<dyn SessionStore>>,
    ) -> Result<Self> {
        let req = XrpcRequest::procedure("com.atproto.server.createAccount")?
            .json(&serde_json::json!({ "handle": handle, "email": email, "password": password }))?;
        let res = client.call_mode(&req, AuthMode::None).await?;
        Self::from_answer(client, res.json()?, store)
    }

    fn from_answer(
        client: &Client,
        out: SessionOut,
        store: Option<Arc<dyn SessionStore>>,
    ) -> Result<Self> {
        let data = SessionData {
            did: out.did,
            handle: out.handle,
            access_jwt: out.access_jwt,
            refresh_jwt: out.refresh_jwt,
            pds: client.service_url().clone(),
            email: out.email,
        };
        if let Some(s) = &store {
            s.save(&data)?;
        }
        Ok(Self::resume(client, data, store))
    }

    /// Stored tokens, used as they are (no network); an expired access token is
    /// refreshed on first use.
    #[must_use]
    pub fn resume(
        client: &Client,
        data: SessionData,
        store: Option<Arc<dyn SessionStore>>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                client: client.without_auth(),
                store,
                did: data.did.clone(),
                state: tokio::sync::Mutex::new(State {
                    data,
                    generation: 0,
                }),
                ended: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// A client for the session's service that authenticates with this session.
    #[must_use]
    pub fn client(&self) -> Client {
        self.inner.client.with_auth(self.clone())
    }

    /// The session as it is now (tokens included).
    pub async fn data(&self) -> SessionData {
        self.inner.state.lock().await.data.clone()
    }

    /// The account's DID.
    #[must_use]
    pub fn did(&self) -> &Did {
        &self.inner.did
    }

    /// Refreshes the session now (`com.atproto.server.refreshSession`).
    ///
    /// # Errors
    ///
    /// [`Error::SessionExpired`] when the service refuses the refresh token, transport
    /// and store errors.
    pub async fn refresh(&self) -> Result<SessionData> {
        let generation = self.inner.state.lock().await.generation;
        self.refresh_after(generation).await?;
        Ok(self.data().await)
    }

    /// Refreshes unless the session changed since `generation` was read. The state lock
    /// is held across the refresh, so there is one refresh in flight per process; the
    /// store's lock is held too, so there is one across processes sharing the store.
    async fn refresh_after(&self, generation: u64) -> Result<()> {
        let mut st = self.inner.state.lock().await;
        if st.generation != generation {
            return Ok(());
        }
        let _guard = match &self.inner.store {
            Some(store) => {
                let store = Arc::clone(store);
                let guard = tokio::task::spawn_blocking(move || store.lock())
                    .await
                    .map_err(|e| Error::SessionStore {
                        path: PathBuf::from("<lock>"),
                        kind: None,
                        message: e.to_string(),
                    })??;
                // Another process may have refreshed while we waited for the lock: its
                // tokens are the live ones (ours were spent by its refresh).
                if let Some(stored) = self.load_store()?
                    && stored.did == st.data.did
                    && stored.refresh_jwt != st.data.refresh_jwt
                {
                    tracing::debug!("session refreshed by another process; adopting it");
                    st.data = stored;
                    st.generation += 1;
                    return Ok(());
                }
                Some(guard)
            }
            None => None,
        };
        let current = st.data.clone();
        let req = XrpcRequest::procedure("com.atproto.server.refreshSession")?;
        let bearer = bearer(&current.refresh_jwt)?;
        let client = &self.inner.client;
        let res = client
            .call_with_header(&req, http::header::AUTHORIZATION, bearer)
            .await;
        let res = match res {
            Ok(r) => r,
            Err(Error::Xrpc(e)) => {
                tracing::warn!(error = %e, "session refresh refused");
                return Err(Error::SessionExpired(e));
            }
            Err(e) => return Err(e),
        };
        let out: SessionOut = res.json()?;
        let data = SessionData {
            did: out.did,
            handle: out.handle,
            access_jwt: out.access_jwt,
            refresh_jwt: out.refresh_jwt,
            pds: current.pds,
            email: out.email.or(current.email),
        };
        if let Some(store) = &self.inner.store {
            store.save(&data)?;
        }
        st.data = data;
        st.generation += 1;
        tracing::debug!("session refreshed");
        Ok(())
    }

    fn load_store(&self) -> Result<Option<SessionData>> {
        match &self.inner.store {
            Some(s) => s.load(),
            None => Ok(None),
        }
    }

    /// `com.atproto.server.deleteSession`, then forgets the session (in the store too)
    /// even when the service call fails. Clients using this session fail with
    /// [`Error::NoSession`] afterwards.
    ///
    /// # Errors
    ///
    /// Store errors.
    pub async fn logout(&self) -> Result<()> {
        let data = {
            let mut st = self.inner.state.lock().await;
            st.generation += 1;
            st.data.clone()
        };
        self.inner
            .ended
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let req = XrpcRequest::procedure("com.atproto.server.deleteSession")?;
        let res = match bearer(&data.refresh_jwt) {
            Ok(b) => {
                self.inner
                    .client
                    .call_with_header(&req, http::header::AUTHORIZATION, b)
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = res {
            tracing::debug!(error = %e, "deleteSession failed; forgetting the session anyway");
        }
        if let Some(store) = &self.inner.store {
            store.delete()?;
        }
        Ok(())
    }
}

fn bearer(token: &str) -> Result<http::HeaderValue> {
    let mut v = http::HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| Error::Request("the token is not a valid header value".into()))?;
    v.set_sensitive(true);
    Ok(v)
}

impl Auth for PasswordSession {
    fn authorize<'a>(&'a self, req: AuthRequest<'a>) -> AuthFuture<'a, AuthTicket> {
        Box::pin(async move {
            if self.inner.ended.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(Error::NoSession);
            }
            let st = self.inner.state.lock().await;
            req.headers
                .insert(http::header::AUTHORIZATION, bearer(&st.data.access_jwt)?);
            Ok(AuthTicket(st.generation))
        })
    }

    fn on_response<'a>(
        &'a self,
        ticket: AuthTicket,
        res: &'a AuthResponse<'a>,
    ) -> AuthFuture<'a, AuthDecision> {
        Box::pin(async move {
            match res.error {
                Some(e) if e.is_expired_token() => {
                    self.refresh_after(ticket.0).await?;
                    Ok(AuthDecision::Retry)
                }
                _ => Ok(AuthDecision::Done),
            }
        })
    }

    fn is_authenticated(&self) -> bool {
        !self.inner.ended.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn account_did(&self) -> Option<Did> {
        Some(self.inner.did.clone())
    }
}

impl Client {
    /// A buffered call without the client's auth, with one header set (the session calls
    /// that carry the refresh token).
    async fn call_with_header(
        &self,
        req: &XrpcRequest,
        name: http::HeaderName,
        value: http::HeaderValue,
    ) -> Result<crate::response::XrpcResponse> {
        let client = self.with_auth(HeaderAuth::new(name, value));
        client.call_mode(req, AuthMode::Required).await
    }
}
