//! Where pending sign-ins (state) and sessions are kept: traits, and in-memory and file
//! implementations. Files are written with mode 0600 (atomically) under the XDG state
//! directory by default.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use atmo_syntax::{Did, ServiceUrl};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::dpop::DpopKey;
use crate::error::{Error, Result};
use crate::metadata::AuthorizationServerMetadata;
use crate::protocol::TokenSet;

/// Largest stored record read back.
const MAX_STORED: u64 = 1024 * 1024;

/// A sign-in between the authorization request and the callback. Holds secrets (the
/// PKCE verifier, the DPoP key): `Debug` does not show them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthState {
    /// The authorization server's (validated) metadata.
    pub server: AuthorizationServerMetadata,
    /// The DPoP key the tokens will be bound to.
    pub dpop_key: DpopKey,
    /// The PKCE verifier.
    pub verifier: String,
    /// The redirect URI of the request.
    pub redirect_uri: String,
    /// The account the sign-in started from (a handle or DID), if known.
    #[serde(default)]
    pub expected_did: Option<Did>,
    /// The app's own data, handed back by the callback.
    #[serde(default)]
    pub app_state: Option<String>,
    /// When it stops being accepted (seconds since the epoch).
    pub expires_at: u64,
}

impl std::fmt::Debug for AuthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthState")
            .field("issuer", &self.server.issuer)
            .field("expected_did", &self.expected_did)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A session as stored between runs: the tokens, the key they are bound to, and where
/// they are used. `Debug` does not show the tokens or the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoredSession {
    /// The client the session belongs to.
    pub client_id: String,
    /// The authorization server's metadata (token and revocation endpoints).
    pub server: AuthorizationServerMetadata,
    /// The account's PDS (the resource server).
    pub pds: ServiceUrl,
    /// The DPoP key.
    pub dpop_key: DpopKey,
    /// The tokens.
    pub tokens: TokenSet,
}

impl StoredSession {
    /// Assembles a session record.
    #[must_use]
    pub fn new(
        client_id: String,
        server: AuthorizationServerMetadata,
        pds: ServiceUrl,
        dpop_key: DpopKey,
        tokens: TokenSet,
    ) -> Self {
        Self {
            client_id,
            server,
            pds,
            dpop_key,
            tokens,
        }
    }

    /// The account.
    #[must_use]
    pub fn did(&self) -> &Did {
        &self.tokens.sub
    }
}

/// Held while a store is locked; dropping it unlocks.
pub trait StoreGuard: Send {}

impl StoreGuard for () {}

/// Pending sign-ins, keyed by `state`; each is taken at most once.
pub trait StateStore: Send + Sync + std::fmt::Debug {
    /// Keeps a pending sign-in.
    ///
    /// # Errors
    ///
    /// [`Error::Store`].
    fn put(&self, state: &str, data: &AuthState) -> Result<()>;
    /// Takes it out (a second take of the same state finds nothing).
    ///
    /// # Errors
    ///
    /// [`Error::Store`].
    fn take(&self, state: &str) -> Result<Option<AuthState>>;
}

/// Sessions, keyed by DID.
pub trait SessionStore: Send + Sync + std::fmt::Debug {
    /// The session of `did`, if stored.
    ///
    /// # Errors
    ///
    /// [`Error::Store`].
    fn load(&self, did: &Did) -> Result<Option<StoredSession>>;
    /// Stores a session (after sign-in and every refresh).
    ///
    /// # Errors
    ///
    /// [`Error::Store`].
    fn save(&self, session: &StoredSession) -> Result<()>;
    /// Forgets the session of `did`.
    ///
    /// # Errors
    ///
    /// [`Error::Store`].
    fn delete(&self, did: &Did) -> Result<()>;
    /// Takes the lock of `did`'s session, shared by every process using the same store,
    /// until the guard is dropped; may block (it is called on a blocking thread). A
    /// refresh runs under it and first reloads the session, adopting tokens another
    /// process refreshed meanwhile (a refresh token is single-use). The default takes no
    /// lock (a store used by one process).
    ///
    /// # Errors
    ///
    /// [`Error::Store`].
    fn lock(&self, did: &Did) -> Result<Box<dyn StoreGuard>> {
        let _ = did;
        Ok(Box::new(()))
    }
}

