//! Direct decoding: types that read themselves from strict DAG-CBOR ([`FromCbor`]), with
//! no serde visitor in between.
//!
//! A [`FromCbor`] impl pulls items from a [`CborReader`]: strings, integers, links, maps
//! key by key ([`MapReader`]), arrays element by element ([`ArrayReader`]). Every rule of
//! the strict decoder applies (shortest forms, key order, UTF-8, the limits), and what an
//! impl does not read itself goes through the same checks ([`CborReader::value`],
//! [`CborReader::skip`]). The generated types of atmo-api implement it; reading a record
//! through it ([`read_cbor`](crate::read_cbor)) skips serde's per-key and per-value dispatch.

use serde::Deserialize;
use serde::de::Error as _;

use super::cbor_de::{CborDe, Error as DeError, Head, Segment, key_segment, kind, next_key};
use crate::cbor::DecodeErrorKind as K;
use crate::cbor::decode::{Fail, fail, key_less};
use crate::{Blob, Cid, Value};

/// A type that reads itself from strict DAG-CBOR, one item at a time. See
/// [`read_cbor`](crate::read_cbor) for an example.
pub trait FromCbor<'de>: Sized {
    /// Reads one value (the whole next item) from `r`.
    ///
    /// # Errors
    /// If the item is not strict DAG-CBOR or does not fit the type.
    fn from_cbor(r: &mut CborReader<'de>) -> Result<Self, ReadError>;
}

/// Why a [`FromCbor`] read failed. [`read_cbor`](crate::read_cbor) turns it into an
/// [`Error`](crate::Error) with the path and offset of the failure.
pub struct ReadError(pub(crate) DeError);

impl ReadError {
    /// A type error (the item was strict DAG-CBOR but did not fit): [`Error::Serde`](crate::Error::Serde).
    #[cold]
    pub fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Self(DeError::custom(msg))
    }

    /// The error inside, without its location (which [`read_cbor`](crate::read_cbor) adds).
    pub fn into_inner(self) -> crate::Error {
        self.0.into_inner()
    }
}

impl From<Fail> for ReadError {
    #[cold]
    fn from(e: Fail) -> Self {
        Self(e.into())
    }
}

impl From<DeError> for ReadError {
    #[inline]
    fn from(e: DeError) -> Self {
        Self(e)
    }
}

impl std::fmt::Debug for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for ReadError {}

/// So that code shared with serde impls (`missing_field`, `invalid_type`, a generated
/// runtime's own messages) gives the same errors on both paths.
impl serde::de::Error for ReadError {
    #[cold]
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Self(DeError::custom(msg))
    }
}

/// The strict DAG-CBOR input of a [`FromCbor`] read.
pub struct CborReader<'de> {
    pub(crate) de: CborDe<'de>,
}

impl<'de> CborReader<'de> {
    /// Byte offset of the next item.
    #[must_use]
    pub fn offset(&self) -> usize {
        self.de.pos()
    }

    /// The error for an item that is not the `expected` kind: the item is read (and
    /// checked) to name what it is.
    #[cold]
    #[inline(never)]
    fn unexpected(&mut self, expected: &str) -> ReadError {
        match self.de.head() {
            Ok(h) => self.wrong(expected, h),
            Err(e) => e.into(),
        }
    }

