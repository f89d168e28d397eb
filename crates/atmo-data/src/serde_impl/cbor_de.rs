//! A serde `Deserializer` that reads strict DAG-CBOR straight from `&[u8]`, with the
//! same rules and limits as [`cbor::decode`](crate::cbor::decode) and no [`Value`](crate::Value)
//! in between.
//!
//! Every byte of the input is checked: what a visitor reads goes through the checks of
//! each item kind, what it skips (`IgnoredAny`, entries left unread) goes through the
//! strict validator.

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

use super::TEXT_BYTES;
use super::value_serde::LINK_TOKEN;
use crate::Cid;
use crate::cbor::DecodeErrorKind as K;
use crate::cbor::DecodeLimits;
use crate::cbor::decode::{Decoder, Fail, fail, key_less};

/// The direct deserializer: a strict decoder plus the nesting depth of the next item.
pub(crate) struct CborDe<'de> {
    pub(crate) d: Decoder<'de>,
    pub(crate) depth: usize,
    /// Where a failure happened, innermost segment first: filled as the error goes up
    /// (nothing is kept on the way down), cleared when a value above it succeeds.
    err_path: Vec<Segment<'de>>,
    /// The offset of the innermost value that failed.
    err_offset: Option<usize>,
}

/// One step of a failure's path.
#[derive(Clone, Copy)]
pub(crate) enum Segment<'de> {
    Key(&'de str),
    Index(usize),
}

impl From<Fail> for crate::Error {
    #[cold]
    fn from(e: Fail) -> Self {
        crate::Error::Cbor(*e)
    }
}

/// The deserializer's error: a boxed [`crate::Error`], so that every `Result` passed up
/// through the visitors is small (the error one pointer) and returns in registers.
/// [`from_cbor`](super::from_cbor) unboxes it.
pub(crate) struct Error(Box<crate::Error>);

impl Error {
    /// [`crate::Error::Serde`].
    #[cold]
    fn serde(message: String) -> Self {
        Self(Box::new(crate::Error::Serde(message)))
    }

    /// The error inside.
    pub(crate) fn into_inner(self) -> crate::Error {
        *self.0
    }
}

impl From<Fail> for Error {
    #[cold]
    fn from(e: Fail) -> Self {
        Self(Box::new(crate::Error::Cbor(*e)))
    }
}

impl From<crate::Error> for Error {
    #[cold]
    fn from(e: crate::Error) -> Self {
        Self(Box::new(e))
    }
}

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    #[cold]
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Self::serde(msg.to_string())
    }
}

