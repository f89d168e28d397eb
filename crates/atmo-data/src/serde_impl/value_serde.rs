//! `Serialize`/`Deserialize` for [`Value`] and [`Cid`], applying the atproto conventions.
//!
//! Human-readable formats (JSON) see links as `{"$link": ...}` and bytes as
//! `{"$bytes": ...}`. This crate's own value serializer is not human-readable: it
//! receives a link as a newtype struct named [`LINK_TOKEN`] around the binary CID.

use std::fmt;

use std::borrow::Cow;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::json::{decode_base64, encode_base64};
use crate::value::{Map, common_key, intern, key_cmp};
use crate::{Cid, Value};

/// Newtype-struct name that marks a CID (as binary bytes) between this crate's serde
/// serializer/deserializer and the `Cid` impls.
pub(crate) const LINK_TOKEN: &str = "$__atmo_data::Link";

struct BytesRef<'a>(&'a [u8]);

impl Serialize for BytesRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

impl Serialize for Cid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            let mut m = s.serialize_map(Some(1))?;
            m.serialize_entry("$link", &self.to_string())?;
            m.end()
        } else {
            s.serialize_newtype_struct(LINK_TOKEN, &BytesRef(&self.to_bytes()))
        }
    }
}

pub(crate) struct CidVisitor;

impl<'de> Visitor<'de> for CidVisitor {
    type Value = Cid;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CID link")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Cid, E> {
        Cid::parse(v).map_err(E::custom)
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Cid, E> {
        // Accept both the bare binary CID and the tag-42 form with its 0x00 prefix.
        let raw = match v {
            [0, rest @ ..] => rest,
            _ => v,
        };
        Cid::from_bytes(raw).map_err(E::custom)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Cid, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Cid, A::Error> {
        let Some(k) = map.next_key::<String>()? else {
            return Err(de::Error::custom("expected a $link object"));
        };
        if k != "$link" {
            return Err(de::Error::custom(format!(
                "expected a $link object, found key {k:?}"
            )));
        }
        let s: String = map.next_value()?;
        if map.next_key::<String>()?.is_some() {
            return Err(de::Error::custom("a $link object must have no other keys"));
        }
        Cid::parse(&s).map_err(de::Error::custom)
    }
}

/// A [`Cid`] that must be a link: `{"$link"}` in JSON (not a bare string), tag 42 in
/// DAG-CBOR.
pub(crate) struct Link(pub(crate) Cid);

impl<'de> Deserialize<'de> for Link {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            d.deserialize_map(CidVisitor).map(Link)
        } else {
            Cid::deserialize(d).map(Link)
        }
    }
}

impl<'de> Deserialize<'de> for Cid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            d.deserialize_any(CidVisitor)
        } else {
            d.deserialize_newtype_struct(LINK_TOKEN, CidVisitor)
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Integer(i) => s.serialize_i64(*i),
            Value::String(v) => s.serialize_str(v),
            Value::Bytes(b) => {
                if s.is_human_readable() {
                    let mut m = s.serialize_map(Some(1))?;
                    m.serialize_entry("$bytes", &encode_base64(b))?;
                    m.end()
                } else {
                    s.serialize_bytes(b)
                }
            }
            Value::Link(c) => c.serialize(s),
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for e in a {
                    seq.serialize_element(e)?;
                }
                seq.end()
            }
            Value::Map(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m.iter() {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// The message for an integer that does not fit the data model's 64-bit signed range.
pub(crate) fn out_of_range(v: impl fmt::Display) -> String {
    format!("integer out of range: {v} does not fit in a 64-bit signed integer")
}

/// The largest magnitude, 2^53 - 1, up to which every integer is exactly a double: a
/// number written with a fraction or an exponent is an integer only within this range.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// 2^63: integral doubles at or beyond this magnitude are outside `i64`.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// The integer a JSON number that is not a plain integer literal stands for.
///
/// A JSON reader hands over a double for `1.0`, `1e2`, `-0`, `1.5` and for integer
/// literals beyond the 64-bit range. The reference implementation (`@atproto/lex-json`,
/// strict mode) accepts such a number when its double is a "safe integer" (magnitude at
/// most 2^53 - 1), and atmo decides the same way: `1.0` is 1, `1E+2` is 100, `-0` is 0,
/// `1.5` and `1e-2` are floats. An integral double of magnitude 2^63 or more is an
/// integer out of the `i64` range; one in between was written with a fraction or an
/// exponent, where it is not exact, and is refused as the reference does. (Plain integer
/// literals up to the full `i64` range are read exactly; they never come here.)
pub(crate) fn integral_f64(v: f64) -> Result<i64, String> {
    if !v.is_finite() {
        return Err(out_of_range(v));
    }
    if v.fract() != 0.0 {
        return Err(format!(
            "floats are not allowed in atproto data ({v} is not an integer)"
        ));
    }
    if v.abs() <= MAX_SAFE_INTEGER {
        // In range and integral: the conversion is exact (and -0.0 becomes 0).
        #[allow(clippy::cast_possible_truncation)]
        return Ok(v as i64);
    }
    if v.abs() >= TWO_POW_63 {
        return Err(out_of_range(format_args!("{v:e}")));
    }
    Err(format!(
        "number {v:e} is written with a fraction or an exponent beyond 2^53-1, where it is \
         not exact; write it as a plain integer"
    ))
}

/// A map key: a shared static string for the keys common in atproto data (no
/// allocation), else an owned copy.
pub(crate) struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'static, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = Cow<'static, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(intern(v))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(match common_key(v.as_bytes()) {
            Some(k) => Cow::Borrowed(k),
            None => Cow::Owned(v),
        })
    }
}

