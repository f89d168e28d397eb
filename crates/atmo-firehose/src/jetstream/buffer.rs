//! The Jetstream server's replay buffer: events as JSON lines in segment files under one
//! directory, the oldest segments deleted past a byte budget.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Bytes per segment file before a new one starts.
const SEGMENT_BYTES: u64 = 4 * 1024 * 1024;
/// The longest line read back (a bigger one is skipped).
const MAX_LINE: usize = 4 * 1024 * 1024;

#[derive(Debug)]
struct Segment {
    path: PathBuf,
    first_time_us: i64,
    bytes: u64,
}

/// Events kept on disk for cursor replay.
#[derive(Debug)]
pub(crate) struct DiskBuffer {
    dir: PathBuf,
    max_bytes: u64,
    segments: VecDeque<Segment>,
    writer: Option<BufWriter<File>>,
    last_time_us: Option<i64>,
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

impl DiskBuffer {
    /// Opens (creating) the buffer in `dir`, keeping at most about `max_bytes`.
    pub(crate) fn open(dir: &Path, max_bytes: u64) -> Result<Self, Error> {
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
        let mut segments = VecDeque::new();
        for (first_time_us, path) in names {
            let bytes = std::fs::metadata(&path).map_err(io(&path))?.len();
            segments.push_back(Segment {
                path,
                first_time_us,
                bytes,
            });
        }
        let mut buffer = Self {
            dir: dir.to_owned(),
            max_bytes: max_bytes.max(SEGMENT_BYTES),
            segments,
            writer: None,
            last_time_us: None,
        };
        buffer.last_time_us = buffer
            .read_since(i64::MIN)?
            .last()
            .and_then(|l| line_time(l));
        Ok(buffer)
    }

    /// The `time_us` of the newest buffered event.
    pub(crate) fn last_time_us(&self) -> Option<i64> {
        self.last_time_us
    }

    /// Appends one event's JSON (a single line) with its `time_us`.
    pub(crate) fn append(&mut self, time_us: i64, json: &str) -> Result<(), Error> {
        let full = self
            .segments
            .back()
            .is_none_or(|s| s.bytes >= SEGMENT_BYTES);
        if full || self.writer.is_none() {
            if let Some(mut w) = self.writer.take() {
                let path = self
                    .segments
                    .back()
                    .map(|s| s.path.clone())
                    .unwrap_or_default();
                w.flush().map_err(io(&path))?;
            }
            if full {
                let path = self.dir.join(format!("{time_us:020}.jsonl"));
                self.segments.push_back(Segment {
                    path,
                    first_time_us: time_us,
                    bytes: 0,
                });
            }
            let Some(seg) = self.segments.back() else {
                return Ok(());
            };
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&seg.path)
                .map_err(io(&seg.path))?;
            self.writer = Some(BufWriter::new(file));
            self.evict()?;
        }
        let (Some(w), Some(seg)) = (self.writer.as_mut(), self.segments.back_mut()) else {
            return Ok(());
        };
        w.write_all(json.as_bytes()).map_err(io(&seg.path))?;
        w.write_all(b"\n").map_err(io(&seg.path))?;
        w.flush().map_err(io(&seg.path))?;
        seg.bytes += json.len() as u64 + 1;
        self.last_time_us = Some(time_us);
        Ok(())
    }

    /// Deletes the oldest segments (never the one being written) past the budget.
    fn evict(&mut self) -> Result<(), Error> {
        let mut total: u64 = self.segments.iter().map(|s| s.bytes).sum();
        while total > self.max_bytes && self.segments.len() > 1 {
            let Some(old) = self.segments.pop_front() else {
                break;
            };
            std::fs::remove_file(&old.path).map_err(io(&old.path))?;
            total -= old.bytes;
        }
        Ok(())
    }

    /// Every buffered line whose `time_us` is at least `cursor`, oldest first. (A cursor
    /// older than the buffer starts at its oldest event, as Jetstream does.)
    pub(crate) fn read_since(&self, cursor: i64) -> Result<Vec<String>, Error> {
        let mut out = Vec::new();
        for (i, seg) in self.segments.iter().enumerate() {
            // Times increase, so a segment whose successor starts at or before the
            // cursor holds nothing to replay.
            if self
                .segments
                .get(i + 1)
                .is_some_and(|next| next.first_time_us <= cursor)
            {
                continue;
            }
            let file = match File::open(&seg.path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io(&seg.path)(e)),
            };
            for line in BufReader::new(file).lines() {
                let line = line.map_err(io(&seg.path))?;
                if line.len() > MAX_LINE {
                    continue;
                }
                if line_time(&line).is_some_and(|t| t >= cursor) {
                    out.push(line);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_replays_and_reopens() {
        let dir = std::env::temp_dir().join(format!("atmo-js-buf-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut b = DiskBuffer::open(&dir, 1).unwrap();
        for t in 1..=5 {
            b.append(t, &format!(r#"{{"did":"d","time_us":{t},"kind":"x"}}"#))
                .unwrap();
        }
        let since3: Vec<i64> = b
            .read_since(3)
            .unwrap()
            .iter()
            .filter_map(|l| line_time(l))
            .collect();
        assert_eq!(since3, vec![3, 4, 5]);
        drop(b);
        let b = DiskBuffer::open(&dir, 1).unwrap();
        assert_eq!(b.last_time_us(), Some(5));
        assert_eq!(b.read_since(0).unwrap().len(), 5);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
