//! A borrowed, lazy view of validated DAG-CBOR.

use crate::value::{Map, common_key, intern};
use crate::{Cid, Value};

/// A value viewed in place: strings, byte strings and CIDs point into the input, and
/// arrays and maps are read lazily from it.
///
/// Produced by [`cbor::decode_ref`](crate::cbor::decode_ref), which first checks the whole
/// input with the same strict rules (and limits) as the owned decoder and then returns the
/// root in O(1), allocating nothing. Reading an array or map walks its bytes on demand; map
/// lookups stop early thanks to the canonical key order.
///
/// Two `ValueRef`s are equal exactly when they hold equal data (canonical form: equal data
/// means equal bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    Array(ArrayRef<'a>),
    /// A map with string keys, in DAG-CBOR key order.
    Map(MapRef<'a>),
}

/// Reads one head from validated bytes: (major type, argument, rest).
#[inline]
fn head(b: &[u8]) -> Option<(u8, u64, &[u8])> {
    let (&ib, rest) = b.split_first()?;
    let info = ib & 0x1f;
    let (arg, rest) = match info {
        0..=23 => (u64::from(info), rest),
        24 => {
            let (&v, r) = rest.split_first()?;
            (u64::from(v), r)
        }
        25 => {
            let (v, r) = rest.split_first_chunk::<2>()?;
            (u64::from(u16::from_be_bytes(*v)), r)
        }
        26 => {
            let (v, r) = rest.split_first_chunk::<4>()?;
            (u64::from(u32::from_be_bytes(*v)), r)
        }
        27 => {
            let (v, r) = rest.split_first_chunk::<8>()?;
            (u64::from_be_bytes(*v), r)
        }
        _ => return None,
    };
    Some((ib >> 5, arg, rest))
}

/// Skips `n` whole items of validated bytes, iteratively; returns the rest.
fn skip(mut b: &[u8], mut n: u64) -> Option<&[u8]> {
    while n > 0 {
        n -= 1;
        let (major, arg, rest) = head(b)?;
        b = match major {
            2 | 3 => rest.get(usize::try_from(arg).ok()?..)?,
            4 => {
                n = n.checked_add(arg)?;
                rest
            }
            5 => {
                n = n.checked_add(arg.checked_mul(2)?)?;
                rest
            }
            6 => {
                n += 1;
                rest
            }
            _ => rest,
        };
    }
    Some(b)
}

/// Reads one item of validated bytes and returns it with the rest.
fn read(b: &[u8]) -> Option<(ValueRef<'_>, &[u8])> {
    let (major, arg, rest) = head(b)?;
    Some(match major {
        0 => (ValueRef::Integer(i64::try_from(arg).ok()?), rest),
        1 => (ValueRef::Integer(-1 - i64::try_from(arg).ok()?), rest),
        2 | 3 => {
            let (s, rest) = rest.split_at_checked(usize::try_from(arg).ok()?)?;
            if major == 2 {
                (ValueRef::Bytes(s), rest)
            } else {
                (ValueRef::String(crate::utf8::str(s)?), rest)
            }
        }
        4 | 5 => {
            let end = skip(rest, if major == 4 { arg } else { arg.checked_mul(2)? })?;
            let body = rest.get(..rest.len() - end.len())?;
            let len = usize::try_from(arg).ok()?;
            let raw = b.get(..b.len() - end.len())?;
            let v = if major == 4 {
                ValueRef::Array(ArrayRef { raw, body, len })
            } else {
                ValueRef::Map(MapRef { raw, body, len })
            };
            (v, end)
        }
        6 => {
            let (_, len, r) = head(rest)?;
            let (content, rest) = r.split_at_checked(usize::try_from(len).ok()?)?;
            (ValueRef::Link(CidRef(content.get(1..)?)), rest)
        }
        _ => match arg {
            20 => (ValueRef::Bool(false), rest),
            21 => (ValueRef::Bool(true), rest),
            _ => (ValueRef::Null, rest),
        },
    })
}

impl<'a> ValueRef<'a> {
    /// The view of bytes that [`crate::cbor::validate`] accepted (the whole input).
    pub(crate) fn from_validated(b: &'a [u8]) -> Self {
        // The whole input is the value, so a container's end is known without a scan.
        match head(b) {
            Some((4, arg, body)) => ValueRef::Array(ArrayRef {
                raw: b,
                body,
                len: usize::try_from(arg).unwrap_or(0),
            }),
            Some((5, arg, body)) => ValueRef::Map(MapRef {
                raw: b,
                body,
                len: usize::try_from(arg).unwrap_or(0),
            }),
            _ => read(b).map_or(ValueRef::Null, |(v, _)| v),
        }
    }

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

    /// The array, if this is one.
    pub fn as_array(&self) -> Option<&ArrayRef<'a>> {
        match self {
            Self::Array(a) => Some(a),
            _ => None,
        }
    }

    /// Looks a key up, if this is a map.
    pub fn get(&self, key: &str) -> Option<ValueRef<'a>> {
        self.as_map()?.get(key)
    }

    /// Copies into an owned [`Value`].
    pub fn to_owned_value(&self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(*b),
            Self::Integer(i) => Value::Integer(*i),
            Self::String(s) => Value::from(*s),
            Self::Bytes(b) => Value::Bytes(b.to_vec()),
            Self::Link(c) => Value::link(c.to_cid()),
            Self::Array(a) => Value::Array(a.iter().map(|v| v.to_owned_value()).collect()),
            Self::Map(m) => Value::Map(Map::from_sorted_unchecked(
                m.iter()
                    .map(|(k, v)| (intern(k), v.to_owned_value()))
                    .collect(),
            )),
        }
    }
}

