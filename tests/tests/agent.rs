//! The `atmo` facade's Agent against the real PDS of the reference network: typed
//! records, batched writes with swap-commit conflicts, image posts (blob referenced and
//! fetchable), replies (root and parent), quotes, likes, reposts, follows, profile edits
//! racing under swap, the repo head, service-auth tokens from the PDS verified (and
//! tampered, expired, wrong-aud and wrong-lxm ones refused), and the proxy header.
//!
//! `ATMO_REFNET=0` skips the network tests (loudly).

use std::io::{Read, Write as _};
use std::net::TcpListener;
use std::time::{Duration, SystemTime};

use atmo::Agent;
use atmo::agent::{Swap, Write, WriteResult};
use atmo::api::app_bsky::actor::profile;
use atmo::api::app_bsky::feed::{like, post};
use atmo::api::app_bsky::graph::follow;
use atmo::service_auth::{Expect, Verifier};
use atmo::syntax::{AtUri, Datetime, Did, Nsid, RecordKey};
use atmo::{Error, TokenProblem};
use atmo_http::{ConnectPolicy, HttpClient};
use atmo_identity::{Resolver, ResolverConfig};
use atmo_tests::refnet::RefNet;
use atmo_tests::support::test_account;
use futures_util::TryStreamExt as _;

/// A valid 1 x 1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

fn resolver(net: &RefNet) -> Resolver {
    let http = HttpClient::builder()
        .policy(ConnectPolicy::default().allow_private_network(true))
        .build()
        .unwrap();
    let mut c = ResolverConfig::default();
    c.plc_url = net.plc.clone();
    c.allow_private_network = true;
    c.use_dns = false;
    c.handle_resolver = Some(net.pds.clone());
    Resolver::with_http(c, http)
}

async fn agent(net: &RefNet, prefix: &str) -> Agent {
    let acct = test_account(&net.pds, prefix).await;
    Agent::from_password(acct.session)
        .await
        .with_resolver(resolver(net))
}

