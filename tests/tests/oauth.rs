//! atmo-oauth against the real PDS of the reference network, headless: discovery, PAR
//! (and its nonce retry), the sign-in and consent through the PDS's own sign-in API,
//! callback checks, token exchange, XRPC calls with DPoP (and the PDS's nonce retry),
//! refresh with rotation, revocation; and the negative cases (state, iss, sub -> PDS ->
//! authorization server, metadata issuer, replay, expiry, a proof with the wrong htu).
//!
//! `ATMO_REFNET=0` skips them (loudly).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use atmo_http::HttpClient;
use atmo_identity::Resolver;
use atmo_oauth::{
    AuthorizeOptions, ClientMetadata, DpopKey, Error, MemorySessionStore, OAuthClient,
    OAuthErrorCode, OAuthSession, Scope, ScopeSet,
};
use atmo_tests::oauth_flow::{Account, loopback_http, loopback_resolver, sign_in};
use atmo_tests::refnet::{RefNet, http_request};
use atmo_xrpc::{Client, XrpcRequest};

const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn http() -> HttpClient {
    loopback_http()
}

fn resolver_with_plc(net: &RefNet, plc: &str, http: &HttpClient) -> Resolver {
    loopback_resolver(&net.pds, plc, http)
}

fn client_with(net: &RefNet, plc: &str, ttl: Option<Duration>) -> OAuthClient {
    let meta = ClientMetadata::loopback(&[REDIRECT.into()], &ScopeSet::generic()).unwrap();
    let http = http();
    let mut b = OAuthClient::builder(meta)
        .resolver(resolver_with_plc(net, plc, &http))
        .http(http)
        .session_store(Arc::new(MemorySessionStore::default()));
    if let Some(t) = ttl {
        b = b.state_ttl(t);
    }
    b.build().unwrap()
}

fn client(net: &RefNet) -> OAuthClient {
    client_with(net, &net.plc, None)
}

async fn new_account(net: &RefNet) -> Account {
    atmo_tests::oauth_flow::new_account(&net.pds).await
}

/// authorize -> sign-in -> the callback URL.
async fn authorized(net: &RefNet, client: &OAuthClient, acct: &Account, input: &str) -> String {
    let url = client
        .authorize(input, AuthorizeOptions::default())
        .await
        .unwrap();
    assert!(
        url.starts_with(&format!("{}/oauth/authorize?", net.pds)),
        "{url}"
    );
    let (pds, acct) = (net.pds.clone(), acct.clone());
    tokio::task::spawn_blocking(move || sign_in(&pds, &url, &acct))
        .await
        .unwrap()
}

async fn get_session(client: &Client) -> Result<serde_json::Value, atmo_xrpc::Error> {
    let req = XrpcRequest::query("com.atproto.server.getSession")?;
    let res = client.send_authed(&req).await?;
    Ok(serde_json::from_slice(&res.body).unwrap())
}

