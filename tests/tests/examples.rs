//! The example programs (examples/apps) run against the reference network: the feed
//! generator serves a skeleton only to callers with a valid service-auth token from the
//! PDS (directly, and through the PDS's own proxying), the mention bot answers a mention
//! it saw on the firehose, the backup tool verifies and saves a repository, the profile
//! editor edits a profile.
//!
//! `ATMO_REFNET=0` skips them (loudly).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use atmo::Agent;
use atmo::api::app_bsky::actor::profile;
use atmo::api::app_bsky::feed::post;
use atmo::syntax::{AtUri, Nsid};
use atmo_identity::{Resolver, ResolverConfig};
use atmo_tests::refnet::{RefNet, http_request};
use atmo_tests::support::{temp_dir, test_account, workspace_bin};

fn bin(name: &str) -> PathBuf {
    workspace_bin("atmo-examples", name)
}

fn net_args(net: &RefNet) -> Vec<String> {
    vec![
        "--plc".into(),
        net.plc.clone(),
        "--handle-resolver".into(),
        net.pds.clone(),
        "--allow-private-network".into(),
    ]
}

fn resolver(net: &RefNet) -> Resolver {
    let mut c = ResolverConfig::default();
    c.plc_url = net.plc.clone();
    c.allow_private_network = true;
    c.use_dns = false;
    c.handle_resolver = Some(net.pds.clone());
    Resolver::new(c).unwrap()
}

async fn agent(net: &RefNet, prefix: &str) -> (Agent, String, String) {
    let acct = test_account(&net.pds, prefix).await;
    let (handle, password) = (acct.handle.clone(), acct.password.clone());
    let a = Agent::from_password(acct.session)
        .await
        .with_resolver(resolver(net));
    (a, handle, password)
}

/// A running program whose stdout lines arrive on a channel; killed on drop.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
}

impl Running {
    fn start(cmd: &mut Command) -> Self {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pipe = |r: Box<dyn std::io::Read + Send>| {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(r).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            rx
        };
        let lines = pipe(Box::new(child.stdout.take().unwrap()));
        let stderr = pipe(Box::new(child.stderr.take().unwrap()));
        Self {
            child,
            lines,
            stderr,
        }
    }

