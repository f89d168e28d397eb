//! Which events and records a consumer wants, decided before records are decoded.

use std::collections::HashSet;

use atmo_syntax::Did;

/// Filters by DID and by collection. Empty lists keep everything.
///
/// ```
/// use atmo_firehose::Filter;
/// let f = Filter::default().collection("app.bsky.feed.*").collection("app.bsky.graph.follow");
/// assert!(f.wants_path("app.bsky.feed.post/3k2a"));
/// assert!(f.wants_path("app.bsky.graph.follow/3k2a"));
/// assert!(!f.wants_path("app.bsky.graph.block/3k2a"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    collections: Vec<String>,
    dids: HashSet<Did>,
}

impl Filter {
    /// Keeps records of this collection: an NSID, or a prefix ending in `.*`
    /// (`app.bsky.feed.*`).
    #[must_use]
    pub fn collection(mut self, nsid: impl Into<String>) -> Self {
        self.collections.push(nsid.into());
        self
    }

    /// Keeps events of this account.
    #[must_use]
    pub fn did(mut self, did: Did) -> Self {
        self.dids.insert(did);
        self
    }

    /// Whether events of `did` are wanted.
    pub fn wants_did(&self, did: &Did) -> bool {
        self.dids.is_empty() || self.dids.contains(did)
    }

    /// Whether collections are filtered at all.
    pub fn filters_collections(&self) -> bool {
        !self.collections.is_empty()
    }

    /// Whether the record at `path` (`collection/rkey`) is wanted.
    pub fn wants_path(&self, path: &str) -> bool {
        let collection = path.split_once('/').map_or(path, |(c, _)| c);
        self.wants_collection(collection)
    }

    /// Whether records of `collection` are wanted.
    pub fn wants_collection(&self, collection: &str) -> bool {
        self.collections.is_empty()
            || self.collections.iter().any(|want| {
                match want.strip_suffix('*') {
                    // "app.bsky.feed.*" keeps "app.bsky.feed.post" and deeper names.
                    Some(prefix) => collection.starts_with(prefix),
                    None => want == collection,
                }
            })
    }
}
