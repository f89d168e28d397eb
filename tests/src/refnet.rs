//! The reference network: the official TypeScript PDS and a did:plc directory, run by
//! Node 22 from `tests/refnet/` on 127.0.0.1, for tests that need a real server.
//!
//! A test gets the network shared by its test process with [`RefNet::shared_or_skip`]:
//!
//! ```no_run
//! use atmo_tests::refnet::{RefNet, http_get};
//!
//! # fn main() -> Result<(), atmo_tests::refnet::RefNetError> {
//! let Some(net) = RefNet::shared_or_skip() else { return Ok(()) };
//! let health = http_get(&format!("{}/xrpc/_health", net.pds))?;
//! assert_eq!(health.status, 200);
//! # Ok(())
//! # }
//! ```
//!
//! Environment knobs:
//! - `ATMO_REFNET=0`: tests that need the network say `skipped: ATMO_REFNET=0` on stderr and
//!   pass without checking anything. Otherwise a network that fails to start is a test
//!   failure, never a silent skip.
//! - `ATMO_REFNET_STATE=<file>`: use the network that `tests/refnet/up` started (it writes
//!   `tests/refnet/.state.json`) instead of starting one per test process. Handy with
//!   cargo-nextest, which runs every test in its own process.
//! - `PDS_*` (e.g. `PDS_RATE_LIMITS_ENABLED=true`) and `LOG_ENABLED=true` reach the PDS.
//!
//! Everything here is std only: a blocking HTTP/1.1 client ([`http_request`] and friends)
//! is enough for tests that check the network itself.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// How long [`RefNet::start`] waits for the ready line (after installing).
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long dropping a [`RefNet`] waits for a clean stop before it kills the process.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Connect timeout of the test HTTP client.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Read and write timeout of the test HTTP client.
pub const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest HTTP response (head and body) the test client accepts.
pub const MAX_RESPONSE: usize = 256 * 1024 * 1024;
/// Lines of the network's stderr kept for error reports.
const TAIL_LINES: usize = 60;

/// What went wrong while starting, finding or talking to the reference network.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RefNetError {
    /// `tests/refnet/install` could not run or failed.
    #[error("tests/refnet/install failed ({status}); its output:\n{output}")]
    Install {
        /// The exit status, or why it did not run.
        status: String,
        /// The last lines it wrote.
        output: String,
    },
    /// The Node process could not be spawned.
    #[error("could not run {program}: {source}")]
    Spawn {
        /// The program that was run.
        program: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The network did not print its ready line in time.
    #[error("the reference network was not ready within {timeout:?}; stderr tail:\n{stderr}")]
    Timeout {
        /// How long we waited.
        timeout: Duration,
        /// The last lines it wrote to stderr.
        stderr: String,
    },
    /// The network exited before it was ready.
    #[error("the reference network exited before it was ready ({status}); stderr tail:\n{stderr}")]
    Exited {
        /// Its exit status, as text.
        status: String,
        /// The last lines it wrote to stderr.
        stderr: String,
    },
    /// The ready line (or a state file) is not the JSON object we expect.
    #[error("bad ready line {line:?}: {reason}")]
    ReadyLine {
        /// The line as read.
        line: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `ATMO_REFNET_STATE` names a network that cannot be used.
    #[error("ATMO_REFNET_STATE={path}: {reason} (start one with tests/refnet/up)")]
    State {
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A URL the test client cannot handle.
    #[error("unsupported URL {url:?}: {reason}")]
    Url {
        /// The URL.
        url: String,
        /// Why it is not supported (only `http://host[:port]/...`).
        reason: &'static str,
    },
    /// An HTTP exchange failed at the transport level.
    #[error("HTTP {method} {url}: {source}")]
    Http {
        /// The method.
        method: String,
        /// The URL.
        url: String,
        /// The underlying error.
        source: io::Error,
    },
    /// An HTTP response that does not parse.
    #[error("HTTP {method} {url}: malformed response: {reason}")]
    Response {
        /// The method.
        method: String,
        /// The URL.
        url: String,
        /// What is malformed.
        reason: String,
    },
    /// Waiting for or signalling the process failed.
    #[error("managing the reference network process: {0}")]
    Process(#[source] io::Error),
}

/// A running reference network: a PDS and a PLC directory on 127.0.0.1.
///
/// Dropping it stops the network (closing its stdin, then killing it after
/// [`STOP_TIMEOUT`]) unless it is an outside network found through `ATMO_REFNET_STATE`.
pub struct RefNet {
    /// The PDS's public URL, `http://localhost:<port>` (what DID documents name).
    pub pds: String,
    /// The PLC directory, `http://127.0.0.1:<port>`.
    pub plc: String,
    /// The PDS admin password (HTTP Basic `admin:<password>`).
    pub admin_password: String,
    /// The PDS's data directory (its SQLite databases: `account.sqlite` holds the tokens
    /// the PDS would have emailed), when the ready line named it.
    pub data_dir: Option<std::path::PathBuf>,
    /// The process id of the Node process hosting both servers.
    pub pid: u32,
    process: Option<Process>,
}

struct Process {
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    stderr_reader: Option<thread::JoinHandle<()>>,
}

impl fmt::Debug for RefNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefNet")
            .field("pds", &self.pds)
            .field("plc", &self.plc)
            .field("pid", &self.pid)
            .field("owned", &self.process.is_some())
            .finish_non_exhaustive()
    }
}

/// The directory holding the network's tooling: `tests/refnet`.
pub fn refnet_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("refnet")
}