    /// A text string, borrowed from the input (checked UTF-8).
    ///
    /// # Errors
    /// If the next item is not a text string.
    #[inline]
    pub fn str(&mut self) -> Result<&'de str, ReadError> {
        match self.de.text_item()? {
            Some(b) => self.check_utf8(b),
            None => Err(self.unexpected("a string")),
        }
    }

    /// A text string handed to `f`, for a type that copies it: a string of middle length
    /// is checked for UTF-8 in a padded SIMD block (cheaper than the check of the
    /// borrowed bytes), others as [`Self::str`].
    ///
    /// # Errors
    /// If the next item is not a text string.
    #[inline]
    pub fn text<T>(&mut self, f: impl FnOnce(&str) -> T) -> Result<T, ReadError> {
        match self.de.text_item()? {
            Some(b) => crate::utf8::copied(b, f).ok_or_else(|| self.de.d.bad_utf8(b).into()),
            None => Err(self.unexpected("a string")),
        }
    }

    /// A text string handed to `f` as [`Self::text`] does, or any other item read by the
    /// serde impl of `T`.
    #[inline]
    fn text_or_serde<T: Deserialize<'de>>(
        &mut self,
        f: impl FnOnce(&str) -> Result<T, ReadError>,
    ) -> Result<T, ReadError> {
        match self.de.peek() {
            Some(b) if b >> 5 == 3 => self.text(f)?,
            _ => self.serde(),
        }
    }

    /// Passes over a one-byte item, giving `v`.
    #[inline]
    fn skip_byte<T>(&mut self, v: T) -> Result<T, ReadError> {
        self.de.d.rest = self.de.d.rest.get(1..).unwrap_or_default();
        Ok(v)
    }

    /// The next item's bytes if it is a text string, compared with nothing yet: for a
    /// caller that matches them against known strings (then needs no UTF-8 check) and
    /// checks the others with [`check_utf8`](Self::check_utf8).
    ///
    /// # Errors
    /// If the next item is not a text string.
    #[inline]
    pub fn text_bytes(&mut self) -> Result<&'de [u8], ReadError> {
        match self.de.text_item()? {
            Some(b) => Ok(b),
            None => Err(self.unexpected("a string")),
        }
    }

    /// `b` (the bytes of a text item just read) as a `&str`, checked UTF-8.
    ///
    /// # Errors
    /// If they are not UTF-8.
    #[inline]
    pub fn check_utf8(&self, b: &'de [u8]) -> Result<&'de str, ReadError> {
        match crate::utf8::str(b) {
            Some(s) => Ok(s),
            None => Err(self.de.d.bad_utf8(b).into()),
        }
    }

    /// An integer.
    ///
    /// # Errors
    /// If the next item is not an integer.
    #[inline]
    pub fn int(&mut self) -> Result<i64, ReadError> {
        match self.de.head()? {
            Head::Int(i) => Ok(i),
            other => Err(self.wrong("an integer", other)),
        }
    }

    /// A boolean.
    ///
    /// # Errors
    /// If the next item is not a boolean.
    #[inline]
    pub fn bool(&mut self) -> Result<bool, ReadError> {
        match self.de.head()? {
            Head::Bool(b) => Ok(b),
            other => Err(self.wrong("a boolean", other)),
        }
    }

    /// Reads a null if the next item is one (`true`), else reads nothing (`false`).
    #[inline]
    pub fn null(&mut self) -> bool {
        match self.de.d.rest.split_first() {
            Some((0xf6, rest)) => {
                self.de.d.rest = rest;
                true
            }
            _ => false,
        }
    }

    /// A link (tag 42).
    ///
    /// # Errors
    /// If the next item is not a link.
    #[inline]
    pub fn link(&mut self) -> Result<Cid, ReadError> {
        match self.de.head()? {
            Head::Link(raw) => {
                Cid::from_bytes(raw).map_err(|e| ReadError(crate::Error::from(e).into()))
            }
            other => Err(self.wrong("a link", other)),
        }
    }

    /// A byte string, borrowed from the input.
    ///
    /// # Errors
    /// If the next item is not a byte string.
    #[inline]
    pub fn bytes(&mut self) -> Result<&'de [u8], ReadError> {
        match self.de.head()? {
            Head::Bytes(b) => Ok(b),
            other => Err(self.wrong("bytes", other)),
        }
    }

    /// The next item as an owned [`Value`].
    ///
    /// # Errors
    /// If it is not strict DAG-CBOR.
    pub fn value(&mut self) -> Result<Value, ReadError> {
        Ok(Value::deserialize(&mut self.de)?)
    }

    /// The next item read with its serde `Deserialize` impl, by the same strict decoder.
    ///
    /// # Errors
    /// If it is not strict DAG-CBOR or does not fit `T`.
    pub fn serde<T: Deserialize<'de>>(&mut self) -> Result<T, ReadError> {
        Ok(T::deserialize(&mut self.de)?)
    }

    /// Checks the next item with the strict rules and passes over it.
    ///
    /// # Errors
    /// If it is not strict DAG-CBOR.
    pub fn skip(&mut self) -> Result<(), ReadError> {
        Ok(self.de.d.skip(self.de.depth)?)
    }

    /// A map, read key by key with [`MapReader`].
    ///
    /// # Errors
    /// If the next item is not a map (or nests too deep).
    // Inlined: a reader built in another function and handed back through memory was
    // copied out with wider loads than it had been written with, a store-forwarding
    // stall on every object read.
    #[inline(always)]
    pub fn map(&mut self) -> Result<MapReader<'_, 'de>, ReadError> {
        let n = match self.de.d.rest.split_first() {
            // A map of fewer than 24 entries (the usual case) has a one-byte head.
            Some((&ib, rest))
                if ib >> 5 == 5 && ib & 0x1f < 24 && self.de.depth < self.de.d.limits.max_depth =>
            {
                let start = self.de.pos();
                self.de.d.rest = rest;
                self.de.d.count(u64::from(ib & 0x1f), start, 2)?
            }
            _ => self.map_head()?,
        };
        self.de.depth += 1;
        Ok(MapReader {
            r: self,
            left: n,
            prev: None,
            last: b"",
        })
    }

    /// The entry count of a map whose head is not the usual one byte (or an error).
    #[inline(never)]
    fn map_head(&mut self) -> Result<usize, ReadError> {
        match self.de.head()? {
            Head::Map(n) => Ok(n),
            other => Err(self.wrong("a map", other)),
        }
    }

    /// An array, read element by element with [`ArrayReader`].
    ///
    /// # Errors
    /// If the next item is not an array (or nests too deep).
    #[inline]
    pub fn array(&mut self) -> Result<ArrayReader<'_, 'de>, ReadError> {
        match self.de.head()? {
            Head::Array(n) => {
                self.de.depth += 1;
                Ok(ArrayReader {
                    r: self,
                    left: n,
                    index: 0,
                })
            }
            other => Err(self.wrong("an array", other)),
        }
    }

    /// If the next item is a map with a `$type` key, its value (a union's tag), found by
    /// looking ahead: nothing is consumed. `None` for anything else (not a map, no
    /// `$type`).
    ///
    /// # Errors
    /// If the input up to the `$type` is not strict DAG-CBOR, or the `$type` is not a
    /// non-empty string.
    pub fn map_type(&mut self) -> Result<Option<&'de str>, ReadError> {
        let (rest, depth) = (self.de.d.rest, self.de.depth);
        let out = self.find_type();
        self.de.d.rest = rest;
        self.de.depth = depth;
        out
    }

    fn find_type(&mut self) -> Result<Option<&'de str>, ReadError> {
        if self.de.d.rest.first().is_none_or(|b| b >> 5 != 5) {
            return Ok(None);
        }
        let mut m = self.map()?;
        while let Some(k) = m.key()? {
            if k == b"$type" {
                let at = m.r.offset();
                return match m.r.de.text_item()? {
                    Some(b) if !b.is_empty() => m.r.check_utf8(b).map(Some),
                    _ => Err(fail(at, K::BadType).into()),
                };
            }
            if key_less(b"$type", k) {
                break;
            }
            m.skip()?;
        }
        Ok(None)
    }

    /// The error for an item read whole (`h`) that is not the `expected` kind; the rest
    /// of a container is checked first.
    #[cold]
    #[inline(never)]
    fn wrong(&mut self, expected: &str, h: Head<'de>) -> ReadError {
        if let Err(e) = self.de.skip_rest(h) {
            return e.into();
        }
        ReadError::custom(format_args!("expected {expected}, found {}", kind(&h)))
    }
}

