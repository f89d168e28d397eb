//! The owned atproto data model value.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::{Cid, Str};

/// One value of the atproto data model: what a DAG-CBOR block or an atproto JSON
/// document holds.
///
/// Links are boxed so that a `Value` stays 32 bytes (a [`Cid`] holds up to 64 digest bytes
/// inline); build one with [`Value::link`].
///
/// ```
/// # fn main() -> Result<(), atmo_data::Error> {
/// use atmo_data::{Map, Value};
/// let mut m = Map::new();
/// m.insert("text", Value::from("hello"));
/// m.insert("$type", Value::from("app.bsky.feed.post"));
/// let v = Value::Map(m);
/// let bytes = atmo_data::cbor::encode(&v);
/// assert_eq!(atmo_data::cbor::decode(&bytes)?, v);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Value {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A signed 64-bit integer (atproto has no floats).
    Integer(i64),
    /// A UTF-8 string ([`Str`] keeps strings of up to 24 bytes inline, without a heap
    /// allocation).
    String(Str),
    /// A byte string (`{"$bytes": ...}` in JSON).
    Bytes(Vec<u8>),
    /// A CID link (CBOR tag 42, `{"$link": ...}` in JSON).
    Link(Box<Cid>),
    /// An array.
    Array(Vec<Value>),
    /// A map with string keys, kept in DAG-CBOR key order.
    Map(Map),
}

impl Value {
    /// A link value.
    pub fn link(cid: Cid) -> Self {
        Self::Link(Box::new(cid))
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
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

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The bytes, if this is a byte string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Self::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The CID, if this is a link.
    pub fn as_link(&self) -> Option<&Cid> {
        match self {
            Self::Link(c) => Some(c),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Self::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The map, if this is one.
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Self::Map(m) => Some(m),
            _ => None,
        }
    }

    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// Looks a key up, if this is a map.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map()?.get(key)
    }

    /// A short name of the kind of value, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "boolean",
            Self::Integer(_) => "integer",
            Self::String(_) => "string",
            Self::Bytes(_) => "bytes",
            Self::Link(_) => "link",
            Self::Array(_) => "array",
            Self::Map(_) => "map",
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Self::Integer(i)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Self::String(Str::new(s))
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Self::String(Str::from(s))
    }
}
impl From<Str> for Value {
    fn from(s: Str) -> Self {
        Self::String(s)
    }
}
impl From<Vec<u8>> for Value {
    fn from(b: Vec<u8>) -> Self {
        Self::Bytes(b)
    }
}
impl From<Cid> for Value {
    fn from(c: Cid) -> Self {
        Self::link(c)
    }
}
impl From<Vec<Value>> for Value {
    fn from(a: Vec<Value>) -> Self {
        Self::Array(a)
    }
}
impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Self::Map(m)
    }
}

/// Compares two map keys in DAG-CBOR order: shorter first, then bytewise.
pub fn key_cmp(a: &str, b: &str) -> Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

/// A map with string keys.
///
/// Representation: a `Vec` of `(key, value)` pairs kept sorted in DAG-CBOR canonical
/// order (length first, then bytewise), without duplicates. Decoding pushes entries in
/// the order the (already sorted, checked) input gives them; encoding walks the vector
/// as is; lookup is a binary search; insertion keeps the order. This makes decode and
/// encode linear with no hashing and no re-sorting, and the order of insertions never
/// changes the encoding. Keys common in atproto records, MST nodes and commits (`$type`,
/// `createdAt`, `e`, `k`, `v`...) are shared static strings, so decoding them allocates
/// nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Map {
    entries: Vec<(Cow<'static, str>, Value)>,
}

/// The key as a shared static string if it recurs in atproto data (records, MST nodes,
/// commits), else an owned copy.
#[inline]
pub(crate) fn intern(k: &str) -> Cow<'static, str> {
    match common_key(k.as_bytes()) {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(k.to_owned()),
    }
}

/// The shared static string for a key that recurs in atproto data, matched on raw bytes
/// (so a match needs no separate UTF-8 check).
#[inline]
pub(crate) fn common_key(k: &[u8]) -> Option<&'static str> {
    Some(match k {
        b"$type" => "$type",
        b"text" => "text",
        b"createdAt" => "createdAt",
        b"subject" => "subject",
        b"uri" => "uri",
        b"cid" => "cid",
        b"langs" => "langs",
        b"facets" => "facets",
        b"index" => "index",
        b"byteStart" => "byteStart",
        b"byteEnd" => "byteEnd",
        b"features" => "features",
        b"did" => "did",
        b"tag" => "tag",
        b"reply" => "reply",
        b"root" => "root",
        b"parent" => "parent",
        b"embed" => "embed",
        b"images" => "images",
        b"image" => "image",
        b"alt" => "alt",
        b"aspectRatio" => "aspectRatio",
        b"width" => "width",
        b"height" => "height",
        b"external" => "external",
        b"title" => "title",
        b"description" => "description",
        b"thumb" => "thumb",
        b"record" => "record",
        b"media" => "media",
        b"labels" => "labels",
        b"tags" => "tags",
        b"displayName" => "displayName",
        b"avatar" => "avatar",
        b"banner" => "banner",
        b"ref" => "ref",
        b"mimeType" => "mimeType",
        b"size" => "size",
        b"e" => "e",
        b"k" => "k",
        b"l" => "l",
        b"p" => "p",
        b"t" => "t",
        b"v" => "v",
        b"data" => "data",
        b"prev" => "prev",
        b"rev" => "rev",
        b"sig" => "sig",
        b"version" => "version",
        b"via" => "via",
        b"pinnedPost" => "pinnedPost",
        b"values" => "values",
        b"val" => "val",
        b"src" => "src",
        b"neg" => "neg",
        b"cts" => "cts",
        b"list" => "list",
        b"name" => "name",
        b"purpose" => "purpose",
        b"items" => "items",
        _ => return None,
    })
}