async fn signed_in(net: &RefNet) -> (OAuthClient, OAuthSession, Account) {
    let c = client(net);
    let acct = new_account(net).await;
    let back = authorized(net, &c, &acct, &acct.handle).await;
    let (session, _) = c.callback(&back).await.unwrap();
    (c, session, acct)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_policy_refuses_the_loopback_pds() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let meta = ClientMetadata::loopback(&[REDIRECT.into()], &ScopeSet::generic()).unwrap();
    let c = OAuthClient::builder(meta).build().unwrap();
    let e = c.discover(&net.pds).await.unwrap_err();
    assert!(matches!(&e, Error::Http(h) if h.is_policy()), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_to_end() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let c = client(net);
    let acct = new_account(net).await;

    // Discovery, from the handle and from the PDS URL.
    let found = c.discover(&acct.handle).await.unwrap();
    assert_eq!(found.server.issuer, net.pds);
    assert_eq!(
        found.did.as_ref().map(|d| d.to_string()),
        Some(acct.did.clone())
    );
    assert_eq!(
        found.pds.as_ref().map(|p| p.as_str()),
        Some(net.pds.as_str())
    );
    let by_url = c.discover(&net.pds).await.unwrap();
    assert_eq!(by_url.server, found.server);

    // PAR (its first answer is use_dpop_nonce: this client had no nonce), sign-in,
    // consent, callback, token exchange.
    let back = authorized(net, &c, &acct, &acct.handle).await;
    assert!(back.contains("code=") && back.contains("iss="), "{back}");
    let (session, app_state) = c.callback(&back).await.unwrap();
    assert_eq!(app_state, None);
    assert_eq!(session.did().as_str(), acct.did);
    let scope = session.scope().await;
    assert!(
        scope.has_atproto() && scope.contains(&Scope::TransitionGeneric),
        "{scope}"
    );
    assert_eq!(*session.pds(), net.pds);
    // Stored, and restored by DID.
    let restored = c.restore(session.did()).unwrap();
    assert_eq!(restored.data().await, session.data().await);

    // XRPC with DPoP through atmo_xrpc::Client.
    let pds = session.xrpc_client().unwrap();
    let me = get_session(&pds).await.unwrap();
    assert_eq!(me["did"], acct.did.as_str());
    let created = pds
        .send(
            &XrpcRequest::procedure("com.atproto.repo.createRecord")
                .unwrap()
                .json(&serde_json::json!({
                    "repo": acct.did, "collection": "app.bsky.feed.post",
                    "record": {"$type": "app.bsky.feed.post", "text": "hello over DPoP", "createdAt": "2024-01-01T00:00:00.000Z"}
                }))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(created.status, 200);

    // The PDS's own nonce retry: a client with an empty nonce cache, same session.
    let fresh = client(net).session_from(session.data().await);
    let me = get_session(&fresh.xrpc_client().unwrap()).await.unwrap();
    assert_eq!(me["did"], acct.did.as_str());

    // Refresh: both tokens rotate; the new ones work; the old refresh token is refused.
    let before = session.data().await;
    session.refresh().await.unwrap();
    let after = session.data().await;
    assert_ne!(before.tokens.refresh_token, after.tokens.refresh_token);
    assert_ne!(before.tokens.access_token, after.tokens.access_token);
    assert_eq!(
        c.restore(session.did()).unwrap().data().await,
        after,
        "saved after refresh"
    );
    let me = get_session(&pds).await.unwrap();
    assert_eq!(me["did"], acct.did.as_str());
    let stale = client(net).session_from(before);
    let e = stale.refresh().await.unwrap_err();
    assert!(matches!(e, Error::SessionEnded { .. }), "{e}");

    // Revoke: sign-out revokes at the server; the tokens then stop working.
    let last = session.data().await;
    assert!(session.sign_out().await.unwrap(), "revocation confirmed");
    assert!(matches!(
        c.restore(session.did()),
        Err(Error::NoSession { .. })
    ));
    let e = get_session(&pds).await.unwrap_err();
    assert!(matches!(e, atmo_xrpc::Error::NoSession), "{e}");
    let session_data_check = client(net).session_from(last);
    let e = get_session(&session_data_check.xrpc_client().unwrap())
        .await
        .unwrap_err();
    let status = match &e {
        atmo_xrpc::Error::Xrpc(x) | atmo_xrpc::Error::SessionExpired(x) => x.status,
        other => panic!("{other}"),
    };
    assert!(status == 401 || status == 400, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn par_needs_a_nonce_and_the_client_retries() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    // Raw: a PAR without a nonce is answered 400 use_dpop_nonce with a DPoP-Nonce.
    let key = DpopKey::generate().unwrap();
    let url = format!("{}/oauth/par", net.pds);
    let proof = key.proof("POST", &url, None, None).unwrap();
    let meta = ClientMetadata::loopback(&[REDIRECT.into()], &ScopeSet::generic()).unwrap();
    let body = atmo_oauth::form(&[
        ("client_id", &meta.client_id),
        ("response_type", "code"),
        (
            "code_challenge",
            atmo_oauth::Pkce::generate().unwrap().challenge(),
        ),
        ("code_challenge_method", "S256"),
        ("state", "s"),
        ("redirect_uri", REDIRECT),
        ("scope", "atproto transition:generic"),
    ]);
    let res = http_request(
        "POST",
        &url,
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("dpop", &proof),
        ],
        Some(body.as_bytes()),
    )
    .unwrap();
    assert_eq!(res.status, 400, "{}", res.text());
    assert_eq!(
        atmo_oauth::parse_error_body(&res.body).map(|x| x.0),
        Some(OAuthErrorCode::UseDpopNonce)
    );
    assert!(res.header("dpop-nonce").is_some());
    // The client, with no nonce yet, gets through.
    let c = client(net);
    let u = c
        .authorize(&net.pds, AuthorizeOptions::default())
        .await
        .unwrap();
    assert!(u.contains("request_uri="), "{u}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_state_is_refused() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let c = client(net);
    let acct = new_account(net).await;
    let back = authorized(net, &c, &acct, &acct.handle).await;
    let p = atmo_oauth::CallbackParams::parse(&back).unwrap();
    let forged = back.replace(&format!("state={}", p.state.unwrap()), "state=forged");
    assert!(matches!(
        c.callback(&forged).await,
        Err(Error::UnknownState)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_wrong_iss_is_refused() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let c = client(net);
    let acct = new_account(net).await;
    let strip_iss = |u: &str| {
        let (base, q) = u.split_once('?').unwrap();
        let q: Vec<&str> = q.split('&').filter(|kv| !kv.starts_with("iss=")).collect();
        format!("{base}?{}", q.join("&"))
    };
    let back = authorized(net, &c, &acct, &acct.handle).await;
    let e = c.callback(&strip_iss(&back)).await.unwrap_err();
    assert!(matches!(e, Error::MissingIssuer), "{e}");

    let back = authorized(net, &c, &acct, &acct.handle).await;
    let wrong = format!("{}&iss=http%3A%2F%2Flocalhost%3A1", strip_iss(&back));
    let e = c.callback(&wrong).await.unwrap_err();
    assert!(matches!(e, Error::IssuerMismatch { .. }), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_callback_is_refused() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let c = client(net);
    let acct = new_account(net).await;
    let back = authorized(net, &c, &acct, &acct.handle).await;
    c.callback(&back).await.unwrap();
    assert!(matches!(c.callback(&back).await, Err(Error::UnknownState)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_state_is_refused() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let c = client_with(net, &net.plc, Some(Duration::from_secs(1)));
    let acct = new_account(net).await;
    let back = authorized(net, &c, &acct, &acct.handle).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(matches!(c.callback(&back).await, Err(Error::StateExpired)));
}

/// A small HTTP server of the test's own on 127.0.0.1: `route(path)` gives the
/// status and JSON body.
fn serve(route: impl Fn(&str, u16) -> (u16, String) + Send + 'static) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let text = String::from_utf8_lossy(&buf);
            let path = text.split(' ').nth(1).unwrap_or("/").to_owned();
            let (status, body) = route(&path, port);
            let _ = write!(
                s,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_whose_pds_names_another_authorization_server_is_refused() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    // A PLC and PDS of our own: DID documents from the real PLC with the PDS endpoint
    // pointed here, and protected resource metadata naming another server.
    let real_plc = net.plc.clone();
    let real_pds = net.pds.clone();
    let port = serve(move |path, port| {
        let me = format!("http://127.0.0.1:{port}");
        if path == "/.well-known/oauth-protected-resource" {
            let j = serde_json::json!({"resource": me, "authorization_servers": [me]});
            return (200, j.to_string());
        }
        let res = atmo_tests::refnet::http_get(&format!("{real_plc}{path}")).unwrap();
        (res.status, res.text().replace(&real_pds, &me))
    });
    let c = client_with(net, &format!("http://127.0.0.1:{port}"), None);
    let acct = new_account(net).await;
    // Start from the PDS URL: the flow itself goes through the real server.
    let back = authorized(net, &c, &acct, &net.pds).await;
    let e = c.callback(&back).await.unwrap_err();
    match e {
        Error::AuthorizationServerMismatch {
            did,
            expected,
            found,
        } => {
            assert_eq!(did.as_str(), acct.did);
            assert_eq!(expected, net.pds);
            assert_eq!(found, format!("http://127.0.0.1:{port}"));
        }
        other => panic!("{other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_whose_issuer_is_not_its_url_is_refused() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let real = atmo_tests::refnet::http_get(&format!(
        "{}/.well-known/oauth-authorization-server",
        net.pds
    ))
    .unwrap()
    .text();
    let port = serve(move |path, _| {
        if path == "/.well-known/oauth-authorization-server" {
            (200, real.clone())
        } else {
            (404, "{}".into())
        }
    });
    let c = client(net);
    let e = c
        .discover(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Metadata {
                error: atmo_oauth::MetadataError::IssuerMismatch { .. },
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proof_with_the_wrong_htu_is_refused_by_the_pds() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let (_c, session, _acct) = signed_in(net).await;
    let data = session.data().await;
    let token = data.tokens.access_token.clone();
    let url = format!("{}/xrpc/com.atproto.server.getSession", net.pds);
    let wrong = format!("{}/xrpc/com.atproto.server.describeServer", net.pds);
    let send = |htu: &str, nonce: Option<&str>| {
        let proof = data
            .dpop_key
            .proof("GET", htu, nonce, Some(&token))
            .unwrap();
        http_request(
            "GET",
            &url,
            &[
                ("authorization", &format!("DPoP {token}")),
                ("dpop", &proof),
            ],
            None,
        )
        .unwrap()
    };
    // Learn the PDS's nonce, check that a right proof passes, then the wrong htu.
    let first = send(&url, None);
    let nonce = first.header("dpop-nonce").map(str::to_owned);
    let ok = send(&url, nonce.as_deref());
    assert_eq!(ok.status, 200, "{}", ok.text());
    let nonce = ok.header("dpop-nonce").map(str::to_owned).or(nonce);
    let bad = send(&wrong, nonce.as_deref());
    assert_eq!(bad.status, 401, "{}", bad.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_login_whoami_logout() {
    use std::io::BufRead as _;
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let acct = new_account(net).await;
    let state = atmo_tests::support::temp_dir("oauth-cli");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let atmo = |args: &[&str]| {
        let mut c = std::process::Command::new(atmo_tests::support::atmo_bin());
        c.args(args)
            .args([
                "--allow-private-network",
                "--plc",
                &net.plc,
                "--handle-resolver",
                &net.pds,
            ])
            .env("XDG_STATE_HOME", &state)
            .env("ATMO_SESSION_FILE", state.join("session.json"))
            .env_remove("ATMO_OAUTH_DIR");
        c
    };
    let mut child = atmo(&[
        "login",
        "--oauth",
        &acct.handle,
        "--no-browser",
        "--port",
        &port.to_string(),
    ])
    .stdout(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut url = String::new();
    out.read_line(&mut url).unwrap();
    let url = url.trim().to_owned();
    assert!(
        url.starts_with(&format!("{}/oauth/authorize?", net.pds)),
        "{url}"
    );
    let (pds, acct2) = (net.pds.clone(), acct.clone());
    let back = tokio::task::spawn_blocking(move || sign_in(&pds, &url, &acct2))
        .await
        .unwrap();
    let query = back.split_once('?').unwrap().1.to_owned();
    let res =
        atmo_tests::refnet::http_get(&format!("http://127.0.0.1:{port}/callback?{query}")).unwrap();
    assert_eq!(res.status, 200);
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success());

    let who = atmo(&["whoami", "--json"]).output().unwrap();
    assert!(
        who.status.success(),
        "{}",
        String::from_utf8_lossy(&who.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&who.stdout).unwrap();
    assert_eq!(v["auth"], "oauth");
    assert_eq!(v["did"], acct.did.as_str());
    assert_eq!(v["handle"], acct.handle.as_str());
    assert!(v["scope"].as_str().unwrap().contains("atproto"), "{v}");

    // Commands that need a session use the OAuth one (DPoP, the PDS's nonce retry).
    let note = state.join("note.json");
    std::fs::write(&note, r#"{"$type":"com.example.note","text":"via oauth"}"#).unwrap();
    let out = atmo(&[
        "record",
        "create",
        "com.example.note",
        note.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let uri = v["uri"].as_str().unwrap().to_owned();
    assert!(
        uri.starts_with(&format!("at://{}/com.example.note/", acct.did)),
        "{uri}"
    );
    let out = atmo(&["record", "get", &uri]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("via oauth"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let out = atmo(&["logout"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let who = atmo(&["whoami", "--json"]).output().unwrap();
    assert!(!who.status.success());
}

/// The facade's Agent on an OAuth session: every call DPoP-bound (the PDS's nonce
/// retried), a post written and read back, sign-out revoking the tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_works_on_an_oauth_session() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let (c, session, acct) = signed_in(net).await;
    let agent = atmo::Agent::from_oauth(session)
        .unwrap()
        .with_resolver(resolver_with_plc(net, &net.plc, &http()));
    assert_eq!(agent.did().map(|d| d.as_str()), Some(acct.did.as_str()));
    assert!(agent.handle().is_none());
    let mut agent2 = agent.clone();
    let handle = agent2.refresh_handle().await.unwrap().cloned();
    assert_eq!(handle.map(|h| h.to_string()), Some(acct.handle.clone()));
    let written = agent
        .post("posted with OAuth")
        .lang("en")
        .send()
        .await
        .unwrap();
    let rkey = written.uri.rkey().cloned().unwrap();
    let got = agent
        .get_record::<atmo::api::app_bsky::feed::post::Record>(&rkey)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.value.text, "posted with OAuth");
    let did = agent.did().unwrap().clone();
    agent.sign_out().await.unwrap();
    // The session is gone from the store, and the client cannot restore it.
    assert!(c.restore(&did).is_err());
}

/// Two processes sharing a session store refresh the same session at once: the store's
/// lock makes them take turns, the second adopts the tokens the first stored, and no
/// refresh token is spent twice (the PDS would end the session). Each client has its own
/// store value over the same directory or database file, as two processes would.
async fn concurrent_refreshes_share_one(
    net: &RefNet,
    a: Arc<dyn atmo_oauth::SessionStore>,
    b: Arc<dyn atmo_oauth::SessionStore>,
) {
    let make = |store: Arc<dyn atmo_oauth::SessionStore>| {
        let meta = ClientMetadata::loopback(&[REDIRECT.into()], &ScopeSet::generic()).unwrap();
        let http = http();
        OAuthClient::builder(meta)
            .resolver(resolver_with_plc(net, &net.plc, &http))
            .http(http)
            .session_store(store)
            .build()
            .unwrap()
    };
    let (ca, cb) = (make(a), make(b));
    let acct = new_account(net).await;
    let back = authorized(net, &ca, &acct, &acct.handle).await;
    let (first, _) = ca.callback(&back).await.unwrap();
    let did = first.did().clone();
    let before = first.data().await;
    let (sa, sb) = (ca.restore(&did).unwrap(), cb.restore(&did).unwrap());
    let (ra, rb) = tokio::join!(sa.refresh(), sb.refresh());
    ra.unwrap();
    rb.unwrap();
    let (da, db) = (sa.data().await, sb.data().await);
    assert_ne!(da.tokens.refresh_token, before.tokens.refresh_token);
    assert_eq!(da.tokens, db.tokens, "one refreshed, the other adopted it");
    assert_eq!(ca.restore(&did).unwrap().data().await.tokens, da.tokens);
    for s in [&sa, &sb] {
        let me = get_session(&s.xrpc_client().unwrap()).await.unwrap();
        assert_eq!(me["did"], acct.did.as_str());
    }
    // And the next refresh, from either, still works (the stored token is the live one).
    sb.refresh().await.unwrap();
    sa.refresh().await.unwrap();
    assert!(sa.sign_out().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_through_a_file_store_share_one() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let dir = atmo_tests::support::temp_dir("oauth-file-store");
    concurrent_refreshes_share_one(
        net,
        Arc::new(atmo_oauth::FileSessionStore::new(&dir)),
        Arc::new(atmo_oauth::FileSessionStore::new(&dir)),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_through_an_sqlite_store_share_one() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let file = atmo_tests::support::temp_dir("oauth-sqlite-store").join("oauth.sqlite");
    concurrent_refreshes_share_one(
        net,
        Arc::new(atmo_oauth::SqliteStore::open(&file).unwrap()),
        Arc::new(atmo_oauth::SqliteStore::open(&file).unwrap()),
    )
    .await;
}
