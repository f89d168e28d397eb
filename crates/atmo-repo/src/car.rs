//! CAR v1 files: a zero-copy reader over `&[u8]` that checks every block against its
//! CID, and a writer. With the `async` feature, `AsyncCarReader` streams the same format
//! from a `tokio::io::AsyncRead` with the same limits, checks and errors.
//!
//! A CAR v1 file is a varint-prefixed DAG-CBOR header `{version: 1, roots: [CID...]}`
//! followed by sections, each a varint length then a binary CID then the block's bytes.
//! Varints are unsigned LEB128 in their shortest form.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use atmo_data::Cid;
//! use atmo_repo::car::{CarReader, write_car};
//!
//! let block = atmo_data::cbor::encode(&atmo_data::json::from_str(r#"{"a": 1}"#)?);
//! let cid = Cid::for_dag_cbor(&block);
//! let car = write_car(&[cid], [(cid, block.as_slice())]);
//!
//! let reader = CarReader::new(&car)?;
//! assert_eq!(reader.roots(), &[cid]);
//! let blocks = reader.collect::<Result<Vec<_>, _>>()?;
//! assert_eq!(blocks, vec![(cid, block.as_slice())]);
//! # Ok(()) }
//! ```

use atmo_data::cbor::{self, DecodeLimits};
use atmo_data::{Cid, Value, ValueRef};

use crate::error::CarError;

#[cfg(feature = "async")]
mod stream;
#[cfg(feature = "async")]
pub use stream::AsyncCarReader;

/// Bounds on what a [`CarReader`] accepts. Every size read from the input is checked
/// against these before it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CarLimits {
    /// Most bytes in the DAG-CBOR header. Default 64 KiB.
    pub max_header_len: usize,
    /// Most roots in the header. Default 1,024.
    pub max_roots: usize,
    /// Most bytes in one block section (CID plus data). Default 2 MiB (the largest block
    /// that IPFS bitswap moves; atproto records and MST nodes are far smaller).
    pub max_block_len: usize,
    /// Most blocks in one file. Default 16,777,216.
    pub max_blocks: usize,
    /// Most bytes in one length varint. Default 9 (the multiformats maximum).
    pub max_varint_len: usize,
}

impl CarLimits {
    /// The default limits (see the fields).
    pub const DEFAULT: Self = Self {
        max_header_len: 64 << 10,
        max_roots: 1024,
        max_block_len: 2 << 20,
        max_blocks: 1 << 24,
        max_varint_len: 9,
    };

    /// Sets [`Self::max_header_len`].
    pub const fn with_max_header_len(mut self, n: usize) -> Self {
        self.max_header_len = n;
        self
    }

    /// Sets [`Self::max_roots`].
    pub const fn with_max_roots(mut self, n: usize) -> Self {
        self.max_roots = n;
        self
    }

    /// Sets [`Self::max_block_len`].
    pub const fn with_max_block_len(mut self, n: usize) -> Self {
        self.max_block_len = n;
        self
    }

    /// Sets [`Self::max_blocks`].
    pub const fn with_max_blocks(mut self, n: usize) -> Self {
        self.max_blocks = n;
        self
    }

    /// Sets [`Self::max_varint_len`].
    pub const fn with_max_varint_len(mut self, n: usize) -> Self {
        self.max_varint_len = n;
        self
    }
}

impl Default for CarLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Reads an unsigned LEB128 varint at `pos` (shortest form, at most `max` bytes).
fn read_varint(bytes: &[u8], pos: usize, max: usize) -> Result<(u64, usize), CarError> {
    let mut v: u64 = 0;
    let cap = max.min(10);
    for i in 0..cap {
        let at = pos + i;
        let b = *bytes.get(at).ok_or(CarError::Truncated { at, needed: 1 })?;
        let bits = u64::from(b & 0x7f);
        if i == 9 && bits > 1 {
            // Past 64 bits.
            return Err(CarError::VarintTooLong { at: pos, max: 9 });
        }
        v |= bits << (7 * i);
        if b & 0x80 == 0 {
            if b == 0 && i > 0 {
                return Err(CarError::VarintNotMinimal { at: pos });
            }
            return Ok((v, at + 1));
        }
    }
    Err(CarError::VarintTooLong { at: pos, max })
}

