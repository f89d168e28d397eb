//! `atmo login --oauth`: the loopback OAuth client. The sessions live in
//! `$XDG_STATE_HOME/atmo/oauth/sessions` (or `$ATMO_OAUTH_DIR/sessions`, 0600 files) and
//! the account in use in `.../oauth/current`; `whoami` and `logout` use them.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use atmo_http::{ConnectPolicy, HttpClient};
use atmo_oauth::{
    AuthorizeOptions, ClientMetadata, FileSessionStore, FileStateStore, OAuthClient, OAuthSession,
    ScopeSet,
};
use atmo_syntax::Did;

use super::GlobalArgs;
use crate::error::CliError;
use crate::io::println;
use crate::net::{resolver, runtime, xrpc_err};

/// How long `login --oauth` waits for the browser.
const WAIT: Duration = Duration::from_secs(300);

fn oauth_err(e: atmo_oauth::Error) -> CliError {
    CliError::failed(e)
}

fn dir() -> Result<PathBuf, CliError> {
    atmo_oauth::default_store_dir().map_err(oauth_err)
}

fn current_file() -> Result<PathBuf, CliError> {
    Ok(dir()?.join("current"))
}

/// The DID of the OAuth account in use, if any.
pub(crate) fn current() -> Result<Option<Did>, CliError> {
    // No state directory at all: no OAuth session either.
    let Ok(file) = current_file() else {
        return Ok(None);
    };
    match std::fs::read_to_string(file) {
        Ok(s) => Did::new(s.trim())
            .map(Some)
            .map_err(|e| CliError::failed(format!("the current OAuth account file: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CliError::failed(e)),
    }
}

/// Forgets which OAuth account is in use (an app-password login replaces it).
pub(crate) fn forget_current() -> Result<(), CliError> {
    let Ok(file) = current_file() else {
        return Ok(());
    };
    match std::fs::remove_file(file) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CliError::failed(e)),
    }
}

fn client(meta: ClientMetadata, global: &GlobalArgs) -> Result<OAuthClient, CliError> {
    let http = HttpClient::builder()
        .policy(ConnectPolicy::default().allow_private_network(global.allow_private_network))
        .build()
        .map_err(CliError::failed)?;
    let d = dir()?;
    OAuthClient::builder(meta)
        .http(http)
        .resolver(resolver(global)?)
        .session_store(Arc::new(FileSessionStore::new(d.join("sessions"))))
        .state_store(Arc::new(FileStateStore::new(d.join("states"))))
        .build()
        .map_err(oauth_err)
}

/// The stored session of the account in use.
pub(crate) fn session(global: &GlobalArgs) -> Result<Option<OAuthSession>, CliError> {
    let Some(did) = current()? else {
        return Ok(None);
    };
    let store = FileSessionStore::new(dir()?.join("sessions"));
    let Some(data) = atmo_oauth::SessionStore::load(&store, &did).map_err(oauth_err)? else {
        return Ok(None);
    };
    let meta = ClientMetadata::from_loopback_client_id(&data.client_id).map_err(oauth_err)?;
    Ok(Some(client(meta, global)?.session_from(data)))
}

/// Waits for `GET /callback?...` on `listener`, answers the browser with a short page,
/// and hands back the query.
fn wait_for_callback(listener: &TcpListener) -> Result<String, CliError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let l = listener.try_clone().map_err(CliError::failed)?;
    std::thread::spawn(move || {
        for stream in l.incoming() {
            let Ok(mut s) = stream else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let mut line = String::new();
            if BufReader::new((&s).take(8 * 1024))
                .read_line(&mut line)
                .is_err()
            {
                continue;
            }
            let target = line.split(' ').nth(1).unwrap_or("/").to_owned();
            let (status, page) = match target.strip_prefix("/callback") {
                Some(q) if q.starts_with('?') => (
                    "200 OK",
                    "<!doctype html><title>atmo</title><p>Done: you can close this window and go back to the terminal.",
                ),
                _ => (
                    "404 Not Found",
                    "<!doctype html><title>atmo</title><p>Not here.",
                ),
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                page.len()
            );
            if status.starts_with("200") {
                let _ = tx.send(target);
                return;
            }
        }
    });
    rx.recv_timeout(WAIT).map_err(|_| {
        CliError::failed(
            "no answer from the browser within 5 minutes; run atmo login --oauth again",
        )
    })
}

fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let _ = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

/// `atmo login --oauth IDENTIFIER [--scope SCOPES] [--port N] [--no-browser]`.
pub(crate) fn login(
    identifier: &str,
    scope: Option<&str>,
    port: Option<u16>,
    no_browser: bool,
    global: &GlobalArgs,
) -> Result<(), CliError> {
    let scope = match scope {
        Some(s) => ScopeSet::parse(s).map_err(CliError::usage)?,
        None => ScopeSet::generic(),
    };
    let listener = TcpListener::bind(("127.0.0.1", port.unwrap_or(0)))
        .map_err(|e| CliError::failed(format!("cannot listen on 127.0.0.1: {e}")))?;
    let port = listener.local_addr().map_err(CliError::failed)?.port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let meta = ClientMetadata::loopback(&[redirect], &scope).map_err(oauth_err)?;
    let client = client(meta, global)?;
    let rt = runtime()?;
    let url = rt
        .block_on(client.authorize(identifier, AuthorizeOptions::default().with_scope(scope)))
        .map_err(oauth_err)?;
    println(&url)?;
    if !no_browser {
        open_browser(&url);
    }
    let target = wait_for_callback(&listener)?;
    let (session, _) = rt.block_on(client.callback(&target)).map_err(oauth_err)?;
    let d = dir()?;
    std::fs::create_dir_all(&d).map_err(CliError::failed)?;
    std::fs::write(d.join("current"), session.did().as_str()).map_err(CliError::failed)?;
    // One session at a time: the app-password session gives way.
    if let Ok(store) = crate::net::store() {
        let _ = atmo_xrpc::SessionStore::delete(store.as_ref());
    }
    eprintln!("logged in with OAuth as {}", session.did());
    Ok(())
}

/// `atmo whoami` for an OAuth session.
pub(crate) fn whoami(session: &OAuthSession, json: bool) -> Result<(), CliError> {
    runtime()?.block_on(async {
        let client = session.xrpc_client().map_err(oauth_err)?;
        let req =
            atmo_xrpc::XrpcRequest::query("com.atproto.server.getSession").map_err(xrpc_err)?;
        let me = client
            .send_authed(&req)
            .await
            .map_err(xrpc_err)?
            .value()
            .map_err(xrpc_err)?;
        let handle = me
            .get("handle")
            .and_then(|h| h.as_str())
            .unwrap_or("handle.invalid")
            .to_owned();
        let pds = session.pds().to_owned();
        let scope = session.scope().await.to_string();
        if json {
            println(
                &serde_json::json!({
                    "did": session.did(), "handle": handle, "pds": pds,
                    "auth": "oauth", "scope": scope,
                })
                .to_string(),
            )
        } else {
            println(&format!("{handle}\t{}\t{pds}\toauth", session.did()))
        }
    })
}

/// `atmo logout` for an OAuth session: revoke, then forget.
pub(crate) fn logout(session: &OAuthSession) -> Result<(), CliError> {
    let revoked = runtime()?.block_on(session.sign_out()).map_err(oauth_err)?;
    forget_current()?;
    if !revoked {
        eprintln!(
            "warning: the authorization server did not confirm the revocation; the session is forgotten here"
        );
    }
    Ok(())
}
