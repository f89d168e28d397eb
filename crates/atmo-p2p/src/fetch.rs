//! Blocks from wherever they are: the local store, then Bitswap peers, then the PDS.

use std::collections::HashSet;
use std::sync::Arc;

use atmo_data::Cid;
use atmo_http::HttpClient;
use atmo_repo::car::CarReader;
use atmo_syntax::{Did, Tid};
use bytes::Bytes;
use libp2p::{Multiaddr, PeerId};

use crate::error::Error;
use crate::node::Node;
use crate::store::Blocks;

/// The largest CAR read from one `getBlocks` answer.
const MAX_GET_BLOCKS_BYTES: u64 = 64 * 1024 * 1024;
/// CIDs per `getBlocks` request (keeps the URL short).
const GET_BLOCKS_BATCH: usize = 100;

/// A repository's PDS, for its head and, as the last resort, its blocks.
#[derive(Debug, Clone)]
pub struct Pds {
    http: HttpClient,
    base: String,
    did: Did,
}

impl Pds {
    /// The PDS at `base` (e.g. `https://pds.example.com`) for the repository of `did`,
    /// reached through `http` (and so under its connect policy).
    pub fn new(http: HttpClient, base: &str, did: Did) -> Self {
        Pds {
            http,
            base: base.trim_end_matches('/').to_owned(),
            did,
        }
    }

    /// The PDS's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn get(&self, url: &str, accept: &str, max: u64) -> Result<Option<Bytes>, Error> {
        let res = self
            .http
            .get(url, accept, max)
            .await
            .map_err(|source| Error::Http {
                url: url.to_owned(),
                source: Box::new(source),
            })?;
        let status = res.status().as_u16();
        if status == 400 || status == 404 {
            return Ok(None);
        }
        if !(200..300).contains(&status) {
            return Err(Error::Status {
                url: url.to_owned(),
                status,
            });
        }
        Ok(Some(res.into_body()))
    }

    /// The repository's current head: `com.atproto.sync.getLatestCommit` (the commit's
    /// CID and rev).
    ///
    /// # Errors
    /// [`Error::Http`], [`Error::Status`] (400 and 404 included: the PDS does not host
    /// the repository), [`Error::Body`].
    pub async fn latest_commit(&self) -> Result<(Cid, Tid), Error> {
        let url = format!(
            "{}/xrpc/com.atproto.sync.getLatestCommit?did={}",
            self.base, self.did
        );
        let body = self
            .get(&url, "application/json", 64 * 1024)
            .await?
            .ok_or_else(|| Error::Status {
                url: url.clone(),
                status: 400,
            })?;
        #[derive(serde::Deserialize)]
        struct Head {
            cid: String,
            rev: String,
        }
        let bad = |reason: String| Error::Body {
            url: url.clone(),
            reason,
        };
        let head: Head = serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?;
        let cid = Cid::parse(&head.cid).map_err(|e| bad(format!("cid: {e}")))?;
        let rev = head
            .rev
            .parse::<Tid>()
            .map_err(|e| bad(format!("rev: {e}")))?;
        Ok((cid, rev))
    }

    /// Blocks of the repository by CID: `com.atproto.sync.getBlocks`, in batches; every
    /// block checked against its CID. Blocks the PDS does not have are left out.
    ///
    /// # Errors
    /// [`Error::Http`], [`Error::Status`]; [`Error::Repo`] for a malformed CAR or a block
    /// that does not match its CID.
    pub async fn get_blocks(&self, cids: &[Cid]) -> Result<Vec<(Cid, Bytes)>, Error> {
        let mut out = Vec::with_capacity(cids.len());
        for batch in cids.chunks(GET_BLOCKS_BATCH) {
            match self.get_batch(batch).await? {
                Some(blocks) => out.extend(blocks),
                // One of them is missing (the PDS refuses the whole request): ask one by one.
                None if batch.len() > 1 => {
                    for cid in batch {
                        if let Some(blocks) = self.get_batch(std::slice::from_ref(cid)).await? {
                            out.extend(blocks);
                        }
                    }
                }
                None => {}
            }
        }
        Ok(out)
    }

    async fn get_batch(&self, cids: &[Cid]) -> Result<Option<Vec<(Cid, Bytes)>>, Error> {
        let mut url = format!(
            "{}/xrpc/com.atproto.sync.getBlocks?did={}",
            self.base, self.did
        );
        for c in cids {
            url.push_str("&cids=");
            url.push_str(&c.to_string());
        }
        let Some(car) = self
            .get(&url, "application/vnd.ipld.car", MAX_GET_BLOCKS_BYTES)
            .await?
        else {
            return Ok(None);
        };
        let reader = CarReader::new(&car).map_err(atmo_repo::Error::from)?;
        let mut out = Vec::with_capacity(cids.len());
        for item in reader {
            let (cid, data) = item.map_err(atmo_repo::Error::from)?;
            if cids.contains(&cid) {
                out.push((cid, car.slice_ref(data)));
            }
        }
        Ok(Some(out))
    }
}

