//! Block stores: where the tree and the records are read from.

use std::collections::HashMap;
use std::collections::hash_map::{Entry, RandomState};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

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
/// The index is compact (about 32 bytes per block): when the reader checked every block
/// against its CID, the first 8 bytes of the SHA-256 digest are the hash key (they are
/// uniformly distributed and not chosen by the file's author); for input read with
/// [`CarReader::trust_hashes`] the key is a randomly keyed SipHash of the CID instead.
/// A lookup compares the whole CID, read back from the file.
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
    bytes: &'a [u8],
    index: HashMap<u64, Slot<'a>, BuildHasherDefault<KeyHasher>>,
    /// Blocks whose key collided with a different CID's (rare; see [`CarBlockStore`]).
    overflow: HashMap<Cid, &'a [u8]>,
    /// `Some` when hashes were not checked: keys are then a keyed hash of the CID.
    keyed: Option<RandomState>,
    sections: usize,
    /// Offset just past the block [`CarBlockStore::get`] last found: repositories are
    /// usually written in the order they are read, so the next lookup is tried there
    /// first (a CID compare on bytes about to be read anyway, instead of an index probe).
    /// Only used when every block was hash-checked (same CID, same bytes).
    next: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Offset of the first section.
    first: usize,
}

#[derive(Debug, Clone, Copy)]
struct Slot<'a> {
    /// Offset of the block's CID in the file.
    cid_at: usize,
    data: &'a [u8],
}

/// Passes through the `u64` keys of the index (already uniformly distributed).
#[derive(Debug, Default, Clone, Copy)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by the index; fold anything else in, FNV-1a style.
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

fn index_key(cid: &Cid, keyed: Option<&RandomState>) -> u64 {
    match keyed {
        Some(state) => state.hash_one(cid),
        None => {
            let mut first = [0u8; 8];
            if let Some(d) = cid.digest().get(..8) {
                first.copy_from_slice(d);
            }
            // The codec is folded in so that a raw block and a DAG-CBOR block with the
            // same bytes do not share a key.
            u64::from_le_bytes(first) ^ cid.codec().wrapping_mul(0x9e37_79b9_7f4a_7c15)
        }
    }
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
    pub fn from_reader(mut reader: CarReader<'a>) -> Result<Self, CarError> {
        let roots = reader.roots().to_vec();
        let bytes = reader.input();
        let keyed = (!reader.checks_hashes()).then(RandomState::new);
        // Repository blocks average a few hundred bytes; grow from there if needed.
        let mut index = HashMap::with_capacity_and_hasher(
            reader.bytes_left() / 256,
            BuildHasherDefault::default(),
        );
        let mut overflow = HashMap::new();
        let mut sections = 0;
        let first = reader.position();
        while let Some(b) = reader.next_section() {
            let (cid, cid_at, data) = b?;
            sections += 1;
            match index.entry(index_key(&cid, keyed.as_ref())) {
                Entry::Vacant(v) => {
                    v.insert(Slot { cid_at, data });
                }
                Entry::Occupied(mut o) => {
                    if cid_at_is(bytes, o.get().cid_at, &cid) {
                        // The same block again: the later copy wins, as in a map.
                        o.insert(Slot { cid_at, data });
                    } else {
                        overflow.insert(cid, data);
                    }
                }
            }
        }
        Ok(Self {
            roots,
            bytes,
            index,
            overflow,
            keyed,
            sections,
            next: std::sync::Arc::new(first.into()),
            first,
        })
    }

    /// The roots of the CAR header.
    pub fn roots(&self) -> &[Cid] {
        &self.roots
    }

    /// Number of distinct blocks.
    pub fn len(&self) -> usize {
        self.index.len() + self.overflow.len()
    }

    /// True if the CAR held no block.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty() && self.overflow.is_empty()
    }

    /// Number of block sections in the file (duplicates counted).
    pub fn sections(&self) -> usize {
        self.sections
    }

    /// The bytes of a block, borrowed from the CAR.
    pub fn get(&self, cid: &Cid) -> Option<&'a [u8]> {
        use std::sync::atomic::Ordering::Relaxed;
        if self.keyed.is_none() {
            if let Some((data, end)) = self.section_at(self.next.load(Relaxed), cid) {
                self.next.store(end, Relaxed);
                return Some(data);
            }
        }
        if let Some(slot) = self.index.get(&index_key(cid, self.keyed.as_ref())) {
            if cid_at_is(self.bytes, slot.cid_at, cid) {
                if self.keyed.is_none() {
                    let end = slot.data.as_ptr_range().end as usize;
                    let start = self.bytes.as_ptr_range().start as usize;
                    self.next.store(end.wrapping_sub(start), Relaxed);
                }
                return Some(slot.data);
            }
        }
        if self.overflow.is_empty() {
            return None;
        }
        self.overflow.get(cid).copied()
    }

    /// The block of the section at `at` (validated by the reader) if its CID is `cid`,
    /// with the offset of the section after it.
    fn section_at(&self, at: usize, cid: &Cid) -> Option<(&'a [u8], usize)> {
        let rest = self.bytes.get(at..)?;
        let mut len = 0u64;
        let mut used = 0;
        for (i, b) in rest.iter().take(9).enumerate() {
            len |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                used = i + 1;
                break;
            }
        }
        if used == 0 || at < self.first {
            return None;
        }
        let len = usize::try_from(len).ok()?;
        let section = rest.get(used..used.checked_add(len)?)?;
        let (found, data) = Cid::read_prefix(section).ok()?;
        (found == *cid).then_some((data, at + used + len))
    }

    /// Every block, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (Cid, &'a [u8])> + '_ {
        let bytes = self.bytes;
        self.index
            .values()
            .filter_map(move |s| {
                let (cid, _) = Cid::read_prefix(bytes.get(s.cid_at..)?).ok()?;
                Some((cid, s.data))
            })
            .chain(self.overflow.iter().map(|(c, d)| (*c, *d)))
    }
}

/// True if the CID written at `at` in the file is `cid`.
fn cid_at_is(bytes: &[u8], at: usize, cid: &Cid) -> bool {
    bytes
        .get(at..)
        .and_then(|b| Cid::read_prefix(b).ok())
        .is_some_and(|(c, _)| c == *cid)
}

impl BlockStore for CarBlockStore<'_> {
    fn get_block(&self, cid: &Cid) -> Option<&[u8]> {
        self.get(cid)
    }
}
