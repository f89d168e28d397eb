//! Fuzz `atmo::richtext`: detection and segmenting never panic, on any text and any
//! facets (as an untrusted record may carry). Invariants: detected ranges are sorted,
//! non-empty, on char boundaries and cover what they claim (`@handle`, `#tag`/`$TICKER`);
//! segments always give the text back in order, and each faceted segment is exactly its
//! facet's range.
#![no_main]

use atmo::api::app_bsky::richtext::facet::{ByteSlice, Facet, Tag};
use atmo::richtext::{Detected, RichText, detect_facets};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Layout: a count byte, then that many (start, end) pairs of i16, then the text.
    let (count, rest) = data
        .split_first()
        .map_or((0, data), |(c, r)| (*c as usize % 8, r));
    let (pairs, text) = rest.split_at(rest.len().min(count * 4));
    let text = String::from_utf8_lossy(text);

    let found = detect_facets(&text);
    let mut last_start = 0;
    for f in &found {
        let r = f.range.clone();
        assert!(r.start >= last_start, "sorted by start");
        last_start = r.start;
        assert!(r.start < r.end && r.end <= text.len());
        let covered = text.get(r).expect("detected ranges are on char boundaries");
        match &f.kind {
            Detected::Mention { handle } => {
                assert_eq!(covered.strip_prefix('@'), Some(handle.as_str()))
            }
            Detected::Tag { tag } => {
                let body = covered.strip_prefix(['#', '＃']).map(str::to_owned);
                let cash = covered
                    .strip_prefix('$')
                    .map(|t| format!("${}", t.to_ascii_uppercase()));
                assert!(
                    body.as_deref() == Some(tag.as_str()) || cash.as_deref() == Some(tag.as_str())
                );
            }
            Detected::Link { uri } => assert!(!uri.is_empty()),
            _ => {}
        }
    }

    // Detected (non-mention) facets plus arbitrary ones, as an untrusted record might have.
    let mut facets: Vec<Facet> = found
        .iter()
        .filter(|f| !matches!(f.kind, Detected::Mention { .. }))
        .map(|f| {
            Facet::new(
                ByteSlice::new(f.range.start as i64, f.range.end as i64),
                vec![Tag::new("t").into()],
            )
        })
        .collect();
    for p in pairs.chunks_exact(4) {
        let start = i64::from(i16::from_le_bytes([p[0], p[1]]));
        let end = i64::from(i16::from_le_bytes([p[2], p[3]]));
        let widen = |v: i64| {
            if v == i64::from(i16::MIN) {
                i64::MIN
            } else if v == i64::from(i16::MAX) {
                i64::MAX
            } else {
                v
            }
        };
        facets.push(Facet::new(
            ByteSlice::new(widen(start), widen(end)),
            vec![Tag::new("x").into()],
        ));
    }
    let rt = RichText::from_parts(text.as_ref(), facets);
    let mut rebuilt = String::new();
    for s in rt.segments() {
        if let Some(f) = s.facet {
            let (a, b) = (f.index.byte_start as usize, f.index.byte_end as usize);
            assert_eq!(
                &text[a..b],
                s.text,
                "a faceted segment is its facet's range"
            );
            assert!(s.tag().is_some());
        }
        assert!(!s.text.is_empty());
        rebuilt.push_str(s.text);
    }
    assert_eq!(rebuilt, text.as_ref(), "segments give the text back");
    let _ = (rt.grapheme_len(), rt.byte_len(), rt.fits_post());
});
