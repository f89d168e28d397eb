//! The small runtime the generated code calls: `$type`-tagged union serde, bytes fields,
//! the [`Collection`] trait of records. Also used by code generated from your own lexicons.

use std::fmt;

mod cbor;
pub use cbor::{CborObj, CborObject, key_is, member, not_member};

use atmo_data::Value;
use atmo_syntax::{Nsid, NsidError};
use std::collections::BTreeMap;

use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Writes a generated object: its fields, then the unknown fields it kept.
///
/// Generated `Serialize` impls call this instead of a derive: the code per struct is a
/// list of calls, which keeps atmo-api quick to compile.
pub struct MapSer<M> {
    map: M,
    /// `$type` was written by [`Self::record_type`].
    typed: bool,
}

impl<M: SerializeMap> MapSer<M> {
    /// Starts a map on `s`.
    ///
    /// # Errors
    /// Whatever the serializer reports.
    pub fn new<S: Serializer<SerializeMap = M, Error = M::Error>>(s: S) -> Result<Self, M::Error> {
        Ok(Self {
            map: s.serialize_map(None)?,
            typed: false,
        })
    }

    /// Writes a record's `$type` (`nsid`) if it was read with one (`has`).
    ///
    /// # Errors
    /// Whatever the serializer reports.
    pub fn record_type(&mut self, has: bool, nsid: &'static str) -> Result<(), M::Error> {
        self.typed = has;
        if has {
            self.map.serialize_entry("$type", nsid)
        } else {
            Ok(())
        }
    }

    /// Writes a field (a required one: `None` of a nullable field is written as null).
    ///
    /// # Errors
    /// Whatever the serializer reports.
    pub fn req<T: Serialize + ?Sized>(&mut self, key: &str, v: &T) -> Result<(), M::Error> {
        self.map.serialize_entry(key, v)
    }

    /// Writes an optional field, skipping `None`.
    ///
    /// # Errors
    /// Whatever the serializer reports.
    pub fn opt<T: Serialize>(&mut self, key: &str, v: &Option<T>) -> Result<(), M::Error> {
        match v {
            Some(v) => self.map.serialize_entry(key, v),
            None => Ok(()),
        }
    }

    /// Writes the unknown fields and ends the map.
    ///
    /// # Errors
    /// Whatever the serializer reports.
    pub fn end(mut self, extra: &BTreeMap<String, Value>) -> Result<M::Ok, M::Error> {
        for (k, v) in extra {
            // A `$type` put in `extra` by hand beside the one written above is left out.
            if !(self.typed && k == "$type") {
                self.map.serialize_entry(k, v)?;
            }
        }
        self.map.end()
    }
}

/// A generated object, read in one pass over its map.
///
/// The generated `Deserialize` impl calls [`object`], which hands a [`MapDe`] to
/// [`Object::read`]: a loop that matches each key to a field index of [`Object::FIELDS`]
/// and reads its value straight from the input; unknown keys go to `extra`. What the
/// code generator writes for an object with a required and an optional field:
///
/// ```
/// # fn main() -> Result<(), atmo_data::Error> {
/// use std::collections::BTreeMap;
/// use atmo_api::rt;
///
/// #[derive(Debug, PartialEq)]
/// struct Slice {
///     end: i64,
///     start: Option<i64>,
///     extra: BTreeMap<String, atmo_data::Value>,
/// }
/// impl<'de> serde::Deserialize<'de> for Slice {
///     fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
///         rt::object(d)
///     }
/// }
/// impl rt::Object for Slice {
///     const FIELDS: &'static [&'static str] = &["end", "start"];
///     fn read<'de, A: serde::de::MapAccess<'de>>(mut m: rt::MapDe<'de, A>) -> Result<Self, A::Error> {
///         let mut f = (None, None);
///         while let Some(i) = m.field()? {
///             match i {
///                 0 => m.req(&mut f.0)?,
///                 1 => m.opt(&mut f.1)?,
///                 _ => {}
///             }
///         }
///         Ok(Self { end: m.need(f.0, 0)?, start: f.1.flatten(), extra: m.rest() })
///     }
/// }
/// let s: Slice = atmo_data::from_json(r#"{"start": 1, "end": 5, "note": "kept"}"#)?;
/// assert_eq!((s.end, s.start), (5, Some(1)));
/// assert!(s.extra.contains_key("note"));
/// let e = atmo_data::from_json::<Slice>(r#"{"start": 1}"#).unwrap_err();
/// assert!(e.to_string().contains("missing field `end`"));
/// # Ok(()) }
/// ```
pub trait Object: Sized {
    /// The lexicon's field names, in DAG-CBOR key order (shorter first, then bytewise);
    /// [`MapDe::field`] gives an index into this list.
    const FIELDS: &'static [&'static str];

    /// A record's NSID: a `$type` equal to it is not kept in `extra` but noted
    /// ([`MapDe::had_type`]). Empty (the default) for other objects.
    const TYPE: &'static str = "";

    /// Reads the object from its map.
    ///
    /// # Errors
    /// If a field is missing, repeated or does not fit its type.
    fn read<'de, A: MapAccess<'de>>(m: MapDe<'de, A>) -> Result<Self, A::Error>;
}

