//! Mirroring a whole repository: head, commit, tree and records, from peers and/or the
//! PDS, verified as atmo-repo verifies a repository, written as a CAR.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use atmo_crypto::PublicKey;
use atmo_data::Cid;
use atmo_http::{ConnectPolicy, HttpClient};
use atmo_identity::{DidDocument, Resolver, ResolverConfig};
use atmo_repo::mst::NodeData;
use atmo_repo::{Commit, Repo, VerifyOptions};
use atmo_syntax::{Did, Tid};
use bytes::Bytes;
use libp2p::Multiaddr;

use crate::error::Error;
use crate::fetch::{FetchStats, Fetcher, Pds};
use crate::node::{Node, NodeConfig};
use crate::store::Blocks;

/// What to mirror, and from where.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MirrorOptions {
    /// The repository.
    pub did: Did,
    /// Peers to fetch blocks from over Bitswap.
    pub peers: Vec<Multiaddr>,
    /// Fetch blocks the peers do not have from the PDS (`com.atproto.sync.getBlocks`).
    /// Default true. Without it the PDS may still be asked for the head (when no `root`
    /// is given), never for a block.
    pub use_pds: bool,
    /// The commit to mirror; default: the PDS's current head
    /// (`com.atproto.sync.getLatestCommit`).
    pub root: Option<Cid>,
    /// The repository's signing key, when already known; default: the `#atproto` key of
    /// the DID's document. With `root` and `key` given and `use_pds` off, nothing but the
    /// peers is contacted.
    pub key: Option<PublicKey>,
    /// The PDS to ask for the head and for blocks (default: the one the DID document
    /// names).
    pub pds: Option<String>,
    /// The previous mirror's CAR: its blocks are used first, so only new blocks are
    /// fetched.
    pub previous: Option<Bytes>,
    /// The node to fetch through (default: a new client-only node).
    pub node: Option<Arc<Node>>,
    /// How long a peer has to answer a want (default 10 s).
    pub want_timeout: Duration,
    /// The resolver for the DID (default: one on the PLC directory below).
    pub resolver: Option<Resolver>,
    /// The PLC directory for the default resolver.
    pub plc_url: String,
    /// Allow private and loopback addresses, and plain http, for the PDS and the
    /// resolver (development networks). Default false.
    pub allow_private_network: bool,
    /// Most blocks the repository may have (default 10 million).
    pub max_blocks: usize,
}

impl MirrorOptions {
    /// Mirror `did` from its PDS, with no peers.
    pub fn new(did: Did) -> Self {
        MirrorOptions {
            did,
            peers: Vec::new(),
            use_pds: true,
            root: None,
            key: None,
            pds: None,
            previous: None,
            node: None,
            want_timeout: Duration::from_secs(10),
            resolver: None,
            plc_url: ResolverConfig::default().plc_url,
            allow_private_network: false,
            max_blocks: 10_000_000,
        }
    }
}

/// A mirrored repository.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Mirrored {
    /// The repository.
    pub did: Did,
    /// The commit mirrored.
    pub commit: Cid,
    /// Its rev.
    pub rev: Tid,
    /// Records in the repository.
    pub records: usize,
    /// Blocks in the CAR.
    pub blocks: usize,
    /// The repository as a CAR (root: the commit; then the commit, the tree nodes level
    /// by level, the records), verified.
    pub car: Vec<u8>,
    /// Where the blocks came from.
    pub stats: FetchStats,
}

/// A mirror run: see [`MirrorOptions`] and [`Mirror::run`].
#[derive(Debug)]
pub struct Mirror {
    options: MirrorOptions,
    http: HttpClient,
    resolver: Resolver,
}

impl Mirror {
    /// Sets up a mirror run (nothing is contacted yet).
    ///
    /// # Errors
    /// [`Error::Http`] if the HTTP client cannot be built.
    pub fn new(options: MirrorOptions) -> Result<Self, Error> {
        let http = match &options.resolver {
            Some(r) => r.http().clone(),
            None => HttpClient::builder()
                .policy(
                    ConnectPolicy::default().allow_private_network(options.allow_private_network),
                )
                .build()
                .map_err(|source| Error::Http {
                    url: String::new(),
                    source: Box::new(source),
                })?,
        };
        let resolver = match &options.resolver {
            Some(r) => r.clone(),
            None => {
                let mut rc = ResolverConfig::default();
                rc.plc_url.clone_from(&options.plc_url);
                rc.allow_private_network = options.allow_private_network;
                Resolver::with_http(rc, http.clone())
            }
        };
        Ok(Mirror {
            options,
            http,
            resolver,
        })
    }