/// [`object`] for entries with shared keys: entries already in DAG-CBOR order (as they
/// come from DAG-CBOR) are neither sorted again nor copied.
pub(crate) fn object_cow(mut entries: Vec<(Cow<'static, str>, Value)>) -> Result<Value, String> {
    let special = |k: &str| k.len() >= 5 && (k == "$link" || k == "$bytes");
    if entries.iter().any(|(k, _)| special(k)) {
        return object(
            entries
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v))
                .collect(),
        );
    }
    let sorted = entries
        .windows(2)
        .all(|w| matches!(w, [a, b] if key_cmp(&a.0, &b.0) == std::cmp::Ordering::Less));
    if !sorted {
        entries.sort_by(|a, b| key_cmp(&a.0, &b.0));
        if let Some(w) = entries
            .windows(2)
            .find(|w| matches!(w, [a, b] if a.0 == b.0))
        {
            let k = w.first().map(|e| e.0.as_ref()).unwrap_or_default();
            return Err(format!("duplicate key {k:?}"));
        }
    }
    typed_object(Map::from_sorted_unchecked(entries))
}

impl Value {
    /// The value of a data model object read as `entries`, with the rules that reading
    /// atproto data applies: `{"$link": "<CID>"}` alone is a link, `{"$bytes": "<base64>"}`
    /// alone is bytes, keys must not repeat, a `$type` must be a non-empty string, and a
    /// `"$type": "blob"` object must be a well-formed blob. The entries may come in any
    /// order.
    ///
    /// ```
    /// use atmo_data::Value;
    /// let v = Value::from_object_entries(vec![("b".into(), Value::from(1)), ("a".into(), Value::Null)]);
    /// assert_eq!(v.unwrap().as_map().map(|m| m.keys().collect::<Vec<_>>()), Some(vec!["a", "b"]));
    /// assert!(Value::from_object_entries(vec![("$type".into(), Value::from(""))]).is_err());
    /// ```
    ///
    /// # Errors
    /// [`Error::Serde`](crate::Error::Serde) naming the rule the entries break.
    pub fn from_object_entries(entries: Vec<(String, Value)>) -> Result<Value, crate::Error> {
        object(entries).map_err(crate::Error::Serde)
    }
}

/// Applies the atproto object rules to collected JSON object entries.
fn object(mut entries: Vec<(String, Value)>) -> Result<Value, String> {
    // Special single-key objects first.
    if let Some(i) = entries.iter().position(|(k, _)| k == "$link") {
        if entries.len() != 1 {
            return Err("a $link object must have no other keys".into());
        }
        let (_, v) = entries.swap_remove(i);
        return match v {
            Value::String(s) => Cid::parse(&s)
                .map(Value::link)
                .map_err(|e| format!("bad CID in $link: {e}")),
            other => Err(format!("$link must be a string, not {}", other.kind())),
        };
    }
    if let Some(i) = entries.iter().position(|(k, _)| k == "$bytes") {
        if entries.len() != 1 {
            return Err("a $bytes object must have no other keys".into());
        }
        let (_, v) = entries.swap_remove(i);
        return match v {
            Value::String(s) => decode_base64(&s)
                .map(Value::Bytes)
                .ok_or_else(|| "$bytes is not valid base64".to_owned()),
            other => Err(format!("$bytes must be a string, not {}", other.kind())),
        };
    }
    entries.sort_by(|a, b| key_cmp(&a.0, &b.0));
    if let Some(w) = entries
        .windows(2)
        .find(|w| matches!(w, [a, b] if a.0 == b.0))
    {
        let k = w.first().map(|e| e.0.as_str()).unwrap_or_default();
        return Err(format!("duplicate key {k:?}"));
    }
    let map = Map::from_sorted_unchecked(
        entries
            .into_iter()
            .map(|(k, v)| (std::borrow::Cow::Owned(k), v))
            .collect(),
    );
    typed_object(map)
}

/// The `$type` and blob rules on a map.
fn typed_object(map: Map) -> Result<Value, String> {
    if let Some(t) = map.get("$type") {
        match t {
            Value::String(s) if !s.is_empty() => {
                if s == "blob" {
                    check_blob(&map)?;
                }
            }
            Value::String(_) => return Err("$type must not be empty".into()),
            other => return Err(format!("$type must be a string, not {}", other.kind())),
        }
    }
    Ok(Value::Map(map))
}

fn check_blob(m: &Map) -> Result<(), String> {
    if !matches!(m.get("ref"), Some(Value::Link(_))) {
        return Err("blob: `ref` must be a $link".into());
    }
    if !matches!(m.get("mimeType"), Some(Value::String(_))) {
        return Err("blob: `mimeType` must be a string".into());
    }
    match m.get("size") {
        Some(Value::Integer(n)) if *n >= 0 => Ok(()),
        _ => Err("blob: `size` must be a non-negative integer".into()),
    }
}
