//! Block stores: where the tree and the records are read from.

use std::collections::HashMap;

use atmo_data::Cid;

use crate::car::{CarLimits, CarReader};
use crate::error::CarError;

/// Anything that can hand out a block's bytes by CID, synchronously.
///
/// Stores are expected to hold only blocks whose bytes match their CID (the stores of this
/// crate check that on the way in, unless told to trust the input).
pub trait BlockStore {
    /// The bytes of the block with this CID, if the store has it.
    fn get_block(&self, cid: &Cid) -> Option<&[u8]>;
}

impl<S: BlockStore + ?Sized> BlockStore for &S {
    fn get_block(&self, cid: &Cid) -> Option<&[u8]> {
        (**self).get_block(cid)
    }
}

/// An in-memory store that owns its blocks.
///
/// ```
/// use atmo_repo::{BlockStore, MemoryBlockStore};
/// let mut store = MemoryBlockStore::new();
/// let cid = store.put_dag_cbor(vec![0xa0]);
/// assert_eq!(store.get_block(&cid), Some(&[0xa0][..]));
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryBlockStore {
    blocks: HashMap<Cid, Vec<u8>>,
}

impl MemoryBlockStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores DAG-CBOR bytes under their CID and returns the CID.
    pub fn put_dag_cbor(&mut self, bytes: Vec<u8>) -> Cid {
        let cid = Cid::for_dag_cbor(&bytes);
        self.blocks.insert(cid, bytes);
        cid
    }

    /// Stores a block under a CID the caller computed. Returns `false` (and stores
    /// nothing) if the bytes do not hash to the CID.
    pub fn insert(&mut self, cid: Cid, bytes: Vec<u8>) -> bool {
        if !cid.verify(&bytes) {
            return false;
        }
        self.blocks.insert(cid, bytes);
        true
    }

    /// Number of blocks.
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    /// True if the store holds no block.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Every block, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&Cid, &[u8])> {
        self.blocks.iter().map(|(c, b)| (c, b.as_slice()))
    }
}

impl BlockStore for MemoryBlockStore {
    fn get_block(&self, cid: &Cid) -> Option<&[u8]> {
        self.blocks.get(cid).map(Vec::as_slice)
    }
}

/// A store over the blocks of a CAR file held in memory: an index from CID to the
/// block's bytes inside the file, no copies.
///
/// ```
/// # fn main() -> Result<(), atmo_repo::Error> {
/// use atmo_data::Cid;
/// use atmo_repo::{BlockStore, CarBlockStore};
/// let cid = Cid::for_raw(b"blob");
/// let car = atmo_repo::car::write_car(&[cid], [(cid, &b"blob"[..])]);
/// let store = CarBlockStore::from_car(&car)?;
/// assert_eq!(store.roots(), &[cid]);
/// assert_eq!(store.get_block(&cid), Some(&b"blob"[..]));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct CarBlockStore<'a> {
    roots: Vec<Cid>,
    blocks: HashMap<Cid, &'a [u8]>,
    sections: usize,
}

impl<'a> CarBlockStore<'a> {
    /// Reads a whole CAR with the default limits, checking every block against its CID.
    ///
    /// # Errors
    /// [`CarError`] for the first malformed, oversized or mismatching section.
    pub fn from_car(bytes: &'a [u8]) -> Result<Self, CarError> {
        Self::from_reader(CarReader::with_limits(bytes, CarLimits::DEFAULT)?)
    }

    /// Indexes every block a reader yields (configure limits and hash checks on the
    /// reader).
    ///
    /// # Errors
    /// [`CarError`] for the first bad section.
    pub fn from_reader(reader: CarReader<'a>) -> Result<Self, CarError> {
        let roots = reader.roots().to_vec();
        let rest = reader.bytes_left();
        let mut blocks = HashMap::with_capacity(rest / 128);
        let mut sections = 0;
        for b in reader {
            let (cid, data) = b?;
            blocks.insert(cid, data);
            sections += 1;
        }
        Ok(Self {
            roots,
            blocks,
            sections,
        })
    }

    /// The roots of the CAR header.
    pub fn roots(&self) -> &[Cid] {
        &self.roots
    }

    /// Number of distinct blocks.
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    /// True if the CAR held no block.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Number of block sections in the file (duplicates counted).
    pub fn sections(&self) -> usize {
        self.sections
    }

    /// The bytes of a block, borrowed from the CAR.
    pub fn get(&self, cid: &Cid) -> Option<&'a [u8]> {
        self.blocks.get(cid).copied()
    }

    /// Every block, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&Cid, &'a [u8])> {
        self.blocks.iter().map(|(c, b)| (c, *b))
    }
}

impl BlockStore for CarBlockStore<'_> {
    fn get_block(&self, cid: &Cid) -> Option<&[u8]> {
        self.blocks.get(cid).copied()
    }
}
