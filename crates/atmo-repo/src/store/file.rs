//! [`CarFile`]: a CAR file read into memory and indexed in the same pass.
#![cfg_attr(not(unix), allow(dead_code, unused_imports))]

use std::path::Path;

use super::{CarBlockStore, Keys, Run, read_run};
use crate::car::{CarLimits, CarReader, FileBytes, resync};
use crate::error::{CarError, Error};
use crate::repo::Repo;

/// A CAR file read into memory, every block indexed and checked against its CID, the
/// reading and the checking overlapped: what [`read_file_threads`](crate::car::read_file_threads)
/// followed by [`CarBlockStore::from_reader`] does, in less time.
///
/// The file is read a piece (1 MiB) at a time. On one thread each piece is indexed and
/// hash-checked right after it is read, while it is still in the processor's cache; with
/// more threads, the calling thread reads and the others index the pieces as they come,
/// then the calling thread joins them, so that the kernel's copying of the file and the
/// hashing of its blocks run side by side. The extra threads are scoped: `open` blocks
/// until all are done (inside an async runtime, call it where blocking is allowed, such
/// as tokio's `spawn_blocking`). With `threads` at most 1, or a file of one piece, no
/// thread is started.
///
/// The result, errors included, is that of reading the file and then the CAR from start
/// to end: a section that lies across two pieces, or anything a piece could not read on
/// its own, is read again from the whole file once it is in memory.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use atmo_repo::{BlockStore, CarFile};
/// let path = std::env::temp_dir().join(format!("atmo-car-file-doc-{}.car", std::process::id()));
/// let cid = atmo_data::Cid::for_raw(b"blob");
/// std::fs::write(&path, atmo_repo::car::write_car(&[cid], [(cid, &b"blob"[..])]))?;
/// let car = CarFile::open(&path, atmo_repo::car::default_threads())?;
/// std::fs::remove_file(&path)?;
/// let store = car.store();
/// assert_eq!(store.roots(), &[cid]);
/// assert_eq!(store.get_block(&cid), Some(&b"blob"[..]));
/// # Ok(()) }
/// ```
pub struct CarFile {
    bytes: FileBytes,
    /// The index, held over no bytes until [`Self::store`] lends it [`Self::bytes`].
    index: CarBlockStore<'static>,
}

/// The size of the pieces the file is read and indexed in.
const PIECE: usize = 1 << 20;

impl CarFile {
    /// Reads and indexes a CAR file with the default limits on up to `threads` threads.
    ///
    /// # Errors
    /// [`CarError::Io`] if the file cannot be opened or read; otherwise the first
    /// malformed, oversized or mismatching part of the CAR, in file order, as
    /// [`CarBlockStore::from_reader`] reports it.
    pub fn open(path: impl AsRef<Path>, threads: usize) -> Result<Self, CarError> {
        Self::open_with_limits(path, threads, CarLimits::DEFAULT)
    }

    /// Like [`Self::open`], with `limits`.
    ///
    /// # Errors
    /// As [`Self::open`].
    pub fn open_with_limits(
        path: impl AsRef<Path>,
        threads: usize,
        limits: CarLimits,
    ) -> Result<Self, CarError> {
        let path = path.as_ref();
        let threads = threads.max(1);
        let io = |at: usize| move |e: std::io::Error| CarError::Io { at, kind: e.kind() };
        #[cfg(unix)]
        {
            let file = std::fs::File::open(path).map_err(io(0))?;
            let len = file.metadata().map_err(io(0))?.len();
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            let keys = Keys::new(true);
            let filled = crate::car::fill_buffer(&file, len, |buf| {
                Ok(read_and_index(&file, buf, threads, &limits, &keys))
            })
            .map_err(io(0))?;
            // A file that changed size while it was read is read again the ordinary way.
            if let Some((bytes, runs)) = filled {
                let runs = runs?;
                let reader = CarReader::with_limits(&bytes, limits)?;
                let index = CarBlockStore::from_runs(&reader, keys, runs)?.rebind(&[]);
                return Ok(Self { bytes, index });
            }
        }
        let bytes = crate::car::read_file_threads(path, threads).map_err(io(0))?;
        let reader = CarReader::with_limits(&bytes, limits)?.threads(threads);
        let index = CarBlockStore::from_reader(reader)?.rebind(&[]);
        Ok(Self { bytes, index })
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The roots of the CAR header.
    pub fn roots(&self) -> &[atmo_data::Cid] {
        self.index.roots()
    }

    /// A block store over the file (it copies the index: about 6 to 12 bytes per
    /// block, see [`CarBlockStore`]).
    pub fn store(&self) -> CarBlockStore<'_> {
        self.index.clone().rebind(&self.bytes)
    }

