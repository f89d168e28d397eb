//! Node blocks: the DAG-CBOR map `{l, e: [{p, k, v, t}]}` decoded (a direct reader for
//! the canonical layout, the general decoder otherwise) and encoded.

use atmo_data::cbor;
use atmo_data::{Cid, ValueRef};

use crate::error::MstError;

/// One decoded entry of a node, borrowing its key suffix from the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryData<'a> {
    /// `p`: bytes shared with the previous key of the node.
    pub prefix_len: usize,
    /// `k`: the rest of the key.
    pub key_suffix: &'a [u8],
    /// `v`: the record's CID.
    pub value: Cid,
    /// `t`: the subtree between this entry and the next, if any.
    pub right: Option<Cid>,
}

/// One decoded node, `{l, e}`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeData<'a> {
    /// `l`: the subtree before the first entry, if any.
    pub left: Option<Cid>,
    /// `e`: the entries.
    pub entries: Vec<EntryData<'a>>,
}

fn shape(bytes: &[u8], reason: &'static str) -> MstError {
    MstError::NodeShape {
        cid: Cid::for_dag_cbor(bytes),
        reason,
    }
}

fn opt_link(v: &ValueRef<'_>) -> Option<Option<Cid>> {
    match v {
        ValueRef::Null => Some(None),
        ValueRef::Link(c) => Some(Some(c.to_cid())),
        _ => None,
    }
}

impl<'a> NodeData<'a> {
    /// Decodes a node block (strict DAG-CBOR, exactly the fields `l`, `e`, and `p`, `k`,
    /// `v`, `t` per entry, `l` and `t` present even when null).
    ///
    /// # Errors
    /// [`MstError::NodeCbor`] or [`MstError::NodeShape`] (with the block's CID).
    pub fn decode(bytes: &'a [u8]) -> Result<Self, MstError> {
        // Nearly every node is in the one canonical layout with 36-byte CIDs: read that
        // directly; anything else (including every malformed block) takes the general
        // decoder, which accepts exactly the same nodes and says what is wrong.
        if let Some(node) = fast::decode(bytes) {
            return Ok(node);
        }
        Self::decode_general(bytes)
    }

    /// [`Self::decode`] into a reused vector of entries (cleared first); returns `l`.
    pub(super) fn decode_into(
        bytes: &'a [u8],
        entries: &mut Vec<EntryData<'a>>,
    ) -> Result<Option<Cid>, MstError> {
        entries.clear();
        if let Some(left) = fast::decode_into(bytes, entries) {
            return Ok(left);
        }
        entries.clear();
        let node = Self::decode_general(bytes)?;
        entries.extend(node.entries);
        Ok(node.left)
    }

    fn decode_general(bytes: &'a [u8]) -> Result<Self, MstError> {
        let v = cbor::decode_ref(bytes).map_err(|source| MstError::NodeCbor {
            cid: Cid::for_dag_cbor(bytes),
            source,
        })?;
        let m = v
            .as_map()
            .ok_or_else(|| shape(bytes, "node is not a map"))?;
        let mut it = m.iter();
        let (2, Some(("e", e)), Some(("l", l))) = (m.len(), it.next(), it.next()) else {
            return Err(shape(bytes, "node keys are not exactly {e, l}"));
        };
        let left = opt_link(&l).ok_or_else(|| shape(bytes, "l is neither a link nor null"))?;
        let e = e
            .as_array()
            .ok_or_else(|| shape(bytes, "e is not an array"))?;
        let mut entries = Vec::with_capacity(e.len());
        for entry in e.iter() {
            let m = entry
                .as_map()
                .ok_or_else(|| shape(bytes, "entry is not a map"))?;
            let mut it = m.iter();
            let (4, Some(("k", k)), Some(("p", p)), Some(("t", t)), Some(("v", v))) =
                (m.len(), it.next(), it.next(), it.next(), it.next())
            else {
                return Err(shape(bytes, "entry keys are not exactly {k, p, t, v}"));
            };
            let key_suffix = k
                .as_bytes()
                .ok_or_else(|| shape(bytes, "k is not a byte string"))?;
            let prefix_len = p
                .as_integer()
                .and_then(|p| usize::try_from(p).ok())
                .ok_or_else(|| shape(bytes, "p is not a non-negative integer"))?;
            let value = v.as_link().ok_or_else(|| shape(bytes, "v is not a link"))?;
            let right = opt_link(&t).ok_or_else(|| shape(bytes, "t is neither a link nor null"))?;
            entries.push(EntryData {
                prefix_len,
                key_suffix,
                value,
                right,
            });
        }
        Ok(Self { left, entries })
    }

