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

/// One block section: the CID, the offset of the CID in the input, the block's bytes.
pub(crate) type Section<'a> = (Cid, usize, &'a [u8]);

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
    blocks: usize,
    failed: bool,
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
            blocks: 0,
            failed: false,
        })
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

    /// The next block with the offset of its CID in the input, or `None` at the end.
    pub(crate) fn next_section(&mut self) -> Option<Result<Section<'a>, CarError>> {
        if self.failed || self.pos >= self.bytes.len() {
            return None;
        }
        let r = self.read_block();
        if r.is_err() {
            self.failed = true;
        }
        Some(r)
    }

    fn read_block(&mut self) -> Result<Section<'a>, CarError> {
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
        Ok((cid, start, data))
    }
}

/// Splits a block section (whose length varint is at `at` and whose CID starts at
/// `start`) into its CID and data, checking the data against the CID if asked.
fn split_section(
    section: &[u8],
    at: usize,
    start: usize,
    check_hashes: bool,
) -> Result<(Cid, &[u8]), CarError> {
    // A CID cut short by the section's end is a bad CID, not a short file.
    let (cid, data) =
        Cid::read_prefix(section).map_err(|source| CarError::Cid { at: start, source })?;
    if check_hashes {
        if cid.hash_code() != atmo_data::cid::SHA2_256 || cid.digest().len() != 32 {
            return Err(CarError::UnsupportedHash { at, cid });
        }
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
