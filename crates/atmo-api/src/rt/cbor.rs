//! Direct DAG-CBOR reading of generated types ([`atmo_data::FromCbor`]): what the code
//! generator writes next to each type's serde impls, so that a record read from a
//! repository ([`atmo_data::read_cbor`]) goes from bytes to the typed value in one pass
//! with no serde visitor in between. The values and errors are those of the serde impls.

use std::collections::BTreeMap;

use atmo_data::{CborReader, FromCbor, MapReader, ReadError, Value};

/// A generated object (or record) read from a DAG-CBOR map.
///
/// ```
/// # fn main() -> Result<(), atmo_data::Error> {
/// use std::collections::BTreeMap;
/// use atmo_api::rt;
/// use atmo_data::{CborReader, FromCbor, ReadError};
///
/// #[derive(Debug, PartialEq)]
/// struct Slice {
///     end: i64,
///     start: Option<i64>,
///     extra: BTreeMap<String, atmo_data::Value>,
/// }
/// impl<'de> FromCbor<'de> for Slice {
///     fn from_cbor(r: &mut CborReader<'de>) -> Result<Self, ReadError> {
///         <Self as rt::CborObject>::read_cbor(r, false)
///     }
/// }
/// impl rt::CborObject for Slice {
///     fn read_cbor(r: &mut CborReader<'_>, member: bool) -> Result<Self, ReadError> {
///         let mut m = rt::CborObj::new(r, "", member)?;
///         let mut f = (None, None);
///         while let Some(k) = m.key()? {
///             match k {
///                 b"end" => m.req(&mut f.0)?,
///                 b"start" => m.opt(&mut f.1)?,
///                 _ => m.other(k)?,
///             }
///         }
///         Ok(Self { end: m.need(f.0, "end")?, start: f.1.flatten(), extra: m.rest() })
///     }
/// }
/// let v = atmo_data::json::from_str(r#"{"start": 1, "end": 5, "note": "kept"}"#)?;
/// let s: Slice = atmo_data::read_cbor(&atmo_data::cbor::encode(&v))?;
/// assert_eq!((s.end, s.start), (5, Some(1)));
/// assert!(s.extra.contains_key("note"));
/// # Ok(()) }
/// ```
pub trait CborObject: Sized {
    /// Reads the object from the next item, a map. `member`: the map is a union member
    /// whose `$type` (the union's tag) was read already, and is passed over.
    ///
    /// # Errors
    /// If the item is not a map, a field is missing or does not fit its type.
    fn read_cbor(r: &mut CborReader<'_>, member: bool) -> Result<Self, ReadError>;
}

/// Reads a generated object's map key by key (see [`CborObject`]).
pub struct CborObj<'b, 'de> {
    m: MapReader<'b, 'de>,
    /// A record's NSID (its own `$type`), empty for other objects.
    record_type: &'static str,
    /// A union member: its `$type` is the union's tag, not a field.
    member: bool,
    had_type: bool,
    extra: BTreeMap<String, Value>,
}

impl<'b, 'de> CborObj<'b, 'de> {
    /// Starts reading the map at `r`: `record_type` is a record's NSID (empty for other
    /// objects), `member` as for [`CborObject::read_cbor`].
    ///
    /// # Errors
    /// If the next item is not a map.
    #[inline]
    pub fn new(
        r: &'b mut CborReader<'de>,
        record_type: &'static str,
        member: bool,
    ) -> Result<Self, ReadError> {
        Ok(Self {
            m: r.map()?,
            record_type,
            member,
            had_type: false,
            extra: BTreeMap::new(),
        })
    }

    /// The next key's bytes, or `None` after the last entry.
    ///
    /// # Errors
    /// If the key is not a string or is out of order.
    #[inline(always)]
    pub fn key(&mut self) -> Result<Option<&'de [u8]>, ReadError> {
        self.m.key()
    }

