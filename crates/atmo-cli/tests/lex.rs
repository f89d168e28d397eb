//! `atmo lex check | validate | resolve`, run as a user would: the real binary, real exit
//! codes, stdin and files.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn atmo(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_atmo"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the atmo binary runs");
    // The command may exit (e.g. on a usage error) before reading all of its input: a
    // closed pipe is not a test failure, any other write error is.
    if let Err(e) = child.stdin.take().expect("stdin").write_all(input) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
    }
    child.wait_with_output().expect("wait")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf-8 stderr")
}

fn repo(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
        .display()
        .to_string()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("atmo-lex-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

const STATUS_LEXICON: &str = r#"{"lexicon": 1, "id": "xyz.statusphere.status", "defs": {"main": {
  "type": "record", "key": "tid", "record": {"type": "object", "required": ["status", "createdAt"],
  "properties": {
    "status": {"type": "string", "minLength": 1, "maxGraphemes": 1, "maxLength": 32},
    "createdAt": {"type": "string", "format": "datetime"}}}}}}"#;

const BLOB: &str = r#"{"$type": "blob", "ref": {"$link": "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"}, "mimeType": "image/png", "size": 10}"#;

fn post_with_alt(alt: &str) -> String {
    format!(
        r#"{{"$type": "app.bsky.feed.post", "text": "hello", "createdAt": "2024-11-20T10:11:12.345Z",
        "embed": {{"$type": "app.bsky.embed.images", "images": [{{"alt": {alt}, "image": {BLOB}}}]}}}}"#
    )
}

#[test]
fn check_accepts_an_official_lexicon() {
    let o = atmo(
        &["lex", "check", &repo("lexicons/app/bsky/feed/post.json")],
        b"",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "valid: app.bsky.feed.post (4 definitions, main: record)\n"
    );
}

