//! Differential test of `atmo::richtext::detect_facets` against the official
//! `RichText.detectFacetsWithoutResolution` of `@atproto/api` (pinned in
//! tests/richtext/package.json), run by Node from `tests/richtext/detect.mjs`.
//!
//! Every text of a hand-written corpus (emoji, ZWJ sequences, combining marks, CJK, RTL,
//! URLs with and without scheme, trailing punctuation, IDN, hashtags with digits and
//! fullwidth `＃`, cashtags, mentions at the text's edges) and of a seeded random corpus
//! built from the same pieces (and a third of character-level soup) must give identical
//! byte ranges and features.
//!
//! The npm package is installed on first use (`tests/richtext/install`). With
//! `ATMO_REFNET=0` (no network) and the package not yet installed, the test says
//! `skipped: ...` on stderr and passes; `ATMO_RICHTEXT_RANDOM=<n>` changes the number of
//! random texts (default 5000), `ATMO_RICHTEXT_SEED=<n>` the seed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use atmo::richtext::{Detected, detect_facets};
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Found {
    byte_start: usize,
    byte_end: usize,
    r#type: String,
    value: String,
}

fn ours(text: &str) -> Vec<Found> {
    detect_facets(text)
        .into_iter()
        .map(|f| {
            let (kind, value) = match f.kind {
                Detected::Mention { handle } => ("mention", handle),
                Detected::Link { uri } => ("link", uri),
                Detected::Tag { tag } => ("tag", tag),
                other => ("unknown", format!("{other:?}")),
            };
            Found {
                byte_start: f.range.start,
                byte_end: f.range.end,
                r#type: kind.to_owned(),
                value,
            }
        })
        .collect()
}

fn oracle_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("richtext")
}

/// The official detection's answers, one per text, or `None` when skipped.
fn official(texts: &[String]) -> Option<Vec<Vec<Found>>> {
    let dir = oracle_dir();
    let installed = dir.join("node_modules/.atmo-richtext-installed").exists();
    if !installed && std::env::var_os("ATMO_REFNET").is_some_and(|v| v == "0") {
        let _ = writeln!(
            std::io::stderr(),
            "skipped: ATMO_REFNET=0 and tests/richtext is not installed (run tests/richtext/install)"
        );
        return None;
    }
    let status = Command::new(dir.join("install"))
        .status()
        .expect("run tests/richtext/install");
    assert!(status.success(), "tests/richtext/install failed: {status}");

    let mut input = String::new();
    for t in texts {
        input.push_str(&serde_json::to_string(t).expect("encode text"));
        input.push('\n');
    }
    let mut child = Command::new("node")
        .arg("detect.mjs")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start node (is Node 20 or later on PATH?)");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("node output");
    writer
        .join()
        .expect("writer thread")
        .expect("write texts to node");
    assert!(
        output.status.success(),
        "detect.mjs failed: {}",
        output.status
    );
    let stdout = String::from_utf8(output.stdout).expect("utf-8 from node");
    let answers: Vec<Vec<Found>> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("facets JSON from detect.mjs"))
        .collect();
    assert_eq!(answers.len(), texts.len(), "one answer per text");
    Some(answers)
}