/// Whether tests may use the network: false only when `ATMO_REFNET=0`.
pub fn is_enabled() -> bool {
    std::env::var_os("ATMO_REFNET").is_none_or(|v| v != "0")
}

/// True, after a loud `skipped: ATMO_REFNET=0 (<test>)` on stderr, when `ATMO_REFNET=0`:
/// for tests that start a network of their own. The line goes straight to the process's
/// stderr, which the test harness does not capture.
pub fn skip_if_disabled() -> bool {
    if is_enabled() {
        return false;
    }
    let name = thread::current().name().unwrap_or("?").to_owned();
    let _ = writeln!(io::stderr(), "skipped: ATMO_REFNET=0 ({name})");
    true
}

static SHARED: OnceLock<Result<RefNet, RefNetError>> = OnceLock::new();

impl RefNet {
    /// Installs the packages if needed (`tests/refnet/install`), starts a fresh network
    /// on free ports, and waits until both servers answer.
    ///
    /// # Errors
    ///
    /// When the install fails, Node cannot be spawned, or the network exits or stays
    /// silent for [`READY_TIMEOUT`]; the error carries the tail of its stderr.
    pub fn start() -> Result<RefNet, RefNetError> {
        Self::start_with_env(&[])
    }

    /// Like [`RefNet::start`], with extra environment variables for the Node process,
    /// e.g. `[("PDS_RATE_LIMITS_ENABLED", "true")]`.
    ///
    /// # Errors
    ///
    /// As [`RefNet::start`].
    pub fn start_with_env(env: &[(&str, &str)]) -> Result<RefNet, RefNetError> {
        install()?;
        let dir = refnet_dir();
        let node = dir.join("node_modules/.bin/node");
        let mut child = Command::new(&node)
            .arg("start.mjs")
            .current_dir(&dir)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| RefNetError::Spawn {
                program: node.clone(),
                source,
            })?;
        let stdin = child.stdin.take();
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let stderr_reader = child
            .stderr
            .take()
            .map(|err| forward_lines(err, Arc::clone(&stderr)));
        let (tx, rx) = mpsc::channel::<Option<String>>();
        if let Some(out) = child.stdout.take() {
            thread::spawn(move || {
                let mut lines = BufReader::new(out).lines();
                let first = lines.next().and_then(Result::ok);
                let _ = tx.send(first);
                // Keep reading so the process never blocks on a full pipe.
                for _ in lines {}
            });
        }
        let mut process = Process {
            child,
            stdin,
            stderr,
            stderr_reader,
        };
        let line = match rx.recv_timeout(READY_TIMEOUT) {
            Ok(Some(line)) => line,
            Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = wait_deadline(&mut process.child, Duration::from_secs(5));
                process.drain_stderr();
                return Err(RefNetError::Exited {
                    status: status.map_or_else(|| "still running".to_owned(), |s| s.to_string()),
                    stderr: tail(&process.stderr),
                });
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let stderr = tail(&process.stderr);
                process.stop();
                return Err(RefNetError::Timeout {
                    timeout: READY_TIMEOUT,
                    stderr,
                });
            }
        };
        match Ready::parse(&line) {
            Ok(ready) => Ok(RefNet {
                pds: ready.pds,
                plc: ready.plc,
                admin_password: ready.admin_password,
                data_dir: ready.data_dir,
                pid: ready.pid,
                process: Some(process),
            }),
            Err(err) => {
                process.stop();
                Err(err)
            }
        }
    }

    /// Uses the network described by a state file written by `tests/refnet/up`, after
    /// checking that its PDS and PLC answer. It is not stopped when dropped.
    ///
    /// # Errors
    ///
    /// When the file cannot be read or parsed, or the network does not answer.
    pub fn attach(state_file: &Path) -> Result<RefNet, RefNetError> {
        let state_err = |reason: String| RefNetError::State {
            path: state_file.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(state_file).map_err(|e| state_err(e.to_string()))?;
        let ready = Ready::parse(text.trim()).map_err(|e| state_err(e.to_string()))?;
        for url in [
            format!("{}/xrpc/_health", ready.pds),
            format!("{}/_health", ready.plc),
        ] {
            match http_get(&url) {
                Ok(res) if res.status == 200 => {}
                Ok(res) => return Err(state_err(format!("{url} answered {}", res.status))),
                Err(e) => return Err(state_err(e.to_string())),
            }
        }
        Ok(RefNet {
            pds: ready.pds,
            plc: ready.plc,
            admin_password: ready.admin_password,
            data_dir: ready.data_dir,
            pid: ready.pid,
            process: None,
        })
    }

    /// The token the PDS would have emailed to `did` for `purpose` (`confirm_email`,
    /// `update_email`, `reset_password`, `delete_account`, `plc_operation`), read from
    /// its account database; `None` when there is none (or no data directory is known).
    #[must_use]
    pub fn email_token(&self, did: &str, purpose: &str) -> Option<String> {
        let db = self.data_dir.as_ref()?.join("account.sqlite");
        let conn =
            rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .ok()?;
        conn.query_row(
            "SELECT token FROM email_token WHERE did = ?1 AND purpose = ?2",
            [did, purpose],
            |row| row.get(0),
        )
        .ok()
    }

    /// The network shared by every test in this process, started on first use (or the
    /// one named by `ATMO_REFNET_STATE`).
    ///
    /// # Errors
    ///
    /// The start-up error, the same one for every caller (it is not retried).
    pub fn try_shared() -> Result<&'static RefNet, &'static RefNetError> {
        SHARED
            .get_or_init(|| match std::env::var_os("ATMO_REFNET_STATE") {
                Some(path) if !path.is_empty() => RefNet::attach(Path::new(&path)),
                _ => RefNet::start(),
            })
            .as_ref()
    }

    /// The shared network; a start-up failure fails the calling test.
    ///
    /// Statics are never dropped: the network stops when this process exits, because its
    /// stdin closes then.
    ///
    /// # Panics
    ///
    /// When the network cannot be started (the test fails with the reason).
    pub fn shared() -> &'static RefNet {
        match Self::try_shared() {
            Ok(net) => net,
            Err(err) => panic!("reference network unavailable: {err}"),
        }
    }

    /// The shared network, or `None` after a loud `skipped: ATMO_REFNET=0` on stderr when
    /// the network is switched off. A start-up failure fails the calling test.
    ///
    /// # Panics
    ///
    /// As [`RefNet::shared`].
    pub fn shared_or_skip() -> Option<&'static RefNet> {
        if skip_if_disabled() {
            None
        } else {
            Some(Self::shared())
        }
    }

    /// `<pds>/xrpc/<nsid>`.
    pub fn xrpc(&self, nsid: &str) -> String {
        format!("{}/xrpc/{nsid}", self.pds)
    }

    /// The PDS's TCP port.
    pub fn pds_port(&self) -> Option<u16> {
        parse_url(&self.pds).ok().map(|u| u.port)
    }

    /// The PLC directory's TCP port.
    pub fn plc_port(&self) -> Option<u16> {
        parse_url(&self.plc).ok().map(|u| u.port)
    }

    /// The last lines the network wrote to stderr (empty for an attached network).
    pub fn stderr_tail(&self) -> String {
        self.process
            .as_ref()
            .map(|p| tail(&p.stderr))
            .unwrap_or_default()
    }

    /// Stops the network now (a no-op for an attached or already stopped network); its
    /// URLs stop answering. Returns how it exited.
    ///
    /// # Errors
    ///
    /// When waiting for the process fails.
    pub fn stop(&mut self) -> Result<Option<ExitStatus>, RefNetError> {
        match self.process.take() {
            Some(mut p) => Ok(p.stop()),
            None => Ok(None),
        }
    }
}

