//! The user's part of an OAuth sign-in at the reference PDS, headless: a fresh account,
//! and the sign-in and consent through the sign-in page's own JSON API (see
//! `../shared/REFNET.md`). Shared by the OAuth tests (tests/tests/oauth.rs,
//! tests/tests/oauth_clients.rs).

use atmo::http::{ConnectPolicy, HttpClient};
use atmo::identity::{Resolver, ResolverConfig};
use atmo_xrpc::{Client, PasswordSession};

use crate::refnet::http_request;
use crate::support::unique;

/// An HTTP client that may reach loopback (the reference network).
///
/// # Panics
///
/// When the client cannot be built (a test failure).
pub fn loopback_http() -> HttpClient {
    HttpClient::builder()
        .policy(ConnectPolicy::default().allow_private_network(true))
        .build()
        .unwrap_or_else(|e| panic!("http client: {e}"))
}

/// An identity resolver for the reference network: DIDs from `plc`, handles from the
/// PDS at `pds`, no DNS, over `http`.
pub fn loopback_resolver(pds: &str, plc: &str, http: &HttpClient) -> Resolver {
    let mut c = ResolverConfig::default();
    c.plc_url = plc.to_owned();
    c.allow_private_network = true;
    c.use_dns = false;
    c.handle_resolver = Some(pds.to_owned());
    Resolver::with_http(c, http.clone())
}

/// An account on the reference PDS.
#[derive(Debug, Clone)]
pub struct Account {
    /// Its handle (`<unique>.test`).
    pub handle: String,
    /// Its password.
    pub password: String,
    /// Its DID.
    pub did: String,
}

/// A new account on the PDS at `pds`.
///
/// # Panics
///
/// When the PDS refuses (a test failure).
pub async fn new_account(pds: &str) -> Account {
    let client = Client::builder(pds)
        .allow_private_network(true)
        .build()
        .unwrap_or_else(|e| panic!("xrpc client for {pds}: {e}"));
    let handle = format!("{}.test", unique("o"));
    let password = unique("pw-");
    let s = PasswordSession::create_account(
        &client,
        &handle,
        &format!("{handle}@example.com"),
        &password,
        None,
    )
    .await
    .unwrap_or_else(|e| panic!("createAccount {handle}: {e}"));
    Account {
        handle,
        password,
        did: s.did().to_string(),
    }
}

/// Cookies from `set-cookie` headers, merged into `jar`.
fn take_cookies(jar: &mut Vec<(String, String)>, headers: &[(String, String)]) {
    for (k, v) in headers {
        if k != "set-cookie" {
            continue;
        }
        let pair = v.split(';').next().unwrap_or_default();
        if let Some((name, value)) = pair.split_once('=') {
            jar.retain(|(n, _)| n != name);
            jar.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
}

/// The user's part, through the sign-in page's own JSON API of the PDS at `pds`: opens
/// `authorize_url`, signs in as `acct`, consents; returns the URL the browser would be
/// sent back to (the client's redirect URI with `code`, `state` and `iss`). Blocking.
///
/// # Panics
///
/// When any step is refused (a test failure; the message carries the PDS's answer).
pub fn sign_in(pds: &str, authorize_url: &str, acct: &Account) -> String {
    let res = http_request(
        "GET",
        authorize_url,
        &[
            ("sec-fetch-mode", "navigate"),
            ("sec-fetch-dest", "document"),
            ("sec-fetch-site", "none"),
            ("accept", "text/html"),
        ],
        None,
    )
    .unwrap_or_else(|e| panic!("authorize page: {e}"));
    assert_eq!(res.status, 200, "authorize page: {}", res.text());
    let mut jar = Vec::new();
    take_cookies(&mut jar, &res.headers);
    let Some(csrf) = jar
        .iter()
        .find(|(n, _)| n == "csrf-token")
        .map(|(_, v)| v.clone())
    else {
        panic!("no csrf-token cookie from the authorize page");
    };
    let api = |path: &str, body: &serde_json::Value, jar: &mut Vec<(String, String)>| {
        let cookie = jar
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let res = http_request(
            "POST",
            &format!("{pds}/@atproto/oauth-provider/~api/{path}"),
            &[
                ("content-type", "application/json"),
                ("cookie", &cookie),
                ("x-csrf-token", &csrf),
                ("origin", pds),
                ("referer", authorize_url),
                ("sec-fetch-mode", "same-origin"),
                ("sec-fetch-site", "same-origin"),
                ("sec-fetch-dest", "empty"),
            ],
            Some(body.to_string().as_bytes()),
        )
        .unwrap_or_else(|e| panic!("{path}: {e}"));
        take_cookies(jar, &res.headers);
        assert_eq!(res.status, 200, "{path}: {}", res.text());
        serde_json::from_slice::<serde_json::Value>(&res.body)
            .unwrap_or_else(|e| panic!("{path}: {e}: {}", res.text()))
    };
    let out = api(
        "sign-in",
        &serde_json::json!({"locale": "en", "username": acct.handle, "password": acct.password, "remember": true}),
        &mut jar,
    );
    assert_eq!(out["account"]["did"], acct.did.as_str(), "{out}");
    let out = api("consent", &serde_json::json!({"did": acct.did}), &mut jar);
    match out["url"].as_str() {
        Some(u) => u.to_owned(),
        None => panic!("no url in the consent answer: {out}"),
    }
}