fn mem_err(m: &str) -> Error {
    Error::Store {
        path: PathBuf::from("<memory>"),
        kind: None,
        message: m.to_owned(),
    }
}

/// Pending sign-ins in memory (one process).
///
/// ```
/// use atmo_oauth::{MemoryStateStore, StateStore};
/// let store = MemoryStateStore::default();
/// assert!(store.take("nope").unwrap().is_none());
/// ```
#[derive(Debug, Default)]
pub struct MemoryStateStore(Mutex<HashMap<String, AuthState>>);

impl StateStore for MemoryStateStore {
    fn put(&self, state: &str, data: &AuthState) -> Result<()> {
        let mut m = self.0.lock().map_err(|_| mem_err("poisoned"))?;
        // Drop expired entries so the map stays small.
        let now = crate::jose::now_secs();
        m.retain(|_, v| v.expires_at > now);
        m.insert(state.to_owned(), data.clone());
        Ok(())
    }

    fn take(&self, state: &str) -> Result<Option<AuthState>> {
        Ok(self
            .0
            .lock()
            .map_err(|_| mem_err("poisoned"))?
            .remove(state))
    }
}

/// Sessions in memory (one process).
///
/// ```
/// use atmo_oauth::{MemorySessionStore, SessionStore};
/// let store = MemorySessionStore::default();
/// let did: atmo_syntax::Did = "did:plc:abc".parse().unwrap();
/// assert!(store.load(&did).unwrap().is_none());
/// ```
#[derive(Debug, Default)]
pub struct MemorySessionStore(Mutex<HashMap<Did, StoredSession>>);

impl SessionStore for MemorySessionStore {
    fn load(&self, did: &Did) -> Result<Option<StoredSession>> {
        Ok(self
            .0
            .lock()
            .map_err(|_| mem_err("poisoned"))?
            .get(did)
            .cloned())
    }

    fn save(&self, session: &StoredSession) -> Result<()> {
        self.0
            .lock()
            .map_err(|_| mem_err("poisoned"))?
            .insert(session.did().clone(), session.clone());
        Ok(())
    }

    fn delete(&self, did: &Did) -> Result<()> {
        self.0.lock().map_err(|_| mem_err("poisoned"))?.remove(did);
        Ok(())
    }
}

/// `$XDG_STATE_HOME/atmo/oauth` or `$HOME/.local/state/atmo/oauth`
/// (`$ATMO_OAUTH_DIR` first).
///
/// # Errors
///
/// [`Error::Store`] when none of these variables is set.
pub fn default_store_dir() -> Result<PathBuf> {
    let nonempty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(p) = nonempty("ATMO_OAUTH_DIR") {
        return Ok(PathBuf::from(p));
    }
    if let Some(p) = nonempty("XDG_STATE_HOME") {
        return Ok(PathBuf::from(p).join("atmo/oauth"));
    }
    if let Some(h) = nonempty("HOME") {
        return Ok(PathBuf::from(h).join(".local/state/atmo/oauth"));
    }
    Err(Error::Store {
        path: PathBuf::from("<none>"),
        kind: None,
        message: "set ATMO_OAUTH_DIR, XDG_STATE_HOME or HOME".into(),
    })
}

/// The file operations both file stores share.
#[derive(Debug, Clone)]
struct Dir(PathBuf);

/// The open lock file; the lock goes with the descriptor.
struct FileGuard(#[allow(dead_code, reason = "held for its lock")] std::fs::File);

impl StoreGuard for FileGuard {}

impl Dir {
    fn io_err(path: &Path, e: &std::io::Error) -> Error {
        Error::Store {
            path: path.to_owned(),
            kind: Some(e.kind()),
            message: e.to_string(),
        }
    }

    fn err(path: &Path, m: impl std::fmt::Display) -> Error {
        Error::Store {
            path: path.to_owned(),
            kind: None,
            message: m.to_string(),
        }
    }

    fn ensure(&self) -> Result<()> {
        std::fs::create_dir_all(&self.0).map_err(|e| Self::io_err(&self.0, &e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| Self::io_err(&self.0, &e))?;
        }
        Ok(())
    }

    fn open_private(path: &Path, truncate: bool) -> Result<std::fs::File> {
        atmo_xrpc::private_file::open_private(path, truncate).map_err(|e| Self::io_err(path, &e))
    }

    fn read<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
        let Some(buf) = atmo_xrpc::private_file::read_bounded(path, MAX_STORED)
            .map_err(|e| Self::io_err(path, &e))?
        else {
            return Ok(None);
        };
        serde_json::from_slice(&buf)
            .map(Some)
            .map_err(|e| Self::err(path, e))
    }

    fn write<T: Serialize>(&self, path: &Path, value: &T) -> Result<()> {
        self.ensure()?;
        let text = serde_json::to_vec_pretty(value).map_err(|e| Self::err(path, e))?;
        atmo_xrpc::private_file::write_atomic(path, &text).map_err(|e| Self::io_err(path, &e))
    }

    fn remove(path: &Path) -> Result<()> {
        match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Self::io_err(path, &e)),
        }
    }
}