/// A map's entries, read in order: [`key`](Self::key) then the value (with
/// [`value`](Self::value), [`skip`](Self::skip) or [`reader`](Self::reader)).
pub struct MapReader<'b, 'de> {
    r: &'b mut CborReader<'de>,
    left: usize,
    prev: Option<&'de [u8]>,
    /// The key of the value read next (for error paths).
    last: &'de [u8],
}

impl<'de> MapReader<'_, 'de> {
    /// Entries not read yet.
    #[must_use]
    pub fn len(&self) -> usize {
        self.left
    }

    /// True if every entry was read.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.left == 0
    }

    /// The next key's bytes (a text string after the previous key in DAG-CBOR order; its
    /// UTF-8 is left to [`CborReader::check_utf8`], needless for a known key), or `None`
    /// after the last entry. Its value must be read before the next key.
    ///
    /// # Errors
    /// If the key is not a text string or is out of order.
    #[inline(always)]
    pub fn key(&mut self) -> Result<Option<&'de [u8]>, ReadError> {
        if self.left == 0 {
            self.r.de.depth -= 1;
            return Ok(None);
        }
        self.left -= 1;
        let kb = next_key(&mut self.r.de.d, &mut self.prev)?;
        self.last = kb;
        Ok(Some(kb))
    }

    /// Reads the current key's value as a `T`; a failure is located at this key.
    ///
    /// # Errors
    /// If the value does not fit `T`.
    #[inline(always)]
    pub fn value<T: FromCbor<'de>>(&mut self) -> Result<T, ReadError> {
        let (at, last) = (self.r.de.pos(), self.last);
        let out = T::from_cbor(self.r);
        self.r.de.located(out, at, || key_segment(last))
    }

    /// Checks the current key's value with the strict rules and passes over it.
    ///
    /// # Errors
    /// If it is not strict DAG-CBOR.
    #[inline]
    pub fn skip(&mut self) -> Result<(), ReadError> {
        self.r.skip()
    }

    /// The reader, to read the current key's value by hand.
    pub fn reader(&mut self) -> &mut CborReader<'de> {
        self.r
    }
}

