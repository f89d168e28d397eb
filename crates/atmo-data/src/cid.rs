//! Content identifiers (CIDv1).

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::base32;

/// Most digest bytes a [`Cid`] holds (enough for SHA-512 and BLAKE2b-512).
pub const MAX_DIGEST_LEN: usize = 64;

/// Most bytes of a binary CID: version, codec and hash varints (9 bytes each at most),
/// digest length and digest.
pub const MAX_CID_LEN: usize = 1 + 9 + 9 + 1 + MAX_DIGEST_LEN;

/// Multicodec code of DAG-CBOR, the codec of records, MST nodes and commits.
pub const DAG_CBOR: u64 = 0x71;
/// Multicodec code of raw bytes, the codec of blobs.
pub const RAW: u64 = 0x55;
/// Multihash code of SHA2-256.
pub const SHA2_256: u64 = 0x12;

/// Why bytes or a string are not a CID this crate can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CidError {
    /// The input ended inside the CID, at this byte offset.
    #[error("CID is truncated at byte {at}")]
    Truncated {
        /// Offset where more bytes were needed.
        at: usize,
    },
    /// A CIDv0 (a bare SHA2-256 multihash); atproto uses CIDv1 only.
    #[error("CIDv0 is not supported (atproto uses CIDv1)")]
    Version0,
    /// A version other than 1.
    #[error("unsupported CID version {version}")]
    Version {
        /// The version found.
        version: u64,
    },
    /// A varint that is longer than 9 bytes or not in its shortest form.
    #[error("malformed varint at byte {at}")]
    Varint {
        /// Offset of the varint.
        at: usize,
    },
    /// A digest longer than [`MAX_DIGEST_LEN`].
    #[error("CID digest of {len} bytes is longer than {MAX_DIGEST_LEN}")]
    DigestTooLong {
        /// The declared digest length.
        len: u64,
    },
    /// Bytes after a complete CID where none were expected.
    #[error("{extra} unexpected bytes after the CID")]
    TrailingBytes {
        /// How many bytes were left over.
        extra: usize,
    },
    /// The string is empty.
    #[error("empty CID string")]
    Empty,
    /// A multibase prefix other than `b` (base32 lower case).
    #[error("unsupported multibase prefix {prefix:?} (expected 'b', base32 lower case)")]
    Multibase {
        /// The prefix character found.
        prefix: char,
    },
    /// A character outside the base32 alphabet, or non-zero trailing bits, at this
    /// position of the string.
    #[error("invalid base32 in CID string at character {at}")]
    Base32 {
        /// Character position (the multibase prefix is position 0).
        at: usize,
    },
}

/// A CIDv1 with a digest of at most [`MAX_DIGEST_LEN`] bytes, held inline.
///
/// `Cid` is `Copy`: cloning and comparing it never allocate. The atproto forms are
/// [`DAG_CBOR`] (records, MST nodes, commits) and [`RAW`] (blobs), both hashed with
/// SHA2-256; other CIDv1s are still representable so foreign links survive a round trip.
/// The string form is multibase base32 lower case with the `b` prefix.
///
/// The derived order compares codec, hash code, digest length, then digest: a total order,
/// but not the order of the binary forms.
///
/// ```
/// # fn main() -> Result<(), atmo_data::CidError> {
/// use atmo_data::Cid;
/// let cid: Cid = "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a".parse()?;
/// assert_eq!(cid.codec(), atmo_data::cid::DAG_CBOR);
/// assert_eq!(cid.digest().len(), 32);
/// assert_eq!(Cid::from_bytes(&cid.to_bytes())?, cid);
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cid {
    codec: u64,
    hash: u64,
    len: u8,
    /// Digest bytes; everything past `len` is zero (so derived equality is correct).
    digest: [u8; MAX_DIGEST_LEN],
}

impl Cid {
    /// A CIDv1 from its parts. Returns `None` if the digest is longer than
    /// [`MAX_DIGEST_LEN`].
    pub fn new(codec: u64, hash: u64, digest: &[u8]) -> Option<Self> {
        let mut d = [0u8; MAX_DIGEST_LEN];
        d.get_mut(..digest.len())?.copy_from_slice(digest);
        Some(Self {
            codec,
            hash,
            len: u8::try_from(digest.len()).ok()?,
            digest: d,
        })
    }