/// One item as read: a scalar whole, a container by its length (after the depth and
/// item-count checks), its entries still to read.
#[derive(Clone, Copy)]
pub(crate) enum Head<'de> {
    Array(usize),
    Map(usize),
    Int(i64),
    Bytes(&'de [u8]),
    Str(&'de str),
    Link(&'de [u8]),
    Bool(bool),
    Null,
}

impl<'de> CborDe<'de> {
    pub(crate) fn new(bytes: &'de [u8], limits: DecodeLimits) -> Self {
        Self {
            d: Decoder::new(bytes, limits),
            depth: 0,
            err_path: Vec::new(),
            err_offset: None,
        }
    }

    /// Notes one level of a failure's path (`at`: where that level's value starts).
    #[cold]
    #[inline(never)]
    fn failed_at(&mut self, seg: Segment<'de>, at: usize) {
        if self.err_offset.is_none() {
            self.err_offset = Some(at);
        }
        self.err_path.push(seg);
    }

    /// The outcome of a value that started at `at`: a success clears what an inner
    /// failure noted ([`Self::succeeded`]), a failure notes the segment `seg` gives.
    #[inline(always)]
    pub(crate) fn located<T, E>(
        &mut self,
        out: Result<T, E>,
        at: usize,
        seg: impl FnOnce() -> Segment<'de>,
    ) -> Result<T, E> {
        if out.is_ok() {
            self.succeeded();
        } else {
            self.failed_at(seg(), at);
        }
        out
    }

    /// A value succeeded: what an inner failure noted (one a visitor recovered from) no
    /// longer applies.
    #[inline]
    fn succeeded(&mut self) {
        if self.err_offset.is_some() {
            self.err_path.clear();
            self.err_offset = None;
        }
    }

    /// The path (`$.embed.images[0]`) and offset of the last failure, if one was noted.
    pub(crate) fn failure(&self) -> Option<(String, usize)> {
        let offset = self.err_offset?;
        let mut path = String::from("$");
        for seg in self.err_path.iter().rev() {
            match seg {
                Segment::Key(k) => {
                    path.push('.');
                    path.push_str(k);
                }
                Segment::Index(i) => path.push_str(&format!("[{i}]")),
            }
        }
        Some((path, offset))
    }

    /// Bytes left after the value.
    pub(crate) fn rest(&self) -> &'de [u8] {
        self.d.rest
    }

    /// Offset of the next byte.
    pub(crate) fn pos(&self) -> usize {
        self.d.pos()
    }

    #[inline]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.d.rest.first().copied()
    }

    /// The next item's bytes if it is a text string (its head and length checked, its
    /// UTF-8 not yet), else `None` with nothing read. Always inlined: on the hot path of
    /// every string, a call costs about 1% of a typed decode (callgrind).
    #[inline(always)]
    pub(crate) fn text_item(&mut self) -> Result<Option<&'de [u8]>, Fail> {
        if self.peek().is_none_or(|b| b >> 5 != 3) {
            return Ok(None);
        }
        let start = self.d.pos();
        let ib = self.d.byte()?;
        let len = self.d.arg(ib & 0x1f, start)?;
        self.d.take(len, start).map(Some)
    }

    /// A text item's bytes (just read) handed to `v` as a borrowed `&str`, checked UTF-8.
    #[inline(always)]
    fn borrowed_text<V: Visitor<'de>>(&self, b: &'de [u8], v: V) -> Result<V::Value, Error> {
        match crate::utf8::str(b) {
            Some(s) => v.visit_borrowed_str(s),
            None => Err(self.d.bad_utf8(b).into()),
        }
    }

    /// Reads one head and, for scalars, the whole item, with every strict check.
    #[inline]
    pub(crate) fn head(&mut self) -> Result<Head<'de>, Fail> {
        let start = self.d.pos();
        let ib = self.d.byte()?;
        let info = ib & 0x1f;
        match ib >> 5 {
            0 => {
                let v = self.d.arg(info, start)?;
                i64::try_from(v)
                    .map(Head::Int)
                    .map_err(|_| fail(start, K::IntegerOverflow))
            }
            1 => {
                let v = self.d.arg(info, start)?;
                i64::try_from(v)
                    .map(|i| Head::Int(-1 - i))
                    .map_err(|_| fail(start, K::IntegerOverflow))
            }
            2 => {
                let len = self.d.arg(info, start)?;
                Ok(Head::Bytes(self.d.take(len, start)?))
            }
            3 => {
                let len = self.d.arg(info, start)?;
                let b = self.d.take(len, start)?;
                match crate::utf8::str(b) {
                    Some(s) => Ok(Head::Str(s)),
                    None => Err(self.d.bad_utf8(b)),
                }
            }
            4 | 5 => {
                let len = self.d.arg(info, start)?;
                if self.depth >= self.d.limits.max_depth {
                    return Err(fail(
                        start,
                        K::TooDeep {
                            max: self.d.limits.max_depth,
                        },
                    ));
                }
                if ib >> 5 == 4 {
                    Ok(Head::Array(self.d.count(len, start, 1)?))
                } else {
                    Ok(Head::Map(self.d.count(len, start, 2)?))
                }
            }
            6 => {
                let tag = self.d.arg(info, start)?;
                if tag != 42 {
                    return Err(fail(start, K::Tag { tag }));
                }
                let bstart = self.d.pos();
                let bb = self.d.byte()?;
                if bb >> 5 != 2 {
                    return Err(fail(bstart, K::CidNotBytes));
                }
                let len = self.d.arg(bb & 0x1f, bstart)?;
                let content = self.d.take(len, bstart)?;
                match content.split_first() {
                    Some((0, raw)) => match crate::cid::check(raw) {
                        Ok(()) => Ok(Head::Link(raw)),
                        Err(e) => Err(fail(bstart, K::Cid(e))),
                    },
                    _ => Err(fail(bstart, K::CidPrefix)),
                }
            }
            _ => match info {
                20 => Ok(Head::Bool(false)),
                21 => Ok(Head::Bool(true)),
                22 => Ok(Head::Null),
                25..=27 => Err(fail(start, K::Float)),
                31 => Err(fail(start, K::IndefiniteLength)),
                24 => Err(fail(
                    start,
                    K::Simple {
                        value: self.peek().unwrap_or(24),
                    },
                )),
                28..=30 => Err(fail(start, K::Reserved { info })),
                _ => Err(fail(start, K::Simple { value: info })),
            },
        }
    }

    fn seq<V: Visitor<'de>>(&mut self, n: usize, v: V) -> Result<V::Value, Error> {
        self.depth += 1;
        let mut acc = SeqAcc {
            de: self,
            left: n,
            index: 0,
        };
        let out = v.visit_seq(&mut acc);
        if out.is_ok() && acc.left > 0 {
            return Err(acc.rest(n));
        }
        self.depth -= 1;
        out
    }

    fn map<V: Visitor<'de>>(&mut self, n: usize, v: V) -> Result<V::Value, Error> {
        self.depth += 1;
        let mut acc = MapAcc {
            de: self,
            left: n,
            prev: None,
            last: b"",
        };
        let out = v.visit_map(&mut acc);
        if out.is_ok() && acc.left > 0 {
            return Err(acc.rest(n));
        }
        self.depth -= 1;
        out
    }

    /// A link without a type hint: its JSON form, `{"$link": "<CID>"}`, as
    /// [`Value`](crate::Value)'s deserializer gives it.
    fn link_any<V: Visitor<'de>>(&mut self, raw: &'de [u8], v: V) -> Result<V::Value, Error> {
        let cid = Cid::from_bytes(raw).map_err(crate::Error::from)?;
        v.visit_map(LinkAcc(Some(cid)))
    }
}