impl Drop for RefNet {
    fn drop(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.stop();
        }
    }
}

impl Process {
    /// Gives the stderr reader a moment to take the last lines of an exited process.
    fn drain_stderr(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(2);
        while self
            .stderr_reader
            .as_ref()
            .is_some_and(|r| !r.is_finished())
            && Instant::now() < deadline
        {
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Closes stdin (the network stops on EOF), waits up to [`STOP_TIMEOUT`], then kills.
    fn stop(&mut self) -> Option<ExitStatus> {
        drop(self.stdin.take());
        if let Some(status) = wait_deadline(&mut self.child, STOP_TIMEOUT) {
            return Some(status);
        }
        let _ = self.child.kill();
        self.child.wait().ok()
    }
}

fn wait_deadline(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(25)),
            _ => return None,
        }
    }
}

/// Copies a child's output lines to our stderr (not captured by the test harness, so
/// progress stays visible) and keeps the last [`TAIL_LINES`] of them.
fn forward_lines(
    from: impl Read + Send + 'static,
    keep: Arc<Mutex<VecDeque<String>>>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            let _ = writeln!(io::stderr(), "{line}");
            if let Ok(mut keep) = keep.lock() {
                if keep.len() == TAIL_LINES {
                    keep.pop_front();
                }
                keep.push_back(line);
            }
        }
    })
}

