//! Bitswap 1.2.0 messages (sans-IO): the protobuf `Message` of the Bitswap spec, its
//! encoder and a bounded, strict decoder, and the unsigned-varint length prefix that
//! frames each message on a stream.
//!
//! ```text
//! Message { wantlist = 1 { entries = 1 { block = 1 (CID bytes), priority = 2,
//!           cancel = 3, wantType = 4 (Block 0 | Have 1), sendDontHave = 5 }, full = 2 },
//!           blocks = 2 (1.0.0 raw blocks), payload = 3 { prefix = 1, data = 2 },
//!           blockPresences = 4 { cid = 1, type = 2 (Have 0 | DontHave 1) },
//!           pendingBytes = 5 }
//! ```
//!
//! ```
//! use atmo_p2p::message::{Message, WantEntry};
//! let cid = atmo_data::Cid::for_raw(b"hello");
//! let msg = Message::want_blocks([cid], 1);
//! let frame = msg.to_frame();
//! let (len, at) = atmo_p2p::message::read_length_prefix(&frame)?.expect("complete");
//! let back = Message::decode(&frame[at..at + len as usize])?;
//! assert_eq!(back, msg);
//! assert_eq!(back.wantlist.unwrap().entries[0].cid(), Some(cid));
//! # Ok::<(), atmo_p2p::Error>(())
//! ```

use atmo_data::Cid;
use atmo_data::cid::SHA2_256;
use bytes::Bytes;

use crate::error::Error;

/// The protocol ids this crate speaks, newest first (1.1.0 has the same message layout;
/// only 1.2.0's `wantType`, `sendDontHave` and presences are new).
pub const PROTOCOLS: [&str; 2] = ["/ipfs/bitswap/1.2.0", "/ipfs/bitswap/1.1.0"];

/// The largest message accepted by default (as the main implementations: 4 MiB).
pub const MAX_MESSAGE_LEN: usize = 4 * 1024 * 1024;

/// What a want asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WantType {
    /// The block itself.
    #[default]
    Block,
    /// Only whether the peer has it.
    Have,
}

/// One entry of a wantlist.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WantEntry {
    /// The wanted CID's binary form (kept as sent: a peer may want CIDs atmo cannot
    /// parse, such as CIDv0, and the answer must name them byte for byte).
    pub cid_bytes: Vec<u8>,
    /// Priority, higher first.
    pub priority: i32,
    /// True when the entry cancels an earlier want.
    pub cancel: bool,
    /// Block or have.
    pub want_type: WantType,
    /// Ask the peer to say `DontHave` rather than stay silent.
    pub send_dont_have: bool,
}

impl WantEntry {
    /// The CID, if it is one atmo understands (CIDv1).
    pub fn cid(&self) -> Option<Cid> {
        Cid::from_bytes(&self.cid_bytes).ok()
    }
}

/// The wantlist of a message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Wantlist {
    /// The entries.
    pub entries: Vec<WantEntry>,
    /// True when this is the sender's full wantlist (replacing the earlier one).
    pub full: bool,
}

/// A block as carried by Bitswap: its CID prefix and its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Block {
    /// The CID prefix: version, codec, multihash code and digest length, as varints
    /// (empty for a Bitswap 1.0.0 block, whose CID is a CIDv0).
    pub prefix: Vec<u8>,
    /// The block's bytes (shared, so that a server's store hands them out uncopied).
    pub data: Bytes,
}

impl Block {
    /// A block for `cid` (the prefix is derived from it).
    pub fn new(cid: &Cid, data: impl Into<Bytes>) -> Self {
        let mut prefix = Vec::with_capacity(8);
        for v in [1, cid.codec(), cid.hash_code(), cid.digest().len() as u64] {
            write_varint(&mut prefix, v);
        }
        Block {
            prefix,
            data: data.into(),
        }
    }

    /// The CID that this block's bytes hash to under its prefix, if the prefix is a
    /// CIDv1 with SHA-256 (the only hash atproto uses; others are not verified and give
    /// `None`).
    pub fn cid(&self) -> Option<Cid> {
        let mut at = 0;
        let mut next = || -> Option<u64> {
            let (v, n) = varint(self.prefix.get(at..)?).ok()??;
            at += n;
            Some(v)
        };
        let (version, codec, hash, len) = (next()?, next()?, next()?, next()?);
        if version != 1 || hash != SHA2_256 || len != 32 || at != self.prefix.len() {
            return None;
        }
        Cid::new(codec, SHA2_256, &atmo_crypto::sha256(&self.data))
    }
}

