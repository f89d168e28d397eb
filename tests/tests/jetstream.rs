//! atmo's Jetstream server fed by the reference PDS's subscribeRepos (fully verified),
//! read by atmo's Jetstream client and by a third-party client from npm
//! (`@skyware/jetstream`, tests/jetstream): collection and DID filters, `options_update`,
//! cursor replay from the on-disk buffer (also after a server restart), and the v1 wire
//! shape the third-party client accepts.
//!
//! `ATMO_REFNET=0` skips it (loudly).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use atmo::Agent;
use atmo::identity::{Resolver, ResolverConfig};
use atmo_firehose::jetstream::{
    EventBody, JetstreamClient, JetstreamConfig, JetstreamEvent, JetstreamItem, JetstreamServer,
    ServerConfig, SubscribeOptions,
};
use atmo_firehose::{Config, VerifyLevel};
use atmo_tests::refnet::RefNet;
use atmo_tests::support::{temp_dir, test_account};

fn resolver(net: &RefNet) -> Resolver {
    let mut c = ResolverConfig::default();
    c.plc_url = net.plc.clone();
    c.allow_private_network = true;
    c.use_dns = false;
    c.handle_resolver = Some(net.pds.clone());
    Resolver::new(c).unwrap()
}

async fn agent(net: &RefNet, prefix: &str) -> Agent {
    let acct = test_account(&net.pds, prefix).await;
    Agent::from_password(acct.session)
        .await
        .with_resolver(resolver(net))
}

async fn server(net: &RefNet, dir: &Path) -> JetstreamServer {
    let mut upstream = Config::new(net.pds.clone());
    upstream.allow_private_network = true;
    upstream.plc_url = net.plc.clone();
    upstream.verify = VerifyLevel::Full;
    let mut config = ServerConfig::new(upstream, "127.0.0.1:0".parse().unwrap());
    config.buffer_dir = Some(dir.to_owned());
    JetstreamServer::start(config).await.unwrap()
}

fn client(
    server: &JetstreamServer,
    options: SubscribeOptions,
    cursor: Option<i64>,
) -> JetstreamClient {
    let mut c = JetstreamConfig::new(format!("ws://{}", server.local_addr()));
    c.options = options;
    c.cursor = cursor;
    c.allow_private_network = true;
    JetstreamClient::start(c).unwrap()
}

