//! The store contract, written once and run on every store: memory, files and (feature
//! `sqlite`) SQLite. "Two handles" are two values over the same storage (the same
//! memory store twice; two file stores on one directory; two SQLite stores on one
//! file), standing for two processes.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use atmo_syntax::Did;

use crate::dpop::DpopKey;
use crate::jose::now_secs;
use crate::metadata::AuthorizationServerMetadata;
use crate::protocol::TokenSet;
use crate::scope::ScopeSet;
use crate::store::{
    AuthState, FileSessionStore, FileStateStore, MemorySessionStore, MemoryStateStore,
    SessionStore, StateStore, StoredSession,
};

fn server() -> AuthorizationServerMetadata {
    let issuer = "https://auth.example.com";
    let doc = serde_json::json!({
      "issuer": issuer,
      "authorization_endpoint": format!("{issuer}/oauth/authorize"),
      "token_endpoint": format!("{issuer}/oauth/token"),
      "revocation_endpoint": format!("{issuer}/oauth/revoke"),
      "pushed_authorization_request_endpoint": format!("{issuer}/oauth/par"),
      "require_pushed_authorization_requests": true,
      "response_types_supported": ["code"],
      "grant_types_supported": ["authorization_code", "refresh_token"],
      "code_challenge_methods_supported": ["S256"],
      "dpop_signing_alg_values_supported": ["ES256"],
      "scopes_supported": ["atproto", "transition:generic"],
      "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
      "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
      "authorization_response_iss_parameter_supported": true,
      "client_id_metadata_document_supported": true
    });
    AuthorizationServerMetadata::parse(doc.to_string().as_bytes(), issuer).unwrap()
}

fn auth_state(app: &str, expires_at: u64) -> AuthState {
    AuthState {
        server: server(),
        dpop_key: DpopKey::generate().unwrap(),
        verifier: format!("verifier-{app}"),
        redirect_uri: "https://app.example.com/callback".into(),
        expected_did: Some("did:plc:abc".parse().unwrap()),
        app_state: Some(app.into()),
        expires_at,
    }
}

fn session(did: &str, refresh: &str) -> StoredSession {
    StoredSession::new(
        "https://app.example.com/client-metadata.json".into(),
        server(),
        atmo_syntax::ServiceUrl::new("https://pds.example.com").unwrap(),
        DpopKey::generate().unwrap(),
        TokenSet {
            sub: did.parse().unwrap(),
            iss: "https://auth.example.com".into(),
            access_token: format!("access-{refresh}"),
            refresh_token: Some(refresh.into()),
            scope: ScopeSet::generic(),
            expires_at: Some(now_secs() + 300),
        },
    )
}

/// A state is taken once; takes of unknown states find nothing; states are independent.
fn state_is_taken_once(a: &dyn StateStore, b: &dyn StateStore) {
    let later = now_secs() + 600;
    let s1 = auth_state("one", later);
    let s2 = auth_state("two", later);
    a.put("s1", &s1).unwrap();
    a.put("s2", &s2).unwrap();
    assert!(a.take("unknown").unwrap().is_none());
    assert_eq!(b.take("s1").unwrap(), Some(s1));
    assert!(
        a.take("s1").unwrap().is_none(),
        "a second take finds nothing"
    );
    assert!(b.take("s1").unwrap().is_none());
    // Put again under the same state: the newest wins.
    let s2b = auth_state("two-b", later);
    b.put("s2", &s2b).unwrap();
    assert_eq!(a.take("s2").unwrap(), Some(s2b));
}

/// An expired state is never handed out as live: it is gone, or comes back with its
/// expiry (the callback then says `StateExpired`).
fn expired_state_is_not_live(a: &dyn StateStore) {
    let old = auth_state("old", now_secs() - 10);
    a.put("old", &old).unwrap();
    a.put("new", &auth_state("new", now_secs() + 600)).unwrap();
    if let Some(s) = a.take("old").unwrap() {
        assert!(s.expires_at <= now_secs());
    }
}

/// Of many handles taking one state at once, exactly one gets it.
fn concurrent_takes_hand_it_out_once(handles: &[&dyn StateStore]) {
    for round in 0..5 {
        let state = format!("race-{round}");
        handles[0]
            .put(&state, &auth_state("race", now_secs() + 600))
            .unwrap();
        let won = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for h in handles.iter().cycle().take(8) {
                let (won, state) = (&won, &state);
                s.spawn(move || {
                    if h.take(state).unwrap().is_some() {
                        won.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
        });
        assert_eq!(won.load(Ordering::SeqCst), 1, "round {round}");
    }
}

/// Sessions by DID: load what was saved, the latest save wins, delete forgets (twice is
/// fine), DIDs are independent.
fn sessions_by_did(a: &dyn SessionStore, b: &dyn SessionStore) {
    let alice: Did = "did:plc:alice".parse().unwrap();
    let bob: Did = "did:web:bob.example.com".parse().unwrap();
    assert!(a.load(&alice).unwrap().is_none());
    let s1 = session(alice.as_str(), "r1");
    a.save(&s1).unwrap();
    assert_eq!(b.load(&alice).unwrap(), Some(s1.clone()));
    let s2 = StoredSession {
        tokens: TokenSet {
            refresh_token: Some("r2".into()),
            ..s1.tokens.clone()
        },
        ..s1.clone()
    };
    b.save(&s2).unwrap();
    assert_eq!(a.load(&alice).unwrap(), Some(s2));
    let sb = session(bob.as_str(), "rb");
    a.save(&sb).unwrap();
    b.delete(&alice).unwrap();
    assert!(a.load(&alice).unwrap().is_none());
    a.delete(&alice).unwrap();
    assert_eq!(b.load(&bob).unwrap(), Some(sb));
}

/// The session lock is exclusive across handles (processes), per DID; dropping the
/// guard lets the next one in.
fn lock_is_exclusive(a: &dyn SessionStore, b: &dyn SessionStore) {
    let did: Did = "did:plc:locked".parse().unwrap();
    let other: Did = "did:plc:other".parse().unwrap();
    let guard = a.lock(&did).unwrap();
    // Another DID is not held up.
    drop(b.lock(&other).unwrap());
    let released = AtomicBool::new(false);
    std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            let started = Instant::now();
            let g = b.lock(&did).unwrap();
            assert!(
                released.load(Ordering::SeqCst),
                "the lock was taken while held"
            );
            drop(g);
            started.elapsed()
        });
        std::thread::sleep(Duration::from_millis(300));
        released.store(true, Ordering::SeqCst);
        drop(guard);
        let waited = waiter.join().unwrap();
        assert!(waited >= Duration::from_millis(250), "{waited:?}");
    });
    // Free again.
    drop(a.lock(&did).unwrap());
}

