//! Helpers shared by the integration tests (and, by path, the benchmark).
#![allow(unreachable_pub)]

pub mod frames;
