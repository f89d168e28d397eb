//! What the network commands share: the async runtime, the session store, XRPC clients,
//! the identity resolver built from the global options, and "where does this account
//! live" (its DID and PDS), plus a progress line for downloads.

use std::io::{IsTerminal as _, Write as _};
use std::sync::Arc;
use std::time::{Duration, Instant};

use atmo_http::ConnectPolicy;
use atmo_identity::{Resolver, ResolverConfig};
use atmo_syntax::{AtIdentifier, Did};
use atmo_xrpc::{
    Client, FileSessionStore, PasswordSession, SessionData, SessionStore as _, XrpcRequest,
};

use crate::cmd::GlobalArgs;
use crate::error::CliError;

/// A current-thread tokio runtime for one command.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failed(format!("cannot start the async runtime: {e}")))
}

/// An XRPC error as an exit-1 failure.
pub(crate) fn xrpc_err(e: atmo_xrpc::Error) -> CliError {
    CliError::failed(e)
}

/// The session file store (`$ATMO_SESSION_FILE`, else under the XDG state directory).
pub(crate) fn store() -> Result<Arc<FileSessionStore>, CliError> {
    FileSessionStore::at_default_path()
        .map(Arc::new)
        .map_err(xrpc_err)
}

/// The stored session, if any.
pub(crate) fn stored_session() -> Result<Option<SessionData>, CliError> {
    store()?.load().map_err(xrpc_err)
}

/// The connect policy of the network commands: public addresses over https only, unless
/// --allow-private-network; the hosts of URLs the user gave (--pds) or vetted before (the
/// stored session's PDS, checked when it was logged in to) are allowed as they are. A PDS
/// named by a DID document gets no exemption: the library refuses it at connect time when
/// it resolves to a loopback, private or link-local address, naming the address.
fn policy(global: &GlobalArgs, session: Option<&SessionData>) -> ConnectPolicy {
    let mut p = ConnectPolicy::default().allow_private_network(global.allow_private_network);
    for url in (global.pds.iter().map(String::as_str)).chain(session.map(|s| s.pds.as_str())) {
        if let Some(host) = url
            .parse::<http::Uri>()
            .ok()
            .as_ref()
            .and_then(http::Uri::host)
        {
            p = p.allow_host(host);
        }
    }
    p
}

/// A client for `url` under the commands' connect policy.
pub(crate) fn client_for(url: &str, global: &GlobalArgs) -> Result<Client, CliError> {
    let session = stored_session().ok().flatten();
    Client::builder(url)
        .policy(policy(global, session.as_ref()))
        .build()
        .map_err(xrpc_err)
}

/// The stored app-password session on its client (on --pds if given), saving refreshed tokens to the
/// store, or an exit-1 error that says to log in.
pub(crate) async fn password_session(
    global: &GlobalArgs,
) -> Result<(Client, PasswordSession), CliError> {
    let st = store()?;
    let Some(session) = st.load().map_err(xrpc_err)? else {
        return Err(CliError::failed(format!(
            "not logged in (no session in {}): run `atmo login HANDLE` first",
            st.path().display()
        )));
    };
    let pds = global
        .pds
        .clone()
        .unwrap_or_else(|| session.pds.to_string());
    let client = client_for(&pds, global)?;
    let s = PasswordSession::resume(&client, session, Some(st));
    Ok((s.client(), s))
}

/// The identity resolver configured by --plc, --handle-resolver and
/// --allow-private-network.
pub(crate) fn resolver(global: &GlobalArgs) -> Result<Resolver, CliError> {
    let mut config = ResolverConfig::default();
    config.plc_url = global.plc.clone();
    config.handle_resolver = global.handle_resolver.clone();
    config.allow_private_network = global.allow_private_network;
    Resolver::new(config).map_err(CliError::failed)
}

/// Parses a handle or DID as typed (`@handle` and `at://` prefixes accepted).
pub(crate) fn parse_identifier(input: &str) -> Result<AtIdentifier, CliError> {
    let t = input.trim();
    let bare = t
        .strip_prefix("at://")
        .or_else(|| t.strip_prefix('@'))
        .unwrap_or(t);
    AtIdentifier::new(bare)
        .map_err(|e| CliError::failed(format!("{input:?} is neither a handle nor a DID: {e}")))
}

/// The DID and PDS URL of a handle or DID, through the resolver (handle -> DID -> DID
/// document -> `#atproto_pds`). The PDS URL comes from a document anyone can write: the
/// connect policy refuses it at connect time when it points at a private, loopback or
/// link-local address, unless --allow-private-network.
pub(crate) async fn pds_for(
    identifier: &str,
    global: &GlobalArgs,
) -> Result<(Did, String), CliError> {
    let id = parse_identifier(identifier)?;
    let r = resolver(global)?;
    let did = match &id {
        AtIdentifier::Did(d) => d.clone(),
        AtIdentifier::Handle(h) => r
            .resolve_handle(h)
            .await
            .map_err(|e| CliError::failed(format!("cannot resolve the handle {h}: {e}")))?,
    };
    let doc = r
        .resolve_did(&did)
        .await
        .map_err(|e| CliError::failed(format!("cannot resolve {did}: {e}")))?;
    let pds = doc
        .require_pds_endpoint()
        .map_err(|e| CliError::failed(format!("{did}: {e}")))?
        .trim_end_matches('/')
        .to_owned();
    Ok((did, pds))
}

