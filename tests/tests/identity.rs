//! atmo-identity and `atmo resolve` against the reference network: a real PDS and PLC.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

use atmo_identity::{Error, HandleSource, Resolver, ResolverConfig};
use atmo_syntax::{Did, Handle};
use atmo_tests::refnet::{RefNet, http_post_json};
use atmo_tests::support::atmo_bin;

/// A handle nobody else in this test process uses: `<prefix><unique>.test`.
fn fresh_handle(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros()
        % 1_000_000;
    format!("{prefix}{t}{n}.test")
}

struct Account {
    did: String,
    handle: String,
    access: String,
}

fn create_account(net: &RefNet, prefix: &str) -> Account {
    let handle = fresh_handle(prefix);
    let body = format!(
        r#"{{"handle":"{handle}","email":"{handle}@example.com","password":"pw-{handle}"}}"#
    );
    let res = http_post_json(&net.xrpc("com.atproto.server.createAccount"), &body, None).unwrap();
    assert_eq!(res.status, 200, "createAccount: {}", res.text());
    let json: serde_json::Value = serde_json::from_slice(&res.body).unwrap();
    Account {
        did: json["did"].as_str().unwrap().to_owned(),
        handle: json["handle"].as_str().unwrap().to_owned(),
        access: json["accessJwt"].as_str().unwrap().to_owned(),
    }
}

fn config(net: &RefNet) -> ResolverConfig {
    let mut c = ResolverConfig::default();
    c.plc_url = net.plc.clone();
    c.allow_private_network = true;
    c.use_dns = false; // .test names are not in DNS; nothing may leave 127.0.0.1
    c
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The did:key of the account's `#atproto` key according to the PLC audit log.
fn logged_signing_key(net: &RefNet, did: &str) -> String {
    let res = atmo_tests::refnet::http_get(&format!("{}/{did}/log/audit", net.plc)).unwrap();
    let log: serde_json::Value = serde_json::from_slice(&res.body).unwrap();
    let last = log.as_array().unwrap().last().unwrap();
    last["operation"]["verificationMethods"]["atproto"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn did_to_document_to_pds_and_key() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let acct = create_account(net, "doc");
    let mut c = config(net);
    c.handle_resolver = Some(net.pds.clone());
    let r = Resolver::new(c).unwrap();
    let id = rt().block_on(r.resolve(&acct.did)).unwrap();
    assert_eq!(id.did.as_str(), acct.did);
    assert_eq!(id.pds, net.pds);
    assert_eq!(
        id.signing_key.to_did_key(),
        logged_signing_key(net, &acct.did)
    );
    // DID -> handle: the document's handle resolves back through the PDS.
    assert_eq!(
        id.handle.as_ref().map(Handle::as_str),
        Some(acct.handle.as_str())
    );
    assert_eq!(id.doc.did().as_str(), acct.did);
}

#[test]
fn handle_through_the_pds_resolve_handle() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let acct = create_account(net, "xrpc");
    let mut c = config(net);
    c.handle_resolver = Some(net.pds.clone());
    let r = Resolver::new(c).unwrap();
    let h = Handle::new(&acct.handle).unwrap();
    let (did, source) = rt().block_on(r.resolve_handle_uncached(&h)).unwrap();
    assert_eq!(
        (did.as_str(), source),
        (acct.did.as_str(), HandleSource::Xrpc)
    );
    let id = rt().block_on(r.resolve(&acct.handle)).unwrap();
    assert_eq!(
        id.handle.as_ref().map(Handle::as_str),
        Some(acct.handle.as_str())
    );
    assert_eq!(id.pds, net.pds);
    // An unknown handle: the PDS says HandleNotFound.
    let nobody = Handle::new(&fresh_handle("nobody")).unwrap();
    let err = rt().block_on(r.resolve_handle(&nobody)).unwrap_err();
    assert!(matches!(err, Error::HandleNotFound { .. }), "{err}");
}

#[test]
fn handle_through_the_pds_well_known() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let acct = create_account(net, "wk");
    // The PDS serves /.well-known/atproto-did for its own handles by Host header.
    let mut c = config(net);
    c.well_known_endpoint = Some(net.pds.clone());
    let r = Resolver::new(c).unwrap();
    let h = Handle::new(&acct.handle).unwrap();
    let (did, source) = rt().block_on(r.resolve_handle_uncached(&h)).unwrap();
    assert_eq!(
        (did.as_str(), source),
        (acct.did.as_str(), HandleSource::WellKnown)
    );
    let id = rt().block_on(r.resolve(&acct.handle)).unwrap();
    assert_eq!(
        id.handle.as_ref().map(Handle::as_str),
        Some(acct.handle.as_str())
    );
    // Without the private-network permission the same lookup is refused before connecting.
    let mut c = config(net);
    c.allow_private_network = false;
    c.well_known_endpoint = Some(net.pds.replace("http://", "https://"));
    let r = Resolver::new(c).unwrap();
    let err = rt().block_on(r.resolve_handle(&h)).unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err}");
}

