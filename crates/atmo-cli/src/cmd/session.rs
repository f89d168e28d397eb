//! `atmo login`, `atmo logout`, `atmo whoami`: app-password sessions kept in a file
//! (`$ATMO_SESSION_FILE`, else `$XDG_STATE_HOME/atmo/session.json`, else
//! `~/.local/state/atmo/session.json`, mode 0600).

use std::io::{BufRead as _, IsTerminal as _};

use super::GlobalArgs;
use crate::error::CliError;
use crate::io::println;
use atmo_xrpc::{PasswordSession, XrpcRequest};

use crate::net::{client_for, password_session, pds_for, runtime, store, xrpc_err};

/// Arguments of `atmo login`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Without --pds, the PDS is the one the account's DID document names.\n\
                  The app password comes from ATMO_APP_PASSWORD, else from a prompt (not echoed\n\
                  on a terminal) or one line of standard input.\n\n\
                  Examples:\n  atmo login alice.bsky.social\n  \
                  ATMO_APP_PASSWORD=xxxx-xxxx-xxxx-xxxx atmo login did:plc:abc --pds https://pds.example"
)]
pub(crate) struct LoginArgs {
    /// The account: a handle or a DID (with --oauth, also a PDS or entryway URL).
    identifier: String,
    /// Sign in with OAuth (a loopback client and the browser) instead of an app password.
    #[arg(long)]
    oauth: bool,
    /// With --oauth: the scopes to ask for (default "atproto transition:generic").
    #[arg(long, requires = "oauth")]
    scope: Option<String>,
    /// With --oauth: the port to listen on at 127.0.0.1 (default any free port).
    #[arg(long, requires = "oauth")]
    port: Option<u16>,
    /// With --oauth: print the URL without trying to open a browser.
    #[arg(long, requires = "oauth")]
    no_browser: bool,
    /// Network options.
    #[command(flatten)]
    pub(crate) net: super::GlobalArgs,
}

/// Arguments of `atmo logout`.
#[derive(Debug, clap::Args)]
pub(crate) struct LogoutArgs {
    /// Network options.
    #[command(flatten)]
    pub(crate) net: super::GlobalArgs,
}

/// Arguments of `atmo whoami`.
#[derive(Debug, clap::Args)]
pub(crate) struct WhoamiArgs {
    /// One JSON object {"did","handle","pds","auth","scope"} ("auth": "oauth" or
    /// "app-password"; "scope": the OAuth scopes granted, null for an app password).
    #[arg(long)]
    json: bool,
    /// Network options.
    #[command(flatten)]
    pub(crate) net: super::GlobalArgs,
}

/// The app password: `ATMO_APP_PASSWORD`, else a prompt on standard error and one line
/// from standard input (not echoed when standard input is a terminal).
fn password() -> Result<String, CliError> {
    if let Some(p) = std::env::var_os("ATMO_APP_PASSWORD").filter(|p| !p.is_empty()) {
        return p
            .into_string()
            .map_err(|_| CliError::failed("ATMO_APP_PASSWORD is not UTF-8"));
    }
    let line = if std::io::stdin().is_terminal() {
        eprint!("App password: ");
        match read_hidden() {
            Some(line) => {
                eprintln!();
                line
            }
            None => {
                eprint!("\r(cannot turn off echo: the password will be shown) App password: ");
                read_line()?
            }
        }
    } else {
        read_line()?
    };
    let p = line.trim_end_matches(['\r', '\n']).to_owned();
    if p.is_empty() {
        return Err(CliError::failed(
            "no app password given (set ATMO_APP_PASSWORD)",
        ));
    }
    Ok(p)
}

fn read_line() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::failed(format!("cannot read the app password: {e}")))?;
    Ok(line)
}

/// Reads one line from the terminal with echo off, through `/bin/sh` and `stty` (no
/// terminal library needed). The shell turns echo back on when it exits, including on
/// Ctrl-C, which also reaches it. `None` when echo cannot be turned off.
#[cfg(unix)]
fn read_hidden() -> Option<String> {
    const SCRIPT: &str = "stty -echo 2>/dev/null || exit 3; \
        trap 'stty echo 2>/dev/null' EXIT; trap 'exit 130' INT TERM HUP; \
        IFS= read -r p; printf '%s' \"$p\"";
    let out = std::process::Command::new("/bin/sh")
        .args(["-c", SCRIPT])
        .stdin(std::process::Stdio::inherit())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .output()
        .ok()?;
    match out.status.code() {
        Some(3) => None,
        Some(0 | 1) => String::from_utf8(out.stdout).ok(),
        // Interrupted: the terminal is restored; stop here.
        _ => std::process::exit(130),
    }
}

#[cfg(not(unix))]
fn read_hidden() -> Option<String> {
    None
}

/// `atmo login`: with --pds, on that service; otherwise on the PDS the account's DID
/// document names (resolved with --plc, --handle-resolver, --allow-private-network).
pub(crate) fn login(args: LoginArgs, global: &GlobalArgs) -> Result<(), CliError> {
    if args.oauth {
        return super::oauth::login(
            &args.identifier,
            args.scope.as_deref(),
            args.port,
            args.no_browser,
            global,
        );
    }
    let rt = runtime()?;
    let (pds, identifier) = match &global.pds {
        Some(p) => (p.clone(), args.identifier.clone()),
        None => {
            let (did, pds) = rt.block_on(pds_for(&args.identifier, global))?;
            (pds, did.to_string())
        }
    };
    let password = password()?;
    rt.block_on(async {
        let client = client_for(&pds, global)?;
        let session = PasswordSession::login_with_store(&client, &identifier, &password, store()?)
            .await
            .map_err(xrpc_err)?;
        let s = session.data().await;
        super::oauth::forget_current()?;
        eprintln!("logged in as {} ({}) on {}", s.handle, s.did, s.pds);
        Ok(())
    })
}

/// `atmo logout`.
pub(crate) fn logout(_args: LogoutArgs, global: &GlobalArgs) -> Result<(), CliError> {
    if let Some(s) = super::oauth::session(global)? {
        return super::oauth::logout(&s);
    }
    runtime()?.block_on(async {
        let (_, session) = password_session(global).await?;
        session.logout().await.map_err(xrpc_err)
    })
}

/// `atmo whoami`.
pub(crate) fn whoami(args: WhoamiArgs, global: &GlobalArgs) -> Result<(), CliError> {
    if let Some(s) = super::oauth::session(global)? {
        return super::oauth::whoami(&s, args.json);
    }
    runtime()?.block_on(async {
        let (client, session) = password_session(global).await?;
        let req = XrpcRequest::query("com.atproto.server.getSession").map_err(xrpc_err)?;
        let me = client
            .send_authed(&req)
            .await
            .map_err(xrpc_err)?
            .value()
            .map_err(xrpc_err)?;
        let s = session.data().await;
        let handle = me
            .get("handle")
            .and_then(|h| h.as_str())
            .unwrap_or(s.handle.as_str())
            .to_owned();
        if args.json {
            println(
                &serde_json::json!({
                    "did": s.did, "handle": handle, "pds": s.pds,
                    "auth": "app-password", "scope": null,
                })
                .to_string(),
            )
        } else {
            println(&format!("{handle}\t{}\t{}", s.did, s.pds))
        }
    })
}
