//! Label streams: atmo's subscribeLabels consumer and `atmo labels` against a stand-in
//! labeller of this test's own (no labeller service, such as Ozone, runs in the
//! reference network): a websocket serving signed `#labels` frames, and a did:web
//! document naming the labeller's `#atproto_label` key. Valid labels are delivered;
//! a tampered label, one signed by another key and a malformed one are refused with
//! their reason; after the labeller rotates its key, labels signed with the new key are
//! accepted (the key is resolved again).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atmo::crypto::{Curve, Keypair};
use atmo_data::{Value, cbor, json};
use atmo_firehose::{Label, LabelConfig, LabelError, LabelItem, LabelSubscription};
use atmo_syntax::Did;
use futures_util::SinkExt as _;

/// Serves `/.well-known/did.json` (the current document) on a std thread.
fn did_server(doc: Arc<Mutex<String>>) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let body = doc.lock().unwrap().clone();
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

fn document(did: &str, key: &Keypair) -> String {
    serde_json::json!({
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": did,
        "verificationMethod": [{
            "id": format!("{did}#atproto_label"),
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": key.public_key().to_multikey(),
        }],
    })
    .to_string()
}

fn frame(seq: i64, labels: Vec<Value>) -> Vec<u8> {
    let mut out = cbor::encode(&json::from_str(r##"{"op": 1, "t": "#labels"}"##).unwrap());
    let mut body = atmo_data::Map::new();
    body.insert("seq", Value::Integer(seq));
    body.insert("labels", Value::Array(labels));
    out.extend(cbor::encode(&Value::Map(body)));
    out
}

/// A websocket labeller that sends `frames` to every subscriber (after its cursor), each
/// after its delay.
async fn labeller(frames: Vec<(i64, Vec<u8>, u64)>) -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = l.accept().await else { return };
            let frames = frames.clone();
            tokio::spawn(async move {
                let cursor = Arc::new(Mutex::new(None::<i64>));
                let c2 = Arc::clone(&cursor);
                #[allow(clippy::result_large_err)] // tungstenite's callback type
                let cb = move |req: &tokio_tungstenite::tungstenite::handshake::server::Request,
                               res| {
                    assert_eq!(req.uri().path(), "/xrpc/com.atproto.label.subscribeLabels");
                    let q = req.uri().query().unwrap_or("");
                    *c2.lock().unwrap() = q.strip_prefix("cursor=").and_then(|c| c.parse().ok());
                    Ok(res)
                };
                let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(s, cb).await else {
                    return;
                };
                let after = cursor.lock().unwrap().unwrap_or(0);
                for (seq, f, delay_ms) in frames {
                    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                    if seq > after {
                        let _ = ws
                            .send(tokio_tungstenite::tungstenite::Message::binary(f))
                            .await;
                    }
                }
                tokio::time::sleep(Duration::from_secs(60)).await;
            });
        }
    });
    port
}

struct Setup {
    labeller_port: u16,
    did: Did,
    /// The document the did:web server serves, and the one after the key rotation.
    doc: Arc<Mutex<String>>,
    rotated_doc: String,
}

impl Setup {
    fn rotate(&self) {
        *self.doc.lock().unwrap() = self.rotated_doc.clone();
    }
}