/// A borrowed binary CID that the decoder has already checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CidRef<'a>(&'a [u8]);

impl<'a> CidRef<'a> {
    /// The binary CID (without the 0x00 prefix of tag 42).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The CID. Never fails in practice: the decoder checked these bytes.
    pub fn to_cid(&self) -> Cid {
        // Only built from bytes that Cid::from_bytes accepted; the fallback is unreachable.
        Cid::from_bytes(self.0).unwrap_or_else(|_| Cid::for_raw(self.0))
    }
}

/// A lazily read array of validated DAG-CBOR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArrayRef<'a> {
    raw: &'a [u8],
    body: &'a [u8],
    len: usize,
}

impl<'a> ArrayRef<'a> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The elements, in order.
    pub fn iter(&self) -> ArrayIter<'a> {
        ArrayIter {
            rest: self.body,
            left: self.len,
        }
    }

    /// The element at `i` (walks the elements before it).
    pub fn get(&self, i: usize) -> Option<ValueRef<'a>> {
        self.iter().nth(i)
    }

    /// The encoded bytes of the whole array (head included).
    pub fn as_encoded(&self) -> &'a [u8] {
        self.raw
    }
}

impl<'a> IntoIterator for ArrayRef<'a> {
    type Item = ValueRef<'a>;
    type IntoIter = ArrayIter<'a>;
    fn into_iter(self) -> ArrayIter<'a> {
        self.iter()
    }
}

/// Iterator over an [`ArrayRef`].
#[derive(Debug, Clone)]
pub struct ArrayIter<'a> {
    rest: &'a [u8],
    left: usize,
}

impl<'a> Iterator for ArrayIter<'a> {
    type Item = ValueRef<'a>;
    fn next(&mut self) -> Option<ValueRef<'a>> {
        if self.left == 0 {
            return None;
        }
        let (v, rest) = read(self.rest)?;
        self.rest = rest;
        self.left -= 1;
        Some(v)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left))
    }
}

/// A lazily read map of validated DAG-CBOR, entries in DAG-CBOR key order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MapRef<'a> {
    raw: &'a [u8],
    body: &'a [u8],
    len: usize,
}

/// Reads a key's bytes from validated bytes.
#[inline]
fn read_key(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let (_, len, rest) = head(b)?;
    rest.split_at_checked(usize::try_from(len).ok()?)
}

impl<'a> MapRef<'a> {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value for `key`: walks the entries, skipping values, and stops as soon as the
    /// keys sort past `key`.
    pub fn get(&self, key: &str) -> Option<ValueRef<'a>> {
        let want = key.as_bytes();
        let mut rest = self.body;
        for _ in 0..self.len {
            let (k, r) = read_key(rest)?;
            let ord = k.len().cmp(&want.len()).then_with(|| k.cmp(want));
            match ord {
                std::cmp::Ordering::Less => rest = skip(r, 1)?,
                std::cmp::Ordering::Equal => return read(r).map(|(v, _)| v),
                std::cmp::Ordering::Greater => return None,
            }
        }
        None
    }

    /// Entries in DAG-CBOR key order.
    pub fn iter(&self) -> MapIter<'a> {
        MapIter {
            rest: self.body,
            left: self.len,
        }
    }

    /// The encoded bytes of the whole map (head included).
    pub fn as_encoded(&self) -> &'a [u8] {
        self.raw
    }
}

impl<'a> IntoIterator for MapRef<'a> {
    type Item = (&'a str, ValueRef<'a>);
    type IntoIter = MapIter<'a>;
    fn into_iter(self) -> MapIter<'a> {
        self.iter()
    }
}

/// Iterator over a [`MapRef`].
#[derive(Debug, Clone)]
pub struct MapIter<'a> {
    rest: &'a [u8],
    left: usize,
}

impl<'a> Iterator for MapIter<'a> {
    type Item = (&'a str, ValueRef<'a>);
    fn next(&mut self) -> Option<(&'a str, ValueRef<'a>)> {
        if self.left == 0 {
            return None;
        }
        let (k, r) = read_key(self.rest)?;
        let key = match common_key(k) {
            Some(s) => s,
            None => crate::utf8::str(k)?,
        };
        let (v, rest) = read(r)?;
        self.rest = rest;
        self.left -= 1;
        Some((key, v))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left))
    }
}

#[cfg(test)]
mod tests {
    use crate::cbor;

    #[test]
    fn lazy_map_lookup_and_iteration() {
        let v = crate::json::from_str(
            r#"{"a": 1, "bb": [true, null, "x"], "c": {"$bytes": "AQ"}, "zzz": -5}"#,
        )
        .unwrap();
        let bytes = cbor::encode(&v);
        let r = cbor::decode_ref(&bytes).unwrap();
        assert_eq!(r.get("a").and_then(|x| x.as_integer()), Some(1));
        assert_eq!(r.get("zzz").and_then(|x| x.as_integer()), Some(-5));
        assert_eq!(r.get("c").and_then(|x| x.as_bytes()), Some(&[1u8][..]));
        assert_eq!(r.get("b"), None);
        assert_eq!(r.get("zzzz"), None);
        let arr = r.get("bb").unwrap();
        let items: Vec<_> = arr.as_array().unwrap().iter().collect();
        assert_eq!(items.len(), 3);
        assert_eq!(items[2].as_str(), Some("x"));
        assert_eq!(arr.as_array().unwrap().get(1), Some(super::ValueRef::Null));
        let keys: Vec<_> = r.as_map().unwrap().iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a", "c", "bb", "zzz"]);
        assert_eq!(r.to_owned_value(), v);
        assert_eq!(cbor::encode_ref(&r), bytes);
    }
}