fn tail(lines: &Mutex<VecDeque<String>>) -> String {
    lines
        .lock()
        .map(|l| l.iter().map(String::as_str).collect::<Vec<_>>().join("\n"))
        .unwrap_or_default()
}

/// Runs `tests/refnet/install` (idempotent: a quick check when already installed).
///
/// # Errors
///
/// When it cannot run or exits non-zero; the error carries its last output lines.
pub fn install() -> Result<(), RefNetError> {
    let script = refnet_dir().join("install");
    let mut child = Command::new(&script)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| RefNetError::Install {
            status: format!("could not run {}: {e}", script.display()),
            output: String::new(),
        })?;
    let kept = Arc::new(Mutex::new(VecDeque::new()));
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|o| forward_lines(o, Arc::clone(&kept))),
        child
            .stderr
            .take()
            .map(|e| forward_lines(e, Arc::clone(&kept))),
    ]
    .into_iter()
    .flatten()
    .collect();
    let status = child.wait().map_err(RefNetError::Process)?;
    for r in readers {
        let _ = r.join();
    }
    if status.success() {
        Ok(())
    } else {
        Err(RefNetError::Install {
            status: status.to_string(),
            output: tail(&kept),
        })
    }
}

/// The ready line: `{"pds":"...","plc":"...","adminPassword":"...","dataDir":"...","pid":123}`
/// (`dataDir` optional).
struct Ready {
    pds: String,
    plc: String,
    admin_password: String,
    data_dir: Option<std::path::PathBuf>,
    pid: u32,
}

