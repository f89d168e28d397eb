//! Facet detection: the rules of the official `detectFacets`, over UTF-8 byte offsets.
//!
//! The official code runs four global regular expressions over the UTF-16 text, one pass
//! each (mentions, links, hashtags, cashtags), and converts the offsets to UTF-8. Each
//! pass here is a hand-written scanner with the same leftmost-first semantics: a pass
//! looks for the next match from where the previous one ended (also when that match was
//! then discarded), so the same substrings are found, skipped and kept.

use std::ops::Range;

use unicode_segmentation::UnicodeSegmentation;

use super::tables::{PUNCTUATION, TLDS};

/// The most graphemes a detected hashtag may have (without its `#`); longer tags are not
/// detected, as in the official detection.
pub const MAX_TAG_GRAPHEMES: usize = 64;

/// The longest ticker of a cashtag (`$` + a letter + up to 4 letters or digits).
pub const MAX_CASHTAG_LEN: usize = 5;

/// What a detected span of text is, before any network lookup.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Detected {
    /// `@handle`: the handle as written (without `@`, case kept); it still has to be
    /// resolved to a DID (see [`resolve_mentions`](super::resolve_mentions)).
    Mention {
        /// The handle text after the `@`.
        handle: String,
    },
    /// A link; `uri` is the URL as written, with `https://` added when the text had no
    /// scheme, and one trailing punctuation mark and an unbalanced `)` left out.
    Link {
        /// The link target.
        uri: String,
    },
    /// A hashtag (`#tag` or `＃tag`, `tag` without the sign and without trailing
    /// punctuation) or a cashtag (`$AAPL`, kept as `$` + the ticker in upper case).
    Tag {
        /// The tag as it goes into the facet.
        tag: String,
    },
}

/// A span of text that detection recognised, with byte offsets into the UTF-8 text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DetectedFacet {
    /// Byte range of the span (`byteStart..byteEnd`); always on `char` boundaries.
    pub range: Range<usize>,
    /// What the span is.
    pub kind: Detected,
}

/// Finds mentions, links, hashtags and cashtags in `text`, exactly as the official
/// `RichText.detectFacets` of `@atproto/api` 0.21 does, ordered by start offset (spans
/// with the same start keep the order mentions, links, tags, cashtags).
///
/// Mentions are left unresolved: turn them into DIDs with
/// [`resolve_mentions`](super::resolve_mentions).
///
/// ```
/// use atmo::richtext::{detect_facets, Detected};
///
/// let found = detect_facets("hi @alice.bsky.social, see example.com! #rust");
/// assert_eq!(found.len(), 3);
/// assert_eq!(found[0].range, 3..21);
/// assert_eq!(found[0].kind, Detected::Mention { handle: "alice.bsky.social".into() });
/// assert_eq!(found[1].kind, Detected::Link { uri: "https://example.com".into() });
/// assert_eq!(found[2].kind, Detected::Tag { tag: "rust".into() });
/// ```
pub fn detect_facets(text: &str) -> Vec<DetectedFacet> {
    let mut out = Vec::new();
    mentions(text, &mut out);
    links(text, &mut out);
    hashtags(text, &mut out);
    cashtags(text, &mut out);
    // Stable: equal starts keep the pass order, as the official (stable) sort does.
    out.sort_by_key(|f| f.range.start);
    out
}

