//! Block stores: where the tree and the records are read from.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use atmo_data::Cid;
use atmo_data::cid::SHA2_256;

use crate::car::{CarLimits, CarReader, resync, section_at};
use crate::error::CarError;

mod file;
pub use file::CarFile;

/// Anything that can hand out a block's bytes by CID, synchronously.
///
/// Stores are expected to hold only blocks whose bytes match their CID (the stores of this
/// crate check that on the way in, unless told to trust the input).
pub trait BlockStore {
    /// The bytes of the block with this CID, if the store has it.
    fn get_block(&self, cid: &Cid) -> Option<&[u8]>;

    /// A hint that these blocks will be asked for soon (the tree walk gives the subtrees
    /// of each node it reads, and the records of the next 128 keys). A store may start
    /// fetching them, so that the lookups overlap instead of waiting on memory one after
    /// the other; the default does nothing.
    fn prefetch(&self, cids: &[Cid]) {
        let _ = cids;
    }
}

impl<S: BlockStore + ?Sized> BlockStore for &S {
    fn get_block(&self, cid: &Cid) -> Option<&[u8]> {
        (**self).get_block(cid)
    }

    fn prefetch(&self, cids: &[Cid]) {
        (**self).prefetch(cids);
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
/// Reading checks every block against its CID (unless the reader was told to trust the
/// input), on several threads for large files (see [`CarReader::threads`]). The index is
/// an open-addressing table of slots holding the section's offset and as many bits of a
/// 64-bit key as the rest holds, kept at most two-thirds full: 4-byte slots for a file
/// under 64 MiB (about 6 to 12 bytes per block, a table that stays in cache longer),
/// 8-byte slots for a larger one. When every block was hash-checked the key is the start
/// of the SHA-256 digest mixed with a random per-store seed (the digest cannot be chosen
/// freely by the file's author, the seed cannot be known); for input read with
/// [`CarReader::trust_hashes`] it is a randomly keyed SipHash of the whole CID. A lookup
/// compares the whole CID, read back from the file.
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
    table: Table,
    keys: Keys,
    blocks: usize,
    sections: usize,
}

/// The index: linear probing over a power-of-two number of slots, each the section's
/// offset in the low `at_bits` bits and the key's top `tag_bits` bits above them. An
/// empty slot is 0 (no section starts at offset 0, the header does).
#[derive(Debug, Clone)]
struct Table {
    slots: Slots,
    at_bits: u32,
    tag_bits: u32,
}

/// The slots of a [`Table`]: 4 bytes each when offsets leave enough bits of the key.
#[derive(Debug, Clone)]
enum Slots {
    Narrow(Box<[u32]>),
    Wide(Box<[u64]>),
}

/// Fewest key bits a 4-byte slot must keep beside the offset: with fewer, lookups would
/// read too many sections whose CID is not the one looked for.
const MIN_NARROW_TAG_BITS: u32 = 6;

impl Slots {
    fn len(&self) -> usize {
        match self {
            Self::Narrow(s) => s.len(),
            Self::Wide(s) => s.len(),
        }
    }

    fn get(&self, i: usize) -> Option<u64> {
        match self {
            Self::Narrow(s) => s.get(i).map(|v| u64::from(*v)),
            Self::Wide(s) => s.get(i).copied(),
        }
    }

    /// Stores `slot` (which fits the slot width) at `i`.
    fn set(&mut self, i: usize, slot: u64) {
        match self {
            Self::Narrow(s) => {
                if let (Some(dst), Ok(v)) = (s.get_mut(i), u32::try_from(slot)) {
                    *dst = v;
                }
            }
            Self::Wide(s) => {
                if let Some(dst) = s.get_mut(i) {
                    *dst = slot;
                }
            }
        }
    }
}

impl Table {
    /// A table for `n` sections of a file of `len` bytes.
    fn new(n: usize, len: usize) -> Self {
        let at_bits = usize::BITS - len.leading_zeros();
        Self::with_width(n, len, at_bits + MIN_NARROW_TAG_BITS > u32::BITS)
    }