#[test]
fn ssrf_refuses_the_refnet_without_permission() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let acct = create_account(net, "ssrf");
    let did = Did::new(&acct.did).unwrap();
    // http://127.0.0.1 PLC: plain http is refused; https to localhost: loopback refused.
    let port = net.plc_port().unwrap();
    for (plc, what) in [
        (net.plc.clone(), "plain http"),
        (format!("https://localhost:{port}"), "loopback"),
        (format!("https://127.0.0.1:{port}"), "loopback"),
    ] {
        let mut c = ResolverConfig::default();
        c.plc_url = plc.clone();
        c.use_dns = false;
        let r = Resolver::new(c).unwrap();
        let err = rt().block_on(r.resolve_did(&did)).unwrap_err();
        assert!(err.to_string().contains(what), "{plc}: {err}");
    }
}

/// A TCP proxy to `upstream` that counts connections and may rewrite the request line.
struct Proxy {
    url: String,
    connections: Arc<AtomicUsize>,
}

fn proxy(upstream: u16, rewrite: impl Fn(&str) -> String + Send + Sync + 'static) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let connections = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&connections);
    let rewrite = Arc::new(rewrite);
    thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { return };
            count.fetch_add(1, Ordering::SeqCst);
            let rewrite = Arc::clone(&rewrite);
            thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match client.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let (line, rest) = head.split_once("\r\n").unwrap();
                // One request per connection: upstream is asked to close after answering,
                // so reading to the end gives the whole answer.
                let rest: String = rest
                    .split_inclusive("\r\n")
                    .filter(|h| !h.to_ascii_lowercase().starts_with("connection:"))
                    .collect();
                let mut server = TcpStream::connect(("127.0.0.1", upstream)).unwrap();
                server
                    .write_all(
                        format!("{}\r\nconnection: close\r\n{rest}", rewrite(line)).as_bytes(),
                    )
                    .unwrap();
                let mut answer = Vec::new();
                let _ = server.read_to_end(&mut answer);
                let _ = client.write_all(&answer);
            });
        }
    });
    Proxy { url, connections }
}

#[test]
fn handle_not_listed_back_is_invalid() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let a = create_account(net, "aa");
    let b = create_account(net, "bb");
    // A resolver that answers A's handle with the real PDS's answer for B's handle.
    let (ah, bh) = (a.handle.clone(), b.handle.clone());
    let p = proxy(net.pds_port().unwrap(), move |line| {
        line.replace(&format!("handle={ah}"), &format!("handle={bh}"))
    });
    let mut c = config(net);
    c.handle_resolver = Some(p.url.clone());
    let r = Resolver::new(c).unwrap();
    let id = rt().block_on(r.resolve(&a.handle)).unwrap();
    assert_eq!(id.did.as_str(), b.did, "the resolver's (false) answer");
    assert_eq!(id.handle, None, "B's document does not list A's handle");
    assert_eq!(id.handle_or_invalid(), "handle.invalid");
    // From A's DID: A's document claims A's handle, which (through this resolver) points at
    // B: not verified either.
    let id = rt().block_on(r.resolve(&a.did)).unwrap();
    assert_eq!(
        id.claimed_handle.as_ref().map(Handle::as_str),
        Some(a.handle.as_str())
    );
    assert_eq!(id.handle, None);
    assert!(p.connections.load(Ordering::SeqCst) >= 1);
}

#[test]
fn changed_handle_old_name_no_longer_resolves() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let a = create_account(net, "mv");
    let new = fresh_handle("mvd");
    let res = http_post_json(
        &net.xrpc("com.atproto.identity.updateHandle"),
        &format!(r#"{{"handle":"{new}"}}"#),
        Some(&a.access),
    )
    .unwrap();
    assert_eq!(res.status, 200, "updateHandle: {}", res.text());
    let mut c = config(net);
    c.handle_resolver = Some(net.pds.clone());
    let r = Resolver::new(c).unwrap();
    let id = rt().block_on(r.resolve(&a.did)).unwrap();
    assert_eq!(id.handle.as_ref().map(Handle::as_str), Some(new.as_str()));
    let err = rt().block_on(r.resolve(&a.handle)).unwrap_err();
    assert!(matches!(err, Error::HandleNotFound { .. }), "{err}");
    // The audit log has both operations, the last one naming the new handle.
    let log = rt()
        .block_on(r.plc_audit_log(&Did::new(&a.did).unwrap()))
        .unwrap();
    assert_eq!(log.len(), 2);
    let atmo_identity::plc::Operation::Plc(op) = &log[1].operation else {
        panic!("not a plc_operation: {:?}", log[1].operation)
    };
    assert_eq!(op.also_known_as[0], format!("at://{new}"));
}

#[test]
fn concurrent_resolves_make_one_request() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let acct = create_account(net, "dd");
    let p = proxy(net.plc_port().unwrap(), str::to_owned);
    let mut c = config(net);
    c.plc_url = p.url.clone();
    let r = Resolver::new(c).unwrap();
    let did = Did::new(&acct.did).unwrap();
    let docs = rt().block_on(async {
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let (r, did) = (r.clone(), did.clone());
                tokio::spawn(async move { r.resolve_did(&did).await })
            })
            .collect();
        let mut docs = Vec::new();
        for t in tasks {
            docs.push(t.await.unwrap().unwrap());
        }
        docs
    });
    assert!(docs.iter().all(|d| d.did().as_str() == acct.did));
    assert_eq!(
        p.connections.load(Ordering::SeqCst),
        1,
        "one request to the PLC"
    );
    assert_eq!(r.cache_stats().misses, 1);
}

