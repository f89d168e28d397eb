//! Verification of `#commit` and `#sync` events, with per-repository state (sans-IO).

use std::collections::{HashMap, HashSet};

use atmo_crypto::PublicKey;
use atmo_data::{Cid, cbor};
use atmo_repo::car::CarReader;
use atmo_repo::{Action, BlockStore, CarBlockStore, Commit, RepoOp, verify_commit_ops};
use atmo_syntax::{Did, Tid};

use crate::error::VerifyError;
use crate::event::{CommitEvent, SyncEvent};
use crate::filter::Filter;

/// How much of each commit is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum VerifyLevel {
    /// Nothing: blocks are trusted (records are still decoded strictly).
    None,
    /// Every block of the commit's CAR slice against its CID, and the commit block
    /// against the event.
    Hashes,
    /// Hashes, the commit signature with the repository's signing key, and sync 1.1:
    /// the operations against `prevData`, `rev` strictly increasing per repository.
    #[default]
    Full,
}

impl std::str::FromStr for VerifyLevel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(Self::None),
            "hashes" => Ok(Self::Hashes),
            "full" => Ok(Self::Full),
            _ => Err(format!("{s:?} is not none, hashes or full")),
        }
    }
}

/// What is known of a repository from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoState {
    /// The last rev accepted.
    pub rev: Tid,
    /// The tree root of the last commit accepted.
    pub data: Cid,
    /// Whether the chain broke since (a commit rejected, or `prevData` not the last
    /// root); cleared by a `#sync` or [`Verifier::resync`].
    pub desynchronized: bool,
}

/// Checks commits and keeps each repository's last rev and tree root.
///
/// The signing key is the caller's to find (the tokio edge resolves and caches it);
/// on a [`VerifyError::Signature`] it may refresh the key and call again: nothing
/// changes in the state when a check fails, except the repository being marked
/// desynchronised.
///
/// ```
/// use atmo_firehose::{Verifier, VerifyLevel};
/// let v = Verifier::new(VerifyLevel::Full);
/// assert!(v.needs_key());
/// ```
#[derive(Debug, Clone)]
pub struct Verifier {
    level: VerifyLevel,
    repos: HashMap<Did, RepoState>,
    max_repos: usize,
}

/// Repositories tracked by default before the oldest states are dropped.
pub const DEFAULT_MAX_REPOS: usize = 1 << 20;

impl Verifier {
    /// A verifier at `level`, with no state.
    pub fn new(level: VerifyLevel) -> Self {
        Self {
            level,
            repos: HashMap::new(),
            max_repos: DEFAULT_MAX_REPOS,
        }
    }

    /// Caps the repositories tracked (memory stays bounded; a dropped state only loses
    /// the rev and chain checks for that repository's next commit).
    #[must_use]
    pub fn max_repos(mut self, n: usize) -> Self {
        self.max_repos = n.max(1);
        self
    }

    /// The level.
    pub fn level(&self) -> VerifyLevel {
        self.level
    }

    /// Whether commits need the repository's signing key.
    pub fn needs_key(&self) -> bool {
        self.level == VerifyLevel::Full
    }

    /// What is known of `did`.
    pub fn state(&self, did: &Did) -> Option<&RepoState> {
        self.repos.get(did)
    }

    /// Marks `did` resynchronised at this commit (after the consumer fetched and
    /// verified the whole repository).
    pub fn resync(&mut self, did: Did, rev: Tid, data: Cid) {
        self.put(
            did,
            RepoState {
                rev,
                data,
                desynchronized: false,
            },
        );
    }

    fn put(&mut self, did: Did, st: RepoState) {
        if self.repos.len() >= self.max_repos && !self.repos.contains_key(&did) {
            if let Some(k) = self.repos.keys().next().cloned() {
                self.repos.remove(&k);
            }
        }
        self.repos.insert(did, st);
    }

    pub(crate) fn mark_desync(&mut self, did: &Did) {
        if let Some(st) = self.repos.get_mut(did) {
            st.desynchronized = true;
        }
    }