    fn sha256(codec: u64, bytes: &[u8]) -> Self {
        let h: [u8; 32] = Sha256::digest(bytes).into();
        let mut d = [0u8; MAX_DIGEST_LEN];
        if let Some(dst) = d.get_mut(..32) {
            dst.copy_from_slice(&h);
        }
        Self {
            codec,
            hash: SHA2_256,
            len: 32,
            digest: d,
        }
    }

    /// The CID of DAG-CBOR bytes (codec 0x71, SHA2-256), e.g. of an encoded record.
    ///
    /// ```
    /// let cid = atmo_data::Cid::for_dag_cbor(&[0xa0]); // the empty map
    /// assert!(cid.verify(&[0xa0]));
    /// ```
    pub fn for_dag_cbor(bytes: &[u8]) -> Self {
        Self::sha256(DAG_CBOR, bytes)
    }

    /// The CID of raw bytes (codec 0x55, SHA2-256), as for a blob.
    pub fn for_raw(bytes: &[u8]) -> Self {
        Self::sha256(RAW, bytes)
    }

    /// The content codec (multicodec), e.g. [`DAG_CBOR`] or [`RAW`].
    pub fn codec(&self) -> u64 {
        self.codec
    }

    /// The multihash function code, e.g. [`SHA2_256`].
    pub fn hash_code(&self) -> u64 {
        self.hash
    }

    /// The digest bytes.
    pub fn digest(&self) -> &[u8] {
        self.digest.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// True if this is one of the CID forms atproto blesses: SHA2-256 with a 32-byte
    /// digest and codec DAG-CBOR or raw.
    pub fn is_atproto(&self) -> bool {
        self.hash == SHA2_256 && self.len == 32 && (self.codec == DAG_CBOR || self.codec == RAW)
    }

    /// True if `bytes` hash to this CID. Only SHA2-256 can be checked; any other hash
    /// function gives `false`.
    pub fn verify(&self, bytes: &[u8]) -> bool {
        self.hash == SHA2_256
            && self.len == 32
            && self.digest() == <[u8; 32]>::from(Sha256::digest(bytes))
    }

    /// Parses a binary CIDv1; the whole slice must be the CID.
    ///
    /// # Errors
    /// [`CidError`] if the bytes are not a CIDv1 with a digest of at most 64 bytes, or
    /// if bytes follow it.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CidError> {
        let (cid, rest) = Self::read_prefix(bytes)?;
        if rest.is_empty() {
            Ok(cid)
        } else {
            Err(CidError::TrailingBytes { extra: rest.len() })
        }
    }

    /// [`Self::from_bytes`] into a new box. The common 36-byte atproto CIDs are built in
    /// place on the heap, rather than on the stack and then copied (the decoder's links).
    #[inline]
    pub(crate) fn boxed_from_bytes(bytes: &[u8]) -> Result<Box<Self>, CidError> {
        if let Some(([0x01, codec @ (0x71 | 0x55), 0x12, 0x20], d)) = bytes.split_first_chunk::<4>()
        {
            if let Ok(d) = <&[u8; 32]>::try_from(d) {
                let mut cid = Box::new(Self {
                    codec: u64::from(*codec),
                    hash: SHA2_256,
                    len: 32,
                    digest: [0; MAX_DIGEST_LEN],
                });
                if let Some((dst, _)) = cid.digest.split_first_chunk_mut::<32>() {
                    *dst = *d;
                }
                return Ok(cid);
            }
        }
        Self::from_bytes(bytes).map(Box::new)
    }