    /// Reads a required field's value into its slot.
    ///
    /// # Errors
    /// If the value does not fit `T`.
    #[inline(always)]
    pub fn req<T: FromCbor<'de>>(&mut self, slot: &mut Option<T>) -> Result<(), ReadError> {
        *slot = Some(self.m.value()?);
        Ok(())
    }

    /// Reads an optional field's value (null reads as `Some(None)`) into its slot.
    ///
    /// # Errors
    /// If the value does not fit `T`.
    #[inline(always)]
    pub fn opt<T: FromCbor<'de>>(&mut self, slot: &mut Option<Option<T>>) -> Result<(), ReadError> {
        *slot = Some(self.m.value()?);
        Ok(())
    }

    /// A key that is not a field: `$type` (a record's own is noted, a union member's
    /// passed over, any other kept), else an unknown field kept in `extra`.
    ///
    /// # Errors
    /// If the entry breaks a data model rule (`$link` or `$bytes` beside other keys, a
    /// `$type` that is not a non-empty string).
    #[inline(never)]
    pub fn other(&mut self, k: &'de [u8]) -> Result<(), ReadError> {
        if k == b"$type" {
            let TypeTag(t) = self.m.value()?;
            if self.member {
                return Ok(());
            }
            if !self.record_type.is_empty() && key_is(t, self.record_type.as_bytes()) {
                self.had_type = true;
            } else {
                let t = self.m.reader().check_utf8(t)?;
                self.extra.insert("$type".to_owned(), Value::from(t));
            }
            return Ok(());
        }
        let key = self.m.reader().check_utf8(k)?;
        if key == "$link" || key == "$bytes" {
            return Err(ReadError::custom(format_args!(
                "a {key} object must have no other keys"
            )));
        }
        let v: Value = self.m.value()?;
        // Keys come in strict order: none is seen twice.
        self.extra.insert(key.to_owned(), v);
        Ok(())
    }

    /// A required field's value, or the error naming it.
    ///
    /// # Errors
    /// If the field was missing.
    #[inline]
    pub fn need<T>(&self, v: Option<T>, name: &'static str) -> Result<T, ReadError> {
        match v {
            Some(v) => Ok(v),
            None => Err(missing(name)),
        }
    }

    /// Whether the record's own `$type` was read.
    #[inline]
    pub fn had_type(&self) -> bool {
        self.had_type
    }

    /// The unknown fields, kept as found.
    #[inline]
    pub fn rest(self) -> BTreeMap<String, Value> {
        self.extra
    }
}

/// Whether key bytes `k` are `name`: for short strings, eight bytes at a time without
/// a call to `memcmp`. The generated readers match keys with it.
#[inline(always)]
#[must_use]
pub fn key_is(k: &[u8], name: &[u8]) -> bool {
    if k.len() != name.len() {
        return false;
    }
    let (mut a8, mut b8) = (k.chunks_exact(8), name.chunks_exact(8));
    for (x, y) in (&mut a8).zip(&mut b8) {
        if x != y {
            return false;
        }
    }
    a8.remainder()
        .iter()
        .zip(b8.remainder())
        .all(|(x, y)| x == y)
}

#[cold]
fn missing(name: &'static str) -> ReadError {
    serde::de::Error::missing_field(name)
}

/// A `$type` value: a non-empty text string, as bytes.
struct TypeTag<'de>(&'de [u8]);

impl<'de> FromCbor<'de> for TypeTag<'de> {
    #[inline]
    fn from_cbor(r: &mut CborReader<'de>) -> Result<Self, ReadError> {
        match r.text_bytes() {
            Ok(b) if !b.is_empty() => Ok(Self(b)),
            _ => Err(ReadError::custom("$type must be a non-empty string")),
        }
    }
}

/// Reads a union member (an object whose `$type`, the union's tag, was found by
/// [`CborReader::map_type`]).
///
/// # Errors
/// As [`CborObject::read_cbor`].
#[inline]
pub fn member<T: CborObject>(r: &mut CborReader<'_>) -> Result<Box<T>, ReadError> {
    T::read_cbor(r, true).map(Box::new)
}

/// The error for a closed union's value whose `$type` (`tag`, `None` without one) it
/// does not list; the value is checked first.
///
/// # Errors
/// Always: the value's own error if it is not strict DAG-CBOR, else the union's.
pub fn not_member(r: &mut CborReader<'_>, tag: Option<&str>) -> ReadError {
    if let Err(e) = r.skip() {
        return e;
    }
    super::unknown_type(tag)
}
