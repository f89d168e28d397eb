//! [`CarFile`]: a CAR file read into memory with its blocks hash-checked while it is read.

use std::path::Path;

use crate::car::{self, CarLimits, CarReader, FileBytes};
use crate::error::{CarError, Error};
use crate::repo::Repo;
use crate::store::{CarBlockStore, Checked};

/// Bytes the copying thread reads at a time when the blocks are checked as it reads.
const PIECE: usize = 256 << 10;

/// Files smaller than this are read first and hash-checked afterwards, as
/// [`car::read_file_threads`] and [`CarReader::threads`] do.
const MIN_STREAMED_BYTES: usize = 4 << 20;

/// A CAR file in memory, opened for [`CarBlockStore`] or [`Repo`], with the work of
/// reading it and of checking its blocks against their CIDs overlapped.
///
/// Reading a large CAR file is two jobs: copying its bytes into memory (mostly the
/// kernel's work) and hashing every block (SHA-256). With `threads` above 1,
/// [`CarFile::open`] does both at once: a started thread copies the file a piece at a
/// time while the calling thread checks the blocks of each piece as it arrives. The
/// blocks left unchecked once the copy is done (the copying is faster than the hashing)
/// are checked by [`CarFile::store`] or [`CarFile::repo`] on `threads` threads, as
/// [`CarReader::threads`] does. With `threads` at 1, or for a file under 4 MiB, the file
/// is read first ([`car::read_file_threads`]) and checked afterwards, and no thread is
/// started.
///
/// The result, errors included, is exactly that of [`car::read_file_threads`] followed
/// by [`CarBlockStore::from_reader`] with the default [`CarLimits`]: a block checked
/// while the file was read passed every check the reader makes, and the first one that
/// did not is left to the reader. The threads are scoped (they end before the call
/// returns), so inside an async runtime call these where blocking is allowed (such as
/// tokio's `spawn_blocking`).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use atmo_crypto::{Curve, Keypair};
/// use atmo_repo::{CarFile, car};
/// # let key = Keypair::generate(Curve::K256)?;
/// # let post = atmo_data::json::from_str(r#"{"$type": "app.bsky.feed.post", "text": "hi", "createdAt": "2024-01-01T00:00:00Z"}"#)?;
/// # let did = "did:plc:abcdefghijklmnopqrstuvwx".parse()?;
/// # let bytes = atmo_repo::build_repo(&did, &key, atmo_syntax::Tid::now(), [("app.bsky.feed.post/3kabcdefghij2".to_string(), post)])?.car;
/// let path = std::env::temp_dir().join(format!("atmo-car-file-doc-{}.car", std::process::id()));
/// std::fs::write(&path, &bytes)?;
/// let file = CarFile::open(&path, car::default_threads())?;
/// std::fs::remove_file(&path)?;
/// let repo = file.repo()?;
/// assert_eq!(repo.for_each_record(car::default_threads(), |_| Ok(()))?, 1);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct CarFile {
    bytes: FileBytes,
    checked: Option<Checked>,
    threads: usize,
}

impl CarFile {
    /// Reads the file at `path` on up to `threads` threads (the calling one included),
    /// checking the blocks of a large file as they arrive.
    ///
    /// # Errors
    /// Any I/O error of opening or reading the file. A bad block is not an error here:
    /// [`Self::store`] and [`Self::repo`] report it.
    pub fn open(path: impl AsRef<Path>, threads: usize) -> std::io::Result<Self> {
        Self::open_with(path.as_ref(), threads.max(1), PIECE, MIN_STREAMED_BYTES)
    }

    fn open_with(
        path: &Path,
        threads: usize,
        piece: usize,
        min_streamed: usize,
    ) -> std::io::Result<Self> {
        #[cfg(unix)]
        if threads > 1 && std::fs::metadata(path)?.len() >= min_streamed as u64 {
            let mut scan = Scan::default();
            if let Ok(bytes) = car::read_file_streamed(path, piece, |p| scan.piece(p)) {
                return Ok(Self {
                    bytes,
                    checked: scan.checked,
                    threads,
                });
            }
        }
        #[cfg(not(unix))]
        let _ = (piece, min_streamed);
        Ok(Self {
            bytes: car::read_file_threads(path, threads)?,
            checked: None,
            threads,
        })
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The thread count given to [`Self::open`].
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The index of the file's blocks, every block checked against its CID (those not
    /// checked yet on the thread count given to [`Self::open`]).
    ///
    /// # Errors
    /// [`CarError`] for the first malformed, oversized or mismatching section, as
    /// [`CarBlockStore::from_reader`].
    pub fn store(&self) -> Result<CarBlockStore<'_>, CarError> {
        let reader = CarReader::with_limits(&self.bytes, CarLimits::DEFAULT)?.threads(self.threads);
        CarBlockStore::from_reader_checked(reader, self.checked.as_ref())
    }

