//! The small runtime the generated code calls: `$type`-tagged union serde, bytes fields,
//! the [`Collection`] trait of records. Also used by code generated from your own lexicons.

use std::fmt;

use atmo_data::Value;
use atmo_syntax::{Nsid, NsidError};
use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Writes a generated object: its fields, then the unknown fields it kept.
///
/// Generated `Serialize` impls call this instead of a derive: the code per struct is a
/// list of calls, which keeps atmo-api quick to compile.
pub struct MapSer<M> {
    map: M,
}

impl<M: SerializeMap> MapSer<M> {
    /// Starts a map on `s`.
    ///
    /// # Errors
    /// Whatever the serializer reports.
    pub fn new<S: Serializer<SerializeMap = M, Error = M::Error>>(s: S) -> Result<Self, M::Error> {
        Ok(Self {
            map: s.serialize_map(None)?,
        })
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
            self.map.serialize_entry(k, v)?;
        }
        self.map.end()
    }
}

/// Reads a generated object: takes its fields out of the map, and keeps the rest.
pub struct MapDe {
    map: atmo_data::Map,
}

impl MapDe {
    /// Reads a map.
    ///
    /// # Errors
    /// If the input is not a data model map.
    pub fn new<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Map(map) => Ok(Self { map }),
            other => Err(serde::de::Error::custom(format_args!(
                "expected an object, found {}",
                other.kind()
            ))),
        }
    }

    /// Takes a required field.
    ///
    /// # Errors
    /// If the field is missing or does not fit `T`.
    pub fn req<T: DeserializeOwned, E: serde::de::Error>(&mut self, key: &str) -> Result<T, E> {
        match self.map.remove(key) {
            Some(v) => field(key, v),
            None => Err(E::custom(format_args!("missing field `{key}`"))),
        }
    }

    /// Takes an optional field (missing or null: `None`).
    ///
    /// # Errors
    /// If the field does not fit `T`.
    pub fn opt<T: DeserializeOwned, E: serde::de::Error>(
        &mut self,
        key: &str,
    ) -> Result<Option<T>, E> {
        match self.map.remove(key) {
            Some(v) => field(key, v),
            None => Ok(None),
        }
    }

    /// Takes an optional and nullable field: `None` if absent, `Some(None)` if null.
    ///
    /// # Errors
    /// If the field is present, not null, and not a `T`.
    pub fn opt_nullable<T: DeserializeOwned, E: serde::de::Error>(
        &mut self,
        key: &str,
    ) -> Result<Option<Option<T>>, E> {
        match self.map.remove(key) {
            Some(Value::Null) => Ok(Some(None)),
            Some(v) => field(key, v).map(|t| Some(Some(t))),
            None => Ok(None),
        }
    }

    /// The fields not taken, kept as found.
    pub fn rest(self) -> BTreeMap<String, Value> {
        self.map.into_entries().into_iter().collect()
    }
}

fn field<T: DeserializeOwned, E: serde::de::Error>(key: &str, v: Value) -> Result<T, E> {
    atmo_data::from_value(v).map_err(|e| E::custom(format_args!("{key}: {e}")))
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
