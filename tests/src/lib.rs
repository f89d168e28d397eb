//! Helpers shared by the workspace integration tests.

pub mod refnet;
pub mod support;
