//! atproto JSON: the JSON form of the data model.
//!
//! - A link is `{"$link": "<CID string>"}` and nothing else in that object.
//! - Bytes are `{"$bytes": "<base64>"}` and nothing else in that object. Reading accepts
//!   standard base64 with or without padding and with non-zero trailing bits (as the
//!   official fixtures need); writing gives standard base64 without padding.
//! - Numbers must be integers within `i64`. A plain integer literal is read exactly over
//!   the whole `i64` range. A number with a fraction or an exponent is read as the
//!   reference implementation reads it: an integer when its value as a double is integral
//!   and at most 2^53 - 1 in magnitude (`1.0` is 1, `1E+2` is 100, `-0` is 0), refused
//!   otherwise (`1.5`, `1e-2`, `1e17`). Beyond `i64` the error says "integer out of range".
//! - Object keys must not repeat.
//! - A `$type` key must hold a non-empty string; `"$type": "blob"` objects must have a
//!   `ref` link, a string `mimeType` and an integer `size`.
//!
//! [`from_str`] accepts any value; [`record_from_str`] also requires an object at the top
//! level, as for a record.
//!
//! Reading builds an owned [`Value`] under the memory budget of the
//! [`DecodeLimits`] (default 1 GiB, charged as the DAG-CBOR
//! decoder charges it): [`from_str_with`] and [`from_slice_with`] take other limits.
//! Exceeding it is [`JsonError::MemoryBudget`], naming where reading stopped.

mod budget;

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD_NO_PAD};

use crate::Value;
use crate::cbor::DecodeLimits;

/// Why text is not atproto JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// The text is not JSON, or breaks an atproto data model rule; `line`/`column` are
    /// 1-based positions where the problem was noticed (0 if unknown).
    #[error("invalid atproto JSON at line {line}, column {column}: {msg}")]
    Invalid {
        /// Line, 1-based.
        line: usize,
        /// Column, 1-based.
        column: usize,
        /// What is wrong.
        msg: String,
    },
    /// A string, byte string, array or object larger than the DAG-CBOR decoder's
    /// default limits: it could be written as DAG-CBOR but not read back.
    #[error("invalid atproto JSON: {msg}")]
    Limit {
        /// Which limit, and by how much.
        msg: String,
    },
    /// Building the value would take more memory than
    /// [`DecodeLimits::max_memory`] (the same budget, charged the same way, as
    /// [`DecodeErrorKind::MemoryBudget`](crate::cbor::DecodeErrorKind::MemoryBudget) in
    /// the DAG-CBOR decoder); `line`/`column` (1-based) are where reading stopped.
    #[error(
        "invalid atproto JSON at line {line}, column {column}: the decoded value would take \
         more than {max} bytes of memory"
    )]
    MemoryBudget {
        /// Line, 1-based.
        line: usize,
        /// Column, 1-based.
        column: usize,
        /// The budget, in bytes.
        max: usize,
    },
    /// The top level is not an object (required for records).
    #[error("invalid atproto JSON: the top level must be an object, not {found}")]
    NotAnObject {
        /// The kind of value found.
        found: &'static str,
    },
}

impl From<serde_json::Error> for JsonError {
    fn from(e: serde_json::Error) -> Self {
        // serde_json appends " at line L column C" to the message; keep the bare message.
        let mut msg = e.to_string();
        if let Some(i) = msg.rfind(" at line ") {
            msg.truncate(i);
        }
        Self::Invalid {
            line: e.line(),
            column: e.column(),
            msg,
        }
    }
}

/// Lenient base64 for reading `$bytes`: standard alphabet, padding optional, trailing
/// bits ignored.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes the base64 of a `$bytes` object (lenient, see the module docs).
pub(crate) fn decode_base64(s: &str) -> Option<Vec<u8>> {
    LENIENT.decode(s).ok()
}

/// Encodes bytes as standard base64 without padding (the `$bytes` form).
pub(crate) fn encode_base64(b: &[u8]) -> String {
    STANDARD_NO_PAD.encode(b)
}