fn write_varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Files smaller than this per thread are read by [`read_file`] on the calling thread.
const MIN_FILE_BYTES_PER_THREAD: usize = 2 << 20;

/// Files at least this large are read by [`read_file`] into memory on huge pages (Linux).
#[cfg(target_os = "linux")]
const MIN_HUGE_FILE_BYTES: usize = 2 << 20;

/// The size (and alignment) of a transparent huge page on x86-64 and most arm64 kernels.
#[cfg(target_os = "linux")]
const HUGE_PAGE: usize = 2 << 20;

/// The bytes of a file read by [`read_file`]: dereferences to `[u8]`.
///
/// A small file is an ordinary vector. On Linux a large one lives in an anonymous memory
/// mapping advised onto transparent huge pages, which the kernel fills with a few hundred
/// page faults instead of one per 4 KiB, and whose random reads (a tree walk) miss the
/// TLB far less.
pub struct FileBytes {
    inner: FileInner,
}

enum FileInner {
    Vec(Vec<u8>),
    /// A mapping and where the file's bytes sit in it (from a huge-page boundary).
    #[cfg(target_os = "linux")]
    Map(memmap2::MmapMut, std::ops::Range<usize>),
}

impl FileBytes {
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        match &self.inner {
            FileInner::Vec(v) => v,
            #[cfg(target_os = "linux")]
            FileInner::Map(m, range) => m.get(range.clone()).unwrap_or_default(),
        }
    }

    /// The bytes as a vector (a copy if they are in a mapping).
    pub fn into_vec(self) -> Vec<u8> {
        match self.inner {
            FileInner::Vec(v) => v,
            #[cfg(target_os = "linux")]
            FileInner::Map(..) => self.as_slice().to_vec(),
        }
    }
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for FileBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl std::fmt::Debug for FileBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileBytes")
            .field("len", &self.as_slice().len())
            .finish_non_exhaustive()
    }
}

/// Reads a whole file into memory, like [`std::fs::read`], on the calling thread (see
/// [`read_file_threads`] to split the copying between threads).
///
/// For a file of tens of MiB, such as a large repository CAR, most of the time of reading
/// it goes to the kernel copying the bytes and mapping fresh memory under them. On Linux
/// such a file is read into memory on transparent huge pages (see [`FileBytes`]).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let path = std::env::temp_dir().join(format!("atmo-read-file-doc-{}.car", std::process::id()));
/// let cid = atmo_data::Cid::for_raw(b"blob");
/// std::fs::write(&path, atmo_repo::car::write_car(&[cid], [(cid, &b"blob"[..])]))?;
/// let bytes = atmo_repo::car::read_file(&path)?;
/// std::fs::remove_file(&path)?;
/// let store = atmo_repo::CarBlockStore::from_car(&bytes)?;
/// assert_eq!(store.get(&cid), Some(&b"blob"[..]));
/// # Ok(()) }
/// ```
///
/// # Errors
/// Any I/O error of opening or reading the file.
pub fn read_file(path: impl AsRef<std::path::Path>) -> std::io::Result<FileBytes> {
    read_file_threads(path, 1)
}

