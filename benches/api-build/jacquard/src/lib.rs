//! Uses one record type so the dependency is really compiled and linked.
pub use jacquard_api::app_bsky::feed::post::Post;
