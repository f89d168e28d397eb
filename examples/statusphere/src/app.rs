//! Start-up: the database, the OAuth client, the ingester and the HTTP server.

use std::net::SocketAddr;
use std::sync::Arc;

use atmo::http::{ConnectPolicy, HttpClient};
use atmo::identity::{Resolver, ResolverConfig};
use atmo::oauth::{ClientMetadata, OAuthClient, ScopeSet, SqliteStore};
use atmo::syntax::TidClock;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::cookie::CookieKey;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::handles::Handles;
use crate::ingester::{self, IngesterConfig};
use crate::lexicon::Validator;
use crate::web::{self, AppState};

fn setup(what: &'static str) -> impl FnOnce(&dyn std::fmt::Display) -> Error {
    move |e| Error::Setup {
        what,
        message: e.to_string(),
    }
}

fn random_key() -> Result<Vec<u8>> {
    let mut k = vec![0u8; 32];
    getrandom::fill(&mut k).map_err(|e| Error::Random {
        reason: e.to_string(),
    })?;
    Ok(k)
}

/// The URL the app is reached at: the public URL, else the loopback address it listens
/// on (a loopback OAuth client must use the loopback IP, not `localhost`).
pub fn base_url(config: &Config, addr: SocketAddr) -> String {
    if let Some(url) = &config.public_url {
        return url.clone();
    }
    let ip = if addr.ip().is_loopback() {
        addr.ip().to_string()
    } else {
        "127.0.0.1".to_owned()
    };
    let host = if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip
    };
    format!("http://{host}:{}", addr.port())
}

/// The request handlers' state: the OAuth client (public web client when a public URL
/// is configured, else loopback; sessions in `db`), the resolver, the validator.
///
/// # Errors
///
/// [`Error::Setup`] when the OAuth or HTTP client cannot be built; [`Error::Lexicon`].
pub fn build_state(config: &Config, db: Arc<Db>, key: Vec<u8>, base: &str) -> Result<AppState> {
    let scope = ScopeSet::generic();
    let redirect = [format!("{base}/oauth/callback")];
    let metadata = match &config.public_url {
        Some(_) => {
            ClientMetadata::public_web(&format!("{base}/client-metadata.json"), &redirect, &scope)
        }
        None => ClientMetadata::loopback(&redirect, &scope),
    }
    .map_err(|e| setup("OAuth client metadata")(&e))?;
    let http = HttpClient::builder()
        .policy(ConnectPolicy::default().allow_private_network(config.allow_private_network))
        .build()
        .map_err(|e| setup("HTTP client")(&e))?;
    let mut rc = ResolverConfig::default();
    rc.plc_url = config.plc_url.clone();
    rc.allow_private_network = config.allow_private_network;
    rc.handle_resolver = config.handle_resolver.clone();
    rc.use_dns = config.handle_resolver.is_none();
    let resolver = Resolver::with_http(rc, http.clone());
    // atmo-oauth's own SQLite store, on the app's database file (its own connection and
    // `atmo_oauth_*` tables; for `:memory:` a private in-memory database).
    let store = Arc::new(SqliteStore::open(db.path()).map_err(|e| setup("OAuth store")(&e))?);
    let oauth = OAuthClient::builder(metadata)
        .http(http)
        .resolver(resolver.clone())
        .state_store(store.clone())
        .session_store(store)
        .build()
        .map_err(|e| setup("OAuth client")(&e))?;
    Ok(AppState {
        db,
        oauth,
        validator: Arc::new(Validator::new()?),
        handles: Handles::new(resolver),
        key: CookieKey::new(key),
        secure_cookies: base.starts_with("https://"),
        tids: TidClock::new(),
    })
}

/// Runs the app until Ctrl-C or SIGTERM. Prints `statusphere: listening on <url>` on
/// stdout once it accepts requests.
///
/// # Errors
///
/// Configuration, database and listening errors.
pub async fn run(config: Config) -> Result<()> {
    let db = Arc::new(Db::open(&config.db_path)?);
    let key = match &config.cookie_secret {
        Some(s) => s.as_bytes().to_vec(),
        None => db.secret("cookie-key", random_key)?,
    };
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|source| Error::Serve {
            addr: config.bind.to_string(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| Error::Serve {
        addr: config.bind.to_string(),
        source,
    })?;
    let base = base_url(&config, addr);
    let state = build_state(&config, db.clone(), key, &base)?;
    let ingest = IngesterConfig {
        host: config.firehose.clone(),
        plc_url: config.plc_url.clone(),
        allow_private_network: config.allow_private_network,
    };
    let (idb, ival, ihandles) = (db, state.validator.clone(), state.handles.clone());
    tokio::spawn(async move {
        if let Err(e) = ingester::run(idb, ival, ihandles, ingest).await {
            tracing::error!(error = %e, "ingester stopped");
        }
    });

    let state = Arc::new(state);
    println!("statusphere: listening on {base}/");
    axum::serve(listener, web::router(state))
        .with_graceful_shutdown(shutdown())
        .await
        .map_err(|source| Error::Serve {
            addr: addr.to_string(),
            source,
        })
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("shutting down");
}
