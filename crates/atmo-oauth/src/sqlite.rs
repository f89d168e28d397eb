//! [`SqliteStore`]: pending sign-ins and sessions in an SQLite database (feature
//! `sqlite`), shared by every process that opens the same file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use atmo_syntax::Did;
use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior, params};

use crate::error::{Error, Result};
use crate::jose::{now_secs, random_b64u};
use crate::store::{AuthState, SessionStore, StateStore, StoreGuard, StoredSession};

/// How long a session lock is held at most by default before others may take it (a
/// process that died while refreshing leaves its lock behind for this long).
pub const DEFAULT_LOCK_LEASE: Duration = Duration::from_secs(120);

/// How long a statement waits for another connection's write to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a waiting [`SessionStore::lock`] looks again.
const LOCK_POLL: Duration = Duration::from_millis(25);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS atmo_oauth_state (
    state TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS atmo_oauth_session (did TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS atmo_oauth_lock (
    did TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at_ms INTEGER NOT NULL);
";

/// Pending sign-ins and sessions in an SQLite database: tables `atmo_oauth_state`,
/// `atmo_oauth_session` and `atmo_oauth_lock`, created on open (an app may keep them
/// beside its own tables in the same file). One value serves as both
/// [`StateStore`] and [`SessionStore`].
///
/// - A state is taken with `DELETE ... RETURNING`: once, whichever process asks first.
///   Expired states are dropped whenever one is put.
/// - [`SessionStore::lock`] is a lease row in `atmo_oauth_lock`, taken in a short
///   `BEGIN IMMEDIATE` transaction (check and claim are one step for every process
///   sharing the file) and deleted when the guard drops. A lease older than
///   [`SqliteStore::lock_lease`] (default [`DEFAULT_LOCK_LEASE`]) is taken over, so a
///   process that died mid-refresh does not block the session for ever. Two processes
///   refreshing the same session thus run one after the other, and the second adopts
///   the tokens the first stored.
///
/// ```
/// use atmo_oauth::{SessionStore, SqliteStore, StateStore};
/// let store = SqliteStore::open(":memory:")?;
/// assert!(store.take("nope")?.is_none());
/// let did: atmo_syntax::Did = "did:plc:abc".parse().unwrap();
/// assert!(store.load(&did)?.is_none());
/// # Ok::<(), atmo_oauth::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
    lease: Duration,
}

fn db_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Store {
        path: path.to_owned(),
        kind: None,
        message: e.to_string(),
    }
}

fn secs(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Milliseconds since the epoch (lock leases).
fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Creates `path` readable and writable by its owner only (0600 on Unix) if it does not
/// exist: the sessions hold tokens and DPoP keys. SQLite gives its `-wal` and `-shm`
/// files the database file's permissions. An existing file is left as it is (an app's
/// own database).
fn create_private(path: &Path) -> Result<()> {
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        open.mode(0o600);
    }
    match open.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::Store {
            path: path.to_owned(),
            kind: Some(e.kind()),
            message: e.to_string(),
        }),
    }
}