    /// A table for `n` sections of a file of `len` bytes, of 8-byte slots if `wide`
    /// (else 4-byte ones, which must leave at least one bit for the key).
    fn with_width(n: usize, len: usize, wide: bool) -> Self {
        // At most two-thirds full.
        let cap = (n + n / 2 + 1).max(8).next_power_of_two();
        let at_bits = usize::BITS - len.leading_zeros();
        let (slots, width) = if !wide && at_bits < u32::BITS {
            (Slots::Narrow(vec![0; cap].into_boxed_slice()), u32::BITS)
        } else {
            (Slots::Wide(vec![0; cap].into_boxed_slice()), u64::BITS)
        };
        Self {
            slots,
            at_bits,
            tag_bits: width.saturating_sub(at_bits),
        }
    }

    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// The key's top `tag_bits` bits (the index position comes from its low bits).
    fn tag(&self, key: u64) -> u64 {
        match self.tag_bits {
            0 => 0,
            b => key.checked_shr(u64::BITS - b).unwrap_or(0),
        }
    }

    fn at(&self, slot: u64) -> usize {
        let mask = 1u64.checked_shl(self.at_bits).map_or(u64::MAX, |b| b - 1);
        (slot & mask) as usize
    }

    fn tag_of_slot(&self, slot: u64) -> u64 {
        slot.checked_shr(self.at_bits).unwrap_or(0)
    }

    fn pack(&self, key: u64, at: usize) -> u64 {
        self.tag(key).checked_shl(self.at_bits).unwrap_or(0) | at as u64
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    key: u64,
    /// Offset of the section's length varint in the file.
    at: usize,
}

/// How CIDs become index keys.
#[derive(Debug, Clone)]
enum Keys {
    /// Hash-checked blocks: the digest's first 16 bytes, mixed with these seeds.
    Digest([u64; 2]),
    /// Unchecked blocks: a keyed SipHash of the CID.
    Keyed(RandomState),
}

impl Keys {
    fn new(hash_checked: bool) -> Self {
        let state = RandomState::new();
        if hash_checked {
            Self::Digest([state.hash_one(1u8), state.hash_one(2u8)])
        } else {
            Self::Keyed(state)
        }
    }

    fn key(&self, cid: &Cid) -> u64 {
        match self {
            Self::Keyed(state) => state.hash_one(cid),
            Self::Digest([s0, s1]) => {
                let mut d = [0u8; 16];
                let digest = cid.digest();
                let n = digest.len().min(16);
                if let (Some(dst), Some(src)) = (d.get_mut(..n), digest.get(..n)) {
                    dst.copy_from_slice(src);
                }
                let [a, b] = [0, 8].map(|i| {
                    let mut w = [0u8; 8];
                    if let Some(src) = d.get(i..i + 8) {
                        w.copy_from_slice(src);
                    }
                    u64::from_le_bytes(w)
                });
                // The codec is folded in so that a raw block and a DAG-CBOR block with the
                // same bytes do not share a key. A folded 128-bit multiply mixes the rest.
                let p = u128::from(a ^ s0 ^ cid.codec().rotate_left(17)) * u128::from(b ^ s1);
                (p as u64) ^ ((p >> 64) as u64)
            }
        }
    }
}

/// Files smaller than this per extra thread are hash-checked on the calling thread.
const MIN_BYTES_PER_THREAD: usize = 256 << 10;

impl<'a> CarBlockStore<'a> {
    /// Reads a whole CAR with the default limits, checking every block against its CID.
    ///
    /// # Errors
    /// [`CarError`] for the first malformed, oversized or mismatching section.
    pub fn from_car(bytes: &'a [u8]) -> Result<Self, CarError> {
        Self::from_reader(CarReader::with_limits(bytes, CarLimits::DEFAULT)?)
    }

