//! The Jetstream server's replay buffer: events as JSON lines in segment files under one
//! directory (`<first time_us>.jsonl`), the oldest segments deleted past a byte budget.
//!
//! One [`Writer`] appends lines in batches (one flush per batch) and publishes, per
//! segment, how many bytes are complete. Any number of [`Reader`]s stream from the files
//! at the same time, each holding at most one chunk of lines and reading no further than
//! the published length (so never half a line). The shared [`Segments`] index is locked
//! only to look a segment up or to record a batch, never while a file is read or written.
//! Both sides do blocking file I/O: the server runs them on tokio's blocking pool.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read as _, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::error::Error;

/// Bytes per segment file before a new one starts.
pub(crate) const SEGMENT_BYTES: u64 = 4 * 1024 * 1024;
/// The longest line read back (a longer one is skipped).
const MAX_LINE: u64 = 4 * 1024 * 1024;

#[derive(Debug, Clone)]
struct Segment {
    path: PathBuf,
    first_time_us: i64,
    /// Bytes of whole lines written and flushed.
    bytes: u64,
}

/// The segment list that the writer and the readers share.
#[derive(Debug, Clone, Default)]
pub(crate) struct Segments(Arc<Mutex<VecDeque<Segment>>>);

impl Segments {
    /// How far segment `first` may be read (`u64::MAX` once it was evicted: it was
    /// complete), and whether a newer segment exists.
    fn limit(&self, first: i64) -> (u64, bool) {
        let list = self.lock();
        let limit = list
            .iter()
            .find(|s| s.first_time_us == first)
            .map_or(u64::MAX, |s| s.bytes);
        let newer = list.back().is_some_and(|s| s.first_time_us > first);
        (limit, newer)
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<Segment>> {
        // The list stays consistent at every await-free step; a panic elsewhere does not
        // make it unusable.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Io {
        path: path.to_owned(),
        kind: e.kind(),
    }
}

#[derive(serde::Deserialize)]
struct TimeOnly {
    time_us: i64,
}

/// The `time_us` of one buffered line.
pub(crate) fn line_time(line: &str) -> Option<i64> {
    serde_json::from_str::<TimeOnly>(line)
        .ok()
        .map(|t| t.time_us)
}

/// Appends events; the only writer of a buffer directory.
#[derive(Debug)]
pub(crate) struct Writer {
    dir: PathBuf,
    max_bytes: u64,
    segment_bytes: u64,
    segments: Segments,
    out: Option<BufWriter<File>>,
    /// Bytes of the newest segment, including those not yet published.
    current: u64,
}

/// The newest complete line of `path`: its `time_us`, and the length of the file up to
/// the end of that line (what follows is a line cut short by a crash).
fn scan_tail(path: &Path) -> Result<(Option<i64>, u64), Error> {
    let file = File::open(path).map_err(io(path))?;
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    let (mut last, mut whole) = (None, 0u64);
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut line)
            .map_err(io(path))?;
        if n == 0 {
            break;
        }
        if line.last() != Some(&b'\n') {
            if n as u64 > MAX_LINE {
                // An over-long line: skip the rest of it.
                let rest = reader.skip_until(b'\n').map_err(io(path))?;
                if rest > 0 {
                    whole += n as u64 + rest as u64;
                }
                continue;
            }
            break; // cut short
        }
        whole += n as u64;
        if let Some(t) = std::str::from_utf8(&line).ok().and_then(line_time) {
            last = Some(t);
        }
    }
    Ok((last, whole))
}

