//! [`Str`]: the string type of [`Value::String`](crate::Value::String).

use std::borrow::{Borrow, Cow};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::str::FromStr;

use compact_str::CompactString;

/// The longest string a [`Str`] holds without a heap allocation, in bytes.
pub const INLINE_LEN: usize = std::mem::size_of::<String>();

/// An immutable UTF-8 string that stores short strings inline.
///
/// Strings of up to [`INLINE_LEN`] bytes (24 on 64-bit targets: NSIDs, datetimes,
/// languages, record keys, TIDs) live inside the value itself, so decoding them allocates
/// nothing; longer ones are on the heap like a [`String`]. A `Str` is the size of a
/// `String`, derefs to [`str`], compares, orders and hashes as its text, and converts
/// from and into [`String`] and `&str`.
///
/// ```
/// use atmo_data::{Str, Value};
/// let s = Str::from("app.bsky.feed.post");
/// assert!(s.is_inline());
/// assert_eq!(s, "app.bsky.feed.post");
/// assert!(s.starts_with("app.")); // any `str` method, through `Deref`
/// let v = Value::String(s);
/// assert_eq!(v.as_str(), Some("app.bsky.feed.post"));
/// let owned: String = Str::from("hello").into();
/// assert_eq!(owned, "hello");
/// ```
#[derive(Clone, Default)]
pub struct Str(CompactString);

impl Str {
    /// A copy of `s` (inline if it is short).
    #[inline]
    pub fn new(s: &str) -> Self {
        Self(CompactString::new(s))
    }

    /// A `Str` for a static string, at compile time: no allocation and no copy of long
    /// strings (they stay a reference to the static text).
    #[inline]
    pub const fn from_static(s: &'static str) -> Self {
        Self(CompactString::const_new(s))
    }

    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// True if the text is stored inline (no heap allocation, no reference to a static
    /// string: [`Str::from_static`] keeps longer text as a reference).
    #[inline]
    pub fn is_inline(&self) -> bool {
        !self.0.is_heap_allocated() && self.0.len() <= INLINE_LEN
    }

    /// The text as a [`String`] (reusing the heap buffer when there is one).
    #[inline]
    pub fn into_string(self) -> String {
        self.0.into_string()
    }
}

impl Deref for Str {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.0.as_str()
    }
}

impl AsRef<str> for Str {
    #[inline]
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Str {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.as_str().as_bytes()
    }
}

impl Borrow<str> for Str {
    #[inline]
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Str {
    #[inline]
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl From<&String> for Str {
    #[inline]
    fn from(s: &String) -> Self {
        Self::new(s)
    }
}

impl From<String> for Str {
    /// Short strings move inline; long ones keep their buffer.
    #[inline]
    fn from(s: String) -> Self {
        Self(CompactString::from(s))
    }
}

impl From<Box<str>> for Str {
    #[inline]
    fn from(s: Box<str>) -> Self {
        Self::from(s.into_string())
    }
}

impl From<Cow<'_, str>> for Str {
    #[inline]
    fn from(s: Cow<'_, str>) -> Self {
        match s {
            Cow::Borrowed(s) => Self::new(s),
            Cow::Owned(s) => Self::from(s),
        }
    }
}

impl From<char> for Str {
    #[inline]
    fn from(c: char) -> Self {
        Self::new(c.encode_utf8(&mut [0; 4]))
    }
}

impl From<Str> for String {
    #[inline]
    fn from(s: Str) -> Self {
        s.into_string()
    }
}

impl FromStr for Str {
    type Err = std::convert::Infallible;
    #[inline]
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(s))
    }
}

impl<'a> FromIterator<&'a str> for Str {
    fn from_iter<I: IntoIterator<Item = &'a str>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl FromIterator<char> for Str {
    fn from_iter<I: IntoIterator<Item = char>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl PartialEq for Str {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Str {}

impl PartialOrd for Str {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Str {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Str {
    /// Hashes as the `str` does, so a `HashMap<Str, _>` can be looked up by `&str`.
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

macro_rules! eq_with {
    ($($t:ty),*) => {$(
        impl PartialEq<$t> for Str {
            #[inline]
            fn eq(&self, other: &$t) -> bool {
                self.as_str() == AsRef::<str>::as_ref(other)
            }
        }
        impl PartialEq<Str> for $t {
            #[inline]
            fn eq(&self, other: &Str) -> bool {
                AsRef::<str>::as_ref(self) == other.as_str()
            }
        }
    )*};
}
eq_with!(str, String, Cow<'_, str>);

impl PartialEq<&str> for Str {
    #[inline]
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<Str> for &str {
    #[inline]
    fn eq(&self, other: &Str) -> bool {
        *self == other.as_str()
    }
}

impl fmt::Display for Str {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl fmt::Debug for Str {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl serde::Serialize for Str {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Str {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Str;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Str, E> {
                Ok(Str::new(s))
            }
            fn visit_string<E: serde::de::Error>(self, s: String) -> Result<Str, E> {
                Ok(Str::from(s))
            }
        }
        deserializer.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn inline_up_to_the_limit() {
        let at = "x".repeat(INLINE_LEN);
        let over = "x".repeat(INLINE_LEN + 1);
        assert!(Str::new(&at).is_inline());
        assert!(!Str::new(&over).is_inline());
        assert_eq!(Str::new(&over), over.as_str());
        assert!(Str::new("2024-01-01T00:11:39.496Z").is_inline());
        assert_eq!(std::mem::size_of::<Str>(), std::mem::size_of::<String>());
    }

    #[test]
    fn conversions_and_comparisons() {
        let long = "did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post".to_owned();
        let s = Str::from(long.clone());
        assert_eq!(s, long);
        assert_eq!(long, s);
        assert_eq!(s, long.as_str());
        assert_eq!(long.as_str(), s);
        assert_eq!(String::from(s.clone()), long);
        assert_eq!(s.to_string(), long);
        assert_eq!(format!("{s:?}"), format!("{long:?}"));
        assert_eq!(Str::from('é'), "é");
        assert_eq!(
            Str::from(Cow::Borrowed("a")),
            Str::from(Box::<str>::from("a"))
        );
        assert_eq!("ab".parse::<Str>(), Ok(Str::from("ab")));
        assert_eq!(["a", "b"].into_iter().collect::<Str>(), "ab");
        let (a, b) = (Str::from("a"), Str::from("b"));
        assert!(a < b);
        assert_eq!(a.cmp(&a), Ordering::Equal);
        let set: HashSet<Str> = [Str::from("k")].into_iter().collect();
        assert!(set.contains("k"));
        const LONG: Str = Str::from_static("app.bsky.richtext.facet#mention");
        assert_eq!(LONG, "app.bsky.richtext.facet#mention");
        assert!(!LONG.is_inline());
        assert!(Str::from_static("app.bsky.feed.post").is_inline());
    }

    #[test]
    fn serde_as_a_string() -> Result<(), serde_json::Error> {
        let s = Str::from("naïve");
        let json = serde_json::to_string(&s)?;
        assert_eq!(json, r#""naïve""#);
        assert_eq!(serde_json::from_str::<Str>(&json)?, s);
        Ok(())
    }
}