/// Like [`read_file`], with the copying of a large file (2 MiB per thread at least)
/// split between up to `threads` threads on Unix, the calling one included (each reads
/// one part of the file into its part of the buffer). The extra threads are scoped: this
/// blocks until all are done, so inside an async runtime call it where blocking is
/// allowed (such as tokio's `spawn_blocking`). With `threads` at most 1 no thread is
/// started.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let path = std::env::temp_dir().join(format!("atmo-read-file-threads-doc-{}.car", std::process::id()));
/// std::fs::write(&path, b"bytes")?;
/// let bytes = atmo_repo::car::read_file_threads(&path, atmo_repo::car::default_threads())?;
/// std::fs::remove_file(&path)?;
/// assert_eq!(&bytes[..], b"bytes");
/// # Ok(()) }
/// ```
///
/// # Errors
/// Any I/O error of opening or reading the file.
pub fn read_file_threads(
    path: impl AsRef<std::path::Path>,
    threads: usize,
) -> std::io::Result<FileBytes> {
    let path = path.as_ref();
    #[cfg(not(unix))]
    let _ = threads;
    #[cfg(unix)]
    {
        let file = std::fs::File::open(path)?;
        let len = usize::try_from(file.metadata()?.len()).unwrap_or(usize::MAX);
        #[cfg(target_os = "linux")]
        let big = len >= MIN_HUGE_FILE_BYTES;
        #[cfg(not(target_os = "linux"))]
        let big = false;
        if big || (threads > 1 && len / MIN_FILE_BYTES_PER_THREAD >= 2) {
            // A failed read or a file that changed size under us is read again the
            // ordinary way.
            if let Ok(Some((bytes, ()))) =
                fill_buffer(&file, len, |buf| read_parts(&file, buf, threads))
            {
                return Ok(bytes);
            }
        }
    }
    std::fs::read(path).map(|v| FileBytes {
        inner: FileInner::Vec(v),
    })
}

/// Memory for the `len` bytes of `file`, filled by `fill` (on Linux, for a large file, on
/// transparent huge pages), and what `fill` returned; `None` if the file no longer has
/// `len` bytes once filled (it changed under us).
#[cfg(unix)]
pub(crate) fn fill_buffer<T>(
    file: &std::fs::File,
    len: usize,
    fill: impl FnOnce(&mut [u8]) -> std::io::Result<T>,
) -> std::io::Result<Option<(FileBytes, T)>> {
    let same_len = || -> std::io::Result<bool> { Ok(file.metadata()?.len() == len as u64) };
    #[cfg(target_os = "linux")]
    if len >= MIN_HUGE_FILE_BYTES {
        if let Some(mut map) = huge_buffer(len) {
            // The file's bytes start at the first huge-page boundary of the mapping.
            let skip = map.as_ptr().align_offset(HUGE_PAGE).min(HUGE_PAGE);
            let range = skip..skip + len;
            if let Some(buf) = map.get_mut(range.clone()) {
                let out = fill(buf)?;
                return Ok(same_len()?.then_some((
                    FileBytes {
                        inner: FileInner::Map(map, range),
                    },
                    out,
                )));
            }
        }
    }
    let mut buf = vec![0u8; len];
    let out = fill(&mut buf)?;
    Ok(same_len()?.then_some((
        FileBytes {
            inner: FileInner::Vec(buf),
        },
        out,
    )))
}

/// Zeroed memory for `len` bytes from a huge-page boundary, advised onto transparent huge
/// pages (a kernel without them gives ordinary pages). `None` if it cannot be mapped.
#[cfg(target_os = "linux")]
fn huge_buffer(len: usize) -> Option<memmap2::MmapMut> {
    let map = memmap2::MmapMut::map_anon(len.checked_add(HUGE_PAGE)?).ok()?;
    // Only advice: memory without huge pages works the same, only slower.
    let _ = map.advise(memmap2::Advice::HugePage);
    Some(map)
}

/// Fills `buf` from the start of `file`, on up to `threads` threads (each reads one
/// part) when it is large.
#[cfg(unix)]
fn read_parts(file: &std::fs::File, buf: &mut [u8], threads: usize) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let len = buf.len();
    let threads = threads.min(len / MIN_FILE_BYTES_PER_THREAD).max(1);
    if threads == 1 {
        return file.read_exact_at(buf, 0);
    }
    let chunk = len.div_ceil(threads);
    let read = |i: usize, part: &mut [u8]| {
        let at = u64::try_from(i.saturating_mul(chunk)).unwrap_or(u64::MAX);
        file.read_exact_at(part, at)
    };
    std::thread::scope(|scope| {
        let mut parts = buf.chunks_mut(chunk).enumerate();
        let first = parts.next();
        let handles: Vec<_> = parts
            .map(|(i, part)| std::thread::Builder::new().spawn_scoped(scope, move || read(i, part)))
            .collect();
        let mut result = first.map_or(Ok(()), |(i, part)| read(i, part));
        for h in handles {
            // A part whose thread could not be started fails the whole read, which is
            // then done again the ordinary way.
            let r = match h {
                Ok(h) => h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
                Err(_) => Err(std::io::Error::other("thread")),
            };
            result = result.and(r);
        }
        result
    })
}