// ---------------------------------------------------------------------------------------
// `atmo resolve` against the network.

#[test]
fn cli_resolve_against_the_network() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let atmo = atmo_bin();
    let acct = create_account(net, "cli");
    let run = |args: &[&str]| Command::new(atmo).args(args).output().unwrap();
    let net_args = [
        "--plc",
        net.plc.as_str(),
        "--handle-resolver",
        net.pds.as_str(),
        "--allow-private-network",
    ];
    for input in [acct.handle.as_str(), acct.did.as_str()] {
        let mut args = vec!["resolve", input, "--json"];
        args.extend(net_args);
        let o = run(&args);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(json["did"], acct.did.as_str());
        assert_eq!(json["handle"], acct.handle.as_str());
        assert_eq!(json["pds"], net.pds.as_str());
        assert_eq!(
            json["signingKey"],
            logged_signing_key(net, &acct.did).as_str()
        );
    }
    // Plain output.
    let mut args = vec!["resolve", acct.did.as_str()];
    args.extend(net_args);
    let o = run(&args);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains(&format!("did: {}\n", acct.did)), "{out}");
    assert!(out.contains(&format!("handle: {}\n", acct.handle)), "{out}");
    // Without --allow-private-network: refused.
    let o = run(&["resolve", &acct.did, "--plc", &net.plc]);
    assert_eq!(o.status.code(), Some(1));
    // A handle that points at another DID (through a lying resolver): exit 1, handle.invalid.
    let b = create_account(net, "clib");
    let (ah, bh) = (acct.handle.clone(), b.handle.clone());
    let p = proxy(net.pds_port().unwrap(), move |line| {
        line.replace(&format!("handle={ah}"), &format!("handle={bh}"))
    });
    let o = run(&[
        "resolve",
        &acct.handle,
        "--json",
        "--plc",
        &net.plc,
        "--handle-resolver",
        &p.url,
        "--allow-private-network",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["handle"], "handle.invalid");
    assert_eq!(json["did"], b.did.as_str());
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not list"));
    // An unknown handle: exit 1.
    let nobody = fresh_handle("nobody");
    let mut args = vec!["resolve", nobody.as_str()];
    args.extend(net_args);
    assert_eq!(run(&args).status.code(), Some(1));
}

/// The PDS a DID document names is untrusted data: a client for it refuses loopback and
/// private addresses (and plain http) by default, naming what it refused, and reaches it
/// only when allowed. The policy lives in the shared transport, so the library enforces
/// it without a separate lookup.
#[test]
fn a_document_pds_on_loopback_is_refused_unless_allowed() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let acct = create_account(net, "pol");
    let r = Resolver::new(config(net)).unwrap();
    let rt = rt();
    let doc = rt
        .block_on(r.resolve_did(&Did::new(&acct.did).unwrap()))
        .unwrap();
    let pds = doc.require_pds_endpoint().unwrap().to_owned();
    assert!(pds.starts_with("http://localhost:"), "{pds}");
    let describe = atmo_xrpc::XrpcRequest::query("com.atproto.server.describeServer").unwrap();

    // Plain http to a host the policy does not allow: refused when the client is built.
    let e = atmo_xrpc::Client::new(&pds).unwrap_err();
    match &e {
        atmo_xrpc::Error::Transport(atmo_http::Error::Insecure { url }) => {
            assert!(url.starts_with(&pds), "{url}")
        }
        other => panic!("expected Insecure, got {other}"),
    }
    // The same host over https: refused at connect time, naming the address.
    let https = pds.replacen("http://", "https://", 1);
    let client = atmo_xrpc::Client::new(&https).unwrap();
    let e = rt.block_on(client.send(&describe)).unwrap_err();
    match &e {
        atmo_xrpc::Error::Transport(atmo_http::Error::Forbidden { host, addr, reason }) => {
            assert_eq!(host, "localhost");
            assert!(addr.is_loopback(), "{addr}");
            assert_eq!(*reason, "loopback");
        }
        other => panic!("expected Forbidden, got {other}"),
    }
    assert!(
        e.to_string().contains("refusing to connect to localhost"),
        "{e}"
    );
    // Allowed explicitly (the whole private network, or this host): it answers.
    for client in [
        atmo_xrpc::Client::builder(&pds)
            .allow_private_network(true)
            .build()
            .unwrap(),
        atmo_xrpc::Client::builder(&pds)
            .policy(atmo_http::ConnectPolicy::default().allow_host("localhost"))
            .build()
            .unwrap(),
        // Sharing the resolver's transport shares its (private-network) policy.
        atmo_xrpc::Client::builder(&pds)
            .http(r.http().clone())
            .build()
            .unwrap(),
    ] {
        let res = rt.block_on(client.send(&describe)).unwrap();
        assert_eq!(res.status, 200);
    }
}
