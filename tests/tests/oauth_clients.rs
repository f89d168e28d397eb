//! The public web client and the confidential client (`private_key_jwt`) of atmo-oauth,
//! signed in for real at the reference PDS, on loopback only.
//!
//! Their `client_id` is an https URL the PDS fetches: the OAuth provider refuses IP
//! hosts, single-label names and the local TLDs (`.test`, `.local`, `.localhost`,
//! `.invalid`, `.example`), so the test serves the client's metadata (exactly what
//! `ClientMetadata::to_json` gives) and JWKS over https as `client.atmo-oauth.dev`, with a
//! certificate from a CA it makes itself. Its own reference network (not the shared one)
//! starts with `NODE_EXTRA_CA_CERTS=<that CA>` and `REFNET_LOOPBACK_NAMES=client.atmo-oauth.dev`:
//! start.mjs's network guard answers that name with 127.0.0.1 inside the Node process, so
//! the fetch never leaves loopback. The PDS runs in dev mode, where SSRF protection is off
//! (`fetch.disableSsrfProtection` defaults to `devMode`), so a private address and a port
//! in the `client_id` are accepted.
//!
//! `ATMO_REFNET=0` skips them (loudly).

use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use atmo_crypto::{Curve, Keypair};
use atmo_oauth::{
    AuthorizeOptions, ClientAuth, ClientMetadata, Error, MemorySessionStore, OAuthClient,
    OAuthErrorCode, OAuthSession, Scope, ScopeSet,
};
use atmo_tests::oauth_flow::{Account, loopback_http, loopback_resolver, new_account, sign_in};
use atmo_tests::refnet::{RefNet, skip_if_disabled};
use atmo_xrpc::XrpcRequest;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// The client's host name: not a local TLD, never resolved outside the Node process.
const HOST: &str = "client.atmo-oauth.dev";

/// The documents served over https, by path, and how often each was fetched.
#[derive(Default)]
struct Routes {
    docs: HashMap<String, String>,
    hits: HashMap<String, usize>,
}

/// This process's https server and reference network.
struct Fixture {
    net: RefNet,
    port: u16,
    routes: Arc<Mutex<Routes>>,
}

impl Fixture {
    /// `https://client.atmo-oauth.dev:<port><path>`.
    fn url(&self, path: &str) -> String {
        format!("https://{HOST}:{}{path}", self.port)
    }

    /// Serves `body` (JSON) at `path`.
    fn serve(&self, path: &str, body: String) {
        self.routes.lock().unwrap().docs.insert(path.into(), body);
    }

    /// How often `path` was fetched.
    fn hits(&self, path: &str) -> usize {
        self.routes
            .lock()
            .unwrap()
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

/// A CA and a certificate for [`HOST`] signed by it: (CA PEM, leaf DER, leaf key DER).
fn tls_material() -> (String, Vec<u8>, Vec<u8>) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "atmo oauth test CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = ca.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec![HOST.to_owned()]).unwrap();
    leaf.distinguished_name.push(DnType::CommonName, HOST);
    let leaf = leaf.signed_by(&leaf_key, &ca, &ca_key).unwrap();
    (ca.pem(), leaf.der().to_vec(), leaf_key.serialize_der())
}

/// An https server on 127.0.0.1 (its own thread and runtime, so it outlives any one
/// test's runtime) answering GETs from `routes`.
fn start_server(cert: Vec<u8>, key: Vec<u8>, routes: Arc<Mutex<Routes>>) -> u16 {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![CertificateDer::from(cert)],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, routes) = (acceptor.clone(), Arc::clone(&routes));
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut head = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
                        match tls.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&head);
                    let path = text.split(' ').nth(1).unwrap_or("/").to_owned();
                    let doc = {
                        let mut r = routes.lock().unwrap();
                        *r.hits.entry(path.clone()).or_default() += 1;
                        r.docs.get(&path).cloned()
                    };
                    let (status, body) = match doc {
                        Some(b) => ("200 OK", b),
                        None => ("404 Not Found", "{}".to_owned()),
                    };
                    let res = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tls.write_all(res.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
    });
    port
}

