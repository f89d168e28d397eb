//! Statusphere, the atproto tutorial app, in Rust on atmo.
//!
//! Sign in with OAuth (atmo-oauth; sessions kept in SQLite), read your profile record
//! from your PDS, set your status (an emoji, as an `xyz.statusphere.status` record whose
//! Rust type is generated from the app's lexicon), and see everyone's statuses,
//! ingested from the firehose (atmo-firehose, fully verified) into SQLite.
//!
//! Run it with `cargo run -p statusphere` (see [`config::Config`] for the settings), or
//! with `scripts/statusphere` against a local reference network.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod app;
pub mod config;
pub mod cookie;
pub mod db;
pub mod error;
pub mod handles;
pub mod ingester;
pub mod lexicon;
pub mod pages;
pub mod web;

pub use error::{Error, Result};