/// The next `n` commit events (other kinds skipped), within 30 s.
async fn commits(c: &mut JetstreamClient, n: usize) -> Vec<JetstreamEvent> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while out.len() < n {
        let item = tokio::time::timeout_at(deadline, c.next())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "only {} of {n} commit events within 30 s: {out:?}",
                    out.len()
                )
            })
            .unwrap();
        match item {
            JetstreamItem::Event(ev) if ev.kind() == "commit" => out.push(ev),
            JetstreamItem::Event(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    out
}

fn text(ev: &JetstreamEvent) -> String {
    match &ev.body {
        EventBody::Commit { commit } => commit
            .record
            .as_ref()
            .and_then(|r| r["text"].as_str())
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}

fn node() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("refnet/node_modules/.bin/node")
}

/// Runs the third-party client; its events.
fn third_party(
    endpoint: &str,
    count: usize,
    cursor: Option<i64>,
    collections: &[&str],
    dids: &[&str],
) -> Vec<serde_json::Value> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("jetstream");
    let status = Command::new(dir.join("install")).status().unwrap();
    assert!(status.success(), "tests/jetstream/install failed");
    let cursor = cursor.map_or("-".to_owned(), |c| c.to_string());
    let out = Command::new(node())
        .current_dir(&dir)
        .env("WANTED_DIDS", dids.join(","))
        .arg("read.mjs")
        .args([endpoint, &count.to_string(), "20000", &cursor])
        .args(collections)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "third-party client: exit {:?}, stderr {}, stdout {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_server_clients_filters_and_replay() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let dir = temp_dir("jetstream");
    let srv = server(net, &dir).await;
    // Other tests write to the same reference network: these two accounts only.
    let alice = agent(net, "js-a-").await;
    let bob = agent(net, "js-b-").await;
    let a_did = alice.did().unwrap().to_string();
    let b_did = bob.did().unwrap().to_string();
    let posts_only = SubscribeOptions {
        wanted_collections: vec!["app.bsky.feed.post".into()],
        wanted_dids: vec![a_did.clone(), b_did.clone()],
        ..Default::default()
    };
    let mut live = client(&srv, posts_only.clone(), None);
    // Let the server's upstream subscription and the client connect.
    tokio::time::sleep(Duration::from_millis(700)).await;

    for i in 0..3 {
        let p = alice.post(format!("alice {i}")).send().await.unwrap();
        if i == 0 {
            alice.like(&p.uri).await.unwrap();
        }
    }
    bob.post("bob 0").send().await.unwrap();

    // The live client sees the four posts (not the like), in order, with their records.
    let got = commits(&mut live, 4).await;
    let texts: Vec<String> = got.iter().map(text).collect();
    assert_eq!(texts, ["alice 0", "alice 1", "alice 2", "bob 0"]);
    assert!(got.windows(2).all(|w| w[0].time_us < w[1].time_us));
    let first = got[0].time_us;

    // Replay from the first post's time, only Alice, every collection: her three posts
    // and the like, from the buffer.
    let alice_only = SubscribeOptions {
        wanted_dids: vec![a_did.clone()],
        ..Default::default()
    };
    let mut replay = client(&srv, alice_only, Some(first));
    let again = commits(&mut replay, 4).await;
    let kinds: Vec<(String, String)> = again
        .iter()
        .map(|e| (e.collection().unwrap().to_owned(), text(e)))
        .collect();
    assert_eq!(
        kinds,
        [
            ("app.bsky.feed.post".to_owned(), "alice 0".to_owned()),
            ("app.bsky.feed.like".to_owned(), String::new()),
            ("app.bsky.feed.post".to_owned(), "alice 1".to_owned()),
            ("app.bsky.feed.post".to_owned(), "alice 2".to_owned()),
        ]
    );
    assert_eq!(again[0].time_us, first);

    // options_update: the live client switches to likes only.
    live.update_options(SubscribeOptions {
        wanted_collections: vec!["app.bsky.feed.like".into()],
        wanted_dids: vec![a_did.clone(), b_did.clone()],
        ..Default::default()
    })
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    bob.post("not wanted any more").send().await.unwrap();
    let target = alice.post("like me").send().await.unwrap();
    bob.like(&target.uri).await.unwrap();
    let liked = commits(&mut live, 1).await;
    assert_eq!(liked[0].collection(), Some("app.bsky.feed.like"));

    // The third-party client reads the same events from the same cursor.
    let endpoint = format!("ws://{}/subscribe", srv.local_addr());
    let theirs = third_party(
        &endpoint,
        4,
        Some(first),
        &["app.bsky.feed.post"],
        &[&a_did, &b_did],
    );
    let their_texts: Vec<&str> = theirs
        .iter()
        .map(|e| e["commit"]["record"]["text"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(their_texts, ["alice 0", "alice 1", "alice 2", "bob 0"]);
    let their_times: Vec<i64> = theirs
        .iter()
        .map(|e| e["time_us"].as_i64().unwrap())
        .collect();
    let our_times: Vec<i64> = got.iter().map(|e| e.time_us).collect();
    assert_eq!(their_times, our_times);

    // A restart keeps the buffer: the same replay works from disk.
    live.shutdown().await;
    replay.shutdown().await;
    srv.shutdown().await;
    let srv = server(net, &dir).await;
    let mut after = client(&srv, posts_only, Some(first));
    let replayed = commits(&mut after, 4).await;
    assert_eq!(replayed.iter().map(text).collect::<Vec<_>>(), texts);
    after.shutdown().await;
    srv.shutdown().await;
}

/// Lines of a child's pipe, on a channel.
fn lines(r: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead as _;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// `atmo jetstream serve` and `atmo jetstream --host` (the CLI contract).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_serve_and_read() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let atmo = atmo_tests::support::atmo_bin();
    let dir = temp_dir("jetstream-cli");
    let mut serve = Command::new(atmo)
        .args([
            "jetstream",
            "serve",
            "--upstream",
            &net.pds,
            "--listen",
            "127.0.0.1:0",
        ])
        .arg("--buffer")
        .arg(&dir)
        .args(["--plc", &net.plc, "--allow-private-network"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let serve_err = lines(serve.stderr.take().unwrap());
    let ready = serve_err.recv_timeout(Duration::from_secs(60)).unwrap();
    let url = ready
        .split_whitespace()
        .find(|w| w.starts_with("ws://"))
        .unwrap_or_else(|| panic!("no URL in {ready:?}"))
        .trim_end_matches("/subscribe")
        .to_owned();
    // Other tests write to the same reference network: read only this account.
    let a = agent(net, "jsc-").await;
    let a_did = a.did().unwrap().to_string();
    let mut read = Command::new(atmo)
        .args([
            "jetstream",
            "--host",
            &url,
            "--collection",
            "app.bsky.feed.post",
        ])
        .args(["--did", &a_did, "--allow-private-network"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let out = lines(read.stdout.take().unwrap());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let p = a.post("through the command line").send().await.unwrap();
    let line = loop {
        let l = out
            .recv_timeout(Duration::from_secs(30))
            .expect("an event line");
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        if v["kind"] == "commit" {
            break v;
        }
    };
    assert_eq!(line["did"], a.did().unwrap().as_str());
    assert_eq!(line["commit"]["operation"], "create");
    assert_eq!(line["commit"]["collection"], "app.bsky.feed.post");
    assert_eq!(line["commit"]["rkey"], p.uri.rkey().unwrap().as_str());
    assert_eq!(line["commit"]["cid"], p.cid.to_string());
    assert_eq!(line["commit"]["record"]["text"], "through the command line");
    assert!(line["time_us"].as_i64().unwrap() > 1_700_000_000_000_000);
    let _ = read.kill();
    let _ = serve.kill();
    let _ = read.wait();
    let _ = serve.wait();
}

/// Writes `n` records (`{"text": "<text> <i>"}` and `pad` bytes of padding) to the
/// collection `com.example.pad` with `com.atproto.repo.applyWrites`, in calls of at most
/// 100 KB (the PDS takes 150 KB of JSON).
async fn apply_records(a: &atmo_tests::support::TestAccount, text: &str, n: usize, pad: usize) {
    use atmo_api::com_atproto::repo::apply_writes;
    let did: atmo_syntax::Did = a.did.parse().unwrap();
    let coll = atmo_syntax::Nsid::new("com.example.pad").unwrap();
    let padding = "x".repeat(pad);
    let per_call = (100_000 / (pad + 100)).clamp(1, 200);
    for start in (0..n).step_by(per_call) {
        let writes: Vec<apply_writes::InputWritesItem> = (start..n.min(start + per_call))
            .map(|i| {
                let rec = atmo_data::json::record_from_str(&format!(
                    r#"{{"$type": "com.example.pad", "text": "{text} {i}", "pad": "{padding}"}}"#
                ))
                .unwrap();
                apply_writes::Create::new(coll.clone(), rec).into()
            })
            .collect();
        let input = apply_writes::Input::new(did.clone().into(), writes);
        a.client
            .call(&input)
            .await
            .unwrap_or_else(|e| panic!("applyWrites: {e}"));
    }
}

/// Reads a raw websocket's text messages as JSON until `lines` holds `n`.
async fn read_raw<S>(
    ws: &mut tokio_tungstenite::WebSocketStream<S>,
    lines: &mut Vec<serde_json::Value>,
    n: usize,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use futures_util::StreamExt as _;
    while lines.len() < n {
        let msg = tokio::time::timeout(Duration::from_secs(60), ws.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} events within 60 s", lines.len()))
            .unwrap()
            .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
            lines.push(serde_json::from_str(t.as_str()).unwrap());
        }
    }
}

/// A replay of a buffer many times larger than what one subscriber reads from disk at a
/// time: the events held in memory per subscriber stay under a bound (counted by the
/// server), a subscriber that stops reading in the middle of its replay holds up neither
/// the live stream nor another replay, and afterwards it gets the rest, once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_replay_streams_in_bounded_memory_and_a_stalled_reader_blocks_nobody() {
    // About 9 MB of events: more than the kernel's socket buffers on loopback hold
    // (4 MiB of send buffer at most here, net.ipv4.tcp_wmem), so a subscriber that stops
    // reading really stops the server's writes to it.
    const POSTS: usize = 2800;
    const PAD: usize = 3000;
    const CHUNK: usize = 32;
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let a = test_account(&net.pds, "jsbig-").await;
    apply_records(&a, "big", POSTS, PAD).await;

    // The server follows the PDS from its first event, this account only (other tests
    // share the network), and reads at most CHUNK events from disk at a time.
    let dir = temp_dir("jetstream-big");
    let mut upstream = Config::new(net.pds.clone());
    upstream.allow_private_network = true;
    upstream.plc_url = net.plc.clone();
    upstream.verify = VerifyLevel::Full;
    upstream.cursor = Some(0);
    upstream.filter = atmo_firehose::Filter::default().did(a.did.parse().unwrap());
    let mut config = ServerConfig::new(upstream, "127.0.0.1:0".parse().unwrap());
    config.buffer_dir = Some(dir.clone());
    config.replay_chunk = CHUNK;
    let srv = JetstreamServer::start(config).await.unwrap();
    // The account's #identity and #account, then one event per record.
    let total = POSTS as u64 + 2;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while srv.stats().buffered < total {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {total} events buffered within 60 s",
            srv.stats().buffered
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let size: u64 = std::fs::read_dir(dir.join("events"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    eprintln!("buffer: {total} events, {size} bytes");

    // The stalled subscriber: a raw websocket with a small receive buffer, so that the
    // server's writes to it block once the kernel buffers are full. It reads ten events.
    let url = format!(
        "ws://{}/subscribe?wantedDids={}&cursor=1",
        srv.local_addr(),
        a.did
    );
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let tcp = sock.connect(srv.local_addr()).await.unwrap();
    let (mut slow, _) = tokio_tungstenite::client_async(url.as_str(), tcp)
        .await
        .unwrap();
    let mut slow_texts = Vec::new();
    let mut slow_lines = Vec::new();
    read_raw(&mut slow, &mut slow_lines, 10).await;

    // While it does not read: a live subscriber gets a new post ...
    let mut live = client(
        &srv,
        SubscribeOptions {
            wanted_dids: vec![a.did.clone()],
            ..Default::default()
        },
        Some(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_micros() as i64,
        ),
    );
    apply_records(&a, "during the stall", 1, 10).await;
    let got = commits(&mut live, 1).await;
    assert_eq!(text(&got[0]), "during the stall 0");
    // ... and another replay of the whole buffer completes, once and in order.
    let mut full = client(
        &srv,
        SubscribeOptions {
            wanted_dids: vec![a.did.clone()],
            ..Default::default()
        },
        Some(1),
    );
    let all = commits(&mut full, POSTS + 1).await;
    let mut expected: Vec<String> = (0..POSTS).map(|i| format!("big {i}")).collect();
    expected.push("during the stall 0".into());
    assert_eq!(all.iter().map(text).collect::<Vec<_>>(), expected);

    // Counted, not timed: every replay held at most one chunk plus a small queue, and
    // the stalled one has not read the buffer through (the server stopped reading for
    // it when its socket filled).
    let stats = srv.stats();
    eprintln!("{stats:?}");
    assert!(
        stats.replay_held_max <= CHUNK as u64 + 64,
        "a replay held {} events at once",
        stats.replay_held_max
    );
    assert!(total > 25 * (CHUNK as u64 + 64));
    let others = (total + 1) + 1; // the full replay, and the live one's post
    assert!(
        stats.replayed < others + total,
        "the stalled replay read the whole buffer: {stats:?}"
    );

    // The stalled subscriber goes on: the rest, once, in order.
    read_raw(&mut slow, &mut slow_lines, total as usize + 1).await;
    for l in &slow_lines {
        if l["kind"] == "commit" {
            slow_texts.push(l["commit"]["record"]["text"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(slow_texts, expected);
    let times: Vec<i64> = slow_lines
        .iter()
        .map(|l| l["time_us"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]));
    live.shutdown().await;
    full.shutdown().await;
    srv.shutdown().await;
}
