//! Lexicon resolution from the network, against the reference network: an account
//! publishes a `com.atproto.lexicon.schema` record, a loopback DNS server run by the test
//! answers `_lexicon.<authority>` TXT `did=<that DID>`, and `atmo lex resolve` finds the
//! document through DNS -> DID (the refnet PLC) -> PDS -> getRecord, caches it with the
//! record's CID, and finds it in the cache next time without asking DNS. `atmo lex pull`
//! writes such lexicons into a directory pinned by a `lexicons.lock`, and `--locked`
//! refuses a record that changed since.
//!
//! `ATMO_REFNET=0` skips them (loudly). The binary is built once per run
//! (`cargo build -p atmo-cli`) into this target directory; `ATMO_BIN=<path>` uses another.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use atmo_api::com_atproto::repo::put_record;
use atmo_data::Cid;
use atmo_tests::refnet::RefNet;
use atmo_tests::support::{atmo_bin, temp_dir};
use atmo_xrpc::Client;

const SCHEMA: &str = "com.atproto.lexicon.schema";

fn atmo(args: &[&str]) -> Output {
    Command::new(atmo_bin())
        .args(args)
        .env_remove("ATMO_SESSION_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

fn ok_json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// A fresh account: (its client holding the session, its DID).
async fn account(net: &RefNet) -> (Client, String) {
    let a = atmo_tests::support::test_account(&net.pds, "lx").await;
    (a.client, a.did)
}

/// `putRecord` of `record` at `rkey` of the schema collection in the session's repo.
async fn put_schema(client: &Client, rkey: &str, record: &atmo_data::Value) -> put_record::Output {
    let did = client.auth().account_did().unwrap();
    let input = put_record::Input::new(
        did.into(),
        SCHEMA.parse().unwrap(),
        rkey.parse().unwrap(),
        record.clone(),
    );
    client.call(&input).await.unwrap()
}

/// A `com.atproto.lexicon.schema` record holding a record lexicon with this `id`.
fn schema_record(id: &str) -> atmo_data::Value {
    atmo_data::json::record_from_str(&format!(
        r#"{{"$type": "{SCHEMA}", "lexicon": 1, "id": "{id}",
            "description": "A status post, published for the lexicon resolution test.",
            "defs": {{"main": {{"type": "record", "key": "tid", "record": {{"type": "object",
                "required": ["status", "createdAt"], "properties": {{
                    "status": {{"type": "string", "minLength": 1, "maxGraphemes": 1, "maxLength": 32}},
                    "createdAt": {{"type": "string", "format": "datetime"}}}}}}}}}}}}"#
    ))
    .unwrap()
}

// ---------------------------------------------------------------------------------------
// A tiny authoritative DNS server (UDP) answering TXT questions from a table.

struct TestDns {
    addr: SocketAddr,
    queries: Arc<Mutex<Vec<String>>>,
    answering: Arc<AtomicBool>,
}

impl TestDns {
    fn start(table: HashMap<String, Vec<String>>) -> TestDns {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = udp.local_addr().unwrap();
        let queries = Arc::new(Mutex::new(Vec::new()));
        let answering = Arc::new(AtomicBool::new(true));
        let (q, on) = (queries.clone(), answering.clone());
        thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while let Ok((n, from)) = udp.recv_from(&mut buf) {
                if !on.load(Ordering::SeqCst) {
                    continue;
                }
                if let Some(reply) = dns_answer(&buf[..n], &table, &q) {
                    let _ = udp.send_to(&reply, from);
                }
            }
        });
        TestDns {
            addr,
            queries,
            answering,
        }
    }

    fn queries(&self) -> Vec<String> {
        self.queries.lock().unwrap().clone()
    }

    /// Stops answering (and logging): the server is as good as gone.
    fn silence(&self) {
        self.answering.store(false, Ordering::SeqCst);
    }
}

const TYPE_TXT: u16 = 16;

