//! Reading typed values straight from strict DAG-CBOR, without serde's layers: a
//! [`Reader`] over the input and the [`FromCbor`] trait of the types that read
//! themselves from it.
//!
//! The reader is the same strict decoder as [`from_cbor`](crate::from_cbor)'s (the same
//! checks and limits: key order, UTF-8, CID links, depth, item counts). A type's
//! [`FromCbor`] impl reads the usual shape of its value itself and hands anything else
//! to its serde `Deserialize` impl ([`Reader::deserialize`]), so both ways give the same
//! value, and the same error, for every input. What it reads it reads in one pass; what
//! it skips is checked as well.
//!
//! atmo-api's generated lexicon types implement [`FromCbor`]; so do the syntax types,
//! the primitive types, `Vec`, `Option`, `Box` and [`Value`](crate::Value).
//!
//! ```
//! # fn main() -> Result<(), atmo_data::Error> {
//! use atmo_data::direct::{self, FromCbor, Reader};
//!
//! /// `{"n": <int>, "who": <DID>}`, read by hand.
//! #[derive(Debug, PartialEq, serde::Deserialize)]
//! struct Pair {
//!     n: i64,
//!     who: atmo_syntax::Did,
//! }
//! impl<'de> FromCbor<'de> for Pair {
//!     fn from_cbor(r: &mut Reader<'de>) -> Result<Self, direct::Error> {
//!         let Some(mut m) = r.map()? else { return r.deserialize() };
//!         let (mut n, mut who) = (None, None);
//!         while let Some(k) = r.key(&mut m)? {
//!             match k {
//!                 b"n" => n = Some(r.value(&m, i64::from_cbor)?),
//!                 b"who" => who = Some(r.value(&m, atmo_syntax::Did::from_cbor)?),
//!                 _ => r.value(&m, |r| r.deserialize::<serde::de::IgnoredAny>())?,
//!             };
//!         }
//!         r.end_map(m)?;
//!         match (n, who) {
//!             (Some(n), Some(who)) => Ok(Pair { n, who }),
//!             _ => Err(serde::de::Error::custom("missing field")),
//!         }
//!     }
//! }
//!
//! let v = atmo_data::json::from_str(r#"{"n": 7, "who": "did:plc:abc"}"#)?;
//! let bytes = atmo_data::cbor::encode(&v);
//! let p: Pair = direct::from_cbor(&bytes)?;
//! assert_eq!(p, atmo_data::from_cbor::<Pair>(&bytes)?);
//! assert!(direct::from_cbor::<Pair>(&bytes[..bytes.len() - 1]).is_err());
//! # Ok(()) }
//! ```

use serde::Deserialize;
use serde::de::DeserializeSeed;

use crate::cbor::DecodeLimits;
use crate::serde_impl::cbor_de::{CborDe, Head, Segment, check_text, next_key};

/// The error of a [`Reader`] and of [`FromCbor`]: a boxed [`crate::Error`], so that
/// every `Result` passed up is small. It is also the serde `Error` of the DAG-CBOR
/// deserializer; [`from_cbor`] turns it into a [`crate::Error`] with the path of the
/// value that failed.
pub use crate::serde_impl::cbor_de::Error;

/// A type that reads itself from a [`Reader`]: the fast path of its `Deserialize` impl
/// for DAG-CBOR, which must give the same value and the same error for every input (an
/// impl reads the shape it expects and hands the rest to [`Reader::deserialize`]).
pub trait FromCbor<'de>: Deserialize<'de> {
    /// Reads one value (one whole item) from `r`.
    ///
    /// # Errors
    /// If the item breaks a DAG-CBOR rule or does not fit the type.
    fn from_cbor(r: &mut Reader<'de>) -> Result<Self, Error>;
}

/// Reads a `T` from the whole of `bytes` (strict DAG-CBOR, default limits): the same
/// value, or the same error, as [`crate::from_cbor`], faster for the types with a
/// generated or hand-written [`FromCbor`].
///
/// # Errors
/// As [`crate::from_cbor`]: the DAG-CBOR error, or where the value failed to fit the
/// type ([`crate::Error::At`]) and why.
pub fn from_cbor<'a, T: FromCbor<'a>>(bytes: &'a [u8]) -> Result<T, crate::Error> {
    from_cbor_with(bytes, &DecodeLimits::DEFAULT)
}

/// [`from_cbor`] with explicit limits.
///
/// # Errors
/// As [`from_cbor`].
pub fn from_cbor_with<'a, T: FromCbor<'a>>(
    bytes: &'a [u8],
    limits: &DecodeLimits,
) -> Result<T, crate::Error> {
    let mut r = Reader {
        de: CborDe::new(bytes, *limits),
    };
    let out = T::from_cbor(&mut r);
    match out {
        Ok(v) if r.de.rest().is_empty() => Ok(v),
        out => Err(crate::serde_impl::cbor_failure(
            bytes,
            limits,
            out.err().map(Error::into_inner),
            &r.de,
        )),
    }
}

/// A strict DAG-CBOR reader over a byte slice, positioned at the next item. Each method
/// reads the next item if it has the asked-for kind (`Some`), else reads nothing
/// (`None`); errors are the decoder's (a malformed head, bad UTF-8, too deep...).
pub struct Reader<'de> {
    de: CborDe<'de>,
}