impl Ready {
    fn parse(line: &str) -> Result<Ready, RefNetError> {
        let bad = |reason: String| RefNetError::ReadyLine {
            line: line.to_owned(),
            reason,
        };
        let fields = parse_flat_json(line).map_err(bad)?;
        let get = |key: &str| -> Result<&FlatValue, RefNetError> {
            fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .ok_or_else(|| bad(format!("no {key:?}")))
        };
        let string = |key: &str| match get(key)? {
            FlatValue::Str(s) => Ok(s.clone()),
            FlatValue::Int(_) => Err(bad(format!("{key:?} is not a string"))),
        };
        let pid = match get("pid")? {
            FlatValue::Int(n) => u32::try_from(*n).map_err(|_| bad("pid out of range".into()))?,
            FlatValue::Str(_) => return Err(bad("\"pid\" is not a number".into())),
        };
        let ready = Ready {
            pds: string("pds")?,
            plc: string("plc")?,
            admin_password: string("adminPassword")?,
            data_dir: get("dataDir").ok().and_then(|v| match v {
                FlatValue::Str(s) => Some(std::path::PathBuf::from(s)),
                FlatValue::Int(_) => None,
            }),
            pid,
        };
        for url in [&ready.pds, &ready.plc] {
            parse_url(url).map_err(|e| bad(e.to_string()))?;
        }
        Ok(ready)
    }
}

#[derive(Debug, PartialEq)]
enum FlatValue {
    Str(String),
    Int(i64),
}

/// Parses a one-level JSON object whose values are strings or integers.
fn parse_flat_json(text: &str) -> Result<Vec<(String, FlatValue)>, String> {
    let mut chars = text.trim().chars().peekable();
    let mut out = Vec::new();
    let skip_ws = |c: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        while c.next_if(|ch| ch.is_ascii_whitespace()).is_some() {}
    };
    if chars.next() != Some('{') {
        return Err("not a JSON object".into());
    }
    skip_ws(&mut chars);
    if chars.next_if_eq(&'}').is_some() {
        return Ok(out);
    }
    loop {
        skip_ws(&mut chars);
        let key = parse_json_string(&mut chars)?;
        skip_ws(&mut chars);
        if chars.next() != Some(':') {
            return Err(format!("no ':' after key {key:?}"));
        }
        skip_ws(&mut chars);
        let value = match chars.peek() {
            Some('"') => FlatValue::Str(parse_json_string(&mut chars)?),
            Some(c) if *c == '-' || c.is_ascii_digit() => {
                let mut digits = String::new();
                while let Some(c) = chars.next_if(|c| *c == '-' || c.is_ascii_digit()) {
                    digits.push(c);
                }
                FlatValue::Int(
                    digits
                        .parse()
                        .map_err(|_| format!("bad number {digits:?}"))?,
                )
            }
            _ => return Err(format!("value of {key:?} is not a string or an integer")),
        };
        out.push((key, value));
        skip_ws(&mut chars);
        match chars.next() {
            Some(',') => {}
            Some('}') => break,
            _ => return Err("expected ',' or '}'".into()),
        }
    }
    skip_ws(&mut chars);
    match chars.next() {
        None => Ok(out),
        Some(c) => Err(format!("trailing {c:?} after the object")),
    }
}

