//! The SQLite database: migrations, the `status` table the firehose fills, the
//! firehose cursor, and small key-value tables for secrets and OAuth data.

use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension as _, params};

use crate::error::{Error, Result};

/// The schema, one step per entry; `PRAGMA user_version` counts the steps applied.
const MIGRATIONS: &[&str] = &[
    // 1: the tutorial's status table, the cursor, secrets.
    "CREATE TABLE status (
        uri TEXT PRIMARY KEY,
        authorDid TEXT NOT NULL,
        status TEXT NOT NULL,
        createdAt TEXT NOT NULL,
        indexedAt TEXT NOT NULL
    );
    CREATE INDEX status_indexed ON status (indexedAt DESC);
    CREATE INDEX status_author ON status (authorDid, indexedAt DESC);
    CREATE TABLE cursor (host TEXT PRIMARY KEY, seq INTEGER NOT NULL);
    CREATE TABLE secret (name TEXT PRIMARY KEY, value BLOB NOT NULL);",
    // 2: OAuth sign-ins in progress and sessions (atmo-oauth's store traits).
    "CREATE TABLE oauth_state (state TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at INTEGER NOT NULL);
    CREATE TABLE oauth_session (did TEXT PRIMARY KEY, data TEXT NOT NULL);",
    // 3: those moved to atmo-oauth's `SqliteStore` (its `atmo_oauth_*` tables).
    "DROP TABLE oauth_state;
    DROP TABLE oauth_session;",
];

/// One row of the `status` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    /// The record's AT-URI.
    pub uri: String,
    /// The author's DID.
    pub author_did: String,
    /// The emoji.
    pub status: String,
    /// The record's `createdAt`.
    pub created_at: String,
    /// When this app first saw it.
    pub indexed_at: String,
}

/// A change from one firehose commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A record created or updated.
    Upsert(StatusRow),
    /// A record deleted (by URI).
    Delete(String),
}

/// The database: one connection behind a lock (the app's queries are small).
#[derive(Debug)]
pub struct Db {
    conn: Mutex<Connection>,
    path: String,
}

impl Db {
    /// Opens (or creates) the database at `path` and brings its schema up to date.
    /// `:memory:` gives a private in-memory database.
    ///
    /// # Errors
    ///
    /// [`Error::Db`].
    pub fn open(path: &str) -> Result<Self> {
        let conn = Connection::open(path).map_err(Error::db("open"))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(Error::db("busy timeout"))?;
        if path != ":memory:" {
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(Error::db("WAL"))?;
        }
        let db = Self {
            conn: Mutex::new(conn),
            path: path.to_owned(),
        };
        db.migrate()?;
        Ok(db)
    }

    /// Where it was opened (`:memory:` for a private in-memory database).
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-done transaction behind
        // (rusqlite rolls back on drop), so a poisoned lock is still usable.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn migrate(&self) -> Result<()> {
        let mut conn = self.lock();
        let done: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(Error::db("read schema version"))?;
        for (i, sql) in MIGRATIONS.iter().enumerate() {
            let step = i64::try_from(i).unwrap_or(i64::MAX) + 1;
            if step <= done {
                continue;
            }
            let tx = conn.transaction().map_err(Error::db("migrate"))?;
            tx.execute_batch(sql).map_err(Error::db("migrate"))?;
            tx.pragma_update(None, "user_version", step)
                .map_err(Error::db("migrate"))?;
            tx.commit().map_err(Error::db("migrate"))?;
            tracing::info!(step, "database migrated");
        }
        Ok(())
    }

    /// Inserts a status, or updates the emoji and date of the one with the same URI
    /// (its `indexedAt` stays the first one seen). Returns whether a row was new.
    ///
    /// # Errors
    ///
    /// [`Error::Db`].
    pub fn upsert_status(&self, row: &StatusRow) -> Result<bool> {
        let conn = self.lock();
        upsert(&conn, row)
    }

    /// Applies one firehose commit's changes and stores the cursor, in one transaction:
    /// after a crash either both happened or neither did.
    ///
    /// # Errors
    ///
    /// [`Error::Db`].
    pub fn apply(&self, host: &str, seq: i64, changes: &[Change]) -> Result<()> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(Error::db("begin"))?;
        for c in changes {
            match c {
                Change::Upsert(row) => {
                    upsert(&tx, row)?;
                }
                Change::Delete(uri) => {
                    tx.execute("DELETE FROM status WHERE uri = ?1", params![uri])
                        .map_err(Error::db("delete status"))?;
                }
            }
        }
        tx.execute(
            "INSERT INTO cursor (host, seq) VALUES (?1, ?2)
             ON CONFLICT (host) DO UPDATE SET seq = excluded.seq",
            params![host, seq],
        )
        .map_err(Error::db("save cursor"))?;
        tx.commit().map_err(Error::db("commit"))
    }

    /// The stored firehose cursor for `host`.
    ///
    /// # Errors
    ///
    /// [`Error::Db`].
    pub fn cursor(&self, host: &str) -> Result<Option<i64>> {
        self.lock()
            .query_row(
                "SELECT seq FROM cursor WHERE host = ?1",
                params![host],
                |r| r.get(0),
            )
            .optional()
            .map_err(Error::db("read cursor"))
    }

    /// The latest `limit` statuses, newest first.
    ///
    /// # Errors
    ///
    /// [`Error::Db`].
    pub fn latest(&self, limit: u32) -> Result<Vec<StatusRow>> {
        let conn = self.lock();
        let mut st = conn
            .prepare(
                "SELECT uri, authorDid, status, createdAt, indexedAt FROM status
                 ORDER BY indexedAt DESC, createdAt DESC LIMIT ?1",
            )
            .map_err(Error::db("list statuses"))?;
        let rows = st
            .query_map(params![limit], row)
            .map_err(Error::db("list statuses"))?;
        rows.collect::<Result<_, _>>()
            .map_err(Error::db("list statuses"))
    }

    /// The latest status of `did`.
    ///
    /// # Errors
    ///
    /// [`Error::Db`].
    pub fn latest_of(&self, did: &str) -> Result<Option<StatusRow>> {
        self.lock()
            .query_row(
                "SELECT uri, authorDid, status, createdAt, indexedAt FROM status
                 WHERE authorDid = ?1 ORDER BY indexedAt DESC, createdAt DESC LIMIT 1",
                params![did],
                row,
            )
            .optional()
            .map_err(Error::db("read status"))
    }

    /// The secret `name`, created from `make` the first time.
    ///
    /// # Errors
    ///
    /// [`Error::Db`], or `make`'s error.
    pub fn secret(&self, name: &str, make: impl FnOnce() -> Result<Vec<u8>>) -> Result<Vec<u8>> {
        let conn = self.lock();
        let found: Option<Vec<u8>> = conn
            .query_row(
                "SELECT value FROM secret WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()
            .map_err(Error::db("read secret"))?;
        if let Some(v) = found {
            return Ok(v);
        }
        let v = make()?;
        conn.execute(
            "INSERT INTO secret (name, value) VALUES (?1, ?2)",
            params![name, v],
        )
        .map_err(Error::db("save secret"))?;
        Ok(v)
    }
}