    /// Mirrors the repository: the head (given, or from the PDS), then the commit (its
    /// DID and signature checked before anything else is fetched), the tree level by
    /// level and the records, each batch from the local store, then the peers, then the
    /// PDS; then the whole repository is verified (every block against its CID, the tree
    /// canonical, the signature) and returned as a CAR.
    ///
    /// # Errors
    /// [`Error::Identity`] when the DID does not resolve; [`Error::NoPds`]; the fetch
    /// errors of [`Fetcher::get_blocks`]; [`Error::WrongRepo`]; [`Error::Repo`] when the
    /// commit or the repository does not verify.
    pub async fn run(self) -> Result<Mirrored, Error> {
        let o = &self.options;
        let did = o.did.clone();
        let need_pds = o.root.is_none() || o.use_pds;
        let need_doc = o.key.is_none() || (need_pds && o.pds.is_none());
        let doc: Option<DidDocument> = if need_doc {
            Some(self.resolver.resolve_did(&did).await?)
        } else {
            None
        };
        let key = match (&o.key, &doc) {
            (Some(k), _) => *k,
            (None, Some(doc)) => doc.signing_key()?,
            (None, None) => return Err(Error::NoPds { did }),
        };
        let pds = o
            .pds
            .as_deref()
            .or_else(|| doc.as_ref().and_then(|d| d.pds_endpoint()))
            .map(|base| Pds::new(self.http.clone(), base, did.clone()));
        let root = match (o.root, &pds) {
            (Some(root), _) => root,
            (None, Some(pds)) => pds.latest_commit().await?.0,
            (None, None) => return Err(Error::NoPds { did }),
        };

        let mut local = Blocks::new();
        if let Some(prev) = &o.previous {
            local.add_car(prev.clone())?;
        }
        let mut fetcher = Fetcher::new(local);
        if !o.peers.is_empty() {
            let node = match &o.node {
                Some(n) => Arc::clone(n),
                None => Arc::new(
                    Node::start(NodeConfig {
                        want_timeout: o.want_timeout,
                        ..NodeConfig::default()
                    })
                    .await?,
                ),
            };
            fetcher = fetcher.with_node(node);
            for addr in &o.peers {
                if let Err(e) = fetcher.add_peer(addr).await {
                    tracing::warn!("peer {addr}: {e}");
                }
            }
        }
        if o.use_pds {
            match pds {
                Some(pds) => fetcher = fetcher.with_pds(pds),
                None => return Err(Error::NoPds { did }),
            }
        }

        // The commit first: nothing else is fetched for a commit that does not verify.
        let commit_bytes = fetcher.get_block(root).await?;
        let commit = Commit::decode(&commit_bytes).map_err(atmo_repo::Error::from)?;
        if commit.did != did {
            return Err(Error::WrongRepo {
                commit: Box::new(root),
                expected: did,
                found: commit.did,
            });
        }
        commit.verify(&key).map_err(atmo_repo::Error::from)?;
        let rev = commit
            .rev
            .ok_or(Error::Repo(Box::new(atmo_repo::Error::Commit(
                atmo_repo::CommitError::Shape {
                    reason: "a version 2 commit without rev cannot be mirrored",
                },
            ))))?;

        let mut order: Vec<Cid> = vec![root];
        let mut seen: HashSet<Cid> = HashSet::from([root]);
        let mut records: Vec<Cid> = Vec::new();
        let mut level = vec![commit.data];
        seen.insert(commit.data);
        while !level.is_empty() {
            fetcher.get_blocks(&level).await?;
            let mut next = Vec::new();
            for cid in &level {
                order.push(*cid);
                let bytes = fetcher
                    .local()
                    .block(cid)
                    .cloned()
                    .ok_or(Error::NotFound { cid: *cid })?;
                let node = NodeData::decode(&bytes).map_err(atmo_repo::Error::from)?;
                let children = node
                    .left
                    .into_iter()
                    .chain(node.entries.iter().filter_map(|e| e.right));
                for child in children {
                    if seen.insert(child) {
                        next.push(child);
                    }
                }
                for e in &node.entries {
                    if seen.insert(e.value) {
                        records.push(e.value);
                    }
                }
            }
            if seen.len() > o.max_blocks {
                return Err(Error::Limit {
                    what: "blocks in the repository",
                    max: o.max_blocks as u64,
                });
            }
            level = next;
        }
        fetcher.get_blocks(&records).await?;
        order.extend(records);

        let local = fetcher.local();
        let mut blocks = Vec::with_capacity(order.len());
        for cid in &order {
            let data = local.block(cid).ok_or(Error::NotFound { cid: *cid })?;
            blocks.push((*cid, data.as_ref()));
        }
        let car = atmo_repo::car::write_car(&[root], blocks);
        let repo = Repo::from_car(&car)?;
        let report = repo.verify(&VerifyOptions::new().key(key).did(did.clone()))?;
        Ok(Mirrored {
            did,
            commit: root,
            rev,
            records: report.records,
            blocks: order.len(),
            car,
            stats: fetcher.stats(),
        })
    }
}