fn parse_json_string(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
) -> Result<String, String> {
    if chars.next() != Some('"') {
        return Err("expected a string".into());
    }
    let mut s = String::new();
    loop {
        match chars.next() {
            None => return Err("unterminated string".into()),
            Some('"') => return Ok(s),
            Some('\\') => match chars.next() {
                Some('"') => s.push('"'),
                Some('\\') => s.push('\\'),
                Some('/') => s.push('/'),
                Some('b') => s.push('\u{8}'),
                Some('f') => s.push('\u{c}'),
                Some('n') => s.push('\n'),
                Some('r') => s.push('\r'),
                Some('t') => s.push('\t'),
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let code = u32::from_str_radix(&hex, 16)
                        .map_err(|_| format!("bad \\u escape {hex:?}"))?;
                    // Surrogate pairs are not needed for our ready line.
                    s.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
                }
                other => return Err(format!("bad escape {other:?}")),
            },
            Some(c) if u32::from(c) < 0x20 => return Err("control character in a string".into()),
            Some(c) => s.push(c),
        }
    }
}

// ------------------------------------------------------------------------------------
// A minimal blocking HTTP/1.1 client for tests.

/// An HTTP response, read whole.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The headers in order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body (chunked transfer coding removed).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

struct HttpUrl {
    host: String,
    port: u16,
    /// Path and query, starting with `/`.
    target: String,
}

fn parse_url(url: &str) -> Result<HttpUrl, RefNetError> {
    let err = |reason| RefNetError::Url {
        url: url.to_owned(),
        reason,
    };
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| err("only http:// is supported"))?;
    let (authority, target) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let target = if target.starts_with('?') {
        format!("/{target}")
    } else {
        target.split('#').next().unwrap_or("/").to_owned()
    };
    if authority.contains('@') {
        return Err(err("user info in URLs is not supported"));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or_else(|| err("unclosed '['"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| err("bad port"))?,
            None if after.is_empty() => 80,
            None => return Err(err("junk after ']'")),
        };
        (h.to_owned(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| err("bad port"))?),
            None => (authority.to_owned(), 80),
        }
    };
    if host.is_empty() {
        return Err(err("no host"));
    }
    Ok(HttpUrl { host, port, target })
}

/// The addresses to try for a host: `localhost` is 127.0.0.1 (it may resolve to ::1
/// first, where the network does not listen).
fn socket_addrs(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(vec![SocketAddr::from((Ipv4Addr::LOCALHOST, port))]);
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    Ok((host, port).to_socket_addrs()?.collect())
}

/// `GET url`.
///
/// # Errors
///
/// When the URL is not `http://`, the exchange fails, or the response does not parse.
/// An HTTP error status is not an error: check [`HttpResponse::status`].
pub fn http_get(url: &str) -> Result<HttpResponse, RefNetError> {
    http_request("GET", url, &[], None)
}

/// `GET url` with `Authorization: Bearer <token>` when a token is given.
///
/// # Errors
///
/// As [`http_get`].
pub fn http_get_auth(url: &str, bearer: Option<&str>) -> Result<HttpResponse, RefNetError> {
    let auth = bearer.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    http_request("GET", url, &headers, None)
}

/// `POST url` with a JSON body, and `Authorization: Bearer <token>` when a token is given.
///
/// # Errors
///
/// As [`http_get`].
pub fn http_post_json(
    url: &str,
    json: &str,
    bearer: Option<&str>,
) -> Result<HttpResponse, RefNetError> {
    let auth = bearer.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    http_request("POST", url, &headers, Some(json.as_bytes()))
}

