//! The pages, rendered on the server with maud (escaped by construction).

use maud::{DOCTYPE, Markup, html};

use crate::lexicon::STATUS_OPTIONS;

/// One line of the timeline.
#[derive(Debug, Clone)]
pub struct TimelineEntry {
    /// The author's handle (or DID when it has none).
    pub handle: String,
    /// The emoji.
    pub status: String,
    /// The record's date, `YYYY-MM-DD`.
    pub date: String,
}

/// The signed-in user's profile, from their `app.bsky.actor.profile` record.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// The DID.
    pub did: String,
    /// The handle.
    pub handle: String,
    /// `displayName`, if set.
    pub display_name: Option<String>,
    /// `description`, if set.
    pub description: Option<String>,
}

/// What the home page shows.
#[derive(Debug, Clone, Default)]
pub struct Home {
    /// The signed-in user, if any.
    pub profile: Option<Profile>,
    /// The user's current status.
    pub my_status: Option<String>,
    /// The latest statuses, newest first.
    pub timeline: Vec<TimelineEntry>,
}

fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href="/public/styles.css";
            }
            body {
                div #root {
                    div #header {
                        h1 { a href="/" { "Statusphere" } }
                        p { "Set your status on the Atmosphere." }
                    }
                    div .container { (body) }
                }
            }
        }
    }
}

/// The home page: session card, profile, emoji picker and timeline.
pub fn home(h: &Home) -> Markup {
    layout(
        "Home",
        html! {
            div .card {
                @if let Some(p) = &h.profile {
                    form .session-form action="/logout" method="post" {
                        div {
                            "Hi, " strong #greeting { (p.display_name.as_deref().unwrap_or("friend")) }
                            ". What's your status today?"
                        }
                        div { button type="submit" #logout { "Log out" } }
                    }
                } @else {
                    div .session-form {
                        div { a href="/login" { "Log in" } " to set your status!" }
                        div { a .button href="/login" #login-link { "Log in" } }
                    }
                }
            }
            @if let Some(p) = &h.profile {
                div .card #profile {
                    h2 { "Your profile" }
                    dl {
                        dt { "Name" } dd #profile-name { (p.display_name.as_deref().unwrap_or("(no display name)")) }
                        dt { "Handle" } dd #profile-handle { "@" (p.handle) }
                        dt { "DID" } dd #profile-did { code { (p.did) } }
                        @if let Some(d) = &p.description {
                            dt { "About" } dd { (d) }
                        }
                    }
                }
            }
            form .status-options action="/status" method="post" {
                @for s in STATUS_OPTIONS {
                    @let selected = h.my_status.as_deref() == Some(*s);
                    button .status-option .selected[selected] name="status" value=(s)
                        disabled[h.profile.is_none()] { (s) }
                }
            }
            div #timeline {
                @for (i, e) in h.timeline.iter().enumerate() {
                    div .status-line .no-line[i == 0] {
                        div { div .status { (e.status) } }
                        div .desc {
                            span .author { "@" (e.handle) }
                            " is feeling " (e.status) " on " (e.date)
                        }
                    }
                }
                @if h.timeline.is_empty() {
                    p .empty { "No statuses yet. Be the first!" }
                }
            }
        },
    )
}

/// The sign-in form, with an error from a previous attempt.
pub fn login(error: Option<&str>, handle: &str) -> Markup {
    layout(
        "Log in",
        html! {
            form .login-form action="/login" method="post" {
                input type="text" name="handle" placeholder="Enter your handle (eg alice.bsky.social)"
                    value=(handle) required autofocus;
                button type="submit" { "Log in" }
                @if let Some(e) = error {
                    p .error .visible #error { (e) }
                }
            }
            div .signup-cta {
                "Don't have an account on the Atmosphere? "
                "Create one on any PDS, then come back."
            }
        },
    )
}

/// A page for an error the user can act on.
pub fn error(title: &str, message: &str) -> Markup {
    layout(
        title,
        html! {
            div .card .error-card {
                h2 #error-title { (title) }
                p #error { (message) }
                p { a href="/" { "Back to Statusphere" } " · " a href="/login" { "Log in" } }
            }
        },
    )
}

/// The stylesheet.
pub const STYLES: &str = include_str!("../static/styles.css");
