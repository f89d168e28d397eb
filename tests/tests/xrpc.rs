//! atmo-xrpc against the real PDS of the reference network: sessions (create, resume,
//! refresh, one refresh under 50 concurrent requests), records, pagination, blobs with
//! CID checks, rate limits, a PDS that stops mid-session, and the `atmo` CLI commands.
//!
//! `ATMO_REFNET=0` skips them (loudly).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use atmo_api::com_atproto::repo::{
    apply_writes, create_record, delete_record, describe_repo, get_record, list_records,
    put_record, upload_blob::UploadBlob,
};
use atmo_api::com_atproto::sync::list_repos;
use atmo_data::{Cid, Value};
use atmo_syntax::{AtIdentifier, Did, Nsid, RecordKey};
use atmo_tests::refnet::{RefNet, skip_if_disabled};
use atmo_tests::support::{atmo_bin, temp_dir, unique};
use atmo_xrpc::{
    BinaryInput, Client, Error, FileSessionStore, PasswordSession, RetryPolicy, SessionData,
    SessionStore,
};
use base64::Engine as _;
use futures_util::TryStreamExt as _;
use sha2::{Digest, Sha256};

/// A client for a service on the loopback reference network (private addresses allowed).
fn dev(url: &str) -> atmo_xrpc::ClientBuilder {
    Client::builder(url).allow_private_network(true)
}

/// A fresh account on `client`'s service: a client that carries its session, the
/// session, its handle and password.
async fn new_account(client: &Client) -> (Client, PasswordSession, String, String) {
    let handle = format!("{}.test", unique("u"));
    let password = unique("pw-");
    let session = PasswordSession::create_account(
        client,
        &handle,
        &format!("{handle}@example.com"),
        &password,
        None,
    )
    .await
    .unwrap();
    let s = session.data().await;
    assert_eq!(s.handle.as_str(), handle);
    assert!(s.did.as_str().starts_with("did:plc:"), "{}", s.did);
    (session.client(), session, handle, password)
}

/// getSession through `client` (with its auth).
async fn get_session(client: &Client) -> Result<Value, Error> {
    let req = atmo_xrpc::XrpcRequest::query("com.atproto.server.getSession")?;
    client.send_authed(&req).await?.value()
}

fn post(text: &str) -> Value {
    atmo_data::json::record_from_str(&format!(
        r#"{{"$type":"app.bsky.feed.post","text":"{text}","createdAt":"2024-01-01T00:00:00.000Z"}}"#
    ))
    .unwrap()
}

fn note(i: usize) -> Value {
    atmo_data::json::record_from_str(&format!(r#"{{"$type":"com.example.note","n":{i}}}"#)).unwrap()
}

// ---------------------------------------------------------------------------------------
// A loopback HTTP/1.1 proxy that counts requests per path and can corrupt a response body.

#[derive(Default)]
struct ProxyState {
    counts: HashMap<String, usize>,
    corrupt: Vec<String>,
}

struct Proxy {
    url: String,
    state: Arc<Mutex<ProxyState>>,
}

impl Proxy {
    fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(ProxyState::default()));
        let st = Arc::clone(&state);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let st = Arc::clone(&st);
                std::thread::spawn(move || {
                    let _ = proxy_one(conn, upstream, &st);
                });
            }
        });
        Proxy {
            url: format!("http://127.0.0.1:{port}"),
            state,
        }
    }

    fn count(&self, path: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .counts
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    fn corrupt(&self, path: &str) {
        self.state.lock().unwrap().corrupt.push(path.to_owned());
    }
}

/// One request per connection: the request goes upstream with `connection: close`, the
/// whole answer comes back, then both connections close.
fn proxy_one(mut client: TcpStream, upstream: u16, st: &Mutex<ProxyState>) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_owned();
    let path = request_line
        .split(' ')
        .nth(1)
        .unwrap_or_default()
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut len = 0usize;
    let mut out_head = format!("{request_line}\r\n");
    for l in lines {
        let lower = l.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("connection:") {
            continue;
        }
        out_head.push_str(l);
        out_head.push_str("\r\n");
    }
    out_head.push_str("connection: close\r\n\r\n");
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = client.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let corrupt = {
        let mut s = st.lock().unwrap();
        *s.counts.entry(path.clone()).or_default() += 1;
        s.corrupt.contains(&path)
    };
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    up.write_all(out_head.as_bytes())?;
    up.write_all(&body)?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer)?;
    if corrupt {
        if let Some(i) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&answer[..i]).to_ascii_lowercase();
            let mut at = i + 4;
            if head.contains("transfer-encoding: chunked") {
                at += answer[at..]
                    .windows(2)
                    .position(|w| w == b"\r\n")
                    .unwrap_or(0)
                    + 2;
            }
            if let Some(b) = answer.get_mut(at) {
                *b ^= 0x01;
            }
        }
    }
    client.write_all(&answer)?;
    client.shutdown(Shutdown::Both)
}

