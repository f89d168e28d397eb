//! Writing rich text piece by piece with explicit facets.

use atmo_api::app_bsky::richtext::facet::{Facet, FacetFeaturesItem, Link, Mention, Tag};
use atmo_syntax::{Did, Uri};

use super::{RichText, facet};

/// Writes text piece by piece; each facet method appends its text and a facet over
/// exactly that text, with the byte offsets computed.
///
/// ```
/// use atmo::richtext::RichText;
/// use atmo::syntax::{Did, Uri};
///
/// let rt = RichText::builder()
///     .text("héllo ")
///     .mention("@alice.test", Did::new("did:plc:ewvi7nxzyoun6zhxrhs64oiz")?)
///     .text(", read ")
///     .link("the docs", Uri::new("https://atproto.com")?)
///     .text(" ")
///     .tag("atproto")
///     .build();
/// assert_eq!(rt.text(), "héllo @alice.test, read the docs #atproto");
/// let ranges: Vec<(i64, i64)> =
///     rt.facets().iter().map(|f| (f.index.byte_start, f.index.byte_end)).collect();
/// assert_eq!(ranges, vec![(7, 18), (25, 33), (34, 42)]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct RichTextBuilder {
    text: String,
    facets: Vec<Facet>,
}

impl RichTextBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends plain text.
    pub fn text(mut self, text: &str) -> Self {
        self.text.push_str(text);
        self
    }

    /// Appends `text` (usually `@handle`) as a mention of `did`.
    pub fn mention(self, text: &str, did: Did) -> Self {
        self.facet(text, vec![Mention::new(did).into()])
    }

    /// Appends `text` as a link to `uri`.
    pub fn link(self, text: &str, uri: Uri) -> Self {
        self.facet(text, vec![Link::new(uri).into()])
    }

    /// Appends `#tag` as a hashtag; a leading `#` or `＃` in `tag` is not doubled.
    ///
    /// The lexicon allows at most 64 graphemes and 640 bytes in a tag; this method does
    /// not check.
    pub fn tag(self, tag: &str) -> Self {
        let tag = tag
            .strip_prefix('#')
            .or_else(|| tag.strip_prefix('＃'))
            .unwrap_or(tag);
        let shown = format!("#{tag}");
        self.facet(&shown, vec![Tag::new(tag).into()])
    }

    /// Appends `text` with a facet of the given features over it (nothing is added
    /// for empty `text`, a facet must not be empty).
    pub fn facet(mut self, text: &str, features: Vec<FacetFeaturesItem>) -> Self {
        let start = self.text.len();
        self.text.push_str(text);
        if !text.is_empty() {
            self.facets.push(facet(start, self.text.len(), features));
        }
        self
    }

    /// The text and facets written so far.
    pub fn build(self) -> RichText {
        RichText::from_parts(self.text, self.facets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_utf8_bytes_and_round_trip_through_segments() {
        let did = Did::new("did:plc:alice").expect("did");
        let rt = RichTextBuilder::new()
            .text("日本 ")
            .mention("@alice.test", did)
            .text(" ")
            .tag("＃東京")
            .facet("", vec![Tag::new("empty").into()])
            .build();
        assert_eq!(rt.text(), "日本 @alice.test #東京");
        let pieces: Vec<(&str, bool)> =
            rt.segments().map(|s| (s.text, s.facet.is_some())).collect();
        assert_eq!(
            pieces,
            vec![
                ("日本 ", false),
                ("@alice.test", true),
                (" ", false),
                ("#東京", true)
            ]
        );
        assert_eq!(rt.facets().len(), 2);
        assert_eq!(rt.facets()[1].index.byte_start, 19);
    }
}
