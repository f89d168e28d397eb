//! Splitting text by its facets, for rendering.

use atmo_api::app_bsky::richtext::facet::{Facet, FacetFeaturesItem, Link, Mention, Tag};

/// A piece of text with the facet that covers it, if any (see [`RichText::segments`]).
///
/// [`RichText::segments`]: super::RichText::segments
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment<'a> {
    /// The text of the piece.
    pub text: &'a str,
    /// The facet over exactly this piece, or `None` for plain text.
    pub facet: Option<&'a Facet>,
}

impl<'a> Segment<'a> {
    /// The first link feature of the facet, if any.
    pub fn link(&self) -> Option<&'a Link> {
        self.features().find_map(|f| match f {
            FacetFeaturesItem::Link(l) => Some(&**l),
            _ => None,
        })
    }

    /// The first mention feature of the facet, if any.
    pub fn mention(&self) -> Option<&'a Mention> {
        self.features().find_map(|f| match f {
            FacetFeaturesItem::Mention(m) => Some(&**m),
            _ => None,
        })
    }

    /// The first tag feature of the facet, if any.
    pub fn tag(&self) -> Option<&'a Tag> {
        self.features().find_map(|f| match f {
            FacetFeaturesItem::Tag(t) => Some(&**t),
            _ => None,
        })
    }

    fn features(&self) -> impl Iterator<Item = &'a FacetFeaturesItem> {
        self.facet.into_iter().flat_map(|f| f.features.iter())
    }
}

/// The byte range of `facet` in `text`, if it is usable: non-empty, within the text and
/// on `char` boundaries.
pub(crate) fn usable_range(text: &str, facet: &Facet) -> Option<(usize, usize)> {
    let start = usize::try_from(facet.index.byte_start).ok()?;
    let end = usize::try_from(facet.index.byte_end).ok()?;
    (start < end && end <= text.len() && text.is_char_boundary(start) && text.is_char_boundary(end))
        .then_some((start, end))
}

/// Iterator over the [`Segment`]s of a text (see [`RichText::segments`]).
///
/// [`RichText::segments`]: super::RichText::segments
#[derive(Debug, Clone)]
pub struct Segments<'a> {
    text: &'a str,
    /// Usable facets, sorted by start (stable).
    facets: Vec<(usize, usize, &'a Facet)>,
    next_facet: usize,
    cursor: usize,
}

impl<'a> Segments<'a> {
    pub(crate) fn new(text: &'a str, facets: &'a [Facet]) -> Self {
        let mut usable: Vec<_> = facets
            .iter()
            .filter_map(|f| usable_range(text, f).map(|(s, e)| (s, e, f)))
            .collect();
        usable.sort_by_key(|&(s, _, _)| s);
        Segments {
            text,
            facets: usable,
            next_facet: 0,
            cursor: 0,
        }
    }
}

impl<'a> Iterator for Segments<'a> {
    type Item = Segment<'a>;

    fn next(&mut self) -> Option<Segment<'a>> {
        // Facets that start inside text already emitted overlap an earlier one: skipped.
        while let Some(&(start, end, facet)) = self.facets.get(self.next_facet) {
            if start < self.cursor {
                self.next_facet += 1;
                continue;
            }
            if self.cursor < start {
                let text = self.text.get(self.cursor..start)?;
                self.cursor = start;
                return Some(Segment { text, facet: None });
            }
            self.next_facet += 1;
            self.cursor = end;
            let text = self.text.get(start..end)?;
            // As the official renderer does: a facet over only whitespace is plain text.
            let facet = (!text.trim().is_empty()).then_some(facet);
            return Some(Segment { text, facet });
        }
        if self.cursor < self.text.len() {
            let text = self.text.get(self.cursor..)?;
            self.cursor = self.text.len();
            return Some(Segment { text, facet: None });
        }
        None
    }
}
