//! `cargo xtask fuzz`: seed the corpora from the interop vectors, then run every target.
//!
//! Targets are the `[[bin]]` entries of `fuzz/Cargo.toml`. Seeds are written afresh into
//! `fuzz/corpus/<target>/` (git-ignored; libFuzzer adds what it finds there) from
//! `tests/interop`, so every run starts from the official cases. cargo-fuzz needs nightly
//! features; `RUSTC_BOOTSTRAP=1` lets the one stable toolchain here provide them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use serde_json::Value;

use crate::project_root;

/// Where each target's seeds come from.
enum Seeds {
    /// Every line of these syntax vector files (prefix `tests/interop/syntax/<stem>_`).
    SyntaxLines(&'static [&'static str]),
    /// Base64 strings found under this key in the data-model fixtures, decoded.
    CborFixtures,
    /// Every `json` value of the data-model fixture files, as JSON text.
    JsonFixtures,
    /// Every string value in these JSON files under `tests/interop` that starts with the prefix.
    Strings(&'static [&'static str], &'static str),
    /// The JSON text of the value under this key of every case in these files.
    JsonField(&'static [&'static str], &'static str),
    /// Every file with this extension in this directory (relative to the project root).
    Files(&'static str, &'static str),
    /// Every file with this extension in this directory, once after each prefix (for
    /// targets whose first bytes choose a mode or parameters).
    PrefixedFiles(&'static str, &'static str, &'static [&'static [u8]]),
    /// The blocks of a corpus file (each a 4-byte big-endian length, then the bytes),
    /// once after each prefix.
    PrefixedBlocks(&'static str, &'static [&'static [u8]]),
    /// These inputs, as written here.
    Literal(&'static [&'static [u8]]),
    /// No seeds: libFuzzer starts from nothing.
    None,
}

fn seeds_for(target: &str) -> Seeds {
    match target {
        "syntax_did" => Seeds::SyntaxLines(&["did"]),
        "syntax_handle" => Seeds::SyntaxLines(&["handle"]),
        "syntax_nsid" => Seeds::SyntaxLines(&["nsid"]),
        "syntax_aturi" => Seeds::SyntaxLines(&["aturi"]),
        "syntax_at_identifier" => Seeds::SyntaxLines(&["atidentifier"]),
        "syntax_tid" => Seeds::SyntaxLines(&["tid"]),
        "syntax_rkey" => Seeds::SyntaxLines(&["recordkey"]),
        "syntax_datetime" => Seeds::SyntaxLines(&["datetime"]),
        "syntax_language" => Seeds::SyntaxLines(&["language"]),
        "syntax_cid" => Seeds::SyntaxLines(&["cid"]),
        "syntax_uri" => Seeds::SyntaxLines(&["uri"]),
        "data_cbor" | "data_cbor_serde" => Seeds::CborFixtures,
        // The record type by the first byte: post, like, follow, repost, profile.
        "api_records" => Seeds::PrefixedBlocks(
            "crates/atmo-data/benches/corpus/blocks-300.bin",
            &[&[0], &[1], &[2], &[3], &[4]],
        ),
        "data_json" => Seeds::JsonFixtures,
        "data_cid" => Seeds::Strings(&["data-model/data-model-fixtures.json"], "baf"),
        "crypto_did_key" => Seeds::Strings(
            &[
                "crypto/w3c_didkey_K256.json",
                "crypto/w3c_didkey_P256.json",
                "crypto/signature-fixtures.json",
            ],
            "did:key:",
        ),
        "lexicon_doc" => Seeds::JsonField(
            &["lexicon/lexicon-valid.json", "lexicon/lexicon-invalid.json"],
            "lexicon",
        ),
        "lexicon_validate" => Seeds::JsonField(
            &[
                "lexicon/record-data-valid.json",
                "lexicon/record-data-invalid.json",
            ],
            "data",
        ),
        "repo_car" => Seeds::Files("crates/atmo-repo/tests/fixtures", "car"),
        // Shape, limit, chunk size: default limits in 64-byte reads; small blocks and
        // 7-byte reads with pauses; hashes trusted in 997-byte reads.
        "repo_car_async" => Seeds::PrefixedFiles(
            "crates/atmo-repo/tests/fixtures",
            "car",
            &[&[0, 0, 64], &[0x82, 40, 7], &[0x41, 0, 1]],
        ),
        // Raw mode: nearly all of a CAR, then operations from its last bytes.
        "repo_verify_commit" => {
            Seeds::PrefixedFiles("crates/atmo-repo/tests/fixtures", "car", &[&[1, 250]])
        }
        "repo_mst_diff_proof" => Seeds::Literal(&[
            // Made: 4 keys, then edits (an update, a create, a delete).
            &[
                0, 4, 1, 2, 3, 0x41, 5, 6, 0x81, 8, 9, 0xc1, 11, 12, 1, 2, 7, 0x90, 1, 2, 0x41, 5,
                0,
            ],
            // Raw: one empty node.
            &[1, 0xa2, 0x61, 0x65, 0x80, 0x61, 0x6c, 0xf6],
        ]),
        "lexicon_dns_txt" => Seeds::Literal(&[
            b"com.example.status.post\ndid=did:plc:ewvi7nxzyoun6zhxrhs64oiz",
            b"app.bsky.feed.post\nv=spf1 -all\n did=did:web:example.com \ndid=did:web:example.com",
            b"alice.example.com\ndid=did:plc:aaaa\ndid=did:plc:bbbb",
            b"com.example.x\ndid=not-a-did",
        ]),
        "xrpc_rate_limit" => Seeds::Literal(&[
            b"\0\0\0\0\0\0\0\0\x003000\n\x012999\n\x021700000300\n\x033000;w=300",
            b"\0\0\0\0\0\0\0\0\x00 10 \n\x01 0\n\x0360;w=60;comment=\"x\"\n\xf4x-other:1",
        ]),
        "p2p_bitswap_message" => Seeds::Files("crates/atmo-p2p/tests/fixtures/bitswap", "bin"),
        "identity_did_doc" | "identity_plc_audit_log" => {
            Seeds::Files("crates/atmo-identity/tests/fixtures", "json")
        }
        _ => Seeds::None,
    }
}

