//! Deserializing a [`Value`] (from JSON, or any serde format) under a memory budget
//! ([`DecodeLimits::max_memory`]), charged the way the owned DAG-CBOR decoder charges it:
//! each array entry `size_of::<Value>()`, each map entry
//! `size_of::<(Cow<str>, Value)>()`, each string longer than [`INLINE_LEN`](crate::INLINE_LEN)
//! its length, each byte string its length, each link `size_of::<Cid>()`. Map keys are
//! not charged (nor are they by the CBOR decoder). A `$bytes` or `$link` object is
//! charged as what it becomes (bytes, a link), not as the string it was read from.
//!
//! `Value`'s own `Deserialize` (for any serde format) is here too, reading with an
//! unlimited budget, so there is one visitor; atmo's JSON reader gives the limit of its
//! [`DecodeLimits`].
//!
//! serde_json gives no length for arrays and objects, so entries are charged as they
//! are read (the CBOR decoder charges a declared length up front); a collection's spare
//! capacity is given back when it ends, so what stays in memory is what was charged.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::cbor::{DecodeErrorKind, DecodeLimits};
use crate::serde_impl::{KeySeed, integral_f64, object_cow, out_of_range};
use crate::{Cid, Value};

/// Bytes one array entry costs (as in the CBOR decoder).
const ARR_ENTRY: usize = std::mem::size_of::<Value>();
/// Bytes one map entry costs (as in the CBOR decoder).
const MAP_ENTRY: usize = std::mem::size_of::<(Cow<'static, str>, Value)>();
/// Most entries reserved up front for one collection (the rest grow as read).
const MAX_PREALLOC: usize = 1024;
/// Spare entries at the end of a collection above which the spare capacity is released.
const MAX_SPARE: usize = 64;

/// What is left of the budget while one document is read.
pub(crate) struct Budget {
    left: Cell<usize>,
    max: usize,
    exceeded: Cell<bool>,
}

impl Budget {
    /// A budget of `limits.max_memory` bytes.
    pub(crate) fn new(limits: &DecodeLimits) -> Self {
        Self {
            left: Cell::new(limits.max_memory),
            max: limits.max_memory,
            exceeded: Cell::new(false),
        }
    }

    /// No limit (what `Value`'s own `Deserialize` uses).
    fn unlimited() -> Self {
        Self {
            left: Cell::new(usize::MAX),
            max: usize::MAX,
            exceeded: Cell::new(false),
        }
    }

    /// Whether reading stopped because the budget ran out.
    pub(crate) fn exceeded(&self) -> bool {
        self.exceeded.get()
    }

    /// The budget, in bytes.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Takes `n` bytes from the budget.
    #[inline]
    fn charge<E: de::Error>(&self, n: usize) -> Result<(), E> {
        match self.left.get().checked_sub(n) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => {
                self.exceeded.set(true);
                Err(E::custom(DecodeErrorKind::MemoryBudget { max: self.max }))
            }
        }
    }

    /// Gives `n` bytes back (what was charged for something no longer kept).
    #[inline]
    fn refund(&self, n: usize) {
        self.left
            .set(self.left.get().saturating_add(n).min(self.max));
    }

    /// What a string of `len` bytes costs as a [`Value::String`].
    #[inline]
    fn string_cost(len: usize) -> usize {
        if len > crate::INLINE_LEN { len } else { 0 }
    }
}

/// Reads one value, charging `budget`.
pub(crate) struct ValueSeed<'b>(pub(crate) &'b Budget);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an atproto data model value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        self.0.charge(v.len())?;
        Ok(Value::Bytes(v.to_vec()))
    }
    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Value, E> {
        self.0.charge(v.len())?;
        Ok(Value::Bytes(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Integer(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        i64::try_from(v)
            .map(Value::Integer)
            .map_err(|_| E::custom(out_of_range(v)))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        i64::try_from(v)
            .map(Value::Integer)
            .map_err(|_| E::custom(out_of_range(v)))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        i64::try_from(v)
            .map(Value::Integer)
            .map_err(|_| E::custom(out_of_range(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        integral_f64(v).map(Value::Integer).map_err(E::custom)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.0.charge(Budget::string_cost(v.len()))?;
        Ok(Value::from(v))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.0.charge(Budget::string_cost(v.len()))?;
        Ok(Value::from(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let budget = self.0;
        let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_PREALLOC));
        while let Some(e) = seq.next_element_seed(ValueSeed(budget))? {
            budget.charge(ARR_ENTRY)?;
            v.push(e);
        }
        if v.capacity() - v.len() > MAX_SPARE {
            v.shrink_to_fit();
        }
        Ok(Value::Array(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let budget = self.0;
        let mut entries: Vec<(Cow<'static, str>, Value)> =
            Vec::with_capacity(map.size_hint().unwrap_or(0).min(MAX_PREALLOC));
        while let Some(k) = map.next_key_seed(KeySeed)? {
            let v = map.next_value_seed(ValueSeed(budget))?;
            budget.charge(MAP_ENTRY)?;
            entries.push((k, v));
        }
        if entries.capacity() - entries.len() > MAX_SPARE {
            entries.shrink_to_fit();
        }
        // What a `$link` or `$bytes` object was charged (one entry and its string) is
        // given back and what it becomes is charged instead.
        let special = match entries.as_slice() {
            [(k, Value::String(s))] if k == "$link" || k == "$bytes" => {
                Some(MAP_ENTRY + Budget::string_cost(s.len()))
            }
            _ => None,
        };
        let value = object_cow(entries).map_err(de::Error::custom)?;
        if let Some(charged) = special {
            budget.refund(charged);
            match &value {
                Value::Link(_) => budget.charge(std::mem::size_of::<Cid>())?,
                Value::Bytes(b) => budget.charge(b.len())?,
                _ => {}
            }
        }
        Ok(value)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ValueSeed(&Budget::unlimited()).deserialize(d)
    }
}
