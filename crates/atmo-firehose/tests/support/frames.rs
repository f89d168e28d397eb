//! Realistic `#commit` frames made with atmo's own repository code, as a PDS makes them:
//! accounts with a few thousand records, commits of two or three writes (mostly creates of
//! posts and likes, sometimes an update or a delete), each frame's CAR slice holding the
//! commit, the new tree nodes, the new records and the old nodes sync 1.1 needs. Accounts
//! take turns at random, often twice in a row. Deterministic for a seed (except the revs,
//! which follow the clock as a PDS's do). Shared by the tests and the benchmark.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;

use atmo_crypto::{Curve, Keypair, PublicKey};
use atmo_data::{Cid, Map, Value, cbor};
use atmo_repo::{Action, CarBlockStore, MemoryBlockStore, Write, apply_writes, build_repo};
use atmo_syntax::{Did, Tid};

/// A deterministic generator (splitmix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

const WORDS: &[&str] = &[
    "the",
    "atmosphere",
    "protocol",
    "firehose",
    "relay",
    "repo",
    "commit",
    "signed",
    "tree",
    "merkle",
    "search",
    "ocean",
    "coffee",
    "morning",
    "build",
    "rust",
    "fast",
    "verify",
    "account",
    "post",
    "today",
    "friends",
    "weather",
    "music",
    "again",
    "really",
    "think",
];

fn text(rng: &mut Rng, min: usize, max: usize) -> String {
    let want = min + rng.below((max - min) as u64) as usize;
    let mut s = String::new();
    while s.len() < want {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
    }
    s
}

fn time(i: u64) -> String {
    format!(
        "2026-12-0{}T{:02}:{:02}:{:02}.{:03}Z",
        1 + (i / 86_400_000) % 9,
        (i / 3_600_000) % 24,
        (i / 60_000) % 60,
        (i / 1000) % 60,
        i % 1000
    )
}

fn map(entries: Vec<(&str, Value)>) -> Value {
    let mut m = Map::new();
    for (k, v) in entries {
        m.insert(k, v);
    }
    Value::Map(m)
}

/// A post of 100-280 characters, sometimes with a reply or an embed.
fn post(rng: &mut Rng, i: u64, other: &Did, other_cid: Cid) -> Value {
    let mut e = vec![
        ("$type", Value::from("app.bsky.feed.post")),
        ("text", Value::from(text(rng, 100, 280))),
        ("createdAt", Value::from(time(i))),
        ("langs", Value::from(vec![Value::from("en")])),
    ];
    if rng.below(3) == 0 {
        let strong = map(vec![
            (
                "uri",
                Value::from(format!("at://{other}/app.bsky.feed.post/3l{:011}", i / 2)),
            ),
            ("cid", Value::from(other_cid.to_string())),
        ]);
        e.push((
            "reply",
            map(vec![("root", strong.clone()), ("parent", strong)]),
        ));
    }
    map(e)
}

fn like(i: u64, other: &Did, other_cid: Cid) -> Value {
    map(vec![
        ("$type", Value::from("app.bsky.feed.like")),
        (
            "subject",
            map(vec![
                (
                    "uri",
                    Value::from(format!("at://{other}/app.bsky.feed.post/3l{:011}", i / 3)),
                ),
                ("cid", Value::from(other_cid.to_string())),
            ]),
        ),
        ("createdAt", Value::from(time(i))),
    ])
}

/// One account: its key, its blocks, its head and its records.
pub struct Account {
    pub did: Did,
    pub key: Keypair,
    store: MemoryBlockStore,
    head: Cid,
    paths: Vec<String>,
    next: u64,
}

/// Frames and the keys that sign them.
pub struct Frames {
    pub frames: Vec<Vec<u8>>,
    pub keys: HashMap<Did, PublicKey>,
}

fn did_of(i: usize) -> Did {
    // did:plc is 24 base32 characters.
    let alphabet = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut n = (i as u64).wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x5bd1_e995;
    let mut s = String::from("did:plc:");
    for _ in 0..24 {
        s.push(alphabet[(n % 32) as usize] as char);
        n = (n / 32) ^ (n << 7);
    }
    s.parse().expect("a did:plc")
}

impl Account {
    /// An account with `records` records already (posts and likes).
    pub fn new(i: usize, records: usize, rng: &mut Rng) -> Self {
        let did = did_of(i);
        let mut seed = [0u8; 32];
        for (j, b) in seed.iter_mut().enumerate() {
            *b = (rng.next_u64() as u8) | (j == 0) as u8;
        }
        let key = Keypair::from_private_key_bytes(Curve::K256, &seed).expect("a scalar");
        let other = did_of(i + 1);
        let some_cid = Cid::for_dag_cbor(&cbor::encode(&Value::from(i as i64)));
        let mut paths = Vec::new();
        let recs: Vec<(String, Value)> = (0..records as u64)
            .map(|n| {
                let (path, v) = if n % 3 == 0 {
                    (
                        format!("app.bsky.feed.post/3l{n:011}"),
                        post(rng, n, &other, some_cid),
                    )
                } else {
                    (
                        format!("app.bsky.feed.like/3l{n:011}"),
                        like(n, &other, some_cid),
                    )
                };
                paths.push(path.clone());
                (path, v)
            })
            .collect();
        let built = build_repo(&did, &key, Tid::now(), recs).expect("a repository");
        let car = CarBlockStore::from_car(&built.car).expect("its CAR");
        let mut store = MemoryBlockStore::new();
        for (cid, bytes) in car.iter() {
            store.insert(cid, bytes.to_vec());
        }
        Self {
            did,
            key,
            store,
            head: built.commit_cid,
            paths,
            next: records as u64,
        }
    }