    /// Encodes the node as DAG-CBOR (the inverse of [`NodeData::decode`]).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.entries.len() * 80);
        out.push(0xa2);
        out.extend_from_slice(b"\x61e");
        head(4, self.entries.len() as u64, &mut out);
        for e in &self.entries {
            out.push(0xa4);
            out.extend_from_slice(b"\x61k");
            head(2, e.key_suffix.len() as u64, &mut out);
            out.extend_from_slice(e.key_suffix);
            out.extend_from_slice(b"\x61p");
            head(0, e.prefix_len as u64, &mut out);
            out.extend_from_slice(b"\x61t");
            opt_cid(e.right.as_ref(), &mut out);
            out.extend_from_slice(b"\x61v");
            cid(&e.value, &mut out);
        }
        out.extend_from_slice(b"\x61l");
        opt_cid(self.left.as_ref(), &mut out);
        out
    }
}

/// The direct reader of canonical node blocks behind [`NodeData::decode`].
mod fast {
    use super::{EntryData, NodeData};
    use atmo_data::Cid;

    struct Bytes<'a>(&'a [u8]);

    impl<'a> Bytes<'a> {
        fn lit<const N: usize>(&mut self, want: &[u8; N]) -> Option<()> {
            let (h, rest) = self.0.split_first_chunk::<N>()?;
            (h == want).then(|| self.0 = rest)
        }

        fn byte(&mut self) -> Option<u8> {
            let (b, rest) = self.0.split_first()?;
            self.0 = rest;
            Some(*b)
        }

        fn take(&mut self, n: usize) -> Option<&'a [u8]> {
            let (h, rest) = self.0.split_at_checked(n)?;
            self.0 = rest;
            Some(h)
        }

        /// A head of `major` in its shortest form, with a value below 65,536.
        fn head(&mut self, major: u8) -> Option<usize> {
            let b = self.byte()?;
            if b >> 5 != major {
                return None;
            }
            match b & 0x1f {
                v @ 0..=23 => Some(usize::from(v)),
                24 => Some(usize::from(self.byte()?)).filter(|v| *v >= 24),
                25 => {
                    let [hi, lo] = *self.take(2)?.first_chunk::<2>()?;
                    Some(usize::from(u16::from_be_bytes([hi, lo]))).filter(|v| *v >= 256)
                }
                _ => None,
            }
        }

        /// Tag 42 over 37 bytes: 0x00 then a CIDv1 (dag-cbor or raw, SHA-256).
        fn link(&mut self) -> Option<Cid> {
            self.lit(&[0xd8, 0x2a, 0x58, 0x25, 0x00])?;
            let raw = self.take(36)?;
            match raw {
                [0x01, 0x71 | 0x55, 0x12, 0x20, ..] => {
                    let (cid, rest) = Cid::read_prefix(raw).ok()?;
                    rest.is_empty().then_some(cid)
                }
                _ => None,
            }
        }

        fn opt_link(&mut self) -> Option<Option<Cid>> {
            if self.0.first() == Some(&0xf6) {
                self.0 = self.0.get(1..)?;
                Some(None)
            } else {
                self.link().map(Some)
            }
        }
    }

    /// `{"e": [{"k", "p", "t", "v"}...], "l"}` exactly as strict DAG-CBOR lays it out, or
    /// `None` for anything else.
    pub(super) fn decode(bytes: &[u8]) -> Option<NodeData<'_>> {
        let mut entries = Vec::new();
        let left = decode_into(bytes, &mut entries)?;
        Some(NodeData { left, entries })
    }

    /// [`decode`] appending the entries to `entries`; returns `l`.
    pub(super) fn decode_into<'a>(
        bytes: &'a [u8],
        entries: &mut Vec<EntryData<'a>>,
    ) -> Option<Option<Cid>> {
        let mut r = Bytes(bytes);
        r.lit(b"\xa2\x61e")?;
        let n = r.head(4)?;
        // Every entry takes at least 50 bytes (four keys, a key suffix head and a link), so
        // the input left bounds what is worth reserving.
        entries.reserve(n.min(r.0.len() / 50));
        for _ in 0..n {
            r.lit(b"\xa4\x61k")?;
            let len = r.head(2)?;
            let key_suffix = r.take(len)?;
            r.lit(b"\x61p")?;
            let prefix_len = r.head(0)?;
            r.lit(b"\x61t")?;
            let right = r.opt_link()?;
            r.lit(b"\x61v")?;
            let value = r.link()?;
            entries.push(EntryData {
                prefix_len,
                key_suffix,
                value,
                right,
            });
        }
        r.lit(b"\x61l")?;
        let left = r.opt_link()?;
        r.0.is_empty().then_some(left)
    }
}