/// A file name for untrusted text: hex of its SHA-256 (first 32 bytes of hex).
fn hashed_name(prefix: &str, key: &str) -> String {
    let h = Sha256::digest(key.as_bytes());
    let mut s = String::from(prefix);
    for b in h.iter().take(16) {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Pending sign-ins as files (`state-<hash>.json`, 0600) in a directory, so a callback
/// handled by another process (a CLI waiting on a port, a web app's workers) finds them.
/// A state is taken by renaming its file, which succeeds once.
///
/// ```
/// use atmo_oauth::{FileStateStore, StateStore};
/// let dir = std::env::temp_dir().join(format!("atmo-oauth-doc-{}", std::process::id()));
/// let store = FileStateStore::new(&dir);
/// assert!(store.take("nope").unwrap().is_none());
/// ```
#[derive(Debug, Clone)]
pub struct FileStateStore(Dir);

impl FileStateStore {
    /// A store in `dir` (created on first write, mode 0700).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self(Dir(dir.into()))
    }

    fn path(&self, state: &str) -> PathBuf {
        self.0
            .0
            .join(format!("{}.json", hashed_name("state-", state)))
    }
}

impl StateStore for FileStateStore {
    fn put(&self, state: &str, data: &AuthState) -> Result<()> {
        self.0.write(&self.path(state), data)
    }

    fn take(&self, state: &str) -> Result<Option<AuthState>> {
        let path = self.path(state);
        let taken = path.with_extension(format!("taken.{}", std::process::id()));
        match std::fs::rename(&path, &taken) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Dir::io_err(&path, &e)),
        }
        let out = Dir::read(&taken);
        Dir::remove(&taken)?;
        out
    }
}

/// Sessions as files (`<did>.json`, 0600) in a directory, locked across processes with
/// an advisory lock on `<did>.lock`.
///
/// ```
/// use atmo_oauth::{FileSessionStore, SessionStore};
/// let dir = std::env::temp_dir().join(format!("atmo-oauth-doc-s-{}", std::process::id()));
/// let store = FileSessionStore::new(&dir);
/// let did: atmo_syntax::Did = "did:plc:abc".parse().unwrap();
/// assert!(store.load(&did).unwrap().is_none());
/// ```
#[derive(Debug, Clone)]
pub struct FileSessionStore(Dir);

impl FileSessionStore {
    /// A store in `dir` (created on first write, mode 0700).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self(Dir(dir.into()))
    }

    /// The directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.0.0
    }

    fn stem(did: &Did) -> String {
        // DIDs are [a-zA-Z0-9._:%-]; ':' and '%' are awkward in file names.
        did.as_str().replace([':', '%'], "_")
    }

    fn path(&self, did: &Did) -> PathBuf {
        self.0.0.join(format!("{}.json", Self::stem(did)))
    }
}

impl SessionStore for FileSessionStore {
    fn load(&self, did: &Did) -> Result<Option<StoredSession>> {
        let s: Option<StoredSession> = Dir::read(&self.path(did))?;
        Ok(s.filter(|s| s.did() == did))
    }

    fn save(&self, session: &StoredSession) -> Result<()> {
        self.0.write(&self.path(session.did()), session)
    }

    fn delete(&self, did: &Did) -> Result<()> {
        Dir::remove(&self.path(did))
    }

    fn lock(&self, did: &Did) -> Result<Box<dyn StoreGuard>> {
        self.0.ensure()?;
        let path = self.0.0.join(format!("{}.lock", Self::stem(did)));
        let f = Dir::open_private(&path, false)?;
        f.lock().map_err(|e| Dir::io_err(&path, &e))?;
        Ok(Box::new(FileGuard(f)))
    }
}