/// Deserializes a generated object (see [`Object`]).
///
/// # Errors
/// If the input is not a map, or as [`Object::read`].
pub fn object<'de, D: Deserializer<'de>, T: Object>(d: D) -> Result<T, D::Error> {
    d.deserialize_map(ObjectVisitor(PhantomData))
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Object> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::read(MapDe {
            map,
            fields: T::FIELDS,
            record_type: T::TYPE,
            had_type: false,
            cur: "",
            hint: 0,
            extra: BTreeMap::new(),
            _de: PhantomData,
        })
    }
}

/// Reads a generated object's map entry by entry (see [`Object`]).
pub struct MapDe<'de, A> {
    map: A,
    fields: &'static [&'static str],
    /// [`Object::TYPE`].
    record_type: &'static str,
    /// A `$type` equal to `record_type` was read.
    had_type: bool,
    /// The field whose value is read next (for messages).
    cur: &'static str,
    /// Where the search for the next key starts.
    hint: usize,
    extra: BTreeMap<String, Value>,
    _de: PhantomData<&'de ()>,
}

enum Key {
    Field(usize),
    /// `$type` (no allocation).
    Type,
    Other(String),
}

/// Finds a key among the fields, starting after the field found last (`hint`): keys
/// from DAG-CBOR come in the order of [`Object::FIELDS`], so the search usually stops at
/// the first comparison.
struct KeySeed {
    fields: &'static [&'static str],
    hint: usize,
}

/// Equality for short strings, without a call to `memcmp`.
#[inline]
fn same(a: &str, b: &str) -> bool {
    key_is(a.as_bytes(), b.as_bytes())
}

/// Text as bytes, from a deserializer that gives them ([`atmo_data::TEXT_BYTES`]), else
/// as a string.
#[inline]
fn text_bytes<'de, D: Deserializer<'de>, V: Visitor<'de>>(
    d: D,
    v: V,
) -> Result<V::Value, D::Error> {
    d.deserialize_newtype_struct(atmo_data::TEXT_BYTES, v)
}

/// Bytes from [`atmo_data::TEXT_BYTES`] are UTF-8: the deserializer checked them.
#[cold]
fn text_string<E: de::Error>(b: &[u8]) -> Result<String, E> {
    String::from_utf8(b.to_vec()).map_err(E::custom)
}

impl KeySeed {
    #[inline]
    fn find(&self, k: &[u8]) -> Option<usize> {
        let (before, after) = self.fields.split_at(self.hint.min(self.fields.len()));
        if let Some(i) = after.iter().position(|f| key_is(f.as_bytes(), k)) {
            return Some(self.hint + i);
        }
        before.iter().position(|f| key_is(f.as_bytes(), k))
    }
}

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;
    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        text_bytes(d, KeyBytes(self))
    }
}