impl<'de> de::Deserializer<'de> for &mut CborDe<'de> {
    type Error = Error;

    fn is_human_readable(&self) -> bool {
        false
    }

    #[inline]
    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self.head()? {
            Head::Int(i) => v.visit_i64(i),
            Head::Str(s) => v.visit_borrowed_str(s),
            Head::Bytes(b) => v.visit_borrowed_bytes(b),
            Head::Map(n) => self.map(n, v),
            Head::Array(n) => self.seq(n, v),
            Head::Bool(b) => v.visit_bool(b),
            Head::Null => v.visit_unit(),
            Head::Link(raw) => self.link_any(raw, v),
        }
    }

    #[inline]
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        if self.peek() == Some(0xf6) {
            self.d.rest = self.d.rest.get(1..).unwrap_or_default();
            v.visit_none()
        } else {
            v.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, Error> {
        if is_text_bytes(name) {
            if let Some(b) = self.text_item()? {
                check_text(&self.d, b)?;
                return v.visit_borrowed_bytes(b);
            }
            return v.visit_newtype_struct(self);
        }
        if name == LINK_TOKEN {
            return match self.head()? {
                Head::Link(raw) => v.visit_borrowed_bytes(raw),
                other => {
                    // Check the rest of the item before saying it is not a link.
                    self.skip_rest(other)?;
                    Err(Error::serde(format!(
                        "expected a link, found {}",
                        kind(&other)
                    )))
                }
            };
        }
        v.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self.head()? {
            // Lets a plain `Vec<u8>` field read a byte string.
            Head::Bytes(b) => {
                let mut seq = de::value::SeqDeserializer::<_, Error>::new(b.iter().copied());
                let out = v.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(out)
            }
            Head::Array(n) => self.seq(n, v),
            Head::Map(n) => self.map(n, v),
            Head::Int(i) => v.visit_i64(i),
            Head::Str(s) => v.visit_borrowed_str(s),
            Head::Bool(b) => v.visit_bool(b),
            Head::Null => v.visit_unit(),
            Head::Link(raw) => self.link_any(raw, v),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        match self.head()? {
            Head::Str(s) => v.visit_enum(s.into_deserializer()),
            Head::Map(1) => {
                self.depth += 1;
                let mut acc = MapAcc {
                    de: self,
                    left: 1,
                    prev: None,
                    last: b"",
                };
                let out = match acc.key()? {
                    Some(k) => v.visit_enum(EnumAcc { de: acc.de, key: k }),
                    None => Err(Error::serde("empty enum map".into())),
                };
                self.depth -= 1;
                out
            }
            other => {
                self.skip_rest(other)?;
                Err(Error::serde(format!(
                    "expected an enum (string or single-key map), found {}",
                    kind(&other)
                )))
            }
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.d.skip(self.depth)?;
        v.visit_unit()
    }

    /// A text string (the usual answer) without the dispatch over every kind of item.
    #[inline]
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self.text_item()? {
            Some(b) => self.borrowed_text(b, v),
            None => self.deserialize_any(v),
        }
    }

    /// A text string the visitor copies (serde's hint for an owned string: `String`, the
    /// syntax types): one of middle length is checked for UTF-8 in a padded SIMD block
    /// and handed over as a `&str` of that copy (`visit_str`), cheaper than the standard
    /// library's check of the borrowed bytes; others as [`Self::deserialize_str`] does.
    #[inline]
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self.text_item()? {
            Some(b) if crate::utf8::BLOCK_LENS.contains(&b.len()) => {
                let mut block = [b' '; crate::utf8::SIMD_MIN];
                match crate::utf8::in_block(b, &mut block) {
                    Some(s) => v.visit_str(s),
                    None => Err(self.d.bad_utf8(b).into()),
                }
            }
            Some(b) => self.borrowed_text(b, v),
            None => self.deserialize_any(v),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char
        bytes byte_buf unit unit_struct tuple tuple_struct map struct identifier
    }
}

impl CborDe<'_> {
    /// Checks what is left of an item whose head was read.
    pub(crate) fn skip_rest(&mut self, h: Head<'_>) -> Result<(), Fail> {
        let (n, is_map) = match h {
            Head::Array(n) => (n, false),
            Head::Map(n) => (n, true),
            _ => return Ok(()),
        };
        self.depth += 1;
        let mut r = Ok(());
        if is_map {
            let mut acc = MapAcc {
                de: self,
                left: n,
                prev: None,
                last: b"",
            };
            loop {
                match acc.key() {
                    Ok(Some(_)) => {
                        if let Err(e) = acc.de.d.skip(acc.de.depth) {
                            r = Err(e);
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        r = Err(e);
                        break;
                    }
                }
            }
        } else {
            for _ in 0..n {
                if let Err(e) = self.d.skip(self.depth) {
                    r = Err(e);
                    break;
                }
            }
        }
        self.depth -= 1;
        r
    }
}

pub(crate) fn kind(h: &Head<'_>) -> &'static str {
    match h {
        Head::Array(_) => "array",
        Head::Map(_) => "map",
        Head::Int(_) => "integer",
        Head::Bytes(_) => "bytes",
        Head::Str(_) => "string",
        Head::Link(_) => "link",
        Head::Bool(_) => "boolean",
        Head::Null => "null",
    }
}

struct SeqAcc<'b, 'de> {
    de: &'b mut CborDe<'de>,
    left: usize,
    index: usize,
}

impl SeqAcc<'_, '_> {
    /// Checks the elements a visitor left unread, then reports them (of `n`). The error
    /// ends the whole decoding, so the depth is not restored.
    #[cold]
    #[inline(never)]
    fn rest(&mut self, n: usize) -> Error {
        for _ in 0..self.left {
            if let Err(e) = self.de.d.skip(self.de.depth) {
                return e.into();
            }
        }
        de::Error::invalid_length(n, &"fewer elements in the array")
    }
}

impl<'de> de::SeqAccess<'de> for SeqAcc<'_, 'de> {
    type Error = Error;

    #[inline]
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let (i, at) = (self.index, self.de.pos());
        self.index += 1;
        let out = seed.deserialize(&mut *self.de);
        self.de.located(out, at, || Segment::Index(i)).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

struct MapAcc<'b, 'de> {
    de: &'b mut CborDe<'de>,
    left: usize,
    prev: Option<&'de [u8]>,
    /// The key of the value being read (for error paths), checked UTF-8.
    last: &'de [u8],
}

impl<'de> MapAcc<'_, 'de> {
    /// Checks the entries a visitor left unread, then reports them (of `n`). The error
    /// ends the whole decoding, so the depth is not restored.
    #[cold]
    #[inline(never)]
    fn rest(&mut self, n: usize) -> Error {
        loop {
            match self.key() {
                Ok(Some(_)) => {
                    if let Err(e) = self.de.d.skip(self.de.depth) {
                        return e.into();
                    }
                }
                Ok(None) => return de::Error::invalid_length(n, &"fewer entries in the map"),
                Err(e) => return e.into(),
            }
        }
    }

    /// The next key, checked (text, UTF-8, after the previous one), or `None` at the end.
    #[inline]
    fn key(&mut self) -> Result<Option<&'de str>, Fail> {
        match self.raw_key()? {
            Some(kb) => key_str(&self.de.d, kb).map(Some),
            None => Ok(None),
        }
    }

    /// The next key's bytes, checked (text, after the previous one; UTF-8 is left to
    /// [`key_str`] or [`KeyDe`]), or `None` at the end.
    #[inline]
    fn raw_key(&mut self) -> Result<Option<&'de [u8]>, Fail> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let kb = next_key(&mut self.de.d, &mut self.prev)?;
        self.last = kb;
        Ok(Some(kb))
    }
}

