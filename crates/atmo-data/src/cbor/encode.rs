//! The deterministic encoder.

use crate::{Cid, Value, ValueRef};

#[inline]
fn head(out: &mut Vec<u8>, major: u8, v: u64) {
    let m = major << 5;
    if v < 24 {
        out.push(m | v as u8);
    } else if v <= 0xff {
        out.extend_from_slice(&[m | 24, v as u8]);
    } else if v <= 0xffff {
        let [b0, b1] = (v as u16).to_be_bytes();
        out.extend_from_slice(&[m | 25, b0, b1]);
    } else if v <= 0xffff_ffff {
        out.push(m | 26);
        out.extend_from_slice(&(v as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

#[inline]
fn int(out: &mut Vec<u8>, i: i64) {
    if i >= 0 {
        head(out, 0, i as u64);
    } else {
        // -1 - i cannot overflow for negative i.
        head(out, 1, (-1 - i) as u64);
    }
}

#[inline]
fn text(out: &mut Vec<u8>, s: &str) {
    head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

#[inline]
fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    head(out, 2, b.len() as u64);
    out.extend_from_slice(b);
}

#[inline]
fn link_raw(out: &mut Vec<u8>, raw: &[u8]) {
    out.extend_from_slice(&[0xd8, 42]);
    head(out, 2, raw.len() as u64 + 1);
    out.push(0);
    out.extend_from_slice(raw);
}

#[inline]
fn link(out: &mut Vec<u8>, cid: &Cid) {
    out.extend_from_slice(&[0xd8, 42]);
    head(out, 2, cid.encoded_len() as u64 + 1);
    out.push(0);
    cid.write_bytes(out);
}

/// Appends the DAG-CBOR encoding of `v` to `out`.
pub fn encode_into(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.push(0xf6),
        Value::Bool(false) => out.push(0xf4),
        Value::Bool(true) => out.push(0xf5),
        Value::Integer(i) => int(out, *i),
        Value::String(s) => text(out, s),
        Value::Bytes(b) => bytes(out, b),
        Value::Link(c) => link(out, c),
        Value::Array(a) => {
            head(out, 4, a.len() as u64);
            for e in a {
                encode_into(e, out);
            }
        }
        Value::Map(m) => {
            head(out, 5, m.len() as u64);
            for (k, e) in m.iter() {
                text(out, k);
                encode_into(e, out);
            }
        }
    }
}

/// The DAG-CBOR encoding of `v`. Deterministic: equal values give equal bytes, and
/// re-encoding decoded bytes gives the same bytes.
///
/// ```
/// # fn main() -> Result<(), atmo_data::Error> {
/// let v = atmo_data::json::from_str(r#"{"b": 1, "a": [true, null]}"#)?;
/// assert_eq!(atmo_data::cbor::encode(&v), [0xa2, 0x61, b'a', 0x82, 0xf5, 0xf6, 0x61, b'b', 0x01]);
/// # Ok(()) }
/// ```
pub fn encode(v: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    encode_into(v, &mut out);
    out
}

/// Appends the DAG-CBOR encoding of a borrowed value to `out`.
pub fn encode_ref_into(v: &ValueRef<'_>, out: &mut Vec<u8>) {
    match v {
        ValueRef::Null => out.push(0xf6),
        ValueRef::Bool(false) => out.push(0xf4),
        ValueRef::Bool(true) => out.push(0xf5),
        ValueRef::Integer(i) => int(out, *i),
        ValueRef::String(s) => text(out, s),
        ValueRef::Bytes(b) => bytes(out, b),
        ValueRef::Link(c) => link_raw(out, c.as_bytes()),
        // Containers only come from validated input, which is already canonical.
        ValueRef::Array(a) => out.extend_from_slice(a.as_encoded()),
        ValueRef::Map(m) => out.extend_from_slice(m.as_encoded()),
    }
}

/// The DAG-CBOR encoding of a borrowed value.
pub fn encode_ref(v: &ValueRef<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    encode_ref_into(v, &mut out);
    out
}
