//! `atmo post` and `atmo service-auth` against the reference network (the CLI
//! contract): the new post's `uri` and `cid` (a JSON object with `--json`), replies,
//! images, languages; exit 1 with the reason for a text over the limit or a file that is
//! not an image; a token from `service-auth create` that `service-auth verify` accepts,
//! and wrong-aud, wrong-lxm and tampered tokens refused with exit 1 and the reason.
//!
//! `ATMO_REFNET=0` skips them (loudly).

use std::path::Path;
use std::process::{Command, Output, Stdio};

use atmo::api::app_bsky::feed::post;
use atmo::api::records::Records;
use atmo_tests::refnet::RefNet;
use atmo_tests::support::{atmo_bin, temp_dir, test_account};

fn atmo(session: &Path, net: &RefNet, args: &[&str]) -> Output {
    Command::new(atmo_bin())
        .args(args)
        .args([
            "--plc",
            &net.plc,
            "--handle-resolver",
            &net.pds,
            "--allow-private-network",
        ])
        .env("ATMO_SESSION_FILE", session)
        .env("XDG_STATE_HOME", session.parent().unwrap_or(session))
        .env_remove("ATMO_APP_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn fails(out: &Output, reason: &str) {
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(reason), "stderr {err:?} lacks {reason:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_and_service_auth_commands() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let acct = test_account(&net.pds, "clp-").await;
    let dir = temp_dir("cli-post");
    let sess = dir.join("session.json");
    let login = Command::new(atmo_bin())
        .args([
            "login",
            &acct.handle,
            "--plc",
            &net.plc,
            "--handle-resolver",
            &net.pds,
        ])
        .arg("--allow-private-network")
        .env("ATMO_SESSION_FILE", &sess)
        .env("XDG_STATE_HOME", &dir)
        .env("ATMO_APP_PASSWORD", &acct.password)
        .output()
        .unwrap();
    stdout(&login);

    // Plain: two lines, the URI then the CID.
    let out = stdout(&atmo(
        &sess,
        net,
        &["post", "hello from the command line", "--lang", "en"],
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with(&format!("at://{}/app.bsky.feed.post/", acct.did)));
    assert!(lines[1].starts_with("bafyrei"));
    let parent = lines[0].to_owned();

    // JSON, a reply with an image and its alt text.
    let png = dir.join("pixel.png");
    std::fs::write(&png, PNG).unwrap();
    let out = stdout(&atmo(
        &sess,
        net,
        &[
            "post",
            "a reply",
            "--reply",
            &parent,
            "--image",
            png.to_str().unwrap(),
            "--alt",
            "a dot",
            "--json",
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let uri = v["uri"].as_str().unwrap();
    assert!(v["cid"].as_str().unwrap().starts_with("bafyrei"));
    let rkey = uri.rsplit('/').next().unwrap().parse().unwrap();
    let reply = Records::new(&acct.client, acct.session.did().clone())
        .get::<post::Record>(&rkey)
        .await
        .unwrap()
        .value;
    assert_eq!(reply.reply.unwrap().parent.uri.as_str(), parent);
    let Some(post::RecordEmbed::Images(images)) = reply.embed else {
        panic!("no image embed");
    };
    assert_eq!(images.images[0].alt, "a dot");

    // Refusals: exit 1 and the reason.
    fails(
        &atmo(&sess, net, &["post", &"a".repeat(301)]),
        "301 graphemes",
    );
    let not_png = dir.join("notes.txt");
    std::fs::write(&not_png, "plain text").unwrap();
    fails(
        &atmo(
            &sess,
            net,
            &["post", "x", "--image", not_png.to_str().unwrap()],
        ),
        "not an image",
    );

    // service-auth: create through the PDS, verify by resolving the issuer's key.
    let aud = "did:web:feed.example";
    let lxm = "app.bsky.feed.getFeedSkeleton";
    let token = stdout(&atmo(
        &sess,
        net,
        &["service-auth", "create", "--aud", aud, "--lxm", lxm],
    ));
    let token = token.trim();
    let claims = stdout(&atmo(
        &sess,
        net,
        &[
            "service-auth",
            "verify",
            token,
            "--aud",
            aud,
            "--lxm",
            lxm,
            "--json",
        ],
    ));
    let claims: serde_json::Value = serde_json::from_str(claims.trim()).unwrap();
    assert_eq!(claims["iss"], acct.did.as_str());
    assert_eq!(claims["aud"], aud);
    assert_eq!(claims["lxm"], lxm);
    let plain = stdout(&atmo(
        &sess,
        net,
        &["service-auth", "verify", token, "--aud", aud],
    ));
    assert!(
        plain.starts_with(&format!("valid: issued by {}", acct.did)),
        "{plain}"
    );

    fails(
        &atmo(
            &sess,
            net,
            &[
                "service-auth",
                "verify",
                token,
                "--aud",
                "did:web:other.example",
            ],
        ),
        "audience",
    );
    fails(
        &atmo(
            &sess,
            net,
            &[
                "service-auth",
                "verify",
                token,
                "--aud",
                aud,
                "--lxm",
                "com.example.other",
            ],
        ),
        "lexicon method",
    );
    let mut tampered = token.to_owned();
    let flip = if tampered.ends_with('A') { "B" } else { "A" };
    tampered.replace_range(tampered.len() - 1.., flip);
    let out = atmo(
        &sess,
        net,
        &["service-auth", "verify", &tampered, "--aud", aud],
    );
    assert_eq!(out.status.code(), Some(1));
    // An expiry the PDS allows, short: the claims say so.
    let short = stdout(&atmo(
        &sess,
        net,
        &["service-auth", "create", "--aud", aud, "--exp", "30"],
    ));
    let short = stdout(&atmo(
        &sess,
        net,
        &[
            "service-auth",
            "verify",
            short.trim(),
            "--aud",
            aud,
            "--json",
        ],
    ));
    let short: serde_json::Value = serde_json::from_str(short.trim()).unwrap();
    let (exp, iat) = (
        short["exp"].as_i64().unwrap(),
        short["iat"].as_i64().unwrap(),
    );
    assert!(
        (25..=35).contains(&(exp - iat)),
        "exp - iat = {}",
        exp - iat
    );
}

/// A valid 1 x 1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];
