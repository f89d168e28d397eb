//! Shared test helpers: a deterministic generator of repository jobs (records, key, rev)
//! in the JSON form that tests/oracle/repo-oracle.mjs reads.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::{Value as Json, json};

/// Small deterministic PRNG (splitmix64).
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5eed)
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub(crate) fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

const ALPHABET: &[u8] = b"234567abcdefghijklmnopqrstuvwxyz";

pub(crate) fn tid(rng: &mut Rng) -> String {
    let micros = 1_600_000_000_000_000 + rng.below(200_000_000_000_000);
    let v = (micros << 10) | rng.below(1024);
    (0..13)
        .map(|i| ALPHABET[((v >> (60 - 5 * i)) & 31) as usize] as char)
        .collect()
}

const WORDS: &[&str] = &[
    "the",
    "atproto",
    "firehose",
    "café",
    "日本語",
    "🦋",
    "repo",
    "naïve",
    "straße",
    "",
    "x",
];

fn text(rng: &mut Rng) -> String {
    let n = rng.below(12);
    (0..n)
        .map(|_| *rng.pick(WORDS))
        .collect::<Vec<_>>()
        .join(" ")
}

fn cid_str(rng: &mut Rng) -> String {
    let bytes = rng.next().to_le_bytes();
    atmo_data::Cid::for_dag_cbor(&bytes).to_string()
}

/// A record value of the given collection, with links, bytes, blobs, nesting and
/// integers of all sizes that JavaScript holds exactly.
pub(crate) fn record(rng: &mut Rng, collection: &str) -> Json {
    let mut v = json!({ "$type": collection, "createdAt": "2024-01-01T00:00:00.000Z" });
    let m = v.as_object_mut().unwrap();
    match rng.below(6) {
        0 => {
            m.insert("text".into(), json!(text(rng)));
            m.insert("langs".into(), json!(["en", "ja"]));
        }
        1 => {
            m.insert(
                "subject".into(),
                json!({"uri": format!("at://did:plc:abc/app.bsky.feed.post/{}", tid(rng)), "cid": cid_str(rng)}),
            );
        }
        2 => {
            m.insert("link".into(), json!({"$link": cid_str(rng)}));
            m.insert("bytes".into(), json!({"$bytes": "AQIDBAU"}));
        }
        3 => {
            m.insert(
                "embed".into(),
                json!({"$type": "app.bsky.embed.images", "images": [{"alt": text(rng), "image": {
                    "$type": "blob", "ref": {"$link": atmo_data::Cid::for_raw(&rng.next().to_le_bytes()).to_string()},
                    "mimeType": "image/jpeg", "size": rng.below(1_000_000)}}]}),
            );
        }
        4 => {
            let big = (rng.below(1 << 53)) as i64;
            m.insert(
                "numbers".into(),
                json!([
                    0, 1, -1, 23, 24, -24, -25, 255, 256, 65535, 65536, big, -big
                ]),
            );
            m.insert("flags".into(), json!({"a": true, "b": false, "c": null}));
        }
        _ => {
            m.insert(
                "nested".into(),
                json!({"deeper": {"deepest": [[], {}, [text(rng)]]}}),
            );
        }
    }
    v
}

const COLLECTIONS: &[&str] = &[
    "app.bsky.feed.post",
    "app.bsky.feed.like",
    "app.bsky.graph.follow",
    "app.bsky.feed.repost",
    "com.example.record",
    "xyz.statusphere.status",
];

/// A job: `n` records with unique paths, a key on `curve`, a rev.
pub(crate) fn job(seed: u64, n: usize, curve: &str) -> Json {
    let mut rng = Rng::new(seed);
    let mut paths = std::collections::BTreeSet::new();
    let mut records = Vec::new();
    if n > 0 {
        paths.insert("app.bsky.actor.profile/self".to_string());
        records.push(json!({"path": "app.bsky.actor.profile/self",
            "value": {"$type": "app.bsky.actor.profile", "displayName": text(&mut rng)}}));
    }
    while records.len() < n {
        let c = *rng.pick(COLLECTIONS);
        let rkey = match rng.below(10) {
            0 => format!("k{}~:._-{}", rng.below(100), rng.below(10)),
            _ => tid(&mut rng),
        };
        let path = format!("{c}/{rkey}");
        if paths.insert(path.clone()) {
            let value = record(&mut rng, c);
            records.push(json!({"path": path, "value": value}));
        }
    }
    let mut key = [0u8; 32];
    for chunk in key.chunks_mut(8) {
        chunk.copy_from_slice(&rng.next().to_le_bytes());
    }
    key[0] = 0x10; // well below either curve's order
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    json!({
        "did": format!("did:plc:{}", (0..24).map(|_| ALPHABET[rng.below(32) as usize] as char).collect::<String>()),
        "privateKeyHex": hex,
        "curve": curve,
        "rev": tid(&mut rng),
        "records": records,
    })
}

/// Builds a job with atmo: (commit CID, MST root CID, CAR bytes).
pub(crate) fn build_with_atmo(job: &Json) -> atmo_repo::BuiltRepo {
    let curve: atmo_crypto::Curve = job["curve"].as_str().unwrap().parse().unwrap();
    let key =
        atmo_crypto::Keypair::from_private_key_hex(curve, job["privateKeyHex"].as_str().unwrap())
            .unwrap();
    let records = job["records"].as_array().unwrap().iter().map(|r| {
        let value = atmo_data::json::from_str(&r["value"].to_string()).unwrap();
        (r["path"].as_str().unwrap().to_owned(), value)
    });
    atmo_repo::build_repo(
        &job["did"].as_str().unwrap().parse().unwrap(),
        &key,
        job["rev"].as_str().unwrap().parse().unwrap(),
        records,
    )
    .unwrap()
}

pub(crate) fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(crate) fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Shared with the fixture test: the CAR holds exactly the job's records and verifies.
pub(crate) fn check_reference_car(car: &[u8], job: &Json, want: &Json) {
    let repo = atmo_repo::Repo::from_car(car).unwrap();
    assert_eq!(
        repo.commit_cid().to_string(),
        want["commit"].as_str().unwrap()
    );
    assert_eq!(
        repo.commit().data.to_string(),
        want["data"].as_str().unwrap()
    );
    assert_eq!(
        repo.commit().rev.unwrap().as_str(),
        job["rev"].as_str().unwrap()
    );
    let mut records: Vec<(String, Json)> = job["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["path"].as_str().unwrap().to_owned(), r["value"].clone()))
        .collect();
    records.sort_by(|a, b| a.0.cmp(&b.0));
    let got: Vec<_> = repo.records().map(Result::unwrap).collect();
    assert_eq!(got.len(), records.len());
    for (rec, (path, value)) in got.iter().zip(&records) {
        assert_eq!(rec.path(), path);
        let want = atmo_data::json::from_str(&value.to_string()).unwrap();
        assert_eq!(rec.to_value().unwrap(), want, "{path}");
        assert_eq!(
            rec.cid(),
            atmo_data::Cid::for_dag_cbor(&atmo_data::cbor::encode(&want))
        );
    }
    let key = atmo_crypto::Keypair::from_private_key_hex(
        job["curve"].as_str().unwrap().parse().unwrap(),
        job["privateKeyHex"].as_str().unwrap(),
    )
    .unwrap();
    repo.verify(&atmo_repo::VerifyOptions::new().key(key.public_key()))
        .unwrap();
}