    /// Reads a binary CIDv1 from the start of `bytes` and returns it with the bytes after
    /// it (for CAR and MST readers).
    ///
    /// # Errors
    /// [`CidError`] if the bytes do not start with a CIDv1 with a digest of at most 64 bytes.
    pub fn read_prefix(bytes: &[u8]) -> Result<(Self, &[u8]), CidError> {
        // Fast path: the common 36-byte atproto CIDs.
        if let Some(([0x01, codec @ (0x71 | 0x55), 0x12, 0x20], Some((d, rest)))) = bytes
            .split_first_chunk::<4>()
            .map(|(h, r)| (*h, r.split_first_chunk::<32>()))
        {
            let mut digest = [0u8; MAX_DIGEST_LEN];
            if let Some(dst) = digest.get_mut(..32) {
                dst.copy_from_slice(d);
            }
            let cid = Self {
                codec: u64::from(codec),
                hash: SHA2_256,
                len: 32,
                digest,
            };
            return Ok((cid, rest));
        }
        if let [0x12, 0x20, ..] = bytes {
            return Err(CidError::Version0);
        }
        let mut pos = 0;
        let version = read_varint(bytes, &mut pos)?;
        if version != 1 {
            return Err(CidError::Version { version });
        }
        let codec = read_varint(bytes, &mut pos)?;
        let hash = read_varint(bytes, &mut pos)?;
        let len = read_varint(bytes, &mut pos)?;
        if len > MAX_DIGEST_LEN as u64 {
            return Err(CidError::DigestTooLong { len });
        }
        let rest = bytes.get(pos..).unwrap_or(&[]);
        let (d, rest) = rest
            .split_at_checked(len as usize)
            .ok_or(CidError::Truncated { at: bytes.len() })?;
        let mut digest = [0u8; MAX_DIGEST_LEN];
        if let Some(dst) = digest.get_mut(..d.len()) {
            dst.copy_from_slice(d);
        }
        Ok((
            Self {
                codec,
                hash,
                len: len as u8,
                digest,
            },
            rest,
        ))
    }

    /// The binary form (version, codec, multihash).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(4 + usize::from(self.len));
        self.write_bytes(&mut v);
        v
    }

    /// Appends the binary form to `out`.
    pub fn write_bytes(&self, out: &mut Vec<u8>) {
        out.push(1);
        write_varint(self.codec, out);
        write_varint(self.hash, out);
        out.push(self.len);
        out.extend_from_slice(self.digest());
    }

    /// Length of the binary form in bytes.
    pub fn encoded_len(&self) -> usize {
        1 + varint_len(self.codec) + varint_len(self.hash) + 1 + usize::from(self.len)
    }

    /// Parses the string form (`b` + base32 lower case).
    ///
    /// # Errors
    /// [`CidError`] for another multibase, bad base32, or bad binary content.
    pub fn parse(s: &str) -> Result<Self, CidError> {
        let b = s.as_bytes();
        let Some((&prefix, body)) = b.split_first() else {
            return Err(CidError::Empty);
        };
        if prefix != b'b' {
            if s.starts_with("Qm") {
                return Err(CidError::Version0);
            }
            return Err(CidError::Multibase {
                prefix: s.chars().next().unwrap_or('?'),
            });
        }
        let raw = base32::decode(body).map_err(|at| CidError::Base32 { at: at + 1 })?;
        Self::from_bytes(&raw)
    }
}

/// Checks that `raw` is exactly one binary CID this crate accepts, without building it.
#[inline]
pub(crate) fn check(raw: &[u8]) -> Result<(), CidError> {
    if let [0x01, 0x71 | 0x55, 0x12, 0x20, rest @ ..] = raw {
        if rest.len() == 32 {
            return Ok(());
        }
    }
    Cid::from_bytes(raw).map(|_| ())
}

fn varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

fn write_varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads an unsigned LEB128 varint as multiformats define it: at most 9 bytes, shortest form.
fn read_varint(bytes: &[u8], pos: &mut usize) -> Result<u64, CidError> {
    let start = *pos;
    let mut v: u64 = 0;
    for i in 0..9 {
        let at = start + i;
        let b = *bytes.get(at).ok_or(CidError::Truncated { at })?;
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            if b == 0 && i > 0 {
                return Err(CidError::Varint { at: start });
            }
            *pos = at + 1;
            return Ok(v);
        }
    }
    Err(CidError::Varint { at: start })
}