/// Two handles doing "lock, load, refresh (a new token), save" on one session, each
/// several times: no refresh token is spent twice, and the last one saved is the
/// newest (what `OAuthSession`'s refresh relies on across processes).
fn refreshes_under_the_lock_do_not_clobber(a: &dyn SessionStore, b: &dyn SessionStore) {
    let did: Did = "did:plc:refresh".parse().unwrap();
    a.save(&session(did.as_str(), "0")).unwrap();
    let spent = std::sync::Mutex::new(Vec::<String>::new());
    std::thread::scope(|s| {
        for h in [a, b] {
            let (spent, did) = (&spent, &did);
            s.spawn(move || {
                for _ in 0..10 {
                    let _g = h.lock(did).unwrap();
                    let mut cur = h.load(did).unwrap().unwrap();
                    let token = cur.tokens.refresh_token.clone().unwrap();
                    spent.lock().unwrap().push(token.clone());
                    let next: u32 = token.parse::<u32>().unwrap() + 1;
                    std::thread::sleep(Duration::from_millis(2));
                    cur.tokens.refresh_token = Some(next.to_string());
                    h.save(&cur).unwrap();
                }
            });
        }
    });
    let mut spent = spent.into_inner().unwrap();
    spent.sort_by_key(|t| t.parse::<u32>().unwrap());
    let want: Vec<String> = (0..20).map(|i: u32| i.to_string()).collect();
    assert_eq!(spent, want, "each refresh token spent once, in order");
    let last = a.load(&did).unwrap().unwrap();
    assert_eq!(last.tokens.refresh_token.as_deref(), Some("20"));
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "atmo-oauth-store-{name}-{}-{}",
        std::process::id(),
        crate::jose::random_b64u(6).unwrap()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn memory_stores_keep_the_contract() {
    let states = MemoryStateStore::default();
    state_is_taken_once(&states, &states);
    expired_state_is_not_live(&states);
    concurrent_takes_hand_it_out_once(&[&states, &states]);
    let sessions = MemorySessionStore::default();
    sessions_by_did(&sessions, &sessions);
    // One process: the default lock takes nothing (OAuthSession's own state lock
    // serialises refreshes in the process), and never blocks.
    let did: Did = "did:plc:m".parse().unwrap();
    let g = sessions.lock(&did).unwrap();
    drop(sessions.lock(&did).unwrap());
    drop(g);
}

#[test]
fn file_stores_keep_the_contract() {
    let dir = temp_dir("file");
    let (a, b) = (FileStateStore::new(&dir), FileStateStore::new(&dir));
    state_is_taken_once(&a, &b);
    expired_state_is_not_live(&a);
    concurrent_takes_hand_it_out_once(&[&a, &b]);
    let (a, b) = (FileSessionStore::new(&dir), FileSessionStore::new(&dir));
    sessions_by_did(&a, &b);
    lock_is_exclusive(&a, &b);
    refreshes_under_the_lock_do_not_clobber(&a, &b);
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_stores_keep_the_contract() {
    use crate::sqlite::SqliteStore;
    let dir = temp_dir("sqlite");
    let file = dir.join("oauth.db");
    let (a, b) = (
        SqliteStore::open(&file).unwrap(),
        SqliteStore::open(&file).unwrap(),
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "tokens and keys: owner only");
    }
    state_is_taken_once(&a, &b);
    expired_state_is_not_live(&a);
    concurrent_takes_hand_it_out_once(&[&a, &b]);
    sessions_by_did(&a, &b);
    lock_is_exclusive(&a, &b);
    refreshes_under_the_lock_do_not_clobber(&a, &b);
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_lock_of_a_dead_holder_expires() {
    use crate::sqlite::SqliteStore;
    let dir = temp_dir("sqlite-lease");
    let file = dir.join("oauth.db");
    let a = SqliteStore::open(&file)
        .unwrap()
        .lock_lease(Duration::from_secs(1));
    let b = SqliteStore::open(&file).unwrap();
    let did: Did = "did:plc:dead".parse().unwrap();
    // A holder that never releases (a process that died mid-refresh).
    std::mem::forget(a.lock(&did).unwrap());
    let started = Instant::now();
    drop(b.lock(&did).unwrap());
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(500) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    // In memory: a private database per store, still a working store.
    let m = SqliteStore::open(":memory:").unwrap();
    state_is_taken_once(&m, &m);
    sessions_by_did(&m, &m);
    let _ = std::fs::remove_dir_all(&dir);
}