/// A fresh https server and a reference network that trusts its CA and resolves
/// [`HOST`] to 127.0.0.1, with `extra` environment for the PDS.
fn make_fixture(extra: &[(&str, &str)]) -> Fixture {
    let (ca_pem, cert, key) = tls_material();
    let dir = atmo_tests::support::temp_dir("oauth-clients");
    let ca_file: PathBuf = dir.join("ca.pem");
    std::fs::File::create(&ca_file)
        .and_then(|mut f| f.write_all(ca_pem.as_bytes()))
        .unwrap();
    let routes = Arc::new(Mutex::new(Routes::default()));
    let port = start_server(cert, key, Arc::clone(&routes));
    let mut env = vec![
        ("NODE_EXTRA_CA_CERTS", ca_file.to_str().unwrap()),
        ("REFNET_LOOPBACK_NAMES", HOST),
    ];
    env.extend_from_slice(extra);
    let net = RefNet::start_with_env(&env).unwrap_or_else(|e| panic!("reference network: {e}"));
    Fixture { net, port, routes }
}

/// The fixture of this process, made on first use; `None` when `ATMO_REFNET=0`.
fn fixture() -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    if skip_if_disabled() {
        return None;
    }
    Some(FIXTURE.get_or_init(|| make_fixture(&[])))
}

/// A client for `meta` and `auth`, reaching the reference network.
fn client(fx: &Fixture, meta: &ClientMetadata, auth: ClientAuth) -> OAuthClient {
    let http = loopback_http();
    OAuthClient::builder(meta.clone())
        .client_auth(auth)
        .resolver(loopback_resolver(&fx.net.pds, &fx.net.plc, &http))
        .http(http)
        .session_store(Arc::new(MemorySessionStore::default()))
        .build()
        .unwrap()
}

/// authorize (PAR) -> the user's sign-in and consent -> callback (token exchange).
async fn sign_in_with(fx: &Fixture, c: &OAuthClient, acct: &Account) -> OAuthSession {
    let url = c
        .authorize(
            &acct.handle,
            AuthorizeOptions::default().with_app_state("x"),
        )
        .await
        .unwrap();
    assert!(
        url.starts_with(&format!("{}/oauth/authorize?", fx.net.pds)),
        "{url}"
    );
    let (pds, acct2, url2) = (fx.net.pds.clone(), acct.clone(), url.clone());
    let back = tokio::task::spawn_blocking(move || sign_in(&pds, &url2, &acct2))
        .await
        .unwrap();
    // The consent answer is the provider's own redirect page, naming where it sends the
    // browser: the client's redirect URI, with code, state and iss.
    let params: HashMap<String, String> = url::Url::parse(&back)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let redirect = &c.metadata().redirect_uris[0];
    assert_eq!(params.get("redirect_uri"), Some(redirect), "{back}");
    let landing = format!(
        "{redirect}?{}",
        atmo_oauth::form(&[
            ("code", &params["code"]),
            ("state", &params["state"]),
            ("iss", &params["iss"]),
        ])
    );
    let (session, app_state) = c.callback(&landing).await.unwrap();
    assert_eq!(app_state.as_deref(), Some("x"));
    assert_eq!(session.did().as_str(), acct.did);
    session
}

async fn get_session(client: &atmo_xrpc::Client) -> Result<serde_json::Value, atmo_xrpc::Error> {
    let req = XrpcRequest::query("com.atproto.server.getSession")?;
    let res = client.send_authed(&req).await?;
    Ok(serde_json::from_slice(&res.body).unwrap())
}