    /// Indexes every block a reader yields (configure limits, hash checks and threads on
    /// the reader).
    ///
    /// A large file is cut into as many runs of sections as there are threads, each read
    /// and hash-checked by its own thread: the runs after the first start at a guessed
    /// section boundary, which counts only if the run before ends exactly there (a file
    /// where the guess fails is read on one thread from that point on). The result, errors
    /// included, is that of reading the file from start to end.
    ///
    /// # Errors
    /// [`CarError`] for the first bad section, in file order.
    pub fn from_reader(reader: CarReader<'a>) -> Result<Self, CarError> {
        let bytes = reader.input();
        let keys = Keys::new(reader.checks_hashes());
        let limits = *reader.limits();
        let start = reader.position();
        let len = bytes.len();
        let most = len.saturating_sub(start) / MIN_BYTES_PER_THREAD;
        let threads = if most < 2 {
            1
        } else {
            reader.thread_count().min(most)
        };
        // Where each run starts.
        let mut cuts = vec![start];
        for k in 1..threads {
            let guess = start + (len - start) / threads * k;
            let last = cuts.last().copied().unwrap_or(start);
            if let Some(cut) = resync(bytes, guess.max(last + 1), &limits) {
                if cut < len {
                    cuts.push(cut);
                }
            }
        }
        let ends: Vec<usize> = cuts.iter().skip(1).copied().chain([len]).collect();
        let runs: Vec<Run> = if cuts.len() == 1 {
            vec![read_run(&mut reader.fork_at(start), &keys, len)]
        } else {
            let forks: Vec<_> = cuts.iter().skip(1).map(|&c| reader.fork_at(c)).collect();
            std::thread::scope(|scope| {
                let keys = &keys;
                // A run whose thread cannot be started (a platform without threads) is
                // read here afterwards.
                let handles: Vec<_> = forks
                    .into_iter()
                    .zip(ends.iter().skip(1).copied())
                    .map(|(fork, end)| {
                        let mut mine = fork.clone();
                        std::thread::Builder::new()
                            .spawn_scoped(scope, move || read_run(&mut mine, keys, end))
                            .map_err(|_| (fork, end))
                    })
                    .collect();
                let first = read_run(
                    &mut reader.fork_at(start),
                    keys,
                    ends.first().copied().unwrap_or(len),
                );
                let mut runs = vec![first];
                for h in handles {
                    runs.push(match h {
                        Ok(h) => h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
                        Err((mut fork, end)) => read_run(&mut fork, keys, end),
                    });
                }
                runs
            })
        };
        let runs = cuts.into_iter().zip(runs).collect();
        Self::from_runs(&reader, keys, runs)
    }

    /// The store over `reader`'s input from the reader's position, given runs of it read
    /// apart (each with the offset it started at, in file order): [`Self::stitch`]ed,
    /// then indexed.
    fn from_runs(
        reader: &CarReader<'a>,
        keys: Keys,
        runs: Vec<(usize, Run)>,
    ) -> Result<Self, CarError> {
        let bytes = reader.input();
        let start = reader.position();
        let len = bytes.len();
        let limits = *reader.limits();
        let (slots, pos, error) = Self::stitch(reader, &keys, runs);
        let sections: usize = slots.iter().map(Vec::len).sum();
        // The block count limit, over the whole file: reading the section after the
        // `max_blocks`-th one fails whatever it holds.
        let max = limits.max_blocks;
        if sections > max || (sections == max && (error.is_some() || pos < len)) {
            let at = match max
                .checked_sub(1)
                .and_then(|i| slots.iter().flatten().nth(i))
            {
                Some(last) => section_at(bytes, last.at).map_or(start, |(_, _, end)| end),
                None => start,
            };
            return Err(CarError::TooManyBlocks { at, max });
        }
        if let Some(e) = error {
            return Err(e);
        }
        let (table, blocks) = Self::build_table(bytes, slots.iter().flatten(), sections);
        Ok(Self {
            roots: reader.roots().to_vec(),
            bytes,
            table,
            keys,
            blocks,
            sections,
        })
    }

    /// Joins runs read apart into the sections of the whole input from `reader`'s
    /// position to its end, in file order. A run counts only if what comes before it ends
    /// exactly where it starts; what lies between (a section across the end of a piece
    /// of the file, or everything after a guess that was wrong) is read here. Returns the
    /// slots, the offset reached and the first error in file order: the result of
    /// reading the input from start to end.
    fn stitch(
        reader: &CarReader<'a>,
        keys: &Keys,
        runs: Vec<(usize, Run)>,
    ) -> (Vec<Vec<Slot>>, usize, Option<CarError>) {
        let len = reader.input().len();
        let mut slots = Vec::with_capacity(runs.len() + 1);
        let mut pos = reader.position();
        for (begin, run) in runs {
            if begin < pos {
                // Inside what was read already: a wrong guess.
                continue;
            }
            if begin > pos {
                let gap = read_run(&mut reader.fork_at(pos), keys, begin);
                slots.push(gap.slots);
                pos = gap.end;
                if gap.error.is_some() {
                    return (slots, pos, gap.error);
                }
                if pos != begin {
                    continue;
                }
            }
            slots.push(run.slots);
            pos = run.end;
            if run.error.is_some() {
                return (slots, pos, run.error);
            }
        }
        if pos < len {
            let rest = read_run(&mut reader.fork_at(pos), keys, len);
            slots.push(rest.slots);
            return (slots, rest.end, rest.error);
        }
        (slots, pos, None)
    }