/// One block section: the CID, an offset in the input (of the CID or of the section,
/// as the function returning it says), the block's bytes.
pub(crate) type Section<'a> = (Cid, usize, &'a [u8]);

/// A section as read: the CID, its offset, the block's bytes and the section's offset.
type RawSection<'a> = (Cid, usize, &'a [u8], usize);

/// A zero-copy CAR v1 reader over a byte slice.
///
/// [`CarReader::new`] reads and checks the header; iterating yields each block as
/// `(Cid, &[u8])` pointing into the input, after checking that the bytes hash to the
/// CID (a CID with a hash other than SHA2-256 is an error). [`CarReader::trust_hashes`]
/// turns that check off for input you produced yourself. The first error ends the
/// iteration.
#[derive(Debug, Clone)]
pub struct CarReader<'a> {
    bytes: &'a [u8],
    pos: usize,
    roots: Vec<Cid>,
    limits: CarLimits,
    check_hashes: bool,
    /// Threads for [`CarBlockStore`](crate::CarBlockStore) (1 unless set).
    threads: usize,
    blocks: usize,
    failed: bool,
}

/// Most threads [`default_threads`] suggests.
pub const DEFAULT_MAX_THREADS: usize = 4;

/// A thread count to pass to [`CarReader::threads`], [`read_file_threads`] or
/// [`Repo::for_each_record`](crate::Repo::for_each_record) when you choose to use several:
/// the machine's available parallelism, at most [`DEFAULT_MAX_THREADS`] (1 if unknown).
/// Nothing in this crate starts a thread unless given a count above 1.
pub fn default_threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, DEFAULT_MAX_THREADS)
    })
}

impl<'a> CarReader<'a> {
    /// Reads the header with the default [`CarLimits`]; blocks will be hash-checked.
    ///
    /// # Errors
    /// [`CarError`] if the header is malformed or exceeds the limits.
    pub fn new(bytes: &'a [u8]) -> Result<Self, CarError> {
        Self::with_limits(bytes, CarLimits::DEFAULT)
    }

    /// Reads the header with explicit limits; blocks will be hash-checked.
    ///
    /// # Errors
    /// [`CarError`] if the header is malformed or exceeds `limits`.
    pub fn with_limits(bytes: &'a [u8], limits: CarLimits) -> Result<Self, CarError> {
        let (len, start) = read_varint(bytes, 0, limits.max_varint_len)?;
        if len == 0 {
            return Err(CarError::EmptyHeader);
        }
        if len > limits.max_header_len as u64 {
            return Err(CarError::HeaderTooLong {
                len,
                max: limits.max_header_len,
            });
        }
        let len = len as usize;
        let header = bytes
            .get(start..start + len)
            .ok_or_else(|| CarError::Truncated {
                at: bytes.len(),
                needed: (start + len).saturating_sub(bytes.len()),
            })?;
        let roots = parse_header(header, start, &limits)?;
        Ok(Self {
            bytes,
            pos: start + len,
            roots,
            limits,
            check_hashes: true,
            threads: 1,
            blocks: 0,
            failed: false,
        })
    }