impl fmt::Display for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bin = [0u8; MAX_CID_LEN];
        let mut v = Vec::new();
        // Small, fixed-size scratch: encode to a stack buffer through a Vec only for odd CIDs.
        let bytes: &[u8] = if self.is_atproto() {
            if let Some((head, tail)) = bin.split_first_chunk_mut::<4>() {
                *head = [1, self.codec as u8, 0x12, 0x20];
                if let Some(dst) = tail.get_mut(..32) {
                    dst.copy_from_slice(self.digest());
                }
            }
            bin.get(..36).unwrap_or(&[])
        } else {
            self.write_bytes(&mut v);
            &v
        };
        let mut s = String::with_capacity(1 + bytes.len().div_ceil(5) * 8);
        s.push('b');
        base32::encode_into(bytes, &mut s);
        f.write_str(&s)
    }
}

impl fmt::Debug for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cid({self})")
    }
}

impl FromStr for Cid {
    type Err = CidError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for Cid {
    type Error = CidError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl TryFrom<&[u8]> for Cid {
    type Error = CidError;
    fn try_from(b: &[u8]) -> Result<Self, Self::Error> {
        Self::from_bytes(b)
    }
}

impl From<Cid> for String {
    fn from(c: Cid) -> Self {
        c.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &str = "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a";

    #[test]
    fn string_round_trip() {
        let c: Cid = S.parse().unwrap();
        assert_eq!(c.to_string(), S);
        assert_eq!(c.codec(), DAG_CBOR);
        assert_eq!(c.hash_code(), SHA2_256);
        assert_eq!(c.encoded_len(), 36);
        assert_eq!(c.to_bytes().len(), 36);
        assert!(c.is_atproto());
    }

    #[test]
    fn foreign_cid_round_trip() {
        // codec 0x0129 (dag-json, two-byte varint), sha2-512 (0x13) with 64 bytes.
        let c = Cid::new(0x0129, 0x13, &[7u8; 64]).unwrap();
        let b = c.to_bytes();
        assert_eq!(&b[..5], &[1, 0xa9, 0x02, 0x13, 64]);
        assert_eq!(Cid::from_bytes(&b).unwrap(), c);
        assert_eq!(Cid::parse(&c.to_string()).unwrap(), c);
        assert!(!c.is_atproto());
        assert!(!c.verify(b"x"));
    }

    #[test]
    fn rejections() {
        assert_eq!(Cid::from_bytes(&[]), Err(CidError::Truncated { at: 0 }));
        assert_eq!(Cid::from_bytes(&[0x12, 0x20, 0]), Err(CidError::Version0));
        assert_eq!(
            Cid::from_bytes(&[2, 0x71, 0x12, 0]),
            Err(CidError::Version { version: 2 })
        );
        assert_eq!(
            Cid::from_bytes(&[1, 0xf1, 0x00, 0x12, 0]),
            Err(CidError::Varint { at: 1 })
        );
        assert_eq!(
            Cid::from_bytes(&[1, 0x71, 0x12, 65]),
            Err(CidError::DigestTooLong { len: 65 })
        );
        assert_eq!(
            Cid::from_bytes(&[1, 0x71, 0x12, 2, 0]),
            Err(CidError::Truncated { at: 5 })
        );
        assert_eq!(
            Cid::from_bytes(&[1, 0x71, 0x12, 1, 0, 9]),
            Err(CidError::TrailingBytes { extra: 1 })
        );
        assert_eq!(Cid::parse(""), Err(CidError::Empty));
        assert_eq!(Cid::parse("."), Err(CidError::Multibase { prefix: '.' }));
        assert_eq!(
            Cid::parse("QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR"),
            Err(CidError::Version0)
        );
        assert_eq!(Cid::parse("bafyB"), Err(CidError::Base32 { at: 4 }));
    }

    #[test]
    fn read_prefix_returns_rest() {
        let c = Cid::for_raw(b"hello");
        let mut b = c.to_bytes();
        b.extend_from_slice(b"tail");
        let (got, rest) = Cid::read_prefix(&b).unwrap();
        assert_eq!(got, c);
        assert_eq!(rest, b"tail");
        assert!(c.verify(b"hello"));
        assert!(!c.verify(b"hellO"));
        assert_eq!(c.codec(), RAW);
    }
}