/// A map being read: the entries left, and the last key (for order checks and error
/// paths). From [`Reader::map`]; give it back to [`Reader::end_map`].
pub struct MapIn<'de> {
    len: usize,
    left: usize,
    prev: Option<&'de [u8]>,
}

/// An array being read: from [`Reader::array`]; give it back to [`Reader::end_array`].
pub struct SeqIn {
    len: usize,
    left: usize,
    index: usize,
}

impl<'de> Reader<'de> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'de [u8], limits: DecodeLimits) -> Self {
        Self {
            de: CborDe::new(bytes, limits),
        }
    }

    /// Offset of the next byte.
    pub fn pos(&self) -> usize {
        self.de.pos()
    }

    /// Reads the next item with serde: how a [`FromCbor`] impl reads what it does not
    /// read itself.
    ///
    /// # Errors
    /// As the type's `Deserialize` impl.
    #[inline]
    pub fn deserialize<T: Deserialize<'de>>(&mut self) -> Result<T, Error> {
        T::deserialize(&mut self.de)
    }

    /// Reads the next item with a serde seed.
    ///
    /// # Errors
    /// As the seed's.
    #[inline]
    pub fn deserialize_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, Error> {
        seed.deserialize(&mut self.de)
    }

    /// The next item if it is a text string (checked UTF-8).
    ///
    /// # Errors
    /// If its head is malformed, it runs past the input, or it is not UTF-8.
    #[inline]
    pub fn text(&mut self) -> Result<Option<&'de str>, Error> {
        match self.de.text_item()? {
            Some(b) => match crate::utf8::str(b) {
                Some(s) => Ok(Some(s)),
                None => Err(self.de.d.bad_utf8(b).into()),
            },
            None => Ok(None),
        }
    }

    /// The next item if it is a text string, as its bytes (checked UTF-8: ASCII, the
    /// usual case, with one cheap test), for a caller that compares bytes.
    ///
    /// # Errors
    /// As [`Self::text`].
    #[inline]
    pub fn text_bytes(&mut self) -> Result<Option<&'de [u8]>, Error> {
        match self.de.text_item()? {
            Some(b) => {
                check_text(&self.de.d, b)?;
                Ok(Some(b))
            }
            None => Ok(None),
        }
    }

    /// The next item, if it is a text string, handed to `f` as a `&str` that may be a
    /// copy (for a type that copies the text anyway): short strings are checked for
    /// UTF-8 in a padded block with SIMD ([`crate::utf8::with_str`]) instead of
    /// borrowed through the standard library's slower check.
    ///
    /// # Errors
    /// As [`Self::text`].
    #[inline]
    pub fn text_copied<T>(&mut self, f: impl FnOnce(&str) -> T) -> Result<Option<T>, Error> {
        match self.de.text_item()? {
            Some(b) => match crate::utf8::with_str(b, f) {
                Some(v) => Ok(Some(v)),
                None => Err(self.de.d.bad_utf8(b).into()),
            },
            None => Ok(None),
        }
    }

    /// The next item if it is an integer (in the `i64` range).
    ///
    /// # Errors
    /// If its head is malformed or it is out of the `i64` range.
    #[inline]
    pub fn int(&mut self) -> Result<Option<i64>, Error> {
        if self.de.peek().is_none_or(|b| b >> 5 > 1) {
            return Ok(None);
        }
        match self.de.head()? {
            Head::Int(i) => Ok(Some(i)),
            // Major types 0 and 1 are integers.
            _ => Ok(None),
        }
    }

    /// The next item if it is `true` or `false`.
    #[inline]
    pub fn bool(&mut self) -> Option<bool> {
        let b = match self.de.peek() {
            Some(0xf4) => false,
            Some(0xf5) => true,
            _ => return None,
        };
        self.de.d.rest = self.de.d.rest.get(1..).unwrap_or_default();
        Some(b)
    }

    /// Reads the next item if it is null.
    #[inline]
    pub fn null(&mut self) -> bool {
        if self.de.peek() == Some(0xf6) {
            self.de.d.rest = self.de.d.rest.get(1..).unwrap_or_default();
            true
        } else {
            false
        }
    }

    /// Enters the next item if it is a map (after the depth and size checks).
    ///
    /// # Errors
    /// If its head is malformed, it is nested too deep or claims more entries than the
    /// input or the limits allow.
    #[inline]
    pub fn map(&mut self) -> Result<Option<MapIn<'de>>, Error> {
        if self.de.peek().is_none_or(|b| b >> 5 != 5) {
            return Ok(None);
        }
        match self.de.head()? {
            Head::Map(n) => {
                self.de.depth += 1;
                Ok(Some(MapIn {
                    len: n,
                    left: n,
                    prev: None,
                }))
            }
            _ => Ok(None),
        }
    }

    /// The next key of map `m` (text, checked UTF-8, after the previous key in DAG-CBOR
    /// order), or `None` at the end. Read its value next, with [`Self::value`].
    ///
    /// # Errors
    /// If the key is not text, not UTF-8, repeated or out of order.
    #[inline(always)]
    pub fn key(&mut self, m: &mut MapIn<'de>) -> Result<Option<&'de [u8]>, Error> {
        match next_key(&mut self.de.d, &mut m.left, &mut m.prev)? {
            Some(k) => {
                check_text(&self.de.d, k)?;
                Ok(Some(k))
            }
            None => Ok(None),
        }
    }

    /// Reads the value of the key just read from `m` with `f`; a failure notes the key
    /// in the error's path.
    ///
    /// # Errors
    /// As `f`.
    #[inline]
    pub fn value<T>(
        &mut self,
        m: &MapIn<'de>,
        f: impl FnOnce(&mut Self) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let at = self.de.pos();
        match f(self) {
            Ok(v) => {
                self.de.succeeded();
                Ok(v)
            }
            Err(e) => {
                let key = m
                    .prev
                    .and_then(|k| std::str::from_utf8(k).ok())
                    .unwrap_or("?");
                self.de.failed_at(Segment::Key(key), at);
                Err(e)
            }
        }
    }

    /// Leaves map `m`: every entry must have been read.
    ///
    /// # Errors
    /// If entries are left (they are checked first: a DAG-CBOR error in them is
    /// reported as such).
    #[inline]
    pub fn end_map(&mut self, mut m: MapIn<'de>) -> Result<(), Error> {
        if m.left > 0 {
            return Err(self.unread_entries(&mut m));
        }
        self.de.depth -= 1;
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn unread_entries(&mut self, m: &mut MapIn<'de>) -> Error {
        loop {
            match next_key(&mut self.de.d, &mut m.left, &mut m.prev) {
                Ok(Some(k)) => {
                    if let Err(e) = check_text(&self.de.d, k) {
                        return e.into();
                    }
                    if let Err(e) = self.de.d.skip(self.de.depth) {
                        return e.into();
                    }
                }
                Ok(None) => {
                    return serde::de::Error::invalid_length(m.len, &"fewer entries in the map");
                }
                Err(e) => return e.into(),
            }
        }
    }

    /// Enters the next item if it is an array (after the depth and size checks).
    ///
    /// # Errors
    /// As [`Self::map`].
    #[inline]
    pub fn array(&mut self) -> Result<Option<SeqIn>, Error> {
        if self.de.peek().is_none_or(|b| b >> 5 != 4) {
            return Ok(None);
        }
        match self.de.head()? {
            Head::Array(n) => {
                self.de.depth += 1;
                Ok(Some(SeqIn {
                    len: n,
                    left: n,
                    index: 0,
                }))
            }
            _ => Ok(None),
        }
    }

    /// Reads the next element of `s` with `f`, or `None` at the end; a failure notes the
    /// index in the error's path.
    ///
    /// # Errors
    /// As `f`.
    #[inline]
    pub fn element<T>(
        &mut self,
        s: &mut SeqIn,
        f: impl FnOnce(&mut Self) -> Result<T, Error>,
    ) -> Result<Option<T>, Error> {
        if s.left == 0 {
            return Ok(None);
        }
        s.left -= 1;
        let (i, at) = (s.index, self.de.pos());
        s.index += 1;
        match f(self) {
            Ok(v) => {
                self.de.succeeded();
                Ok(Some(v))
            }
            Err(e) => {
                self.de.failed_at(Segment::Index(i), at);
                Err(e)
            }
        }
    }

    /// Leaves array `s`: every element must have been read.
    ///
    /// # Errors
    /// If elements are left (checked first, as for [`Self::end_map`]).
    #[inline]
    pub fn end_array(&mut self, s: SeqIn) -> Result<(), Error> {
        if s.left > 0 {
            return Err(self.unread_elements(&s));
        }
        self.de.depth -= 1;
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn unread_elements(&mut self, s: &SeqIn) -> Error {
        for _ in 0..s.left {
            if let Err(e) = self.de.d.skip(self.de.depth) {
                return e.into();
            }
        }
        serde::de::Error::invalid_length(s.len, &"fewer elements in the array")
    }
}

/// A text-string type read with its validating constructor; anything else goes to serde.
macro_rules! text_types {
    ($($ty:ty => $new:expr,)*) => {$(
        impl<'de> FromCbor<'de> for $ty {
            #[inline]
            fn from_cbor(r: &mut Reader<'de>) -> Result<Self, Error> {
                match r.text_copied($new)? {
                    Some(v) => v,
                    None => r.deserialize(),
                }
            }
        }
    )*};
}

/// A syntax type's constructor error, as its serde impl reports it.
#[cold]
fn syntax<E: Into<atmo_syntax::Error>>(e: E) -> Error {
    serde::de::Error::custom(e.into())
}

text_types! {
    String => |s: &str| Ok(s.to_owned()),
    atmo_syntax::LenientDatetime => |s| Ok(atmo_syntax::LenientDatetime::new(s)),
    atmo_syntax::AtIdentifier => |s| atmo_syntax::AtIdentifier::new(s).map_err(syntax),
    atmo_syntax::AtUri => |s| atmo_syntax::AtUri::new(s).map_err(syntax),
    atmo_syntax::CidString => |s| atmo_syntax::CidString::new(s).map_err(syntax),
    atmo_syntax::Datetime => |s| atmo_syntax::Datetime::new(s).map_err(syntax),
    atmo_syntax::Did => |s| atmo_syntax::Did::new(s).map_err(syntax),
    atmo_syntax::Handle => |s| atmo_syntax::Handle::new(s).map_err(syntax),
    atmo_syntax::Nsid => |s| atmo_syntax::Nsid::new(s).map_err(syntax),
    atmo_syntax::Tid => |s| atmo_syntax::Tid::new(s).map_err(syntax),
    atmo_syntax::RecordKey => |s| atmo_syntax::RecordKey::new(s).map_err(syntax),
    atmo_syntax::Uri => |s| atmo_syntax::Uri::new(s).map_err(syntax),
    atmo_syntax::Language => |s| atmo_syntax::Language::new(s).map_err(syntax),
}

impl<'de> FromCbor<'de> for i64 {
    #[inline]
    fn from_cbor(r: &mut Reader<'de>) -> Result<Self, Error> {
        match r.int()? {
            Some(i) => Ok(i),
            None => r.deserialize(),
        }
    }
}

impl<'de> FromCbor<'de> for bool {
    #[inline]
    fn from_cbor(r: &mut Reader<'de>) -> Result<Self, Error> {
        match r.bool() {
            Some(b) => Ok(b),
            None => r.deserialize(),
        }
    }
}

/// Types read by their serde impls alone (rare in records, or already direct).
macro_rules! serde_types {
    ($($ty:ty,)*) => {$(
        impl<'de> FromCbor<'de> for $ty {
            #[inline]
            fn from_cbor(r: &mut Reader<'de>) -> Result<Self, Error> {
                r.deserialize()
            }
        }
    )*};
}

serde_types! {
    (),
    crate::Value,
    crate::Cid,
    crate::Blob,
}

impl<'de, T: FromCbor<'de>> FromCbor<'de> for Option<T> {
    /// Null is `None` (as serde reads an `Option`).
    #[inline]
    fn from_cbor(r: &mut Reader<'de>) -> Result<Self, Error> {
        if r.null() {
            Ok(None)
        } else {
            T::from_cbor(r).map(Some)
        }
    }
}

impl<'de, T: FromCbor<'de>> FromCbor<'de> for Box<T> {
    #[inline]
    fn from_cbor(r: &mut Reader<'de>) -> Result<Self, Error> {
        T::from_cbor(r).map(Box::new)
    }
}

impl<'de, T: FromCbor<'de>> FromCbor<'de> for Vec<T> {
    fn from_cbor(r: &mut Reader<'de>) -> Result<Self, Error> {
        let Some(mut s) = r.array()? else {
            return r.deserialize();
        };
        // What serde reserves for a sequence of known length: at most 1 MiB up front.
        let cap = s.left.min((1 << 20) / std::mem::size_of::<T>().max(1));
        let mut out = Vec::with_capacity(cap);
        while let Some(v) = r.element(&mut s, T::from_cbor)? {
            out.push(v);
        }
        r.end_array(s)?;
        Ok(out)
    }
}
