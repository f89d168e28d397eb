//! [`Text`]: the storage of the string-backed syntax types.

use compact_str::CompactString;

/// An immutable string stored inline when it is short (up to 24 bytes on 64-bit targets:
/// datetimes, language tags, NSIDs, record keys, short handles), so building one from a
/// decoded record allocates nothing; longer ones are on the heap like a `String`. The size
/// of a `String`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub(crate) struct Text(CompactString);

impl Text {
    /// A copy of `s`.
    #[inline]
    pub(crate) fn new(s: &str) -> Self {
        Self(CompactString::new(s))
    }

    /// `s`, inline if it is short, else keeping its allocation.
    #[inline]
    pub(crate) fn from_string(s: String) -> Self {
        Self(CompactString::from(s))
    }

    /// The text.
    #[inline]
    pub(crate) fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The text as a `String` (a new allocation if it was inline).
    #[inline]
    pub(crate) fn into_string(self) -> String {
        self.0.into_string()
    }

    /// Lower-cases ASCII letters in place.
    #[inline]
    pub(crate) fn make_ascii_lowercase(&mut self) {
        self.0.make_ascii_lowercase();
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.0.as_str()
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}