impl Writer {
    /// Opens (creating) the buffer in `dir`, keeping at most about `max_bytes` in
    /// segments of `segment_bytes`. A line cut short at the end (a crash while writing)
    /// is cut off. Returns the writer and the newest event's `time_us`.
    pub(crate) fn open(
        dir: &Path,
        max_bytes: u64,
        segment_bytes: u64,
    ) -> Result<(Self, Option<i64>), Error> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let mut names: Vec<(i64, PathBuf)> = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let entry = entry.map_err(io(dir))?;
            let path = entry.path();
            let first = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".jsonl"))
                .and_then(|n| n.parse::<i64>().ok());
            if let Some(first) = first {
                names.push((first, path));
            }
        }
        names.sort();
        let mut list = VecDeque::new();
        for (first_time_us, path) in names {
            let bytes = std::fs::metadata(&path).map_err(io(&path))?.len();
            list.push_back(Segment {
                path,
                first_time_us,
                bytes,
            });
        }
        // The newest event: from the newest segment that holds one (streamed, so the
        // buffer is never read into memory). The newest segment loses a torn tail.
        let mut last = None;
        for seg in list.iter_mut().rev() {
            let (t, whole) = scan_tail(&seg.path)?;
            if whole < seg.bytes {
                let f = OpenOptions::new()
                    .write(true)
                    .open(&seg.path)
                    .map_err(io(&seg.path))?;
                f.set_len(whole).map_err(io(&seg.path))?;
                seg.bytes = whole;
            }
            if t.is_some() {
                last = t;
                break;
            }
        }
        let current = list.back().map_or(0, |s| s.bytes);
        let writer = Self {
            dir: dir.to_owned(),
            max_bytes: max_bytes.max(segment_bytes),
            segment_bytes: segment_bytes.max(1),
            segments: Segments(Arc::new(Mutex::new(list))),
            out: None,
            current,
        };
        Ok((writer, last))
    }

    /// The index readers share.
    pub(crate) fn segments(&self) -> Segments {
        self.segments.clone()
    }

    /// Publishes `n` more complete bytes of the newest segment.
    fn publish(&self, n: u64) {
        if n == 0 {
            return;
        }
        if let Some(seg) = self.segments.lock().back_mut() {
            seg.bytes += n;
        }
    }

    /// Appends a batch of `(time_us, json)` lines (each JSON on one line, times
    /// increasing), flushing once per segment touched, then makes them visible to
    /// readers.
    ///
    /// # Errors
    /// [`Error::Io`] when a segment cannot be created or written; what was published
    /// before stays visible, the rest of the batch is lost.
    pub(crate) fn append(&mut self, lines: &[(i64, String)]) -> Result<(), Error> {
        let r = self.try_append(lines);
        if r.is_err() {
            // Part of a line may have reached the file past what was published: the
            // next event starts a new segment, and readers never see those bytes.
            self.out = None;
            self.current = u64::MAX;
        }
        r
    }

    fn try_append(&mut self, lines: &[(i64, String)]) -> Result<(), Error> {
        let mut pending: u64 = 0;
        for (time_us, json) in lines {
            let full = self.current >= self.segment_bytes;
            // (Eviction never removes the newest segment: only the first write finds
            // none.)
            let fresh = self.out.is_none() && self.segments.lock().is_empty();
            if full || fresh || self.out.is_none() {
                if let Some(mut w) = self.out.take() {
                    let path = self.dir.clone();
                    w.flush().map_err(io(&path))?;
                    self.publish(pending);
                    pending = 0;
                }
                if full || fresh {
                    let path = self.dir.join(format!("{time_us:020}.jsonl"));
                    self.segments.lock().push_back(Segment {
                        path,
                        first_time_us: *time_us,
                        bytes: 0,
                    });
                    self.current = 0;
                    self.evict();
                }
                let Some(path) = self.segments.lock().back().map(|s| s.path.clone()) else {
                    return Ok(());
                };
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(io(&path))?;
                self.out = Some(BufWriter::with_capacity(256 << 10, file));
            }
            let Some(w) = self.out.as_mut() else {
                return Ok(());
            };
            let n = json.len() as u64 + 1;
            w.write_all(json.as_bytes())
                .and_then(|()| w.write_all(b"\n"))
                .map_err(io(&self.dir))?;
            pending += n;
            self.current += n;
        }
        if let Some(w) = self.out.as_mut() {
            w.flush().map_err(io(&self.dir))?;
        }
        self.publish(pending);
        Ok(())
    }

    /// Deletes the oldest segments (never the one being written) past the budget. A
    /// reader that has one open keeps reading it; one that has not yet reached it moves
    /// on to the oldest left.
    fn evict(&mut self) {
        let mut list = self.segments.lock();
        let mut total: u64 = list.iter().map(|s| s.bytes).sum();
        let mut gone = Vec::new();
        while total > self.max_bytes && list.len() > 1 {
            let Some(old) = list.pop_front() else {
                break;
            };
            total -= old.bytes;
            gone.push(old.path);
        }
        drop(list);
        for path in gone {
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::warn!("jetstream buffer: removing {}: {e}", path.display());
            }
        }
    }
}