    fn line(&self, what: &str) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|e| {
                let err: Vec<String> = self.stderr.try_iter().collect();
                panic!("no {what} within 60 s ({e}); stderr: {}", err.join("\n"))
            })
    }

    fn stderr_line_containing(&self, needle: &str) {
        loop {
            match self.stderr.recv_timeout(Duration::from_secs(60)) {
                Ok(l) if l.contains(needle) => return,
                Ok(_) => {}
                Err(e) => panic!("stderr never said {needle:?}: {e}"),
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_generator_serves_only_verified_callers() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let feedgen = Running::start(
        Command::new(bin("feed-generator"))
            .args(["--hostname", "localhost", "--port", "0"])
            .args(net_args(net)),
    );
    let started: serde_json::Value = serde_json::from_str(&feedgen.line("the ready line")).unwrap();
    let did = started["did"].as_str().unwrap().to_owned();
    let url = started["url"].as_str().unwrap().to_owned();
    assert!(did.starts_with("did:web:localhost%3A"), "{did}");

    // Its did:web document resolves (through atmo-identity) and names the endpoint.
    let doc = resolver(net)
        .resolve_did(&atmo::syntax::Did::new(&did).unwrap())
        .await
        .unwrap();
    assert_eq!(
        doc.service_endpoint("bsky_fg", "BskyFeedGenerator"),
        Some(url.as_str())
    );

    let (alice, _, _) = agent(net, "fg-al-").await;
    let mut posted = Vec::new();
    for i in 0..3 {
        posted.push(alice.post(format!("post {i}")).send().await.unwrap().uri);
    }
    let lxm = Nsid::new("app.bsky.feed.getFeedSkeleton").unwrap();
    let token = alice.service_auth(&did, Some(&lxm), None).await.unwrap();
    let feed = format!("at://{did}/app.bsky.feed.generator/mine");
    // In a query string the DID's `%3A` is itself percent-encoded.
    let feed_param = feed.replace('%', "%25");
    let get = |auth: Option<&str>, extra: &str| {
        let mut headers = Vec::new();
        let bearer;
        if let Some(t) = auth {
            bearer = format!("Bearer {t}");
            headers.push(("authorization", bearer.as_str()));
        }
        http_request(
            "GET",
            &format!("{url}/xrpc/app.bsky.feed.getFeedSkeleton?feed={feed_param}&limit=2{extra}"),
            &headers,
            None,
        )
        .unwrap()
    };
    let page = get(Some(&token), "");
    assert_eq!(page.status, 200, "{}", page.text());
    let page: serde_json::Value = serde_json::from_str(&page.text()).unwrap();
    let uris: Vec<&str> = page["feed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["post"].as_str().unwrap())
        .collect();
    assert_eq!(uris, vec![posted[2].as_str(), posted[1].as_str()]);
    let cursor = page["cursor"].as_str().unwrap();
    let next = get(Some(&token), &format!("&cursor={cursor}"));
    let next: serde_json::Value = serde_json::from_str(&next.text()).unwrap();
    assert_eq!(next["feed"][0]["post"].as_str(), Some(posted[0].as_str()));

    // No token, a token for another method, a tampered token: 401 with the reason.
    let none = get(None, "");
    assert_eq!(none.status, 401);
    assert!(none.text().contains("AuthMissing"));
    let other = Nsid::new("com.atproto.repo.createRecord").unwrap();
    let wrong = alice.service_auth(&did, Some(&other), None).await.unwrap();
    let refused = get(Some(&wrong), "");
    assert_eq!(refused.status, 401);
    assert!(
        refused.text().contains("lexicon method"),
        "{}",
        refused.text()
    );
    let mut tampered = token.clone();
    tampered.insert(tampered.len() - 5, 'x');
    assert_eq!(get(Some(&tampered), "").status, 401);

    // The PDS proxies the call to the feed generator (it resolves the did:web, mints the
    // service-auth token itself and forwards): the same skeleton comes back.
    let target = atmo_xrpc::ProxyTarget::parse(&format!("{did}#bsky_fg")).unwrap();
    let via_pds = alice
        .with_proxy(target)
        .client()
        .call(
            atmo::api::app_bsky::feed::get_feed_skeleton::Params::new(AtUri::new(&feed).unwrap())
                .with_limit(2),
        )
        .await;
    match via_pds {
        Ok(out) => {
            let got: Vec<String> = out
                .feed
                .iter()
                .map(|p| p.post.as_str().to_owned())
                .collect();
            assert_eq!(
                got,
                vec![posted[2].as_str().to_owned(), posted[1].as_str().to_owned()]
            );
        }
        Err(e) => panic!("proxied getFeedSkeleton failed: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mention_bot_replies_in_the_thread() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let (_bot, bot_handle, bot_password) = agent(net, "bot-").await;
    let running = Running::start(
        Command::new(bin("mention-bot"))
            .args([
                "--pds",
                &net.pds,
                "--handle",
                &bot_handle,
                "--max-replies",
                "1",
            ])
            .args(["--reply", "beep boop"])
            .args(net_args(net))
            .env("BOT_PASSWORD", &bot_password),
    );
    running.stderr_line_containing("listening for mentions");
    // Give the subscription a moment to connect before posting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (carol, _, _) = agent(net, "bot-c-").await;
    carol.post("no mention here").send().await.unwrap();
    let mention = carol
        .post(format!("hello @{bot_handle}, are you there?"))
        .send()
        .await
        .unwrap();
    let line: serde_json::Value = serde_json::from_str(&running.line("a reply")).unwrap();
    assert_eq!(line["mention"].as_str(), Some(mention.uri.as_str()));
    let reply_uri = AtUri::new(line["reply"].as_str().unwrap()).unwrap();
    let reply = carol
        .get_public_record::<post::Record>(&reply_uri)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply.value.text, "beep boop");
    let r = reply.value.reply.unwrap();
    assert_eq!(r.parent.uri, mention.uri);
    assert_eq!(r.root.uri, mention.uri);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_and_profile_editor() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let (dave, handle, password) = agent(net, "bk-").await;
    dave.post("one").send().await.unwrap();
    let p = dave.post("two").send().await.unwrap();
    dave.like(&p.uri).await.unwrap();

    let edited = Command::new(bin("profile-editor"))
        .args(["--pds", &net.pds, "--handle", &handle])
        .args(["--display-name", "Dave", "--description", "backs up"])
        .args(net_args(net))
        .env("PASSWORD", &password)
        .output()
        .unwrap();
    assert!(
        edited.status.success(),
        "{}",
        String::from_utf8_lossy(&edited.stderr)
    );
    let shown: serde_json::Value = serde_json::from_slice(&edited.stdout).unwrap();
    assert_eq!(shown["displayName"], "Dave");
    let stored = dave.profile().await.unwrap().unwrap();
    assert_eq!(stored.value.description.as_deref(), Some("backs up"));
    assert_eq!(
        stored.uri.collection().map(|c| c.as_str()),
        Some(profile::NSID)
    );

    let dir = temp_dir("backup");
    let car = dir.join("dave.car");
    let out = Command::new(bin("repo-backup"))
        .arg(&handle)
        .arg("-o")
        .arg(&car)
        .args(net_args(net))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["records"]["app.bsky.feed.post"], 2);
    assert_eq!(report["records"]["app.bsky.feed.like"], 1);
    assert_eq!(report["records"]["app.bsky.actor.profile"], 1);
    assert_eq!(report["typed"], 4);
    assert_eq!(report["signature_checked"], true);
    let saved = std::fs::read(&car).unwrap();
    assert_eq!(report["bytes"].as_u64(), Some(saved.len() as u64));
    assert!(atmo::repo::Repo::from_car(&saved).is_ok());
}
