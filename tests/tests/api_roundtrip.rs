//! Generated atmo-api types against real records: every record block of a repository
//! made by the official TypeScript implementation (crates/atmo-data/benches/corpus,
//! see tests/oracle) decodes into its generated `Record` type and re-encodes to the same
//! DAG-CBOR bytes and CID; unknown `$type`s and unknown fields survive the round trip.

use std::collections::BTreeMap;

use atmo_api::app_bsky::{actor, embed, feed, graph};
use atmo_data::{Cid, Value, cbor};

fn blocks() -> Vec<Vec<u8>> {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/atmo-data/benches/corpus/blocks-300.bin"
    );
    let data = std::fs::read(p).unwrap();
    let mut out = Vec::new();
    let mut rest = &data[..];
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let n = u32::from_be_bytes(*len) as usize;
        out.push(tail[..n].to_vec());
        rest = &tail[n..];
    }
    assert!(rest.is_empty());
    out
}

/// Decodes `bytes` as the type, re-encodes, and checks bytes, CID and the JSON path.
macro_rules! round_trip {
    ($t:ty, $bytes:expr) => {{
        let bytes: &[u8] = $bytes;
        let typed: $t = atmo_data::from_cbor(bytes).unwrap();
        // One pass straight from the bytes, or through an owned `Value`: the same.
        let through_value: $t = atmo_data::from_value(cbor::decode(bytes).unwrap()).unwrap();
        assert_eq!(through_value, typed);
        // The generated direct reader (`FromCbor`, no serde visitor): the same.
        let read: $t = atmo_data::read_cbor(bytes).unwrap();
        assert_eq!(read, typed);
        let again = atmo_data::to_cbor(&typed).unwrap();
        assert_eq!(again, bytes, "{typed:#?}");
        assert_eq!(Cid::for_dag_cbor(&again), Cid::for_dag_cbor(bytes));
        let json = atmo_data::to_json(&typed).unwrap();
        let from_json: $t = atmo_data::from_json(&json).unwrap();
        assert_eq!(from_json, typed);
        typed
    }};
}

#[test]
fn official_records_round_trip_through_generated_types() {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let (mut with_facets, mut with_embed, mut with_reply) = (0, 0, 0);
    for b in blocks() {
        let v = cbor::decode(&b).unwrap();
        let Value::Map(m) = &v else { continue };
        let Some(Value::String(t)) = m.get("$type") else {
            continue;
        };
        match t.as_str() {
            feed::post::Record::NSID => {
                let p = round_trip!(feed::post::Record, &b);
                with_facets += usize::from(p.facets.is_some());
                with_embed += usize::from(p.embed.is_some());
                with_reply += usize::from(p.reply.is_some());
                if let Some(feed::post::RecordEmbed::Images(imgs)) = &p.embed {
                    assert!(!imgs.images.is_empty());
                    assert!(imgs.images[0].image.size.is_some());
                }
            }
            feed::like::Record::NSID => drop(round_trip!(feed::like::Record, &b)),
            feed::repost::Record::NSID => drop(round_trip!(feed::repost::Record, &b)),
            graph::follow::Record::NSID => {
                let f = round_trip!(graph::follow::Record, &b);
                assert!(f.subject.as_str().starts_with("did:"));
            }
            actor::profile::Record::NSID => drop(round_trip!(actor::profile::Record, &b)),
            other => panic!("unexpected record type {other}"),
        }
        *counts.entry(t.to_string()).or_default() += 1;
    }
    println!("{counts:?} facets={with_facets} embeds={with_embed} replies={with_reply}");
    for nsid in [
        feed::post::NSID,
        feed::like::NSID,
        feed::repost::NSID,
        graph::follow::NSID,
        actor::profile::NSID,
    ] {
        assert!(
            counts.get(nsid).copied().unwrap_or(0) > 0,
            "no {nsid} in the corpus"
        );
    }
    assert!(with_facets > 0 && with_embed > 0 && with_reply > 0);
}

