//! Helpers shared by the workspace integration tests.

pub mod oauth_flow;
pub mod oracle;
pub mod refnet;
pub mod support;

/// The Rust examples of the README, compiled (and run, where they need no network) as doc
/// tests of this crate.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeExamples;