/// A key as the bytes of a text item ([`atmo_data::TEXT_BYTES`]), else as a string
/// ([`KeySeed`]'s visitor, which refuses anything else).
struct KeyBytes(KeySeed);

impl<'de> Visitor<'de> for KeyBytes {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }
    #[inline]
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self.0)
    }
    #[inline]
    fn visit_borrowed_bytes<E: de::Error>(self, k: &'de [u8]) -> Result<Key, E> {
        Ok(match self.0.find(k) {
            Some(i) => Key::Field(i),
            None if key_is(k, b"$type") => Key::Type,
            None => Key::Other(text_string(k)?),
        })
    }
    // Deserializers that forward a newtype struct to `deserialize_any`.
    #[inline]
    fn visit_str<E: de::Error>(self, k: &str) -> Result<Key, E> {
        self.0.visit_str(k)
    }
    fn visit_string<E: de::Error>(self, k: String) -> Result<Key, E> {
        self.0.visit_string(k)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }
    #[inline]
    fn visit_str<E: de::Error>(self, k: &str) -> Result<Key, E> {
        Ok(match self.find(k.as_bytes()) {
            Some(i) => Key::Field(i),
            None if same(k, "$type") => Key::Type,
            None => Key::Other(k.to_owned()),
        })
    }
    fn visit_string<E: de::Error>(self, k: String) -> Result<Key, E> {
        Ok(match self.find(k.as_bytes()) {
            Some(i) => Key::Field(i),
            None if same(&k, "$type") => Key::Type,
            None => Key::Other(k),
        })
    }
}

