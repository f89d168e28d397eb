//! The network resolvers (feature `resolve-http`, DNS TXT with `resolve-dns`).

mod cache;
mod http;
mod resolver;

pub use cache::CacheStats;
pub use resolver::{MAX_WELL_KNOWN_REDIRECTS, ResolvedIdentity, Resolver, ResolverConfig};
