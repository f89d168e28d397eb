//! The network resolvers (feature `resolve-http`, DNS TXT with `resolve-dns`).

mod cache;
mod config;
mod dids;
mod handles;
mod http;
mod plc;
mod resolver;

pub use cache::CacheStats;
pub use config::{ResolvedIdentity, ResolverConfig};
pub use handles::MAX_WELL_KNOWN_REDIRECTS;
pub use resolver::Resolver;