fn rkey_of(uri: &AtUri) -> RecordKey {
    uri.rkey().cloned().expect("a record URI")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_batches_and_swap_conflicts() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let a = agent(net, "ag-rec-").await;
    let me = a.did().unwrap().clone();
    assert!(a.handle().is_some_and(|h| h.as_str().ends_with(".test")));

    // create, get, put, list, delete, typed.
    let first = a
        .create_record(&post::Record::new("one", Datetime::now().into()))
        .await
        .unwrap();
    let rkey = rkey_of(&first.uri);
    let got = a.get_record::<post::Record>(&rkey).await.unwrap().unwrap();
    assert_eq!(got.value.text, "one");
    assert_eq!(got.cid.as_ref(), Some(&first.cid));
    let edited = post::Record::new("one, edited", got.value.created_at.clone());
    let second = a
        .put_record(&rkey, &edited, Swap::record(first.cid))
        .await
        .unwrap();
    // A put against the old version loses: a typed conflict, not a string. (A put of
    // the very same record would be a no-op the PDS accepts, so write something else.)
    let again = post::Record::new("one, edited twice", got.value.created_at.clone());
    let err = a
        .put_record(&rkey, &again, Swap::record(first.cid))
        .await
        .unwrap_err();
    assert!(err.is_invalid_swap(), "{err:?}");
    let all: Vec<_> = a
        .list_records::<post::Record>()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].cid.as_ref(), Some(&second.cid));
    a.delete_record::<post::Record>(&rkey, Swap::none())
        .await
        .unwrap();
    assert!(a.get_record::<post::Record>(&rkey).await.unwrap().is_none());

    // apply_writes: three writes, one commit, results in order; the head moved to it.
    let k1 = RecordKey::new("3kaaaaaaaaaa2").unwrap();
    let k2 = RecordKey::new("3kaaaaaaaaab2").unwrap();
    let head_before = a.get_repo_head(&me).await.unwrap();
    let results = a
        .apply_writes(
            vec![
                Write::create_at(
                    k1.clone(),
                    &post::Record::new("batch 1", Datetime::now().into()),
                )
                .unwrap(),
                Write::create_at(
                    k2.clone(),
                    &post::Record::new("batch 2", Datetime::now().into()),
                )
                .unwrap(),
                Write::update(
                    k1.clone(),
                    &post::Record::new("batch 1b", Datetime::now().into()),
                )
                .unwrap(),
            ],
            Some(&head_before.cid),
        )
        .await;
    // The PDS refuses two writes to one key in a batch; then do it in two commits.
    let results = match results {
        Ok(r) => r,
        Err(e) => panic!("batch failed: {e}"),
    };
    assert_eq!(results.len(), 3);
    assert!(matches!(results[0], WriteResult::Created(_)));
    assert!(matches!(results[2], WriteResult::Updated(_)));
    let head = a.get_repo_head(&me).await.unwrap();
    assert_ne!(head.cid, head_before.cid);
    assert!(head.rev > head_before.rev);
    // The same swap again: the repo moved on, so the batch is refused, typed.
    let err = a
        .apply_writes(
            vec![Write::delete::<post::Record>(k2.clone()).unwrap()],
            Some(&head_before.cid),
        )
        .await
        .unwrap_err();
    assert!(err.is_invalid_swap(), "{err:?}");
    let done = a
        .apply_writes(
            vec![Write::delete::<post::Record>(k2.clone()).unwrap()],
            Some(&head.cid),
        )
        .await
        .unwrap();
    assert_eq!(done, vec![WriteResult::Deleted]);
    assert_eq!(
        a.get_record::<post::Record>(&k1)
            .await
            .unwrap()
            .unwrap()
            .value
            .text,
        "batch 1b"
    );

    // Public reads go to the PDS the DID names, without a session.
    let public = Agent::new(
        atmo_xrpc::Client::builder(&net.pds)
            .allow_private_network(true)
            .build()
            .unwrap(),
    )
    .with_resolver(resolver(net));
    assert!(public.did().is_none());
    let listed: Vec<_> = public
        .list_public_records::<post::Record>(&me)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert!(matches!(
        public
            .create_record(&post::Record::new("x", Datetime::now().into()))
            .await,
        Err(Error::NotSignedIn)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_replies_quotes_images_and_social_records() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let alice = agent(net, "ag-al-").await;
    let bob = agent(net, "ag-bo-").await;

    let img = std::env::temp_dir().join(format!("atmo-agent-{}.png", std::process::id()));
    std::fs::write(&img, PNG).unwrap();
    let root = alice
        .post("a root post")
        .lang("en")
        .label("graphic-media")
        .tag("atmo")
        .image(&img, "one pixel")
        .send()
        .await
        .unwrap();
    let stored = alice
        .get_record::<post::Record>(&rkey_of(&root.uri))
        .await
        .unwrap()
        .unwrap();
    let Some(post::RecordEmbed::Images(images)) = &stored.value.embed else {
        panic!("no images embed: {:?}", stored.value.embed);
    };
    assert_eq!(images.images[0].alt, "one pixel");
    let ratio = images.images[0].aspect_ratio.as_ref().unwrap();
    assert_eq!((ratio.width, ratio.height), (1, 1));
    let blob = &images.images[0].image;
    assert_eq!(blob.mime_type, "image/png");
    // The blob is referenced, so the PDS serves it.
    let fetched = alice
        .client()
        .get_blob(alice.did().unwrap(), &blob.cid)
        .await
        .unwrap()
        .to_vec()
        .await
        .unwrap();
    assert_eq!(fetched, PNG);
    assert_eq!(stored.value.tags.as_deref(), Some(&["atmo".to_owned()][..]));
    assert_eq!(stored.value.langs.as_ref().map(Vec::len), Some(1));

    // A reply to the root, then a reply to the reply: the root stays the thread's root.
    let r1 = bob
        .post("first reply")
        .reply_to(root.uri.clone())
        .send()
        .await
        .unwrap();
    let r2 = alice
        .post("second reply")
        .reply_to(r1.uri.clone())
        .send()
        .await
        .unwrap();
    let r2rec = alice
        .get_record::<post::Record>(&rkey_of(&r2.uri))
        .await
        .unwrap()
        .unwrap();
    let reply = r2rec.value.reply.unwrap();
    assert_eq!(reply.root.uri, root.uri);
    assert_eq!(reply.root.cid.as_str(), root.cid.to_string());
    assert_eq!(reply.parent.uri, r1.uri);
    assert_eq!(reply.parent.cid.as_str(), r1.cid.to_string());

    // A quote with an image: record-with-media.
    let quote = bob
        .post("quoting")
        .quote(root.uri.clone())
        .image_bytes(PNG.to_vec(), "again")
        .send()
        .await
        .unwrap();
    let q = bob
        .get_record::<post::Record>(&rkey_of(&quote.uri))
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        q.value.embed,
        Some(post::RecordEmbed::RecordWithMedia(_))
    ));

    // A link card, and a blob streamed from a reader.
    let card = alice
        .post("read this")
        .external(
            atmo::syntax::Uri::new("https://atproto.com/specs/repository").unwrap(),
            "Repository",
            "The spec",
        )
        .send()
        .await
        .unwrap();
    let c = alice
        .get_record::<post::Record>(&rkey_of(&card.uri))
        .await
        .unwrap()
        .unwrap();
    let Some(post::RecordEmbed::External(ext)) = &c.value.embed else {
        panic!("no link card: {:?}", c.value.embed);
    };
    assert_eq!(ext.external.title, "Repository");
    let streamed = alice
        .upload_blob_stream(
            std::io::Cursor::new(PNG.to_vec()),
            "image/png",
            Some(PNG.len() as u64),
        )
        .await
        .unwrap();
    assert_eq!(streamed.cid, blob.cid);

    // Not an image; over the limit; a missing parent: each refused with its reason.
    let err = bob
        .post("x")
        .image_bytes(&b"%PDF-1.7"[..], "no")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotAnImage { .. }), "{err:?}");
    let long = "é".repeat(301);
    assert!(matches!(
        bob.post(long).send().await,
        Err(Error::TextTooLong {
            graphemes: 301,
            max: 300
        })
    ));
    let missing = AtUri::new(&format!(
        "at://{}/app.bsky.feed.post/3kaaaaaaaaaa2",
        alice.did().unwrap()
    ))
    .unwrap();
    assert!(matches!(
        bob.post("to nothing").reply_to(missing).send().await,
        Err(Error::RecordNotFound { .. })
    ));

    // Facets: the mention resolved to Bob's DID, the link, the tag; a handle that does
    // not resolve stays plain text.
    let bob_handle = bob.handle().unwrap().to_string();
    let text = format!("hi @{bob_handle} and @nobody-here.test, see https://atproto.com #atmo");
    let faceted = alice.post(text.clone()).send().await.unwrap();
    let f = alice
        .get_record::<post::Record>(&rkey_of(&faceted.uri))
        .await
        .unwrap()
        .unwrap();
    let facets = f.value.facets.unwrap();
    use atmo::api::app_bsky::richtext::facet::FacetFeaturesItem as F;
    let kinds: Vec<String> = facets
        .iter()
        .map(|x| {
            let slice = &text[x.index.byte_start as usize..x.index.byte_end as usize];
            match &x.features[0] {
                F::Mention(m) => {
                    assert_eq!(&m.did, bob.did().unwrap());
                    format!("mention {slice}")
                }
                F::Link(l) => format!("link {slice} {}", l.uri.as_str()),
                F::Tag(t) => format!("tag {slice} {}", t.tag),
                other => panic!("unexpected {other:?}"),
            }
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            format!("mention @{bob_handle}"),
            "link https://atproto.com https://atproto.com".to_owned(),
            "tag #atmo atmo".to_owned(),
        ]
    );

    // Like, repost, follow; each readable back; then undo.
    let liked = bob.like(&root.uri).await.unwrap();
    let l = bob
        .get_record::<like::Record>(&rkey_of(&liked.uri))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(l.value.subject.uri, root.uri);
    assert_eq!(l.value.subject.cid.as_str(), root.cid.to_string());
    bob.repost(&root.uri).await.unwrap();
    let followed = bob.follow(alice.did().unwrap()).await.unwrap();
    let f = bob
        .get_record::<follow::Record>(&rkey_of(&followed.uri))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&f.value.subject, alice.did().unwrap());
    bob.delete_uri(&liked.uri).await.unwrap();
    assert!(
        bob.get_record::<like::Record>(&rkey_of(&liked.uri))
            .await
            .unwrap()
            .is_none()
    );
    // Bob cannot delete Alice's post; Alice can.
    assert!(matches!(
        bob.delete_post(&root.uri).await,
        Err(Error::BadUri { .. })
    ));
    alice.delete_post(&root.uri).await.unwrap();
    assert!(
        alice
            .get_record::<post::Record>(&rkey_of(&root.uri))
            .await
            .unwrap()
            .is_none()
    );
    let _ = std::fs::remove_file(&img);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_edits_race_under_swap() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let a = agent(net, "ag-pr-").await;
    assert!(a.profile().await.unwrap().is_none());
    a.update_profile(|p| p.display_name = Some("Alice".into()))
        .await
        .unwrap();
    let before = a.profile().await.unwrap().unwrap();

    // A stale swap loses, typed.
    let rkey = RecordKey::new("self").unwrap();
    a.update_profile(|p| p.pronouns = Some("she/her".into()))
        .await
        .unwrap();
    let mut stale = before.value.clone();
    stale.description = Some("stale".into());
    let err = a
        .put_record(&rkey, &stale, Swap::record(before.cid.unwrap()))
        .await
        .unwrap_err();
    assert!(err.is_invalid_swap(), "{err:?}");

    // Eight concurrent edits of different fields: every one lands (the losers re-read).
    let mut tasks = Vec::new();
    for i in 0..8 {
        let a = a.clone();
        tasks.push(tokio::spawn(async move {
            a.update_profile(move |p: &mut profile::Record| {
                p.extra
                    .insert(format!("field{i}"), atmo::data::Value::from(i64::from(i)));
            })
            .await
        }));
    }
    for t in tasks {
        if let Err(e) = t.await.unwrap() {
            panic!("a concurrent edit failed: {e:?}");
        }
    }
    let after = a.profile().await.unwrap().unwrap().value;
    assert_eq!(after.display_name.as_deref(), Some("Alice"));
    assert_eq!(after.pronouns.as_deref(), Some("she/her"));
    for i in 0..8 {
        assert!(
            after.extra.contains_key(&format!("field{i}")),
            "field{i} lost: {after:?}"
        );
    }
    // Anyone can read it from the PDS.
    let public = a.profile_of(a.did().unwrap()).await.unwrap().unwrap();
    assert_eq!(public.value.display_name.as_deref(), Some("Alice"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_auth_from_the_pds_verifies_and_bad_tokens_do_not() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let a = agent(net, "ag-sa-").await;
    let me = a.did().unwrap().clone();
    let aud = "did:web:feed.example";
    let lxm = Nsid::new("app.bsky.feed.getFeedSkeleton").unwrap();
    let token = a.service_auth(aud, Some(&lxm), None).await.unwrap();
    let verifier = Verifier::new(resolver(net));
    let claims = verifier
        .verify(&token, &Expect::new(aud).lxm(lxm.clone()))
        .await
        .unwrap();
    assert_eq!(claims.iss, me.as_str());
    assert_eq!(claims.aud, aud);

    let problem = |r: Result<_, Error>| match r {
        Err(Error::Token(p)) => p,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert!(matches!(
        problem(
            verifier
                .verify(&token, &Expect::new("did:web:other.example"))
                .await
        ),
        TokenProblem::Audience { .. }
    ));
    let other = Nsid::new("com.atproto.repo.createRecord").unwrap();
    assert!(matches!(
        problem(verifier.verify(&token, &Expect::new(aud).lxm(other)).await),
        TokenProblem::Method { .. }
    ));
    let later = SystemTime::now() + Duration::from_secs(3600);
    assert!(matches!(
        problem(verifier.verify(&token, &Expect::new(aud).at(later)).await),
        TokenProblem::Expired { .. }
    ));
    // Flip one character of the signature.
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 3;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert!(matches!(
        problem(verifier.verify(&tampered, &Expect::new(aud)).await),
        TokenProblem::Signature | TokenProblem::Malformed(_)
    ));
    // A token claiming to be from another account, signed by this one's key, fails.
    let b = agent(net, "ag-sb-").await;
    let parts: Vec<&str> = token.split('.').collect();
    let forged_payload = {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims: serde_json::Value =
            serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        claims["iss"] = serde_json::Value::String(b.did().unwrap().to_string());
        b64.encode(serde_json::to_vec(&claims).unwrap())
    };
    let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    assert_eq!(
        problem(verifier.verify(&forged, &Expect::new(aud)).await),
        TokenProblem::Signature
    );
    // A replay cache refuses the second use.
    let once = Verifier::new(resolver(net)).replay_cache(std::sync::Arc::new(
        atmo::service_auth::MemoryReplayCache::default(),
    ));
    once.verify(&token, &Expect::new(aud)).await.unwrap();
    assert!(matches!(
        problem(once.verify(&token, &Expect::new(aud)).await),
        TokenProblem::Replayed(_)
    ));
}

/// The proxy and labeler headers reach the wire (a local listener records the request).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_and_labeler_headers_are_sent() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 8192];
        let n = s.read(&mut buf).unwrap();
        let body = br#"{"did":"did:plc:ewvi7nxzyoun6zhxrhs64oiz"}"#;
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(body).unwrap();
        String::from_utf8_lossy(&buf[..n]).to_lowercase()
    });
    let client = atmo_xrpc::Client::builder(format!("http://127.0.0.1:{port}"))
        .allow_private_network(true)
        .build()
        .unwrap();
    let agent = Agent::new(client)
        .with_proxy(atmo_xrpc::ProxyTarget::parse("did:web:api.bsky.chat#bsky_chat").unwrap())
        .with_labelers(vec![atmo_xrpc::Labeler {
            did: Did::new("did:plc:ar7c4by46qjdydhdevvrndac").unwrap(),
            redact: true,
        }]);
    let handle = atmo::syntax::Handle::new("alice.test").unwrap();
    let out = agent
        .client()
        .call(atmo::api::com_atproto::identity::resolve_handle::Params::new(handle))
        .await
        .unwrap();
    assert_eq!(
        out.did,
        Did::new("did:plc:ewvi7nxzyoun6zhxrhs64oiz").unwrap()
    );
    let request = server.join().unwrap();
    assert!(
        request.contains("atproto-proxy: did:web:api.bsky.chat#bsky_chat"),
        "{request}"
    );
    assert!(
        request.contains("atproto-accept-labelers: did:plc:ar7c4by46qjdydhdevvrndac;redact"),
        "{request}"
    );
}