/// Texts chosen by hand, one rule or edge each.
fn handwritten() -> Vec<String> {
    let cases: &[&str] = &[
        "",
        "plain text",
        "@alice.test",
        "@alice.bsky.social hi",
        "hi @alice.bsky.social",
        "hi @alice.bsky.social.",
        "(@alice.test)",
        "a@alice.test",
        "@alice.test@bob.test",
        "@Alice.Bsky.Social",
        "@alice.bsky.SOCIAL",
        "@alice-.test",
        "@alice.test-",
        "@alice_x.test",
        "@-alice.test",
        "@.alice.test",
        "@alice..test",
        "@123.com",
        "@localhost",
        "@alice.xn--p1ai",
        "@alice.рф",
        "\n@alice.test\n",
        "\u{3000}@alice.test\u{3000}",
        "\u{A0}@alice.test",
        "\u{FEFF}@alice.test",
        "\u{200B}@alice.test",
        "😀@alice.test",
        "😀 @alice.test 😀",
        "example.com",
        "example.com.",
        "example.com...",
        "example.com!?",
        "example.com)",
        "(example.com)",
        "(example.com/a_(b))",
        "example.com/a_(b)",
        "example.com/a(b)).",
        "EXAMPLE.COM",
        "Example.com",
        "example.COM",
        "my-site.com",
        "sub.my-site.com",
        "x.example.com/path?q=1&r=2#frag",
        "1example.com",
        "example.notatld",
        "example.com:8080/x",
        "example.co.uk",
        "a.b",
        "a.b.c.de",
        "http://example.com",
        "https://example.com",
        "HTTPS://example.com",
        "Https://example.com",
        "http://",
        "http:// x",
        "http://.",
        "http://x.",
        "https://example.com/path.",
        "https://example.com/path,",
        "https://example.com/path;",
        "https://example.com/path:",
        "https://example.com/path!",
        "https://example.com/path?",
        "https://example.com/path)",
        "https://example.com/(path)",
        "https://example.com/path).",
        "https://example.com/path.)",
        "https://example.com/...",
        "https://example.com/a...b",
        "httpbin.org",
        "http.cat",
        "https.example",
        "ftp://example.com",
        "see https://bücher.de/straße ok",
        "bücher.de",
        "xn--bcher-kva.de",
        "münchen.de",
        "例え.jp",
        "https://例え.jp/パス",
        "https://ja.wikipedia.org/wiki/日本",
        "text\nexample.com\nmore",
        "text\rexample.com",
        "text\u{2028}example.com",
        "text\u{2029}example.com",
        "a,example.com",
        "\"example.com\"",
        "<example.com>",
        "example.com\u{200B}x",
        "#rust",
        "#rust!",
        "#rust!!!",
        "#rust...",
        "#rust's",
        "#rust?!x",
        "#123",
        "#123a",
        "#a123",
        "#1",
        "#1!",
        "#",
        "# ",
        "##",
        "##rust",
        "#rust#",
        "#rust#go",
        "a#rust",
        "(#rust)",
        "＃日本",
        "＃123",
        "＃ｒｕｓｔ",
        "#日本語のタグ",
        "#٣",
        "#١٢٣",
        "#עברית",
        "#العربية",
        "#😀",
        "#👨‍👩‍👧",
        "#a\u{200D}b",
        "#a\u{200B}b",
        "#a\u{AD}b",
        "#a\u{2060}b",
        "#a\u{20E2}b",
        "#\u{FE0F}",
        "#\u{FE0F}x",
        "#️⃣",
        "#x\u{FE0F}",
        "#e\u{301}",
        "#\u{301}",
        "#_",
        "#_a",
        "#-",
        "#a-b",
        "#café",
        "#café",
        "\u{3000}#tag",
        "\n#tag",
        "\u{A0}#tag",
        "tag #aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "tag #aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "tag #aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!!!",
        "#😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀",
        "#😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀",
        "#e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}e\u{301}",
        "$AAPL",
        "$aapl.",
        "buy $TSLA!",
        "($BTC)",
        "$ABCDE",
        "$ABCDEF",
        "$A1",
        "$1A",
        "$A_",
        "$A’",
        "$A\"",
        "$A'",
        "a$AAPL",
        "$AAPL$MSFT",
        "$",
        "$ $A",
        "🇺🇸 @alice.test #usa example.com",
        "👩🏽‍💻 codes at example.com #dev",
        "مرحبا @alice.test #مرحبا example.com",
        "שלום #שלום example.com",
        "中文 #中文 @alice.test example.com 中文",
        "한국어 #한국어",
        "e\u{301}\u{302}\u{303} #e\u{301} @alice.test",
        "\u{202E}#rtl example.com\u{202C}",
        "@alice.test,#tag,example.com",
        "@alice.test #tag example.com $AAPL",
        "#tag@alice.test",
        "example.com/#tag",
        "https://example.com/@alice.test",
        "mail me: alice@example.com",
        "@alice.test's post",
        "(@alice.test) (#tag) (example.com) ($AAPL)",
    ];
    let mut texts: Vec<String> = cases.iter().map(|s| (*s).to_owned()).collect();
    // Hashtags near the 64-grapheme limit, made of clusters that need the newer grapheme
    // rules: Devanagari conjuncts (GB9c), flags, Hangul jamo, emoji with modifiers.
    for unit in [
        "क्ष",
        "🇺🇸",
        "\u{1100}\u{1161}\u{11A8}",
        "👍🏽",
        "a\u{308}\u{301}",
        "ก่",
    ] {
        for n in [63, 64, 65] {
            texts.push(format!("#{}", unit.repeat(n)));
            texts.push(format!("x #{}! y", unit.repeat(n)));
        }
    }
    texts
}

