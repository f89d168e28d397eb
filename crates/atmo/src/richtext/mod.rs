//! Rich text: the text of a post with its facets (mentions, links, hashtags).
//!
//! An `app.bsky.feed.post` carries plain text plus `facets`, each a UTF-8 **byte** range
//! of the text with one or more features (`#mention` with a DID, `#link` with a URI,
//! `#tag`). This module:
//!
//! - finds facets in typed text with the same rules as the official `RichText` of
//!   `@atproto/api` ([`detect_facets`]), then resolves the mentioned handles to DIDs
//!   ([`resolve_mentions`], or `RichText::detect` with the `identity` feature);
//! - builds text with explicit facets, computing the byte offsets ([`RichTextBuilder`]);
//! - measures text against the post limits ([`RichText::grapheme_len`],
//!   [`MAX_POST_GRAPHEMES`]);
//! - splits text by facets for rendering, safely for facets from untrusted records
//!   ([`RichText::segments`]);
//! - edits text while keeping facets on their words ([`RichText::insert`],
//!   [`RichText::delete`]).
//!
//! ```
//! use atmo::richtext::{detect_facets, resolve_mentions, RichText};
//! use atmo::syntax::Did;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let text = "hello @alice.test, see atproto.com #atproto";
//! // Detection is pure; resolution asks a lookup of your choice (here a fixed table;
//! // with the `identity` feature, `RichText::detect` uses an `atmo::identity::Resolver`).
//! let alice = Did::new("did:plc:ewvi7nxzyoun6zhxrhs64oiz")?;
//! let facets = resolve_mentions(detect_facets(text), |handle| {
//!     let did = (handle.as_str() == "alice.test").then(|| alice.clone());
//!     async move { did }
//! })
//! .await;
//! let rt = RichText::from_parts(text, facets);
//! assert_eq!(rt.facets().len(), 3);
//!
//! let rendered: Vec<String> = rt
//!     .segments()
//!     .map(|s| match (s.mention(), s.link(), s.tag()) {
//!         (Some(m), _, _) => format!("[{}]({})", s.text, m.did),
//!         (_, Some(l), _) => format!("[{}]({})", s.text, l.uri),
//!         (_, _, Some(t)) => format!("[{}](tag:{})", s.text, t.tag),
//!         _ => s.text.to_owned(),
//!     })
//!     .collect();
//! assert_eq!(
//!     rendered.concat(),
//!     "hello [@alice.test](did:plc:ewvi7nxzyoun6zhxrhs64oiz), see \
//!      [atproto.com](https://atproto.com) [#atproto](tag:atproto)"
//! );
//!
//! // Or write the facets yourself:
//! let rt = RichText::builder().text("hi ").mention("@alice.test", alice).text("!").build();
//! assert_eq!(rt.facets()[0].index.byte_start, 3);
//! assert_eq!(rt.grapheme_len(), 15);
//! # Ok(())
//! # }
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(demo()).map_err(|e| e.to_string())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Faithfulness to the official detection
//!
//! Detection matches `RichText.detectFacets` of `@atproto/api` 0.21.0 byte for byte,
//! including its quirks (a scheme-less domain must be lower case ASCII without hyphens
//! and end in a known top-level domain; `HTTPS://` in capitals is not a link; a text
//! starting with `http` is kept without a scheme; cashtags such as `$AAPL` become tags).
//! A differential test in the workspace (`tests/tests/richtext.rs`) checks this against
//! the official package on thousands of texts. The differences are in what happens after
//! detection:
//!
//! - A mention whose handle does not resolve is **dropped**. The official code keeps it
//!   with `did: ""`, which is not a valid DID, so such a record fails validation.
//! - A link's URI is turned into the lexicon `uri` format: characters outside visible
//!   ASCII (IDN hosts, non-ASCII paths) are percent-encoded as UTF-8; a link that still
//!   does not make a valid URI is dropped.

// Text and facets come from users and untrusted records: nothing here may panic.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod builder;
mod detect;
mod edit;
mod segments;
#[rustfmt::skip]
mod tables;

use std::collections::HashMap;
use std::future::Future;

use atmo_api::app_bsky::richtext::facet::{
    ByteSlice, Facet, FacetFeaturesItem, Link, Mention, Tag,
};
use atmo_syntax::{Did, Handle, Uri};
use unicode_segmentation::UnicodeSegmentation;

pub use builder::RichTextBuilder;
pub use detect::{Detected, DetectedFacet, MAX_CASHTAG_LEN, MAX_TAG_GRAPHEMES, detect_facets};
pub use edit::EditError;
pub use segments::{Segment, Segments};

/// The most graphemes the text of an `app.bsky.feed.post` may have.
pub const MAX_POST_GRAPHEMES: usize = 300;

/// The most UTF-8 bytes the text of an `app.bsky.feed.post` may have.
pub const MAX_POST_BYTES: usize = 3000;

/// Text with its facets, as stored in a post (`text` + `facets`).
///
/// Facets are kept as given; the methods that read them ([`segments`](Self::segments))
/// skip those that are empty, out of range, off `char` boundaries or overlapping an
/// earlier one, so a value made from an untrusted record never panics.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RichText {
    text: String,
    facets: Vec<Facet>,
}