/// Where to read an account's data: a client and the account's DID.
///
/// - With --pds: that service; a handle becomes a DID through --handle-resolver when
///   given, else through the service's own `resolveHandle`.
/// - Else, when the account is the stored session's: the session's PDS.
/// - Else: the PDS its DID document names ([`pds_for`]).
///
/// The stored session is attached when the client talks to the session's PDS.
pub(crate) async fn read_target(
    identifier: &str,
    global: &GlobalArgs,
) -> Result<(Client, Did), CliError> {
    let id = parse_identifier(identifier)?;
    let session = stored_session()?;
    let own = session.as_ref().filter(|s| {
        s.did.as_str() == id.as_str() || s.handle.as_str().eq_ignore_ascii_case(id.as_str())
    });
    let (pds, did) = match (&global.pds, own) {
        (Some(pds), _) => {
            let did = match (&id, own) {
                (AtIdentifier::Did(d), _) => d.clone(),
                (AtIdentifier::Handle(_), Some(s)) => s.did.clone(),
                (AtIdentifier::Handle(h), None) => match &global.handle_resolver {
                    Some(_) => resolver(global)?
                        .resolve_handle(h)
                        .await
                        .map_err(|e| CliError::failed(format!("cannot resolve {h}: {e}")))?,
                    None => resolve_handle_on(pds, h.as_str(), global).await?,
                },
            };
            (pds.clone(), did)
        }
        (None, Some(s)) => (s.pds.to_string(), s.did.clone()),
        (None, None) => {
            let (did, pds) = pds_for(identifier, global).await?;
            (pds, did)
        }
    };
    let mut client = client_for(&pds, global)?;
    if let Some(s) = session.filter(|s| s.pds == *client.service_url()) {
        client = PasswordSession::resume(&client, s, Some(store()?)).client();
    }
    Ok((client, did))
}

/// `com.atproto.identity.resolveHandle` on the service at `pds`.
async fn resolve_handle_on(pds: &str, handle: &str, global: &GlobalArgs) -> Result<Did, CliError> {
    let client = client_for(pds, global)?;
    let req = XrpcRequest::query("com.atproto.identity.resolveHandle")
        .map_err(xrpc_err)?
        .param("handle", handle);
    let v = client
        .send(&req)
        .await
        .map_err(|e| CliError::failed(format!("cannot resolve {handle} on {pds}: {e}")))?
        .value()
        .map_err(xrpc_err)?;
    v.get("did")
        .and_then(|d| d.as_str())
        .and_then(|d| Did::new(d).ok())
        .ok_or_else(|| CliError::failed(format!("{handle}: {pds} answered without a DID")))
}

/// A download progress line on standard error, redrawn in place at most ten times a
/// second; silent when standard error is not a terminal.
pub(crate) struct Progress {
    label: String,
    total: Option<u64>,
    done: u64,
    started: Instant,
    last: Option<Instant>,
    enabled: bool,
}

/// Shortest time between two redraws.
const REDRAW: Duration = Duration::from_millis(100);

impl Progress {
    /// A progress line for `label`; `total` is the expected size when known.
    pub(crate) fn new(label: impl Into<String>, total: Option<u64>) -> Self {
        Self {
            label: label.into(),
            total,
            done: 0,
            started: Instant::now(),
            last: None,
            enabled: std::io::stderr().is_terminal(),
        }
    }

    /// Counts `n` more bytes and redraws if the last redraw is old enough.
    pub(crate) fn add(&mut self, n: u64) {
        self.done = self.done.saturating_add(n);
        if self.enabled && self.last.is_none_or(|t| t.elapsed() >= REDRAW) {
            self.draw();
        }
    }

    /// Draws the final state and ends the line.
    pub(crate) fn finish(&mut self) {
        if self.enabled {
            self.draw();
            eprintln!();
        }
    }

    /// Erases the line (after a failure, before the error message).
    pub(crate) fn clear(&mut self) {
        if self.enabled && self.last.is_some() {
            eprint!("\r\x1b[K");
        }
    }

    fn draw(&mut self) {
        let now = Instant::now();
        self.last = Some(now);
        let line = render(
            &self.label,
            self.done,
            self.total,
            now.duration_since(self.started),
        );
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}\x1b[K");
        let _ = err.flush();
    }
}

