//! atmo-oauth's [`StateStore`] and [`SessionStore`] kept in the app's SQLite database,
//! so sign-ins in progress and sessions survive a restart.

use std::path::PathBuf;
use std::sync::Arc;

use atmo::oauth::{AuthState, SessionStore, StateStore, StoredSession};
use atmo::syntax::Did;

use crate::db::Db;

/// The OAuth stores over [`Db`].
#[derive(Debug, Clone)]
pub struct SqliteOAuthStore {
    db: Arc<Db>,
}

impl SqliteOAuthStore {
    /// Stores in `db`.
    pub fn new(db: Arc<Db>) -> Self {
        Self { db }
    }
}

fn store_err(e: impl std::fmt::Display) -> atmo::oauth::Error {
    atmo::oauth::Error::Store {
        path: PathBuf::from("sqlite:oauth"),
        kind: None,
        message: e.to_string(),
    }
}

impl StateStore for SqliteOAuthStore {
    fn put(&self, state: &str, data: &AuthState) -> atmo::oauth::Result<()> {
        let json = serde_json::to_string(data).map_err(store_err)?;
        let expires = i64::try_from(data.expires_at).unwrap_or(i64::MAX);
        self.db.put_state(state, &json, expires).map_err(store_err)
    }

    fn take(&self, state: &str) -> atmo::oauth::Result<Option<AuthState>> {
        match self.db.take_state(state).map_err(store_err)? {
            Some(json) => Ok(Some(serde_json::from_str(&json).map_err(store_err)?)),
            None => Ok(None),
        }
    }
}

impl SessionStore for SqliteOAuthStore {
    fn load(&self, did: &Did) -> atmo::oauth::Result<Option<StoredSession>> {
        match self.db.load_session(did.as_str()).map_err(store_err)? {
            Some(json) => Ok(Some(serde_json::from_str(&json).map_err(store_err)?)),
            None => Ok(None),
        }
    }

    fn save(&self, session: &StoredSession) -> atmo::oauth::Result<()> {
        let json = serde_json::to_string(session).map_err(store_err)?;
        self.db
            .save_session(session.did().as_str(), &json)
            .map_err(store_err)
    }

    fn delete(&self, did: &Did) -> atmo::oauth::Result<()> {
        self.db.delete_session(did.as_str()).map_err(store_err)
    }
}