impl RichText {
    /// Plain text with no facets.
    pub fn new(text: impl Into<String>) -> Self {
        RichText {
            text: text.into(),
            facets: Vec::new(),
        }
    }

    /// Text with the facets it already has (from a record, or made elsewhere).
    pub fn from_parts(text: impl Into<String>, facets: Vec<Facet>) -> Self {
        RichText {
            text: text.into(),
            facets,
        }
    }

    /// A builder that writes text piece by piece with explicit facets.
    pub fn builder() -> RichTextBuilder {
        RichTextBuilder::new()
    }

    /// Detects the facets of `text` and resolves its mentions with `resolver` (handles
    /// that do not resolve lose their mention; see the [module docs](self)).
    ///
    /// With the `identity` feature.
    ///
    /// ```no_run
    /// use atmo::identity::{Resolver, ResolverConfig};
    /// use atmo::richtext::RichText;
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let resolver = Resolver::new(ResolverConfig::default())?;
    /// let rt = RichText::detect("hi @atproto.com!", &resolver).await;
    /// assert!(rt.facets()[0].index.byte_start == 3);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "identity")]
    pub async fn detect(text: impl Into<String>, resolver: &atmo_identity::Resolver) -> Self {
        let text = text.into();
        let facets = resolve_mentions_with(detect_facets(&text), resolver).await;
        RichText { text, facets }
    }

    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The facets, as given or detected.
    pub fn facets(&self) -> &[Facet] {
        &self.facets
    }

    /// The text and the facets, for a record.
    pub fn into_parts(self) -> (String, Vec<Facet>) {
        (self.text, self.facets)
    }

    /// Length in UTF-8 bytes (the unit of facet offsets and of [`MAX_POST_BYTES`]).
    pub fn byte_len(&self) -> usize {
        self.text.len()
    }

    /// Length in extended grapheme clusters, what a reader sees as characters (the
    /// unit of [`MAX_POST_GRAPHEMES`]).
    pub fn grapheme_len(&self) -> usize {
        self.text.graphemes(true).count()
    }

    /// Whether the text fits a post: at most [`MAX_POST_GRAPHEMES`] graphemes and
    /// [`MAX_POST_BYTES`] bytes.
    pub fn fits_post(&self) -> bool {
        self.byte_len() <= MAX_POST_BYTES && self.grapheme_len() <= MAX_POST_GRAPHEMES
    }

    /// The text in order, cut into pieces that are either plain or covered by exactly
    /// one facet. Empty text yields nothing.
    ///
    /// Facets that are empty, out of range, not on `char` boundaries, or that start
    /// inside an earlier facet are ignored (their text comes out plain); a facet over
    /// only whitespace comes out plain, as in the official renderer.
    ///
    /// ```
    /// use atmo::api::app_bsky::richtext::facet::{ByteSlice, Facet, Tag};
    /// use atmo::richtext::RichText;
    ///
    /// let tag = |s: i64, e: i64| Facet::new(ByteSlice::new(s, e), vec![Tag::new("x").into()]);
    /// // "é" is two bytes: 1..2 is not a char boundary; 9..99 is past the end.
    /// let rt = RichText::from_parts("é #x #y", vec![tag(1, 2), tag(3, 5), tag(9, 99)]);
    /// let pieces: Vec<(&str, bool)> = rt.segments().map(|s| (s.text, s.facet.is_some())).collect();
    /// assert_eq!(pieces, vec![("é ", false), ("#x", true), (" #y", false)]);
    /// ```
    pub fn segments(&self) -> Segments<'_> {
        Segments::new(&self.text, &self.facets)
    }
}

/// Turns detected spans into lexicon facets, resolving each distinct mentioned handle
/// once with `resolve` (all lookups run concurrently).
///
/// A mention is dropped when its handle is not a valid handle or `resolve` gives `None`;
/// a link is dropped when its URI cannot be made a valid lexicon `uri` (see the
/// [module docs](self)).
pub async fn resolve_mentions<F, Fut>(detected: Vec<DetectedFacet>, mut resolve: F) -> Vec<Facet>
where
    F: FnMut(Handle) -> Fut,
    Fut: Future<Output = Option<Did>>,
{
    let mut handles: Vec<Handle> = Vec::new();
    for d in &detected {
        if let Detected::Mention { handle } = &d.kind
            && let Ok(h) = Handle::new(handle)
            && !handles.contains(&h)
        {
            handles.push(h);
        }
    }
    let lookups = handles
        .iter()
        .map(|h| resolve(h.clone()))
        .collect::<Vec<_>>();
    let dids = futures_util::future::join_all(lookups).await;
    let resolved: HashMap<&str, Did> = handles
        .iter()
        .zip(dids)
        .filter_map(|(h, did)| Some((h.as_str(), did?)))
        .collect();
    detected
        .into_iter()
        .filter_map(|d| {
            let feature: FacetFeaturesItem = match d.kind {
                Detected::Mention { handle } => {
                    let h = Handle::new(&handle).ok()?;
                    Mention::new(resolved.get(h.as_str())?.clone()).into()
                }
                Detected::Link { uri } => Link::new(lexicon_uri(&uri)?).into(),
                Detected::Tag { tag } => Tag::new(tag).into(),
            };
            Some(facet(d.range.start, d.range.end, vec![feature]))
        })
        .collect()
}