impl<'de, A: MapAccess<'de>> MapDe<'de, A> {
    /// The index in [`Object::FIELDS`] of the next known key (its value is read next by
    /// [`Self::req`] or [`Self::opt`]), or `None` at the end of the map. Unknown keys on
    /// the way are kept with their values for [`Self::rest`].
    ///
    /// # Errors
    /// If the input is not a map of strings, or an unknown entry breaks a data model rule
    /// (a repeated key, `$link` or `$bytes` beside other keys, an empty `$type`).
    #[inline]
    pub fn field(&mut self) -> Result<Option<usize>, A::Error> {
        loop {
            let seed = KeySeed {
                fields: self.fields,
                hint: self.hint,
            };
            match self.map.next_key_seed(seed)? {
                None => return Ok(None),
                Some(Key::Field(i)) => {
                    self.cur = self.fields.get(i).copied().unwrap_or_default();
                    self.hint = i + 1;
                    return Ok(Some(i));
                }
                Some(Key::Type) => self.dollar_type()?,
                Some(Key::Other(k)) => self.other(k)?,
            }
        }
    }

    /// A `$type`: a record's own is noted, any other kept in `extra`.
    #[inline(never)]
    fn dollar_type(&mut self) -> Result<(), A::Error> {
        let t = self.map.next_value_seed(TypeValue(self.record_type))?;
        if self.had_type || self.extra.contains_key("$type") {
            return Err(de::Error::custom("duplicate key \"$type\""));
        }
        match t {
            None => self.had_type = true,
            Some(t) => drop(
                self.extra
                    .insert("$type".to_owned(), Value::String(t.into())),
            ),
        }
        Ok(())
    }

    #[inline(never)]
    fn other(&mut self, k: String) -> Result<(), A::Error> {
        if k == "$link" || k == "$bytes" {
            return Err(de::Error::custom(format_args!(
                "a {k} object must have no other keys"
            )));
        }
        let v: Value = self.map.next_value()?;
        if k == "$type" && v.as_str().is_none_or(str::is_empty) {
            return Err(de::Error::custom("$type must be a non-empty string"));
        }
        match self.extra.entry(k) {
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(v);
                Ok(())
            }
            std::collections::btree_map::Entry::Occupied(e) => Err(de::Error::custom(
                format_args!("duplicate key {:?}", e.key()),
            )),
        }
    }

    /// Reads the value of a required field into its slot.
    ///
    /// # Errors
    /// If the field was already read or its value does not fit `T` (the message names
    /// the field).
    #[inline]
    pub fn req<T: Deserialize<'de>>(&mut self, slot: &mut Option<T>) -> Result<(), A::Error> {
        if slot.is_some() {
            return Err(self.duplicate());
        }
        match self.map.next_value() {
            Ok(v) => {
                *slot = Some(v);
                Ok(())
            }
            Err(e) => Err(self.in_field(e)),
        }
    }

    /// Reads the value of an optional field (null reads as `Some(None)`) into its slot.
    ///
    /// # Errors
    /// As for [`Self::req`].
    #[inline]
    pub fn opt<T: Deserialize<'de>>(
        &mut self,
        slot: &mut Option<Option<T>>,
    ) -> Result<(), A::Error> {
        if slot.is_some() {
            return Err(self.duplicate());
        }
        match self.map.next_value() {
            Ok(v) => {
                *slot = Some(v);
                Ok(())
            }
            Err(e) => Err(self.in_field(e)),
        }
    }

    #[cold]
    fn duplicate(&self) -> A::Error {
        de::Error::custom(format_args!("duplicate field `{}`", self.cur))
    }

    #[cold]
    fn in_field(&self, e: A::Error) -> A::Error {
        de::Error::custom(format_args!("{}: {e}", self.cur))
    }

    /// A required field's value, or the error naming it (`i` indexes [`Object::FIELDS`]).
    ///
    /// # Errors
    /// If the field was missing.
    #[inline]
    pub fn need<T>(&self, v: Option<T>, i: usize) -> Result<T, A::Error> {
        match v {
            Some(v) => Ok(v),
            None => Err(de::Error::custom(format_args!(
                "missing field `{}`",
                self.fields.get(i).copied().unwrap_or_default()
            ))),
        }
    }

    /// Whether the object's own `$type` ([`Object::TYPE`]) was read.
    #[inline]
    pub fn had_type(&self) -> bool {
        self.had_type
    }

    /// The unknown fields, kept as found.
    pub fn rest(self) -> BTreeMap<String, Value> {
        self.extra
    }
}

/// The value of a `$type` key: `None` if it is the record's own type (the seed's
/// `&str`, empty for objects that are not records), else the string. Anything but a
/// non-empty string is an error.
struct TypeValue(&'static str);

impl TypeValue {
    /// `None` for the record's own type, else the type.
    #[inline]
    fn own<E: de::Error>(self, t: &str) -> Result<Option<String>, E> {
        if t.is_empty() {
            Err(TagSeed::bad())
        } else if !self.0.is_empty() && same(t, self.0) {
            Ok(None)
        } else {
            Ok(Some(t.to_owned()))
        }
    }
}

impl<'de> DeserializeSeed<'de> for TypeValue {
    type Value = Option<String>;
    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        text_bytes(d, self)
    }
}

/// Reads the value as the bytes of a text item ([`atmo_data::TEXT_BYTES`]), else as a
/// union's tag ([`TagSeed`], which refuses all but a non-empty string).
impl<'de> Visitor<'de> for TypeValue {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-empty string")
    }
    #[inline]
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        let t = TagSeed.deserialize(d)?;
        self.own(&t)
    }
    #[inline]
    fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<Option<String>, E> {
        if v.is_empty() {
            Err(TagSeed::bad())
        } else if !self.0.is_empty() && key_is(v, self.0.as_bytes()) {
            Ok(None)
        } else {
            text_string(v).map(Some)
        }
    }
    // Deserializers that forward a newtype struct to `deserialize_any`.
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<String>, E> {
        self.own(v)
    }
}

