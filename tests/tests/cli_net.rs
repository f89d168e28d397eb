//! The `atmo` binary against the reference network, finding each account's PDS through
//! identity resolution (no `--pds`): `login` by handle, `whoami`, `record get`/`list` of
//! another account by handle, `blob get` by DID, `repo export` by handle checked with
//! `repo verify` and `repo inspect`.
//!
//! Every call passes only `--plc <refnet plc> --handle-resolver <refnet pds>
//! --allow-private-network`. `ATMO_REFNET=0` skips them (loudly). The binary is built
//! once per run (`cargo build -p atmo-cli`) into this target directory; `ATMO_BIN=<path>`
//! uses another one.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use atmo_api::com_atproto::repo::{create_record, upload_blob::UploadBlob};
use atmo_data::{Cid, Value};
use atmo_tests::refnet::RefNet;
use atmo_tests::support::{atmo_bin, temp_dir};
use atmo_xrpc::{BinaryInput, Client};

/// Runs `atmo ARGS` with the session file `session` and the given environment, stdin
/// closed (or fed `stdin`).
fn atmo(session: &Path, args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(atmo_bin());
    cmd.args(args)
        .env("ATMO_SESSION_FILE", session)
        // OAuth state lives under XDG_STATE_HOME: beside the session file, never the user's.
        .env("XDG_STATE_HOME", session.parent().unwrap_or(session))
        .env_remove("ATMO_APP_PASSWORD")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn ok(out: &Output) -> &Output {
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ok_json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&ok(out).stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// `--plc`, `--handle-resolver`, `--allow-private-network` for the reference network.
fn net_args(net: &RefNet) -> [&str; 5] {
    [
        "--plc",
        &net.plc,
        "--handle-resolver",
        &net.pds,
        "--allow-private-network",
    ]
}

fn with<'a>(args: &[&'a str], net: &'a [&'a str; 5]) -> Vec<&'a str> {
    args.iter().chain(net.iter()).copied().collect()
}

/// A fresh account: (client holding its session, handle, password, DID).
async fn account(net: &RefNet) -> (Client, String, String, String) {
    let a = atmo_tests::support::test_account(&net.pds, "n").await;
    (a.client, a.handle, a.password, a.did)
}

/// `createRecord` in the session's repo (a TID key unless `rkey`).
async fn create(
    client: &Client,
    collection: &str,
    rkey: Option<&str>,
    record: &Value,
) -> create_record::Output {
    let did = client.auth().account_did().unwrap();
    let mut input =
        create_record::Input::new(did.into(), collection.parse().unwrap(), record.clone());
    if let Some(k) = rkey {
        input = input.with_rkey(k.parse().unwrap());
    }
    client.call(&input).await.unwrap()
}

/// `uploadBlob` of `data`; the blob reference.
async fn upload(client: &Client, data: &[u8]) -> atmo_data::Blob {
    let body = BinaryInput::new(data.to_vec()).content_type("application/octet-stream");
    client.call((UploadBlob, body)).await.unwrap().blob
}

