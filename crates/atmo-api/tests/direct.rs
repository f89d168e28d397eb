//! The generated types read straight from DAG-CBOR (`atmo_data::direct::from_cbor`, no
//! serde in between) give what serde's one pass (`atmo_data::from_cbor`) gives: the same
//! record for every `app.bsky` record of the committed corpus (records made by the
//! official implementation), and the same record or exactly the same error (message,
//! path, offset) for every one-byte change and every truncation of those records.
#![cfg(feature = "app_bsky")]

use atmo_api::app_bsky::{actor, feed, graph};
use atmo_data::direct::FromCbor;
use atmo_data::{Value, cbor};
use serde::de::DeserializeOwned;

/// Every record block of the corpus with an `app.bsky` `$type`, with its type.
fn records() -> Vec<(String, Vec<u8>)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../atmo-data/benches/corpus/blocks-300.bin"
    );
    let data = std::fs::read(path).expect("read corpus");
    let mut out = Vec::new();
    let mut rest = &data[..];
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let n = u32::from_be_bytes(*len) as usize;
        let block = &tail[..n];
        if let Ok(v) = cbor::decode(block) {
            if let Some(t) = v.get("$type").and_then(Value::as_str) {
                if t.starts_with("app.bsky.") {
                    out.push((t.to_owned(), block.to_vec()));
                }
            }
        }
        rest = &tail[n..];
    }
    out
}

/// Both ways agree on `bytes`; `Some(true)` if they read it.
fn agree<T>(bytes: &[u8]) -> bool
where
    T: DeserializeOwned + for<'a> FromCbor<'a> + PartialEq + std::fmt::Debug,
{
    let serde = atmo_data::from_cbor::<T>(bytes);
    let direct = atmo_data::direct::from_cbor::<T>(bytes);
    match (serde, direct) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "{bytes:02x?}");
            true
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string(), "{bytes:02x?}");
            false
        }
        (a, b) => panic!("serde {a:?} != direct {b:?} on {bytes:02x?}"),
    }
}

/// [`agree`] for the type of `nsid`.
fn agree_as(nsid: &str, bytes: &[u8]) -> bool {
    match nsid {
        "app.bsky.feed.post" => agree::<feed::post::Record>(bytes),
        "app.bsky.feed.like" => agree::<feed::like::Record>(bytes),
        "app.bsky.feed.repost" => agree::<feed::repost::Record>(bytes),
        "app.bsky.graph.follow" => agree::<graph::follow::Record>(bytes),
        "app.bsky.actor.profile" => agree::<actor::profile::Record>(bytes),
        _ => agree::<Value>(bytes),
    }
}

#[test]
fn every_corpus_record_reads_the_same() {
    let recs = records();
    assert!(recs.len() > 250, "{} records", recs.len());
    let mut typed = 0;
    for (t, b) in &recs {
        assert!(agree_as(t, b), "{t} did not read");
        typed += usize::from(t != "app.bsky.graph.block");
    }
    assert!(typed > 250);
}

#[test]
fn changed_and_cut_records_fail_the_same() {
    let recs = records();
    let (mut read, mut refused) = (0, 0);
    // One record of each type, and every post (the richest shape: facets, embeds,
    // replies, unions).
    let mut seen = std::collections::BTreeSet::new();
    for (t, b) in &recs {
        if !seen.insert(t.clone()) && t != "app.bsky.feed.post" {
            continue;
        }
        for i in 0..b.len() {
            for change in [0x00, 0xff, b[i] ^ 0x01, b[i].wrapping_add(1), 0xf6, 0x60] {
                let mut m = b.clone();
                m[i] = change;
                if agree_as(t, &m) {
                    read += 1;
                } else {
                    refused += 1;
                }
            }
            if agree_as(t, &b[..i]) {
                read += 1;
            } else {
                refused += 1;
            }
        }
    }
    // Both outcomes were exercised.
    assert!(
        read > 100 && refused > 100,
        "{read} read, {refused} refused"
    );
}
