//! The trait impls shared by every string-backed syntax type.

/// The constructor and accessors of a type that is a `String` checked by the module's
/// `fn validate(&str) -> Result<(), E>` and stored as given (no normalisation).
/// `$what` names the type in the generated docs.
macro_rules! validated_string {
    ($ty:ident, $err:ty, $what:literal) => {
        impl $ty {
            #[doc = concat!("Parses and validates a ", $what, ".")]
            ///
            /// # Errors
            ///
            #[doc = concat!("Returns a [`", stringify!($err), "`] saying what is wrong and where.")]
            // Inlined (the check is not): the string is then built where the caller keeps
            // it, not copied out of this function's frame right after being written.
            #[inline]
            pub fn new(s: &str) -> ::core::result::Result<Self, $err> {
                validate(s)?;
                Ok(Self($crate::text::Text::new(s)))
            }

            /// Wraps a string already validated (a part of a valid AT-URI).
            #[allow(dead_code)]
            pub(crate) fn from_valid(s: &str) -> Self {
                Self($crate::text::Text::new(s))
            }

            /// Validates an owned string, keeping its allocation if it is long.
            fn from_string(s: String) -> ::core::result::Result<Self, $err> {
                validate(&s)?;
                Ok(Self($crate::text::Text::from_string(s)))
            }

            #[doc = concat!("The ", $what, " as a string.")]
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }

            #[doc = concat!("Consumes the ", $what, ", returning its string.")]
            #[must_use]
            pub fn into_string(self) -> String {
                self.0.into_string()
            }
        }
    };
}

/// Implements the common conversions for a validated string type.
///
/// The type must provide `fn new(&str) -> Result<Self, E>`,
/// `fn from_string(String) -> Result<Self, E>` (which reuses the allocation when it can),
/// `fn as_str(&self) -> &str` and `fn into_string(self) -> String`.
/// `$what` names the type in serde's "expecting" message.
macro_rules! string_type_impls {
    ($ty:ident, $err:ty, $what:literal) => {
        impl ::core::str::FromStr for $ty {
            type Err = $err;

            fn from_str(s: &str) -> ::core::result::Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl ::core::convert::TryFrom<&str> for $ty {
            type Error = $err;

            fn try_from(s: &str) -> ::core::result::Result<Self, Self::Error> {
                Self::new(s)
            }
        }

        impl ::core::convert::TryFrom<::std::string::String> for $ty {
            type Error = $err;

            fn try_from(s: ::std::string::String) -> ::core::result::Result<Self, Self::Error> {
                Self::from_string(s)
            }
        }

        impl ::core::convert::AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl ::core::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::core::convert::From<$ty> for ::std::string::String {
            fn from(value: $ty) -> Self {
                value.into_string()
            }
        }

        impl ::core::cmp::PartialEq<str> for $ty {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl ::core::cmp::PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl ::core::cmp::PartialEq<::std::string::String> for $ty {
            fn eq(&self, other: &::std::string::String) -> bool {
                self.as_str() == other.as_str()
            }
        }

        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                struct Visitor;

                impl ::serde::de::Visitor<'_> for Visitor {
                    type Value = $ty;

                    fn expecting(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                        f.write_str($what)
                    }

                    fn visit_str<E: ::serde::de::Error>(
                        self,
                        v: &str,
                    ) -> ::core::result::Result<$ty, E> {
                        $ty::new(v).map_err(|e| E::custom($crate::Error::from(e)))
                    }

                    fn visit_string<E: ::serde::de::Error>(
                        self,
                        v: ::std::string::String,
                    ) -> ::core::result::Result<$ty, E> {
                        $ty::from_string(v).map_err(|e| E::custom($crate::Error::from(e)))
                    }
                }

                deserializer.deserialize_string(Visitor)
            }
        }
    };
}

/// Derives `PartialEq`, `Eq`, `PartialOrd`, `Ord` and `Hash` from `as_str()`.
macro_rules! order_by_str {
    ($ty:ident) => {
        impl ::core::cmp::PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                self.as_str() == other.as_str()
            }
        }

        impl ::core::cmp::Eq for $ty {}

        impl ::core::cmp::PartialOrd for $ty {
            fn partial_cmp(&self, other: &Self) -> ::core::option::Option<::core::cmp::Ordering> {
                ::core::option::Option::Some(self.cmp(other))
            }
        }

        impl ::core::cmp::Ord for $ty {
            fn cmp(&self, other: &Self) -> ::core::cmp::Ordering {
                self.as_str().cmp(other.as_str())
            }
        }

        impl ::core::hash::Hash for $ty {
            fn hash<H: ::core::hash::Hasher>(&self, state: &mut H) {
                self.as_str().hash(state);
            }
        }
    };
}

pub(crate) use order_by_str;
pub(crate) use string_type_impls;
pub(crate) use validated_string;

/// The `char` starting at byte `at` of `s`, for error reports (U+FFFD if `at` is not on a
/// character boundary, which the parsers never do).
pub(crate) fn char_at(s: &str, at: usize) -> char {
    s.get(at..)
        .and_then(|rest| rest.chars().next())
        .unwrap_or(char::REPLACEMENT_CHARACTER)
}