    /// Checks a `#commit` at the verifier's level; on success decodes the records of the
    /// operations `filter` keeps, drops the other operations, flags the event if the
    /// repository is desynchronised, and records the new rev and root. `key` is needed
    /// at [`VerifyLevel::Full`].
    ///
    /// # Errors
    /// [`VerifyError`] naming the first check that failed; the repository is then marked
    /// desynchronised.
    pub fn commit(
        &mut self,
        ev: &mut CommitEvent,
        key: Option<&PublicKey>,
        filter: &Filter,
    ) -> Result<(), VerifyError> {
        let r = self.try_commit(ev, key, filter);
        if r.is_err() {
            self.mark_desync(&ev.repo);
        }
        r
    }

    /// [`Verifier::commit`] without marking the repository desynchronised on failure:
    /// for a caller that may try again with a refreshed key, and then calls
    /// [`Verifier::mark_desync`] if the commit fails in the end.
    pub(crate) fn try_commit(
        &mut self,
        ev: &mut CommitEvent,
        key: Option<&PublicKey>,
        filter: &Filter,
    ) -> Result<(), VerifyError> {
        match self.check_commit(ev, key, filter) {
            Ok(data) => {
                let prev = self.repos.get(&ev.repo);
                let broken = match (prev, ev.prev_data) {
                    (Some(st), Some(pd)) => st.desynchronized || st.data != pd,
                    (Some(st), None) => st.desynchronized,
                    (None, _) => false,
                };
                ev.desynchronized = broken;
                if let Some(data) = data {
                    self.put(
                        ev.repo.clone(),
                        RepoState {
                            rev: ev.rev,
                            data,
                            desynchronized: broken,
                        },
                    );
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Returns the commit's tree root when it was read.
    fn check_commit(
        &self,
        ev: &mut CommitEvent,
        key: Option<&PublicKey>,
        filter: &Filter,
    ) -> Result<Option<Cid>, VerifyError> {
        let full = self.level == VerifyLevel::Full;
        if ev.too_big && self.level != VerifyLevel::None {
            return Err(VerifyError::TooBig);
        }
        if full {
            if let Some(st) = self.repos.get(&ev.repo) {
                if ev.rev <= st.rev {
                    return Err(VerifyError::RevNotIncreasing {
                        rev: ev.rev.to_string(),
                        last: st.rev.to_string(),
                    });
                }
            }
        }
        let reader = CarReader::new(&ev.blocks)
            .map_err(|e| VerifyError::Blocks(Box::new(atmo_repo::Error::from(e))))?;
        let reader = if self.level == VerifyLevel::None {
            reader.trust_hashes()
        } else {
            reader
        };
        let store = CarBlockStore::from_reader(reader)
            .map_err(|e| VerifyError::Blocks(Box::new(atmo_repo::Error::from(e))))?;
        let mut data = None;
        if self.level != VerifyLevel::None {
            let root = store.roots().first().copied();
            if root != Some(ev.commit) {
                return Err(VerifyError::Root {
                    expected: ev.commit.to_string(),
                    found: root.map(|c| c.to_string()),
                });
            }
            let commit = read_commit(&store, ev.commit)?;
            check_same(&ev.repo, &ev.rev, &commit)?;
            if full {
                let key = key.ok_or_else(|| VerifyError::NoKey {
                    message: "none given".into(),
                })?;
                commit
                    .verify(key)
                    .map_err(|e| VerifyError::Signature(Box::new(e)))?;
                // A repository's first commit (no `since`) with no operations, as made at
                // account creation, has no previous tree: nothing to invert.
                let first_empty = ev.since.is_none() && ev.ops.is_empty();
                if ev.prev_data.is_none() && first_empty {
                    data = Some(commit.data);
                    return Ok(data);
                }
                let prev_data = ev.prev_data.ok_or(VerifyError::NoPrevData)?;
                let ops: Vec<RepoOp> = ev
                    .ops
                    .iter()
                    .map(|o| RepoOp {
                        action: o.action,
                        path: o.path.clone(),
                        cid: o.cid,
                        prev: o.prev,
                    })
                    .collect();
                let tolerant = Tolerant {
                    inner: &store,
                    prevs: ev.ops.iter().filter_map(|o| o.prev).collect(),
                };
                verify_commit_ops(&tolerant, commit.data, prev_data, &ops)
                    .map_err(|e| VerifyError::Ops(Box::new(e)))?;
            }
            data = Some(commit.data);
        }
        ev.ops.retain(|o| filter.wants_path(&o.path));
        for op in &mut ev.ops {
            if op.action == Action::Delete {
                continue;
            }
            let Some(cid) = op.cid else { continue };
            if let Some(bytes) = store.get_block(&cid).filter(|b| !b.is_empty()) {
                op.record = Some(cbor::decode(bytes).map_err(|source| VerifyError::Record {
                    path: op.path.clone(),
                    source,
                })?);
            }
        }
        Ok(data)
    }

    /// Checks a `#sync` (the commit block's hash, repository, rev and, at
    /// [`VerifyLevel::Full`], signature) and starts the repository's chain over from its
    /// commit.
    ///
    /// # Errors
    /// [`VerifyError`] naming the failed check.
    pub fn sync(&mut self, ev: &SyncEvent, key: Option<&PublicKey>) -> Result<(), VerifyError> {
        if self.level == VerifyLevel::None {
            self.repos.remove(&ev.did);
            return Ok(());
        }
        let store = CarBlockStore::from_car(&ev.blocks)
            .map_err(|e| VerifyError::Blocks(Box::new(atmo_repo::Error::from(e))))?;
        let root = store
            .roots()
            .first()
            .copied()
            .ok_or_else(|| VerifyError::Root {
                expected: "(the #sync commit)".into(),
                found: None,
            })?;
        let commit = read_commit(&store, root)?;
        check_same(&ev.did, &ev.rev, &commit)?;
        if self.level == VerifyLevel::Full {
            let key = key.ok_or_else(|| VerifyError::NoKey {
                message: "none given".into(),
            })?;
            commit
                .verify(key)
                .map_err(|e| VerifyError::Signature(Box::new(e)))?;
        }
        self.resync(ev.did.clone(), ev.rev, commit.data);
        Ok(())
    }
}

fn read_commit(store: &CarBlockStore<'_>, cid: Cid) -> Result<Commit, VerifyError> {
    let bytes = store.get_block(&cid).ok_or_else(|| {
        VerifyError::Commit(Box::new(atmo_repo::CommitError::Shape {
            reason: "the commit block is missing",
        }))
    })?;
    Commit::decode(bytes).map_err(|e| VerifyError::Commit(Box::new(e)))
}

fn check_same(did: &Did, rev: &Tid, commit: &Commit) -> Result<(), VerifyError> {
    if &commit.did != did {
        return Err(VerifyError::Mismatch {
            field: "did",
            expected: did.to_string(),
            found: commit.did.to_string(),
        });
    }
    if commit.rev.as_ref() != Some(rev) {
        return Err(VerifyError::Mismatch {
            field: "rev",
            expected: rev.to_string(),
            found: commit
                .rev
                .as_ref()
                .map_or_else(|| "(none)".into(), ToString::to_string),
        });
    }
    Ok(())
}

/// The reference PDS leaves out a record block whose CID is the `prev` of an operation
/// of the same commit (the record's bytes are unchanged, so it sends them once, or not at
/// all): such a block counts as present for the sync 1.1 check.
struct Tolerant<'a, S> {
    inner: &'a S,
    prevs: HashSet<Cid>,
}

impl<S: BlockStore> BlockStore for Tolerant<'_, S> {
    fn get_block(&self, cid: &Cid) -> Option<&[u8]> {
        match self.inner.get_block(cid) {
            Some(b) => Some(b),
            None if self.prevs.contains(cid) => Some(&[]),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Op;
    use atmo_crypto::{Curve, Keypair};
    use atmo_repo::{Write, apply_writes, build_repo};

    /// A repository with one record, and a `#commit` adding a second one.
    fn fixture() -> (Keypair, CommitEvent) {
        let key = Keypair::generate(Curve::K256).unwrap();
        let did: Did = "did:plc:abcdefghijklmnopqrstuvwx".parse().unwrap();
        let rec = atmo_data::json::from_str(r#"{"$type": "app.bsky.feed.like"}"#).unwrap();
        let built = build_repo(
            &did,
            &key,
            Tid::now(),
            [("app.bsky.feed.like/3kabcdefghij2".to_string(), rec.clone())],
        )
        .unwrap();
        let store = CarBlockStore::from_car(&built.car).unwrap();
        let cd = apply_writes(
            &store,
            built.commit_cid,
            [Write::Create {
                path: "app.bsky.feed.post/3kabcdefghij3".into(),
                value: atmo_data::json::from_str(
                    r#"{"$type": "app.bsky.feed.post", "text": "hi"}"#,
                )
                .unwrap(),
            }],
            &key,
            None,
        )
        .unwrap();
        let ev = CommitEvent {
            seq: 2,
            repo: did,
            rev: cd.commit.rev.unwrap(),
            since: cd.since,
            commit: cd.cid,
            prev_data: Some(cd.prev_data),
            blocks: cd.car(),
            ops: cd
                .ops
                .iter()
                .map(|o| Op {
                    action: o.action,
                    path: o.path.clone(),
                    cid: o.cid,
                    prev: o.prev,
                    record: None,
                })
                .collect(),
            time: "2024-01-01T00:00:00Z".into(),
            too_big: false,
            desynchronized: false,
        };
        (key, ev)
    }

    #[test]
    fn a_good_commit_verifies_fully_and_its_record_is_decoded() {
        let (key, mut ev) = fixture();
        let mut v = Verifier::new(VerifyLevel::Full);
        v.commit(&mut ev, Some(&key.public_key()), &Filter::default())
            .unwrap();
        let text = ev.ops[0].record.as_ref().unwrap().get("text").unwrap();
        assert_eq!(text.as_str(), Some("hi"));
        assert_eq!(v.state(&ev.repo).unwrap().rev, ev.rev);
        // The same rev again goes back: rejected, and the repository is desynchronised.
        let (_, mut again) = (0, ev.clone());
        let err = v
            .commit(&mut again, Some(&key.public_key()), &Filter::default())
            .unwrap_err();
        assert!(matches!(err, VerifyError::RevNotIncreasing { .. }), "{err}");
        assert!(v.state(&ev.repo).unwrap().desynchronized);
    }

    #[test]
    fn another_key_wrong_ops_and_flipped_bytes_are_rejected_each_with_its_reason() {
        let (key, ev) = fixture();
        let other = Keypair::generate(Curve::K256).unwrap();
        let pk = key.public_key();
        let f = Filter::default();

        let mut e = ev.clone();
        let err = Verifier::new(VerifyLevel::Full)
            .commit(&mut e, Some(&other.public_key()), &f)
            .unwrap_err();
        assert!(matches!(err, VerifyError::Signature(_)), "{err}");

        let mut e = ev.clone();
        e.ops[0].path = "app.bsky.feed.post/3kabcdefghij4".into();
        let err = Verifier::new(VerifyLevel::Full)
            .commit(&mut e, Some(&pk), &f)
            .unwrap_err();
        assert!(matches!(err, VerifyError::Ops(_)), "{err}");

        let mut e = ev.clone();
        let n = e.blocks.len();
        e.blocks[n - 3] ^= 1;
        let err = Verifier::new(VerifyLevel::Hashes)
            .commit(&mut e, None, &f)
            .unwrap_err();
        assert!(matches!(err, VerifyError::Blocks(_)), "{err}");
        // Without checks the flipped byte goes through (or fails to decode), never panics.
        let mut e2 = e.clone();
        let _ = Verifier::new(VerifyLevel::None).commit(&mut e2, None, &f);
    }

    #[test]
    fn the_collection_filter_drops_ops_before_records_are_decoded() {
        let (key, mut ev) = fixture();
        let f = Filter::default().collection("app.bsky.graph.*");
        Verifier::new(VerifyLevel::Full)
            .commit(&mut ev, Some(&key.public_key()), &f)
            .unwrap();
        assert!(ev.ops.is_empty());
    }
}
