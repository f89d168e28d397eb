//! The reference network itself, checked for real: the official PDS and the PLC directory
//! that `tests/refnet` starts answer the calls later tests build on.
//!
//! `ATMO_REFNET=0 cargo test -p atmo-tests --test refnet` skips them (loudly).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use atmo_tests::refnet::{
    HttpResponse, RefNet, http_get, http_get_auth, http_post_json, http_request,
    listening_addresses,
};
use serde_json::{Value, json};

/// A random lower-case hex string (std only: the randomly keyed SipHash of the clock).
fn random_hex() -> String {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

fn json_of(res: &HttpResponse, what: &str) -> Value {
    assert_eq!(
        res.status,
        200,
        "{what}: status {} body {}",
        res.status,
        res.text()
    );
    serde_json::from_slice(&res.body)
        .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", res.text()))
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string {key:?} in {v}"))
}

struct Account {
    handle: String,
    did: String,
    password: String,
    access_jwt: String,
}

/// `com.atproto.server.createAccount` for a fresh `alice-<random>.test`.
fn create_account(net: &RefNet) -> Account {
    let handle = format!("alice-{}.test", &random_hex()[..10]);
    let password = format!("pw-{}", random_hex());
    let body = json!({
        "handle": handle,
        "email": format!("{handle}@example.com"),
        "password": password,
    });
    let res = http_post_json(
        &net.xrpc("com.atproto.server.createAccount"),
        &body.to_string(),
        None,
    )
    .unwrap();
    let v = json_of(&res, "createAccount");
    assert_eq!(str_field(&v, "handle"), handle);
    let did = str_field(&v, "did").to_owned();
    assert!(did.starts_with("did:plc:"), "{did}");
    Account {
        handle,
        did,
        password,
        access_jwt: str_field(&v, "accessJwt").to_owned(),
    }
}

#[test]
fn both_servers_are_healthy() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let pds = json_of(&http_get(&net.xrpc("_health")).unwrap(), "PDS health");
    assert!(pds.get("version").is_some_and(Value::is_string), "{pds}");
    let plc = http_get(&format!("{}/_health", net.plc)).unwrap();
    assert_eq!(plc.status, 200, "PLC health: {}", plc.text());
    assert!(net.pds.starts_with("http://localhost:"), "{}", net.pds);
    assert!(net.plc.starts_with("http://127.0.0.1:"), "{}", net.plc);
    assert!(!net.admin_password.is_empty());
}

