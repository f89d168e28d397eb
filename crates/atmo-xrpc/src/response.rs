//! Success responses, and sorting a complete response into success or error: pure
//! functions, no I/O.

use bytes::Bytes;
use http::HeaderMap;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::xrpc_error::{RateLimit, XrpcError};

/// A success response: status, headers and the whole body.
#[derive(Debug, Clone)]
pub struct XrpcResponse {
    /// The HTTP status (2xx).
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl XrpcResponse {
    /// The rate-limit headers, if any.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        RateLimit::from_headers(&self.headers)
    }

    /// The `Content-Type` without parameters, lower case.
    pub fn content_type(&self) -> Option<String> {
        self.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
    }

    /// The body as a serde type, from atproto JSON (`$link` into [`atmo_data::Cid`] etc.).
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when the body is not that JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        let text = std::str::from_utf8(&self.body).map_err(|e| Error::Decode {
            what: "JSON".into(),
            message: e.to_string(),
        })?;
        let text = if text.trim().is_empty() { "null" } else { text };
        atmo_data::from_json(text).map_err(|e| Error::Decode {
            what: "JSON".into(),
            message: e.to_string(),
        })
    }

    /// The body as a data model [`atmo_data::Value`], from atproto JSON or, when the
    /// content type says so, DAG-CBOR.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when the body is neither.
    pub fn value(&self) -> Result<atmo_data::Value> {
        if self.content_type().as_deref() == Some("application/cbor") {
            return atmo_data::cbor::decode(&self.body).map_err(|e| Error::Decode {
                what: "CBOR".into(),
                message: e.to_string(),
            });
        }
        atmo_data::json::from_slice(&self.body).map_err(|e| Error::Decode {
            what: "JSON".into(),
            message: e.to_string(),
        })
    }
}

/// Sorts a complete response into success or [`XrpcError`]. Anything outside 2xx is an
/// error.
///
/// # Errors
///
/// [`XrpcError`] for a status outside 200..300.
// The error is the common case here and is consumed at once; boxing it buys nothing.
#[allow(clippy::result_large_err)]
pub fn classify(
    status: u16,
    headers: HeaderMap,
    body: Bytes,
) -> std::result::Result<XrpcResponse, XrpcError> {
    if (200..300).contains(&status) {
        Ok(XrpcResponse {
            status,
            headers,
            body,
        })
    } else {
        Err(XrpcError::from_parts(status, &headers, &body))
    }
}
