//! A feed generator: serves `app.bsky.feed.getFeedSkeleton` to AppViews (or a PDS
//! proxying for a user), each request's service-auth token verified against the
//! caller's DID document, and its own `did:web` document.
//!
//! The feed, `mine`, is the requesting account's own posts, newest first, read straight
//! from that account's PDS: it shows how the verified token's issuer is used.
//!
//! ```text
//! feed-generator --hostname feed.example.com --port 3000 --publisher did:plc:...
//! ```
//! On a local network, `--hostname localhost --port 0 --allow-private-network` serves
//! `did:web:localhost%3A<port>` over plain http and prints `{"did": ..., "url": ...}`.

use std::sync::Arc;

use atmo::Agent;
use atmo::api::app_bsky::feed::post;
use atmo::service_auth::{Expect, Verifier};
use atmo::syntax::Nsid;
use atmo_examples::NetArgs;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clap::Parser;
use futures_util::TryStreamExt as _;
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Parser)]
#[command(about = "Serve a feed skeleton behind service-auth verification")]
struct Args {
    /// The host name the service is reached at (its did:web).
    #[arg(long, default_value = "localhost")]
    hostname: String,
    /// The port to listen on (0: any free one).
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// The DID of the account that publishes the feed record (default: the service's).
    #[arg(long)]
    publisher: Option<String>,
    /// The AppView the agent would ask for views (this feed reads only from PDSes).
    #[arg(long, default_value = "https://public.api.bsky.app")]
    appview: String,
    #[command(flatten)]
    net: NetArgs,
}

struct App {
    did: String,
    lxm: Nsid,
    feed_uri: String,
    verifier: Verifier,
    agent: Agent,
}

const SKELETON: &str = "app.bsky.feed.getFeedSkeleton";

fn xrpc_error(status: StatusCode, error: &str, message: impl std::fmt::Display) -> Response {
    (
        status,
        Json(json!({"error": error, "message": message.to_string()})),
    )
        .into_response()
}

async fn did_document(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let scheme = if host.starts_with("localhost") {
        "http"
    } else {
        "https"
    };
    Json(json!({
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": app.did,
        "service": [{
            "id": "#bsky_fg",
            "type": "BskyFeedGenerator",
            "serviceEndpoint": format!("{scheme}://{host}"),
        }],
    }))
    .into_response()
}

async fn describe(State(app): State<Arc<App>>) -> Response {
    Json(json!({"did": app.did, "feeds": [{"uri": app.feed_uri}]})).into_response()
}

#[derive(Debug, Deserialize)]
struct SkeletonParams {
    feed: String,
    limit: Option<usize>,
    cursor: Option<String>,
}

async fn skeleton(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(params): Query<SkeletonParams>,
) -> Response {
    let Some(token) = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
    else {
        return xrpc_error(
            StatusCode::UNAUTHORIZED,
            "AuthMissing",
            "a service-auth token is required",
        );
    };
    let expect = Expect::new(app.did.clone()).lxm(app.lxm.clone());
    let claims = match app.verifier.verify(token, &expect).await {
        Ok(c) => c,
        Err(e) => return xrpc_error(StatusCode::UNAUTHORIZED, "BadJwt", e),
    };
    if params.feed != app.feed_uri {
        return xrpc_error(
            StatusCode::BAD_REQUEST,
            "UnknownFeed",
            format!("no feed {}", params.feed),
        );
    }
    let requester = match claims.issuer_did() {
        Ok(d) => d,
        Err(e) => return xrpc_error(StatusCode::UNAUTHORIZED, "BadJwt", e),
    };
    let posts: Result<Vec<_>, _> = app
        .agent
        .list_public_records::<post::Record>(&requester)
        .try_collect()
        .await;
    let mut uris: Vec<String> = match posts {
        Ok(p) => p.into_iter().map(|s| s.uri.as_str().to_owned()).collect(),
        Err(e) => return xrpc_error(StatusCode::BAD_GATEWAY, "UpstreamFailure", e),
    };
    // TID keys sort by time: newest first, then page by the last key seen.
    uris.sort_by(|a, b| b.rsplit('/').next().cmp(&a.rsplit('/').next()));
    if let Some(cursor) = &params.cursor {
        uris.retain(|u| u.rsplit('/').next().is_some_and(|k| k < cursor.as_str()));
    }
    let limit = params.limit.unwrap_or(50).clamp(1, 100);
    let page: Vec<String> = uris.into_iter().take(limit).collect();
    let cursor = (page.len() == limit)
        .then(|| {
            page.last()
                .and_then(|u| u.rsplit('/').next())
                .map(str::to_owned)
        })
        .flatten();
    let feed: Vec<_> = page.iter().map(|u| json!({"post": u})).collect();
    let mut out = json!({"feed": feed});
    if let Some(c) = cursor {
        out["cursor"] = json!(c);
    }
    Json(out).into_response()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    let port = listener.local_addr()?.port();
    let did = if args.hostname == "localhost" {
        format!("did:web:localhost%3A{port}")
    } else {
        format!("did:web:{}", args.hostname)
    };
    let publisher = args.publisher.clone().unwrap_or_else(|| did.clone());
    let resolver = args.net.resolver()?;
    let client = atmo::xrpc::Client::builder(&args.appview)
        .http(resolver.http().clone())
        .build()?;
    let app = Arc::new(App {
        lxm: Nsid::new(SKELETON)?,
        feed_uri: format!("at://{publisher}/app.bsky.feed.generator/mine"),
        verifier: Verifier::new(resolver.clone()),
        agent: Agent::new(client).with_resolver(resolver),
        did: did.clone(),
    });
    let router = axum::Router::new()
        .route("/.well-known/did.json", get(did_document))
        .route("/xrpc/app.bsky.feed.describeFeedGenerator", get(describe))
        .route("/xrpc/app.bsky.feed.getFeedSkeleton", get(skeleton))
        .with_state(app);
    let url = if args.hostname == "localhost" {
        format!("http://localhost:{port}")
    } else {
        format!("https://{}", args.hostname)
    };
    println!("{}", json!({"did": did, "url": url}));
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