/// An array's elements, read in order with [`element`](Self::element).
pub struct ArrayReader<'b, 'de> {
    r: &'b mut CborReader<'de>,
    left: usize,
    index: usize,
}

impl<'de> ArrayReader<'_, 'de> {
    /// Elements not read yet.
    #[must_use]
    pub fn len(&self) -> usize {
        self.left
    }

    /// True if every element was read.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.left == 0
    }

    /// The next element as a `T`, or `None` after the last; a failure is located at its
    /// index.
    ///
    /// # Errors
    /// If the element does not fit `T`.
    #[inline]
    pub fn element<T: FromCbor<'de>>(&mut self) -> Result<Option<T>, ReadError> {
        if self.left == 0 {
            self.r.de.depth -= 1;
            return Ok(None);
        }
        self.left -= 1;
        let (i, at) = (self.index, self.r.de.pos());
        self.index += 1;
        let out = T::from_cbor(self.r);
        self.r.de.located(out, at, || Segment::Index(i)).map(Some)
    }
}

// The impls below read the usual item kind directly and hand anything else to the type's
// serde impl on the same decoder, so that what they accept, and the errors they give, are
// exactly those of `from_cbor` (serde's `String` takes a UTF-8 byte string, for one).

impl<'de> FromCbor<'de> for bool {
    #[inline]
    fn from_cbor(r: &mut CborReader<'de>) -> Result<Self, ReadError> {
        match r.de.peek() {
            Some(0xf4) => r.skip_byte(false),
            Some(0xf5) => r.skip_byte(true),
            _ => r.serde(),
        }
    }
}

impl<'de> FromCbor<'de> for i64 {
    #[inline]
    fn from_cbor(r: &mut CborReader<'de>) -> Result<Self, ReadError> {
        match r.de.peek() {
            Some(b) if b >> 5 <= 1 => r.int(),
            _ => r.serde(),
        }
    }
}

/// Null.
impl<'de> FromCbor<'de> for () {
    #[inline]
    fn from_cbor(r: &mut CborReader<'de>) -> Result<Self, ReadError> {
        if r.null() { Ok(()) } else { r.serde() }
    }
}

