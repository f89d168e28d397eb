//! A serde `Deserializer` that reads a [`Value`].

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

use super::value_serde::LINK_TOKEN;
use crate::value::Map;
use crate::{Error, Value};

impl de::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error::Serde(msg.to_string())
    }
}

/// Converts a [`Value`] into any `DeserializeOwned` type.
///
/// A [`Value::Link`] deserializes into a [`Cid`](crate::Cid) field, a [`Value::Bytes`]
/// into a bytes field (see [`crate::bytes`]) or a `Vec<u8>`.
///
/// # Errors
/// [`Error::Serde`] if the value does not fit the type.
pub fn from_value<T: DeserializeOwned>(v: Value) -> Result<T, Error> {
    T::deserialize(v)
}

impl<'de> IntoDeserializer<'de, Error> for Value {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

fn link_as_map(cid: &crate::Cid) -> Value {
    let mut m = Map::with_capacity(1);
    m.insert("$link", Value::from(cid.to_string()));
    Value::Map(m)
}

impl<'de> de::Deserializer<'de> for Value {
    type Error = Error;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self {
            Value::Null => v.visit_unit(),
            Value::Bool(b) => v.visit_bool(b),
            Value::Integer(i) => v.visit_i64(i),
            Value::String(s) => v.visit_string(s.into_string()),
            Value::Bytes(b) => v.visit_byte_buf(b),
            // Without a hint, a link reads as its JSON form, which `Value` and `Cid`
            // visitors both understand.
            Value::Link(c) => link_as_map(&c).deserialize_any(v),
            Value::Array(a) => {
                let mut seq = SeqDeserializer::new(a.into_iter());
                let out = v.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(out)
            }
            Value::Map(m) => {
                let mut map = MapDeserializer::new(m.into_iter());
                let out = v.visit_map(&mut map)?;
                map.end()?;
                Ok(out)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self {
            Value::Null => v.visit_none(),
            other => v.visit_some(other),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, Error> {
        if name == LINK_TOKEN {
            return match self {
                Value::Link(c) => v.visit_byte_buf(c.to_bytes()),
                other => Err(Error::Serde(format!(
                    "expected a link, found {}",
                    other.kind()
                ))),
            };
        }
        v.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self {
            // Lets a plain `Vec<u8>` field read a byte string.
            Value::Bytes(b) => {
                let mut seq = SeqDeserializer::<_, Error>::new(b.into_iter());
                let out = v.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(out)
            }
            other => other.deserialize_any(v),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        match self {
            Value::String(s) => v.visit_enum(s.into_deserializer()),
            Value::Map(m) if m.len() == 1 => {
                let mut it = m.into_iter();
                match it.next() {
                    Some((variant, value)) => v.visit_enum(EnumAccess { variant, value }),
                    None => Err(Error::Serde("empty enum map".into())),
                }
            }
            other => Err(Error::Serde(format!(
                "expected an enum (string or single-key map), found {}",
                other.kind()
            ))),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self {
            Value::Null => v.visit_unit(),
            other => other.deserialize_any(v),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit_struct tuple tuple_struct map struct identifier ignored_any
    }
}

struct EnumAccess {
    variant: String,
    value: Value,
}

impl<'de> de::EnumAccess<'de> for EnumAccess {
    type Error = Error;
    type Variant = VariantAccess;
    fn variant_seed<S: de::DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, VariantAccess), Error> {
        let d: de::value::StringDeserializer<Error> = self.variant.into_deserializer();
        let tag = seed.deserialize(d)?;
        Ok((tag, VariantAccess(self.value)))
    }
}

struct VariantAccess(Value);

impl<'de> de::VariantAccess<'de> for VariantAccess {
    type Error = Error;
    fn unit_variant(self) -> Result<(), Error> {
        match self.0 {
            Value::Null => Ok(()),
            other => Err(Error::Serde(format!(
                "expected a unit variant, found {}",
                other.kind()
            ))),
        }
    }
    fn newtype_variant_seed<S: de::DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Error> {
        seed.deserialize(self.0)
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_seq(self.0, v)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_map(self.0, v)
    }
}