    /// Sets how many threads (the calling one included) read and hash-check the blocks
    /// when a [`CarBlockStore`](crate::CarBlockStore) or [`Repo`](crate::Repo) is made
    /// from this reader. The default is 1: the blocks are read one after the other on the
    /// calling thread and no thread is started; [`default_threads`] suggests a count for
    /// when you want several. The extra threads are scoped (they end before the store is
    /// returned), so the call blocks until the whole file is read: inside an async
    /// runtime make the store where blocking is allowed (such as tokio's
    /// `spawn_blocking`). Files under 512 KiB are read on the calling thread whatever this
    /// says (starting a thread costs more than hashing a few hundred KiB), and iterating
    /// the reader itself always checks each block as it is yielded.
    ///
    /// ```
    /// # fn main() -> Result<(), atmo_repo::Error> {
    /// use atmo_data::Cid;
    /// use atmo_repo::{CarBlockStore, car::{CarReader, default_threads, write_car}};
    /// let cid = Cid::for_raw(b"blob");
    /// let car = write_car(&[cid], [(cid, &b"blob"[..])]);
    /// let store = CarBlockStore::from_reader(CarReader::new(&car)?.threads(default_threads()))?;
    /// assert_eq!(store.get(&cid), Some(&b"blob"[..]));
    /// # Ok(()) }
    /// ```
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n.max(1);
        self
    }

    /// The thread count set by [`Self::threads`] (1 if not set).
    pub fn thread_count(&self) -> usize {
        self.threads
    }

    /// Stops checking block bytes against their CIDs. Only for input you trust (for
    /// example a CAR this process wrote): a corrupted or hostile file then yields blocks
    /// whose content does not match their CID.
    pub fn trust_hashes(mut self) -> Self {
        self.check_hashes = false;
        self
    }

    /// The roots listed in the header (for an atproto repository, the commit first).
    pub fn roots(&self) -> &[Cid] {
        &self.roots
    }

    /// Bytes not read yet.
    pub fn bytes_left(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    /// Byte offset of the next section (the input length once all blocks are read).
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Whether blocks are checked against their CIDs.
    pub(crate) fn checks_hashes(&self) -> bool {
        self.check_hashes
    }

    /// The whole input.
    pub(crate) fn input(&self) -> &'a [u8] {
        self.bytes
    }

    /// The next block (checked against its CID if the reader checks hashes) with the
    /// offset of its section (not of its CID), or `None` at the end.
    pub(crate) fn next_section_at(&mut self) -> Option<Result<Section<'a>, CarError>> {
        self.next_raw()
            .map(|r| r.map(|(cid, _, data, at)| (cid, at, data)))
    }

    /// A reader over the same input, limits and hash checking that starts at `pos` (which
    /// the caller believes is a section start), with its block count at zero, on one
    /// thread: a fork is read by the thread that made it (`read_run`), never handed to a
    /// multi-threaded reader such as `CarBlockStore::from_reader`.
    pub(crate) fn fork_at(&self, pos: usize) -> Self {
        Self {
            check_hashes: self.check_hashes,
            ..Self::sections_of(self.bytes, pos, self.limits)
        }
    }

    /// A reader of the block sections of `bytes` (a piece of a CAR file, no header) from
    /// `pos`, checking hashes, with `limits`.
    pub(crate) fn sections_of(bytes: &'a [u8], pos: usize, limits: CarLimits) -> Self {
        Self {
            bytes,
            pos,
            roots: Vec::new(),
            limits,
            check_hashes: true,
            threads: 1,
            blocks: 0,
            failed: false,
        }
    }

    /// The limits.
    pub(crate) fn limits(&self) -> &CarLimits {
        &self.limits
    }

    /// The next block with the offset of its CID in the input, or `None` at the end.
    pub(crate) fn next_section(&mut self) -> Option<Result<Section<'a>, CarError>> {
        self.next_raw()
            .map(|r| r.map(|(cid, cid_at, data, _)| (cid, cid_at, data)))
    }

    /// The next section as [`Self::read_section`] gives it, or `None` at the end or after
    /// an error.
    fn next_raw(&mut self) -> Option<Result<RawSection<'a>, CarError>> {
        if self.failed || self.pos >= self.bytes.len() {
            return None;
        }
        let r = self.read_section();
        if r.is_err() {
            self.failed = true;
        }
        Some(r)
    }

    /// Reads one section, checking its hash if the reader checks hashes. Returns the CID,
    /// its offset, the data and the section's offset.
    fn read_section(&mut self) -> Result<RawSection<'a>, CarError> {
        let at = self.pos;
        if self.blocks >= self.limits.max_blocks {
            return Err(CarError::TooManyBlocks {
                at,
                max: self.limits.max_blocks,
            });
        }
        let (len, start) = read_varint(self.bytes, at, self.limits.max_varint_len)?;
        if len == 0 {
            return Err(CarError::EmptySection { at });
        }
        if len > self.limits.max_block_len as u64 {
            return Err(CarError::BlockTooLong {
                at,
                len,
                max: self.limits.max_block_len,
            });
        }
        let len = len as usize;
        let section = self
            .bytes
            .get(start..start + len)
            .ok_or_else(|| CarError::Truncated {
                at: self.bytes.len(),
                needed: (start + len).saturating_sub(self.bytes.len()),
            })?;
        let (cid, data) = split_section(section, at, start, self.check_hashes)?;
        self.pos = start + len;
        self.blocks += 1;
        Ok((cid, start, data, at))
    }
}