/// [`resolve_mentions`] with an [`atmo_identity::Resolver`] (handle to DID by DNS or
/// HTTPS, with its cache). With the `identity` feature.
#[cfg(feature = "identity")]
pub async fn resolve_mentions_with(
    detected: Vec<DetectedFacet>,
    resolver: &atmo_identity::Resolver,
) -> Vec<Facet> {
    resolve_mentions(detected, |handle| async move {
        resolver.resolve_handle(&handle).await.ok()
    })
    .await
}

/// A facet with `features` over the bytes `start..end`.
fn facet(start: usize, end: usize, features: Vec<FacetFeaturesItem>) -> Facet {
    let to_i64 = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    Facet::new(ByteSlice::new(to_i64(start), to_i64(end)), features)
}

/// `uri` as a lexicon `uri`: bytes outside visible ASCII are percent-encoded.
fn lexicon_uri(uri: &str) -> Option<Uri> {
    use std::fmt::Write;
    let mut out = String::with_capacity(uri.len());
    for b in uri.bytes() {
        if (0x21..=0x7e).contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    Uri::new(&out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn did(s: &str) -> Did {
        Did::new(s).expect("test DID")
    }

    async fn resolve_fixed(text: &str) -> Vec<Facet> {
        resolve_mentions(detect_facets(text), |h| {
            let found = (h.as_str() == "alice.test").then(|| did("did:plc:alice"));
            async move { found }
        })
        .await
    }

    fn block_on<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    #[test]
    fn unresolved_mentions_are_dropped_and_resolved_ones_kept() {
        let facets = block_on(resolve_fixed("@alice.test @bob.test @alice.test"));
        assert_eq!(facets.len(), 2);
        assert_eq!(
            (facets[0].index.byte_start, facets[0].index.byte_end),
            (0, 11)
        );
        assert_eq!(
            (facets[1].index.byte_start, facets[1].index.byte_end),
            (22, 33)
        );
        for f in &facets {
            assert!(
                matches!(&f.features[0], FacetFeaturesItem::Mention(m) if m.did.as_str() == "did:plc:alice")
            );
        }
    }

    #[test]
    fn idn_links_are_percent_encoded() {
        let facets = block_on(resolve_fixed("https://bücher.de/ü"));
        let FacetFeaturesItem::Link(link) = &facets[0].features[0] else {
            panic!("expected a link, got {facets:?}");
        };
        assert_eq!(link.uri.as_str(), "https://b%C3%BCcher.de/%C3%BC");
        assert_eq!(facets[0].index.byte_end, 21);
    }

    #[test]
    fn lengths_and_limits() {
        let rt = RichText::new("👨‍👩‍👧 e\u{301}");
        assert_eq!(rt.grapheme_len(), 3);
        assert_eq!(rt.byte_len(), 18 + 1 + 3);
        assert!(rt.fits_post());
        assert!(!RichText::new("a".repeat(MAX_POST_GRAPHEMES + 1)).fits_post());
        assert!(RichText::new("a".repeat(MAX_POST_GRAPHEMES)).fits_post());
        assert!(!RichText::new("é".repeat(1501)).fits_post());
    }

    #[test]
    fn segments_survive_hostile_facets() {
        let tag = |s: i64, e: i64| Facet::new(ByteSlice::new(s, e), vec![Tag::new("t").into()]);
        let text = "ab😀cd";
        let facets = vec![
            tag(-5, 2),
            tag(3, 4),
            tag(1, 3),
            tag(2, 6),
            tag(4, 9),
            tag(6, 6),
            tag(7, 3),
            tag(0, i64::MAX),
            tag(i64::MIN, i64::MAX),
        ];
        let rt = RichText::from_parts(text, facets);
        let pieces: Vec<(&str, bool)> =
            rt.segments().map(|s| (s.text, s.facet.is_some())).collect();
        assert_eq!(pieces, vec![("ab", false), ("😀", true), ("cd", false)]);
        assert_eq!(pieces.iter().map(|p| p.0).collect::<String>(), text);
    }

    #[test]
    fn whitespace_facets_render_plain_and_empty_text_has_no_segments() {
        let tag = |s: i64, e: i64| Facet::new(ByteSlice::new(s, e), vec![Tag::new("t").into()]);
        let rt = RichText::from_parts("a  b", vec![tag(1, 3)]);
        let pieces: Vec<(&str, bool)> =
            rt.segments().map(|s| (s.text, s.facet.is_some())).collect();
        assert_eq!(pieces, vec![("a", false), ("  ", false), ("b", false)]);
        assert_eq!(RichText::new("").segments().count(), 0);
    }
}