impl SqliteStore {
    /// Opens (or creates) the database at `path` (`:memory:` for a private in-memory
    /// one), in WAL mode, and creates the tables if needed.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the file cannot be opened or the tables created.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_owned();
        let err = |e: rusqlite::Error| db_err(&path, e);
        if path.as_os_str() != ":memory:" {
            create_private(&path)?;
        }
        let conn = Connection::open(&path).map_err(err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        if path.as_os_str() != ":memory:" {
            // The result row names the mode; a database that cannot switch keeps its own.
            let _mode: String = conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
                .map_err(err)?;
        }
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path,
            lease: DEFAULT_LOCK_LEASE,
        })
    }

    /// The store with another lock lease (see the type's documentation). Keep it longer
    /// than a refresh can take (the HTTP client's timeouts, twice).
    #[must_use]
    pub fn lock_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // rusqlite rolls a transaction back when it is dropped, so a panic while the lock
        // was held cannot leave one half done: a poisoned lock is still usable.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn err(&self, e: impl std::fmt::Display) -> Error {
        db_err(&self.path, e)
    }

    fn decode<T: serde::de::DeserializeOwned>(&self, json: &str) -> Result<T> {
        serde_json::from_str(json).map_err(|e| self.err(e))
    }

    /// One attempt at the lease of `did`: true when `owner` holds it now.
    fn try_lock(&self, did: &Did, owner: &str) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let now = now_millis();
        let held: Option<i64> = tx
            .query_row(
                "SELECT expires_at_ms FROM atmo_oauth_lock WHERE did = ?1",
                params![did.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        if held.is_some_and(|expires| expires > now) {
            return Ok(false);
        }
        let lease = i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX);
        let until = now.saturating_add(lease.max(1));
        tx.execute(
            "INSERT OR REPLACE INTO atmo_oauth_lock (did, owner, expires_at_ms) VALUES (?1, ?2, ?3)",
            params![did.as_str(), owner, until],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(true)
    }
}

/// The lease of one session; dropping it deletes the row (if it is still ours).
struct SqliteGuard {
    store: SqliteStore,
    did: Did,
    owner: String,
}

impl StoreGuard for SqliteGuard {}

impl Drop for SqliteGuard {
    fn drop(&mut self) {
        let res = self.store.conn().execute(
            "DELETE FROM atmo_oauth_lock WHERE did = ?1 AND owner = ?2",
            params![self.did.as_str(), self.owner],
        );
        // Not deleted: the lease expires on its own.
        let _ = res;
    }
}

impl StateStore for SqliteStore {
    fn put(&self, state: &str, data: &AuthState) -> Result<()> {
        let json = serde_json::to_string(data).map_err(|e| self.err(e))?;
        let conn = self.conn();
        conn.execute(
            "DELETE FROM atmo_oauth_state WHERE expires_at <= ?1",
            params![secs(now_secs())],
        )
        .map_err(|e| self.err(e))?;
        conn.execute(
            "INSERT OR REPLACE INTO atmo_oauth_state (state, data, expires_at) VALUES (?1, ?2, ?3)",
            params![state, json, secs(data.expires_at)],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn take(&self, state: &str) -> Result<Option<AuthState>> {
        let json: Option<String> = self
            .conn()
            .query_row(
                "DELETE FROM atmo_oauth_state WHERE state = ?1 RETURNING data",
                params![state],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        json.map(|j| self.decode(&j)).transpose()
    }
}

impl SessionStore for SqliteStore {
    fn load(&self, did: &Did) -> Result<Option<StoredSession>> {
        let json: Option<String> = self
            .conn()
            .query_row(
                "SELECT data FROM atmo_oauth_session WHERE did = ?1",
                params![did.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let session: Option<StoredSession> = json.map(|j| self.decode(&j)).transpose()?;
        Ok(session.filter(|s| s.did() == did))
    }

    fn save(&self, session: &StoredSession) -> Result<()> {
        let json = serde_json::to_string(session).map_err(|e| self.err(e))?;
        self.conn()
            .execute(
                "INSERT INTO atmo_oauth_session (did, data) VALUES (?1, ?2)
                 ON CONFLICT (did) DO UPDATE SET data = excluded.data",
                params![session.did().as_str(), json],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn delete(&self, did: &Did) -> Result<()> {
        self.conn()
            .execute(
                "DELETE FROM atmo_oauth_session WHERE did = ?1",
                params![did.as_str()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn lock(&self, did: &Did) -> Result<Box<dyn StoreGuard>> {
        let owner = random_b64u(16)?;
        while !self.try_lock(did, &owner)? {
            std::thread::sleep(LOCK_POLL);
        }
        Ok(Box::new(SqliteGuard {
            store: self.clone(),
            did: did.clone(),
            owner,
        }))
    }
}