/// The answer to one DNS query message (TXT records of a known name, NXDOMAIN for
/// others), or `None` for one it cannot read.
fn dns_answer(
    q: &[u8],
    table: &HashMap<String, Vec<String>>,
    log: &Mutex<Vec<String>>,
) -> Option<Vec<u8>> {
    let be16 = |at: usize| Some(u16::from_be_bytes([*q.get(at)?, *q.get(at + 1)?]));
    let flags = be16(2)?;
    if be16(4)? != 1 || flags & 0x8000 != 0 {
        return None;
    }
    let mut i = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*q.get(i)?);
        i += 1;
        if len == 0 {
            break;
        }
        if len & 0xc0 != 0 {
            return None;
        }
        labels.push(String::from_utf8_lossy(q.get(i..i + len)?).to_ascii_lowercase());
        i += len;
    }
    let qtype = be16(i)?;
    let question_end = i + 4;
    let name = labels.join(".");
    log.lock().unwrap().push(name.clone());
    let records = table.get(&name);
    let answers: Vec<&String> = match records {
        Some(r) if qtype == TYPE_TXT => r.iter().collect(),
        _ => Vec::new(),
    };
    let rcode: u16 = if records.is_some() { 0 } else { 3 };
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(q.get(0..2)?);
    let out_flags = 0x8000 | (flags & 0x7800) | 0x0400 | (flags & 0x0100) | rcode;
    out.extend_from_slice(&out_flags.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&u16::try_from(answers.len()).ok()?.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(q.get(12..question_end)?);
    for txt in answers {
        out.extend_from_slice(&[0xc0, 0x0c]);
        out.extend_from_slice(&TYPE_TXT.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&60u32.to_be_bytes());
        let mut rdata = Vec::new();
        for chunk in txt.as_bytes().chunks(255) {
            rdata.push(u8::try_from(chunk.len()).ok()?);
            rdata.extend_from_slice(chunk);
        }
        out.extend_from_slice(&u16::try_from(rdata.len()).ok()?.to_be_bytes());
        out.extend_from_slice(&rdata);
    }
    Some(out)
}

/// `atmo lex resolve NSID --json` with the cache in `cache`, DNS at `dns`, and the
/// refnet's PLC, no bundled-set match (the NSIDs are not official).
fn resolve(net: &RefNet, nsid: &str, cache: &Path, dns: SocketAddr, extra: &[&str]) -> Output {
    let dns = dns.to_string();
    let cache = cache.display().to_string();
    let mut args = vec![
        "lex",
        "resolve",
        nsid,
        "--json",
        "--cache-dir",
        &cache,
        "--dns-server",
        &dns,
        "--plc",
        &net.plc,
        "--allow-private-network",
    ];
    args.extend_from_slice(extra);
    atmo(&args)
}

// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolves_from_the_network_then_from_the_cache() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let nsid = "com.example.status.post";
    let (client, did) = account(net).await;
    let record = schema_record(nsid);
    let put = put_schema(&client, nsid, &record).await;
    // The CID the PDS reports is the record's DAG-CBOR CID.
    assert_eq!(
        put.cid.as_str(),
        Cid::for_dag_cbor(&atmo_data::cbor::encode(&record)).to_string()
    );
    let dns = TestDns::start(HashMap::from([(
        "_lexicon.status.example.com".to_owned(),
        vec!["v=other".to_owned(), format!("did={did}")],
    )]));
    let cache = temp_dir("cache");

    // 1. From the network.
    let v = ok_json(&resolve(net, nsid, &cache, dns.addr, &[]));
    assert_eq!(v["id"], nsid);
    let src = &v["source"];
    assert_eq!(src["kind"], "network", "{v}");
    assert_eq!(src["did"], did.as_str());
    assert_eq!(src["cid"], put.cid.as_str());
    assert_eq!(src["uri"], format!("at://{did}/{SCHEMA}/{nsid}"));
    let cached = cache.join(format!("{nsid}.json"));
    assert_eq!(src["path"], cached.display().to_string());
    assert_eq!(v["defs"][0]["name"], "main");
    assert_eq!(v["defs"][0]["type"], "record");
    assert_eq!(
        dns.queries(),
        vec!["_lexicon.status.example.com".to_owned()]
    );

    // The cache holds the document and a sidecar with the DID and CID.
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cached).unwrap()).unwrap();
    assert_eq!(doc["id"], nsid);
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cache.join(format!("{nsid}.meta"))).unwrap())
            .unwrap();
    assert_eq!(meta["did"], did.as_str());
    assert_eq!(meta["cid"], put.cid.as_str());

    // 2. From the cache, with the DNS server gone silent: no query reaches it.
    dns.silence();
    let v = ok_json(&resolve(net, nsid, &cache, dns.addr, &[]));
    assert_eq!(v["source"]["kind"], "cache", "{v}");
    assert_eq!(v["source"]["path"], cached.display().to_string());
    assert_eq!(v["source"]["did"], did.as_str());
    assert_eq!(v["source"]["cid"], put.cid.as_str());
    assert_eq!(dns.queries().len(), 1);
    // Also with the network off, and in text form (which names the record it came from).
    let v = ok_json(&resolve(net, nsid, &cache, dns.addr, &["--offline"]));
    assert_eq!(v["source"]["kind"], "cache");
    let out = atmo(&[
        "lex",
        "resolve",
        nsid,
        "--offline",
        "--cache-dir",
        &cache.display().to_string(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("source: cache: {}", cached.display())),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "fetched: at://{did}/{SCHEMA}/{nsid} (cid {})",
            put.cid
        )),
        "{text}"
    );
    assert_eq!(dns.queries().len(), 1);

    // 3. Offline with an empty cache: exit 1 naming the missing network step.
    let empty = temp_dir("empty");
    let out = resolve(net, nsid, &empty, dns.addr, &["--offline"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not enabled"));
    std::fs::remove_dir_all(&cache).unwrap();
    std::fs::remove_dir_all(&empty).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_failures_exit_1_and_cache_nothing() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let (client, did) = account(net).await;
    // A record whose document names another NSID than its key.
    put_schema(
        &client,
        "com.example.status.liar",
        &schema_record("com.example.status.post"),
    )
    .await;
    let dns = TestDns::start(HashMap::from([(
        "_lexicon.status.example.com".to_owned(),
        vec![format!("did={did}")],
    )]));
    let cache = temp_dir("neg");

    let out = resolve(net, "com.example.status.liar", &cache, dns.addr, &[]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("defines com.example.status.post, expected com.example.status.liar"),
        "{err}"
    );
    assert!(
        err.contains(&format!("at://{did}/{SCHEMA}/com.example.status.liar")),
        "{err}"
    );

    // No record under that key.
    let out = resolve(net, "com.example.status.missing", &cache, dns.addr, &[]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("has no record"), "{err}");

    // No _lexicon record for the authority (NXDOMAIN).
    let out = resolve(net, "org.example.nothing.here", &cache, dns.addr, &[]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("_lexicon.nothing.example.org has no did= TXT record"),
        "{err}"
    );

    assert_eq!(std::fs::read_dir(&cache).map(|d| d.count()).unwrap_or(0), 0);
    let _ = std::fs::remove_dir_all(&cache);
}

// ---------------------------------------------------------------------------------------
// `atmo lex pull` and the lockfile.

/// `atmo lex pull ARGS` run in `cwd` (so the default `lexicons/` and `lexicons.lock` are
/// there), with DNS at `dns` and the refnet's PLC.
fn pull(net: &RefNet, cwd: &Path, dns: SocketAddr, args: &[&str]) -> Output {
    Command::new(atmo_bin())
        .current_dir(cwd)
        .args(["lex", "pull"])
        .args(args)
        .args(["--dns-server", &dns.to_string(), "--plc", &net.plc])
        .arg("--allow-private-network")
        .env_remove("ATMO_SESSION_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

fn stdout_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The record as JSON without its `$type`: what a pulled document file holds.
fn doc_of(record: &atmo_data::Value) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(&atmo_data::json::to_string(record)).unwrap();
    v.as_object_mut().unwrap().remove("$type");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_pins_lexicons_and_locked_refuses_a_changed_record() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let nsid = "com.example.lockt.status";
    let (client, did) = account(net).await;
    let v1 = schema_record(nsid);
    let put1 = put_schema(&client, nsid, &v1).await;
    let dns = TestDns::start(HashMap::from([(
        "_lexicon.lockt.example.com".to_owned(),
        vec![format!("did={did}")],
    )]));
    let work = temp_dir("pull");
    let doc_path = work.join("lexicons/com/example/lockt/status.json");
    let lock_path = work.join("lexicons.lock");
    let uri = format!("at://{did}/{SCHEMA}/{nsid}");

    // 1. A plain pull writes the document at its upstream path and the lock.
    let text = stdout_ok(&pull(net, &work, dns.addr, &[nsid]));
    assert!(
        text.contains(&format!(
            "{nsid}: {uri} (cid {}) -> lexicons/com/example/lockt/status.json, added",
            put1.cid
        )),
        "{text}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&doc_path).unwrap()).unwrap();
    assert_eq!(doc, doc_of(&v1));
    let lock_v1 = std::fs::read_to_string(&lock_path).unwrap();
    let locked = atmo_lexicon::Lockfile::read(&lock_path).unwrap();
    assert_eq!(locked.len(), 1);
    let entry = locked.get(nsid).unwrap();
    assert_eq!(entry.did.as_str(), did);
    assert_eq!(entry.cid.to_string(), put1.cid.as_str());
    assert_eq!(entry.uri(nsid), uri);
    assert!(
        lock_v1.contains(&format!("\"cid\": \"{}\"", put1.cid)),
        "{lock_v1}"
    );
    // The locked set is what codegen reads: the one document, checked against its CID.
    let cat = locked.catalog(&work.join("lexicons")).unwrap();
    assert_eq!(cat.docs().len(), 1);
    assert_eq!(cat.docs()[0].id.as_str(), nsid);

    // 2. --locked with nothing changed: succeeds, lock untouched, and the locked
    // document is written exactly (here: again, after it was deleted).
    let doc_v1 = std::fs::read(&doc_path).unwrap();
    std::fs::remove_file(&doc_path).unwrap();
    let text = stdout_ok(&pull(net, &work, dns.addr, &["--locked"]));
    assert!(text.contains("unchanged"), "{text}");
    assert_eq!(std::fs::read(&doc_path).unwrap(), doc_v1);
    assert_eq!(std::fs::read_to_string(&lock_path).unwrap(), lock_v1);
    // Offline, the directory is checked against the lock.
    let text = stdout_ok(&pull(net, &work, dns.addr, &["--locked", "--offline"]));
    assert!(
        text.contains(&format!("{nsid}: cid {} matches", put1.cid)),
        "{text}"
    );

    // 3. The record is updated (a new CID): --locked fails, naming the NSID and both
    // CIDs, and writes nothing.
    let mut v2 = schema_record(nsid);
    if let atmo_data::Value::Map(m) = &mut v2 {
        m.insert("description", atmo_data::Value::from("Version two."));
    }
    let put2 = put_schema(&client, nsid, &v2).await;
    assert_ne!(put1.cid, put2.cid);
    let out = pull(net, &work, dns.addr, &["--locked"]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "{nsid}: {uri} has CID {}, but the lock pins CID {}",
            put2.cid, put1.cid
        )),
        "{err}"
    );
    assert_eq!(std::fs::read(&doc_path).unwrap(), doc_v1);
    assert_eq!(std::fs::read_to_string(&lock_path).unwrap(), lock_v1);
    // An NSID the lock does not name is refused by --locked too.
    let out = pull(
        net,
        &work,
        dns.addr,
        &["--locked", "com.example.lockt.other"],
    );
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("com.example.lockt.other is not in lexicons.lock"),
        "{err}"
    );

    // 4. A plain pull (no NSIDs: every locked one) takes the new record and updates the
    // lock; --locked then passes again.
    let text = stdout_ok(&pull(net, &work, dns.addr, &[]));
    assert!(
        text.contains(&format!(
            "(cid {}) -> lexicons/com/example/lockt/status.json, updated from {}",
            put2.cid, put1.cid
        )),
        "{text}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&doc_path).unwrap()).unwrap();
    assert_eq!(doc, doc_of(&v2));
    assert_eq!(doc["description"], "Version two.");
    let lock_v2 = std::fs::read_to_string(&lock_path).unwrap();
    assert_eq!(
        lock_v2,
        lock_v1.replace(put1.cid.as_str(), put2.cid.as_str())
    );
    stdout_ok(&pull(net, &work, dns.addr, &["--locked"]));
    assert_eq!(std::fs::read_to_string(&lock_path).unwrap(), lock_v2);

    // 5. A document edited by hand fails the offline check, naming both CIDs.
    let mut edited = doc.clone();
    edited["description"] = "Edited by hand.".into();
    std::fs::write(&doc_path, serde_json::to_string_pretty(&edited).unwrap()).unwrap();
    let out = pull(net, &work, dns.addr, &["--locked", "--offline"]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{err}");
    let edited_cid = atmo_lexicon::lock::record_cid(&edited).unwrap();
    assert!(
        err.contains(&format!(
            "{nsid}: lexicons/com/example/lockt/status.json has CID {edited_cid}, but the lock pins CID {}",
            put2.cid
        )),
        "{err}"
    );

    // 6. Usage errors exit 2.
    let out = pull(net, &work, dns.addr, &["--offline"]);
    assert_eq!(out.status.code(), Some(2));
    let out = pull(net, &work, dns.addr, &["not an nsid"]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&work).unwrap();
}

// ---------------------------------------------------------------------------------------
// References: `atmo lex pull` follows them to lexicons that are not bundled.

/// A schema record from JSON (`$type` added).
fn schema_json(mut doc: serde_json::Value) -> atmo_data::Value {
    doc["$type"] = SCHEMA.into();
    atmo_data::json::record_from_str(&doc.to_string()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_follows_references_and_locks_them() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let (a, b) = ("com.example.refs.a", "com.example.refs.b");
    let (client, did) = account(net).await;
    // B: two object definitions.
    let doc_b = schema_json(serde_json::json!({"lexicon": 1, "id": b, "defs": {
        "main": {"type": "object", "properties": {"x": {"type": "string"}}},
        "thing": {"type": "object", "properties": {"n": {"type": "integer"}}}}}));
    // A: a record referring to B (a ref, and a union inside an array) and to an official
    // lexicon (bundled, so not pulled).
    let doc_a = schema_json(serde_json::json!({"lexicon": 1, "id": a, "defs": {
        "main": {"type": "record", "key": "tid", "record": {"type": "object", "properties": {
            "b": {"type": "ref", "ref": b},
            "things": {"type": "array", "items": {"type": "union", "refs": [format!("{b}#thing")]}},
            "subject": {"type": "ref", "ref": "com.atproto.repo.strongRef"}}}}}}));
    let put_b = put_schema(&client, b, &doc_b).await;
    let put_a = put_schema(&client, a, &doc_a).await;
    let dns = TestDns::start(HashMap::from([(
        "_lexicon.refs.example.com".to_owned(),
        vec![format!("did={did}")],
    )]));
    let work = temp_dir("refs");

    // Pulling A pulls B too, says why, and locks both.
    let text = stdout_ok(&pull(net, &work, dns.addr, &[a]));
    assert!(
        text.contains(&format!(
            "{a}: at://{did}/{SCHEMA}/{a} (cid {}) -> lexicons/com/example/refs/a.json, added\n",
            put_a.cid
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{b}: at://{did}/{SCHEMA}/{b} (cid {}) -> lexicons/com/example/refs/b.json, added \
             (referenced by {a})\n",
            put_b.cid
        )),
        "{text}"
    );
    assert!(text.contains("lexicons.lock: 2 lexicons"), "{text}");
    let lock_path = work.join("lexicons.lock");
    let locked = atmo_lexicon::Lockfile::read(&lock_path).unwrap();
    assert_eq!(locked.iter().map(|(n, _)| n).collect::<Vec<_>>(), [a, b]);
    assert_eq!(locked.get(b).unwrap().cid.to_string(), put_b.cid.as_str());
    assert!(!work.join("lexicons/com/atproto").exists());
    // The locked set is whole: nothing dangles but the bundled lexicon.
    let cat = locked.catalog(&work.join("lexicons")).unwrap();
    let dangling: Vec<String> = cat
        .dangling_refs()
        .into_iter()
        .map(|(_, r)| r.target.nsid.as_str().to_owned())
        .collect();
    assert_eq!(dangling, ["com.atproto.repo.strongRef"]);
    // --locked follows the same references and finds them locked.
    let lock_before = std::fs::read_to_string(&lock_path).unwrap();
    let text = stdout_ok(&pull(net, &work, dns.addr, &["--locked", a]));
    assert!(text.contains(&format!("{b}: ")), "{text}");
    assert_eq!(std::fs::read_to_string(&lock_path).unwrap(), lock_before);
    // A lock without B: --locked refuses to add it, saying who needs it.
    let mut only_a = locked.clone();
    only_a.remove(b);
    only_a.write(&lock_path).unwrap();
    let out = pull(net, &work, dns.addr, &["--locked", a]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "{b}, referenced by {a}, is not in lexicons.lock (--locked does not add lexicons"
        )),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&lock_path).unwrap(),
        only_a.to_text()
    );
    locked.write(&lock_path).unwrap();

    // A reference to a lexicon that is not published fails the pull, naming it, and
    // nothing is written.
    let c = "com.example.refs.c";
    let doc_c = schema_json(serde_json::json!({"lexicon": 1, "id": c, "defs": {
        "main": {"type": "object", "properties": {
            "gone": {"type": "ref", "ref": "com.example.refs.gone"}}}}}));
    put_schema(&client, c, &doc_c).await;
    let out = pull(net, &work, dns.addr, &[c]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot resolve lexicon com.example.refs.gone from the network")
            && err.contains("has no record"),
        "{err}"
    );
    assert!(!work.join("lexicons/com/example/refs/c.json").exists());
    assert_eq!(std::fs::read_to_string(&lock_path).unwrap(), lock_before);
    std::fs::remove_dir_all(&work).unwrap();
}