/// A union tagged by `$type`, read in one pass (see [`union`]). What the code generator
/// writes for an open union:
///
/// ```
/// # fn main() -> Result<(), atmo_data::Error> {
/// use atmo_api::rt;
/// # #[derive(Debug)] struct Mention { did: String }
/// # impl<'de> serde::Deserialize<'de> for Mention {
/// #     fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> { rt::object(d) }
/// # }
/// # impl rt::Object for Mention {
/// #     const FIELDS: &'static [&'static str] = &["did"];
/// #     fn read<'de, A: serde::de::MapAccess<'de>>(mut m: rt::MapDe<'de, A>) -> Result<Self, A::Error> {
/// #         let mut f = (None,);
/// #         while m.field()?.is_some() { m.req(&mut f.0)?; }
/// #         Ok(Self { did: m.need(f.0, 0)? })
/// #     }
/// # }
/// #[derive(Debug)]
/// enum Feature {
///     Mention(Box<Mention>),
///     Unknown(atmo_data::Value),
/// }
/// impl<'de> serde::Deserialize<'de> for Feature {
///     fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
///         rt::union(d)
///     }
/// }
/// impl rt::Union for Feature {
///     fn member<'de, A: serde::de::MapAccess<'de>>(
///         tag: &str,
///         m: rt::Member<'_, 'de, A>,
///     ) -> Result<Self, A::Error> {
///         Ok(match tag {
///             "app.bsky.richtext.facet#mention" => Self::Mention(m.read()?),
///             _ => Self::Unknown(m.unknown()?),
///         })
///     }
///     fn untagged(v: atmo_data::Value) -> Option<Self> {
///         Some(Self::Unknown(v))
///     }
/// }
/// // In DAG-CBOR `did` sorts before `$type`: it is kept aside, then read as the member's.
/// let v = atmo_data::json::from_str(r#"{"did": "did:plc:x", "$type": "app.bsky.richtext.facet#mention"}"#)?;
/// let f: Feature = atmo_data::from_cbor(&atmo_data::cbor::encode(&v))?;
/// assert!(matches!(f, Feature::Mention(m) if m.did == "did:plc:x"));
/// # Ok(()) }
/// ```
pub trait Union: Sized {
    /// The member for `tag`, read from `m` (the map's entries but `$type`).
    ///
    /// # Errors
    /// If the member does not fit its type, or a closed union does not list `tag`.
    fn member<'de, A: MapAccess<'de>>(tag: &str, m: Member<'_, 'de, A>) -> Result<Self, A::Error>;

    /// A value that is not a map, or a map without `$type`: an open union keeps it as
    /// its `Unknown` variant; a closed one refuses it (`None`, the default).
    fn untagged(v: Value) -> Option<Self> {
        let _ = v;
        None
    }
}

/// Deserializes a union: reads the map's entries up to `$type` (which DAG-CBOR's key
/// order need not put first), keeping those before it, then hands the member's type a
/// map of the kept entries followed by the rest of the input ([`Member`]), so the
/// member is read in the same pass.
///
/// # Errors
/// As [`Union::member`]; also if `$type` is not a non-empty string.
pub fn union<'de, D: Deserializer<'de>, U: Union>(d: D) -> Result<U, D::Error> {
    d.deserialize_any(UnionVisitor(PhantomData))
}

/// The rest of a union's map, after its `$type`: see [`union`].
pub struct Member<'t, 'de, A> {
    before: Vec<(String, Value)>,
    tag: &'t str,
    map: A,
    _de: PhantomData<&'de ()>,
}

