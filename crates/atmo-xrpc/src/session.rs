//! App-password sessions: login, resume, refresh (one in flight), logout, stores.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::client::{Auth, Client};
use crate::error::{Error, Result};
use crate::request::XrpcRequest;

/// The tokens and identity of a logged-in account, as stored between runs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionData {
    /// The account's DID.
    pub did: String,
    /// The account's handle.
    pub handle: String,
    /// The access token (short-lived).
    pub access_jwt: String,
    /// The refresh token.
    pub refresh_jwt: String,
    /// The service the session belongs to.
    pub pds: String,
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionOut {
    did: String,
    handle: String,
    access_jwt: String,
    refresh_jwt: String,
    #[serde(default)]
    email: Option<String>,
}

/// The client's session state: the session and a generation counter that goes up on
/// every refresh, so that of many requests that saw the same expired token only the
/// first refreshes.
#[derive(Default)]
pub(crate) struct AuthState {
    pub(crate) session: Option<SessionData>,
    pub(crate) generation: u64,
}

/// Where sessions are kept between runs.
pub trait SessionStore: Send + Sync {
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
}

/// A session in a JSON file, written with mode 0600.
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
            path: "<none>".into(),
            message: "set ATMO_SESSION_FILE, XDG_STATE_HOME or HOME".into(),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, message: impl std::fmt::Display) -> Error {
        Error::SessionStore {
            path: self.path.display().to_string(),
            message: message.to_string(),
        }
    }
}

impl SessionStore for FileSessionStore {
    fn load(&self) -> Result<Option<SessionData>> {
        let text = match std::fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.err(e)),
        };
        if text.len() > 1024 * 1024 {
            return Err(self.err("larger than 1 MiB"));
        }
        serde_json::from_slice(&text)
            .map(Some)
            .map_err(|e| self.err(e))
    }

    fn save(&self, session: &SessionData) -> Result<()> {
        use std::io::Write as _;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| self.err(e))?;
        }
        let text = serde_json::to_vec_pretty(session).map_err(|e| self.err(e))?;
        // Write a sibling file with 0600 from the start, then rename over the old one.
        let tmp = self.path.with_extension("json.tmp");
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(|e| self.err(e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| self.err(e))?;
        }
        f.write_all(&text)
            .and_then(|()| f.sync_all())
            .map_err(|e| self.err(e))?;
        drop(f);
        std::fs::rename(&tmp, &self.path).map_err(|e| self.err(e))
    }

    fn delete(&self) -> Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.err(e)),
        }
    }
}

impl Client {
    /// `com.atproto.server.createSession` with a handle, DID or email and an app
    /// password; the client keeps (and the store saves) the session.
    ///
    /// # Errors
    ///
    /// [`Error::Xrpc`] (`AuthenticationRequired` for a wrong password), transport
    /// errors, store errors.
    pub async fn login(&self, identifier: &str, password: &str) -> Result<SessionData> {
        let req = XrpcRequest::procedure("com.atproto.server.createSession")?
            .json(&serde_json::json!({ "identifier": identifier, "password": password }))?;
        let res = self.call(&req, Auth::None).await?;
        self.install(res.json()?).await
    }

    /// `com.atproto.server.createAccount`; the new account's session is kept.
    ///
    /// # Errors
    ///
    /// As [`Client::login`].
    pub async fn create_account(
        &self,
        handle: &str,
        email: &str,
        password: &str,
    ) -> Result<SessionData> {
        let req = XrpcRequest::procedure("com.atproto.server.createAccount")?
            .json(&serde_json::json!({ "handle": handle, "email": email, "password": password }))?;
        let res = self.call(&req, Auth::None).await?;
        self.install(res.json()?).await
    }

    async fn install(&self, out: SessionOut) -> Result<SessionData> {
        let data = SessionData {
            did: out.did,
            handle: out.handle,
            access_jwt: out.access_jwt,
            refresh_jwt: out.refresh_jwt,
            pds: self.base().to_owned(),
            email: out.email,
        };
        if let Some(store) = &self.inner.store {
            store.save(&data)?;
        }
        let mut st = self.inner.auth.lock().await;
        st.session = Some(data.clone());
        st.generation += 1;
        Ok(data)
    }