#[test]
fn describe_server_offers_test_handles() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let v = json_of(
        &http_get(&net.xrpc("com.atproto.server.describeServer")).unwrap(),
        "describeServer",
    );
    let domains: Vec<&str> = v["availableUserDomains"]
        .as_array()
        .unwrap_or_else(|| panic!("no availableUserDomains in {v}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(domains, [".test"]);
    assert_eq!(v["inviteCodeRequired"], Value::Bool(false), "{v}");
    assert_eq!(str_field(&v, "did"), "did:web:localhost");
}

#[test]
fn new_account_is_published_in_the_plc_directory() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let alice = create_account(net);
    let doc = json_of(
        &http_get(&format!("{}/{}", net.plc, alice.did)).unwrap(),
        "PLC document",
    );
    assert_eq!(str_field(&doc, "id"), alice.did);
    let aka: Vec<&str> = doc["alsoKnownAs"]
        .as_array()
        .unwrap_or_else(|| panic!("no alsoKnownAs in {doc}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(aka, [format!("at://{}", alice.handle)]);
    let services = doc["service"]
        .as_array()
        .unwrap_or_else(|| panic!("no service in {doc}"));
    let pds = services
        .iter()
        .find(|s| {
            s["id"]
                .as_str()
                .is_some_and(|id| id.ends_with("#atproto_pds"))
        })
        .unwrap_or_else(|| panic!("no #atproto_pds service in {doc}"));
    assert_eq!(str_field(pds, "type"), "AtprotoPersonalDataServer");
    assert_eq!(str_field(pds, "serviceEndpoint"), net.pds);
    let keys = doc["verificationMethod"]
        .as_array()
        .unwrap_or_else(|| panic!("no verificationMethod in {doc}"));
    assert!(
        keys.iter().any(
            |k| k["id"].as_str().is_some_and(|id| id.ends_with("#atproto"))
                && k["publicKeyMultibase"]
                    .as_str()
                    .is_some_and(|m| m.starts_with('z'))
        ),
        "no #atproto Multikey in {doc}"
    );

    // The PDS resolves the handle to the same DID.
    let res = http_get(&format!(
        "{}?handle={}",
        net.xrpc("com.atproto.identity.resolveHandle"),
        alice.handle
    ))
    .unwrap();
    assert_eq!(str_field(&json_of(&res, "resolveHandle"), "did"), alice.did);
}

#[test]
fn session_record_and_repo_export() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let alice = create_account(net);

    // A fresh session with the password, by handle.
    let login = json!({ "identifier": alice.handle, "password": alice.password });
    let session = json_of(
        &http_post_json(
            &net.xrpc("com.atproto.server.createSession"),
            &login.to_string(),
            None,
        )
        .unwrap(),
        "createSession",
    );
    assert_eq!(str_field(&session, "did"), alice.did);
    let token = str_field(&session, "accessJwt").to_owned();
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    assert!(!str_field(&session, "refreshJwt").is_empty());
    for jwt in [&token, &alice.access_jwt] {
        let me = json_of(
            &http_get_auth(&net.xrpc("com.atproto.server.getSession"), Some(jwt)).unwrap(),
            "getSession",
        );
        assert_eq!(str_field(&me, "handle"), alice.handle);
        assert_eq!(str_field(&me, "did"), alice.did);
    }

    // Without a token, writes are refused.
    let text = format!("hello from atmo {}", random_hex());
    let write = json!({
        "repo": alice.did,
        "collection": "app.bsky.feed.post",
        "record": {
            "$type": "app.bsky.feed.post",
            "text": text,
            "createdAt": "2025-01-01T00:00:00.000Z",
        },
    });
    let refused = http_post_json(
        &net.xrpc("com.atproto.repo.createRecord"),
        &write.to_string(),
        None,
    )
    .unwrap();
    assert_eq!(refused.status, 401, "{}", refused.text());

    let created = json_of(
        &http_post_json(
            &net.xrpc("com.atproto.repo.createRecord"),
            &write.to_string(),
            Some(&token),
        )
        .unwrap(),
        "createRecord",
    );
    let uri = str_field(&created, "uri");
    let cid = str_field(&created, "cid");
    let prefix = format!("at://{}/app.bsky.feed.post/", alice.did);
    let rkey = uri
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{uri} does not start with {prefix}"));
    assert_eq!(rkey.len(), 13, "a TID record key: {rkey}");
    assert!(
        cid.starts_with("bafyrei"),
        "a dag-cbor sha2-256 CIDv1: {cid}"
    );

    let got = json_of(
        &http_get(&format!(
            "{}?repo={}&collection=app.bsky.feed.post&rkey={rkey}",
            net.xrpc("com.atproto.repo.getRecord"),
            alice.did
        ))
        .unwrap(),
        "getRecord",
    );
    assert_eq!(str_field(&got, "uri"), uri);
    assert_eq!(str_field(&got, "cid"), cid);
    assert_eq!(got["value"]["text"].as_str(), Some(text.as_str()));

    // The whole repo as a CAR v1: varint header length, then the DAG-CBOR header map
    // {roots: [...], version: 1} (keys sorted length-first, so `version` comes last).
    let car = http_get(&format!(
        "{}?did={}",
        net.xrpc("com.atproto.sync.getRepo"),
        alice.did
    ))
    .unwrap();
    assert_eq!(car.status, 200, "getRepo: {}", car.text());
    assert_eq!(car.header("content-type"), Some("application/vnd.ipld.car"));
    let (header_len, varint_len) = read_varint(&car.body).expect("a varint header length");
    let header = car
        .body
        .get(varint_len..varint_len + header_len)
        .unwrap_or_else(|| panic!("CAR of {} bytes, header of {header_len}", car.body.len()));
    assert_eq!(header.first(), Some(&0xa2), "a CBOR map of two entries");
    assert_eq!(header.get(1..7), Some(&b"\x65roots"[..]));
    assert!(
        header.ends_with(b"\x67version\x01"),
        "header ends with version: 1: {header:02x?}"
    );
    assert!(
        car.body.len() > varint_len + header_len + 36,
        "blocks follow the header"
    );
}

/// An unsigned LEB128 varint: (value, bytes used).
fn read_varint(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for (i, b) in bytes.iter().take(9).enumerate() {
        value |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

#[test]
fn servers_listen_on_loopback_only() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    for (name, port) in [("pds", net.pds_port()), ("plc", net.plc_port())] {
        let port = port.unwrap_or_else(|| panic!("no {name} port"));
        let addrs = listening_addresses(port).unwrap();
        assert!(
            !addrs.is_empty(),
            "nothing listens on the {name} port {port}"
        );
        assert!(
            addrs.iter().all(|a| *a == IpAddr::V4(Ipv4Addr::LOCALHOST)),
            "{name} port {port} listens on {addrs:?}"
        );
    }
}

#[test]
fn admin_calls_take_basic_auth() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let alice = create_account(net);
    let url = format!(
        "{}?did={}",
        net.xrpc("com.atproto.admin.getAccountInfo"),
        alice.did
    );
    let anonymous = http_get(&url).unwrap();
    assert_eq!(anonymous.status, 401, "{}", anonymous.text());
    let auth = format!("Basic {}", base64(&format!("admin:{}", net.admin_password)));
    let info = http_request("GET", &url, &[("authorization", &auth)], None).unwrap();
    assert_eq!(
        str_field(&json_of(&info, "getAccountInfo"), "handle"),
        alice.handle
    );
}

/// Standard base64 with padding (std only; for one Basic auth header).
fn base64(s: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in s.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn base64_matches_rfc4648() {
    assert_eq!(base64(""), "");
    assert_eq!(base64("f"), "Zg==");
    assert_eq!(base64("fo"), "Zm8=");
    assert_eq!(base64("foobar"), "Zm9vYmFy");
}

/// A network of its own, with rate limits on, that stops when asked: what a test of a
/// PDS going away mid-session needs.
#[test]
fn own_network_with_rate_limits_stops_cleanly() {
    if atmo_tests::refnet::skip_if_disabled() {
        return;
    }
    let started = Instant::now();
    let mut net = RefNet::start_with_env(&[("PDS_RATE_LIMITS_ENABLED", "true")])
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("own network ready in {:?}", started.elapsed());
    let res = http_get(&net.xrpc("com.atproto.server.describeServer")).unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    let limit: u32 = res
        .header("ratelimit-limit")
        .unwrap_or_else(|| panic!("no ratelimit-limit header: {:?}", res.headers))
        .parse()
        .unwrap();
    let remaining: u32 = res.header("ratelimit-remaining").unwrap().parse().unwrap();
    assert!(remaining < limit, "remaining {remaining} of {limit}");

    let pid = net.pid;
    let url = net.xrpc("_health");
    let status = net
        .stop()
        .unwrap()
        .expect("an owned network has an exit status");
    assert!(
        status.success(),
        "exit status {status}; stderr:\n{}",
        net.stderr_tail()
    );
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "process {pid} still exists"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let err = loop {
        match http_get(&url) {
            Err(e) => break e,
            Ok(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Ok(r) => panic!("still answering after stop: {}", r.status),
        }
    };
    assert!(err.to_string().contains("refused"), "{err}");
}
