//! Uses one record type so the dependency is really compiled and linked.
pub use atmo_api::app_bsky::feed::post::Record as Post;