    /// The repository in the file (see [`Self::store`] and [`Repo::from_store`]).
    ///
    /// # Errors
    /// As for [`Repo::from_reader`].
    pub fn repo(&self) -> Result<Repo<'_>, Error> {
        Repo::from_store(self.store()?)
    }

    /// The file's bytes, as [`car::read_file`] gives them.
    pub fn into_bytes(self) -> FileBytes {
        self.bytes
    }
}

/// The check of the sections of a file as its pieces arrive, in order: every section
/// that passes all of [`CarReader`]'s checks (default limits) goes into `checked`; the
/// first one that does not (or the end of the pieces) stops the scan, and the reader
/// takes over from there.
#[derive(Default)]
struct Scan {
    /// The sections checked, once the header is read.
    checked: Option<Checked>,
    /// The start of a section (or of the header) cut by the end of the last piece.
    pending: Vec<u8>,
}

/// What the bytes at a section's start say about it.
enum Frame {
    /// The section's length in all (length varint included).
    Len(usize),
    /// The length varint is cut short.
    Short,
    /// Not a section the reader accepts.
    Bad,
}

fn frame(b: &[u8]) -> Frame {
    let limits = CarLimits::DEFAULT;
    match car::read_varint(b, 0, limits.max_varint_len) {
        Ok((len, after)) if len > 0 && len <= limits.max_block_len as u64 => {
            Frame::Len(after + len as usize)
        }
        Err(CarError::Truncated { .. }) => Frame::Short,
        _ => Frame::Bad,
    }
}

impl Scan {
    /// Takes the next piece; `false` once the scan stops.
    fn piece(&mut self, p: &[u8]) -> bool {
        let Some(checked) = &mut self.checked else {
            return self.header(p);
        };
        let mut off = 0;
        if !self.pending.is_empty() {
            // The section cut by the last piece: its length varint a byte at a time, then
            // the rest of it.
            loop {
                let need = match frame(&self.pending) {
                    Frame::Bad => return false,
                    Frame::Short => 1,
                    Frame::Len(n) => n - self.pending.len(),
                };
                let Some(more) = p.get(off..off + need) else {
                    self.pending
                        .extend_from_slice(p.get(off..).unwrap_or_default());
                    return true;
                };
                self.pending.extend_from_slice(more);
                off += need;
                if matches!(frame(&self.pending), Frame::Len(n) if n == self.pending.len()) {
                    break;
                }
            }
            let start = checked.end();
            if !check(checked, &self.pending, start) {
                return false;
            }
            self.pending.clear();
        }
        sections(checked, &mut self.pending, p, off)
    }

    /// Gathers the first bytes until the header is whole, then checks the sections
    /// after it.
    fn header(&mut self, p: &[u8]) -> bool {
        self.pending.extend_from_slice(p);
        let limits = CarLimits::DEFAULT;
        match CarReader::with_limits(&self.pending, limits) {
            Ok(r) => {
                let start = r.position();
                let rest = self.pending.split_off(start);
                self.pending.clear();
                let mut checked = Checked::new(start);
                let ok = sections(&mut checked, &mut self.pending, &rest, 0);
                self.checked = Some(checked);
                ok
            }
            // Cut short: wait for more, as long as a header could still be that long.
            Err(CarError::Truncated { .. }) => {
                self.pending.len() <= limits.max_header_len + limits.max_varint_len
            }
            Err(_) => false,
        }
    }
}

/// Checks the sections of piece `p` from offset `off` (where one starts) on, keeping the
/// start of one cut by the piece's end in `pending`; `false` at the first bad one.
fn sections(checked: &mut Checked, pending: &mut Vec<u8>, p: &[u8], mut off: usize) -> bool {
    while let Some(rest) = p.get(off..).filter(|r| !r.is_empty()) {
        match frame(rest) {
            Frame::Bad => return false,
            Frame::Len(n) if n <= rest.len() => {
                let start = checked.end();
                if !check(checked, rest.get(..n).unwrap_or_default(), start) {
                    return false;
                }
                off += n;
            }
            Frame::Len(_) | Frame::Short => {
                pending.extend_from_slice(rest);
                return true;
            }
        }
    }
    true
}

