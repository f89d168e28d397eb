//! One module per top-level subcommand.

pub(crate) mod data;
pub(crate) mod key;
pub(crate) mod repo;
pub(crate) mod syntax;
pub(crate) mod tid;