/// Parses atproto JSON into a [`Value`] (any kind of value at the top level), with the
/// default [`DecodeLimits`].
///
/// ```
/// # fn main() -> Result<(), atmo_data::Error> {
/// let v = atmo_data::json::from_str(r#"{"a": {"$bytes": "AQID"}, "b": 1}"#)?;
/// assert_eq!(v.get("a").and_then(|a| a.as_bytes()), Some(&[1u8, 2, 3][..]));
/// assert!(atmo_data::json::from_str(r#"{"a": 1.5}"#).is_err());
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`JsonError`] if the text is not JSON, breaks a data model rule, or exceeds the limits.
pub fn from_str(s: &str) -> Result<Value, JsonError> {
    from_str_with(s, &DecodeLimits::DEFAULT)
}

/// Parses atproto JSON bytes (UTF-8) into a [`Value`], with the default [`DecodeLimits`].
///
/// # Errors
/// [`JsonError`] if the bytes are not UTF-8 JSON, break a data model rule, or exceed the
/// limits.
pub fn from_slice(b: &[u8]) -> Result<Value, JsonError> {
    from_slice_with(b, &DecodeLimits::DEFAULT)
}

/// [`from_str`] with the given limits: the memory budget
/// ([`DecodeLimits::max_memory`]), and the longest string and largest collection that
/// DAG-CBOR decoding with these limits reads back.
///
/// ```
/// use atmo_data::cbor::DecodeLimits;
/// use atmo_data::json::{JsonError, from_str_with};
/// let tight = DecodeLimits::DEFAULT.with_max_memory(100);
/// assert!(from_str_with("[1, 2]", &tight).is_ok());
/// let e = from_str_with("[[], [], [], [], []]", &tight).unwrap_err();
/// assert!(matches!(e, JsonError::MemoryBudget { max: 100, line: 1, .. }), "{e}");
/// ```
///
/// # Errors
/// As for [`from_str`]; [`JsonError::MemoryBudget`] when the budget runs out.
pub fn from_str_with(s: &str, limits: &DecodeLimits) -> Result<Value, JsonError> {
    read(serde_json::Deserializer::from_str(s), limits)
}

/// [`from_slice`] with the given limits (see [`from_str_with`]).
///
/// # Errors
/// As for [`from_slice`]; [`JsonError::MemoryBudget`] when the budget runs out.
pub fn from_slice_with(b: &[u8], limits: &DecodeLimits) -> Result<Value, JsonError> {
    read(serde_json::Deserializer::from_slice(b), limits)
}