    /// The next commit's frame (`seq`): two or three writes.
    pub fn commit(&mut self, seq: i64, rng: &mut Rng) -> Vec<u8> {
        let other = did_of(seq as usize);
        let some_cid = Cid::for_dag_cbor(&cbor::encode(&Value::from(seq)));
        let mut writes = Vec::new();
        let mut touched: Vec<String> = Vec::new();
        for _ in 0..2 + rng.below(2) {
            let n = self.next;
            self.next += 1;
            let roll = rng.below(20);
            if roll == 0 && self.paths.len() > 10 {
                let at = rng.below(self.paths.len() as u64) as usize;
                let path = self.paths.swap_remove(at);
                if touched.contains(&path) {
                    self.paths.push(path);
                    continue;
                }
                touched.push(path.clone());
                writes.push(Write::Delete { path });
            } else if roll == 1 {
                let Some(path) = self
                    .paths
                    .iter()
                    .find(|p| p.starts_with("app.bsky.feed.post/") && !touched.contains(p))
                    .cloned()
                else {
                    continue;
                };
                touched.push(path.clone());
                writes.push(Write::Update {
                    path,
                    value: post(rng, n, &other, some_cid),
                });
            } else if rng.below(2) == 0 {
                let path = format!("app.bsky.feed.post/3l{n:011}");
                self.paths.push(path.clone());
                touched.push(path.clone());
                writes.push(Write::Create {
                    path,
                    value: post(rng, n, &other, some_cid),
                });
            } else {
                let path = format!("app.bsky.feed.like/3l{n:011}");
                self.paths.push(path.clone());
                touched.push(path.clone());
                writes.push(Write::Create {
                    path,
                    value: like(n, &other, some_cid),
                });
            }
        }
        if writes.is_empty() {
            let n = self.next;
            self.next += 1;
            let path = format!("app.bsky.feed.like/3l{n:011}");
            self.paths.push(path.clone());
            writes.push(Write::Create {
                path,
                value: like(n, &other, some_cid),
            });
        }
        let cd = apply_writes(&self.store, self.head, writes, &self.key, None).expect("writes");
        for (cid, bytes) in cd.stored_blocks() {
            self.store.insert(*cid, bytes.clone());
        }
        self.head = cd.cid;
        let ops: Vec<Value> = cd
            .ops
            .iter()
            .map(|o| {
                let action = match o.action {
                    Action::Create => "create",
                    Action::Update => "update",
                    Action::Delete => "delete",
                };
                let link = |c: Option<Cid>| c.map_or(Value::Null, Value::from);
                let mut e = vec![
                    ("action", Value::from(action)),
                    ("path", Value::from(o.path.clone())),
                    ("cid", link(o.cid)),
                ];
                if let Some(prev) = o.prev {
                    e.push(("prev", Value::from(prev)));
                }
                map(e)
            })
            .collect();
        let body = map(vec![
            ("seq", Value::from(seq)),
            ("rebase", Value::from(false)),
            ("tooBig", Value::from(false)),
            ("repo", Value::from(self.did.to_string())),
            ("commit", Value::from(cd.cid)),
            (
                "rev",
                Value::from(cd.commit.rev.expect("a rev").to_string()),
            ),
            (
                "since",
                cd.since.map_or(Value::Null, |s| Value::from(s.to_string())),
            ),
            ("blocks", Value::from(cd.car())),
            ("ops", Value::from(ops)),
            ("blobs", Value::from(Vec::<Value>::new())),
            ("prevData", Value::from(cd.prev_data)),
            ("time", Value::from(time(seq as u64 * 137))),
        ]);
        let header = map(vec![
            ("op", Value::from(1i64)),
            ("t", Value::from("#commit")),
        ]);
        let mut frame = cbor::encode(&header);
        frame.extend(cbor::encode(&body));
        frame
    }
}

/// `commits` frames from `accounts` accounts of `records` records each, seqs from 1.
/// About a third of the time the account of the previous frame commits again.
pub fn generate(accounts: usize, records: usize, commits: usize, seed: u64) -> Frames {
    let mut rng = Rng::new(seed);
    let mut all: Vec<Account> = (0..accounts)
        .map(|i| Account::new(i, records, &mut rng))
        .collect();
    let keys = all
        .iter()
        .map(|a| (a.did.clone(), a.key.public_key()))
        .collect();
    let mut frames = Vec::with_capacity(commits);
    let mut last = 0usize;
    for seq in 1..=commits as i64 {
        let who = if rng.below(3) == 0 {
            last
        } else {
            rng.below(accounts as u64) as usize
        };
        last = who;
        frames.push(all[who].commit(seq, &mut rng));
    }
    Frames { frames, keys }
}