fn head(major: u8, v: u64, out: &mut Vec<u8>) {
    let m = major << 5;
    if v < 24 {
        out.push(m | v as u8);
    } else if v < 0x100 {
        out.extend_from_slice(&[m | 24, v as u8]);
    } else if v < 0x1_0000 {
        out.push(m | 25);
        out.extend_from_slice(&(v as u16).to_be_bytes());
    } else if v < 0x1_0000_0000 {
        out.push(m | 26);
        out.extend_from_slice(&(v as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

fn cid(c: &Cid, out: &mut Vec<u8>) {
    out.extend_from_slice(&[0xd8, 0x2a]);
    head(2, c.encoded_len() as u64 + 1, out);
    out.push(0);
    c.write_bytes(out);
}

fn opt_cid(c: Option<&Cid>, out: &mut Vec<u8>) {
    match c {
        Some(c) => cid(c, out),
        None => out.push(0xf6),
    }
}

#[cfg(test)]
mod fast_tests {
    use super::{NodeData, fast};

    /// Whenever the direct reader accepts a block, the general decoder accepts it too and
    /// gives the same node: on every block of the fixtures, and on every one-byte change
    /// of their tree nodes.
    #[test]
    fn direct_reader_agrees_with_the_general_decoder() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut nodes = 0;
        for name in ["oracle-k256.car", "oracle-p256.car", "refpds-medium.car"] {
            let car = std::fs::read(dir.join(name)).unwrap();
            for block in crate::car::CarReader::new(&car).unwrap() {
                let (_, bytes) = block.unwrap();
                let Some(node) = fast::decode(bytes) else {
                    assert!(NodeData::decode_general(bytes).is_err());
                    continue;
                };
                nodes += 1;
                assert_eq!(NodeData::decode_general(bytes).unwrap(), node);
                for at in 0..bytes.len() {
                    for flip in [0x01, 0x20, 0x80] {
                        let mut bad = bytes.to_vec();
                        bad[at] ^= flip;
                        if let Some(n) = fast::decode(&bad) {
                            assert_eq!(NodeData::decode_general(&bad).unwrap(), n);
                        }
                    }
                    if let Some(n) = fast::decode(&bytes[..at]) {
                        panic!("truncated node accepted: {n:?}");
                    }
                }
            }
        }
        assert!(nodes > 20, "{nodes}");
    }
}
