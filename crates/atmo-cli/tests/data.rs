//! `atmo data to-cbor | to-json | cid`, run as a user would: the real binary, real exit
//! codes, stdin and files.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn atmo_stdin(args: &[&str], input: &[u8]) -> Output {
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

fn vector_file(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/interop/data-model")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The raw text of the JSON value that follows each `"<key>":` in `text` (a small
/// bracket matcher that knows about strings, enough for the vector files).
fn raw_values<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
    let needle = format!("\"{key}\":");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find(&needle) {
        let start = from + i + needle.len();
        let rest = text[start..].trim_start();
        let s0 = text.len() - rest.len();
        let (mut depth, mut in_str, mut esc) = (0i32, false, false);
        let mut end = s0;
        for (j, c) in rest.char_indices() {
            end = s0 + j + c.len_utf8();
            if in_str {
                match (esc, c) {
                    (true, _) => esc = false,
                    (false, '\\') => esc = true,
                    (false, '"') => {
                        in_str = false;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                continue;
            }
            match c {
                '"' => in_str = true,
                '{' | '[' => depth += 1,
                '}' | ']' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                ',' | '\n' if depth == 0 => {
                    end -= c.len_utf8();
                    break;
                }
                _ => {}
            }
        }
        out.push(&text[s0..end]);
        from = end;
    }
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(s.trim_end_matches('='))
        .unwrap()
}

#[test]
fn fixtures_to_cbor_and_cid_bit_for_bit() {
    let text = vector_file("data-model-fixtures.json");
    let jsons = raw_values(&text, "json");
    let cbors = raw_values(&text, "cbor_base64");
    let cids = raw_values(&text, "cid");
    assert!(!jsons.is_empty());
    assert_eq!(jsons.len(), cbors.len());
    for ((j, c), cid) in jsons.iter().zip(&cbors).zip(&cids) {
        let want = base64_decode(c.trim_matches('"'));
        let cid = cid.trim_matches('"');

        let o = atmo_stdin(&["data", "to-cbor"], j.as_bytes());
        assert_eq!(o.status.code(), Some(0), "{cid}: {}", stderr(&o));
        assert_eq!(o.stdout, want, "to-cbor for {cid}");

        let o = atmo_stdin(&["data", "to-cbor", "--hex", "-"], j.as_bytes());
        assert_eq!(stdout(&o), format!("{}\n", hex(&want)));

        let o = atmo_stdin(&["data", "cid"], j.as_bytes());
        assert_eq!(o.status.code(), Some(0), "{cid}: {}", stderr(&o));
        assert_eq!(stdout(&o), format!("{cid}\n"));

        // CBOR -> JSON -> CBOR gives the same bytes.
        let o = atmo_stdin(&["data", "to-json"], &want);
        assert_eq!(o.status.code(), Some(0), "{cid}: {}", stderr(&o));
        let back = atmo_stdin(&["data", "to-cbor"], &o.stdout);
        assert_eq!(back.stdout, want, "JSON round trip for {cid}");
    }
}

#[test]
fn valid_cases_exit_0() {
    let text = vector_file("data-model-valid.json");
    let cases = raw_values(&text, "json");
    assert!(!cases.is_empty());
    for j in cases {
        let o = atmo_stdin(&["data", "to-cbor", "--hex"], j.as_bytes());
        assert_eq!(o.status.code(), Some(0), "{j}: {}", stderr(&o));
    }
}

#[test]
fn every_invalid_case_exits_1_with_a_reason() {
    let text = vector_file("data-model-invalid.json");
    let notes = raw_values(&text, "note");
    let cases = raw_values(&text, "json");
    assert_eq!(notes.len(), cases.len());
    assert!(!cases.is_empty());
    for (note, j) in notes.iter().zip(cases) {
        for cmd in [&["data", "to-cbor"][..], &["data", "cid"][..]] {
            let o = atmo_stdin(cmd, j.as_bytes());
            assert_eq!(o.status.code(), Some(1), "{note} via {cmd:?}");
            assert!(o.stdout.is_empty(), "{note}");
            assert!(stderr(&o).starts_with("error: "), "{note}: {}", stderr(&o));
        }
    }
}

#[test]
fn floats_and_bad_links_exit_1() {
    for j in [
        r#"{"a": 1.5}"#,
        r#"{"a": {"$link": "bogus"}}"#,
        r#"[1]"#,
        "not json",
    ] {
        let o = atmo_stdin(&["data", "to-cbor"], j.as_bytes());
        assert_eq!(o.status.code(), Some(1), "{j}");
    }
    let o = atmo_stdin(&["data", "to-cbor"], br#"{"a": 1.5}"#);
    assert!(stderr(&o).contains("float"), "{}", stderr(&o));
}

#[test]
fn integer_like_numbers_convert_and_big_integers_are_out_of_range() {
    // The reference implementation reads `1.0` and `1E+2` as integers.
    let o = atmo_stdin(&["data", "to-cbor"], br#"{"a": 1.0, "b": 1E+2, "c": -0}"#);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        o.stdout,
        [
            0xa3, 0x61, 0x61, 0x01, 0x61, 0x62, 0x18, 0x64, 0x61, 0x63, 0x00
        ]
    );
    for j in [
        r#"{"a": 9223372036854775808}"#,
        r#"{"a": -9223372036854775809}"#,
        r#"{"a": 100000000000000000000000000}"#,
    ] {
        let o = atmo_stdin(&["data", "to-cbor"], j.as_bytes());
        assert_eq!(o.status.code(), Some(1), "{j}");
        assert!(
            stderr(&o).contains("integer out of range"),
            "{j}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn non_canonical_cbor_exits_1_with_reason() {
    let cases: [(&[u8], &str); 5] = [
        (&[0xa2, 0x61, 0x62, 0x01, 0x61, 0x61, 0x01], "out of order"),
        (&[0x18, 0x01], "shortest"),
        (&[0xf9, 0x3c, 0x00], "float"),
        (&[0x9f, 0xff], "indefinite"),
        (&[0x01, 0x01], "trailing"),
    ];
    for (b, why) in cases {
        let o = atmo_stdin(&["data", "to-json"], b);
        assert_eq!(o.status.code(), Some(1), "{why}");
        assert!(stderr(&o).contains(why), "{why}: {}", stderr(&o));
    }
}

#[test]
fn to_json_prints_atproto_forms() {
    // {"a": h'0102', "b": 42(CID)}
    let mut b = vec![
        0xa2, 0x61, b'a', 0x42, 1, 2, 0x61, b'b', 0xd8, 0x2a, 0x58, 0x25, 0x00,
    ];
    b.extend_from_slice(&[0x01, 0x71, 0x12, 0x20]);
    b.extend_from_slice(&[0u8; 32]);
    let o = atmo_stdin(&["data", "to-json"], &b);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with(r#"{"a":{"$bytes":"AQI"},"b":{"$link":"bafyrei"#),
        "{out}"
    );
}

#[test]
fn cid_raw_hashes_the_bytes_and_reads_files() {
    let dir = std::env::temp_dir().join(format!("atmo-data-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("blob.bin");
    std::fs::write(&f, b"hello world").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_atmo"))
        .args(["data", "cid", "--raw", f.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // sha2-256("hello world") as a raw CIDv1.
    assert_eq!(
        stdout(&o),
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e\n"
    );
    let o = atmo_stdin(&["data", "cid", "--raw"], b"hello world");
    assert_eq!(
        stdout(&o),
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e\n"
    );
    let missing = dir.join("missing.json");
    let o = Command::new(env!("CARGO_BIN_EXE_atmo"))
        .args(["data", "cid", missing.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What atmo writes, atmo reads: CBOR that has no faithful JSON form is refused by
/// `to-json`, and JSON that would encode beyond the decoder's limits by `to-cbor`.
#[test]
fn round_trips_refuse_what_cannot_come_back() {
    let cases: [(&[u8], &str); 4] = [
        // {"$bytes": "AQID"}: a text under $bytes would read back as bytes.
        (
            &[
                0xa1, 0x66, b'$', b'b', b'y', b't', b'e', b's', 0x64, b'A', b'Q', b'I', b'D',
            ],
            "reserved",
        ),
        // {"$type": 1}
        (&[0xa1, 0x65, b'$', b't', b'y', b'p', b'e', 0x01], "$type"),
        // {"$type": "blob"} without ref, size, mimeType
        (
            &[
                0xa1, 0x65, b'$', b't', b'y', b'p', b'e', 0x64, b'b', b'l', b'o', b'b',
            ],
            "blob",
        ),
        // 128 nested arrays: JSON readers stop at 127.
        (&[[0x81u8; 127].as_slice(), &[0x80]].concat(), "nesting"),
    ];
    for (cbor, why) in cases {
        let o = atmo_stdin(&["data", "to-json"], cbor);
        assert_eq!(o.status.code(), Some(1), "{why}");
        assert!(stderr(&o).contains(why), "{why}: {}", stderr(&o));
    }
    // 127 nested arrays convert.
    let deep = [[0x81u8; 126].as_slice(), &[0x80]].concat();
    let o = atmo_stdin(&["data", "to-json"], &deep);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout.starts_with(&[b'['; 127]), "{}", stdout(&o));
    // A string over 16 MiB: to-cbor refuses it (the decoder would).
    let big = format!("{{\"a\": \"{}\"}}", "x".repeat((16 << 20) + 1));
    let o = atmo_stdin(&["data", "to-cbor"], big.as_bytes());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("exceeds the DAG-CBOR limit"),
        "{}",
        stderr(&o)
    );
}

/// JSON whose value would take more than the default memory budget (1 GiB, the same as
/// for DAG-CBOR): `to-cbor` exits 1 with the budget error, naming where it stopped, and
/// writes nothing. (The cheapest such input: 2^25 + 1 zeros, 64 MiB of text at 32 bytes a
/// value; the child builds about 1 GiB before it stops.)
#[test]
fn to_cbor_stops_at_the_memory_budget() {
    let n = (1usize << 30) / 32 + 1;
    let mut json = Vec::with_capacity(n * 2 + 8);
    json.extend_from_slice(b"{\"a\":[");
    for _ in 1..n {
        json.extend_from_slice(b"0,");
    }
    json.extend_from_slice(b"0]}");
    let out = atmo_stdin(&["data", "to-cbor"], &json);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    // Where it stopped: at the last zero, near the end of the one line.
    let at = err
        .strip_prefix("error: invalid atproto JSON at line 1, column ")
        .and_then(|r| r.split(':').next())
        .and_then(|c| c.parse::<usize>().ok());
    assert!(at.is_some_and(|c| c + 4 >= json.len()), "{err}");
    assert!(
        err.contains(": the decoded value would take more than 1073741824 bytes of memory"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}