/// One HTTP/1.1 exchange on a fresh connection (`Connection: close`, no compression).
/// `Host`, `Content-Length`, `Connection` and `Accept-Encoding` are set here.
///
/// # Errors
///
/// As [`http_get`]; also when the response is larger than [`MAX_RESPONSE`].
pub fn http_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Result<HttpResponse, RefNetError> {
    let u = parse_url(url)?;
    let io_err = |source| RefNetError::Http {
        method: method.to_owned(),
        url: url.to_owned(),
        source,
    };
    let addrs = socket_addrs(&u.host, u.port).map_err(io_err)?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = e,
        }
    }
    let mut stream = stream.ok_or(last).map_err(io_err)?;
    stream.set_read_timeout(Some(IO_TIMEOUT)).map_err(io_err)?;
    stream.set_write_timeout(Some(IO_TIMEOUT)).map_err(io_err)?;

    let host_header = if u.host.contains(':') {
        format!("[{}]:{}", u.host, u.port)
    } else {
        format!("{}:{}", u.host, u.port)
    };
    let mut head = format!(
        "{method} {} HTTP/1.1\r\nhost: {host_header}\r\nconnection: close\r\naccept-encoding: identity\r\n",
        u.target
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        head.push_str(&format!("content-length: {}\r\n", b.len()));
    } else if method != "GET" && method != "HEAD" {
        head.push_str("content-length: 0\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).map_err(io_err)?;
    if let Some(b) = body {
        stream.write_all(b).map_err(io_err)?;
    }
    stream.flush().map_err(io_err)?;

    let mut raw = Vec::new();
    let limit = u64::try_from(MAX_RESPONSE).unwrap_or(u64::MAX) + 1;
    stream.take(limit).read_to_end(&mut raw).map_err(io_err)?;
    let malformed = |reason: String| RefNetError::Response {
        method: method.to_owned(),
        url: url.to_owned(),
        reason,
    };
    if raw.len() > MAX_RESPONSE {
        return Err(malformed(format!("larger than {MAX_RESPONSE} bytes")));
    }
    parse_response(&raw, method == "HEAD").map_err(malformed)
}

fn parse_response(raw: &[u8], head_only: bool) -> Result<HttpResponse, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let (head, rest) = raw.split_at(end);
    let rest = rest.get(4..).unwrap_or_default();
    let head = std::str::from_utf8(head).map_err(|_| "headers are not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or("no status line")?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(format!("bad status line {status_line:?}"));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut headers = Vec::new();
    for line in lines {
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| format!("bad header line {line:?}"))?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let body = if head_only || status == 204 || status == 304 || (100..200).contains(&status) {
        Vec::new()
    } else if find("transfer-encoding").is_some_and(|te| te.eq_ignore_ascii_case("chunked")) {
        dechunk(rest)?
    } else if let Some(len) = find("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| format!("bad content-length {len:?}"))?;
        rest.get(..len)
            .ok_or_else(|| format!("body is {} bytes, content-length says {len}", rest.len()))?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("chunk size line not terminated")?;
        let (size_line, rest) = data.split_at(eol);
        let size_text = std::str::from_utf8(size_line).map_err(|_| "chunk size is not text")?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        let rest = rest.get(2..).unwrap_or_default();
        if size == 0 {
            return Ok(out);
        }
        let chunk = rest
            .get(..size)
            .ok_or_else(|| format!("chunk of {size} bytes is cut short"))?;
        out.extend_from_slice(chunk);
        data = rest
            .get(size..)
            .and_then(|r| r.strip_prefix(b"\r\n"))
            .ok_or("chunk not followed by CRLF")?;
    }
}

// ------------------------------------------------------------------------------------
// What listens where.

/// The local addresses of TCP sockets in LISTEN state on `port`, from `/proc/net/tcp`
/// and `/proc/net/tcp6` (Linux only).
///
/// # Errors
///
/// When neither file can be read.
pub fn listening_addresses(port: u16) -> io::Result<Vec<IpAddr>> {
    let mut out = Vec::new();
    let mut read_any = false;
    for (file, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        read_any = true;
        for line in text.lines().skip(1) {
            let mut cols = line.split_whitespace();
            let (Some(_slot), Some(local), Some(_remote), Some(state)) =
                (cols.next(), cols.next(), cols.next(), cols.next())
            else {
                continue;
            };
            if state != "0A" {
                continue; // not LISTEN
            }
            let Some((addr_hex, port_hex)) = local.split_once(':') else {
                continue;
            };
            if u16::from_str_radix(port_hex, 16).ok() != Some(port) {
                continue;
            }
            if let Some(ip) = parse_proc_addr(addr_hex, v6) {
                out.push(ip);
            }
        }
    }
    if read_any {
        Ok(out)
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            "/proc/net/tcp and /proc/net/tcp6 are unreadable",
        ))
    }
}