// ---------------------------------------------------------------------------------------
// Proofs: each record comes from com.atproto.sync.getRecord and must be proven by the
// repository's signed commit. The test's own proxies sit in front of the PLC directory
// (pointing the account's DID document at the second proxy) and of the PDS (changing the
// getRecord CAR).

/// What a proxy does to a response body, given the request's path and query.
type Transform = Arc<dyn Fn(&str, Vec<u8>) -> Vec<u8> + Send + Sync>;

/// A loopback HTTP proxy to `upstream` (one request per connection) that passes each
/// response body, with the request target, through `transform`. Returns its URL.
fn body_proxy(upstream: u16, transform: Transform) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let t = Arc::clone(&transform);
            thread::spawn(move || {
                let _ = proxy_one(conn, upstream, &*t);
            });
        }
    });
    format!("http://127.0.0.1:{port}")
}

fn proxy_one(
    mut client: std::net::TcpStream,
    upstream: u16,
    transform: &(dyn Fn(&str, Vec<u8>) -> Vec<u8> + Send + Sync),
) -> std::io::Result<()> {
    use std::io::{Read as _, Write as _};
    client.set_read_timeout(Some(std::time::Duration::from_secs(60)))?;
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
    let request_line = lines.next().unwrap_or_default();
    let target = request_line
        .split(' ')
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    // Asked as HTTP/1.0 (GETs only here): the answer is neither chunked nor compressed
    // and ends when the upstream closes.
    let mut out = format!("{}\r\n", request_line.replace("HTTP/1.1", "HTTP/1.0"));
    for l in lines {
        let lower = l.to_ascii_lowercase();
        if lower.starts_with("connection:") || lower.starts_with("accept-encoding:") {
            continue;
        }
        out.push_str(l);
        out.push_str("\r\n");
    }
    out.push_str("connection: close\r\n\r\n");
    let mut up = std::net::TcpStream::connect(("127.0.0.1", upstream))?;
    up.write_all(out.as_bytes())?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer)?;
    let Some(i) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        client.write_all(&answer)?;
        return client.shutdown(std::net::Shutdown::Both);
    };
    let head = String::from_utf8_lossy(&answer[..i]).into_owned();
    let body = transform(&target, answer[i + 4..].to_vec());
    let mut resp = String::new();
    for (n, l) in head.split("\r\n").enumerate() {
        let lower = l.to_ascii_lowercase();
        if n > 0
            && (lower.starts_with("content-length:")
                || lower.starts_with("connection:")
                || lower.starts_with("transfer-encoding:"))
        {
            continue;
        }
        resp.push_str(l);
        resp.push_str("\r\n");
    }
    resp.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    client.write_all(resp.as_bytes())?;
    client.write_all(&body)?;
    client.shutdown(std::net::Shutdown::Both)
}