/// The first offset at or after `from` (looking at most 64 KiB further) where a chain of
/// plausible sections starts: eight sections (or fewer ending exactly at the end of the
/// input) with shortest-form lengths within `limits`, each starting with a SHA-256 CIDv1.
/// A guess for splitting the work of reading a file, never trusted: the reader before
/// must land on it exactly.
pub(crate) fn resync(bytes: &[u8], from: usize, limits: &CarLimits) -> Option<usize> {
    let plausible = |mut q: usize| {
        for _ in 0..8 {
            if q == bytes.len() {
                return true;
            }
            let Ok((len, after)) = read_varint(bytes, q, limits.max_varint_len) else {
                return false;
            };
            if len == 0 || len > limits.max_block_len as u64 {
                return false;
            }
            if !matches!(
                bytes.get(after..after + 4),
                Some([0x01, 0x71 | 0x55, 0x12, 0x20])
            ) {
                return false;
            }
            q = after + len as usize;
            if q > bytes.len() {
                return false;
            }
        }
        true
    };
    let end = from.saturating_add(64 << 10).min(bytes.len());
    (from..end).find(|&p| plausible(p))
}

/// The section whose length varint is at `at`, in input the reader already walked over:
/// its CID, its data and the offset of the section after it. `None` if the bytes there
/// do not frame a section.
pub(crate) fn section_at(input: &[u8], at: usize) -> Option<(Cid, &[u8], usize)> {
    let rest = input.get(at..)?;
    let mut len = 0u64;
    let mut used = 0;
    for (i, b) in rest.iter().take(9).enumerate() {
        len |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            used = i + 1;
            break;
        }
    }
    if used == 0 {
        return None;
    }
    let len = usize::try_from(len).ok()?;
    let section = rest.get(used..used.checked_add(len)?)?;
    let (cid, data) = Cid::read_prefix(section).ok()?;
    Some((cid, data, at + used + len))
}

/// The CID at the start of a section and the bytes after it. A CID cut short by the
/// section's end is a bad CID, not a short file.
fn read_cid(section: &[u8], start: usize) -> Result<(Cid, &[u8]), CarError> {
    Cid::read_prefix(section).map_err(|source| CarError::Cid { at: start, source })
}

/// Only SHA2-256 CIDs (32-byte digests) can be checked.
fn check_hash_kind(cid: &Cid, at: usize) -> Result<(), CarError> {
    if cid.hash_code() != atmo_data::cid::SHA2_256 || cid.digest().len() != 32 {
        return Err(CarError::UnsupportedHash { at, cid: *cid });
    }
    Ok(())
}

/// Splits a block section (whose length varint is at `at` and whose CID starts at
/// `start`) into its CID and data, checking the data against the CID if asked.
fn split_section(
    section: &[u8],
    at: usize,
    start: usize,
    check_hashes: bool,
) -> Result<(Cid, &[u8]), CarError> {
    let (cid, data) = read_cid(section, start)?;
    if check_hashes {
        check_hash_kind(&cid, at)?;
        if !cid.verify(data) {
            return Err(CarError::HashMismatch { at, cid });
        }
    }
    Ok((cid, data))
}

impl<'a> Iterator for CarReader<'a> {
    type Item = Result<(Cid, &'a [u8]), CarError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_section()
            .map(|r| r.map(|(cid, _, data)| (cid, data)))
    }
}