impl Map {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            entries: Vec::with_capacity(n),
        }
    }

    /// Builds a map from entries already in strict DAG-CBOR order (caller checked).
    pub(crate) fn from_sorted_unchecked(entries: Vec<(Cow<'static, str>, Value)>) -> Self {
        debug_assert!(
            entries
                .windows(2)
                .all(|w| matches!(w, [a, b] if key_cmp(&a.0, &b.0) == Ordering::Less))
        );
        Self { entries }
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| key_cmp(k, key))
    }

    /// The value for `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        let i = self.find(key).ok()?;
        self.entries.get(i).map(|(_, v)| v)
    }

    /// The value for `key`, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        let i = self.find(key).ok()?;
        self.entries.get_mut(i).map(|(_, v)| v)
    }

    /// True if `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Inserts or replaces; returns the previous value for the key.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) -> Option<Value> {
        let key = key.into();
        match self.find(&key) {
            Ok(i) => self
                .entries
                .get_mut(i)
                .map(|(_, v)| std::mem::replace(v, value)),
            Err(i) => {
                self.entries.insert(i, (Cow::Owned(key), value));
                None
            }
        }
    }

    /// Removes a key; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.find(key).ok()?;
        Some(self.entries.remove(i).1)
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
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_ref(), v))
    }

    /// Keys in DAG-CBOR key order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_ref())
    }

    /// The entries, in DAG-CBOR key order.
    pub fn into_entries(self) -> Vec<(String, Value)> {
        self.into_iter().collect()
    }
}

impl<K: Into<String>> FromIterator<(K, Value)> for Map {
    /// Collects entries; a later duplicate key replaces an earlier one.
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Self {
        let mut entries: Vec<(Cow<'static, str>, Value)> = iter
            .into_iter()
            .map(|(k, v)| (Cow::Owned(k.into()), v))
            .collect();
        // Stable sort keeps insertion order among equal keys; keep the last of each run.
        entries.sort_by(|a, b| key_cmp(&a.0, &b.0));
        let mut out: Vec<(Cow<'static, str>, Value)> = Vec::with_capacity(entries.len());
        for e in entries {
            match out.last_mut() {
                Some(last) if last.0 == e.0 => *last = e,
                _ => out.push(e),
            }
        }
        Self { entries: out }
    }
}

type OwnedEntry = (Cow<'static, str>, Value);

impl IntoIterator for Map {
    type Item = (String, Value);
    type IntoIter =
        std::iter::Map<std::vec::IntoIter<OwnedEntry>, fn(OwnedEntry) -> (String, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        fn f((k, v): OwnedEntry) -> (String, Value) {
            (k.into_owned(), v)
        }
        self.entries.into_iter().map(f)
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = (&'a str, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, OwnedEntry>,
        fn(&'a OwnedEntry) -> (&'a str, &'a Value),
    >;
    fn into_iter(self) -> Self::IntoIter {
        fn f(e: &OwnedEntry) -> (&str, &Value) {
            (e.0.as_ref(), &e.1)
        }
        self.entries.iter().map(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_length_first() {
        let mut m = Map::new();
        for k in ["bb", "a", "aaa", "b", "ab"] {
            m.insert(k, Value::Null);
        }
        assert_eq!(m.keys().collect::<Vec<_>>(), ["a", "b", "ab", "bb", "aaa"]);
        assert_eq!(m.insert("b", Value::Integer(1)), Some(Value::Null));
        assert_eq!(m.get("b"), Some(&Value::Integer(1)));
        assert_eq!(m.remove("ab"), Some(Value::Null));
        assert!(!m.contains_key("ab"));
        assert_eq!(m.len(), 4);
    }

    #[test]
    fn from_iter_keeps_last_duplicate() {
        let m: Map = [("x", Value::Integer(1)), ("x", Value::Integer(2))]
            .into_iter()
            .collect();
        assert_eq!(m.len(), 1);
        assert_eq!(m.get("x"), Some(&Value::Integer(2)));
    }

    #[test]
    fn value_is_small() {
        assert!(std::mem::size_of::<Value>() <= 32);
    }
}