fn upsert(conn: &Connection, row: &StatusRow) -> Result<bool> {
    let n = conn
        .execute(
            "INSERT INTO status (uri, authorDid, status, createdAt, indexedAt)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (uri) DO UPDATE SET status = excluded.status, createdAt = excluded.createdAt
             WHERE status.status != excluded.status OR status.createdAt != excluded.createdAt",
            params![
                row.uri,
                row.author_did,
                row.status,
                row.created_at,
                row.indexed_at
            ],
        )
        .map_err(Error::db("save status"))?;
    Ok(n > 0)
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StatusRow> {
    Ok(StatusRow {
        uri: r.get(0)?,
        author_did: r.get(1)?,
        status: r.get(2)?,
        created_at: r.get(3)?,
        indexed_at: r.get(4)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(uri: &str, s: &str, at: &str) -> StatusRow {
        StatusRow {
            uri: uri.into(),
            author_did: "did:plc:a".into(),
            status: s.into(),
            created_at: at.into(),
            indexed_at: at.into(),
        }
    }

    #[test]
    fn upserts_are_idempotent_and_deletes_remove() {
        let db = Db::open(":memory:").unwrap();
        let a = status(
            "at://did:plc:a/xyz.statusphere.status/1",
            "👍",
            "2026-01-01T00:00:00Z",
        );
        assert!(db.upsert_status(&a).unwrap());
        // The firehose copy of the same record changes nothing.
        let mut again = a.clone();
        again.indexed_at = "2026-01-02T00:00:00Z".into();
        db.apply("h", 5, &[Change::Upsert(again)]).unwrap();
        assert_eq!(db.latest(10).unwrap(), vec![a.clone()]);
        assert_eq!(db.cursor("h").unwrap(), Some(5));
        assert_eq!(db.cursor("other").unwrap(), None);
        let b = status(
            "at://did:plc:a/xyz.statusphere.status/2",
            "🦋",
            "2026-01-03T00:00:00Z",
        );
        db.apply("h", 6, &[Change::Upsert(b.clone())]).unwrap();
        assert_eq!(db.latest_of("did:plc:a").unwrap(), Some(b.clone()));
        db.apply("h", 7, &[Change::Delete(b.uri.clone())]).unwrap();
        assert_eq!(db.latest(10).unwrap(), vec![a]);
        assert_eq!(db.cursor("h").unwrap(), Some(7));
    }

    #[test]
    fn migrations_run_once_and_secrets_stay() {
        let dir = std::env::temp_dir().join(format!("statusphere-db-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.sqlite");
        let path = path.to_str().unwrap();
        let s1 = Db::open(path)
            .unwrap()
            .secret("k", || Ok(vec![1, 2, 3]))
            .unwrap();
        let s2 = Db::open(path).unwrap().secret("k", || Ok(vec![9])).unwrap();
        assert_eq!(s1, s2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