/// `/proc/net/tcp*` addresses: 32-bit words in hex, each in host (little-endian) order.
fn parse_proc_addr(hex: &str, v6: bool) -> Option<IpAddr> {
    let words: Vec<u32> = (0..hex.len() / 8)
        .map(|i| {
            hex.get(i * 8..i * 8 + 8)
                .and_then(|w| u32::from_str_radix(w, 16).ok())
        })
        .collect::<Option<_>>()?;
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    if v6 {
        let b: [u8; 16] = bytes.try_into().ok()?;
        Some(IpAddr::V6(Ipv6Addr::from(b)))
    } else {
        let b: [u8; 4] = bytes.try_into().ok()?;
        Some(IpAddr::V4(Ipv4Addr::from(b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_line_parses() {
        let r = Ready::parse(
            r#"{"pds":"http://localhost:1234","plc":"http://127.0.0.1:99","adminPassword":"a\"b","pid":42}"#,
        )
        .unwrap();
        assert_eq!(r.pds, "http://localhost:1234");
        assert_eq!(r.plc, "http://127.0.0.1:99");
        assert_eq!(r.admin_password, "a\"b");
        assert_eq!(r.pid, 42);
    }

    #[test]
    fn ready_line_rejects_junk() {
        for bad in [
            "",
            "ready",
            r#"{"pds":"http://localhost:1","plc":"http://127.0.0.1:2","adminPassword":"x"}"#,
            r#"{"pds":"https://x","plc":"http://127.0.0.1:2","adminPassword":"x","pid":1}"#,
            r#"{"pds":"http://localhost:1","plc":"http://127.0.0.1:2","adminPassword":"x","pid":1} x"#,
            r#"{"pds":"http://localhost:1","plc":"http://127.0.0.1:2","adminPassword":"x","pid":-1}"#,
        ] {
            assert!(Ready::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn urls_parse() {
        let u = parse_url("http://localhost:2583/xrpc/a.b?c=d#frag").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.target.as_str()),
            ("localhost", 2583, "/xrpc/a.b?c=d")
        );
        let u = parse_url("http://127.0.0.1:9").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.target.as_str()),
            ("127.0.0.1", 9, "/")
        );
        let u = parse_url("http://[::1]:8080?x").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.target.as_str()),
            ("::1", 8080, "/?x")
        );
        assert!(parse_url("https://localhost/").is_err());
        assert!(parse_url("http://:80/").is_err());
        assert!(parse_url("http://a:b/").is_err());
    }

    #[test]
    fn localhost_is_ipv4_loopback() {
        let addrs = socket_addrs("LocalHost", 7).unwrap();
        assert_eq!(addrs, vec![SocketAddr::from(([127, 0, 0, 1], 7))]);
    }

    #[test]
    fn responses_parse() {
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
            false,
        )
        .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("text/plain"));
        assert_eq!(r.body, b"hello");

        let r = parse_response(
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            false,
        )
        .unwrap();
        assert_eq!(r.status, 404);
        assert_eq!(r.body, b"abcde");

        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort", false).is_err()
        );
        assert!(parse_response(b"SPDY 200\r\n\r\n", false).is_err());
        assert!(
            parse_response(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
                false
            )
            .is_err()
        );
    }

    #[test]
    fn proc_addresses_decode() {
        assert_eq!(
            parse_proc_addr("0100007F", false),
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
        );
        assert_eq!(
            parse_proc_addr("00000000000000000000000001000000", true),
            Some(IpAddr::V6(Ipv6Addr::LOCALHOST))
        );
        assert_eq!(parse_proc_addr("zz", false), None);
    }
}