const NEWER_POST: &str = r#"{
    "$type": "app.bsky.feed.post",
    "text": "from the future",
    "createdAt": "2024-01-01T00:00:00.000Z",
    "futureField": {"nested": [1, 2, {"$link": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"}]},
    "embed": {
        "$type": "app.bsky.embed.hologram",
        "depth": 3,
        "data": {"$bytes": "aGVsbG8"}
    },
    "facets": [{
        "index": {"byteStart": 0, "byteEnd": 4},
        "features": [
            {"$type": "app.bsky.richtext.facet#tag", "tag": "future"},
            {"$type": "app.bsky.richtext.facet#sparkle", "intensity": 9}
        ]
    }]
}"#;

#[test]
fn unknown_union_members_and_fields_round_trip() {
    let value = atmo_data::json::record_from_str(NEWER_POST).unwrap();
    let bytes = cbor::encode(&value);
    let post = round_trip!(feed::post::Record, &bytes);
    assert!(post.extra.contains_key("futureField"));
    let Some(feed::post::RecordEmbed::Unknown(embed)) = &post.embed else {
        panic!("expected an unknown embed, got {:?}", post.embed);
    };
    let Value::Map(m) = embed else { panic!() };
    assert_eq!(
        m.get("$type"),
        Some(&Value::String("app.bsky.embed.hologram".into()))
    );
    let features = &post.facets.as_ref().unwrap()[0].features;
    assert!(
        matches!(&features[0], atmo_api::app_bsky::richtext::facet::FacetFeaturesItem::Tag(t) if t.tag == "future")
    );
    assert!(matches!(
        &features[1],
        atmo_api::app_bsky::richtext::facet::FacetFeaturesItem::Unknown(_)
    ));
    assert_eq!(atmo_data::to_value(&post).unwrap(), value);
}

#[test]
fn known_union_member_serializes_with_its_type() {
    let embed = feed::post::RecordEmbed::External(Box::new(embed::external::Main::new(
        embed::external::External::new("https://example.com".parse().unwrap(), "t", "d"),
    )));
    let json = atmo_data::to_json(&embed).unwrap();
    assert!(
        json.starts_with(r#"{"$type":"app.bsky.embed.external","#),
        "{json}"
    );
    let back: feed::post::RecordEmbed = atmo_data::from_json(&json).unwrap();
    assert_eq!(back, embed);
}

/// Records written through the real reference PDS (the CARs in atmo-repo's fixtures, made
/// by `crates/atmo-repo/tests/fixtures/refpds-make.sh`) decode into their generated types
/// and re-encode to the same bytes and CIDs.
#[test]
fn reference_pds_records_round_trip_through_generated_types() {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for name in ["refpds-small.car", "refpds-medium.car"] {
        let path = format!(
            "{}/../crates/atmo-repo/tests/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let car = std::fs::read(&path).unwrap();
        let repo = atmo_repo::Repo::from_car(&car).unwrap();
        for record in repo.records() {
            let record = record.unwrap();
            let bytes = record.bytes();
            match record.collection() {
                feed::post::NSID => drop(round_trip!(feed::post::Record, bytes)),
                feed::like::NSID => drop(round_trip!(feed::like::Record, bytes)),
                graph::follow::NSID => drop(round_trip!(graph::follow::Record, bytes)),
                actor::profile::NSID => drop(round_trip!(actor::profile::Record, bytes)),
                other => panic!("{name}: unexpected collection {other}"),
            }
            *seen.entry(record.collection().to_owned()).or_default() += 1;
        }
    }
    println!("{seen:?}");
    assert_eq!(seen.len(), 4, "all four collections present: {seen:?}");
}

/// The `knownValues` of a field or parameter in a bundled lexicon file.
fn known_values(file: &str, path: &[&str]) -> Vec<String> {
    let p = format!("{}/../lexicons/{file}", env!("CARGO_MANIFEST_DIR"));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    let mut at = &doc;
    for k in path {
        at = &at[*k];
    }
    at["knownValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn field_and_parameter_known_values_are_constants() {
    use atmo_api::app_bsky::actor::defs::{saved_feed_type, thread_view_pref_sort};
    use atmo_api::app_bsky::feed::get_author_feed::params_filter;
    assert_eq!(
        [
            params_filter::POSTS_WITH_REPLIES,
            params_filter::POSTS_NO_REPLIES,
            params_filter::POSTS_WITH_MEDIA,
            params_filter::POSTS_AND_AUTHOR_THREADS,
            params_filter::POSTS_WITH_VIDEO,
        ]
        .to_vec(),
        known_values(
            "app/bsky/feed/getAuthorFeed.json",
            &["defs", "main", "parameters", "properties", "filter"]
        )
    );
    assert_eq!(
        [
            saved_feed_type::FEED,
            saved_feed_type::LIST,
            saved_feed_type::TIMELINE
        ]
        .to_vec(),
        known_values(
            "app/bsky/actor/defs.json",
            &["defs", "savedFeed", "properties", "type"]
        )
    );
    let sorts = known_values(
        "app/bsky/actor/defs.json",
        &["defs", "threadViewPref", "properties", "sort"],
    );
    assert!(sorts.iter().any(|s| s == thread_view_pref_sort::OLDEST));
    assert!(sorts.iter().any(|s| s == thread_view_pref_sort::NEWEST));
}

#[test]
fn optional_nullable_fields_keep_null_apart_from_absent() {
    use atmo_api::com_atproto::repo::put_record::Input;
    let base = serde_json::json!({
        "repo": "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
        "collection": "app.bsky.feed.post",
        "rkey": "3jzfcijpj2z2a",
        "record": {"text": "x"},
    });
    let mut null = base.clone();
    null["swapRecord"] = serde_json::Value::Null;
    let mut cid = base.clone();
    cid["swapRecord"] = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm".into();
    for (json, expect) in [
        (&base, None),
        (&null, Some(None)),
        (
            &cid,
            Some(Some(
                "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm".to_owned(),
            )),
        ),
    ] {
        let input: Input = atmo_data::from_json(&json.to_string()).unwrap();
        assert_eq!(
            input
                .swap_record
                .as_ref()
                .map(|o| o.as_ref().map(|c| c.as_str().to_owned())),
            expect
        );
        let back: serde_json::Value =
            serde_json::from_str(&atmo_data::to_json(&input).unwrap()).unwrap();
        assert_eq!(&back, json);
    }
}

/// Decodes through both paths: straight from the bytes, and through a `Value`.
fn both<T: serde::de::DeserializeOwned>(
    b: &[u8],
) -> (Result<T, atmo_data::Error>, Result<T, atmo_data::Error>) {
    let direct = atmo_data::from_cbor::<T>(b);
    let through = cbor::decode(b)
        .map_err(atmo_data::Error::from)
        .and_then(atmo_data::from_value::<T>);
    (direct, through)
}

#[test]
fn generated_types_direct_and_through_value_agree_on_damaged_records() {
    let mut checked = 0;
    for b in blocks() {
        let Ok(Value::Map(m)) = cbor::decode(&b) else {
            continue;
        };
        if m.get("$type").and_then(Value::as_str) != Some(feed::post::Record::NSID) {
            continue;
        }
        for i in (0..b.len()).step_by(3) {
            for x in [0x00u8, 0x01, 0x18, 0x40, 0x60, 0xa1, 0xf6, 0xff] {
                let mut d = b.clone();
                d[i] = x;
                let (direct, through) = both::<feed::post::Record>(&d);
                // The generated `FromCbor` reader: the same value, or the same error
                // (located the same way), as the serde path.
                let read = atmo_data::read_cbor::<feed::post::Record>(&d);
                match (&read, &direct) {
                    (Ok(a), Ok(b)) => assert_eq!(a, b),
                    (Err(a @ atmo_data::Error::Cbor(_)), Err(b)) => assert_eq!(a, b),
                    (Err(a), Err(b)) => {
                        assert!(matches!(a.innermost(), atmo_data::Error::Serde(_)), "{a:?}");
                        assert!(matches!(b.innermost(), atmo_data::Error::Serde(_)), "{b:?}");
                        if let (
                            atmo_data::Error::At {
                                path: pa,
                                offset: oa,
                                ..
                            },
                            atmo_data::Error::At {
                                path: pb,
                                offset: ob,
                                ..
                            },
                        ) = (a, b)
                        {
                            // The same place, or (a union member's field that sorts
                            // before `$type`, which the serde path replays from a
                            // `Value`) a place inside it.
                            assert!(
                                (pa, oa) == (pb, ob) || (pa.starts_with(pb.as_str()) && oa > ob),
                                "byte {i} = {x:#x}: {a} / {b}"
                            );
                        }
                    }
                    _ => panic!("byte {i} = {x:#x}: read_cbor {read:?}, from_cbor {direct:?}"),
                }
                // The direct path also says where (Error::At); the kind must agree.
                let direct = direct.map_err(|e| e.innermost().clone());
                match (&direct, &through) {
                    (Ok(a), Ok(b)) => assert_eq!(a, b),
                    (Err(atmo_data::Error::Cbor(a)), Err(atmo_data::Error::Cbor(b))) => {
                        assert_eq!(a, b)
                    }
                    (Err(atmo_data::Error::Serde(_)), Err(atmo_data::Error::Serde(_))) => {}
                    _ => panic!("byte {i} = {x:#x}: direct {direct:?}, through Value {through:?}"),
                }
                checked += 1;
            }
            let (direct, through) = both::<feed::post::Record>(&b[..i]);
            assert_eq!(direct.is_err(), through.is_err());
            let read = atmo_data::read_cbor::<feed::post::Record>(&b[..i]);
            assert_eq!(read.err(), direct.err());
        }
    }
    assert!(checked > 1000);
}

#[test]
fn unions_find_type_after_other_keys_and_errors_name_the_field() {
    // In DAG-CBOR `did` (3 bytes) sorts before `$type` (5): the union reads `did` first,
    // keeps it aside, and hands it to the member with the rest of the map.
    let json = r#"{"index": {"byteStart": 0, "byteEnd": 5}, "features": [
        {"did": "did:plc:z72i7hdynmk6r22z27h6tvur", "$type": "app.bsky.richtext.facet#mention"},
        {"uri": "https://example.com", "zz": 1, "$type": "app.bsky.richtext.facet#link"},
        {"a": 1, "$type": "com.example.unknown", "b": [true]}]}"#;
    let v = atmo_data::json::from_str(json).unwrap();
    let b = cbor::encode(&v);
    for facet in [
        atmo_data::from_cbor::<atmo_api::app_bsky::richtext::facet::Facet>(&b).unwrap(),
        atmo_data::read_cbor::<atmo_api::app_bsky::richtext::facet::Facet>(&b).unwrap(),
        atmo_data::from_json(json).unwrap(),
    ] {
        use atmo_api::app_bsky::richtext::facet::FacetFeaturesItem as F;
        assert!(
            matches!(&facet.features[0], F::Mention(m) if m.did.as_str() == "did:plc:z72i7hdynmk6r22z27h6tvur" && m.extra.is_empty())
        );
        assert!(matches!(&facet.features[1], F::Link(l) if l.extra.contains_key("zz")));
        let F::Unknown(u) = &facet.features[2] else {
            panic!("{:?}", facet.features[2])
        };
        assert_eq!(u, &v.get("features").unwrap().as_array().unwrap()[2]);
        assert_eq!(atmo_data::to_cbor(&facet).unwrap(), b);
    }
    // A field of the wrong type: the message names it, down the path.
    let bad = r#"{"$type": "app.bsky.feed.post", "text": "hi", "createdAt": "2024-01-01T00:00:00Z",
        "reply": {"root": {"uri": "at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3k", "cid": 5},
                  "parent": {"uri": "at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3k", "cid": "x"}}}"#;
    let b = cbor::encode(&atmo_data::json::from_str(bad).unwrap());
    let e = atmo_data::from_cbor::<feed::post::Record>(&b)
        .unwrap_err()
        .to_string();
    // From DAG-CBOR: the path and the byte offset of the bad value.
    assert!(e.starts_with("at $.reply.root.cid (byte "), "{e}");
    assert!(
        e.ends_with("invalid type: integer `5`, expected a CID string"),
        "{e}"
    );
    // The generated direct reader: the same error.
    let e = atmo_data::read_cbor::<feed::post::Record>(&b).unwrap_err();
    assert_eq!(
        e,
        atmo_data::from_cbor::<feed::post::Record>(&b).unwrap_err()
    );
    let missing = cbor::encode(&atmo_data::json::from_str(r#"{"text": "hi"}"#).unwrap());
    let e = atmo_data::read_cbor::<feed::post::Record>(&missing).unwrap_err();
    assert_eq!(
        e,
        atmo_data::from_cbor::<feed::post::Record>(&missing).unwrap_err()
    );
    assert!(e.to_string().contains("missing field `createdAt`"), "{e}");
    // From JSON: the fields, named down the path.
    let e = atmo_data::from_json::<feed::post::Record>(bad)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("reply: parent: cid") || e.contains("reply: root: cid"),
        "{e}"
    );
    let e = atmo_data::from_json::<feed::post::Record>(r#"{"text": "hi"}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing field `createdAt`"), "{e}");
    let e = atmo_data::from_json::<feed::post::Record>(
        r#"{"text": "hi", "text": "again", "createdAt": "2024-01-01T00:00:00Z"}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("text"), "{e}");
}

#[test]
fn a_records_own_type_is_noted_not_kept_in_extra() {
    let with = r#"{"$type": "app.bsky.feed.like", "createdAt": "2024-01-01T00:00:00Z",
        "subject": {"uri": "at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3k",
                    "cid": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"}}"#;
    let v = atmo_data::json::from_str(with).unwrap();
    let like = round_trip!(feed::like::Record, &cbor::encode(&v));
    assert!(like.has_type && like.extra.is_empty());
    // Without `$type`, or with another one (kept in `extra`): written back as read.
    let Value::Map(mut m) = v else { panic!() };
    m.remove("$type");
    let like = round_trip!(feed::like::Record, &cbor::encode(&Value::Map(m.clone())));
    assert!(!like.has_type && like.extra.is_empty());
    m.insert("$type", Value::from("com.example.like"));
    let like = round_trip!(feed::like::Record, &cbor::encode(&Value::Map(m.clone())));
    assert!(!like.has_type);
    assert_eq!(
        like.extra.get("$type"),
        Some(&Value::from("com.example.like"))
    );
    // Two `$type`s are refused, the record's own or not.
    for json in [
        r#"{"$type": "app.bsky.feed.like", "$type": "app.bsky.feed.like"}"#,
        r#"{"$type": "x.y.z", "$type": "app.bsky.feed.like"}"#,
    ] {
        let e = atmo_data::from_json::<feed::like::Record>(json).unwrap_err();
        assert!(e.to_string().contains("duplicate"), "{e}");
    }
    // A `$type` that is not a non-empty string is refused.
    for json in [
        r#"{"$type": 5}"#,
        r#"{"$type": ""}"#,
        r#"{"$type": {"a": 1}}"#,
    ] {
        let e = atmo_data::from_json::<feed::like::Record>(json).unwrap_err();
        assert!(e.to_string().contains("$type"), "{e}");
    }
    // A `$type` also put in `extra` by hand is written once.
    let mut like = like;
    like.has_type = true;
    let again: Value = atmo_data::from_cbor(&atmo_data::to_cbor(&like).unwrap()).unwrap();
    assert_eq!(again.get("$type"), Some(&Value::from("app.bsky.feed.like")));
}