/// Whether a peer has a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Presence {
    /// It has it.
    #[default]
    Have,
    /// It does not.
    DontHave,
}

/// A `Have` or `DontHave` for one CID.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BlockPresence {
    /// The CID's binary form, as sent.
    pub cid_bytes: Vec<u8>,
    /// Have or don't have.
    pub presence: Presence,
}

/// A Bitswap message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// The wantlist, if any.
    pub wantlist: Option<Wantlist>,
    /// Blocks (`payload`, and the 1.0.0 `blocks` field with an empty prefix).
    pub blocks: Vec<Block>,
    /// Block presences.
    pub presences: Vec<BlockPresence>,
    /// Bytes the sender still has queued for the receiver.
    pub pending_bytes: i32,
}

impl Message {
    /// A message wanting the blocks `cids` (want-block, asking for `DontHave`).
    pub fn want_blocks(cids: impl IntoIterator<Item = Cid>, priority: i32) -> Self {
        Self::wants(cids, |cid_bytes| WantEntry {
            cid_bytes,
            priority,
            cancel: false,
            want_type: WantType::Block,
            send_dont_have: true,
        })
    }

    /// A message cancelling the wants for `cids`.
    pub fn cancel(cids: impl IntoIterator<Item = Cid>) -> Self {
        Self::wants(cids, |cid_bytes| WantEntry {
            cid_bytes,
            cancel: true,
            ..WantEntry::default()
        })
    }

    /// A message whose (partial) wantlist has one entry per CID, made by `entry`.
    fn wants(cids: impl IntoIterator<Item = Cid>, entry: impl Fn(Vec<u8>) -> WantEntry) -> Self {
        let entries = cids.into_iter().map(|cid| entry(cid.to_bytes())).collect();
        Message {
            wantlist: Some(Wantlist {
                entries,
                full: false,
            }),
            ..Message::default()
        }
    }

    /// True when the message carries nothing.
    pub fn is_empty(&self) -> bool {
        self.wantlist
            .as_ref()
            .is_none_or(|w| w.entries.is_empty() && !w.full)
            && self.blocks.is_empty()
            && self.presences.is_empty()
    }

    /// The protobuf encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len_hint());
        if let Some(w) = &self.wantlist {
            let mut wl = Vec::new();
            for e in &w.entries {
                let mut ent = Vec::with_capacity(e.cid_bytes.len() + 16);
                bytes_field(&mut ent, 1, &e.cid_bytes);
                if e.priority != 0 {
                    varint_field(&mut ent, 2, e.priority as i64 as u64);
                }
                if e.cancel {
                    varint_field(&mut ent, 3, 1);
                }
                if e.want_type == WantType::Have {
                    varint_field(&mut ent, 4, 1);
                }
                if e.send_dont_have {
                    varint_field(&mut ent, 5, 1);
                }
                bytes_field(&mut wl, 1, &ent);
            }
            if w.full {
                varint_field(&mut wl, 2, 1);
            }
            bytes_field(&mut out, 1, &wl);
        }
        for b in &self.blocks {
            let mut blk = Vec::with_capacity(b.prefix.len() + b.data.len() + 12);
            bytes_field(&mut blk, 1, &b.prefix);
            bytes_field(&mut blk, 2, &b.data);
            bytes_field(&mut out, 3, &blk);
        }
        for p in &self.presences {
            let mut bp = Vec::with_capacity(p.cid_bytes.len() + 6);
            bytes_field(&mut bp, 1, &p.cid_bytes);
            if p.presence == Presence::DontHave {
                varint_field(&mut bp, 2, 1);
            }
            bytes_field(&mut out, 4, &bp);
        }
        if self.pending_bytes != 0 {
            varint_field(&mut out, 5, self.pending_bytes as i64 as u64);
        }
        out
    }

    fn encoded_len_hint(&self) -> usize {
        self.blocks
            .iter()
            .map(|b| b.data.len() + b.prefix.len() + 16)
            .sum::<usize>()
            + self.presences.len() * 48
            + self.wantlist.as_ref().map_or(0, |w| w.entries.len() * 48)
            + 8
    }

    /// The message framed for a stream: its length as an unsigned varint, then the
    /// message.
    pub fn to_frame(&self) -> Vec<u8> {
        let body = self.encode();
        let mut out = Vec::with_capacity(body.len() + 5);
        write_varint(&mut out, body.len() as u64);
        out.extend_from_slice(&body);
        out
    }

    /// Decodes a message (without its length prefix). Unknown fields are skipped, as
    /// protobuf requires; everything else must be well formed.
    ///
    /// # Errors
    /// [`Error::Message`] naming what is wrong and at which byte.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut msg = Message::default();
        let mut r = Reader::new(bytes, 0);
        while let Some((field, wire)) = r.key()? {
            match (field, wire) {
                (1, WIRE_LEN) => {
                    let (sub, base) = r.bytes()?;
                    let wl = msg.wantlist.get_or_insert_with(Wantlist::default);
                    decode_wantlist(sub, base, wl)?;
                }
                (2, WIRE_LEN) => {
                    let (data, _) = r.bytes()?;
                    msg.blocks.push(Block {
                        prefix: Vec::new(),
                        data: Bytes::copy_from_slice(data),
                    });
                }
                (3, WIRE_LEN) => {
                    let (sub, base) = r.bytes()?;
                    msg.blocks.push(decode_block(sub, base)?);
                }
                (4, WIRE_LEN) => {
                    let (sub, base) = r.bytes()?;
                    msg.presences.push(decode_presence(sub, base)?);
                }
                (5, WIRE_VARINT) => msg.pending_bytes = r.varint()? as i32,
                (1..=5, _) => return Err(r.error("wrong wire type for a known field")),
                _ => r.skip(wire)?,
            }
        }
        Ok(msg)
    }
}