/// `\s` of ECMAScript regular expressions: WhiteSpace (including every `Zs` and U+FEFF)
/// and LineTerminator.
fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{B}' | '\u{C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

/// A line terminator, where `^` matches in a multi-line regular expression.
fn is_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// Unicode general category `P` (any punctuation).
pub(crate) fn is_punctuation(c: char) -> bool {
    PUNCTUATION
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Whether `domain` ends in `.` + a known top-level domain (compared exactly, so
/// `EXAMPLE.COM` does not count, as in the official code).
fn has_known_tld(domain: &str) -> bool {
    match domain.rsplit_once('.') {
        Some((_, tld)) => TLDS.binary_search(&tld).is_ok(),
        None => false,
    }
}

fn char_at(text: &str, at: usize) -> Option<char> {
    text.get(at..).and_then(|s| s.chars().next())
}

fn char_before(text: &str, at: usize) -> Option<char> {
    text.get(..at).and_then(|s| s.chars().next_back())
}

/// The byte offset after the char at `at` (or `text.len()` at the end).
fn next_boundary(text: &str, at: usize) -> usize {
    char_at(text, at).map_or(text.len(), |c| at + c.len_utf8())
}

/// End of the run of chars from `at` that satisfy `pred`.
fn run_end(text: &str, at: usize, pred: impl Fn(char) -> bool) -> usize {
    let rest = text.get(at..).unwrap_or("");
    at + rest.find(|c| !pred(c)).unwrap_or(rest.len())
}

/// Where a prefixed token starts when the scan is at `p`: the token may start at `p`
/// itself when `at_start` holds there, or just after a single prefix char (`\s`, or `(`
/// when `paren` is set). Yields the candidates in the regex's alternation order.
fn token_starts(text: &str, p: usize, at_start: bool, paren: bool) -> [Option<usize>; 2] {
    let first = at_start.then_some(p);
    let second = char_at(text, p)
        .filter(|&c| is_js_space(c) || (paren && c == '('))
        .map(|c| p + c.len_utf8());
    [first, second]
}

fn is_handle_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == '-'
}

/// A "word" char of a non-Unicode regular expression's `\b`.
fn is_word(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The handle after `@` at `at`: the longest run of handle chars that ends on a word
/// boundary, as the regex's backtracking finds it.
fn handle_at(text: &str, at: usize) -> Option<usize> {
    let end = run_end(text, at, is_handle_char);
    // Every char of the run is one ASCII byte, so each byte offset is a boundary.
    (at + 1..=end)
        .rev()
        .find(|&e| is_word(char_before(text, e)) != is_word(char_at(text, e)))
}

fn mentions(text: &str, out: &mut Vec<DetectedFacet>) {
    let mut p = 0;
    while p < text.len() {
        let mut found = None;
        for start in token_starts(text, p, p == 0, true).into_iter().flatten() {
            if char_at(text, start) != Some('@') {
                continue;
            }
            if let Some(end) = handle_at(text, start + 1) {
                found = Some((start, end));
                break;
            }
        }
        let Some((at, end)) = found else {
            p = next_boundary(text, p);
            continue;
        };
        p = end;
        let handle = text.get(at + 1..end).unwrap_or("");
        if has_known_tld(handle) || handle.ends_with(".test") {
            out.push(DetectedFacet {
                range: at..end,
                kind: Detected::Mention {
                    handle: handle.to_owned(),
                },
            });
        }
    }
}

/// `[a-z][a-z0-9]*(\.[a-z0-9]+)+`, case-insensitively: the end of the domain at `at`.
fn domain_at(text: &str, at: usize) -> Option<usize> {
    if !char_at(text, at)?.is_ascii_alphabetic() {
        return None;
    }
    let mut end = run_end(text, at, |c| c.is_ascii_alphanumeric());
    let mut labels = 0;
    while char_at(text, end) == Some('.') {
        let label_end = run_end(text, end + 1, |c| c.is_ascii_alphanumeric());
        if label_end == end + 1 {
            break;
        }
        end = label_end;
        labels += 1;
    }
    (labels > 0).then_some(end)
}

/// `https?://` + at least one non-space char, case-insensitively.
fn has_scheme_at(text: &str, at: usize) -> bool {
    let Some(rest) = text.get(at..) else {
        return false;
    };
    let bytes = rest.as_bytes();
    if bytes.len() < 4
        || !bytes
            .get(..4)
            .is_some_and(|b| b.eq_ignore_ascii_case(b"http"))
    {
        return false;
    }
    let after = if bytes.get(4).is_some_and(|b| b.eq_ignore_ascii_case(&b's'))
        && bytes.get(5..8) == Some(b"://".as_slice())
    {
        8
    } else if bytes.get(4..7) == Some(b"://".as_slice()) {
        7
    } else {
        return false;
    };
    char_at(text, at + after).is_some_and(|c| !is_js_space(c))
}

/// A URL candidate at `at`: the end of the whole non-space run, and the domain when the
/// text has no `http(s)://` scheme.
enum UrlMatch {
    Scheme,
    Domain(usize),
}

fn url_at(text: &str, at: usize) -> Option<UrlMatch> {
    if has_scheme_at(text, at) {
        Some(UrlMatch::Scheme)
    } else {
        domain_at(text, at).map(UrlMatch::Domain)
    }
}

fn links(text: &str, out: &mut Vec<DetectedFacet>) {
    let mut p = 0;
    while p < text.len() {
        let line_start = p == 0 || char_before(text, p).is_some_and(is_line_terminator);
        let mut found = None;
        for start in token_starts(text, p, line_start, true)
            .into_iter()
            .flatten()
        {
            if let Some(m) = url_at(text, start) {
                found = Some((start, m));
                break;
            }
        }
        let Some((start, m)) = found else {
            p = next_boundary(text, p);
            continue;
        };
        let end = run_end(text, start, |c| !is_js_space(c));
        p = end;
        let written = text.get(start..end).unwrap_or("");
        let mut uri = if written.starts_with("http") {
            written.to_owned()
        } else {
            match m {
                UrlMatch::Domain(d_end) if has_known_tld(text.get(start..d_end).unwrap_or("")) => {
                    format!("https://{written}")
                }
                _ => continue,
            }
        };
        let mut end = end;
        if uri.ends_with(['.', ',', ';', ':', '!', '?']) {
            uri.pop();
            end -= 1;
        }
        if uri.ends_with(')') && !uri.contains('(') {
            uri.pop();
            end -= 1;
        }
        out.push(DetectedFacet {
            range: start..end,
            kind: Detected::Link { uri },
        });
    }
}

/// Chars that end a hashtag besides whitespace: soft hyphen, word joiner, hair space,
/// zero-width space, non-joiner and joiner, and the enclosing keycap.
fn is_tag_breaker(c: char) -> bool {
    is_js_space(c)
        || matches!(
            c,
            '\u{AD}' | '\u{2060}' | '\u{200A}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{20E2}'
        )
}

fn hashtags(text: &str, out: &mut Vec<DetectedFacet>) {
    let mut p = 0;
    while p < text.len() {
        let mut found = None;
        for start in token_starts(text, p, p == 0, false).into_iter().flatten() {
            if let Some(sign @ ('#' | '＃')) = char_at(text, start) {
                found = Some((start, start + sign.len_utf8()));
                break;
            }
        }
        let Some((hash, body)) = found else {
            p = next_boundary(text, p);
            continue;
        };
        // The body: the whole run of non-breaking chars, if it does not start with the
        // emoji variation selector and holds a char that is not a digit or punctuation.
        let run = if char_at(text, body) == Some('\u{FE0F}') {
            None
        } else {
            let end = run_end(text, body, |c| !is_tag_breaker(c));
            let body_text = text.get(body..end).unwrap_or("");
            body_text
                .chars()
                .any(|c| !c.is_ascii_digit() && !is_punctuation(c))
                .then_some((end, body_text))
        };
        let Some((end, body_text)) = run else {
            p = body;
            continue;
        };
        p = end;
        let tag = body_text.trim_end_matches(is_punctuation);
        if tag.is_empty() || tag.graphemes(true).nth(MAX_TAG_GRAPHEMES).is_some() {
            continue;
        }
        out.push(DetectedFacet {
            range: hash..body + tag.len(),
            kind: Detected::Tag {
                tag: tag.to_owned(),
            },
        });
    }
}

fn cashtags(text: &str, out: &mut Vec<DetectedFacet>) {
    let mut p = 0;
    while p < text.len() {
        let mut found = None;
        for start in token_starts(text, p, p == 0, true).into_iter().flatten() {
            if char_at(text, start) != Some('$')
                || !char_at(text, start + 1).is_some_and(|c| c.is_ascii_alphabetic())
            {
                continue;
            }
            let end = run_end(text, start + 1, |c| c.is_ascii_alphanumeric());
            let followed_ok = char_at(text, end).is_none_or(|c| {
                is_js_space(c)
                    || matches!(
                        c,
                        '.' | ',' | ';' | ':' | '!' | '?' | ')' | '"' | '\'' | '\u{2019}'
                    )
            });
            if end - (start + 1) <= MAX_CASHTAG_LEN && followed_ok {
                found = Some((start, end));
                break;
            }
        }
        let Some((dollar, end)) = found else {
            p = next_boundary(text, p);
            continue;
        };
        p = end;
        let ticker = text.get(dollar + 1..end).unwrap_or("");
        out.push(DetectedFacet {
            range: dollar..end,
            kind: Detected::Tag {
                tag: format!("${}", ticker.to_ascii_uppercase()),
            },
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(Range<usize>, Detected)> {
        detect_facets(text)
            .into_iter()
            .map(|f| (f.range, f.kind))
            .collect()
    }
    fn mention(h: &str) -> Detected {
        Detected::Mention { handle: h.into() }
    }
    fn link(u: &str) -> Detected {
        Detected::Link { uri: u.into() }
    }
    fn tag(t: &str) -> Detected {
        Detected::Tag { tag: t.into() }
    }

    #[test]
    fn tables_are_sorted_for_binary_search() {
        assert!(TLDS.windows(2).all(|w| w[0] < w[1]));
        assert!(PUNCTUATION.windows(2).all(|w| w[0].1 < w[1].0));
        assert!(is_punctuation('!') && is_punctuation('#') && is_punctuation('、'));
        assert!(!is_punctuation('a') && !is_punctuation('$') && !is_punctuation('+'));
        assert!(has_known_tld("example.com") && !has_known_tld("a.test"));
        assert!(!has_known_tld("EXAMPLE.COM") && !has_known_tld("com"));
    }

    #[test]
    fn mentions_need_a_boundary_and_a_known_tld() {
        assert_eq!(found("@alice.test"), vec![(0..11, mention("alice.test"))]);
        assert_eq!(
            found("(@bob.bsky.social) x"),
            vec![(1..17, mention("bob.bsky.social"))]
        );
        assert_eq!(found("a@alice.test"), vec![]);
        assert_eq!(found("@alice.nope"), vec![]);
        assert_eq!(found("@alice_x.com"), vec![]);
        // Trailing dot and hyphen are left out: the handle must end on a word boundary.
        assert_eq!(found("hi @al.com."), vec![(3..10, mention("al.com"))]);
        assert_eq!(found("@a.com- x"), vec![(0..6, mention("a.com"))]);
    }

    #[test]
    fn links_with_and_without_scheme() {
        assert_eq!(
            found("see https://example.com/a?b=c."),
            vec![(4..29, link("https://example.com/a?b=c"))]
        );
        assert_eq!(
            found("example.com"),
            vec![(0..11, link("https://example.com"))]
        );
        assert_eq!(
            found("(example.com)"),
            vec![(1..12, link("https://example.com"))]
        );
        assert_eq!(
            found("en.wikipedia.org/wiki/Foo_(bar)"),
            vec![(0..31, link("https://en.wikipedia.org/wiki/Foo_(bar)"))]
        );
        assert_eq!(found("example.notatld"), vec![]);
        assert_eq!(found("EXAMPLE.COM"), vec![]);
        assert_eq!(found("HTTPS://example.com"), vec![]);
        assert_eq!(found("my-site.com"), vec![]);
        // Starts with "http", so kept as written (as the official code does).
        assert_eq!(found("httpbin.org"), vec![(0..11, link("httpbin.org"))]);
        assert_eq!(
            found("x\nexample.com"),
            vec![(2..13, link("https://example.com"))]
        );
        assert_eq!(
            found("x.example.com"),
            vec![(0..13, link("https://x.example.com"))]
        );
    }

    #[test]
    fn hashtags_and_cashtags() {
        assert_eq!(found("#rust"), vec![(0..5, tag("rust"))]);
        assert_eq!(found("a ＃日本語!"), vec![(2..14, tag("日本語"))]);
        assert_eq!(found("#123"), vec![]);
        assert_eq!(found("#1a"), vec![(0..3, tag("1a"))]);
        assert_eq!(found("a#b"), vec![]);
        assert_eq!(found("#\u{FE0F}x"), vec![]);
        assert_eq!(found("#a\u{200D}b"), vec![(0..2, tag("a"))]);
        let long = "a".repeat(64);
        assert_eq!(found(&format!("#{long}")), vec![(0..65, tag(&long))]);
        assert_eq!(found(&format!("#{long}b")), vec![]);
        assert_eq!(found("buy $aapl."), vec![(4..9, tag("$AAPL"))]);
        assert_eq!(found("$ABCDEF"), vec![]);
        assert_eq!(found("$1A"), vec![]);
    }

    #[test]
    fn results_are_ordered_by_start() {
        let text = "#one @alice.test example.com $X";
        let starts: Vec<usize> = detect_facets(text).iter().map(|f| f.range.start).collect();
        assert_eq!(starts, vec![0, 5, 17, 29]);
    }
}