// ---------------------------------------------------------------------------------------
// HS256 for minting an expired access token with a known PDS JWT secret.

fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn expired_copy(token: &str, secret: &str) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT");
    let header: serde_json::Value = serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(
        header["alg"], "HS256",
        "the PDS signs access tokens with its JWT secret"
    );
    let mut payload: serde_json::Value =
        serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    payload["iat"] = (now - 600).into();
    payload["exp"] = (now - 300).into();
    let input = format!("{}.{}", parts[0], b64.encode(payload.to_string()));
    let sig = hmac_sha256(secret.as_bytes(), input.as_bytes());
    format!("{input}.{}", b64.encode(sig))
}

// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_records_and_pages() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let dir = temp_dir("session");
    let store = Arc::new(FileSessionStore::new(dir.join("state/session.json")));
    let public = dev(&net.pds).build().unwrap();
    let (_, _, handle, password) = new_account(&public).await;

    // Login saves the session, 0600.
    let session = PasswordSession::login_with_store(&public, &handle, &password, store.clone())
        .await
        .unwrap();
    let client = session.client();
    let s = session.data().await;
    let stored = store.load().unwrap().unwrap();
    assert_eq!(stored, s);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(store.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Resume in a fresh client from the stored tokens.
    let other = dev(&net.pds).build().unwrap();
    let resumed = PasswordSession::resume(&other, stored.clone(), None);
    assert_eq!(
        (resumed.did().as_str(), resumed.data().await.handle.as_str()),
        (s.did.as_str(), handle.as_str())
    );
    let me = get_session(&resumed.client()).await.unwrap();
    assert_eq!(me.get("did").and_then(Value::as_str), Some(s.did.as_str()));
    // Refresh rotates the tokens, and the store follows.
    let refreshed = session.refresh().await.unwrap();
    assert_ne!(refreshed.refresh_jwt, s.refresh_jwt);
    assert_eq!(store.load().unwrap().unwrap(), refreshed);
    // A token that is no refresh token is refused as an expired session.
    let mut bogus = s.clone();
    bogus.refresh_jwt = s.access_jwt.clone();
    let stale = PasswordSession::resume(&other, bogus, None);
    let e = stale.refresh().await.unwrap_err();
    assert!(matches!(e, Error::SessionExpired(_)), "{e}");

    // Records: create, get, put with swap, conflicting swap, delete.
    let me: AtIdentifier = s.did.clone().into();
    let coll: Nsid = "app.bsky.feed.post".parse().unwrap();
    let a = client
        .call(create_record::Input::new(
            me.clone(),
            coll.clone(),
            post("one"),
        ))
        .await
        .unwrap();
    let rkey = a.uri.rkey().unwrap().clone();
    let get = get_record::Params::new(me.clone(), coll.clone(), rkey.clone());
    let got = client.call(&get).await.unwrap();
    assert_eq!(got.value, post("one"));
    assert_eq!(got.cid.as_ref(), Some(&a.cid));
    assert_eq!(
        Cid::for_dag_cbor(&atmo_data::cbor::encode(&got.value)).to_string(),
        a.cid.as_str()
    );
    let put =
        |text: &str| put_record::Input::new(me.clone(), coll.clone(), rkey.clone(), post(text));
    let b = client
        .call(put("two").with_swap_record(Some(a.cid.clone())))
        .await
        .unwrap();
    assert_ne!(a.cid, b.cid);
    let conflict = client
        .call(put("three").with_swap_record(Some(a.cid.clone())))
        .await
        .unwrap_err();
    assert!(
        conflict.is_endpoint(&put_record::Error::InvalidSwap),
        "{conflict}"
    );
    // swapRecord: null writes only where there is no record yet.
    let taken = client
        .call(put("four").with_swap_record(None))
        .await
        .unwrap_err();
    assert!(
        taken.is_endpoint(&put_record::Error::InvalidSwap),
        "{taken}"
    );
    let fresh_key: RecordKey = atmo_syntax::Tid::now().as_str().parse().unwrap();
    let c = client
        .call(
            put_record::Input::new(me.clone(), coll.clone(), fresh_key.clone(), post("five"))
                .with_swap_record(None),
        )
        .await
        .unwrap();
    assert_eq!(c.uri.rkey(), Some(&fresh_key), "{}", c.uri);
    client
        .call(
            delete_record::Input::new(me.clone(), coll.clone(), rkey.clone())
                .with_swap_record(b.cid.clone()),
        )
        .await
        .unwrap();
    let missing = client.call(&get).await.unwrap_err();
    assert!(
        missing.is_endpoint(&get_record::Error::RecordNotFound),
        "{missing}"
    );

    // applyWrites, then every page of listRecords with 2 per page.
    let notes: Nsid = "com.example.note".parse().unwrap();
    let writes: Vec<apply_writes::InputWritesItem> = (0..5)
        .map(|i| {
            apply_writes::InputWritesItem::Create(Box::new(
                apply_writes::Create::new(notes.clone(), note(i))
                    .with_rkey(format!("k{i}").parse().unwrap()),
            ))
        })
        .collect();
    client
        .call(apply_writes::Input::new(me.clone(), writes))
        .await
        .unwrap();
    let list = list_records::Params::new(me.clone(), notes.clone()).with_limit(2);
    let pages: Vec<_> = client.paginate(list.clone()).try_collect().await.unwrap();
    let mut keys: Vec<&str> = pages
        .iter()
        .flat_map(|p| &p.records)
        .map(|r| r.uri.rkey().unwrap().as_str())
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["k0", "k1", "k2", "k3", "k4"]);
    let page = client.call(&list).await.unwrap();
    assert_eq!(page.records.len(), 2);
    assert!(page.cursor.is_some());

    // describeRepo: the PDS resolves the DID itself (through the local PLC).
    let desc = client
        .call(describe_repo::Params::new(me.clone()))
        .await
        .unwrap();
    assert_eq!(desc.did, s.did);
    assert_eq!(desc.handle.as_str(), handle.as_str());
    assert!(desc.handle_is_correct);
    assert!(desc.collections.contains(&notes), "{:?}", desc.collections);
    let repos: Vec<_> = client
        .paginate(list_repos::Params::new().with_limit(1))
        .try_collect()
        .await
        .unwrap();
    assert!(repos.iter().flat_map(|p| &p.repos).any(|r| r.did == s.did));
    let car = client
        .get_repo(&s.did, None)
        .await
        .unwrap()
        .to_vec()
        .await
        .unwrap();
    assert!(car.len() > 100, "a CAR of {} bytes", car.len());

    // Logout forgets it everywhere; writes then fail.
    session.logout().await.unwrap();
    assert!(store.load().unwrap().is_none());
    let e = client
        .call(create_record::Input::new(
            me.clone(),
            coll.clone(),
            post("x"),
        ))
        .await
        .unwrap_err();
    // Typed calls send the token when there is one: with none left, the PDS refuses.
    assert!(e.as_xrpc().is_some_and(|x| x.is_auth_required()), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_round_trip_and_corruption_is_caught() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let proxy = Proxy::start(net.pds_port().unwrap());
    let public = dev(&proxy.url).build().unwrap();
    let (client, session, _, _) = new_account(&public).await;
    let did: Did = session.did().clone();
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let body = BinaryInput::new(data.clone()).content_type("application/octet-stream");
    let blob = client.call((UploadBlob, body)).await.unwrap().blob;
    assert_eq!(blob.cid, Cid::for_raw(&data));
    assert_eq!(blob.size, Some(data.len() as u64));
    // Only blobs a record refers to are served.
    let holder = |b: &atmo_data::Blob| {
        let mut m = atmo_data::Map::new();
        m.insert("$type", Value::String("com.example.blobholder".into()));
        m.insert("blob", b.to_value());
        Value::Map(m)
    };
    let hold = |b: &atmo_data::Blob| {
        create_record::Input::new(
            did.clone().into(),
            "com.example.blobholder".parse().unwrap(),
            holder(b),
        )
    };
    client.call(hold(&blob)).await.unwrap();

    let back = client
        .get_blob(&did, &blob.cid)
        .await
        .unwrap()
        .to_vec()
        .await
        .unwrap();
    assert!(back == data, "identical bytes");

    // Streamed upload from a reader.
    let more: Vec<u8> = data.iter().rev().copied().collect();
    let direct = dev(&net.pds).build().unwrap();
    let direct = PasswordSession::resume(&direct, session.data().await, None).client();
    let reader = std::io::Cursor::new(more.clone());
    let b2 = direct
        .upload_blob_reader(reader, "application/octet-stream", Some(more.len() as u64))
        .await
        .unwrap();
    assert_eq!(b2.cid, Cid::for_raw(&more));
    direct.call(hold(&b2)).await.unwrap();
    let back2 = direct
        .get_blob(&did, &b2.cid)
        .await
        .unwrap()
        .to_vec()
        .await
        .unwrap();
    assert!(back2 == more, "identical bytes after a streamed upload");

    // A corrupted download fails the CID check at the end of the stream.
    proxy.corrupt("/xrpc/com.atproto.sync.getBlob");
    let err = client
        .get_blob(&did, &blob.cid)
        .await
        .unwrap()
        .to_vec()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::CidMismatch { .. }), "{err}");
    // A missing blob is an XRPC error, before any stream.
    let absent = Cid::for_raw(b"never uploaded");
    let e = client.get_blob(&did, &absent).await.unwrap_err();
    assert!(e.as_xrpc().is_some(), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_refresh_for_fifty_expired_requests_then_pds_stops() {
    if skip_if_disabled() {
        return;
    }
    let secret = "7f".repeat(32);
    let mut net = RefNet::start_with_env(&[("PDS_JWT_SECRET", &secret)]).unwrap();
    let proxy = Proxy::start(net.pds_port().unwrap());
    let public = dev(&proxy.url)
        .timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let (_, session, _, _) = new_account(&public).await;
    let mut s = session.data().await;
    s.access_jwt = expired_copy(&s.access_jwt, &secret);
    let session = PasswordSession::resume(&public, s.clone(), None);
    let client = session.client();
    // The expired token is refused as such.
    let res = execute_probe(&net.pds, &s).await;
    assert!(res.is_some_and(|e| e.is_expired_token()));

    let started = Instant::now();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { get_session(&c).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    eprintln!(
        "50 concurrent calls with one refresh: {:?}",
        started.elapsed()
    );
    assert_eq!(proxy.count("/xrpc/com.atproto.server.refreshSession"), 1);
    // Each call succeeds once; a call that went out before the refresh finished was
    // refused as expired first and retried. Calls the scheduler starts after the refresh
    // already carry the new token, so the total is between 51 and 100.
    let calls = proxy.count("/xrpc/com.atproto.server.getSession");
    eprintln!("getSession requests through the proxy: {calls}");
    assert!((51..=100).contains(&calls), "{calls}");
    assert_ne!(session.data().await.access_jwt, s.access_jwt);

    // The PDS goes away mid-session: a clear transport error, quickly.
    net.stop().unwrap();
    let started = Instant::now();
    let e = get_session(&client).await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(e, Error::Transport(_)), "{e}");
    assert!(took < Duration::from_secs(12), "took {took:?}");
    eprintln!("stopped PDS: {e} after {took:?}");
}

/// Two processes share one session file; each makes 20 concurrent calls on an expired
/// access token. The store's lock makes exactly one refresh happen, the other process
/// adopts its tokens, and no call and no session is lost; twice over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sharing_a_session_file_refresh_once() {
    if skip_if_disabled() {
        return;
    }
    let secret = "5e".repeat(32);
    let net = RefNet::start_with_env(&[("PDS_JWT_SECRET", &secret)]).unwrap();
    let proxy = Proxy::start(net.pds_port().unwrap());
    let public = dev(&proxy.url).build().unwrap();
    let (_, session, _, _) = new_account(&public).await;
    let dir = temp_dir("shared-session");
    let file = dir.join("session.json");
    let store = FileSessionStore::new(&file);
    let mut current = session.data().await;
    for round in 1..=2 {
        let mut s = current.clone();
        s.access_jwt = expired_copy(&s.access_jwt, &secret);
        store.save(&s).unwrap();
        let spawn = || {
            std::process::Command::new(env!("CARGO_BIN_EXE_session-child"))
                .args([proxy.url.as_str(), file.to_str().unwrap(), "20"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(), spawn());
        for child in [a, b] {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "20");
        }
        assert_eq!(
            proxy.count("/xrpc/com.atproto.server.refreshSession"),
            round,
            "exactly one refresh in round {round}"
        );
        let after = store.load().unwrap().unwrap();
        assert_ne!(
            after.refresh_jwt, s.refresh_jwt,
            "the store holds the new tokens"
        );
        // The stored session is live: a third party can use it without refreshing.
        let check = PasswordSession::resume(&public, after.clone(), None).client();
        get_session(&check).await.unwrap();
        assert_eq!(
            proxy.count("/xrpc/com.atproto.server.refreshSession"),
            round
        );
        current = after;
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// getSession on `pds` with the session's access token, without the refresh logic (a
/// raw request).
async fn execute_probe(pds: &str, s: &SessionData) -> Option<atmo_xrpc::XrpcError> {
    let req = atmo_xrpc::XrpcRequest::query("com.atproto.server.getSession").ok()?;
    let url = req.to_http(pds, None).ok()?.uri().to_string();
    let res = atmo_tests::refnet::http_get_auth(&url, Some(&s.access_jwt)).ok()?;
    let headers = http_headers(&res.headers);
    Some(atmo_xrpc::XrpcError::from_parts(
        res.status, &headers, &res.body,
    ))
}

fn http_headers(pairs: &[(String, String)]) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    for (k, v) in pairs {
        if let (Ok(k), Ok(v)) = (http::HeaderName::from_bytes(k.as_bytes()), v.parse()) {
            h.append(k, v);
        }
    }
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_parsed_tracked_and_429_is_bounded() {
    if skip_if_disabled() {
        return;
    }
    let net = RefNet::start_with_env(&[("PDS_RATE_LIMITS_ENABLED", "true")]).unwrap();
    let client = dev(&net.pds).build().unwrap();
    let (_, _, handle, _) = new_account(&client).await;
    let req = atmo_xrpc::XrpcRequest::query("com.atproto.server.describeServer").unwrap();
    client.send(&req).await.unwrap();
    let seen = client.rate_limits();
    assert!(!seen.is_empty(), "rate-limit headers tracked");
    let (host, _, rl) = &seen[0];
    assert_eq!(host, "localhost");
    assert!(rl.limit > 0 && rl.remaining < rl.limit, "{rl:?}");

    // createSession is limited (30 per 5 minutes): a wrong password until 429.
    let mut limited = None;
    for _ in 0..100 {
        match PasswordSession::login(&client, &handle, "wrong").await {
            Err(Error::Xrpc(e)) if e.is_rate_limited() => {
                limited = Some(e);
                break;
            }
            Err(Error::Xrpc(e)) if e.is_auth_required() => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    let e = limited.expect("a 429 within 100 attempts");
    let rl = e
        .rate_limit
        .clone()
        .expect("429 carries rate-limit headers");
    assert_eq!(rl.remaining, 0);
    let wait = rl.reset_in(SystemTime::now()).unwrap();
    assert!(wait > Duration::from_secs(5), "{wait:?}");
    // With retries on, a reset further away than max_wait returns the 429 at once.
    let patient = dev(&net.pds)
        .retry(RetryPolicy {
            retry_on_429: true,
            max_wait: Duration::from_secs(2),
            max_retries: 3,
        })
        .build()
        .unwrap();
    let started = Instant::now();
    let e = PasswordSession::login(&patient, &handle, "wrong")
        .await
        .unwrap_err();
    assert!(e.as_xrpc().is_some_and(|x| x.is_rate_limited()), "{e}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

fn atmo(
    session: &std::path::Path,
    pds: &str,
    args: &[&str],
    stdin: Option<&[u8]>,
) -> std::process::Output {
    let mut cmd = std::process::Command::new(atmo_bin());
    cmd.args(args)
        .args(["--pds", pds])
        .env("ATMO_SESSION_FILE", session)
        // OAuth state lives under XDG_STATE_HOME: beside the session file, never the user's.
        .env("XDG_STATE_HOME", session.parent().unwrap_or(session))
        .env("ATMO_APP_PASSWORD", "unused")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn ok_json(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_session_record_blob_xrpc() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let public = dev(&net.pds).build().unwrap();
    let (_client, session, handle, password) = new_account(&public).await;
    let did = session.did().to_string();
    let dir = temp_dir("cli");
    let sess = dir.join("session.json");
    let pds = net.pds.as_str();

    let mut login = std::process::Command::new(atmo_bin());
    let out = login
        .args(["login", &handle, "--pds", pds])
        .env("ATMO_SESSION_FILE", &sess)
        .env("XDG_STATE_HOME", &dir)
        .env("ATMO_APP_PASSWORD", &password)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let me = ok_json(&atmo(&sess, pds, &["whoami", "--json"], None));
    assert_eq!(
        me,
        serde_json::json!({"did": did, "handle": handle, "pds": pds, "auth": "app-password", "scope": null})
    );

    let rec = br#"{"$type":"com.example.note","n":1}"#;
    let created = ok_json(&atmo(
        &sess,
        pds,
        &["record", "create", "com.example.note", "-", "--rkey", "one"],
        Some(rec),
    ));
    let uri = created["uri"].as_str().unwrap().to_owned();
    assert_eq!(uri, format!("at://{did}/com.example.note/one"));
    let got = ok_json(&atmo(&sess, pds, &["record", "get", &uri, "--json"], None));
    assert_eq!(got["value"]["n"], 1);
    assert_eq!(got["cid"], created["cid"]);
    let put = ok_json(&atmo(
        &sess,
        pds,
        &["record", "put", &uri, "-"],
        Some(br#"{"$type":"com.example.note","n":2}"#),
    ));
    assert_ne!(put["cid"], created["cid"]);
    for i in 0..3 {
        let body = format!(r#"{{"$type":"com.example.note","n":{}}}"#, 10 + i);
        ok_json(&atmo(
            &sess,
            pds,
            &["record", "create", "com.example.note"],
            Some(body.as_bytes()),
        ));
    }
    let list = atmo(
        &sess,
        pds,
        &["record", "list", &did, "com.example.note", "--json"],
        None,
    );
    assert!(list.status.success());
    assert_eq!(String::from_utf8_lossy(&list.stdout).lines().count(), 4);
    let del = atmo(&sess, pds, &["record", "delete", &uri], None);
    assert!(
        del.status.success(),
        "{}",
        String::from_utf8_lossy(&del.stderr)
    );
    let missing = atmo(&sess, pds, &["record", "get", &uri], None);
    assert_eq!(missing.status.code(), Some(1));

    let file = dir.join("data.bin");
    let data: Vec<u8> = (0..5000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let blob = ok_json(&atmo(
        &sess,
        pds,
        &[
            "blob",
            "upload",
            file.to_str().unwrap(),
            "--mime",
            "application/octet-stream",
            "--json",
        ],
        None,
    ));
    let cid = blob["ref"]["$link"].as_str().unwrap().to_owned();
    assert_eq!(cid, Cid::for_raw(&data).to_string());
    let holder = format!(r#"{{"$type":"com.example.blobholder","blob":{blob}}}"#);
    ok_json(&atmo(
        &sess,
        pds,
        &["record", "create", "com.example.blobholder"],
        Some(holder.as_bytes()),
    ));
    let back = dir.join("back.bin");
    let get = atmo(
        &sess,
        pds,
        &["blob", "get", &did, &cid, "-o", back.to_str().unwrap()],
        None,
    );
    assert!(
        get.status.success(),
        "{}",
        String::from_utf8_lossy(&get.stderr)
    );
    assert!(std::fs::read(&back).unwrap() == data);

    let x = ok_json(&atmo(
        &sess,
        pds,
        &[
            "xrpc",
            "com.atproto.repo.listRecords",
            &format!("repo={did}"),
            "collection=com.example.note",
            "limit=1",
        ],
        None,
    ));
    assert_eq!(x["records"].as_array().unwrap().len(), 1);
    let x = ok_json(&atmo(
        &sess,
        pds,
        &["xrpc", "com.atproto.server.getSession"],
        None,
    ));
    assert_eq!(x["did"], did.as_str());

    let out = atmo(&sess, pds, &["logout"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let write = atmo(
        &sess,
        pds,
        &["record", "create", "com.example.note"],
        Some(rec),
    );
    assert_eq!(write.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&write.stderr).contains("not logged in"));
    let _ = std::fs::remove_dir_all(dir);
}