impl<'de, A: MapAccess<'de>> Member<'_, 'de, A> {
    /// Reads the member as a `T` (the map without its `$type`).
    ///
    /// # Errors
    /// If it does not fit `T`.
    #[inline]
    pub fn read<T: Deserialize<'de>>(self) -> Result<Box<T>, A::Error> {
        T::deserialize(ChainDe {
            before: self.before.into_iter(),
            value: None,
            map: self.map,
            _de: PhantomData,
        })
        .map(Box::new)
    }

    /// The whole value, `$type` included, as found (an open union's `Unknown`).
    ///
    /// # Errors
    /// If the rest of the map is not data model values.
    pub fn unknown(mut self) -> Result<Value, A::Error> {
        let mut entries = self.before;
        entries.push(("$type".to_owned(), Value::from(self.tag)));
        while let Some(k) = self.map.next_key::<String>()? {
            let v: Value = self.map.next_value()?;
            entries.push((k, v));
        }
        Value::from_object_entries(entries).map_err(de::Error::custom)
    }

    /// The error for a `$type` a closed union does not list.
    pub fn not_member(self) -> A::Error {
        unknown_type(Some(self.tag))
    }
}

struct UnionVisitor<U>(PhantomData<U>);

impl<U: Union> UnionVisitor<U> {
    fn untagged<E: de::Error>(v: Value) -> Result<U, E> {
        U::untagged(v).ok_or_else(|| unknown_type(None))
    }
}

