//! Facets for a post's text.

use atmo_api::app_bsky::richtext::facet::Facet;

use super::Agent;
use crate::error::Result;

impl Agent {
    /// The facets of `text` as the official app detects them (mentions, links, tags),
    /// with their UTF-8 byte ranges; mentions are resolved to DIDs through the agent's
    /// resolver, and a handle that does not resolve is left as plain text.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Identity`] when the default resolver cannot be built.
    pub async fn detect_facets(&self, text: &str) -> Result<Vec<Facet>> {
        let detected = crate::richtext::detect_facets(text);
        if detected.is_empty() {
            return Ok(Vec::new());
        }
        Ok(crate::richtext::resolve_mentions_with(detected, self.resolver()?).await)
    }
}