/// The path segment of a map key (its bytes were checked UTF-8 where they were read).
#[cold]
pub(crate) fn key_segment(k: &[u8]) -> Segment<'_> {
    Segment::Key(std::str::from_utf8(k).unwrap_or("?"))
}

/// Reads a map key's bytes: a text string (UTF-8 left to the caller) after `prev`, the
/// map's previous key, in DAG-CBOR order; `prev` becomes it.
#[inline(always)]
pub(crate) fn next_key<'de>(
    d: &mut Decoder<'de>,
    prev: &mut Option<&'de [u8]>,
) -> Result<&'de [u8], Fail> {
    let kstart = d.pos();
    let kb = d.byte()?;
    if kb >> 5 != 3 {
        return Err(fail(kstart, K::NonStringKey));
    }
    let klen = d.arg(kb & 0x1f, kstart)?;
    let kb = d.take(klen, kstart)?;
    if let Some(prev) = *prev {
        if !key_less(prev, kb) {
            let kind = if prev == kb {
                K::DuplicateKey
            } else {
                K::UnsortedKeys
            };
            return Err(fail(kstart, kind));
        }
    }
    *prev = Some(kb);
    Ok(kb)
}

/// A key's bytes as text: the keys common in atproto data are matched on their bytes,
/// which needs no separate UTF-8 check.
#[inline]
fn key_str<'de>(d: &Decoder<'de>, kb: &'de [u8]) -> Result<&'de str, Fail> {
    match crate::value::common_key(kb) {
        Some(k) => Ok(k),
        None => match crate::utf8::str(kb) {
            Some(k) => Ok(k),
            None => Err(d.bad_utf8(kb)),
        },
    }
}

