//! Blob references.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Cid, Error, Map, Value};

/// A reference to a blob (an image, a video...) stored beside a repository.
///
/// The current form is `{"$type": "blob", "ref": {"$link": CID}, "mimeType": ..., "size": ...}`;
/// the legacy form `{"cid": "<CID string>", "mimeType": ...}` is read too and has no size
/// (`size` is `None`). Writing gives the current form, or the legacy form when `size` is
/// `None`.
///
/// ```
/// # fn main() -> Result<(), atmo_data::Error> {
/// use atmo_data::Blob;
/// let v = atmo_data::json::from_str(r#"{"$type": "blob", "mimeType": "image/png", "size": 3,
///     "ref": {"$link": "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"}}"#)?;
/// let blob = Blob::from_value(&v)?;
/// assert_eq!(blob.size, Some(3));
/// assert_eq!(blob.to_value(), v);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Blob {
    /// The blob's CID (normally raw, SHA2-256).
    pub cid: Cid,
    /// The MIME type.
    pub mime_type: String,
    /// Size in bytes; `None` for the legacy form.
    pub size: Option<u64>,
}

fn bad(msg: &str) -> Error {
    Error::Serde(format!("not a blob: {msg}"))
}

impl Blob {
    /// A current-form blob reference.
    pub fn new(cid: Cid, mime_type: impl Into<String>, size: u64) -> Self {
        Self {
            cid,
            mime_type: mime_type.into(),
            size: Some(size),
        }
    }

    /// Reads either form from a data model value.
    ///
    /// # Errors
    /// [`Error::Serde`] if the value is neither form.
    pub fn from_value(v: &Value) -> Result<Self, Error> {
        let m = v.as_map().ok_or_else(|| bad("not a map"))?;
        let mime_type = m
            .get("mimeType")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("`mimeType` must be a string"))?
            .to_owned();
        match m.get("$type") {
            Some(Value::String(t)) if t == "blob" => {
                let cid = *m
                    .get("ref")
                    .and_then(Value::as_link)
                    .ok_or_else(|| bad("`ref` must be a link"))?;
                let size = m
                    .get("size")
                    .and_then(Value::as_integer)
                    .and_then(|n| u64::try_from(n).ok())
                    .ok_or_else(|| bad("`size` must be a non-negative integer"))?;
                Ok(Self {
                    cid,
                    mime_type,
                    size: Some(size),
                })
            }
            Some(_) => Err(bad("`$type` is not \"blob\"")),
            None => {
                let s = m
                    .get("cid")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("legacy form needs a `cid` string"))?;
                Ok(Self {
                    cid: Cid::parse(s)?,
                    mime_type,
                    size: None,
                })
            }
        }
    }

    /// The data model value (current form, or legacy form if `size` is `None`).
    pub fn to_value(&self) -> Value {
        let mut m = Map::with_capacity(4);
        m.insert("mimeType", Value::from(self.mime_type.as_str()));
        match self.size {
            Some(size) => {
                m.insert("$type", Value::from("blob"));
                m.insert("ref", Value::link(self.cid));
                m.insert(
                    "size",
                    Value::Integer(i64::try_from(size).unwrap_or(i64::MAX)),
                );
            }
            None => {
                m.insert("cid", Value::from(self.cid.to_string()));
            }
        }
        Value::Map(m)
    }
}

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

/// Reads either form in one pass over the map, with the rules of [`Blob::from_value`]
/// (and of reading atproto data: no repeated key).
impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(BlobVisitor)
    }
}

struct BlobVisitor;

/// The value of a blob's key, as far as the blob needs it. Its strings are read as
/// [`Str`](crate::Str), a text string and nothing else (serde's `String` also takes a
/// UTF-8 byte string, which a blob's text fields must not be).
enum Part {
    Type(String),
    Ref(Cid),
    MimeType(String),
    Size(i64),
    LegacyCid(String),
}

impl<'de> serde::de::Visitor<'de> for BlobVisitor {
    type Value = Blob;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a blob")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Blob, A::Error> {
        use serde::de::Error as _;
        let (mut ty, mut cid, mut mime, mut size, mut legacy) = (None, None, None, None, None);
        while let Some(k) = map.next_key::<crate::Str>()? {
            let part =
                match &*k {
                    "$type" => Part::Type(map.next_value::<crate::Str>()?.into()),
                    "ref" => Part::Ref(
                        map.next_value::<crate::serde_impl::Link>()
                            .map_err(|_| A::Error::custom(bad("`ref` must be a link")))?
                            .0,
                    ),
                    "mimeType" => Part::MimeType(
                        map.next_value::<crate::Str>()
                            .map_err(|_| A::Error::custom(bad("`mimeType` must be a string")))?
                            .into(),
                    ),
                    "size" => Part::Size(map.next_value().map_err(|_| {
                        A::Error::custom(bad("`size` must be a non-negative integer"))
                    })?),
                    "cid" => Part::LegacyCid(
                        map.next_value::<crate::Str>()
                            .map_err(|_| A::Error::custom(bad("legacy form needs a `cid` string")))?
                            .into(),
                    ),
                    "$link" | "$bytes" => {
                        return Err(A::Error::custom(format_args!(
                            "a {} object must have no other keys",
                            &*k
                        )));
                    }
                    _ => {
                        map.next_value::<Value>()?;
                        continue;
                    }
                };
            let dup = match part {
                Part::Type(v) => ty.replace(v).is_some(),
                Part::Ref(v) => cid.replace(v).is_some(),
                Part::MimeType(v) => mime.replace(v).is_some(),
                Part::Size(v) => size.replace(v).is_some(),
                Part::LegacyCid(v) => legacy.replace(v).is_some(),
            };
            if dup {
                return Err(A::Error::custom(format_args!("duplicate key {:?}", &*k)));
            }
        }
        let mime_type = mime.ok_or_else(|| A::Error::custom(bad("`mimeType` must be a string")))?;
        match ty.as_deref() {
            Some("blob") => {
                let cid = cid.ok_or_else(|| A::Error::custom(bad("`ref` must be a link")))?;
                let size = size.and_then(|n| u64::try_from(n).ok()).ok_or_else(|| {
                    A::Error::custom(bad("`size` must be a non-negative integer"))
                })?;
                Ok(Blob {
                    cid,
                    mime_type,
                    size: Some(size),
                })
            }
            Some("") => Err(A::Error::custom("$type must not be empty")),
            Some(_) => Err(A::Error::custom(bad("`$type` is not \"blob\""))),
            None => {
                let s = legacy
                    .ok_or_else(|| A::Error::custom(bad("legacy form needs a `cid` string")))?;
                Ok(Blob {
                    cid: Cid::parse(&s).map_err(A::Error::custom)?,
                    mime_type,
                    size: None,
                })
            }
        }
    }
}