/// Checks one whole section (length varint included) starting at offset `at` of the
/// file, as the reader does, and adds it to `checked` if it passes.
fn check(checked: &mut Checked, section: &[u8], at: usize) -> bool {
    let limits = CarLimits::DEFAULT;
    if checked.len() >= limits.max_blocks {
        return false;
    }
    let Ok((_, after)) = car::read_varint(section, 0, limits.max_varint_len) else {
        return false;
    };
    let Some(body) = section.get(after..) else {
        return false;
    };
    match car::split_section(body, at, at + after, true) {
        Ok((cid, _)) => {
            checked.push(&cid, at, section.len());
            true
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atmo_data::Cid;

    /// A CAR of `n` blocks of varied sizes, from one byte to `max`.
    fn car_bytes(n: usize, max: usize) -> Vec<u8> {
        let blocks: Vec<(Cid, Vec<u8>)> = (0..n)
            .map(|i| {
                let data: Vec<u8> = (0..(i * 37) % max + 1).map(|j| (i + j) as u8).collect();
                (Cid::for_raw(&data), data)
            })
            .collect();
        let roots = [blocks[0].0];
        car::write_car(&roots, blocks.iter().map(|(c, d)| (*c, &d[..])))
    }

    /// What reading the bytes the ordinary way gives: every block, or the error.
    fn ordinary(bytes: &[u8], threads: usize) -> Result<Vec<(Cid, Vec<u8>)>, CarError> {
        let store = CarBlockStore::from_reader(CarReader::new(bytes)?.threads(threads))?;
        Ok(blocks(&store, bytes))
    }

    fn blocks(store: &CarBlockStore<'_>, bytes: &[u8]) -> Vec<(Cid, Vec<u8>)> {
        let mut out = Vec::new();
        for r in CarReader::new(bytes).expect("header").trust_hashes() {
            let Ok((cid, _)) = r else { break };
            out.push((cid, store.get(&cid).map(<[u8]>::to_vec).unwrap_or_default()));
        }
        out
    }

    /// The sections checked when `bytes` arrive `piece` bytes at a time.
    fn scan(bytes: &[u8], piece: usize) -> Option<Checked> {
        let mut scan = Scan::default();
        for p in bytes.chunks(piece) {
            if !scan.piece(p) {
                break;
            }
        }
        scan.checked
    }

    /// Reading `bytes` with the sections `checked` holds taken as read.
    fn with_scan(bytes: &[u8], checked: Option<&Checked>) -> Result<Vec<(Cid, Vec<u8>)>, CarError> {
        let store = CarBlockStore::from_reader_checked(CarReader::new(bytes)?.threads(2), checked)?;
        Ok(blocks(&store, bytes))
    }

    /// Pieces smaller than a length varint, than a CID, than a block, and larger.
    const PIECES: [usize; 7] = [1, 2, 7, 41, 333, 4096, 1 << 20];

    #[test]
    fn every_section_checked_whatever_the_pieces() {
        let good = car_bytes(60, 3000);
        let want = ordinary(&good, 2);
        assert_eq!(want.as_ref().map(Vec::len), Ok(60));
        for piece in PIECES {
            let checked = scan(&good, piece).expect("header");
            assert_eq!(checked.len(), 60, "piece {piece}");
            assert_eq!(checked.end(), good.len(), "piece {piece}");
            assert_eq!(with_scan(&good, Some(&checked)), want, "piece {piece}");
        }
    }

    #[test]
    fn a_bad_file_reads_as_it_does_without_the_scan() {
        // Small blocks (one to 200 bytes, 40 of them), so that every byte can be changed.
        let good = car_bytes(40, 200);
        let mut bad_ones = 0;
        for at in 0..good.len() {
            for x in [0x01u8, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[at] ^= x;
                let piece = PIECES[(at + usize::from(x)) % PIECES.len()];
                let checked = scan(&bad, piece);
                let want = ordinary(&bad, 2);
                assert_eq!(
                    with_scan(&bad, checked.as_ref()),
                    want,
                    "byte {at} ^ {x:#x}, piece {piece}"
                );
                bad_ones += usize::from(want.is_err());
            }
        }
        assert!(bad_ones > good.len());
        for cut in 0..good.len() {
            let part = &good[..cut];
            let checked = scan(part, PIECES[cut % PIECES.len()]);
            assert_eq!(
                with_scan(part, checked.as_ref()),
                ordinary(part, 2),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn opened_on_two_threads_as_read_then_checked() {
        let path =
            std::env::temp_dir().join(format!("atmo-car-file-test-{}.car", std::process::id()));
        let good = car_bytes(60, 3000);
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        for (bytes, piece) in [
            (&good, 7),
            (&good, 4096),
            (&bad, 41),
            (&good[..good.len() / 2].to_vec(), 333),
        ] {
            std::fs::write(&path, bytes).expect("write");
            for threads in [1, 2] {
                let file = CarFile::open_with(&path, threads, piece, 0).expect("open");
                assert_eq!(file.bytes(), &bytes[..]);
                let got = file.store().map(|s| blocks(&s, file.bytes()));
                assert_eq!(
                    got,
                    ordinary(bytes, threads),
                    "piece {piece}, {threads} threads"
                );
            }
        }
        std::fs::remove_file(&path).expect("remove");
    }
}