impl<'de> FromCbor<'de> for String {
    #[inline]
    fn from_cbor(r: &mut CborReader<'de>) -> Result<Self, ReadError> {
        r.text_or_serde(|s| Ok(s.to_owned()))
    }
}

impl<'de> FromCbor<'de> for &'de str {
    #[inline]
    fn from_cbor(r: &mut CborReader<'de>) -> Result<Self, ReadError> {
        match r.de.text_item()? {
            Some(b) => r.check_utf8(b),
            None => r.serde(),
        }
    }
}

impl<'de> FromCbor<'de> for Value {
    #[inline]
    fn from_cbor(r: &mut CborReader<'de>) -> Result<Self, ReadError> {
        r.value()
    }
}

impl<'de> FromCbor<'de> for Cid {
    #[inline]
    fn from_cbor(r: &mut CborReader<'de>) -> Result<Self, ReadError> {
        match r.de.peek() {
            Some(0xd8) => r.link(),
            _ => r.serde(),
        }
    }
}

impl<'de> FromCbor<'de> for Blob {
    fn from_cbor(r: &mut CborReader<'de>) -> Result<Self, ReadError> {
        r.serde()
    }
}

/// Null reads as `None`.
impl<'de, T: FromCbor<'de>> FromCbor<'de> for Option<T> {
    #[inline]
    fn from_cbor(r: &mut CborReader<'de>) -> Result<Self, ReadError> {
        if r.null() {
            Ok(None)
        } else {
            T::from_cbor(r).map(Some)
        }
    }
}

impl<'de, T: FromCbor<'de>> FromCbor<'de> for Box<T> {
    #[inline]
    fn from_cbor(r: &mut CborReader<'de>) -> Result<Self, ReadError> {
        T::from_cbor(r).map(Box::new)
    }
}

impl<'de, T: FromCbor<'de>> FromCbor<'de> for Vec<T> {
    fn from_cbor(r: &mut CborReader<'de>) -> Result<Self, ReadError> {
        let mut a = r.array()?;
        // The length is bounded by the input left (one byte per element at least); the
        // first allocation by a few elements.
        let mut v = Vec::with_capacity(a.len().min(8));
        while let Some(x) = a.element()? {
            v.push(x);
        }
        Ok(v)
    }
}

/// The syntax types: a text string, validated as the type's `new` does.
macro_rules! from_text {
    ($($ty:ty),* $(,)?) => {$(
        impl<'de> FromCbor<'de> for $ty {
            #[inline]
            fn from_cbor(r: &mut CborReader<'de>) -> Result<Self, ReadError> {
                r.text_or_serde(|s| {
                    <$ty>::new(s).map_err(|e| ReadError::custom(atmo_syntax::Error::from(e)))
                })
            }
        }
    )*};
}

from_text!(
    atmo_syntax::AtIdentifier,
    atmo_syntax::AtUri,
    atmo_syntax::CidString,
    atmo_syntax::Datetime,
    atmo_syntax::Did,
    atmo_syntax::Handle,
    atmo_syntax::Nsid,
    atmo_syntax::Tid,
    atmo_syntax::RecordKey,
    atmo_syntax::Uri,
    atmo_syntax::Language,
);

impl<'de> FromCbor<'de> for atmo_syntax::LenientDatetime {
    #[inline]
    fn from_cbor(r: &mut CborReader<'de>) -> Result<Self, ReadError> {
        r.text_or_serde(|s| Ok(atmo_syntax::LenientDatetime::new(s)))
    }
}

/// Reads one `T` filling the whole of `bytes`; the error as
/// [`from_cbor_with`](crate::from_cbor_with) reports it.
#[inline(always)]
pub(crate) fn read_whole<'de, T: FromCbor<'de>>(
    r: &mut CborReader<'de>,
) -> Result<T, Option<DeError>> {
    match T::from_cbor(r) {
        Ok(v) if r.de.rest().is_empty() => Ok(v),
        Ok(_) => Err(None),
        Err(e) => Err(Some(e.0)),
    }
}
