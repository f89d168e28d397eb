//! The HTTP side: routes, the session cookie, and error pages.

use std::collections::HashMap;
use std::sync::Arc;

use atmo::api::com_atproto::repo::get_record;
use atmo::api::records::{Records, Swap};
use atmo::oauth::{AuthorizeOptions, OAuthClient, OAuthErrorCode, OAuthSession};
use atmo::syntax::{
    AtIdentifier, Datetime, Did, Handle, LenientDatetime, Nsid, RecordKey, TidClock,
};
use atmo::xrpc::CallError;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use futures_util::future::join_all;
use maud::Markup;
use serde::Deserialize;

use crate::cookie::{self, CookieKey};
use crate::db::{Db, StatusRow};
use crate::error::{Error, Result};
use crate::handles::Handles;
use crate::lexicon::{Validator, status};
use crate::pages::{self, Home, Profile, TimelineEntry};

/// How many statuses the home page lists.
const TIMELINE_LEN: u32 = 10;

/// Everything a request handler needs.
#[derive(Debug)]
pub struct AppState {
    /// The database.
    pub db: Arc<Db>,
    /// The OAuth client (sessions in the database).
    pub oauth: OAuthClient,
    /// The lexicon validator.
    pub validator: Arc<Validator>,
    /// DID -> handle.
    pub handles: Handles,
    /// Signs the session cookie.
    pub key: CookieKey,
    /// Mark cookies `Secure` (the app is served over https).
    pub secure_cookies: bool,
    /// Record keys for new statuses.
    pub tids: TidClock,
}

type Shared = State<Arc<AppState>>;

/// The app's routes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/oauth/callback", get(callback))
        .route("/logout", post(logout))
        .route("/status", post(set_status))
        .route("/client-metadata.json", get(client_metadata))
        .route("/public/styles.css", get(styles))
        .fallback(not_found)
        .with_state(state)
}

fn html(status: StatusCode, m: Markup) -> Response {
    (status, Html(m.into_string())).into_response()
}

/// The DID in a valid session cookie.
fn cookie_did(jar: &CookieJar, key: &CookieKey) -> Option<Did> {
    let c = jar.get(cookie::NAME)?;
    Did::new(key.verify(c.value())?).ok()
}

fn removal() -> Cookie<'static> {
    Cookie::build((cookie::NAME, "")).path("/").build()
}

/// The signed-in user's OAuth session, restored from the database; a cookie whose
/// session is gone (signed out elsewhere, revoked) is dropped.
fn session(st: &AppState, jar: CookieJar) -> (CookieJar, Option<OAuthSession>) {
    let Some(did) = cookie_did(&jar, &st.key) else {
        return match jar.get(cookie::NAME) {
            Some(_) => (jar.remove(removal()), None),
            None => (jar, None),
        };
    };
    match st.oauth.restore(&did) {
        Ok(s) => (jar, Some(s)),
        Err(e) => {
            tracing::info!(%did, error = %e, "no session for the cookie");
            (jar.remove(removal()), None)
        }
    }
}

async fn home(State(st): Shared, jar: CookieJar) -> Response {
    let (jar, session) = session(&st, jar);
    match render_home(&st, session.as_ref()).await {
        Ok(m) => (jar, Html(m.into_string())).into_response(),
        Err(e) => (jar, e).into_response(),
    }
}

async fn render_home(st: &AppState, session: Option<&OAuthSession>) -> Result<Markup> {
    let mut page = Home::default();
    if let Some(s) = session {
        page.profile = Some(profile(st, s).await);
        page.my_status = st.db.latest_of(s.did().as_str())?.map(|r| r.status);
    }
    let rows = st.db.latest(TIMELINE_LEN)?;
    // One lookup per author, all at once (each is cached by the resolver).
    let mut dids: Vec<&str> = rows.iter().map(|r| r.author_did.as_str()).collect();
    dids.sort_unstable();
    dids.dedup();
    let handles = join_all(dids.iter().map(|d| st.handles.display(d))).await;
    let handle_of: HashMap<&str, String> = dids.into_iter().zip(handles).collect();
    for row in &rows {
        page.timeline.push(TimelineEntry {
            handle: handle_of
                .get(row.author_did.as_str())
                .cloned()
                .unwrap_or_else(|| row.author_did.clone()),
            date: row.created_at.chars().take(10).collect(),
            status: row.status.clone(),
        });
    }
    Ok(pages::home(&page))
}