/// An open segment a reader is in.
#[derive(Debug)]
struct Open {
    first_time_us: i64,
    file: BufReader<File>,
    pos: u64,
    /// How far it may be read, as last looked up.
    limit: u64,
}

/// Streams the buffer from a cursor, a chunk at a time.
#[derive(Debug)]
pub(crate) struct Reader {
    segments: Segments,
    cursor: i64,
    open: Option<Open>,
    /// The first segment of the last one opened (readers move to the next one after it).
    last_first: Option<i64>,
    line: Vec<u8>,
}

impl Reader {
    /// A reader of the lines whose `time_us` is at least `cursor` (a cursor older than
    /// the buffer starts at its oldest event, as Jetstream does).
    pub(crate) fn new(segments: Segments, cursor: i64) -> Self {
        Self {
            segments,
            cursor,
            open: None,
            last_first: None,
            line: Vec::new(),
        }
    }

    /// The next segment to read: at first the newest that starts at or before the
    /// cursor (or the oldest); then the oldest after the last one read.
    fn next_segment(&self) -> Option<(i64, PathBuf)> {
        let list = self.segments.lock();
        let seg = match self.last_first {
            None => list
                .iter()
                .rev()
                .find(|s| s.first_time_us <= self.cursor)
                .or_else(|| list.front()),
            Some(last) => list.iter().find(|s| s.first_time_us > last),
        };
        seg.map(|s| (s.first_time_us, s.path.clone()))
    }