/// How the PDS proxy changes a getRecord CAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tamper {
    /// Not at all.
    None,
    /// The commit re-signed by another key (every block still matches its CID).
    OtherKey,
    /// A byte of the record block flipped (the block no longer matches its CID).
    FlipRecord,
    /// The tree's root node left out (no path from the commit to the record).
    DropRoot,
}

fn tamper(how: Tamper, car: Vec<u8>) -> Vec<u8> {
    use atmo_repo::{BlockStore as _, CarBlockStore, Commit};
    if how == Tamper::None {
        return car;
    }
    let store = CarBlockStore::from_car(&car).unwrap();
    let root = store.roots()[0];
    let commit = Commit::decode(store.get_block(&root).unwrap()).unwrap();
    let mut blocks: Vec<(Cid, Vec<u8>)> = store.iter().map(|(c, b)| (c, b.to_vec())).collect();
    let mut roots = vec![root];
    match how {
        Tamper::None => {}
        Tamper::OtherKey => {
            let key = atmo_crypto::Keypair::generate(atmo_crypto::Curve::K256).unwrap();
            let forged = Commit::sign(
                commit.did,
                commit.data,
                commit.rev.unwrap(),
                commit.prev,
                &key,
            )
            .unwrap();
            blocks.retain(|(c, _)| *c != root);
            blocks.insert(0, (forged.cid(), forged.encode()));
            roots = vec![forged.cid()];
        }
        Tamper::FlipRecord => {
            let record = blocks
                .iter_mut()
                .find(|(_, b)| {
                    atmo_data::cbor::decode(b)
                        .ok()
                        .and_then(|v| v.get("$type").and_then(|t| t.as_str().map(str::to_owned)))
                        .as_deref()
                        == Some(SCHEMA)
                })
                .expect("the record block");
            let last = record.1.len() - 1;
            record.1[last] ^= 0x01;
        }
        Tamper::DropRoot => blocks.retain(|(c, _)| *c != commit.data),
    }
    atmo_repo::car::write_car(&roots, blocks.iter().map(|(c, b)| (*c, b.as_slice())))
}

