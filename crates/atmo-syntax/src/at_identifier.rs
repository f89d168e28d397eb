//! A DID or a handle: the identifier accepted wherever an account can be named.

use crate::macros::{order_by_str, string_type_impls};
use crate::{Did, DidError, Handle, HandleError};

/// A DID or a handle (normalised to lower case), such as the authority of an AT-URI.
///
/// A string starting with `did:` is parsed as a [`Did`], anything else as a [`Handle`].
///
/// ```
/// use atmo_syntax::AtIdentifier;
///
/// let id = AtIdentifier::new("did:plc:ewvi7nxzyoun6zhxrhs64oiz")?;
/// assert!(id.as_did().is_some());
/// let id = AtIdentifier::new("Alice.Test")?;
/// assert_eq!(id.as_str(), "alice.test");
/// assert!(id.as_handle().is_some());
/// # Ok::<(), atmo_syntax::AtIdentifierError>(())
/// ```
#[derive(Debug, Clone)]
pub enum AtIdentifier {
    /// A DID.
    Did(Did),
    /// A handle.
    Handle(Handle),
}

/// Why a string is not a valid [`AtIdentifier`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AtIdentifierError {
    /// Starts with `did:` but is not a valid DID.
    #[error("invalid DID: {0}")]
    Did(#[from] DidError),
    /// Not a valid handle.
    #[error("invalid handle: {0}")]
    Handle(#[from] HandleError),
}

impl AtIdentifier {
    /// Parses a DID (if the input starts with `did:`) or a handle.
    ///
    /// # Errors
    ///
    /// Returns an [`AtIdentifierError`] wrapping the DID or handle error.
    pub fn new(s: &str) -> Result<Self, AtIdentifierError> {
        if s.starts_with("did:") {
            Ok(Self::Did(Did::new(s)?))
        } else {
            Ok(Self::Handle(Handle::new(s)?))
        }
    }

    fn from_string(s: String) -> Result<Self, AtIdentifierError> {
        if s.starts_with("did:") {
            Ok(Self::Did(Did::try_from(s)?))
        } else {
            Ok(Self::Handle(Handle::try_from(s)?))
        }
    }

    /// The identifier as a string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Did(d) => d.as_str(),
            Self::Handle(h) => h.as_str(),
        }
    }

    /// Consumes the identifier, returning its string.
    #[must_use]
    pub fn into_string(self) -> String {
        match self {
            Self::Did(d) => d.into_string(),
            Self::Handle(h) => h.into_string(),
        }
    }

    /// The DID, if this is one.
    #[must_use]
    pub fn as_did(&self) -> Option<&Did> {
        match self {
            Self::Did(d) => Some(d),
            Self::Handle(_) => None,
        }
    }

    /// The handle, if this is one.
    #[must_use]
    pub fn as_handle(&self) -> Option<&Handle> {
        match self {
            Self::Did(_) => None,
            Self::Handle(h) => Some(h),
        }
    }

    /// Whether this is a DID.
    #[must_use]
    pub fn is_did(&self) -> bool {
        matches!(self, Self::Did(_))
    }
}

impl From<Did> for AtIdentifier {
    fn from(did: Did) -> Self {
        Self::Did(did)
    }
}

impl From<Handle> for AtIdentifier {
    fn from(handle: Handle) -> Self {
        Self::Handle(handle)
    }
}

string_type_impls!(AtIdentifier, AtIdentifierError, "a DID or handle string");
order_by_str!(AtIdentifier);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors() {
        assert_eq!(
            AtIdentifier::new("did:thing"),
            Err(AtIdentifierError::Did(DidError::MissingIdentifier))
        );
        assert_eq!(
            AtIdentifier::new("did"),
            Err(AtIdentifierError::Handle(HandleError::TooFewLabels))
        );
        assert_eq!(
            AtIdentifier::new("@handle"),
            Err(AtIdentifierError::Handle(HandleError::BadChar {
                at: 0,
                ch: '@'
            }))
        );
    }
}