impl<'de, U: Union> Visitor<'de> for UnionVisitor<U> {
    type Value = U;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a union member")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<U, A::Error> {
        let mut before = Vec::new();
        while let Some(k) = map.next_key_seed(TypeKey)? {
            let Some(k) = k else {
                let tag = map.next_value_seed(TagSeed)?;
                return U::member(
                    &tag,
                    Member {
                        before,
                        tag: &tag,
                        map,
                        _de: PhantomData,
                    },
                );
            };
            let v: Value = map.next_value()?;
            before.push((k, v));
        }
        Self::untagged(Value::from_object_entries(before).map_err(de::Error::custom)?)
    }
    fn visit_unit<E: de::Error>(self) -> Result<U, E> {
        Self::untagged(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<U, E> {
        Self::untagged(Value::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<U, E> {
        Self::untagged(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<U, E> {
        Self::untagged(Value::Integer(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<U, E> {
        let v = i64::try_from(v)
            .map_err(|_| E::custom(format_args!("integer {v} is out of the i64 range")))?;
        Self::untagged(Value::Integer(v))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<U, E> {
        Err(E::custom("floats are not allowed in atproto data"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<U, E> {
        Self::untagged(Value::from(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<U, E> {
        Self::untagged(Value::Bytes(v.to_vec()))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<U, A::Error> {
        let mut a = Vec::new();
        while let Some(v) = seq.next_element::<Value>()? {
            a.push(v);
        }
        Self::untagged(Value::Array(a))
    }
}

/// A union's `$type` value: a non-empty string, borrowed from the input when it can be
/// (no allocation, no `Value`).
struct TagSeed;

impl<'de> DeserializeSeed<'de> for TagSeed {
    type Value = std::borrow::Cow<'de, str>;
    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl TagSeed {
    #[cold]
    fn bad<E: de::Error>() -> E {
        E::custom("$type must be a non-empty string")
    }

    fn non_empty<E: de::Error>(
        t: std::borrow::Cow<'_, str>,
    ) -> Result<std::borrow::Cow<'_, str>, E> {
        if t.is_empty() {
            Err(Self::bad())
        } else {
            Ok(t)
        }
    }
}

impl<'de> Visitor<'de> for TagSeed {
    type Value = std::borrow::Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-empty string")
    }
    #[inline]
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Self::non_empty(std::borrow::Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Self::non_empty(std::borrow::Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Self::non_empty(std::borrow::Cow::Owned(v))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Err(Self::bad())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Err(Self::bad())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Err(Self::bad())
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
        Err(Self::bad())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Err(Self::bad())
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Err(Self::bad())
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(Self::bad())
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(Self::bad())
    }
}

/// A union's key: `None` for `$type` (no allocation), else the key.
struct TypeKey;

impl<'de> DeserializeSeed<'de> for TypeKey {
    type Value = Option<String>;
    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for TypeKey {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }
    #[inline]
    fn visit_str<E: de::Error>(self, k: &str) -> Result<Option<String>, E> {
        Ok((!same(k, "$type")).then(|| k.to_owned()))
    }
    fn visit_string<E: de::Error>(self, k: String) -> Result<Option<String>, E> {
        Ok((!same(&k, "$type")).then_some(k))
    }
}

/// The entries kept before `$type`, then the rest of the map: a deserializer for a
/// union member.
struct ChainDe<'de, A> {
    before: std::vec::IntoIter<(String, Value)>,
    value: Option<Value>,
    map: A,
    _de: PhantomData<&'de ()>,
}

impl<'de, A: MapAccess<'de>> Deserializer<'de> for ChainDe<'de, A> {
    type Error = A::Error;
    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, A::Error> {
        v.visit_map(self)
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for ChainDe<'de, A> {
    type Error = A::Error;
    #[inline]
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        match self.before.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(de::value::StringDeserializer::<A::Error>::new(k))
                    .map(Some)
            }
            None => self.map.next_key_seed(seed),
        }
    }
    #[inline]
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        match self.value.take() {
            Some(v) => seed.deserialize(v).map_err(de::Error::custom),
            None => self.map.next_value_seed(seed),
        }
    }
}

/// A record type: the generated `Record` of a record lexicon.
///
/// ```
/// # #[cfg(feature = "app_bsky")] {
/// use atmo_api::{Collection, rt::RecordKeyKind};
/// use atmo_api::app_bsky::{actor::profile, feed::post};
///
/// assert_eq!(post::Record::NSID, "app.bsky.feed.post");
/// assert_eq!(post::Record::nsid().map(|n| n.name().to_owned()), Ok("post".to_owned()));
/// assert_eq!(post::Record::KEY, RecordKeyKind::Tid);
/// assert_eq!(profile::Record::KEY.fixed(), Some("self"));
/// # }
/// ```
pub trait Collection: Serialize + DeserializeOwned {
    /// The collection NSID, which is also the record's `$type`.
    const NSID: &'static str;
    /// The kind of record key the lexicon asks for.
    const KEY: RecordKeyKind;

    /// The collection NSID, typed.
    ///
    /// # Errors
    ///
    /// Never for a generated record (its NSID was checked when it was generated); for a
    /// hand-written impl, if `NSID` is not a valid NSID.
    fn nsid() -> Result<Nsid, NsidError> {
        Nsid::new(Self::NSID)
    }
}

/// The record key a record lexicon asks for (its `key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordKeyKind {
    /// `tid`: a TID, which the PDS picks on create.
    Tid,
    /// `nsid`: an NSID.
    Nsid,
    /// `any`: any valid record key.
    Any,
    /// `literal:<key>`: exactly that key (`self` for profiles).
    Literal(&'static str),
}

impl RecordKeyKind {
    /// The one key a `literal:` kind allows.
    pub fn fixed(self) -> Option<&'static str> {
        match self {
            Self::Literal(k) => Some(k),
            _ => None,
        }
    }
}

/// A record as a data model value with its `$type` set (a record read from the network
/// keeps the `$type` it had), ready for `createRecord` or for DAG-CBOR.
///
/// # Errors
/// [`atmo_data::Error::Serde`] if the record does not fit the data model.
pub fn record_value<R: Collection>(record: &R) -> Result<Value, atmo_data::Error> {
    let mut v = atmo_data::to_value(record)?;
    if let Value::Map(m) = &mut v {
        if m.get("$type").is_none() {
            m.insert("$type", Value::from(R::NSID));
        }
    }
    Ok(v)
}

/// A `bytes` field: a CBOR byte string, or `{"$bytes": "<base64>"}` in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Bytes(pub Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        atmo_data::bytes::serialize(&self.0, s)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        atmo_data::bytes::deserialize(d).map(Self)
    }
}

impl<'de> atmo_data::FromCbor<'de> for Bytes {
    #[inline]
    fn from_cbor(r: &mut atmo_data::CborReader<'de>) -> Result<Self, atmo_data::ReadError> {
        // Anything but a byte string as the serde impl reads it (and its error).
        r.serde()
    }
}

#[derive(Serialize)]
struct Tagged<'a, T> {
    #[serde(rename = "$type")]
    tag: &'a str,
    #[serde(flatten)]
    inner: &'a T,
}

/// Serializes a union member as its object with `$type` set to `tag`.
///
/// # Errors
/// Whatever the serializer reports.
pub fn serialize_tagged<S: Serializer, T: Serialize>(
    s: S,
    tag: &str,
    inner: &T,
) -> Result<S::Ok, S::Error> {
    Tagged { tag, inner }.serialize(s)
}

/// Reads a union value: its `$type` (removed from the map) and the rest of the value.
/// A value that is not a map, or has no string `$type`, comes back unchanged with `None`.
///
/// # Errors
/// If the input is not a data model value.
pub fn deserialize_tagged<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<(Option<String>, Value), D::Error> {
    let v = Value::deserialize(d)?;
    let tag = match &v {
        Value::Map(m) => match m.get("$type") {
            Some(Value::String(s)) => Some(s.to_string()),
            _ => None,
        },
        _ => None,
    };
    Ok((tag, v))
}

/// Converts a union member's value into its type, dropping `$type` (the enum variant
/// carries it).
///
/// # Errors
/// If the value does not fit the type.
pub fn from_value<T: DeserializeOwned, E: serde::de::Error>(v: Value) -> Result<T, E> {
    let v = match v {
        Value::Map(mut m) => {
            m.remove("$type");
            Value::Map(m)
        }
        other => other,
    };
    atmo_data::from_value(v).map_err(E::custom)
}

/// The error for a `$type` a closed union does not list.
pub fn unknown_type<E: serde::de::Error>(tag: Option<&str>) -> E {
    match tag {
        Some(t) => E::custom(format_args!(
            "`$type` {t:?} is not a member of this closed union"
        )),
        None => E::custom("a closed union member has no `$type`"),
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes", self.0.len())
    }
}

/// The `with_*` setters of a generated struct's optional fields, one line per field
/// (`with_name field Type,`) in up to three groups, in this order: `some` sets `Some(v.into())`, `exact` sets
/// `Some(v)` (string formats, so `"...".parse()?` infers them), `set` sets `v.into()` (a
/// list parameter). Generic or `#[inline]`, so nothing is compiled until a setter is used.
#[doc(hidden)]
#[macro_export]
macro_rules! __atmo_api_setters {
    ($ty:ident;
        $(some { $($s_name:ident $s_field:ident $s_t:ty,)* })?
        $(exact { $($e_name:ident $e_field:ident $e_t:ty,)* })?
        $(set { $($v_name:ident $v_field:ident $v_t:ty,)* })?
    ) => {
        impl $ty {
            $($(
                #[must_use]
                #[inline]
                pub fn $s_name(mut self, v: impl Into<$s_t>) -> Self {
                    self.$s_field = Some(v.into());
                    self
                }
            )*)?
            $($(
                #[must_use]
                #[inline]
                pub fn $e_name(mut self, v: $e_t) -> Self {
                    self.$e_field = Some(v);
                    self
                }
            )*)?
            $($(
                #[must_use]
                #[inline]
                pub fn $v_name(mut self, v: impl Into<$v_t>) -> Self {
                    self.$v_field = v.into();
                    self
                }
            )*)?
        }
    };
}

#[doc(hidden)]
pub use __atmo_api_setters as setters;

/// `From` each member type of a generated union (`Variant path::Type,` per line), boxing
/// it into its variant.
#[doc(hidden)]
#[macro_export]
macro_rules! __atmo_api_union_from {
    ($ty:ident; $($variant:ident $t:ty,)*) => {
        $(impl From<$t> for $ty {
            #[inline]
            fn from(v: $t) -> Self {
                Self::$variant(Box::new(v))
            }
        })*
    };
}

#[doc(hidden)]
pub use __atmo_api_union_from as union_from;
