//! The async streaming CAR v1 reader (feature `async`).

use atmo_data::Cid;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::{CarLimits, parse_header, read_varint, split_section};
use crate::error::CarError;

/// Bytes asked of the underlying reader at a time (the buffer's smallest size).
const CHUNK: usize = 64 << 10;

/// A streaming CAR v1 reader over any [`tokio::io::AsyncRead`].
///
/// It reads the same format as [`CarReader`](super::CarReader), with the same
/// [`CarLimits`], the same per-block hash check (on unless [`Self::trust_hashes`]) and the
/// same [`CarError`]s at the same byte offsets; an I/O error of the underlying reader is
/// [`CarError::Io`]. Bytes go through one internal buffer that never grows past the
/// largest of 64 KiB and the limits (the header, one section), and only once the declared
/// length has been checked against them; [`Self::next_block`] lends each block from it.
///
/// ```
/// # async fn demo() -> Result<(), atmo_repo::CarError> {
/// use atmo_data::Cid;
/// use atmo_repo::car::{AsyncCarReader, write_car};
///
/// let cid = Cid::for_raw(b"hello");
/// let car = write_car(&[cid], [(cid, b"hello".as_slice())]);
/// let mut reader = AsyncCarReader::new(car.as_slice()).await?;
/// assert_eq!(reader.roots(), &[cid]);
/// while let Some((cid, data)) = reader.next_block().await? {
///     assert_eq!((cid, data), (Cid::for_raw(b"hello"), b"hello".as_slice()));
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct AsyncCarReader<R> {
    inner: R,
    /// `buf[start..end]` holds bytes read but not consumed yet.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Offset in the input of `buf[0]`.
    base: usize,
    eof: bool,
    roots: Vec<Cid>,
    limits: CarLimits,
    check_hashes: bool,
    blocks: usize,
    failed: bool,
}

impl<R: AsyncRead + Unpin> AsyncCarReader<R> {
    /// Reads the header with the default [`CarLimits`]; blocks will be hash-checked.
    ///
    /// # Errors
    /// [`CarError`] if the header is malformed, exceeds the limits or cannot be read.
    pub async fn new(inner: R) -> Result<Self, CarError> {
        Self::with_limits(inner, CarLimits::DEFAULT).await
    }

    /// Reads the header with explicit limits; blocks will be hash-checked.
    ///
    /// # Errors
    /// [`CarError`] if the header is malformed, exceeds `limits` or cannot be read.
    pub async fn with_limits(inner: R, limits: CarLimits) -> Result<Self, CarError> {
        let mut r = Self {
            inner,
            buf: Vec::new(),
            start: 0,
            end: 0,
            base: 0,
            eof: false,
            roots: Vec::new(),
            limits,
            check_hashes: true,
            blocks: 0,
            failed: false,
        };
        let len = r.varint(0).await?;
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
        let start = r.position();
        let roots = parse_header(r.take(len).await?, start, &limits)?;
        r.roots = roots;
        Ok(r)
    }

    /// Stops checking block bytes against their CIDs. Only for input you trust: a
    /// corrupted or hostile stream then yields blocks whose content does not match their
    /// CID.
    pub fn trust_hashes(mut self) -> Self {
        self.check_hashes = false;
        self
    }

    /// The roots listed in the header (for an atproto repository, the commit first).
    pub fn roots(&self) -> &[Cid] {
        &self.roots
    }

    /// Byte offset in the input of the next section.
    pub fn position(&self) -> usize {
        self.base + self.start
    }

    /// The next block, lent from the internal buffer until the next call, or `None` at
    /// the end of the input. After an error every further call returns `Ok(None)`.
    ///
    /// # Errors
    /// [`CarError`] if the section is malformed, exceeds the limits, does not match its
    /// CID, or the input cannot be read.
    pub async fn next_block(&mut self) -> Result<Option<(Cid, &[u8])>, CarError> {
        if self.failed {
            return Ok(None);
        }
        match self.read_section().await {
            Ok(Some((at, start, len))) => {
                let section = self
                    .buf
                    .get(start..start + len)
                    .ok_or(CarError::Truncated { at, needed: len })?;
                match split_section(section, at, self.base + start, self.check_hashes) {
                    Ok((cid, _)) => {
                        self.start = start + len;
                        self.blocks += 1;
                        let data = self
                            .buf
                            .get(start + cid.encoded_len()..start + len)
                            .ok_or(CarError::Truncated { at, needed: len })?;
                        Ok(Some((cid, data)))
                    }
                    Err(e) => {
                        self.failed = true;
                        Err(e)
                    }
                }
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }

    /// Reads the next section's length and buffers the section: its input offset, and
    /// where it starts in `buf` and its length (not consumed yet).
    async fn read_section(&mut self) -> Result<Option<(usize, usize, usize)>, CarError> {
        if self.fill(1).await? == 0 {
            return Ok(None);
        }
        let at = self.position();
        if self.blocks >= self.limits.max_blocks {
            return Err(CarError::TooManyBlocks {
                at,
                max: self.limits.max_blocks,
            });
        }
        let len = self.varint(at).await?;
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
        self.need(len).await?;
        // The varint is consumed; the section stays until it is checked.
        Ok(Some((at, self.start, len)))
    }

    /// Reads and consumes a length varint whose first byte is at input offset `at`.
    async fn varint(&mut self, at: usize) -> Result<u64, CarError> {
        let max = self.limits.max_varint_len;
        self.fill(max.min(10)).await?;
        let window = self.buf.get(self.start..self.end).unwrap_or_default();
        let (v, used) = read_varint(window, 0, max).map_err(|e| match e {
            CarError::Truncated { at: i, needed } => CarError::Truncated { at: at + i, needed },
            CarError::VarintTooLong { max, .. } => CarError::VarintTooLong { at, max },
            CarError::VarintNotMinimal { .. } => CarError::VarintNotMinimal { at },
            other => other,
        })?;
        self.start += used;
        Ok(v)
    }

    /// Buffers exactly `len` more bytes (already checked against a limit) and consumes
    /// them.
    async fn take(&mut self, len: usize) -> Result<&[u8], CarError> {
        self.need(len).await?;
        let from = self.start;
        self.start += len;
        Ok(self.buf.get(from..from + len).unwrap_or_default())
    }

    /// Buffers `len` bytes or fails with [`CarError::Truncated`] at the end of input.
    async fn need(&mut self, len: usize) -> Result<(), CarError> {
        let have = self.fill(len).await?;
        if have < len {
            return Err(CarError::Truncated {
                at: self.base + self.end,
                needed: len - have,
            });
        }
        Ok(())
    }

    /// Reads until `n` bytes are buffered or the input ends; returns how many are
    /// buffered. `n` is bounded by the limits, so is the buffer.
    async fn fill(&mut self, n: usize) -> Result<usize, CarError> {
        while self.end - self.start < n && !self.eof {
            if self.start > 0
                && (self.buf.len() - self.start < n || self.buf.len() - self.end < 4096)
            {
                self.buf.copy_within(self.start..self.end, 0);
                self.base += self.start;
                self.end -= self.start;
                self.start = 0;
            }
            let want = n.max(CHUNK);
            if self.buf.len() < want {
                self.buf.resize(want, 0);
            }
            let Some(room) = self.buf.get_mut(self.end..) else {
                break;
            };
            match self.inner.read(room).await {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(CarError::Io {
                        at: self.base + self.end,
                        kind: e.kind(),
                    });
                }
            }
        }
        Ok(self.end - self.start)
    }
}