    /// Uses stored tokens without asking the network.
    pub async fn set_session(&self, session: SessionData) {
        let mut st = self.inner.auth.lock().await;
        st.session = Some(session);
        st.generation += 1;
    }

    /// Resumes stored tokens: `com.atproto.server.getSession`, refreshing them if the
    /// access token expired; returns the session as it now is.
    ///
    /// # Errors
    ///
    /// [`Error::SessionExpired`] when the tokens cannot be refreshed, and as
    /// [`Client::login`].
    pub async fn resume(&self, session: SessionData) -> Result<SessionData> {
        self.set_session(session).await;
        let res = self.get_session().await?;
        let mut st = self.inner.auth.lock().await;
        if let Some(s) = st.session.as_mut() {
            if let Some(h) = res.get("handle").and_then(|h| h.as_str()) {
                s.handle = h.to_owned();
            }
        }
        st.session.clone().ok_or(Error::NoSession)
    }

    /// The current session, if any.
    pub async fn session(&self) -> Option<SessionData> {
        self.inner.auth.lock().await.session.clone()
    }

    /// `com.atproto.server.getSession` (`{did, handle, email, ...}`).
    ///
    /// # Errors
    ///
    /// [`Error::NoSession`] without a session, and as [`Client::send`].
    pub async fn get_session(&self) -> Result<atmo_data::Value> {
        let req = XrpcRequest::query("com.atproto.server.getSession")?;
        self.call(&req, Auth::Required).await?.value()
    }

    /// Refreshes the session now (`com.atproto.server.refreshSession`).
    ///
    /// # Errors
    ///
    /// [`Error::NoSession`], [`Error::SessionExpired`].
    pub async fn refresh_session(&self) -> Result<SessionData> {
        let generation = self.inner.auth.lock().await.generation;
        self.refresh_after(generation).await?;
        self.session().await.ok_or(Error::NoSession)
    }

    /// Refreshes unless another caller already did since `generation` was read: the
    /// lock is held across the refresh call, so there is one refresh in flight.
    pub(crate) async fn refresh_after(&self, generation: u64) -> Result<()> {
        let mut st = self.inner.auth.lock().await;
        if st.generation != generation {
            return Ok(());
        }
        let Some(current) = st.session.clone() else {
            return Err(Error::NoSession);
        };
        st.generation += 1;
        let req = XrpcRequest::procedure("com.atproto.server.refreshSession")?;
        let bearer = format!("Bearer {}", current.refresh_jwt);
        let res = match self.execute(&req, Some(&bearer)).await {
            Ok((head, body)) => {
                let body = self.collect(body, self.inner.max_body).await?;
                crate::response::XrpcResponse {
                    status: head.status.as_u16(),
                    headers: head.headers,
                    body,
                }
            }
            Err(Error::Xrpc(e)) => {
                tracing::warn!(error = %e, "session refresh refused");
                return Err(Error::SessionExpired(e.to_string()));
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
        st.session = Some(data);
        tracing::debug!("session refreshed");
        Ok(())
    }

    /// `com.atproto.server.deleteSession`, then forgets the session (here and in the
    /// store) even when the service call fails.
    ///
    /// # Errors
    ///
    /// [`Error::NoSession`] without a session; store errors.
    pub async fn logout(&self) -> Result<()> {
        let session = {
            let mut st = self.inner.auth.lock().await;
            st.generation += 1;
            st.session.take()
        };
        let Some(session) = session else {
            return Err(Error::NoSession);
        };
        let req = XrpcRequest::procedure("com.atproto.server.deleteSession")?;
        let bearer = format!("Bearer {}", session.refresh_jwt);
        if let Err(e) = self.execute(&req, Some(&bearer)).await {
            tracing::debug!(error = %e, "deleteSession failed; forgetting the session anyway");
        }
        if let Some(store) = &self.inner.store {
            store.delete()?;
        }
        Ok(())
    }
}
