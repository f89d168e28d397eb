//! Strict DAG-CBOR: a decoder over `&[u8]` that accepts only the canonical atproto
//! subset, and a deterministic encoder.
//!
//! The decoder rejects, with the byte offset of the offending item: indefinite lengths,
//! heads not in their shortest form, reserved additional-information values, map keys
//! that are not text, keys out of order (shorter first, then bytewise) or repeated, tags
//! other than 42, a tag 42 that does not hold a byte string starting with 0x00 followed
//! by a valid CIDv1, floats of every width, `undefined` and every simple value other
//! than `false`/`true`/`null`, integers outside `i64`, invalid UTF-8, trailing bytes,
//! truncation, and anything beyond the [`DecodeLimits`].
//!
//! It also refuses what has no faithful atproto JSON form, so that whatever decodes here
//! converts to JSON and back to the same bytes: a map with a `$link` or `$bytes` key (in
//! JSON those keys mean a link or bytes), a `$type` that is not a non-empty string, and a
//! `"$type": "blob"` map without a link `ref`, a text `mimeType` and a non-negative
//! integer `size` (the JSON reader refuses both).
//!
//! Encoding is deterministic, so for any accepted input `encode(&decode(b)?) == b`.

pub(crate) mod decode;
mod encode;

pub use decode::{decode, decode_prefix, decode_ref, decode_ref_with, decode_with, validate};
pub use encode::{encode, encode_into, encode_ref, encode_ref_into};

/// Bounds on what a decoder accepts, so that hostile input cannot exhaust the stack or
/// memory. Whatever the limits, a decoder never reserves more entries than the remaining
/// input could hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeLimits {
    /// Deepest nesting of arrays and maps: at most this many containers, one inside the
    /// other. Default 127, the most the atproto JSON reader takes (serde_json stops at
    /// 128 levels of recursion), so that whatever decodes converts to JSON and back.
    pub max_depth: usize,
    /// Most entries in one array or map. Default 1,048,576.
    pub max_items: usize,
    /// Most bytes in one string or byte string. Default 16 MiB.
    pub max_bytes: usize,
    /// Most memory, in bytes, that an owned [`Value`](crate::Value) built by the decoder
    /// may take (its entries, strings, byte strings and links, counted as they are
    /// read; allocator overhead aside). Default 1 GiB. Validation and borrowed decoding
    /// build nothing and are not charged. Exceeding it is
    /// [`DecodeErrorKind::MemoryBudget`].
    pub max_memory: usize,
}

impl DecodeLimits {
    /// The default limits (see the fields).
    pub const DEFAULT: Self = Self {
        max_depth: 127,
        max_items: 1 << 20,
        max_bytes: 16 << 20,
        max_memory: 1 << 30,
    };

    /// Sets [`Self::max_depth`].
    pub const fn with_max_depth(mut self, n: usize) -> Self {
        self.max_depth = n;
        self
    }

    /// Sets [`Self::max_items`].
    pub const fn with_max_items(mut self, n: usize) -> Self {
        self.max_items = n;
        self
    }

    /// Sets [`Self::max_memory`].
    pub const fn with_max_memory(mut self, n: usize) -> Self {
        self.max_memory = n;
        self
    }

    /// Sets [`Self::max_bytes`].
    pub const fn with_max_bytes(mut self, n: usize) -> Self {
        self.max_bytes = n;
        self
    }
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Why bytes are not strict DAG-CBOR, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid DAG-CBOR at byte {offset}: {kind}")]
pub struct DecodeError {
    /// Byte offset of the item (or byte) at fault.
    pub offset: usize,
    /// What is wrong.
    pub kind: DecodeErrorKind,
}

/// What is wrong with a DAG-CBOR input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended inside an item.
    #[error("unexpected end of input")]
    UnexpectedEnd,
    /// Bytes remain after the top-level value.
    #[error("{extra} trailing bytes after the value")]
    TrailingBytes {
        /// How many bytes remain.
        extra: usize,
    },
    /// An indefinite-length string, array or map, or a stray "break" byte.
    #[error("indefinite lengths are not allowed")]
    IndefiniteLength,
    /// An integer or length not written in its shortest form.
    #[error("integer or length not in shortest form")]
    NonShortest,
    /// Additional information 28 to 30, reserved by CBOR.
    #[error("reserved additional information {info}")]
    Reserved {
        /// The additional-information value.
        info: u8,
    },
    /// An integer outside the range of `i64`.
    #[error("integer out of the i64 range")]
    IntegerOverflow,
    /// A float (any width): atproto data has no floats.
    #[error("floats are not allowed")]
    Float,
    /// `undefined` or a simple value other than false, true and null.
    #[error("simple value {value} is not allowed")]
    Simple {
        /// The simple value (23 is `undefined`).
        value: u8,
    },
    /// A tag other than 42.
    #[error("tag {tag} is not allowed (only 42, CID)")]
    Tag {
        /// The tag number.
        tag: u64,
    },
    /// Tag 42 on something other than a byte string.
    #[error("tag 42 must hold a byte string")]
    CidNotBytes,
    /// Tag 42 content that does not start with the 0x00 multibase prefix.
    #[error("tag 42 content must start with 0x00")]
    CidPrefix,
    /// Tag 42 content that is not a valid CIDv1.
    #[error("bad CID: {0}")]
    Cid(crate::cid::CidError),
    /// A map key that is not a text string.
    #[error("map keys must be text strings")]
    NonStringKey,
    /// A map key that sorts before the previous key.
    #[error("map keys out of order (shorter first, then bytewise)")]
    UnsortedKeys,
    /// A map key equal to the previous key.
    #[error("duplicate map key")]
    DuplicateKey,
    /// A text string that is not UTF-8.
    #[error("invalid UTF-8 in text string")]
    InvalidUtf8,
    /// Nesting deeper than [`DecodeLimits::max_depth`].
    #[error("nesting deeper than {max}")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// An array or map with more entries than [`DecodeLimits::max_items`].
    #[error("{len} entries exceed the limit of {max}")]
    TooManyItems {
        /// The declared count.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// A map key reserved by the JSON form (`$link`, `$bytes`): such a map has no
    /// faithful JSON form.
    #[error("map key {key} is reserved for the JSON form of links and bytes")]
    ReservedKey {
        /// The key.
        key: &'static str,
    },
    /// A `$type` that is not a non-empty text string.
    #[error("$type must be a non-empty string")]
    BadType,
    /// A `"$type": "blob"` map without a link `ref`, a text `mimeType` and a
    /// non-negative integer `size`.
    #[error("a blob needs a link `ref`, a string `mimeType` and a non-negative integer `size`")]
    BadBlob,
    /// Building the value would take more memory than [`DecodeLimits::max_memory`].
    #[error("the decoded value would take more than {max} bytes of memory")]
    MemoryBudget {
        /// The budget.
        max: usize,
    },
    /// A string longer than [`DecodeLimits::max_bytes`].
    #[error("{len} bytes exceed the limit of {max}")]
    TooLong {
        /// The declared length.
        len: u64,
        /// The limit.
        max: usize,
    },
}
