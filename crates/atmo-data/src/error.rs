//! The crate's error type.

use crate::cbor::DecodeError;
use crate::cid::CidError;
use crate::json::JsonError;

/// Any error of this crate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes are not strict DAG-CBOR (or exceed the decode limits).
    #[error(transparent)]
    Cbor(#[from] DecodeError),
    /// Text is not atproto JSON.
    #[error(transparent)]
    Json(#[from] JsonError),
    /// Bytes or a string are not a supported CID.
    #[error(transparent)]
    Cid(#[from] CidError),
    /// A Rust value could not be converted to or from a data model [`Value`](crate::Value)
    /// (a float, a non-string map key, a missing field, a wrong type...).
    #[error("{0}")]
    Serde(String),
    /// A value inside a DAG-CBOR document did not fit the Rust type: where it is (a
    /// path such as `$.embed.images[0]`, and the byte offset where the value starts) and
    /// what was wrong (a [`Error::Serde`]).
    #[error("at {path} (byte {offset}): {source}")]
    At {
        /// The JSON-style path of the value, from the document's root `$`.
        path: String,
        /// The byte offset of the value in the document.
        offset: usize,
        /// What was wrong.
        source: Box<Error>,
    },
}

impl Error {
    /// The error without its location: the innermost [`Error::At`] source.
    #[must_use]
    pub fn innermost(&self) -> &Error {
        match self {
            Error::At { source, .. } => source.innermost(),
            other => other,
        }
    }

    /// Adds a path segment (`.key` or `[i]`) in front of the path of a typed error
    /// (`Serde` or `At`); other errors already say where they are.
    #[cold]
    #[inline(never)]
    pub(crate) fn within(self, segment: std::fmt::Arguments<'_>, offset: usize) -> Error {
        match self {
            Error::Serde(_) => Error::At {
                path: format!("${segment}"),
                offset,
                source: Box::new(self),
            },
            Error::At {
                path,
                offset,
                source,
            } => Error::At {
                path: format!("${segment}{}", path.trim_start_matches('$')),
                offset,
                source,
            },
            other => other,
        }
    }
}