fn decode_wantlist(bytes: &[u8], base: usize, wl: &mut Wantlist) -> Result<(), Error> {
    let mut r = Reader::new(bytes, base);
    while let Some((field, wire)) = r.key()? {
        match (field, wire) {
            (1, WIRE_LEN) => {
                let (sub, base) = r.bytes()?;
                wl.entries.push(decode_entry(sub, base)?);
            }
            (2, WIRE_VARINT) => wl.full = r.varint()? != 0,
            (1 | 2, _) => return Err(r.error("wrong wire type in a wantlist")),
            _ => r.skip(wire)?,
        }
    }
    Ok(())
}

fn decode_entry(bytes: &[u8], base: usize) -> Result<WantEntry, Error> {
    let mut e = WantEntry::default();
    let mut r = Reader::new(bytes, base);
    while let Some((field, wire)) = r.key()? {
        match (field, wire) {
            (1, WIRE_LEN) => e.cid_bytes = r.bytes()?.0.to_vec(),
            (2, WIRE_VARINT) => e.priority = r.varint()? as i32,
            (3, WIRE_VARINT) => e.cancel = r.varint()? != 0,
            (4, WIRE_VARINT) => {
                e.want_type = match r.varint()? {
                    0 => WantType::Block,
                    1 => WantType::Have,
                    _ => return Err(r.error("unknown wantType")),
                }
            }
            (5, WIRE_VARINT) => e.send_dont_have = r.varint()? != 0,
            (1..=5, _) => return Err(r.error("wrong wire type in a wantlist entry")),
            _ => r.skip(wire)?,
        }
    }
    Ok(e)
}

fn decode_block(bytes: &[u8], base: usize) -> Result<Block, Error> {
    let mut b = Block::default();
    let mut r = Reader::new(bytes, base);
    while let Some((field, wire)) = r.key()? {
        match (field, wire) {
            (1, WIRE_LEN) => b.prefix = r.bytes()?.0.to_vec(),
            (2, WIRE_LEN) => b.data = Bytes::copy_from_slice(r.bytes()?.0),
            (1 | 2, _) => return Err(r.error("wrong wire type in a block")),
            _ => r.skip(wire)?,
        }
    }
    Ok(b)
}

fn decode_presence(bytes: &[u8], base: usize) -> Result<BlockPresence, Error> {
    let mut p = BlockPresence::default();
    let mut r = Reader::new(bytes, base);
    while let Some((field, wire)) = r.key()? {
        match (field, wire) {
            (1, WIRE_LEN) => p.cid_bytes = r.bytes()?.0.to_vec(),
            (2, WIRE_VARINT) => {
                p.presence = match r.varint()? {
                    0 => Presence::Have,
                    1 => Presence::DontHave,
                    _ => return Err(r.error("unknown block presence type")),
                }
            }
            (1 | 2, _) => return Err(r.error("wrong wire type in a block presence")),
            _ => r.skip(wire)?,
        }
    }
    Ok(p)
}