/// The user's `app.bsky.actor.profile/self` record, read from their PDS.
async fn profile(st: &AppState, s: &OAuthSession) -> Profile {
    let did = s.did().clone();
    let mut p = Profile {
        did: did.to_string(),
        handle: st.handles.display(did.as_str()).await,
        ..Profile::default()
    };
    let (Ok(nsid), Ok(rkey)) = (Nsid::new("app.bsky.actor.profile"), RecordKey::new("self")) else {
        return p;
    };
    let client = match s.xrpc_client() {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "no XRPC client for the session");
            return p;
        }
    };
    let params = get_record::Params::new(AtIdentifier::from(did), nsid, rkey);
    match client.call(&params).await {
        Ok(out) => {
            let text = |k: &str| {
                out.value
                    .get(k)
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
                    .filter(|s| !s.is_empty())
            };
            p.display_name = text("displayName");
            p.description = text("description");
        }
        Err(CallError::Endpoint {
            error: get_record::Error::RecordNotFound,
            ..
        }) => {}
        Err(e) => tracing::warn!(error = %e, "profile not read"),
    }
    p
}

async fn login_page() -> Response {
    html(StatusCode::OK, pages::login(None, ""))
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    handle: String,
}

async fn login(State(st): Shared, form: Result<Form<LoginForm>, FormRejection>) -> Response {
    let input = match form {
        Ok(Form(f)) => f.handle.trim().trim_start_matches('@').to_owned(),
        Err(e) => {
            return Error::BadForm {
                reason: e.body_text(),
            }
            .into_response();
        }
    };
    let valid = Handle::new(&input).is_ok()
        || Did::new(&input).is_ok()
        || input.starts_with("https://")
        || input.starts_with("http://");
    if !valid {
        return Error::BadHandle { input }.into_response();
    }
    match st
        .oauth
        .authorize(&input, AuthorizeOptions::default())
        .await
    {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(source) => {
            tracing::info!(%input, error = %source, "sign-in could not start");
            Error::SignIn { input, source }.into_response()
        }
    }
}

async fn callback(State(st): Shared, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    let q = q.unwrap_or_default();
    match st.oauth.callback(&q).await {
        Ok((session, _)) => {
            let c = Cookie::build((cookie::NAME, st.key.sign(session.did().as_str())))
                .path("/")
                .http_only(true)
                .same_site(SameSite::Lax)
                .secure(st.secure_cookies)
                .build();
            tracing::info!(did = %session.did(), "signed in");
            (jar.add(c), Redirect::to("/")).into_response()
        }
        Err(atmo::oauth::Error::AuthorizationFailed { code, description }) => Error::Denied {
            code: code.to_string(),
            description,
        }
        .into_response(),
        Err(source) => {
            tracing::info!(error = %source, "callback refused");
            Error::Callback { source }.into_response()
        }
    }
}

async fn logout(State(st): Shared, jar: CookieJar) -> Response {
    let (jar, session) = session(&st, jar);
    if let Some(s) = session {
        // Revokes the tokens at the authorization server and forgets the session.
        if let Err(e) = s.sign_out().await {
            tracing::warn!(error = %e, "sign-out: revocation failed");
            if let Err(e) = st.oauth.session_store().delete(s.did()) {
                tracing::warn!(error = %e, "sign-out: session not deleted");
            }
        }
    }
    (jar.remove(removal()), Redirect::to("/")).into_response()
}

/// The emoji picker's form.
#[derive(Debug, Deserialize)]
struct StatusForm {
    #[serde(default)]
    status: String,
}

async fn set_status(
    State(st): Shared,
    jar: CookieJar,
    form: Result<Form<StatusForm>, FormRejection>,
) -> Response {
    let (jar, session) = session(&st, jar);
    let result = match (session, form) {
        (None, _) => Err(Error::NotSignedIn),
        (Some(_), Err(e)) => Err(Error::BadForm {
            reason: e.body_text(),
        }),
        (Some(s), Ok(Form(f))) => write_status(&st, &s, f.status).await,
    };
    match result {
        Ok(()) => (jar, Redirect::to("/")).into_response(),
        Err(e) => (jar, e).into_response(),
    }
}

