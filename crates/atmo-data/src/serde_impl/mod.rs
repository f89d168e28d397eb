//! serde support: typed Rust values to and from DAG-CBOR and atproto JSON.

mod cbor_de;
mod de;
mod direct;
mod ser;
mod value_serde;

pub(crate) use value_serde::Link;
pub(crate) use value_serde::{KeySeed, integral_f64, object_cow, out_of_range};

pub use de::from_value;
pub use direct::{ArrayReader, CborReader, FromCbor, MapReader, ReadError};

/// The newtype-struct name that asks atmo's DAG-CBOR deserializer ([`from_cbor`]) for a
/// text item as its bytes: a `Deserialize` impl that calls
/// `deserializer.deserialize_newtype_struct(TEXT_BYTES, visitor)` gets, for a text
/// string (a map key or a value), `visit_borrowed_bytes` with its bytes, already checked
/// to be UTF-8, so that comparing them with known names needs no `&str`; for anything
/// else, `visit_newtype_struct` with the deserializer, to be read as usual. Other
/// deserializers (JSON, [`from_value`], other formats) call `visit_newtype_struct` for
/// every item. The generated lexicon types read their keys and `$type` this way.
///
/// ```
/// # fn main() -> Result<(), atmo_data::Error> {
/// use serde::de::{Deserializer, Visitor};
/// /// Whether a string is "post", without building a `&str` from CBOR.
/// struct IsPost(bool);
/// impl<'de> serde::Deserialize<'de> for IsPost {
///     fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
///         struct V;
///         impl<'de> Visitor<'de> for V {
///             type Value = IsPost;
///             fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///                 f.write_str("a string")
///             }
///             fn visit_borrowed_bytes<E: serde::de::Error>(self, b: &'de [u8]) -> Result<IsPost, E> {
///                 Ok(IsPost(b == b"post"))
///             }
///             fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<IsPost, E> {
///                 Ok(IsPost(s == "post"))
///             }
///             fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<IsPost, D::Error> {
///                 d.deserialize_str(self)
///             }
///         }
///         d.deserialize_newtype_struct(atmo_data::TEXT_BYTES, V)
///     }
/// }
/// assert!(atmo_data::from_cbor::<IsPost>(&atmo_data::to_cbor("post")?)?.0);
/// assert!(atmo_data::from_json::<IsPost>("\"post\"")?.0);
/// assert!(atmo_data::from_cbor::<IsPost>(&[0x62, 0xc3, 0x28]).is_err()); // not UTF-8
/// # Ok(()) }
/// ```
///
/// A `static`, so that every use is the same string and the deserializer knows it by
/// its address.
pub static TEXT_BYTES: &str = "$__atmo_data::TextBytes";
pub use ser::to_value;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{Error, cbor, json};

/// Serializes to DAG-CBOR (a [`Cid`](crate::Cid) field becomes tag 42, a
/// [`bytes`](crate::bytes) field a byte string, map keys are sorted).
///
/// ```
/// # fn main() -> Result<(), atmo_data::Error> {
/// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
/// struct Like { subject: String, #[serde(rename = "createdAt")] created_at: String }
/// let like = Like { subject: "at://x".into(), created_at: "2024-01-01T00:00:00Z".into() };
/// let bytes = atmo_data::to_cbor(&like)?;
/// assert_eq!(atmo_data::from_cbor::<Like>(&bytes)?, like);
/// println!("{}", atmo_data::Cid::for_dag_cbor(&bytes));
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::Serde`] for values the data model cannot hold (floats, non-string keys...).
pub fn to_cbor<T: Serialize + ?Sized>(v: &T) -> Result<Vec<u8>, Error> {
    Ok(cbor::encode(&to_value(v)?))
}

/// Deserializes strict DAG-CBOR into a typed value, in one pass over the bytes (no
/// [`Value`](crate::Value) in between), with the rules and default limits of
/// [`cbor::decode`]. Strings and byte strings can be borrowed from `bytes` (`&str` and
/// `&[u8]` fields).
///
/// Every byte is checked, also in the parts the type skips, so the input is accepted
/// exactly when [`cbor::decode`] accepts it and `T` accepts the value, and a CBOR error
/// is the one [`cbor::decode`] reports.
///
/// ```
/// # fn main() -> Result<(), atmo_data::Error> {
/// #[derive(serde::Deserialize, PartialEq, Debug)]
/// struct Post<'a> { text: &'a str, link: Option<atmo_data::Cid> }
/// let bytes = atmo_data::cbor::encode(&atmo_data::json::from_str(r#"{"text": "hi",
///     "link": {"$link": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"}}"#)?);
/// let post: Post = atmo_data::from_cbor(&bytes)?;
/// assert_eq!(post.text, "hi");
/// assert!(atmo_data::from_cbor::<Post>(&bytes[..bytes.len() - 1]).is_err());
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::Cbor`] if the bytes are not strict DAG-CBOR, [`Error::Serde`] if they do not
/// fit the type.
pub fn from_cbor<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, Error> {
    from_cbor_with(bytes, &cbor::DecodeLimits::DEFAULT)
}

/// Like [`from_cbor`], with explicit limits.
///
/// ```
/// use atmo_data::cbor::DecodeLimits;
/// let bytes = [0x81, 0x81, 0x01]; // [[1]]
/// let limits = DecodeLimits::DEFAULT.with_max_depth(1);
/// assert!(atmo_data::from_cbor_with::<Vec<Vec<i64>>>(&bytes, &limits).is_err());
/// assert_eq!(atmo_data::from_cbor::<Vec<Vec<i64>>>(&bytes).unwrap(), [[1]]);
/// ```
///
/// # Errors
/// As for [`from_cbor`]; [`Error::Cbor`] also for input beyond `limits`.
pub fn from_cbor_with<'a, T: Deserialize<'a>>(
    bytes: &'a [u8],
    limits: &cbor::DecodeLimits,
) -> Result<T, Error> {
    let mut de = cbor_de::CborDe::new(bytes, *limits);
    let out = T::deserialize(&mut de);
    // The value is returned as it is (a large record is not copied again).
    match out {
        Ok(v) if de.rest().is_empty() => Ok(v),
        out => Err(cbor_failure(
            bytes,
            limits,
            out.err().map(cbor_de::Error::into_inner),
            &de,
        )),
    }
}