/// A small deterministic generator (SplitMix64), so no random-number crate is needed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

const WORDS: &[&str] = &[
    "hello",
    "world",
    "a",
    "x1",
    "Rust",
    "atproto",
    "café",
    "e\u{301}",
    "naïve",
    "日本語",
    "中文",
    "한국어",
    "مرحبا",
    "שלום",
    "Привет",
    "ελλάδα",
    "😀",
    "👨‍👩‍👧‍👦",
    "👩🏽‍💻",
    "🇺🇸",
    "🏳️‍🌈",
    "❤️",
    "1️⃣",
    "123",
    "٣",
    "_",
    "-",
    "...",
    "…",
    "「引用」",
    "\u{202E}",
    "\u{200E}",
    "ﷺ",
];
const MENTIONS: &[&str] = &[
    "@alice.test",
    "@bob.bsky.social",
    "@Alice.Bsky.Social",
    "@x.com",
    "@a-b.c-d.com",
    "@alice",
    "@alice.notatld",
    "@123.org",
    "@a.test.",
    "@a.test-",
    "@a_b.test",
    "@",
    "@@a.test",
    "@xn--80ak6aa92e.com",
    "@a.рф",
];
const LINKS: &[&str] = &[
    "example.com",
    "Example.com",
    "EXAMPLE.COM",
    "example.co.uk",
    "sub.example.org/path",
    "example.com/a_(b)",
    "example.com/a?b=c&d=e#f",
    "my-site.com",
    "x.y",
    "a.b.c.dev",
    "http://example.com",
    "https://example.com/path",
    "HTTP://example.com",
    "https://",
    "https://bücher.de",
    "https://例え.jp/パス",
    "bücher.de",
    "xn--bcher-kva.de",
    "httpbin.org",
    "http.cat",
    "example.notatld",
    "localhost:3000",
    "127.0.0.1",
    "example.com:8080",
    "https://example.com/日本",
    "ftp://example.com",
];
const TAGS: &[&str] = &[
    "#rust",
    "#Rust2024",
    "#123",
    "#1a",
    "#a1",
    "#日本",
    "＃日本",
    "＃123",
    "#😀",
    "#👨‍👩‍👧",
    "#",
    "##",
    "#a#b",
    "#a_b",
    "#a-b",
    "#café",
    "#e\u{301}",
    "#\u{FE0F}",
    "#️⃣",
    "#x\u{200D}y",
    "#x\u{200B}y",
    "#٣",
    "#עברית",
    "#العربية",
    "#ｒｕｓｔ",
    "$AAPL",
    "$aapl",
    "$ABCDEF",
    "$1A",
    "$A1",
];
const TRAILERS: &[&str] = &[
    "", "", "", ".", ",", ";", ":", "!", "?", ")", "...", "!!", ".)", ").", "'", "’", "\"", "」",
    "。", "、", "…", "(", "/",
];
const SEPARATORS: &[&str] = &[
    " ", " ", " ", " ", "\n", "\r\n", "\t", "\u{A0}", "\u{3000}", "\u{2028}", "\u{200B}",
    "\u{FEFF}", "(", ")", "", ",", " (", ") ",
];