fn note(i: usize) -> Value {
    atmo_data::json::record_from_str(&format!(r#"{{"$type":"com.example.note","n":{i}}}"#)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_and_reads_find_the_pds_by_resolution() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let na = net_args(net);
    let dir = temp_dir("reads");

    // Alice: one record and one blob, made with the library.
    let (alice, alice_handle, _, alice_did) = account(net).await;
    let created = create(&alice, "com.example.note", Some("one"), &note(1)).await;
    create(&alice, "com.example.note", Some("two"), &note(2)).await;
    let data: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    let blob = upload(&alice, &data).await;
    let cid = Cid::for_raw(&data).to_string();
    let holder = atmo_data::json::record_from_str(&format!(
        r#"{{"$type":"com.example.blobholder","blob":{}}}"#,
        atmo_data::json::to_string(&blob.to_value())
    ))
    .unwrap();
    create(&alice, "com.example.blobholder", None, &holder).await;

    // No session at all: another account's record by AT-URI with a handle authority.
    let nobody = dir.join("none.json");
    let uri = format!("at://{alice_handle}/com.example.note/one");
    let got = ok_json(&atmo(
        &nobody,
        &with(&["record", "get", &uri, "--json"], &na),
        &[],
        None,
    ));
    assert_eq!(got["uri"], created.uri.as_str());
    assert_eq!(got["uri"], format!("at://{alice_did}/com.example.note/one"));
    assert_eq!(got["cid"], created.cid.as_str());
    assert_eq!(got["value"]["n"], 1);
    assert!(!nobody.exists(), "a read must not create a session file");

    // Every page of her collection, by handle.
    let list = atmo(
        &nobody,
        &with(
            &[
                "record",
                "list",
                &alice_handle,
                "com.example.note",
                "--json",
            ],
            &na,
        ),
        &[],
        None,
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(ok(&list).stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut ns: Vec<i64> = lines
        .iter()
        .map(|v| v["value"]["n"].as_i64().unwrap())
        .collect();
    ns.sort_unstable();
    assert_eq!(ns, [1, 2]);

    // Her blob by DID and CID, checked and written whole.
    let back = dir.join("blob.bin");
    ok(&atmo(
        &nobody,
        &with(
            &[
                "blob",
                "get",
                &alice_did,
                &cid,
                "-o",
                back.to_str().unwrap(),
            ],
            &na,
        ),
        &[],
        None,
    ));
    assert!(std::fs::read(&back).unwrap() == data);
    assert!(!dir.join("blob.bin.part").exists());

    // A missing record of another account: exit 1, clear message.
    let missing = atmo(
        &nobody,
        &with(
            &[
                "record",
                "get",
                &format!("at://{alice_handle}/com.example.note/nope"),
            ],
            &na,
        ),
        &[],
        None,
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no such record"));

    // Bob logs in by handle with no --pds: the PDS comes from his DID document.
    let (_, bob_handle, bob_password, bob_did) = account(net).await;
    let sess = dir.join("bob.json");
    let login = atmo(
        &sess,
        &with(&["login", &bob_handle], &na),
        &[("ATMO_APP_PASSWORD", &bob_password)],
        None,
    );
    ok(&login);
    assert!(String::from_utf8_lossy(&login.stderr).contains(&bob_did));
    let me = ok_json(&atmo(&sess, &with(&["whoami", "--json"], &na), &[], None));
    assert_eq!(
        me,
        serde_json::json!({"did": bob_did, "handle": bob_handle, "pds": net.pds, "auth": "app-password", "scope": null})
    );
    // The password may also come from standard input (not a terminal: read as a line).
    let sess2 = dir.join("bob2.json");
    let line = format!("{bob_password}\n");
    ok(&atmo(
        &sess2,
        &with(&["login", &bob_did], &na),
        &[],
        Some(line.as_bytes()),
    ));
    let me2 = ok_json(&atmo(&sess2, &with(&["whoami", "--json"], &na), &[], None));
    assert_eq!(me2["did"], bob_did.as_str());

    // Logged in as Bob, Alice's record still comes from her PDS; Bob writes to his own.
    let got = ok_json(&atmo(
        &sess,
        &with(&["record", "get", &uri, "--json"], &na),
        &[],
        None,
    ));
    assert_eq!(got["cid"], created.cid.as_str());
    let mine = ok_json(&atmo(
        &sess,
        &with(&["record", "create", "com.example.note", "-"], &na),
        &[],
        Some(br#"{"$type":"com.example.note","n":7}"#),
    ));
    assert!(
        mine["uri"]
            .as_str()
            .unwrap()
            .starts_with(&format!("at://{bob_did}/")),
        "{mine}"
    );

    // Without --allow-private-network the loopback handle resolver is refused: exit 1.
    let refused = atmo(
        &nobody,
        &[
            "login",
            &bob_handle,
            "--plc",
            &net.plc,
            "--handle-resolver",
            &net.pds,
        ],
        &[("ATMO_APP_PASSWORD", &bob_password)],
        None,
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(!nobody.exists());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repo_export_by_handle_verifies() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let na = net_args(net);
    let dir = temp_dir("export");
    let (alice, handle, _, did) = account(net).await;
    for i in 0..5 {
        create(&alice, "com.example.note", None, &note(i)).await;
    }

    let nobody = dir.join("none.json");
    let car = dir.join("alice.car");
    let car_s = car.to_str().unwrap();
    let out = atmo(
        &nobody,
        &with(&["repo", "export", &handle, "-o", car_s], &na),
        &[],
        None,
    );
    ok(&out);
    // Standard error is not a terminal here: no progress output at all.
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.join("alice.car.part").exists());

    let inspect = ok_json(&atmo(
        &nobody,
        &["repo", "inspect", car_s, "--json"],
        &[],
        None,
    ));
    assert_eq!(inspect["did"], did.as_str());
    assert_eq!(inspect["records"], 5);

    // The commit signature checks out against the key the DID document names.
    let id = ok_json(&atmo(
        &nobody,
        &with(&["resolve", &handle, "--json"], &na),
        &[],
        None,
    ));
    let key = id["signingKey"].as_str().unwrap();
    ok(&atmo(&nobody, &["repo", "verify", car_s], &[], None));
    ok(&atmo(
        &nobody,
        &["repo", "verify", car_s, "--key", key],
        &[],
        None,
    ));

    // An account that does not exist: exit 1 and no file left behind.
    let gone = dir.join("gone.car");
    let missing = atmo(
        &nobody,
        &with(
            &[
                "repo",
                "export",
                "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa",
                "-o",
                gone.to_str().unwrap(),
            ],
            &na,
        ),
        &[],
        None,
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(!gone.exists() && !dir.join("gone.car.part").exists());
    let _ = std::fs::remove_dir_all(dir);
}

/// The download caps of atmo-xrpc (which `atmo blob get` and `atmo repo export` rely on):
/// a blob whose announced size is past the cap fails before any byte is written; a
/// streamed repository is cut off with `TooLarge` once it passes its cap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_caps_bound_blobs_and_repos() {
    use futures_util::StreamExt as _;
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let (alice, _, _, did) = account(net).await;
    let did: atmo_syntax::Did = did.parse().unwrap();
    let data: Vec<u8> = (0..40_000u32).map(|i| (i % 249) as u8).collect();
    let blob = upload(&alice, &data).await;
    let holder = atmo_data::json::record_from_str(&format!(
        r#"{{"$type":"com.example.blobholder","blob":{}}}"#,
        atmo_data::json::to_string(&blob.to_value())
    ))
    .unwrap();
    create(&alice, "com.example.blobholder", None, &holder).await;
    for i in 0..20 {
        create(&alice, "com.example.note", None, &note(i)).await;
    }
    let cid = Cid::for_raw(&data);

    let small = Client::builder(&net.pds)
        .allow_private_network(true)
        .max_blob_download(1000)
        .max_repo_download(2000)
        .build()
        .unwrap();
    let e = small.get_blob(&did, &cid).await.unwrap_err();
    assert!(
        matches!(e, atmo_xrpc::Error::TooLarge { limit: 1000 }),
        "{e}"
    );
    let mut repo = small.get_repo(&did, None).await.unwrap();
    let mut seen = 0usize;
    let mut end = None;
    while let Some(chunk) = repo.next().await {
        match chunk {
            Ok(c) => seen += c.len(),
            Err(e) => {
                end = Some(e);
                break;
            }
        }
    }
    assert!(seen <= 2000, "{seen} bytes passed a 2000-byte cap");
    assert!(
        matches!(end, Some(atmo_xrpc::Error::TooLarge { limit: 2000 })),
        "{end:?}"
    );

    // The defaults let both through, with the size announced for the blob.
    let roomy = Client::builder(&net.pds)
        .allow_private_network(true)
        .build()
        .unwrap();
    let stream = roomy.get_blob(&did, &cid).await.unwrap();
    assert_eq!(stream.content_length(), Some(data.len() as u64));
    assert!(stream.to_vec().await.unwrap() == data);
    assert!(
        roomy
            .get_repo(&did, None)
            .await
            .unwrap()
            .to_vec()
            .await
            .unwrap()
            .len()
            > 2000
    );
}