fn parse_header(header: &[u8], at: usize, limits: &CarLimits) -> Result<Vec<Cid>, CarError> {
    let dl = DecodeLimits::DEFAULT.with_max_depth(2);
    let v =
        cbor::decode_ref_with(header, &dl).map_err(|source| CarError::HeaderCbor { at, source })?;
    let map = v.as_map().ok_or(CarError::HeaderShape {
        reason: "the header is not a map",
    })?;
    let mut version = None;
    let mut roots = None;
    for (k, v) in map.iter() {
        match k {
            "version" => version = Some(v),
            "roots" => roots = Some(v),
            _ => {
                return Err(CarError::HeaderShape {
                    reason: "unknown key in the header",
                });
            }
        }
    }
    let version = version.ok_or(CarError::HeaderShape {
        reason: "missing version",
    })?;
    let version = version.as_integer().ok_or(CarError::HeaderShape {
        reason: "version is not an integer",
    })?;
    if version != 1 {
        return Err(CarError::Version { version });
    }
    let roots = roots.ok_or(CarError::HeaderShape {
        reason: "missing roots",
    })?;
    let roots = roots.as_array().ok_or(CarError::HeaderShape {
        reason: "roots is not an array",
    })?;
    if roots.len() > limits.max_roots {
        return Err(CarError::TooManyRoots {
            len: roots.len(),
            max: limits.max_roots,
        });
    }
    roots
        .iter()
        .map(|r| match r {
            ValueRef::Link(c) => Ok(c.to_cid()),
            _ => Err(CarError::HeaderShape {
                reason: "a root is not a CID link",
            }),
        })
        .collect()
}

/// The DAG-CBOR header `{roots, version: 1}` for these roots, without its length prefix.
pub fn encode_header(roots: &[Cid]) -> Vec<u8> {
    let mut m = atmo_data::Map::with_capacity(2);
    m.insert(
        "roots",
        Value::Array(roots.iter().map(|c| Value::link(*c)).collect()),
    );
    m.insert("version", Value::Integer(1));
    cbor::encode(&Value::Map(m))
}

/// Writes a CAR v1 file section by section into any [`std::io::Write`].
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use atmo_data::Cid;
/// let cid = Cid::for_raw(b"hello");
/// let mut w = atmo_repo::car::CarWriter::new(Vec::new(), &[cid])?;
/// w.write_block(&cid, b"hello")?;
/// let car = w.finish()?;
/// assert_eq!(atmo_repo::car::CarReader::new(&car).map(|r| r.count()).ok(), Some(1));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct CarWriter<W: std::io::Write> {
    out: W,
    scratch: Vec<u8>,
}

impl<W: std::io::Write> CarWriter<W> {
    /// Writes the header for `roots`.
    ///
    /// # Errors
    /// Any error of the underlying writer.
    pub fn new(mut out: W, roots: &[Cid]) -> std::io::Result<Self> {
        let header = encode_header(roots);
        let mut scratch = Vec::with_capacity(128);
        write_varint(header.len() as u64, &mut scratch);
        out.write_all(&scratch)?;
        out.write_all(&header)?;
        Ok(Self { out, scratch })
    }

    /// Writes one block section. The caller is responsible for `cid` matching `data`.
    ///
    /// # Errors
    /// Any error of the underlying writer.
    pub fn write_block(&mut self, cid: &Cid, data: &[u8]) -> std::io::Result<()> {
        self.scratch.clear();
        write_varint((cid.encoded_len() + data.len()) as u64, &mut self.scratch);
        cid.write_bytes(&mut self.scratch);
        self.out.write_all(&self.scratch)?;
        self.out.write_all(data)
    }

    /// Flushes and returns the writer.
    ///
    /// # Errors
    /// Any error of the underlying writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Writes a whole CAR v1 file into a vector.
pub fn write_car<'b>(roots: &[Cid], blocks: impl IntoIterator<Item = (Cid, &'b [u8])>) -> Vec<u8> {
    let header = encode_header(roots);
    let mut out = Vec::with_capacity(header.len() + 1024);
    write_varint(header.len() as u64, &mut out);
    out.extend_from_slice(&header);
    for (cid, data) in blocks {
        write_varint((cid.encoded_len() + data.len()) as u64, &mut out);
        cid.write_bytes(&mut out);
        out.extend_from_slice(data);
    }
    out
}