/// Where a [`Fetcher`]'s blocks came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FetchStats {
    /// Blocks found in the local store.
    pub local: u64,
    /// Blocks fetched from peers over Bitswap.
    pub peers: u64,
    /// Blocks fetched from the PDS.
    pub pds: u64,
    /// Bytes fetched from peers.
    pub peer_bytes: u64,
    /// Bytes fetched from the PDS.
    pub pds_bytes: u64,
}

/// Gets blocks: from the local store, else over Bitswap from its peers, else from the
/// PDS; every step optional. What it fetches joins the local store.
#[derive(Debug)]
pub struct Fetcher {
    local: Blocks,
    node: Option<Arc<Node>>,
    peers: Vec<PeerId>,
    pds: Option<Pds>,
    stats: FetchStats,
}

impl Fetcher {
    /// A fetcher with this local store and no other source.
    pub fn new(local: Blocks) -> Self {
        Fetcher {
            local,
            node: None,
            peers: Vec::new(),
            pds: None,
            stats: FetchStats::default(),
        }
    }

    /// Asks peers over Bitswap through `node`.
    pub fn with_node(mut self, node: Arc<Node>) -> Self {
        self.node = Some(node);
        self
    }

    /// Falls back to the PDS.
    pub fn with_pds(mut self, pds: Pds) -> Self {
        self.pds = Some(pds);
        self
    }

    /// Connects to a peer and asks it from now on.
    ///
    /// # Errors
    /// [`Error::Dial`]; [`Error::Stopped`] with no node ([`with_node`](Self::with_node)).
    pub async fn add_peer(&mut self, addr: &Multiaddr) -> Result<PeerId, Error> {
        let node = self.node.as_ref().ok_or(Error::Stopped)?;
        let peer = node.connect(addr).await?;
        if !self.peers.contains(&peer) {
            self.peers.push(peer);
        }
        Ok(peer)
    }

    /// The peers asked.
    pub fn peers(&self) -> &[PeerId] {
        &self.peers
    }

    /// The local store (with everything fetched so far).
    pub fn local(&self) -> &Blocks {
        &self.local
    }

    /// The local store, taken.
    pub fn into_local(self) -> Blocks {
        self.local
    }

    /// Where the blocks came from so far.
    pub fn stats(&self) -> FetchStats {
        self.stats
    }

    /// One block: `get_block(cid)` of the local store, then the peers, then the PDS.
    ///
    /// # Errors
    /// As [`get_blocks`](Self::get_blocks).
    pub async fn get_block(&mut self, cid: Cid) -> Result<Bytes, Error> {
        self.get_blocks(&[cid]).await?;
        self.local
            .block(&cid)
            .cloned()
            .ok_or(Error::NotFound { cid })
    }

    /// Makes sure every block of `cids` is in the local store, fetching the missing ones
    /// (from all peers at once, then what is still missing from the PDS).
    ///
    /// # Errors
    /// The first block no source had: the peers' reason ([`Error::NotFound`],
    /// [`Error::Timeout`], [`Error::UnwantedBlock`]...) when there is no PDS to ask, else
    /// [`Error::NotFound`]; the PDS's own errors.
    pub async fn get_blocks(&mut self, cids: &[Cid]) -> Result<(), Error> {
        let mut missing: Vec<Cid> = Vec::new();
        let mut seen: HashSet<Cid> = HashSet::with_capacity(cids.len());
        for cid in cids {
            if self.local.contains(cid) {
                self.stats.local += 1;
            } else if seen.insert(*cid) {
                missing.push(*cid);
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        let mut first_error = None;
        if let (Some(node), false) = (&self.node, self.peers.is_empty()) {
            let results = node.fetch_many(&missing, &self.peers).await;
            let mut still = Vec::new();
            for (cid, r) in missing.into_iter().zip(results) {
                match r {
                    Ok(data) => {
                        self.stats.peers += 1;
                        self.stats.peer_bytes += data.len() as u64;
                        // The node checked the bytes against the CID.
                        self.local.insert_checked(cid, data);
                    }
                    Err(e) => {
                        first_error.get_or_insert(e);
                        still.push(cid);
                    }
                }
            }
            missing = still;
        }
        if missing.is_empty() {
            return Ok(());
        }
        if let Some(pds) = &self.pds {
            for (cid, data) in pds.get_blocks(&missing).await? {
                self.stats.pds += 1;
                self.stats.pds_bytes += data.len() as u64;
                self.local.insert(cid, data, "the PDS")?;
            }
            return match missing.iter().find(|c| !self.local.contains(c)) {
                Some(&cid) => Err(Error::NotFound { cid }),
                None => Ok(()),
            };
        }
        match (first_error, missing.first()) {
            (Some(e), _) => Err(e),
            (None, Some(&cid)) => Err(Error::NotFound { cid }),
            (None, None) => Ok(()),
        }
    }
}