    /// The file as a repository: its commit (the first root) read and checked, as
    /// [`Repo::from_store`] does.
    ///
    /// # Errors
    /// As [`Repo::from_store`].
    pub fn repo(&self) -> Result<Repo<'_>, Error> {
        Repo::from_store(self.store())
    }
}

impl std::fmt::Debug for CarFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CarFile")
            .field("len", &self.bytes.len())
            .field("roots", &self.index.roots())
            .field("blocks", &self.index.len())
            .finish()
    }
}

/// Fills `buf` from `file` a piece at a time and indexes each piece: on this thread
/// right after reading it with `threads` at most 1, else on the other threads as the
/// pieces come and on this one once all are read. The runs, in file order, or
/// [`CarError::Io`] for the first piece that could not be read.
#[cfg(unix)]
fn read_and_index(
    file: &std::fs::File,
    buf: &mut [u8],
    threads: usize,
    limits: &CarLimits,
    keys: &Keys,
) -> Result<Vec<(usize, Run)>, CarError> {
    use std::os::unix::fs::FileExt;
    let read = |k: usize, piece: &mut [u8]| {
        let at = k.saturating_mul(PIECE);
        file.read_exact_at(piece, at as u64)
            .map_err(|e| CarError::Io { at, kind: e.kind() })
    };
    let index = |k: usize, piece: &[u8]| index_piece(piece, k.saturating_mul(PIECE), limits, keys);
    let mut runs = Vec::new();
    // No more threads than pieces: a file of one piece is read on the calling thread.
    let threads = threads.min(buf.len().div_ceil(PIECE));
    if threads <= 1 {
        for (k, piece) in buf.chunks_mut(PIECE).enumerate() {
            read(k, piece)?;
            runs.extend(index(k, piece));
        }
        return Ok(runs);
    }
    let (tx, rx) = std::sync::mpsc::channel::<(usize, &[u8])>();
    let rx = std::sync::Mutex::new(rx);
    // Index pieces until every one is read and taken.
    let work = || {
        let mut out = Vec::new();
        loop {
            let next = match rx.lock() {
                Ok(rx) => rx.recv(),
                Err(_) => break,
            };
            let Ok((k, piece)) = next else { break };
            out.extend(index(k, piece));
        }
        out
    };
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| std::thread::Builder::new().spawn_scoped(scope, work).ok())
            .collect();
        let mut result = Ok(());
        for (k, piece) in buf.chunks_mut(PIECE).enumerate() {
            if let Err(e) = read(k, piece) {
                result = Err(e);
                break;
            }
            let piece: &[u8] = piece;
            if tx.send((k, piece)).is_err() {
                break;
            }
        }
        drop(tx);
        // This thread takes what is left (all of it if no helper could be started).
        runs.extend(work());
        for h in helpers {
            runs.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        result
    })?;
    runs.sort_unstable_by_key(|(begin, _)| *begin);
    Ok(runs)
}

/// The sections wholly inside `piece` (which starts at byte `base` of the file), from
/// the first: after the header in the first piece, at a guessed section boundary in the
/// others. The run ends before the first section it cannot read on its own (one across
/// the piece's end, or a bad one): the whole file is read there later. `None` if no
/// section could be found to start from.
fn index_piece(piece: &[u8], base: usize, limits: &CarLimits, keys: &Keys) -> Option<(usize, Run)> {
    let begin = if base == 0 {
        CarReader::with_limits(piece, *limits).ok()?.position()
    } else {
        resync(piece, 0, limits)?
    };
    let mut run = read_run(
        &mut CarReader::sections_of(piece, begin, *limits),
        keys,
        piece.len(),
    );
    // Offsets in the file; an error is left to the reading of the whole file.
    for slot in &mut run.slots {
        slot.at += base;
    }
    run.end += base;
    run.error = None;
    Some((base + begin, run))
}
