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

use super::value_serde::LINK_TOKEN;
use crate::cbor::DecodeErrorKind as K;
use crate::cbor::DecodeLimits;
use crate::cbor::decode::{Decoder, Fail, fail, key_less};
use crate::{Cid, Error};

/// The direct deserializer: a strict decoder plus the nesting depth of the next item.
pub(crate) struct CborDe<'de> {
    d: Decoder<'de>,
    depth: usize,
}

impl From<Fail> for Error {
    #[cold]
    fn from(e: Fail) -> Self {
        Error::Cbor(*e)
    }
}

/// One item as read: a scalar whole, a container by its length (after the depth and
/// item-count checks), its entries still to read.
#[derive(Clone, Copy)]
enum Head<'de> {
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
        }
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
    fn peek(&self) -> Option<u8> {
        self.d.rest.first().copied()
    }

    /// Reads one head and, for scalars, the whole item, with every strict check.
    #[inline]
    fn head(&mut self) -> Result<Head<'de>, Fail> {
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
            last: "",
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
        let cid = Cid::from_bytes(raw)?;
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
        if name == LINK_TOKEN {
            return match self.head()? {
                Head::Link(raw) => v.visit_borrowed_bytes(raw),
                other => {
                    // Check the rest of the item before saying it is not a link.
                    self.skip_rest(other)?;
                    Err(Error::Serde(format!(
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
                    last: "",
                };
                let out = match acc.key()? {
                    Some(k) => v.visit_enum(EnumAcc { de: acc.de, key: k }),
                    None => Err(Error::Serde("empty enum map".into())),
                };
                self.depth -= 1;
                out
            }
            other => {
                self.skip_rest(other)?;
                Err(Error::Serde(format!(
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

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct tuple tuple_struct map struct identifier
    }
}

impl CborDe<'_> {
    /// Checks what is left of an item whose head was read.
    fn skip_rest(&mut self, h: Head<'_>) -> Result<(), Fail> {
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
                last: "",
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

fn kind(h: &Head<'_>) -> &'static str {
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
        match seed.deserialize(&mut *self.de) {
            Ok(v) => Ok(Some(v)),
            Err(e) => Err(e.within(format_args!("[{i}]"), at)),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

struct MapAcc<'b, 'de> {
    de: &'b mut CborDe<'de>,
    left: usize,
    prev: Option<&'de [u8]>,
    /// The key of the value being read (for error paths).
    last: &'de str,
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
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let d = &mut self.de.d;
        let kstart = d.pos();
        let kb = d.byte()?;
        if kb >> 5 != 3 {
            return Err(fail(kstart, K::NonStringKey));
        }
        let klen = d.arg(kb & 0x1f, kstart)?;
        let kb = d.take(klen, kstart)?;
        // The keys common in atproto data are matched on their bytes, which needs no
        // separate UTF-8 check.
        let key = match crate::value::common_key(kb) {
            Some(k) => k,
            None => match crate::utf8::str(kb) {
                Some(k) => k,
                None => return Err(d.bad_utf8(kb)),
            },
        };
        if let Some(prev) = self.prev {
            if !key_less(prev, kb) {
                let kind = if prev == kb {
                    K::DuplicateKey
                } else {
                    K::UnsortedKeys
                };
                return Err(fail(kstart, kind));
            }
        }
        self.prev = Some(kb);
        self.last = key;
        Ok(Some(key))
    }
}

impl<'de> de::MapAccess<'de> for MapAcc<'_, 'de> {
    type Error = Error;

    #[inline]
    fn next_key_seed<K2: DeserializeSeed<'de>>(
        &mut self,
        seed: K2,
    ) -> Result<Option<K2::Value>, Error> {
        match self.key()? {
            Some(k) => seed
                .deserialize(BorrowedStrDeserializer::<Error>::new(k))
                .map(Some),
            None => Ok(None),
        }
    }

    #[inline]
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let at = self.de.pos();
        seed.deserialize(&mut *self.de)
            .map_err(|e| e.within(format_args!(".{}", self.last), at))
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
            None => Err(Error::Serde("a $link object has one entry".into())),
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
                Err(Error::Serde(format!(
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
