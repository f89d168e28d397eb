//! Uses one record type so the dependency is really compiled and linked.
pub use atrium_api::app::bsky::feed::post::Record as Post;