const WIRE_VARINT: u8 = 0;
const WIRE_I64: u8 = 1;
const WIRE_LEN: u8 = 2;
const WIRE_I32: u8 = 5;

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    /// Offset of `bytes` in the whole message, for error positions.
    base: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8], base: usize) -> Self {
        Reader { bytes, at: 0, base }
    }

    fn error(&self, reason: &'static str) -> Error {
        Error::Message {
            reason,
            offset: self.base + self.at,
        }
    }

    fn varint(&mut self) -> Result<u64, Error> {
        let rest = self.bytes.get(self.at..).unwrap_or_default();
        match varint(rest) {
            Ok(Some((v, n))) => {
                self.at += n;
                Ok(v)
            }
            Ok(None) => Err(self.error("truncated varint")),
            Err(reason) => Err(self.error(reason)),
        }
    }

    fn key(&mut self) -> Result<Option<(u64, u8)>, Error> {
        if self.at >= self.bytes.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = key >> 3;
        if field == 0 {
            return Err(self.error("field number 0"));
        }
        Ok(Some((field, (key & 7) as u8)))
    }

    fn bytes(&mut self) -> Result<(&'a [u8], usize), Error> {
        let len = self.varint()?;
        let start = self.at;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| start.checked_add(l))
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| self.error("length-delimited field runs past the end"))?;
        self.at = end;
        let slice = self.bytes.get(start..end).unwrap_or_default();
        Ok((slice, self.base + start))
    }

    fn skip(&mut self, wire: u8) -> Result<(), Error> {
        let n = match wire {
            WIRE_VARINT => return self.varint().map(|_| ()),
            WIRE_LEN => return self.bytes().map(|_| ()),
            WIRE_I64 => 8,
            WIRE_I32 => 4,
            _ => return Err(self.error("unsupported protobuf wire type")),
        };
        if self.bytes.len() - self.at < n {
            return Err(self.error("fixed-width field runs past the end"));
        }
        self.at += n;
        Ok(())
    }
}

/// Reads an unsigned LEB128 varint (at most 10 bytes, minimal form not required, as
/// protobuf). `Ok(None)` when `bytes` ends inside it.
fn varint(bytes: &[u8]) -> Result<Option<(u64, usize)>, &'static str> {
    let mut v: u64 = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if i == 9 && b > 1 {
            return Err("varint overflows 64 bits");
        }
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(Some((v, i + 1)));
        }
        if i == 9 {
            return Err("varint overflows 64 bits");
        }
    }
    Ok(None)
}

/// Reads a message's length prefix (an unsigned varint of at most 9 bytes, as
/// multiformats' unsigned-varint requires) from the start of `bytes`: `Ok(None)` when
/// more bytes are needed, else the length and the prefix's size.
///
/// # Errors
/// [`Error::Message`] for a prefix longer than 9 bytes.
pub fn read_length_prefix(bytes: &[u8]) -> Result<Option<(u64, usize)>, Error> {
    let too_long = Error::Message {
        reason: "length prefix longer than 9 bytes",
        offset: 0,
    };
    match varint(bytes) {
        Ok(Some((_, n))) if n > 9 => Err(too_long),
        Ok(Some(v)) => Ok(Some(v)),
        Ok(None) if bytes.len() >= 9 => Err(too_long),
        Ok(None) => Ok(None),
        Err(_) => Err(too_long),
    }
}

/// Appends `v` as an unsigned LEB128 varint.
pub fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint_field(out: &mut Vec<u8>, field: u64, v: u64) {
    write_varint(out, field << 3);
    write_varint(out, v);
}