#[test]
fn check_rejects_with_the_reason() {
    let doc = br#"{"lexicon": 1, "id": "com.example.x", "defs": {"other": {"type": "query"}}}"#;
    let o = atmo(&["lex", "check", "-"], doc);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "error: invalid lexicon at $.defs.other: a query definition must be named `main`, not `other`\n"
    );
    let o = atmo(&["lex", "check", "-"], b"{not json");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not valid JSON"), "{}", stderr(&o));
    let o = atmo(&["lex", "check", "/nonexistent/lexicon.json"], b"");
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn check_rejects_dangling_local_refs_duplicate_keys_and_inline_only_defs() {
    let cases: [(&[u8], &str); 4] = [
        (
            br##"{"lexicon": 1, "id": "com.example.x", "defs": {"main": {"type": "object", "properties": {"a": {"type": "ref", "ref": "#nope"}}}}}"##,
            "error: invalid lexicon at $.defs.main: reference \"#nope\" names no definition of this document\n",
        ),
        (
            br#"{"lexicon": 1, "id": "com.example.x", "defs": {"main": {"type": "object", "properties": {"a": {"type": "ref", "ref": "com.example.x#nope"}}}}}"#,
            "error: invalid lexicon at $.defs.main: reference \"com.example.x#nope\" names no definition of this document\n",
        ),
        (
            br#"{"lexicon": 1, "id": "com.example.x", "defs": {"main": {"type": "token"}, "main": {"type": "token"}}}"#,
            "duplicate key at $.defs.main",
        ),
        (
            br#"{"lexicon": 1, "id": "com.example.x", "defs": {"n": {"type": "null"}}}"#,
            "a named definition cannot be of type null (only inline)",
        ),
    ];
    for (doc, want) in cases {
        let o = atmo(&["lex", "check", "-"], doc);
        assert_eq!(o.status.code(), Some(1), "{want}");
        assert!(stderr(&o).contains(want), "{want}: {}", stderr(&o));
    }
    // A local reference that resolves, and a reference to another document (checked
    // against a catalog, not here), are fine.
    let ok = br##"{"lexicon": 1, "id": "com.example.x", "defs": {"main": {"type": "object", "properties": {"a": {"type": "ref", "ref": "#b"}, "c": {"type": "ref", "ref": "com.example.y#z"}}}, "b": {"type": "token"}}}"##;
    let o = atmo(&["lex", "check", "-"], ok);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// The `"lexicon": {...}` objects of a vector file, as raw text (a small bracket matcher
/// that knows about strings, enough for the vector files): the CLI itself parses them.
fn lexicon_objects(text: &str) -> Vec<String> {
    let needle = "\"lexicon\": {";
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find(needle) {
        let start = from + i + needle.len() - 1;
        let (mut depth, mut in_str, mut esc) = (0i32, false, false);
        let mut end = start;
        for (j, c) in text[start..].char_indices() {
            if in_str {
                match (esc, c) {
                    (true, _) => esc = false,
                    (false, '\\') => esc = true,
                    (false, '"') => in_str = false,
                    _ => {}
                }
                continue;
            }
            match c {
                '"' => in_str = true,
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = start + j + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push(text[start..end].to_owned());
        from = end;
    }
    out
}

#[test]
fn check_every_interop_vector() {
    let dir = temp_dir("vectors");
    for (file, want_ok, count) in [
        ("lexicon-valid.json", true, 2),
        ("lexicon-invalid.json", false, 4),
    ] {
        let text = std::fs::read_to_string(repo(&format!("tests/interop/lexicon/{file}")))
            .expect("vector file");
        let cases = lexicon_objects(&text);
        assert_eq!(cases.len(), count, "{file}");
        for (i, lexicon) in cases.iter().enumerate() {
            let p = dir.join(format!("{file}-{i}.json"));
            std::fs::write(&p, lexicon).expect("write");
            let o = atmo(&["lex", "check", &p.display().to_string()], b"");
            assert_eq!(
                o.status.success(),
                want_ok,
                "{file} case {i}: {}",
                stderr(&o)
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn validate_a_post_from_stdin_and_file() {
    let post = post_with_alt("\"a cat\"");
    let o = atmo(
        &["lex", "validate", "--nsid", "app.bsky.feed.post"],
        post.as_bytes(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "valid: app.bsky.feed.post\n");

    let dir = temp_dir("post");
    let f = dir.join("post.json");
    std::fs::write(&f, &post).expect("write");
    let o = atmo(
        &[
            "lex",
            "validate",
            "--nsid",
            "app.bsky.feed.post",
            &f.display().to_string(),
        ],
        b"",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn validate_names_the_first_bad_field() {
    let o = atmo(
        &["lex", "validate", "--nsid", "app.bsky.feed.post", "-"],
        post_with_alt("7").as_bytes(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "error: invalid: $.embed.images[0].alt: expected string, found integer\n"
    );
    let o = atmo(
        &["lex", "validate", "--nsid", "app.bsky.feed.like"],
        br#"{"$type": "app.bsky.feed.like", "createdAt": "2024-11-20T10:11:12Z"}"#,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("$.subject: required field is missing"),
        "{}",
        stderr(&o)
    );
    let o = atmo(
        &["lex", "validate", "--nsid", "app.bsky.feed.like"],
        b"{\"a\": 1.5}",
    );
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn validate_with_a_user_lexicon_dir() {
    let dir = temp_dir("userlex");
    std::fs::write(dir.join("status.json"), STATUS_LEXICON).expect("write");
    let d = dir.display().to_string();
    let args = [
        "lex",
        "validate",
        "--nsid",
        "xyz.statusphere.status",
        "--lexicons",
        &d,
    ];
    let ok = r#"{"$type": "xyz.statusphere.status", "status": "🦋", "createdAt": "2024-11-20T10:11:12Z"}"#;
    let o = atmo(&args, ok.as_bytes());
    assert!(o.status.success(), "{}", stderr(&o));
    let bad = ok.replace("🦋", "🦋🦋");
    let o = atmo(&args, bad.as_bytes());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("$.status: too long: 2 graphemes"),
        "{}",
        stderr(&o)
    );
    // Without the directory the lexicon is unknown.
    let o = atmo(
        &["lex", "validate", "--nsid", "xyz.statusphere.status"],
        ok.as_bytes(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not found"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn validate_rejects_a_bad_nsid_as_usage() {
    let o = atmo(&["lex", "validate", "--nsid", "not an nsid"], b"{}");
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn resolve_bundled_text_and_json() {
    let o = atmo(&["lex", "resolve", "app.bsky.feed.like"], b"");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "id: app.bsky.feed.like\nsource: bundled: lexicons/app/bsky/feed/like.json\n\
         defs: 1 definition, main: record\n  main: record (primary)\n"
    );

    let o = atmo(&["lex", "resolve", "app.bsky.feed.like", "--json"], b"");
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains(r#""id": "app.bsky.feed.like""#), "{out}");
    assert!(out.contains(r#""kind": "bundled""#), "{out}");
    assert!(out.contains(r#""type": "record""#), "{out}");
}

#[test]
fn resolve_search_path_then_cache() {
    let search = temp_dir("search");
    let cache = temp_dir("cache");
    std::fs::create_dir_all(search.join("xyz/statusphere")).expect("mkdir");
    std::fs::write(search.join("xyz/statusphere/status.json"), STATUS_LEXICON).expect("write");
    let cached = STATUS_LEXICON.replace("xyz.statusphere.status", "xyz.statusphere.other");
    std::fs::write(cache.join("xyz.statusphere.other.json"), cached).expect("write");
    let (s, c) = (search.display().to_string(), cache.display().to_string());
    let o = atmo(
        &[
            "lex",
            "resolve",
            "xyz.statusphere.status",
            "--lexicons",
            &s,
            "--cache-dir",
            &c,
        ],
        b"",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("source: search path: "),
        "{}",
        stdout(&o)
    );
    let o = atmo(
        &[
            "lex",
            "resolve",
            "xyz.statusphere.other",
            "--lexicons",
            &s,
            "--cache-dir",
            &c,
            "--json",
        ],
        b"",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains(r#""kind": "cache""#), "{}", stdout(&o));
    let _ = std::fs::remove_dir_all(&search);
    let _ = std::fs::remove_dir_all(&cache);
}

#[test]
fn resolve_offline_with_an_empty_cache_exits_1() {
    // `--offline` keeps this test on the machine: without it the last step asks DNS for
    // `_lexicon.example.com` (the network path is tested against the reference network in
    // tests/tests/lexicon_net.rs, with a loopback DNS server).
    let cache = std::env::temp_dir().join(format!("atmo-lex-empty-cache-{}", std::process::id()));
    let o = atmo(
        &[
            "lex",
            "resolve",
            "com.example.nowhere",
            "--offline",
            "--cache-dir",
            cache.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("network resolution"), "{err}");
    assert!(err.contains("not enabled"), "{err}");
    let _ = std::fs::remove_dir_all(&cache);
}
