//! A borrowed view of a decoded value.

use crate::value::{Map, key_cmp};
use crate::{Cid, Value};

/// A value decoded without copying: strings, byte strings and CIDs point into the input.
///
/// Produced by [`cbor::decode_ref`](crate::cbor::decode_ref) under the same strict rules
/// as the owned decoder. Arrays and maps are vectors of borrowed values; map entries are
/// in DAG-CBOR key order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ValueRef<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A signed 64-bit integer.
    Integer(i64),
    /// A UTF-8 string.
    String(&'a str),
    /// A byte string.
    Bytes(&'a [u8]),
    /// A CID link.
    Link(CidRef<'a>),
    /// An array.
    Array(Vec<ValueRef<'a>>),
    /// A map with string keys, in DAG-CBOR key order.
    Map(MapRef<'a>),
}

impl<'a> ValueRef<'a> {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&'a str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is one.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Self::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The bytes, if this is a byte string.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self {
            Self::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The CID, if this is a link.
    pub fn as_link(&self) -> Option<Cid> {
        match self {
            Self::Link(c) => Some(c.to_cid()),
            _ => None,
        }
    }

    /// The map, if this is one.
    pub fn as_map(&self) -> Option<&MapRef<'a>> {
        match self {
            Self::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[ValueRef<'a>]> {
        match self {
            Self::Array(a) => Some(a),
            _ => None,
        }
    }

    /// Looks a key up, if this is a map.
    pub fn get(&self, key: &str) -> Option<&ValueRef<'a>> {
        self.as_map()?.get(key)
    }

    /// Copies into an owned [`Value`].
    pub fn to_owned_value(&self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(*b),
            Self::Integer(i) => Value::Integer(*i),
            Self::String(s) => Value::String((*s).to_owned()),
            Self::Bytes(b) => Value::Bytes(b.to_vec()),
            Self::Link(c) => Value::link(c.to_cid()),
            Self::Array(a) => Value::Array(a.iter().map(Self::to_owned_value).collect()),
            Self::Map(m) => Value::Map(Map::from_sorted_unchecked(
                m.iter()
                    .map(|(k, v)| (crate::value::intern(k), v.to_owned_value()))
                    .collect(),
            )),
        }
    }
}

/// A borrowed binary CID that the decoder has already checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CidRef<'a>(&'a [u8]);

impl<'a> CidRef<'a> {
    pub(crate) fn new_unchecked(raw: &'a [u8]) -> Self {
        Self(raw)
    }

    /// The binary CID (without the 0x00 prefix of tag 42).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The CID. Never fails: the decoder checked these bytes.
    pub fn to_cid(&self) -> Cid {
        // The decoder only builds a CidRef from bytes that Cid::from_bytes accepted.
        Cid::from_bytes(self.0).unwrap_or_else(|_| Cid::for_raw(self.0))
    }
}

/// A borrowed map: `(key, value)` pairs in DAG-CBOR key order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct MapRef<'a> {
    entries: Vec<(&'a str, ValueRef<'a>)>,
}

impl<'a> MapRef<'a> {
    pub(crate) fn from_sorted_unchecked(entries: Vec<(&'a str, ValueRef<'a>)>) -> Self {
        Self { entries }
    }

    /// The value for `key` (binary search).
    pub fn get(&self, key: &str) -> Option<&ValueRef<'a>> {
        let i = self
            .entries
            .binary_search_by(|(k, _)| key_cmp(k, key))
            .ok()?;
        self.entries.get(i).map(|(_, v)| v)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in DAG-CBOR key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&'a str, &ValueRef<'a>)> {
        self.entries.iter().map(|(k, v)| (*k, v))
    }

    /// The entries as a slice.
    pub fn as_slice(&self) -> &[(&'a str, ValueRef<'a>)] {
        &self.entries
    }
}