/// Decodes strict DAG-CBOR into a type that reads itself ([`FromCbor`]: every generated
/// type of atmo-api), in one pass with no serde visitor in between; the same value, and
/// the same errors, as [`from_cbor`] gives for the type's `Deserialize` impl.
///
/// ```
/// # fn main() -> Result<(), atmo_data::Error> {
/// use atmo_data::{CborReader, FromCbor, ReadError};
/// /// `{"name": ..., "tags": [...]}`, other keys refused.
/// #[derive(Debug, PartialEq)]
/// struct Tagged<'a> {
///     name: &'a str,
///     tags: Vec<String>,
/// }
/// impl<'de> FromCbor<'de> for Tagged<'de> {
///     fn from_cbor(r: &mut CborReader<'de>) -> Result<Self, ReadError> {
///         let (mut name, mut tags) = (None, Vec::new());
///         let mut m = r.map()?;
///         while let Some(k) = m.key()? {
///             match k {
///                 b"name" => name = Some(m.value()?),
///                 b"tags" => tags = m.value()?,
///                 _ => return Err(ReadError::custom("unknown key")),
///             }
///         }
///         Ok(Tagged { name: name.ok_or_else(|| ReadError::custom("missing field `name`"))?, tags })
///     }
/// }
/// let v = atmo_data::json::from_str(r#"{"name": "a", "tags": ["x", "y"]}"#)?;
/// let bytes = atmo_data::cbor::encode(&v);
/// let t: Tagged = atmo_data::read_cbor(&bytes)?;
/// assert_eq!(t, Tagged { name: "a", tags: vec!["x".into(), "y".into()] });
/// let bad = atmo_data::cbor::encode(&atmo_data::json::from_str(r#"{"name": "a", "tags": [1]}"#)?);
/// let e = atmo_data::read_cbor::<Tagged>(&bad).unwrap_err();
/// assert_eq!(e.to_string(), "at $.tags[0] (byte 14): invalid type: integer `1`, expected a string");
/// # Ok(()) }
/// ```
///
/// # Errors
/// As [`from_cbor`].
pub fn read_cbor<'a, T: FromCbor<'a>>(bytes: &'a [u8]) -> Result<T, Error> {
    read_cbor_with(bytes, &cbor::DecodeLimits::DEFAULT)
}

/// Like [`read_cbor`], with explicit limits.
///
/// # Errors
/// As [`from_cbor_with`].
pub fn read_cbor_with<'a, T: FromCbor<'a>>(
    bytes: &'a [u8],
    limits: &cbor::DecodeLimits,
) -> Result<T, Error> {
    let mut r = CborReader {
        de: cbor_de::CborDe::new(bytes, *limits),
    };
    match direct::read_whole(&mut r) {
        Ok(v) => Ok(v),
        Err(e) => Err(cbor_failure(
            bytes,
            limits,
            e.map(cbor_de::Error::into_inner),
            &r.de,
        )),
    }
}