fn bytes_field(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    write_varint(out, (field << 3) | u64::from(WIRE_LEN));
    write_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_round_trips() {
        let cid = Cid::for_dag_cbor(b"\xa0");
        let msg = Message {
            wantlist: Some(Wantlist {
                entries: vec![
                    WantEntry {
                        cid_bytes: cid.to_bytes(),
                        priority: -3,
                        cancel: false,
                        want_type: WantType::Have,
                        send_dont_have: true,
                    },
                    WantEntry {
                        cid_bytes: vec![0x12, 0x20, 1, 2],
                        cancel: true,
                        ..WantEntry::default()
                    },
                ],
                full: true,
            }),
            blocks: vec![Block::new(&cid, b"\xa0".to_vec())],
            presences: vec![
                BlockPresence {
                    cid_bytes: cid.to_bytes(),
                    presence: Presence::DontHave,
                },
                BlockPresence {
                    cid_bytes: cid.to_bytes(),
                    presence: Presence::Have,
                },
            ],
            pending_bytes: 7,
        };
        let back = Message::decode(&msg.encode()).unwrap();
        assert_eq!(back, msg);
        assert_eq!(back.blocks[0].cid(), Some(cid));
    }

    #[test]
    fn a_block_hashes_to_its_cid_only_with_the_right_bytes() {
        let cid = Cid::for_raw(b"right");
        let mut b = Block::new(&cid, b"right".to_vec());
        assert_eq!(b.cid(), Some(cid));
        b.data = Bytes::from_static(b"wrong");
        assert_ne!(b.cid(), Some(cid));
        // Not verifiable: CIDv0 (no prefix), other hashes.
        assert_eq!(Block::default().cid(), None);
        let mut other = Block::new(&cid, b"right".to_vec());
        other.prefix[2] = 0x13;
        assert_eq!(other.cid(), None);
    }

    #[test]
    fn unknown_fields_are_skipped_and_known_ones_are_strict() {
        // field 9 varint, field 10 fixed64, field 11 bytes, field 12 fixed32
        let mut bytes = vec![0x48, 0x01, 0x51, 1, 2, 3, 4, 5, 6, 7, 8, 0x5a, 0x01, 0x00];
        bytes.extend([0x65, 1, 2, 3, 4]);
        assert_eq!(Message::decode(&bytes).unwrap(), Message::default());
        // field 1 as a varint
        let err = Message::decode(&[0x08, 0x01]).unwrap_err();
        assert!(matches!(err, Error::Message { offset: 1, .. }), "{err}");
        // a length running past the end, inside the wantlist
        let err = Message::decode(&[0x0a, 0x03, 0x0a, 0x05, 0x00]).unwrap_err();
        assert!(matches!(err, Error::Message { offset: 4, .. }), "{err}");
        // groups are not protobuf 3
        assert!(Message::decode(&[0x4b]).is_err());
        // an unknown enum value
        assert!(Message::decode(&[0x22, 0x02, 0x10, 0x05]).is_err());
        // field number 0
        assert!(Message::decode(&[0x00, 0x00]).is_err());
        // an 11-byte varint
        assert!(
            Message::decode(&[
                0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
            ])
            .is_err()
        );
    }

    #[test]
    fn the_fuzz_seeds_are_valid_messages() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bitswap");
        let read = |n: &str| std::fs::read(format!("{dir}/{n}.bin")).unwrap();
        let want = Message::decode(&read("want")).unwrap();
        let entry = &want.wantlist.as_ref().unwrap().entries[0];
        assert_eq!(entry.cid(), Some(Cid::for_dag_cbor(b"\xa0")));
        assert!(entry.send_dont_have);
        let block = Message::decode(&read("block")).unwrap();
        assert_eq!(block.blocks[0].cid(), Some(Cid::for_dag_cbor(b"\xa0")));
        let presence = Message::decode(&read("presence")).unwrap();
        assert_eq!(presence.presences[0].presence, Presence::DontHave);
        let framed = read("framed");
        let (len, at) = read_length_prefix(&framed).unwrap().unwrap();
        assert_eq!(
            Message::decode(&framed[at..at + len as usize]).unwrap(),
            want
        );
    }

    #[test]
    fn length_prefixes() {
        assert_eq!(read_length_prefix(&[]).unwrap(), None);
        assert_eq!(read_length_prefix(&[0x80]).unwrap(), None);
        assert_eq!(
            read_length_prefix(&[0x80, 0x01, 9]).unwrap(),
            Some((128, 2))
        );
        assert!(read_length_prefix(&[0xff; 9]).is_err());
        let frame = Message::want_blocks([Cid::for_raw(b"x")], 1).to_frame();
        let (len, at) = read_length_prefix(&frame).unwrap().unwrap();
        assert_eq!(at + len as usize, frame.len());
    }
}