/// Validates and writes the status record, then shows it at once (the firehose copy
/// of the same record later changes nothing).
async fn write_status(st: &AppState, s: &OAuthSession, emoji: String) -> Result<()> {
    let now = Datetime::now();
    let record = status::Record::new(emoji, LenientDatetime::from(now.clone()));
    st.validator.write(&record)?;
    let rkey = RecordKey::new(st.tids.next().as_str()).map_err(|e| Error::InvalidRecord {
        uri: "new".to_owned(),
        reason: e.to_string(),
    })?;
    let client = s
        .xrpc_client()
        .map_err(|source| Error::Session { source })?;
    let written = Records::new(&client, s.did().clone())
        .put(&rkey, &record, Swap::none())
        .await
        .map_err(|e| Error::Pds {
            call: "com.atproto.repo.putRecord",
            message: e.to_string(),
        })?;
    st.db.upsert_status(&StatusRow {
        uri: written.uri.to_string(),
        author_did: s.did().to_string(),
        status: record.status,
        created_at: now.as_str().to_owned(),
        indexed_at: now.as_str().to_owned(),
    })?;
    Ok(())
}

async fn client_metadata(State(st): Shared) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        st.oauth.metadata().to_json(),
    )
        .into_response()
}

async fn styles() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        pages::STYLES,
    )
        .into_response()
}

async fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        pages::error("Not found", "There is no page here."),
    )
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (code, title, message) = match &self {
            Self::BadHandle { input } => {
                let msg = format!(
                    "\"{input}\" is not a handle. Enter a handle such as alice.bsky.social."
                );
                return html(StatusCode::BAD_REQUEST, pages::login(Some(&msg), input));
            }
            Self::SignIn { input, source } => {
                let msg = match source {
                    atmo::oauth::Error::Identity(_) => format!(
                        "We could not find the account \"{input}\". Check the handle and \
                         try again. ({source})"
                    ),
                    _ => format!("We could not sign you in as \"{input}\": {source}."),
                };
                return html(StatusCode::BAD_REQUEST, pages::login(Some(&msg), input));
            }
            Self::Denied { code, description } => {
                if code == OAuthErrorCode::AccessDenied.as_str() {
                    (
                        StatusCode::BAD_REQUEST,
                        "Sign-in cancelled",
                        "You did not authorize Statusphere, so you are not signed in. \
                         Log in again whenever you like."
                            .to_owned(),
                    )
                } else {
                    (
                        StatusCode::BAD_REQUEST,
                        "Sign-in refused",
                        format!(
                            "Your server refused the sign-in ({code}{}).",
                            description
                                .as_deref()
                                .map(|d| format!(": {d}"))
                                .unwrap_or_default()
                        ),
                    )
                }
            }
            Self::Callback { .. } => (
                StatusCode::BAD_REQUEST,
                "Sign-in failed",
                "This sign-in link is not valid: it expired, was used already, or did not \
                 come from a sign-in started here. Please log in again."
                    .to_owned(),
            ),
            Self::NotSignedIn => (
                StatusCode::UNAUTHORIZED,
                "Not signed in",
                "Log in to set your status.".to_owned(),
            ),
            Self::UnknownStatus { status } => (
                StatusCode::BAD_REQUEST,
                "Unknown status",
                format!(
                    "\"{status}\" is not one of the statuses on offer: pick an emoji on the home page."
                ),
            ),
            Self::InvalidRecord { reason, .. } => (
                StatusCode::BAD_REQUEST,
                "Invalid status",
                format!("That status does not fit the xyz.statusphere.status lexicon: {reason}."),
            ),
            Self::BadForm { reason } => (
                StatusCode::BAD_REQUEST,
                "Bad form",
                format!("The form could not be read: {reason}."),
            ),
            Self::Pds { .. } | Self::Session { .. } => (
                StatusCode::BAD_GATEWAY,
                "Your server did not answer",
                format!("{self}. Try again, or log out and in again."),
            ),
            _ => {
                tracing::error!(error = %self, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Statusphere hit an internal error; it has been logged.".to_owned(),
                )
            }
        };
        html(code, pages::error(title, &message))
    }
}
