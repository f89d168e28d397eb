//! Where a node's blocks come from: the [`BlockSource`] trait, and [`Blocks`], an
//! in-memory set of verified blocks loaded from CAR files or filled by a mirror.

use std::collections::HashMap;
use std::path::Path;

use atmo_data::Cid;
use atmo_repo::car::{CarLimits, CarReader};
use bytes::Bytes;

use crate::error::Error;

/// A read-only source of blocks that a node serves to peers and checks first when
/// fetching. Implement it over any store (a database, a directory); [`Blocks`] is the
/// in-memory one.
pub trait BlockSource: Send + Sync + 'static {
    /// The block's bytes, if the source has it. The bytes must hash to `cid`: the server
    /// sends them as they are.
    fn get(&self, cid: &Cid) -> Option<Bytes>;

    /// Whether the source has the block (answers `want-have`).
    fn has(&self, cid: &Cid) -> bool {
        self.get(cid).is_some()
    }
}

/// Verified blocks in memory, by CID. Loading a CAR keeps the file's buffer and indexes
/// the blocks in it without copying them.
#[derive(Debug, Clone, Default)]
pub struct Blocks {
    map: HashMap<Cid, Bytes>,
}

impl Blocks {
    /// No blocks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every block of a CAR (each checked against its CID), returning its roots.
    ///
    /// # Errors
    /// [`Error::Repo`] for a malformed CAR or a block that does not match its CID.
    pub fn add_car(&mut self, car: Bytes) -> Result<Vec<Cid>, Error> {
        let reader =
            CarReader::with_limits(&car, CarLimits::default()).map_err(atmo_repo::Error::from)?;
        let roots = reader.roots().to_vec();
        for item in reader {
            let (cid, data) = item.map_err(atmo_repo::Error::from)?;
            self.map.insert(cid, car.slice_ref(data));
        }
        Ok(roots)
    }

    /// Adds every block of a CAR file, returning its roots.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read; as [`add_car`](Self::add_car).
    pub fn add_car_file(&mut self, path: &Path) -> Result<Vec<Cid>, Error> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        self.add_car(Bytes::from(bytes))
    }

    /// Adds a block after checking it against its CID.
    ///
    /// # Errors
    /// [`Error::BadBlock`] (naming `source_name`) when the bytes do not match.
    pub fn insert(
        &mut self,
        cid: Cid,
        data: Bytes,
        source_name: &'static str,
    ) -> Result<(), Error> {
        if !cid.verify(&data) {
            return Err(Error::BadBlock { cid, source_name });
        }
        self.map.insert(cid, data);
        Ok(())
    }

    /// Adds a block already checked against its CID (by the node, which hashes every
    /// block it receives).
    #[cfg(feature = "node")]
    pub(crate) fn insert_checked(&mut self, cid: Cid, data: Bytes) {
        self.map.insert(cid, data);
    }

    /// The block, if present.
    pub fn block(&self, cid: &Cid) -> Option<&Bytes> {
        self.map.get(cid)
    }

    /// Whether the block is present.
    pub fn contains(&self, cid: &Cid) -> bool {
        self.map.contains_key(cid)
    }

    /// How many blocks.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Every block, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&Cid, &Bytes)> {
        self.map.iter()
    }
}

impl BlockSource for Blocks {
    fn get(&self, cid: &Cid) -> Option<Bytes> {
        self.map.get(cid).cloned()
    }

    fn has(&self, cid: &Cid) -> bool {
        self.map.contains_key(cid)
    }
}

impl<T: BlockSource + ?Sized> BlockSource for std::sync::Arc<T> {
    fn get(&self, cid: &Cid) -> Option<Bytes> {
        (**self).get(cid)
    }

    fn has(&self, cid: &Cid) -> bool {
        (**self).has(cid)
    }
}