/// One progress line: `label [#####     ]  42% 1.2 MiB of 2.9 MiB, 640.0 KiB/s`, or
/// without the bar and percentage when the size is unknown.
pub(crate) fn render(label: &str, done: u64, total: Option<u64>, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        format!(", {}/s", human(done as f64 / secs))
    } else {
        String::new()
    };
    match total.filter(|&t| t > 0) {
        Some(t) => {
            let frac = (done as f64 / t as f64).clamp(0.0, 1.0);
            let width = 20usize;
            let filled = ((frac * width as f64).floor() as usize).min(width);
            format!(
                "{label} [{}{}] {:>3.0}% {} of {}{rate}",
                "#".repeat(filled),
                " ".repeat(width - filled),
                frac * 100.0,
                human(done as f64),
                human(t as f64),
            )
        }
        None => format!("{label} {}{rate}", human(done as f64)),
    }
}

/// Bytes in binary units: `512 B`, `1.5 KiB`, `3.2 MiB`.
pub(crate) fn human(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024.0 {
        return format!("{bytes:.0} B");
    }
    let mut v = bytes / 1024.0;
    let mut unit = "KiB";
    for u in UNITS.iter().skip(1) {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

/// Writes a download stream beside `output` (`.part`), renaming it only once the whole
/// stream (and its CID check, for blobs) succeeded; the partial file is removed on error.
pub(crate) async fn download(
    mut stream: atmo_xrpc::BlobStream,
    output: &std::path::Path,
    mut progress: Progress,
) -> Result<(), CliError> {
    use futures_util::StreamExt as _;
    use tokio::io::AsyncWriteExt as _;
    let mut tmp = output.as_os_str().to_owned();
    tmp.push(".part");
    let tmp = std::path::PathBuf::from(tmp);
    let mut f = tokio::fs::File::create(&tmp)
        .await
        .map_err(|e| CliError::failed(format!("cannot create {}: {e}", tmp.display())))?;
    let res: Result<(), CliError> = async {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(xrpc_err)?;
            f.write_all(&chunk).await?;
            progress.add(chunk.len() as u64);
        }
        f.flush().await?;
        f.sync_all().await?;
        Ok(())
    }
    .await;
    drop(f);
    match res {
        Ok(()) => {
            progress.finish();
            std::fs::rename(&tmp, output).map_err(|e| {
                CliError::failed(format!("cannot rename to {}: {e}", output.display()))
            })
        }
        Err(e) => {
            progress.clear();
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(human(0.0), "0 B");
        assert_eq!(human(1023.0), "1023 B");
        assert_eq!(human(1536.0), "1.5 KiB");
        assert_eq!(human(3.0 * 1024.0 * 1024.0), "3.0 MiB");
        assert_eq!(human(5.0 * 1024f64.powi(3)), "5.0 GiB");
    }

    #[test]
    fn progress_line_with_and_without_total() {
        let l = render(
            "did:plc:x",
            512 * 1024,
            Some(1024 * 1024),
            Duration::from_secs(2),
        );
        assert_eq!(
            l,
            "did:plc:x [##########          ]  50% 512.0 KiB of 1.0 MiB, 256.0 KiB/s"
        );
        let l = render("r", 2048, None, Duration::from_secs(1));
        assert_eq!(l, "r 2.0 KiB, 2.0 KiB/s");
        // More than announced: capped at 100%, no panic.
        let l = render("r", 10, Some(5), Duration::ZERO);
        assert_eq!(l, "r [####################] 100% 10 B of 5 B");
    }

    fn global(pds: Option<&str>, allow_private_network: bool) -> GlobalArgs {
        GlobalArgs {
            pds: pds.map(str::to_owned),
            plc: "https://plc.directory".into(),
            handle_resolver: None,
            allow_private_network,
        }
    }

    #[test]
    fn private_pds_urls_are_refused_unless_allowed_or_given() {
        let with = |p: &ConnectPolicy, url: &str| {
            let uri: http::Uri = url.parse().unwrap();
            let host = uri.host().unwrap().trim_matches(['[', ']']).to_owned();
            let ip: std::net::IpAddr = host.parse().unwrap();
            p.check_uri(&uri).and_then(|()| p.check_addr(&host, ip))
        };
        let strict = policy(&global(None, false), None);
        let open = policy(&global(None, true), None);
        for url in [
            "http://10.0.0.1",
            "https://127.0.0.1",
            "https://10.1.2.3:443/",
            "https://[::1]:8080",
            "https://169.254.169.254/latest",
        ] {
            assert!(with(&strict, url).is_err(), "{url}");
            assert!(with(&open, url).is_ok(), "{url}");
        }
        assert!(with(&strict, "https://1.1.1.1").is_ok());
        // A --pds the user gave is reached as given; others stay refused.
        let given = policy(&global(Some("http://127.0.0.1:2583"), false), None);
        assert!(with(&given, "http://127.0.0.1:2583/xrpc/x").is_ok());
        assert!(with(&given, "https://10.1.2.3").is_err());
    }
}