/// `atmo lex pull ARGS` in `cwd` with the PLC directory at `plc`.
fn pull_via(plc: &str, cwd: &Path, dns: SocketAddr, args: &[&str]) -> Output {
    Command::new(atmo_bin())
        .current_dir(cwd)
        .args(["lex", "pull"])
        .args(args)
        .args(["--dns-server", &dns.to_string(), "--plc", plc])
        .arg("--allow-private-network")
        .env_remove("ATMO_SESSION_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_verifies_the_record_proof_and_refuses_a_tampered_one() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let nsid = "com.example.proof.status";
    let (client, did) = account(net).await;
    let put = put_schema(&client, nsid, &schema_record(nsid)).await;
    let dns = TestDns::start(HashMap::from([(
        "_lexicon.proof.example.com".to_owned(),
        vec![format!("did={did}")],
    )]));
    let mode = Arc::new(Mutex::new(Tamper::None));
    let served = Arc::new(Mutex::new(0usize));
    let (m, s) = (Arc::clone(&mode), Arc::clone(&served));
    let pds = body_proxy(
        net.pds_port().unwrap(),
        Arc::new(move |target: &str, body: Vec<u8>| {
            if !target.starts_with("/xrpc/com.atproto.sync.getRecord?") {
                return body;
            }
            *s.lock().unwrap() += 1;
            tamper(*m.lock().unwrap(), body)
        }),
    );
    let to = pds.clone();
    let plc = body_proxy(
        net.plc_port().unwrap(),
        Arc::new(move |target: &str, body: Vec<u8>| {
            let Ok(mut doc) = serde_json::from_slice::<serde_json::Value>(&body) else {
                return body;
            };
            if !target.starts_with("/did:plc:") {
                return body;
            }
            for s in doc["service"].as_array_mut().into_iter().flatten() {
                if s["id"]
                    .as_str()
                    .is_some_and(|i| i.ends_with("#atproto_pds"))
                {
                    s["serviceEndpoint"] = to.clone().into();
                }
            }
            serde_json::to_vec(&doc).unwrap()
        }),
    );

    // Untouched, through both proxies: the proof verifies and the record is locked.
    let work = temp_dir("proof");
    let text = stdout_ok(&pull_via(&plc, &work, dns.addr, &[nsid]));
    assert!(
        text.contains(&format!(
            "{nsid}: at://{did}/{SCHEMA}/{nsid} (cid {}) ->",
            put.cid
        )),
        "{text}"
    );
    assert_eq!(
        *served.lock().unwrap(),
        1,
        "the record came through the proxy"
    );
    let lock_before = std::fs::read_to_string(work.join("lexicons.lock")).unwrap();

    // Each tampered proof is refused (exit 1), naming the NSID and the record, and
    // nothing is written.
    for (how, why) in [
        (Tamper::OtherKey, "signature"),
        (Tamper::FlipRecord, "the proof CAR"),
        (Tamper::DropRoot, "the tree path to the record"),
    ] {
        *mode.lock().unwrap() = how;
        std::fs::remove_file(work.join("lexicons/com/example/proof/status.json")).unwrap();
        let out = pull_via(&plc, &work, dns.addr, &[nsid]);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        eprintln!("{how:?}: {err}");
        assert_eq!(out.status.code(), Some(1), "{how:?}: {err}");
        assert!(
            err.contains(&format!(
                "lexicon {nsid}: the record at://{did}/{SCHEMA}/{nsid} is not proven by its \
                 repository's signed commit"
            )),
            "{how:?}: {err}"
        );
        assert!(err.contains(why), "{how:?}: {err}");
        assert!(!work.join("lexicons/com/example/proof/status.json").exists());
        assert_eq!(
            std::fs::read_to_string(work.join("lexicons.lock")).unwrap(),
            lock_before
        );
        // Put the file back for the next round.
        *mode.lock().unwrap() = Tamper::None;
        stdout_ok(&pull_via(&plc, &work, dns.addr, &[nsid]));
    }
    std::fs::remove_dir_all(&work).unwrap();
}