    /// Up to `max_lines` lines (and not much more than `max_bytes`), oldest first, with
    /// their `time_us`; empty once everything written so far was read.
    ///
    /// # Errors
    /// [`Error::Io`] when a segment cannot be read.
    pub(crate) fn read_chunk(
        &mut self,
        max_lines: usize,
        max_bytes: usize,
    ) -> Result<Vec<(i64, String)>, Error> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        while out.len() < max_lines.max(1) && bytes < max_bytes {
            let Some(open) = self.open.as_mut() else {
                let Some((first, path)) = self.next_segment() else {
                    break;
                };
                self.last_first = Some(first);
                let file = match File::open(&path) {
                    Ok(f) => f,
                    // Evicted since it was looked up: go on with the next.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(io(&path)(e)),
                };
                self.open = Some(Open {
                    first_time_us: first,
                    file: BufReader::with_capacity(64 << 10, file),
                    pos: 0,
                    limit: 0,
                });
                continue;
            };
            let mut newer = false;
            if open.pos >= open.limit {
                // The lock is taken once per published stretch, not per line.
                (open.limit, newer) = self.segments.limit(open.first_time_us);
                if open.pos >= open.limit {
                    if newer {
                        self.open = None;
                        continue;
                    }
                    break; // caught up with the writer
                }
            }
            let left = open.limit - open.pos;
            self.line.clear();
            let n = (&mut open.file)
                .take(left.min(MAX_LINE + 1))
                .read_until(b'\n', &mut self.line)
                .map_err(|e| Error::Io {
                    path: PathBuf::from(format!("{:020}.jsonl", open.first_time_us)),
                    kind: e.kind(),
                })?;
            if n == 0 {
                // The file is shorter than published (an evicted one ends here, or it
                // was replaced): move on to the next segment, if any.
                if newer || self.segments.limit(open.first_time_us).1 {
                    self.open = None;
                    continue;
                }
                break;
            }
            open.pos += n as u64;
            if self.line.last() != Some(&b'\n') {
                if n as u64 > MAX_LINE {
                    let rest = open.file.skip_until(b'\n').map_err(|e| Error::Io {
                        path: PathBuf::from(format!("{:020}.jsonl", open.first_time_us)),
                        kind: e.kind(),
                    })?;
                    open.pos += rest as u64;
                }
                continue;
            }
            self.line.pop();
            let Ok(text) = std::str::from_utf8(&self.line) else {
                continue;
            };
            let Some(t) = line_time(text) else { continue };
            if t < self.cursor {
                continue;
            }
            bytes += text.len();
            out.push((t, text.to_owned()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(t: i64) -> (i64, String) {
        (
            t,
            format!(r#"{{"did":"did:plc:x","time_us":{t},"kind":"x"}}"#),
        )
    }

    fn all(r: &mut Reader, chunk: usize) -> Vec<i64> {
        let mut out = Vec::new();
        loop {
            let c = r.read_chunk(chunk, usize::MAX).unwrap();
            assert!(c.len() <= chunk);
            if c.is_empty() {
                return out;
            }
            out.extend(c.iter().map(|(t, _)| *t));
        }
    }

    #[test]
    fn appends_replays_in_chunks_and_reopens() {
        let dir = std::env::temp_dir().join(format!("atmo-js-buf-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // Segments of about four lines.
        let (mut w, last) = Writer::open(&dir, u64::MAX, 150).unwrap();
        assert_eq!(last, None);
        let batch: Vec<_> = (1..=50).map(line).collect();
        w.append(&batch[..20]).unwrap();
        let mut r = Reader::new(w.segments(), 3);
        assert_eq!(all(&mut r, 7), (3..=20).collect::<Vec<_>>());
        // The reader goes on from where it stopped when more is written.
        w.append(&batch[20..]).unwrap();
        assert_eq!(all(&mut r, 7), (21..=50).collect::<Vec<_>>());
        assert!(w.segments().lock().len() > 5);
        drop(w);

        // A crash in the middle of a line: the torn line is cut off on reopening.
        let newest = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .max()
            .unwrap();
        let mut f = OpenOptions::new().append(true).open(&newest).unwrap();
        f.write_all(br#"{"did":"did:plc:x","time_"#).unwrap();
        drop(f);
        let (mut w, last) = Writer::open(&dir, u64::MAX, 150).unwrap();
        assert_eq!(last, Some(50));
        w.append(&[line(51)]).unwrap();
        let mut r = Reader::new(w.segments(), 0);
        assert_eq!(all(&mut r, 1000), (1..=51).collect::<Vec<_>>());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_reader_outlives_eviction_and_skips_to_the_oldest_left() {
        let dir = std::env::temp_dir().join(format!("atmo-js-evict-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // About 4 lines per segment, about 3 segments kept.
        let (mut w, _) = Writer::open(&dir, 450, 150).unwrap();
        w.append(&(1..=8).map(line).collect::<Vec<_>>()).unwrap();
        let mut r = Reader::new(w.segments(), 0);
        // The reader has the first segment open ...
        let first = r.read_chunk(2, usize::MAX).unwrap();
        assert_eq!(first.iter().map(|l| l.0).collect::<Vec<_>>(), [1, 2]);
        // ... when it is evicted, with the next one.
        w.append(&(9..=40).map(line).collect::<Vec<_>>()).unwrap();
        let rest = all(&mut r, 3);
        // It finishes its open segment, then goes on with the oldest left.
        assert_eq!(rest[..2], [3, 4]);
        assert!(rest[2] > 5, "{rest:?}");
        assert_eq!(*rest.last().unwrap(), 40);
        assert!(rest.windows(2).all(|p| p[0] < p[1]));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
