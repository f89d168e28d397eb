//! Editing rich text while keeping its facets on the same words.

use std::ops::Range;

use super::RichText;

/// Why an edit of a [`RichText`] was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// The byte offset is past the end of the text.
    #[error("byte offset {at} is past the end of the text ({len} bytes)")]
    OutOfRange {
        /// The offending offset.
        at: usize,
        /// The text's length in bytes.
        len: usize,
    },
    /// The byte offset falls inside a UTF-8 character.
    #[error("byte offset {at} is inside a character")]
    NotCharBoundary {
        /// The offending offset.
        at: usize,
    },
    /// The range ends before it starts.
    #[error("range {start}..{end} ends before it starts")]
    Backwards {
        /// Start of the range.
        start: usize,
        /// End of the range.
        end: usize,
    },
}

fn check(text: &str, at: usize) -> Result<(), EditError> {
    if at > text.len() {
        Err(EditError::OutOfRange {
            at,
            len: text.len(),
        })
    } else if !text.is_char_boundary(at) {
        Err(EditError::NotCharBoundary { at })
    } else {
        Ok(())
    }
}

/// Applies `f` to a facet offset that fits a `usize`; others are left as they are.
fn map_offset(v: &mut i64, f: impl Fn(usize) -> usize) {
    if let Ok(x) = usize::try_from(*v) {
        *v = i64::try_from(f(x)).unwrap_or(i64::MAX);
    }
}

impl RichText {
    /// Inserts `text` at byte offset `at`. Facets after `at` move with their text; a
    /// facet that `at` falls strictly inside grows to cover the insertion; a facet
    /// ending at `at` does not (as the official `RichText.insert`).
    ///
    /// ```
    /// use atmo::richtext::RichText;
    ///
    /// let mut rt = RichText::builder().text("see ").tag("rust").build();
    /// rt.insert(0, "please ")?;
    /// assert_eq!(rt.text(), "please see #rust");
    /// assert_eq!(rt.facets()[0].index.byte_start, 11);
    /// # Ok::<(), atmo::richtext::EditError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When `at` is past the end or inside a character; nothing is changed then.
    pub fn insert(&mut self, at: usize, text: &str) -> Result<(), EditError> {
        check(&self.text, at)?;
        self.text.insert_str(at, text);
        let n = text.len();
        for f in &mut self.facets {
            map_offset(&mut f.index.byte_start, |x| {
                if at <= x { x.saturating_add(n) } else { x }
            });
            map_offset(&mut f.index.byte_end, |x| {
                if at < x { x.saturating_add(n) } else { x }
            });
        }
        Ok(())
    }

    /// Deletes the bytes `range` of the text. Facets after it move back; facets that
    /// overlap it shrink to what is left of them; facets left empty are removed (as the
    /// official `RichText.delete`).
    ///
    /// ```
    /// use atmo::richtext::RichText;
    ///
    /// let mut rt = RichText::builder().text("so ").tag("rustlang").text(" ok").build();
    /// rt.delete(7..12)?;
    /// assert_eq!(rt.text(), "so #rus ok");
    /// assert_eq!((rt.facets()[0].index.byte_start, rt.facets()[0].index.byte_end), (3, 7));
    /// rt.delete(0..7)?;
    /// assert!(rt.facets().is_empty());
    /// # Ok::<(), atmo::richtext::EditError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When the range is backwards, past the end, or cuts a character; nothing is
    /// changed then.
    pub fn delete(&mut self, range: Range<usize>) -> Result<(), EditError> {
        let Range { start, end } = range;
        check(&self.text, start)?;
        check(&self.text, end)?;
        if end < start {
            return Err(EditError::Backwards { start, end });
        }
        self.text.replace_range(start..end, "");
        let n = end - start;
        let map = |x: usize| {
            if x <= start {
                x
            } else if x >= end {
                x - n
            } else {
                start
            }
        };
        for f in &mut self.facets {
            map_offset(&mut f.index.byte_start, map);
            map_offset(&mut f.index.byte_end, map);
        }
        self.facets
            .retain(|f| f.index.byte_start != f.index.byte_end);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atmo_api::app_bsky::richtext::facet::{ByteSlice, Facet, Tag};

    fn rt(text: &str, ranges: &[(i64, i64)]) -> RichText {
        let facets = ranges
            .iter()
            .map(|&(s, e)| Facet::new(ByteSlice::new(s, e), vec![Tag::new("t").into()]))
            .collect();
        RichText::from_parts(text, facets)
    }

    fn ranges(rt: &RichText) -> Vec<(i64, i64)> {
        rt.facets()
            .iter()
            .map(|f| (f.index.byte_start, f.index.byte_end))
            .collect()
    }

    #[test]
    fn insert_before_inside_at_end_and_after() {
        let mut r = rt("0123456789", &[(2, 5)]);
        r.insert(2, "ab").expect("insert");
        assert_eq!(ranges(&r), vec![(4, 7)]);
        r.insert(5, "cd").expect("insert");
        assert_eq!(ranges(&r), vec![(4, 9)]);
        r.insert(9, "ef").expect("insert");
        assert_eq!(ranges(&r), vec![(4, 9)]);
        assert_eq!(r.text(), "01ab2cd34ef56789");
    }

    #[test]
    fn delete_covers_every_overlap() {
        // Text "0123456789", facet 3..7, for each removed range: what is left.
        let cases = [
            (0..2, Some((1, 5))), // entirely before
            (8..9, Some((3, 7))), // entirely after
            (7..9, Some((3, 7))), // touching the end
            (2..5, Some((2, 4))), // partly before
            (5..9, Some((3, 5))), // partly after
            (4..6, Some((3, 5))), // inside
            (2..8, None),         // covering
            (3..7, None),         // exactly
        ];
        for (range, left) in cases {
            let mut r = rt("0123456789", &[(3, 7)]);
            r.delete(range.clone()).expect("delete");
            assert_eq!(
                ranges(&r),
                left.into_iter().collect::<Vec<_>>(),
                "delete {range:?}"
            );
        }
    }

    #[test]
    fn bad_offsets_are_refused_and_change_nothing() {
        let mut r = rt("é!", &[(0, 2), (-1, 99)]);
        assert_eq!(r.insert(1, "x"), Err(EditError::NotCharBoundary { at: 1 }));
        assert_eq!(
            r.insert(4, "x"),
            Err(EditError::OutOfRange { at: 4, len: 3 })
        );
        let backwards = Range { start: 2, end: 0 };
        assert_eq!(
            r.delete(backwards),
            Err(EditError::Backwards { start: 2, end: 0 })
        );
        assert_eq!(r.delete(0..1), Err(EditError::NotCharBoundary { at: 1 }));
        assert_eq!(r.text(), "é!");
        // Hostile facets survive edits without panics.
        r.insert(0, "a").expect("insert");
        r.delete(0..4).expect("delete");
        assert_eq!(r.text(), "");
    }
}
