//! Frames: a DAG-CBOR header `{op, t}` followed by a DAG-CBOR body (sans-IO).

use atmo_data::Value;
use atmo_data::cbor::{self, DecodeLimits};

use crate::error::FrameError;

/// Bounds on what a frame may hold. Every size is checked before it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FrameLimits {
    /// Most bytes in one frame. Default 5 MiB (relays cap commits at 2 MiB of blocks).
    pub max_frame_bytes: usize,
    /// Deepest nesting in the header and the body. Default 32.
    pub max_depth: usize,
    /// Most entries in one array or map of a frame. Default 100,000.
    pub max_items: usize,
    /// Most operations in one `#commit`. Default 10,000.
    pub max_ops: usize,
}

impl FrameLimits {
    /// The default limits (see the fields).
    pub const DEFAULT: Self = Self {
        max_frame_bytes: 5 << 20,
        max_depth: 32,
        max_items: 100_000,
        max_ops: 10_000,
    };

    /// Sets [`Self::max_frame_bytes`].
    #[must_use]
    pub const fn with_max_frame_bytes(mut self, n: usize) -> Self {
        self.max_frame_bytes = n;
        self
    }

    fn cbor(&self) -> DecodeLimits {
        DecodeLimits::DEFAULT
            .with_max_depth(self.max_depth)
            .with_max_items(self.max_items)
            .with_max_bytes(self.max_frame_bytes)
    }
}

impl Default for FrameLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `op: 1`: a message of type `t` (e.g. `#commit`).
    Message {
        /// The message type, as sent (`#commit`, or a full NSID-qualified name).
        t: String,
        /// The body.
        body: Value,
    },
    /// `op: -1`: an error; the stream ends after it.
    Error {
        /// The error name.
        error: String,
        /// The message, if any.
        message: Option<String>,
    },
}

/// Decodes a frame: two concatenated strict DAG-CBOR values, the header then the body.
///
/// ```
/// use atmo_data::{cbor, json};
/// use atmo_firehose::{Frame, FrameLimits, decode_frame};
/// let mut bytes = cbor::encode(&json::from_str(r##"{"op": 1, "t": "#info"}"##).unwrap());
/// bytes.extend(cbor::encode(&json::from_str(r#"{"name": "OutdatedCursor"}"#).unwrap()));
/// match decode_frame(&bytes, &FrameLimits::DEFAULT).unwrap() {
///     Frame::Message { t, .. } => assert_eq!(t, "#info"),
///     Frame::Error { .. } => unreachable!(),
/// }
/// ```
///
/// # Errors
/// [`FrameError`] for an oversized frame, bytes that are not two strict DAG-CBOR values,
/// or a header that is not `{op: 1, t}` / `{op: -1}`.
pub fn decode_frame(bytes: &[u8], limits: &FrameLimits) -> Result<Frame, FrameError> {
    if bytes.len() > limits.max_frame_bytes {
        return Err(FrameError::TooLarge {
            len: bytes.len(),
            max: limits.max_frame_bytes,
        });
    }
    let cl = limits.cbor();
    let (header, rest) = cbor::decode_prefix(bytes, &cl).map_err(|source| FrameError::Cbor {
        part: "header",
        source,
    })?;
    let Value::Map(h) = &header else {
        return Err(FrameError::Header {
            reason: "not a map",
        });
    };
    let op = h
        .get("op")
        .and_then(Value::as_integer)
        .ok_or(FrameError::Header {
            reason: "no integer op",
        })?;
    let body = cbor::decode_with(rest, &cl).map_err(|source| FrameError::Cbor {
        part: "body",
        source,
    })?;
    match op {
        1 => {
            let t = h
                .get("t")
                .and_then(Value::as_str)
                .ok_or(FrameError::Header {
                    reason: "a message frame has no string t",
                })?;
            if !matches!(body, Value::Map(_)) {
                return Err(FrameError::Header {
                    reason: "the body is not a map",
                });
            }
            Ok(Frame::Message {
                t: t.to_owned(),
                body,
            })
        }
        -1 => Ok(Frame::Error {
            error: body
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("(unnamed)")
                .to_owned(),
            message: body
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }),
        _ => Err(FrameError::Header {
            reason: "op is neither 1 nor -1",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atmo_data::json;

    fn frame(header: &str, body: &str) -> Vec<u8> {
        let mut b = cbor::encode(&json::from_str(header).unwrap());
        b.extend(cbor::encode(&json::from_str(body).unwrap()));
        b
    }

    #[test]
    fn error_frames_are_typed() {
        let b = frame(
            r#"{"op": -1}"#,
            r#"{"error": "FutureCursor", "message": "m"}"#,
        );
        let f = decode_frame(&b, &FrameLimits::DEFAULT).unwrap();
        assert_eq!(
            f,
            Frame::Error {
                error: "FutureCursor".into(),
                message: Some("m".into())
            }
        );
        let e = crate::event::RepoEvent::decode(&b, &FrameLimits::DEFAULT).unwrap_err();
        assert!(matches!(e, crate::error::Error::ErrorFrame { .. }), "{e}");
    }

    #[test]
    fn unknown_types_pass_and_bad_frames_fail() {
        let b = frame(r##"{"op": 1, "t": "#future"}"##, r#"{"seq": 9}"#);
        let ev = crate::event::RepoEvent::decode(&b, &FrameLimits::DEFAULT).unwrap();
        assert_eq!((ev.kind(), ev.seq()), ("future", Some(9)));
        // Only a header; a header with op 2; trailing garbage; too large; empty.
        let header_only = cbor::encode(&json::from_str(r##"{"op": 1, "t": "#x"}"##).unwrap());
        assert!(decode_frame(&header_only, &FrameLimits::DEFAULT).is_err());
        assert!(decode_frame(&frame(r#"{"op": 2}"#, "{}"), &FrameLimits::DEFAULT).is_err());
        let mut trailing = b.clone();
        trailing.push(0);
        assert!(decode_frame(&trailing, &FrameLimits::DEFAULT).is_err());
        let small = FrameLimits::DEFAULT.with_max_frame_bytes(4);
        assert!(matches!(
            decode_frame(&b, &small),
            Err(FrameError::TooLarge { .. })
        ));
        assert!(decode_frame(&[], &FrameLimits::DEFAULT).is_err());
        // A #commit missing its fields is a typed field error.
        let c = frame(r##"{"op": 1, "t": "#commit"}"##, r#"{"seq": 1}"#);
        assert!(crate::event::RepoEvent::decode(&c, &FrameLimits::DEFAULT).is_err());
    }
}