/// Whether a newtype struct's name is [`TEXT_BYTES`]: the same static string (the usual
/// case, one comparison), else equal text.
#[inline(always)]
fn is_text_bytes(name: &str) -> bool {
    std::ptr::eq(name, TEXT_BYTES) || name == TEXT_BYTES
}

/// Checks that a text item's bytes are UTF-8 (ASCII, the usual case, with one cheap
/// test), for [`TEXT_BYTES`].
#[inline]
fn check_text(d: &Decoder<'_>, b: &[u8]) -> Result<(), Fail> {
    if b.is_ascii() || crate::utf8::str(b).is_some() {
        Ok(())
    } else {
        Err(d.bad_utf8(b))
    }
}

/// A map key, for the key's `DeserializeSeed`: as a `&str` (checked UTF-8), or, asked
/// for [`TEXT_BYTES`], as its bytes.
struct KeyDe<'a, 'de> {
    d: &'a Decoder<'de>,
    key: &'de [u8],
}

impl<'de> de::Deserializer<'de> for KeyDe<'_, 'de> {
    type Error = Error;

    #[inline]
    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_borrowed_str(key_str(self.d, self.key)?)
    }

    #[inline]
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, Error> {
        if is_text_bytes(name) {
            check_text(self.d, self.key)?;
            return v.visit_borrowed_bytes(self.key);
        }
        v.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

impl<'de> de::MapAccess<'de> for MapAcc<'_, 'de> {
    type Error = Error;

    #[inline]
    fn next_key_seed<K2: DeserializeSeed<'de>>(
        &mut self,
        seed: K2,
    ) -> Result<Option<K2::Value>, Error> {
        match self.raw_key()? {
            Some(key) => seed.deserialize(KeyDe { d: &self.de.d, key }).map(Some),
            None => Ok(None),
        }
    }

    #[inline]
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let (at, last) = (self.de.pos(), self.last);
        let out = seed.deserialize(&mut *self.de);
        self.de.located(out, at, || key_segment(last))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// A link seen without a type hint, as the map `{"$link": "<CID>"}`.
struct LinkAcc(Option<Cid>);

impl<'de> de::MapAccess<'de> for LinkAcc {
    type Error = Error;

    fn next_key_seed<K2: DeserializeSeed<'de>>(
        &mut self,
        seed: K2,
    ) -> Result<Option<K2::Value>, Error> {
        match self.0 {
            Some(_) => seed
                .deserialize(BorrowedStrDeserializer::<Error>::new("$link"))
                .map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.0.take() {
            Some(cid) => seed.deserialize(cid.to_string().into_deserializer()),
            None => Err(Error::serde("a $link object has one entry".into())),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(usize::from(self.0.is_some()))
    }
}

struct EnumAcc<'b, 'de> {
    de: &'b mut CborDe<'de>,
    key: &'de str,
}

impl<'de, 'b> de::EnumAccess<'de> for EnumAcc<'b, 'de> {
    type Error = Error;
    type Variant = &'b mut CborDe<'de>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), Error> {
        let tag = seed.deserialize(BorrowedStrDeserializer::<Error>::new(self.key))?;
        Ok((tag, self.de))
    }
}

impl<'de> de::VariantAccess<'de> for &mut CborDe<'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.head()? {
            Head::Null => Ok(()),
            other => {
                self.skip_rest(other)?;
                Err(Error::serde(format!(
                    "expected a unit variant, found {}",
                    kind(&other)
                )))
            }
        }
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Error> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_seq(self, v)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_map(self, v)
    }
}
