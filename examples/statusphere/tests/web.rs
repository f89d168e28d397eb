//! The routes without any network: error pages for bad input (never a 500), the session
//! cookie's checks, the served client metadata and stylesheet. The browser test
//! (`tests/browser-test`) covers the flows that need the reference network.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use statusphere::app::build_state;
use statusphere::config::Config;
use statusphere::cookie::{CookieKey, NAME};
use statusphere::db::{Db, StatusRow};
use statusphere::web::router;
use tower::ServiceExt as _;

const KEY: [u8; 32] = [42; 32];
const CLOSED: &str = "http://127.0.0.1:9";
const DID: &str = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";

fn app_with(public_url: Option<&str>) -> (axum::Router, Arc<Db>) {
    // Every lookup goes to a closed loopback port: nothing leaves 127.0.0.1.
    let config = Config::from_lookup(|k| match k {
        "STATUSPHERE_PUBLIC_URL" => public_url.map(str::to_owned),
        "STATUSPHERE_PLC_URL" | "STATUSPHERE_HANDLE_RESOLVER" => Some(CLOSED.to_owned()),
        "STATUSPHERE_ALLOW_PRIVATE_NETWORK" => Some("1".to_owned()),
        _ => None,
    })
    .unwrap();
    let db = Arc::new(Db::open(":memory:").unwrap());
    let base = public_url.unwrap_or("http://127.0.0.1:8080");
    let state = build_state(&config, db.clone(), KEY.to_vec(), base).unwrap();
    (router(Arc::new(state)), db)
}

async fn send(app: &axum::Router, req: Request<Body>) -> (StatusCode, String, Vec<String>) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let cookies = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body = to_bytes(res.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap(), cookies)
}

fn get(uri: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::get(uri);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, format!("{NAME}={c}"));
    }
    b.body(Body::empty()).unwrap()
}

fn post(uri: &str, form: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b =
        Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, format!("{NAME}={c}"));
    }
    b.body(Body::from(form.to_owned())).unwrap()
}

#[tokio::test]
async fn home_lists_statuses_and_offers_sign_in() {
    let (app, db) = app_with(None);
    let (st, body, _) = send(&app, get("/", None)).await;
    assert_eq!(st, StatusCode::OK);
    assert!(body.contains("id=\"login-link\""), "{body}");
    assert!(body.contains("No statuses yet"), "{body}");
    // Signed out, the picker is shown but disabled.
    assert_eq!(body.matches("disabled").count(), 26, "{body}");
    db.upsert_status(&StatusRow {
        uri: format!("at://{DID}/xyz.statusphere.status/3l"),
        author_did: DID.into(),
        status: "🦋".into(),
        created_at: "2026-12-07T01:02:03.000Z".into(),
        indexed_at: "2026-12-07T01:02:03.000Z".into(),
    })
    .unwrap();
    let (_, body, _) = send(&app, get("/", None)).await;
    // The DID's document cannot be had (the PLC port is closed): the DID stands in.
    assert!(
        body.contains(&format!("@{DID}</span> is feeling 🦋 on 2026-12-07")),
        "{body}"
    );
}

#[tokio::test]
async fn bad_sign_in_input_gives_the_form_back_with_a_message() {
    let (app, _) = app_with(None);
    let (st, body, _) = send(&app, post("/login", "handle=not+a+handle%21", None)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(body.contains("is not a handle"), "{body}");
    assert!(body.contains("value=\"not a handle!\""), "{body}");
    let (st, body, _) = send(&app, post("/login", "", None)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    let (st, body, _) = send(
        &app,
        Request::post("/login")
            .body(Body::from("handle=x"))
            .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "no content type: {body}");
    assert!(body.contains("Bad form"), "{body}");
}

#[tokio::test]
async fn forged_and_cancelled_callbacks_are_clear_pages() {
    let (app, _) = app_with(None);
    for q in [
        "/oauth/callback?code=forged&state=forged&iss=http%3A%2F%2Fevil.test",
        "/oauth/callback",
        "/oauth/callback?error=access_denied&state=nobody-started-this",
        "/oauth/callback?%%%",
    ] {
        let (st, body, cookies) = send(&app, get(q, None)).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{q}: {body}");
        assert!(body.contains("Sign-in"), "{q}: {body}");
        assert!(cookies.is_empty(), "{q}: {cookies:?}");
    }
}

#[tokio::test]
async fn writing_needs_a_valid_session() {
    let (app, _) = app_with(None);
    let (st, body, _) = send(&app, post("/status", "status=%F0%9F%91%8D", None)).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("Not signed in"), "{body}");
    // A forged cookie (signed with another key) is no session, and is dropped.
    let forged = CookieKey::new(vec![1; 32]).sign("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa");
    let (st, _, cookies) = send(&app, post("/status", "status=%F0%9F%91%8D", Some(&forged))).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(
        cookies.iter().any(|c| c.starts_with(&format!("{NAME}=;"))),
        "{cookies:?}"
    );
    // A genuine cookie whose OAuth session is gone (signed out elsewhere) likewise.
    let stale = CookieKey::new(KEY.to_vec()).sign("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa");
    let (st, body, cookies) = send(&app, get("/", Some(&stale))).await;
    assert_eq!(st, StatusCode::OK);
    assert!(body.contains("id=\"login-link\""), "{body}");
    assert!(
        cookies.iter().any(|c| c.starts_with(&format!("{NAME}=;"))),
        "{cookies:?}"
    );
}

#[tokio::test]
async fn serves_client_metadata_styles_and_404() {
    let (app, _) = app_with(None);
    let (st, body, _) = send(&app, get("/client-metadata.json", None)).await;
    assert_eq!(st, StatusCode::OK);
    let meta: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        meta["client_id"]
            .as_str()
            .unwrap()
            .starts_with("http://localhost?"),
        "{meta}"
    );
    assert_eq!(
        meta["redirect_uris"][0],
        "http://127.0.0.1:8080/oauth/callback"
    );

    let (app, _) = app_with(Some("https://statusphere.example.com"));
    let (st, body, _) = send(&app, get("/client-metadata.json", None)).await;
    assert_eq!(st, StatusCode::OK);
    let meta: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        meta["client_id"],
        "https://statusphere.example.com/client-metadata.json"
    );
    assert_eq!(
        meta["redirect_uris"][0],
        "https://statusphere.example.com/oauth/callback"
    );
    assert!(
        meta["scope"].as_str().unwrap().contains("atproto"),
        "{meta}"
    );

    let (st, body, _) = send(&app, get("/public/styles.css", None)).await;
    assert_eq!(st, StatusCode::OK);
    assert!(body.contains(".status-option"));
    let (st, body, _) = send(&app, get("/no/such/page", None)).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(body.contains("Not found"));
}