async fn setup() -> Setup {
    let key = Keypair::generate(Curve::K256).unwrap();
    let doc = Arc::new(Mutex::new(String::new()));
    let port = did_server(Arc::clone(&doc));
    let did = Did::new(&format!("did:web:localhost%3A{port}")).unwrap();
    *doc.lock().unwrap() = document(did.as_str(), &key);
    let subject = "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3kaaaaaaaaaa2";
    let label = |val: &str| Label::new(did.clone(), subject, val, "2024-05-01T12:00:00.000Z");
    let good = label("spam").sign(&key).unwrap().to_value();
    let mut tampered = label("porn").sign(&key).unwrap().to_value();
    if let Value::Map(m) = &mut tampered {
        m.insert("val", Value::from("sexual"));
    }
    let stranger = Keypair::generate(Curve::K256).unwrap();
    let foreign = label("rude").sign(&stranger).unwrap().to_value();
    let malformed =
        json::from_str(r#"{"src": "not a did", "uri": "x", "val": "x", "cts": "x"}"#).unwrap();
    let mut neg = label("spam");
    neg.neg = true;
    let neg = neg.sign(&key).unwrap().to_value();
    // The labeller rotates its key: the document changes, new labels use the new key.
    let rotated = Keypair::generate(Curve::K256).unwrap();
    let after_rotation = label("!warn").sign(&rotated).unwrap().to_value();
    // The rotation is published by the test once it has seq 4 (signed with the old key,
    // which the consumer has cached); seq 5 comes 2 s later, signed with the new key, and
    // is accepted only because the consumer resolves the key again.
    let frames = vec![
        (1, frame(1, vec![good]), 0),
        (2, frame(2, vec![tampered]), 0),
        (3, frame(3, vec![foreign, malformed]), 0),
        (4, frame(4, vec![neg]), 0),
        (5, frame(5, vec![after_rotation]), 2000),
    ];
    let labeller_port = labeller(frames).await;
    let rotated_doc = document(did.as_str(), &rotated);
    Setup {
        labeller_port,
        did,
        doc,
        rotated_doc,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_are_verified_and_bad_ones_refused() {
    let s = setup().await;
    let mut config = LabelConfig::new(format!("ws://127.0.0.1:{}", s.labeller_port));
    config.allow_private_network = true;
    let mut sub = LabelSubscription::start(config).unwrap();
    let mut delivered = Vec::new();
    let mut rejected = Vec::new();
    while delivered.len() + rejected.len() < 6 {
        let item = tokio::time::timeout(Duration::from_secs(30), sub.next())
            .await
            .expect("labels within 30 s")
            .unwrap();
        match item {
            LabelItem::Labels { seq, labels } => {
                if seq == 4 {
                    s.rotate();
                }
                for l in labels {
                    assert_eq!(l.src, s.did);
                    delivered.push((seq, l.val.clone(), l.neg));
                }
            }
            LabelItem::Rejected { seq, error } => rejected.push((seq, error)),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        delivered,
        vec![
            (1, "spam".to_owned(), false),
            (4, "spam".to_owned(), true),
            (5, "!warn".to_owned(), false)
        ]
    );
    assert!(matches!(&rejected[0], (2, LabelError::BadSignature { val, .. }) if val == "sexual"));
    assert!(matches!(&rejected[1], (3, LabelError::BadSignature { val, .. }) if val == "rude"));
    assert!(matches!(
        &rejected[2],
        (3, LabelError::Field { field: "src", .. })
    ));
    assert_eq!(sub.last_seq(), Some(5));
    sub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atmo_labels_prints_verified_labels() {
    let s = setup().await;
    // The CLI reads with the original document (no rotation): seq 5 is refused.
    let mut child = Command::new(atmo_tests::support::atmo_bin())
        .args([
            "labels",
            "--host",
            &format!("ws://127.0.0.1:{}", s.labeller_port),
            "--json",
        ])
        .args(["--allow-private-network", "--cursor", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: serde_json::Value = serde_json::from_str(&out.next().unwrap().unwrap()).unwrap();
    let second: serde_json::Value = serde_json::from_str(&out.next().unwrap().unwrap()).unwrap();
    let _ = child.kill();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let _ = child.wait();
    assert_eq!(first["seq"], 1);
    assert_eq!(first["val"], "spam");
    assert_eq!(first["src"], s.did.as_str());
    assert_eq!(first["neg"], false);
    assert_eq!(second["seq"], 4);
    assert_eq!(second["neg"], true);
    assert!(err.contains("rejected: seq 2"), "{err}");
    assert!(err.contains("signature does not match"), "{err}");
}