/// Reads one value (and nothing after it but whitespace) under the limits.
fn read<'de, R: serde_json::de::Read<'de>>(
    mut de: serde_json::Deserializer<R>,
    limits: &DecodeLimits,
) -> Result<Value, JsonError> {
    use serde::de::DeserializeSeed as _;
    let budget = budget::Budget::new(limits);
    let value = budget::ValueSeed(&budget)
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
    match value {
        Ok(v) => within_limits(v, limits),
        Err(e) if budget.exceeded() => Err(JsonError::MemoryBudget {
            line: e.line(),
            column: e.column(),
            max: budget.max(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// Checks a value read from JSON against the DAG-CBOR decoder's limits, so that what is
/// read here encodes to DAG-CBOR that decodes again with the same limits: strings and
/// bytes of at most [`DecodeLimits::max_bytes`] (default 16 MiB), arrays and maps of at
/// most [`DecodeLimits::max_items`] (default 1,048,576) entries. (Nesting is bounded by
/// the JSON reader itself: 127 levels, the decoder's default depth.)
fn within_limits(v: Value, limits: &DecodeLimits) -> Result<Value, JsonError> {
    match first_excess(&v, limits) {
        None => Ok(v),
        Some(msg) => Err(JsonError::Limit { msg }),
    }
}

fn first_excess(v: &Value, l: &DecodeLimits) -> Option<String> {
    let too_long = |what: &str, len: usize| {
        (len > l.max_bytes).then(|| {
            format!(
                "a {what} of {len} bytes exceeds the DAG-CBOR limit of {}",
                l.max_bytes
            )
        })
    };
    let too_many = |what: &str, len: usize| {
        (len > l.max_items).then(|| {
            format!(
                "an {what} of {len} entries exceeds the DAG-CBOR limit of {}",
                l.max_items
            )
        })
    };
    match v {
        Value::String(s) => too_long("string", s.len()),
        Value::Bytes(b) => too_long("byte string", b.len()),
        Value::Array(a) => {
            too_many("array", a.len()).or_else(|| a.iter().find_map(|e| first_excess(e, l)))
        }
        Value::Map(m) => too_many("object", m.len()).or_else(|| {
            m.iter()
                .find_map(|(k, e)| too_long("key", k.len()).or_else(|| first_excess(e, l)))
        }),
        _ => None,
    }
}

/// Parses atproto JSON that must be an object at the top level (a record, or any "data
/// object").
///
/// # Errors
/// [`JsonError`] as for [`from_str`], and [`JsonError::NotAnObject`].
pub fn record_from_str(s: &str) -> Result<Value, JsonError> {
    check_object(from_str(s)?)
}

/// Like [`record_from_str`], from UTF-8 bytes.
///
/// # Errors
/// [`JsonError`] as for [`from_slice`], and [`JsonError::NotAnObject`].
pub fn record_from_slice(b: &[u8]) -> Result<Value, JsonError> {
    check_object(from_slice(b)?)
}

fn check_object(v: Value) -> Result<Value, JsonError> {
    match v {
        Value::Map(_) => Ok(v),
        other => Err(JsonError::NotAnObject {
            found: other.kind(),
        }),
    }
}

/// Writes a [`Value`] as compact atproto JSON (keys in DAG-CBOR order).
///
/// ```
/// # fn main() -> Result<(), atmo_data::Error> {
/// let v = atmo_data::json::from_str(r#"{"b": {"$bytes": "AQID"}, "a": true}"#)?;
/// assert_eq!(atmo_data::json::to_string(&v), r#"{"a":true,"b":{"$bytes":"AQID"}}"#);
/// # Ok(()) }
/// ```
pub fn to_string(v: &Value) -> String {
    let mut out = String::with_capacity(128);
    write_value(v, &mut out);
    out
}

/// Writes a [`Value`] as indented atproto JSON.
pub fn to_string_pretty(v: &Value) -> String {
    // Value's Serialize impl writes the atproto forms for human-readable formats and
    // cannot fail (keys are strings, no floats); fall back to the compact form regardless.
    serde_json::to_string_pretty(v).unwrap_or_else(|_| to_string(v))
}

fn write_str(s: &str, out: &mut String) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(s.get(start..i).unwrap_or(""));
        if esc.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or(""));
    out.push('"');
}

fn write_value(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Integer(i) => out.push_str(&i.to_string()),
        Value::String(s) => write_str(s, out),
        Value::Bytes(b) => {
            out.push_str("{\"$bytes\":\"");
            out.push_str(&encode_base64(b));
            out.push_str("\"}");
        }
        Value::Link(c) => {
            out.push_str("{\"$link\":\"");
            out.push_str(&c.to_string());
            out.push_str("\"}");
        }
        Value::Array(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(e, out);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(k, out);
                out.push(':');
                write_value(e, out);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(s: &str) -> String {
        from_str(s).unwrap_err().to_string()
    }

    #[test]
    fn integer_like_numbers_are_integers() {
        for (text, want) in [
            ("1.0", 1),
            ("2.00", 2),
            ("1e2", 100),
            ("1E+2", 100),
            ("1.5e1", 15),
            ("-1.5e1", -15),
            ("0.1e1", 1),
            ("-0", 0),
            ("-0.0", 0),
            ("9007199254740991.0", 9_007_199_254_740_991),
            ("-9007199254740991e0", -9_007_199_254_740_991),
            ("9007199254740993", 9_007_199_254_740_993),
            ("9223372036854775807", i64::MAX),
            ("-9223372036854775808", i64::MIN),
        ] {
            assert_eq!(from_str(text).unwrap(), Value::Integer(want), "{text}");
        }
    }

    #[test]
    fn floats_and_out_of_range_integers_rejected() {
        for text in ["1.5", "1e-2", "0.5e0", "-1.25"] {
            assert!(
                bad(&format!(r#"{{"a": {text}}}"#)).contains("float"),
                "{text}"
            );
        }
        for text in [
            "9223372036854775808",
            "18446744073709551616",
            "-9223372036854775809",
            "100000000000000000000000",
            "1e19",
            "-1e300",
        ] {
            let e = bad(&format!(r#"{{"a": {text}}}"#));
            assert!(e.contains("integer out of range"), "{text}: {e}");
        }
        // Beyond 2^53 a fraction or an exponent is not exact: refused as the reference does.
        for text in ["9007199254740992.0", "1e17"] {
            assert!(bad(text).contains("not exact"), "{text}");
        }
    }

    #[test]
    fn values_beyond_the_decoder_limits_are_refused() {
        let max = crate::cbor::DecodeLimits::DEFAULT.max_bytes;
        let ok = format!("\"{}\"", "a".repeat(max));
        assert!(from_str(&ok).is_ok());
        let long = format!("{{\"a\": \"{}\"}}", "a".repeat(max + 1));
        let e = from_str(&long).unwrap_err();
        assert!(matches!(e, JsonError::Limit { .. }), "{e}");
        assert!(e.to_string().contains("exceeds the DAG-CBOR limit"), "{e}");
        let items = crate::cbor::DecodeLimits::DEFAULT.max_items;
        let arr = format!("[{}0]", "0,".repeat(items));
        assert!(matches!(from_str(&arr), Err(JsonError::Limit { .. })));
    }

    /// The least budget with which `ok` succeeds (`ok(usize::MAX)` must succeed).
    fn least_budget(ok: impl Fn(usize) -> bool) -> usize {
        let (mut lo, mut hi) = (0usize, 1usize << 40);
        assert!(ok(hi));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if ok(mid) { hi = mid } else { lo = mid + 1 }
        }
        lo
    }

    #[test]
    fn memory_budget_is_charged_as_by_the_cbor_decoder() {
        let cid = "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a";
        let long = "x".repeat(100);
        let docs = [
            format!("[{}{{}}]", "{},".repeat(999)),
            format!("[{}[]]", "[1, true, null],".repeat(99)),
            format!(
                r#"{{"text": "{long}", "short": "abc", "link": {{"$link": "{cid}"}},
                    "bytes": {{"$bytes": "{}"}}, "nested": {{"a": [{{"b": ["{long}"]}}]}},
                    "$type": "com.example.thing"}}"#,
                encode_base64(&[7u8; 300])
            ),
            "{}".to_owned(),
            "\"short\"".to_owned(),
        ];
        for doc in &docs {
            let value = from_str(doc).unwrap();
            let bytes = crate::cbor::encode(&value);
            let lim = |n| DecodeLimits::DEFAULT.with_max_memory(n);
            let cbor = least_budget(|n| crate::cbor::decode_with(&bytes, &lim(n)).is_ok());
            let json = least_budget(|n| from_str_with(doc, &lim(n)).is_ok());
            assert_eq!(json, cbor, "{doc}");
            if json > 0 {
                let e = from_str_with(doc, &lim(json - 1)).unwrap_err();
                assert!(
                    matches!(e, JsonError::MemoryBudget { max, line: 1.., column: 1.. } if max == json - 1),
                    "{e:?}"
                );
                let ce = crate::cbor::decode_with(&bytes, &lim(json - 1)).unwrap_err();
                assert_eq!(
                    ce.kind,
                    crate::cbor::DecodeErrorKind::MemoryBudget { max: json - 1 }
                );
            }
        }
    }

    #[test]
    fn memory_budget_error_names_where_and_the_default_is_the_cbor_default() {
        // 1,000 empty maps cost 1,000 entries; with room for 10, reading stops just
        // after the 11th (line 2, columns 32-33; serde_json has read on by one byte).
        let doc = format!("{{\"a\":\n[{}{{}}]}}", "{},".repeat(999));
        let entry = std::mem::size_of::<Value>();
        let lim = DecodeLimits::DEFAULT.with_max_memory(10 * entry);
        let e = from_str_with(&doc, &lim).unwrap_err();
        assert_eq!(
            e,
            JsonError::MemoryBudget {
                line: 2,
                column: 34,
                max: 10 * entry
            }
        );
        assert_eq!(
            e.to_string(),
            format!(
                "invalid atproto JSON at line 2, column 34: the decoded value would take more \
                 than {} bytes of memory",
                10 * entry
            )
        );
        assert!(from_slice_with(doc.as_bytes(), &lim).is_err());
        assert!(from_str(&doc).is_ok());
        assert!(record_from_slice(doc.as_bytes()).is_ok());
        // Other errors are not budget errors, even with a tight budget.
        assert!(matches!(
            from_str_with("[1.5]", &lim),
            Err(JsonError::Invalid { .. })
        ));
        assert!(matches!(
            from_str_with("[] x", &lim),
            Err(JsonError::Invalid { .. })
        ));
    }

    #[test]
    fn link_and_bytes_rules() {
        let cid = "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a";
        let v = from_str(&format!(r#"{{"$link": "{cid}"}}"#)).unwrap();
        assert_eq!(v.as_link().unwrap().to_string(), cid);
        assert!(bad(&format!(r#"{{"$link": "{cid}", "x": 1}}"#)).contains("$link"));
        assert!(bad(r#"{"$link": 1}"#).contains("$link"));
        assert!(bad(r#"{"$link": "."}"#).contains("CID"));
        assert!(bad(r#"{"$bytes": "AQID", "x": 1}"#).contains("$bytes"));
        assert!(bad(r#"{"$bytes": [1]}"#).contains("$bytes"));
        assert!(bad(r#"{"$bytes": "!!"}"#).contains("base64"));
        // Lenient reading: padding optional, trailing bits ignored.
        assert_eq!(
            from_str(r#"{"$bytes": "AQ=="}"#).unwrap(),
            Value::Bytes(vec![1])
        );
        assert_eq!(
            from_str(r#"{"$bytes": "AQ"}"#).unwrap(),
            Value::Bytes(vec![1])
        );
        assert_eq!(
            from_str(r#"{"$bytes": "123"}"#).unwrap(),
            Value::Bytes(vec![0xd7, 0x6d])
        );
        assert_eq!(to_string(&Value::Bytes(vec![1])), r#"{"$bytes":"AQ"}"#);
    }

    #[test]
    fn type_and_blob_rules() {
        assert!(bad(r#"{"$type": null}"#).contains("$type"));
        assert!(bad(r#"{"$type": ""}"#).contains("$type"));
        assert!(bad(r#"{"$type": 1}"#).contains("$type"));
        assert!(bad(r#"{"$type": "blob", "mimeType": "a/b", "size": 1}"#).contains("blob"));
        let cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
        let ok = format!(
            r#"{{"$type": "blob", "ref": {{"$link": "{cid}"}}, "mimeType": "a/b", "size": 1}}"#
        );
        assert!(from_str(&ok).is_ok());
        let bad_size = ok.replace("\"size\": 1", "\"size\": \"1\"");
        assert!(bad(&bad_size).contains("blob"));
    }

    #[test]
    fn duplicate_keys_rejected() {
        assert!(bad(r#"{"a": 1, "a": 2}"#).contains("duplicate"));
    }

    #[test]
    fn top_level_object_required_for_records() {
        assert!(matches!(
            record_from_str(r#""blah""#),
            Err(JsonError::NotAnObject { found: "string" })
        ));
        assert!(record_from_str("{}").is_ok());
    }

    #[test]
    fn string_escapes_match_serde_json() {
        let s = "a\"b\\c\n\u{1}\u{7f}é😀";
        let v = Value::from(s);
        assert_eq!(to_string(&v), serde_json::to_string(s).unwrap());
        assert_eq!(from_str(&to_string(&v)).unwrap(), v);
    }
}
