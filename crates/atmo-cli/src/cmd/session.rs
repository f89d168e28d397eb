//! `atmo login`, `atmo logout`, `atmo whoami`: app-password sessions kept in a file
//! (`$ATMO_SESSION_FILE`, else `$XDG_STATE_HOME/atmo/session.json`, else
//! `~/.local/state/atmo/session.json`, mode 0600).

use std::io::BufRead as _;
use std::sync::Arc;

use atmo_xrpc::{Client, FileSessionStore, SessionData, SessionStore};

use super::GlobalArgs;
use crate::error::CliError;
use crate::io::println;

/// Arguments of `atmo login`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The app password comes from ATMO_APP_PASSWORD, else from standard input.\nExample:\n  ATMO_APP_PASSWORD=xxxx-xxxx-xxxx-xxxx atmo login alice.bsky.social --pds https://bsky.social"
)]
pub(crate) struct LoginArgs {
    /// The account: a handle or a DID.
    identifier: String,
}

/// Arguments of `atmo logout`.
#[derive(Debug, clap::Args)]
pub(crate) struct LogoutArgs {}

/// Arguments of `atmo whoami`.
#[derive(Debug, clap::Args)]
pub(crate) struct WhoamiArgs {
    /// One JSON object {"did","handle","pds"}.
    #[arg(long)]
    json: bool,
}

/// A current-thread tokio runtime for one command.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failed(format!("cannot start the async runtime: {e}")))
}

pub(crate) fn xrpc_err(e: atmo_xrpc::Error) -> CliError {
    CliError::failed(e)
}

pub(crate) fn store() -> Result<Arc<FileSessionStore>, CliError> {
    FileSessionStore::at_default_path()
        .map(Arc::new)
        .map_err(xrpc_err)
}

/// A client for `url` (loopback http allowed with --allow-private-network or always for
/// loopback hosts).
pub(crate) fn client_for(url: &str, global: &GlobalArgs) -> Result<Client, CliError> {
    Client::builder(url)
        .allow_insecure_http(global.allow_private_network)
        .session_store(store()?)
        .build()
        .map_err(xrpc_err)
}

/// The stored session's client, or an exit-1 error that says to log in.
pub(crate) async fn session_client(global: &GlobalArgs) -> Result<(Client, SessionData), CliError> {
    let st = store()?;
    let Some(session) = st.load().map_err(xrpc_err)? else {
        return Err(CliError::failed(format!(
            "not logged in (no session in {}): run `atmo login HANDLE --pds URL` first",
            st.path().display()
        )));
    };
    let pds = global.pds.clone().unwrap_or_else(|| session.pds.clone());
    let client = client_for(&pds, global)?;
    client.set_session(session.clone()).await;
    Ok((client, session))
}

/// A client for reads: the --pds, else the session's PDS.
pub(crate) fn read_client(global: &GlobalArgs) -> Result<Client, CliError> {
    if let Some(p) = &global.pds {
        return client_for(p, global);
    }
    match store()?.load().map_err(xrpc_err)? {
        Some(s) => client_for(&s.pds, global),
        None => Err(CliError::failed(
            "no PDS to ask: pass --pds URL (or log in first; resolving the account's PDS is not wired yet)",
        )),
    }
}

fn password() -> Result<String, CliError> {
    if let Some(p) = std::env::var_os("ATMO_APP_PASSWORD").filter(|p| !p.is_empty()) {
        return p
            .into_string()
            .map_err(|_| CliError::failed("ATMO_APP_PASSWORD is not UTF-8"));
    }
    eprint!("App password: ");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::failed(format!("cannot read the app password: {e}")))?;
    let p = line.trim_end_matches(['\r', '\n']).to_owned();
    if p.is_empty() {
        return Err(CliError::failed(
            "no app password given (set ATMO_APP_PASSWORD)",
        ));
    }
    Ok(p)
}

/// `atmo login`.
pub(crate) fn login(args: LoginArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let Some(pds) = global.pds.clone() else {
        return Err(CliError::failed(
            "atmo login needs --pds URL for now: finding the account's PDS from its handle or DID is not wired yet",
        ));
    };
    let password = password()?;
    runtime()?.block_on(async {
        let client = client_for(&pds, global)?;
        let s = client
            .login(&args.identifier, &password)
            .await
            .map_err(xrpc_err)?;
        eprintln!("logged in as {} ({}) on {}", s.handle, s.did, s.pds);
        Ok(())
    })
}

/// `atmo logout`.
pub(crate) fn logout(_args: LogoutArgs, global: &GlobalArgs) -> Result<(), CliError> {
    runtime()?.block_on(async {
        let (client, _) = session_client(global).await?;
        client.logout().await.map_err(xrpc_err)
    })
}

/// `atmo whoami`.
pub(crate) fn whoami(args: WhoamiArgs, global: &GlobalArgs) -> Result<(), CliError> {
    runtime()?.block_on(async {
        let (client, _) = session_client(global).await?;
        let me = client.get_session().await.map_err(xrpc_err)?;
        let s = client
            .session()
            .await
            .ok_or_else(|| CliError::failed("session lost"))?;
        let handle = me
            .get("handle")
            .and_then(|h| h.as_str())
            .unwrap_or(&s.handle)
            .to_owned();
        if args.json {
            println(
                &serde_json::json!({ "did": s.did, "handle": handle, "pds": s.pds }).to_string(),
            )
        } else {
            println(&format!("{handle}\t{}\t{}", s.did, s.pds))
        }
    })
}