/// Typed calls with DPoP work on the session: getSession and a record written.
async fn calls_work(session: &OAuthSession, acct: &Account) {
    let pds = session.xrpc_client().unwrap();
    let me = get_session(&pds).await.unwrap();
    assert_eq!(me["did"], acct.did.as_str());
    let created = pds
        .send(
            &XrpcRequest::procedure("com.atproto.repo.createRecord")
                .unwrap()
                .json(&serde_json::json!({
                    "repo": acct.did, "collection": "com.example.note",
                    "record": {"$type": "com.example.note", "text": "from a web client"}
                }))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(created.status, 200);
}

/// The status of a call made with tokens that should no longer work.
async fn refused_status(c: &OAuthClient, data: atmo_oauth::StoredSession) -> u16 {
    let e = get_session(&c.session_from(data).xrpc_client().unwrap())
        .await
        .unwrap_err();
    match &e {
        atmo_xrpc::Error::Xrpc(x) | atmo_xrpc::Error::SessionExpired(x) => x.status,
        other => panic!("{other}"),
    }
}

/// Refresh rotates both tokens, the new ones work, and sign-out revokes them.
async fn refresh_and_sign_out(c: &OAuthClient, session: &OAuthSession, acct: &Account) {
    let before = session.data().await;
    session.refresh().await.unwrap();
    let after = session.data().await;
    assert_ne!(before.tokens.refresh_token, after.tokens.refresh_token);
    assert_ne!(before.tokens.access_token, after.tokens.access_token);
    let me = get_session(&session.xrpc_client().unwrap()).await.unwrap();
    assert_eq!(me["did"], acct.did.as_str());
    assert!(session.sign_out().await.unwrap(), "revocation confirmed");
    let status = refused_status(c, after).await;
    assert!(status == 401 || status == 400, "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_web_client_signs_in_end_to_end() {
    let Some(fx) = fixture() else { return };
    let path = "/public/client-metadata.json";
    let meta = ClientMetadata::public_web(
        &fx.url(path),
        &[fx.url("/public/callback")],
        &ScopeSet::generic(),
    )
    .unwrap();
    assert_eq!(meta.token_endpoint_auth_method, "none");
    fx.serve(path, meta.to_json());
    let c = client(fx, &meta, ClientAuth::None);
    let acct = new_account(&fx.net.pds).await;

    let session = sign_in_with(fx, &c, &acct).await;
    assert!(fx.hits(path) >= 1, "the PDS fetched the client metadata");
    let scope = session.scope().await;
    assert!(
        scope.has_atproto() && scope.contains(&Scope::TransitionGeneric),
        "{scope}"
    );
    calls_work(&session, &acct).await;
    refresh_and_sign_out(&c, &session, &acct).await;
}

/// A confidential client whose keys are at `jwks_uri` (or inline without one): sign-in,
/// calls, refresh and revocation, each authenticated with a fresh `client_assertion`;
/// the same session driven with another key is refused at refresh and at revocation.
async fn confidential_flow(fx: &Fixture, dir: &str, jwks_at_uri: bool) {
    let key = Keypair::generate(Curve::P256).unwrap();
    let auth = ClientAuth::private_key_jwt(key, "k1").unwrap();
    let meta_path = format!("/{dir}/client-metadata.json");
    let jwks_path = format!("/{dir}/jwks.json");
    let jwks_uri = jwks_at_uri.then(|| fx.url(&jwks_path));
    let meta = ClientMetadata::confidential(
        &fx.url(&meta_path),
        &[fx.url(&format!("/{dir}/callback"))],
        &ScopeSet::generic(),
        &auth,
        jwks_uri.as_deref(),
    )
    .unwrap();
    assert_eq!(meta.token_endpoint_auth_method, "private_key_jwt");
    assert_eq!(meta.jwks.is_some(), !jwks_at_uri);
    fx.serve(&meta_path, meta.to_json());
    fx.serve(&jwks_path, auth.jwks().unwrap().to_string());
    let c = client(fx, &meta, auth);
    let acct = new_account(&fx.net.pds).await;

    let session = sign_in_with(fx, &c, &acct).await;
    assert!(
        fx.hits(&meta_path) >= 1,
        "the PDS fetched the client metadata"
    );
    assert_eq!(
        fx.hits(&jwks_path) >= 1,
        jwks_at_uri,
        "the PDS fetched the JWKS exactly when the metadata names a jwks_uri"
    );
    calls_work(&session, &acct).await;

    // The same session with another key: refresh and revocation authenticate the client.
    let other = ClientAuth::private_key_jwt(Keypair::generate(Curve::P256).unwrap(), "k1").unwrap();
    let impostor = client(fx, &meta, other);
    let stolen = impostor.session_from(session.data().await);
    let e = stolen.refresh().await.unwrap_err();
    assert!(
        matches!(
            &e,
            Error::OAuth {
                code: OAuthErrorCode::InvalidClient,
                ..
            }
        ),
        "{e:?}"
    );
    // The provider answers every revocation 200 (it swallows errors, as RFC 7009 allows
    // for invalid tokens), so the answer says nothing; what counts is that the tokens
    // were not revoked: neither this nor the refused refresh touched the session, which
    // still works, refreshes and signs out.
    let _answered = stolen.sign_out().await.unwrap();
    calls_work(&session, &acct).await;
    refresh_and_sign_out(&c, &session, &acct).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confidential_client_with_jwks_uri_signs_in_end_to_end() {
    let Some(fx) = fixture() else { return };
    confidential_flow(fx, "conf-uri", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confidential_client_with_inline_jwks_signs_in_end_to_end() {
    let Some(fx) = fixture() else { return };
    confidential_flow(fx, "conf-inline", false).await;
}

/// A confidential client whose assertion is signed with a key its JWKS does not hold
/// is refused at PAR with `invalid_client`, as atmo-oauth's typed error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confidential_client_signing_with_a_key_not_in_its_jwks_is_refused() {
    let Some(fx) = fixture() else { return };
    let published =
        ClientAuth::private_key_jwt(Keypair::generate(Curve::P256).unwrap(), "k1").unwrap();
    let signing =
        ClientAuth::private_key_jwt(Keypair::generate(Curve::P256).unwrap(), "k1").unwrap();
    let path = "/conf-wrong-key/client-metadata.json";
    let meta = ClientMetadata::confidential(
        &fx.url(path),
        &[fx.url("/conf-wrong-key/callback")],
        &ScopeSet::generic(),
        &published,
        None,
    )
    .unwrap();
    fx.serve(path, meta.to_json());
    let c = client(fx, &meta, signing);
    let e = c
        .authorize(&fx.net.pds, AuthorizeOptions::default())
        .await
        .unwrap_err();
    match &e {
        Error::OAuth {
            code, description, ..
        } => {
            assert_eq!(code, &OAuthErrorCode::InvalidClient, "{e:?}");
            assert!(
                description
                    .as_deref()
                    .is_some_and(|d| d.contains("client_assertion")),
                "{e:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(fx.hits(path) >= 1);
}

/// Where a production PDS stops: with SSRF protection on (the default outside dev mode),
/// the provider refuses to fetch the metadata of a `client_id` on a custom port and on a
/// private address, so a client can only be tried this way on a dev-mode PDS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_ssrf_protection_on_the_provider_refuses_a_loopback_client_id() {
    if skip_if_disabled() {
        return;
    }
    let fx = make_fixture(&[("PDS_DISABLE_SSRF_PROTECTION", "false")]);
    let path = "/ssrf/client-metadata.json";
    let meta = ClientMetadata::public_web(
        &fx.url(path),
        &[fx.url("/ssrf/callback")],
        &ScopeSet::generic(),
    )
    .unwrap();
    fx.serve(path, meta.to_json());
    let c = client(&fx, &meta, ClientAuth::None);
    let e = c
        .authorize(&fx.net.pds, AuthorizeOptions::default())
        .await
        .unwrap_err();
    // The port is the first thing it refuses (a private address would be the next).
    match &e {
        Error::OAuth {
            status: 400,
            code: OAuthErrorCode::InvalidClientMetadata,
            description: Some(d),
            ..
        } => assert!(d.contains("Custom https: ports not allowed"), "{e:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(fx.hits(path), 0, "nothing was fetched");
}