/// Fragments for character-level soup: the characters and substrings the rules look at.
const SOUP: &[&str] = &[
    "@", "#", "＃", "$", ".", "-", "_", "(", ")", "/", ":", "!", "?", ",", ";", "'", "\"", "’",
    " ", "\n", "\u{3000}", "\u{200B}", "\u{200D}", "\u{FE0F}", "\u{20E2}", "\u{AD}", "a", "Z", "x",
    "0", "9", "é", "e\u{301}", "😀", "日", "ع", "http", "https://", "HTTP", ".com", ".test",
    ".social", ".de", "xn--", "www.", "bsky", "abcdef", "AAPL",
];

/// A text of 1 to 40 fragments of [`SOUP`], with no structure at all.
fn soup_text(rng: &mut Rng) -> String {
    let n = 1 + rng.below(40);
    (0..n).map(|_| rng.pick(SOUP)).collect()
}

fn random_text(rng: &mut Rng) -> String {
    if rng.below(3) == 0 {
        return soup_text(rng);
    }
    let mut text = String::new();
    let pieces = 1 + rng.below(10);
    for i in 0..pieces {
        if i > 0 || rng.below(4) == 0 {
            text.push_str(rng.pick(SEPARATORS));
        }
        match rng.below(5) {
            0 | 1 => text.push_str(rng.pick(WORDS)),
            2 => text.push_str(rng.pick(MENTIONS)),
            3 => text.push_str(rng.pick(LINKS)),
            _ => text.push_str(rng.pick(TAGS)),
        }
        if rng.below(3) == 0 {
            text.push_str(rng.pick(TRAILERS));
        }
        if rng.below(8) == 0 {
            // Glue a second piece on without a separator.
            text.push_str(rng.pick(WORDS));
        }
    }
    text
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn detection_matches_the_official_rich_text() {
    let mut texts = handwritten();
    let hand = texts.len();
    let mut rng = Rng(env_number("ATMO_RICHTEXT_SEED", 12));
    let random = env_number("ATMO_RICHTEXT_RANDOM", 5000);
    texts.extend((0..random).map(|_| random_text(&mut rng)));

    let Some(answers) = official(&texts) else {
        return;
    };

    let mut differences = Vec::new();
    let mut facets = 0;
    for (text, theirs) in texts.iter().zip(&answers) {
        let mine = ours(text);
        facets += theirs.len();
        for f in &mine {
            assert!(
                text.is_char_boundary(f.byte_start) && text.is_char_boundary(f.byte_end),
                "facet off a char boundary in {text:?}: {f:?}"
            );
        }
        if &mine != theirs {
            differences.push((text, mine, theirs));
        }
    }
    for (text, mine, theirs) in differences.iter().take(20) {
        eprintln!("text:     {text:?}\n  atmo:     {mine:?}\n  official: {theirs:?}");
    }
    assert!(
        differences.is_empty(),
        "{} of {} texts differ from the official detection (first 20 above)",
        differences.len(),
        texts.len()
    );
    // The corpus must exercise every kind of facet, or it proves little.
    if random >= 1000 {
        for kind in ["mention", "link", "tag"] {
            let n = answers
                .iter()
                .flatten()
                .filter(|f| f.r#type == kind)
                .count();
            assert!(n > 100, "corpus has only {n} {kind} facets");
        }
    }
    eprintln!(
        "richtext: {} texts ({hand} by hand, {random} random), {facets} facets, all identical",
        texts.len()
    );
}