    /// This store's index over other bytes: `bytes` must be those it was built from.
    pub(crate) fn rebind<'b>(self, bytes: &'b [u8]) -> CarBlockStore<'b> {
        CarBlockStore {
            roots: self.roots,
            bytes,
            table: self.table,
            keys: self.keys,
            blocks: self.blocks,
            sections: self.sections,
        }
    }

    /// The index over `slots` (in file order: of two sections with the same CID, the
    /// later one wins, as in a map) and the number of distinct blocks.
    fn build_table<'s>(
        bytes: &[u8],
        slots: impl Iterator<Item = &'s Slot>,
        n: usize,
    ) -> (Table, usize) {
        Self::fill_table(Table::new(n, bytes.len()), bytes, slots)
    }

    /// Puts `slots` (in file order) into an empty `table`; see [`Self::build_table`].
    fn fill_table<'s>(
        mut table: Table,
        bytes: &[u8],
        slots: impl Iterator<Item = &'s Slot>,
    ) -> (Table, usize) {
        let mask = table.mask();
        let mut blocks = 0;
        for new in slots {
            let packed = table.pack(new.key, new.at);
            let tag = table.tag(new.key);
            let mut i = new.key as usize & mask;
            while let Some(slot) = table.slots.get(i) {
                if slot == 0 {
                    table.slots.set(i, packed);
                    blocks += 1;
                    break;
                }
                if table.tag_of_slot(slot) == tag && same_cid(bytes, table.at(slot), new.at) {
                    table.slots.set(i, packed);
                    break;
                }
                i = (i + 1) & mask;
            }
        }
        (table, blocks)
    }

    /// The roots of the CAR header.
    pub fn roots(&self) -> &[Cid] {
        &self.roots
    }

    /// Number of distinct blocks.
    pub fn len(&self) -> usize {
        self.blocks
    }

    /// True if the CAR held no block.
    pub fn is_empty(&self) -> bool {
        self.blocks == 0
    }

    /// Number of block sections in the file (duplicates counted).
    pub fn sections(&self) -> usize {
        self.sections
    }

    /// The bytes of a block, borrowed from the CAR.
    pub fn get(&self, cid: &Cid) -> Option<&'a [u8]> {
        let key = self.keys.key(cid);
        let tag = self.table.tag(key);
        let mask = self.table.mask();
        let mut i = key as usize & mask;
        loop {
            let slot = self.table.slots.get(i)?;
            if slot == 0 {
                return None;
            }
            if self.table.tag_of_slot(slot) == tag {
                if let Some(data) = block_if(self.bytes, self.table.at(slot), cid) {
                    return Some(data);
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Every block, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (Cid, &'a [u8])> + '_ {
        let bytes = self.bytes;
        let table = &self.table;
        (0..table.slots.len())
            .filter_map(|i| table.slots.get(i))
            .filter(|s| *s != 0)
            .filter_map(move |s| section_at(bytes, table.at(s)).map(|(cid, data, _)| (cid, data)))
    }
}

/// The data of the section whose length varint is at `at` if its CID is `cid`.
fn block_if<'b>(bytes: &'b [u8], at: usize, cid: &Cid) -> Option<&'b [u8]> {
    // The usual atproto CID (CIDv1, one-byte codec, SHA-256) is compared as bytes, in
    // place; anything else (or a CID written in another form) is parsed and compared.
    let fast = (cid.hash_code() == SHA2_256 && cid.digest().len() == 32)
        .then(|| u8::try_from(cid.codec()).ok().filter(|c| *c < 0x80))
        .flatten();
    if let Some(codec) = fast {
        // Repository sections are under 16 KiB: a length of one or two bytes.
        let section = match *bytes.get(at..)? {
            [b0, ref after @ ..] if b0 < 0x80 => after.get(..usize::from(b0)),
            [b0, b1, ref after @ ..] if b1 < 0x80 && b1 != 0 => {
                after.get(..(usize::from(b0 & 0x7f) | usize::from(b1) << 7))
            }
            _ => None,
        };
        if let Some((head, rest)) = section.and_then(|s| s.split_first_chunk::<4>()) {
            if *head == [0x01, codec, 0x12, 0x20] {
                let (digest, data) = rest.split_first_chunk::<32>()?;
                return (digest[..] == *cid.digest()).then_some(data);
            }
        }
    }
    section_at(bytes, at).and_then(|(c, data, _)| (c == *cid).then_some(data))
}

/// True if the sections at `a` and `b` have the same CID.
fn same_cid(bytes: &[u8], a: usize, b: usize) -> bool {
    match (section_at(bytes, a), section_at(bytes, b)) {
        (Some((x, _, _)), Some((y, _, _))) => x == y,
        _ => false,
    }
}

/// The sections one thread read: from where it started up to `end`, or up to `error`.
struct Run {
    slots: Vec<Slot>,
    /// Offset just past the last section read.
    end: usize,
    error: Option<CarError>,
}

/// Reads sections until `reader` gets to `stop` (or past it), the end, or an error.
fn read_run(reader: &mut CarReader<'_>, keys: &Keys, stop: usize) -> Run {
    // Repository blocks average a few hundred bytes; grow from there if needed.
    let mut slots = Vec::with_capacity(stop.saturating_sub(CarReader::position(reader)) / 256);
    let mut error = None;
    while CarReader::position(reader) < stop {
        match reader.next_section_at() {
            None => break,
            Some(Ok((cid, at, _))) => slots.push(Slot {
                key: keys.key(&cid),
                at,
            }),
            Some(Err(e)) => {
                error = Some(e);
                break;
            }
        }
    }
    Run {
        slots,
        end: CarReader::position(reader),
        error,
    }
}

impl BlockStore for CarBlockStore<'_> {
    fn get_block(&self, cid: &Cid) -> Option<&[u8]> {
        self.get(cid)
    }

    fn prefetch(&self, cids: &[Cid]) {
        // Touch each block's first index slot, then the start of its section, 32 blocks at
        // a time: loads that do not depend on each other, so the cache misses overlap. The
        // lookups that follow then find everything in cache.
        const MAX: usize = 32;
        let mask = self.table.mask();
        let mut sum = 0u8;
        for cids in cids.chunks(MAX) {
            let mut at = [0usize; MAX];
            for (a, cid) in at.iter_mut().zip(cids) {
                let key = self.keys.key(cid);
                *a = self
                    .table
                    .slots
                    .get(key as usize & mask)
                    .map_or(0, |s| self.table.at(s));
            }
            // Records are a few hundred bytes: touch their first cache lines too.
            for a in at.iter().take(cids.len()) {
                for line in [0, 64, 128, 192] {
                    sum ^= self.bytes.get(a + line).copied().unwrap_or(0);
                }
            }
        }
        std::hint::black_box(sum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::car::write_car;

    #[test]
    fn narrow_and_wide_tables_find_the_same_blocks() {
        let data: Vec<Vec<u8>> = (0..3000u32)
            .map(|i| i.to_le_bytes().repeat(1 + i as usize % 5))
            .collect();
        let cids: Vec<Cid> = data.iter().map(|d| Cid::for_raw(d)).collect();
        // Every tenth block a second time: one block, two sections.
        let sections: Vec<(Cid, &[u8])> = cids
            .iter()
            .zip(&data)
            .map(|(c, d)| (*c, d.as_slice()))
            .chain(
                cids.iter()
                    .zip(&data)
                    .step_by(10)
                    .map(|(c, d)| (*c, d.as_slice())),
            )
            .collect();
        let car = write_car(&cids[..1], sections.iter().copied());
        let store = CarBlockStore::from_car(&car).unwrap();
        assert!(matches!(store.table.slots, Slots::Narrow(_)));
        assert_eq!((store.len(), store.sections()), (3000, 3300));
        let mut reader = CarReader::new(&car).unwrap();
        let mut slots = Vec::new();
        while let Some(Ok((cid, at, _))) = reader.next_section_at() {
            slots.push(Slot {
                key: store.keys.key(&cid),
                at,
            });
        }
        let absent = Cid::for_raw(b"absent");
        for wide in [false, true] {
            let table = Table::with_width(slots.len(), car.len(), wide);
            let (table, blocks) = CarBlockStore::fill_table(table, &car, slots.iter());
            assert_eq!(matches!(table.slots, Slots::Wide(_)), wide);
            let rebuilt = CarBlockStore {
                table,
                blocks,
                ..store.clone()
            };
            assert_eq!(rebuilt.len(), 3000);
            for (cid, d) in cids.iter().zip(&data) {
                assert_eq!(rebuilt.get(cid), Some(d.as_slice()));
            }
            assert_eq!(rebuilt.get(&absent), None);
            let mut all: Vec<Cid> = rebuilt.iter().map(|(c, _)| c).collect();
            all.sort();
            let mut want = cids.clone();
            want.sort();
            assert_eq!(all, want);
        }
    }
}