/// The fuzz target names, from the `[[bin]]` tables of `fuzz/Cargo.toml`.
pub(crate) fn targets() -> Result<Vec<String>, String> {
    let path = project_root().join("fuzz/Cargo.toml");
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut names = Vec::new();
    let mut in_bin = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin {
            if let Some(rest) = line.strip_prefix("name") {
                let name = rest
                    .trim_start()
                    .trim_start_matches('=')
                    .trim()
                    .trim_matches('"');
                names.push(name.to_owned());
            }
        }
    }
    Ok(names)
}

/// Writes the seed corpus of every target; returns the number of files written.
pub(crate) fn seed_all() -> Result<usize, String> {
    let mut total = 0;
    for t in targets()? {
        total += seed(&t)?;
    }
    Ok(total)
}

fn seed(target: &str) -> Result<usize, String> {
    let interop = project_root().join("tests/interop");
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    match seeds_for(target) {
        Seeds::SyntaxLines(stems) => {
            for stem in stems {
                for entry in read_dir(&interop.join("syntax"))? {
                    let name = entry.file_name().map(|n| n.to_string_lossy().into_owned());
                    if name.is_some_and(|n| n.starts_with(&format!("{stem}_"))) {
                        let text = read(&entry)?;
                        inputs.extend(
                            text.lines()
                                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                                .map(|l| l.as_bytes().to_vec()),
                        );
                    }
                }
            }
        }
        Seeds::CborFixtures => {
            let v = read_json(&interop.join("data-model/data-model-fixtures.json"))?;
            let engine = base64::engine::general_purpose::STANDARD_NO_PAD;
            for case in v.as_array().into_iter().flatten() {
                if let Some(b64) = case.get("cbor_base64").and_then(Value::as_str) {
                    let bytes = engine
                        .decode(b64.trim_end_matches('='))
                        .map_err(|e| format!("bad cbor_base64 in fixtures: {e}"))?;
                    inputs.push(bytes);
                }
            }
        }
        Seeds::JsonFixtures => {
            for file in [
                "data-model-fixtures.json",
                "data-model-valid.json",
                "data-model-invalid.json",
            ] {
                let v = read_json(&interop.join("data-model").join(file))?;
                for case in v.as_array().into_iter().flatten() {
                    if let Some(json) = case.get("json") {
                        inputs.push(json.to_string().into_bytes());
                    }
                }
            }
        }
        Seeds::Strings(files, prefix) => {
            for file in files {
                let v = read_json(&interop.join(file))?;
                collect_strings(&v, prefix, &mut inputs);
            }
        }
        Seeds::JsonField(files, key) => {
            for file in files {
                let v = read_json(&interop.join(file))?;
                for case in v.as_array().into_iter().flatten() {
                    if let Some(field) = case.get(key) {
                        inputs.push(field.to_string().into_bytes());
                    }
                }
            }
        }
        Seeds::Files(dir, ext) => {
            for path in read_dir(&project_root().join(dir))? {
                if path.extension().is_some_and(|e| e == ext) {
                    inputs.push(fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?);
                }
            }
        }
        Seeds::PrefixedFiles(dir, ext, prefixes) => {
            for path in read_dir(&project_root().join(dir))? {
                if path.extension().is_some_and(|e| e == ext) {
                    let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                    for prefix in prefixes {
                        inputs.push([*prefix, bytes.as_slice()].concat());
                    }
                }
            }
        }
        Seeds::PrefixedBlocks(file, prefixes) => {
            let path = project_root().join(file);
            let data = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut rest = data.as_slice();
            while let Some((len, tail)) = rest.split_first_chunk::<4>() {
                let n = u32::from_be_bytes(*len) as usize;
                let Some((block, tail)) = tail.split_at_checked(n) else {
                    return Err(format!("{}: a block runs past the end", path.display()));
                };
                for prefix in prefixes {
                    inputs.push([*prefix, block].concat());
                }
                rest = tail;
            }
        }
        Seeds::Literal(list) => inputs.extend(list.iter().map(|b| b.to_vec())),
        Seeds::None => {}
    }
    let dir = project_root().join("fuzz/corpus").join(target);
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (i, input) in inputs.iter().enumerate() {
        let path = dir.join(format!("seed-{i:04}"));
        fs::write(&path, input).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(inputs.len())
}

fn collect_strings(v: &Value, prefix: &str, out: &mut Vec<Vec<u8>>) {
    match v {
        Value::String(s) if s.starts_with(prefix) => out.push(s.as_bytes().to_vec()),
        Value::Array(items) => items.iter().for_each(|i| collect_strings(i, prefix, out)),
        Value::Object(map) => map.values().for_each(|i| collect_strings(i, prefix, out)),
        _ => {}
    }
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    out.sort();
    Ok(out)
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn read_json(path: &Path) -> Result<Value, String> {
    serde_json::from_str(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs `cargo xtask fuzz [--seconds N] [TARGET...]`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut seconds: u64 = 60;
    let mut chosen = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                let v = it.next().ok_or("--seconds needs a value")?;
                seconds = v
                    .parse()
                    .map_err(|_| format!("--seconds: not a number: {v}"))?;
            }
            t if !t.starts_with('-') => chosen.push(t.to_owned()),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    let all = targets()?;
    for t in &chosen {
        if !all.contains(t) {
            return Err(format!(
                "no fuzz target named {t} (have: {})",
                all.join(", ")
            ));
        }
    }
    let targets = if chosen.is_empty() { all } else { chosen };
    let fuzz_dir = project_root().join("fuzz");
    // Build all targets once, then run each.
    let status = Command::new("cargo")
        .current_dir(&fuzz_dir)
        .env("RUSTC_BOOTSTRAP", "1")
        .args(["fuzz", "build"])
        .status()
        .map_err(|e| {
            format!("cannot run cargo fuzz (install it with `cargo install cargo-fuzz`): {e}")
        })?;
    if !status.success() {
        return Err("cargo fuzz build failed".into());
    }
    let mut report = Vec::new();
    for t in &targets {
        let seeded = seed(t)?;
        let out = Command::new("cargo")
            .current_dir(&fuzz_dir)
            .env("RUSTC_BOOTSTRAP", "1")
            .args(["fuzz", "run", t, "--"])
            .arg(format!("-max_total_time={seconds}"))
            .args([
                "-print_final_stats=1",
                "-rss_limit_mb=2048",
                "-max_len=65536",
            ])
            .output()
            .map_err(|e| format!("cannot run cargo fuzz: {e}"))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        let runs = stderr
            .lines()
            .filter_map(|l| l.strip_prefix("Done "))
            .filter_map(|l| l.split_whitespace().next())
            .filter_map(|n| n.parse::<u64>().ok())
            .next_back();
        if !out.status.success() {
            let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(format!("fuzz target {t} failed:\n{}", tail.join("\n")));
        }
        let runs = runs.unwrap_or(0);
        println!("fuzz: {t:<24} {runs:>12} executions in {seconds}s ({seeded} seeds)");
        report.push((t.clone(), runs));
    }
    let total: u64 = report.iter().map(|(_, r)| r).sum();
    println!(
        "fuzz: {} targets, {total} executions, no crashes",
        report.len()
    );
    Ok(())
}
