//! The errors of a typed call: an endpoint's declared errors, and everything else.

use std::convert::Infallible;

use crate::error::Error;
use crate::xrpc_error::XrpcError;

/// The errors an endpoint declares in its lexicon (`RecordNotFound`, `InvalidSwap`...),
/// named as the service sends them in the `error` field of an error body.
///
/// Generated error enums implement it; [`Infallible`] stands for an endpoint that
/// declares none.
///
/// ```
/// use atmo_xrpc::EndpointError;
///
/// #[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// enum GetRecordError { RecordNotFound }
///
/// impl EndpointError for GetRecordError {
///     fn from_name(name: &str) -> Option<Self> {
///         (name == "RecordNotFound").then_some(Self::RecordNotFound)
///     }
///     fn as_str(&self) -> &'static str {
///         "RecordNotFound"
///     }
/// }
/// assert_eq!(GetRecordError::from_name("RecordNotFound"), Some(GetRecordError::RecordNotFound));
/// assert_eq!(<std::convert::Infallible as EndpointError>::from_name("RecordNotFound"), None);
/// ```
pub trait EndpointError: Sized {
    /// The declared error with this name, if any.
    fn from_name(name: &str) -> Option<Self>;
    /// The error name sent in the response body.
    fn as_str(&self) -> &'static str;
}

impl EndpointError for Infallible {
    fn from_name(_: &str) -> Option<Self> {
        None
    }

    fn as_str(&self) -> &'static str {
        match *self {}
    }
}

/// What a typed call can fail with: an error the endpoint declares (typed as `E`), or
/// anything else.
///
/// `?` turns it into a plain [`Error`] where a function returns one.
///
/// ```
/// use atmo_xrpc::{CallError, EndpointError, XrpcError};
///
/// #[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// enum GetRecordError { RecordNotFound }
/// impl EndpointError for GetRecordError {
///     fn from_name(name: &str) -> Option<Self> {
///         (name == "RecordNotFound").then_some(Self::RecordNotFound)
///     }
///     fn as_str(&self) -> &'static str { "RecordNotFound" }
/// }
///
/// let answer = XrpcError::from_parts(400, &http::HeaderMap::new(),
///     br#"{"error":"RecordNotFound","message":"Could not locate record"}"#);
/// let err = CallError::<GetRecordError>::from_error(answer.into());
/// assert!(err.is_endpoint(&GetRecordError::RecordNotFound));
///
/// fn plain(e: CallError<GetRecordError>) -> Result<(), atmo_xrpc::Error> {
///     Err(e)?
/// }
/// assert!(plain(err).unwrap_err().is_not_found());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError<E> {
    /// The service answered with an error the endpoint declares.
    #[error("{detail}")]
    Endpoint {
        /// The declared error.
        error: E,
        /// The whole answer: status, name, message, rate limit.
        #[source]
        detail: Box<XrpcError>,
    },
    /// Anything else: an undeclared error answer, transport, encoding, decoding...
    #[error(transparent)]
    Other(Error),
}

impl<E: EndpointError> CallError<E> {
    /// Sorts an error: an XRPC error answer whose name `E` declares becomes
    /// [`CallError::Endpoint`], anything else [`CallError::Other`].
    pub fn from_error(e: Error) -> Self {
        match e {
            Error::Xrpc(x) => match x.error_name().and_then(E::from_name) {
                Some(error) => Self::Endpoint { error, detail: x },
                None => Self::Other(Error::Xrpc(x)),
            },
            other => Self::Other(other),
        }
    }
}

impl<E: EndpointError> From<Error> for CallError<E> {
    fn from(e: Error) -> Self {
        Self::from_error(e)
    }
}

impl<E> CallError<E> {
    /// The declared error, if the service answered with one.
    pub fn endpoint(&self) -> Option<&E> {
        match self {
            Self::Endpoint { error, .. } => Some(error),
            Self::Other(_) => None,
        }
    }

    /// True if the service answered with the declared error `e`.
    pub fn is_endpoint(&self, e: &E) -> bool
    where
        E: PartialEq,
    {
        self.endpoint() == Some(e)
    }

    /// The error answer of the service, declared or not.
    pub fn as_xrpc(&self) -> Option<&XrpcError> {
        match self {
            Self::Endpoint { detail, .. } => Some(detail),
            Self::Other(e) => e.as_xrpc(),
        }
    }

    /// The plain [`Error`] (a declared error becomes [`Error::Xrpc`] again).
    pub fn into_error(self) -> Error {
        match self {
            Self::Endpoint { detail, .. } => Error::Xrpc(detail),
            Self::Other(e) => e,
        }
    }
}

impl<E> From<CallError<E>> for Error {
    fn from(e: CallError<E>) -> Self {
        e.into_error()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum PutError {
        InvalidSwap,
    }

    impl EndpointError for PutError {
        fn from_name(name: &str) -> Option<Self> {
            match name {
                "InvalidSwap" => Some(Self::InvalidSwap),
                _ => None,
            }
        }
        fn as_str(&self) -> &'static str {
            "InvalidSwap"
        }
    }

    fn answer(body: &[u8]) -> Error {
        XrpcError::from_parts(400, &http::HeaderMap::new(), body).into()
    }

    #[test]
    fn declared_name_is_endpoint_variant() {
        let e = CallError::<PutError>::from(answer(br#"{"error":"InvalidSwap","message":"x"}"#));
        assert!(e.is_endpoint(&PutError::InvalidSwap));
        assert_eq!(e.endpoint().map(EndpointError::as_str), Some("InvalidSwap"));
        assert_eq!(e.as_xrpc().map(|x| x.status), Some(400));
        assert_eq!(e.to_string(), "HTTP 400 InvalidSwap: x");
        let plain: Error = e.into();
        assert_eq!(
            plain.as_xrpc().and_then(XrpcError::error_name),
            Some("InvalidSwap")
        );
    }

    #[test]
    fn unknown_name_is_other() {
        let e = CallError::<PutError>::from(answer(br#"{"error":"RecordNotFound"}"#));
        assert!(e.endpoint().is_none());
        assert!(matches!(&e, CallError::Other(Error::Xrpc(_))));
        assert!(e.into_error().is_not_found());
    }

    #[test]
    fn no_name_and_non_xrpc_are_other() {
        let e = CallError::<PutError>::from(answer(b"not json"));
        assert!(matches!(e, CallError::Other(Error::Xrpc(_))));
        let e = CallError::<PutError>::from(Error::NoSession);
        assert!(matches!(e, CallError::Other(Error::NoSession)));
        let e = CallError::<Infallible>::from(answer(br#"{"error":"InvalidSwap"}"#));
        assert!(matches!(e, CallError::Other(_)));
    }
}