/// The error of a failed [`from_cbor_with`]: the first CBOR problem in the input, as the
/// whole-input decoder reports it, takes precedence over a type error met before it;
/// then bytes after the value.
#[cold]
#[inline(never)]
fn cbor_failure(
    bytes: &[u8],
    limits: &cbor::DecodeLimits,
    err: Option<Error>,
    de: &cbor_de::CborDe<'_>,
) -> Error {
    if let Err(c) = cbor::validate(bytes, limits) {
        return Error::Cbor(c);
    }
    if let (Some(Error::Serde(message)), Some((path, offset))) = (&err, de.failure()) {
        // Generated types name the fields in their messages (`reply: root: cid: ...`);
        // the path says the same, so that prefix goes.
        let prefix: String = path
            .trim_start_matches('$')
            .split(['.', '['])
            .filter(|s| !s.is_empty() && !s.ends_with(']'))
            .map(|k| format!("{k}: "))
            .collect();
        let message = message.strip_prefix(&prefix).unwrap_or(message).to_owned();
        return Error::At {
            path,
            offset,
            source: Box::new(Error::Serde(message)),
        };
    }
    err.unwrap_or(Error::Cbor(cbor::DecodeError {
        offset: de.pos(),
        kind: cbor::DecodeErrorKind::TrailingBytes {
            extra: de.rest().len(),
        },
    }))
}

/// Serializes to compact atproto JSON (`{"$link"}`, `{"$bytes"}`).
///
/// # Errors
/// [`Error::Serde`] for values the data model cannot hold.
pub fn to_json<T: Serialize + ?Sized>(v: &T) -> Result<String, Error> {
    Ok(json::to_string(&to_value(v)?))
}

/// Deserializes atproto JSON into a typed value, applying the data model rules, in one
/// pass over the text (no [`Value`](crate::Value) in between): `{"$link"}` reads as a
/// [`Cid`](crate::Cid), `{"$bytes"}` as a [`bytes`] field, floats are refused.
///
/// ```
/// # fn main() -> Result<(), atmo_data::Error> {
/// #[derive(serde::Deserialize)]
/// struct Ref { cid: atmo_data::Cid }
/// let r: Ref = atmo_data::from_json(
///     r#"{"cid": {"$link": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"}}"#,
/// )?;
/// assert_eq!(r.cid.to_string(), "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm");
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::Json`] if the text is not atproto JSON, [`Error::Serde`] if it does not fit
/// the type.
pub fn from_json<T: DeserializeOwned>(s: &str) -> Result<T, Error> {
    serde_json::from_str::<T>(s).map_err(|e| {
        // Errors are rare: tell a text that is not atproto JSON (as `json::from_str`
        // reports it) from one that does not fit the type.
        match json::from_str(s) {
            Err(j) => Error::Json(j),
            Ok(_) => Error::Serde(json::JsonError::from(e).to_string()),
        }
    })
}

/// `#[serde(with = "atmo_data::bytes")]` for `Vec<u8>` fields: a CBOR byte string, or
/// `{"$bytes": "<base64>"}` in human-readable formats.
pub mod bytes {
    use std::fmt;

    use serde::de::{self, MapAccess, SeqAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};

    use crate::json::{decode_base64, encode_base64};

    /// Serializes bytes.
    ///
    /// # Errors
    /// Whatever the serializer reports.
    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            let mut m = s.serialize_map(Some(1))?;
            m.serialize_entry("$bytes", &encode_base64(b))?;
            m.end()
        } else {
            s.serialize_bytes(b)
        }
    }

    struct BytesVisitor;

    impl<'de> Visitor<'de> for BytesVisitor {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("bytes or a $bytes object")
        }
        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }
        fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(b) = seq.next_element::<u8>()? {
                v.push(b);
            }
            Ok(v)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<u8>, A::Error> {
            match map.next_key::<String>()?.as_deref() {
                Some("$bytes") => {}
                _ => return Err(de::Error::custom("expected a $bytes object")),
            }
            let s: String = map.next_value()?;
            if map.next_key::<String>()?.is_some() {
                return Err(de::Error::custom("a $bytes object must have no other keys"));
            }
            decode_base64(&s).ok_or_else(|| de::Error::custom("$bytes is not valid base64"))
        }
    }

    /// Deserializes bytes.
    ///
    /// # Errors
    /// If the input is neither bytes nor a `$bytes` object.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        if d.is_human_readable() {
            d.deserialize_any(BytesVisitor)
        } else {
            d.deserialize_byte_buf(BytesVisitor)
        }
    }
}
