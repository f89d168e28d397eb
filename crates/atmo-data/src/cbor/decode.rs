//! The strict decoder, generic over what it builds (owned, borrowed, or nothing).

use super::{DecodeError, DecodeErrorKind as K, DecodeLimits};
use crate::value::Map;
use crate::{Cid, Value, ValueRef};

/// Most entries reserved up front for one array or map. A length head is only checked
/// against the input left, and every nesting level reserves before its children are read,
/// so without this cap a few hundred bytes of nested heads could reserve gigabytes
/// (depth x length x entry size) before the decoder reaches the end and fails. Longer
/// collections simply grow.
const MAX_PREALLOC: usize = 1024;

/// What the decoder builds from each item. Implementations are stateless, so the decoder
/// is monomorphised into a tight loop for each.
trait Sink<'a> {
    type Out;
    type Arr;
    type Obj;
    fn null() -> Self::Out;
    fn bool(b: bool) -> Self::Out;
    fn int(i: i64) -> Self::Out;
    /// A text string's bytes; `None` if they are not UTF-8.
    fn str(b: &'a [u8]) -> Option<Self::Out>;
    type Key;
    /// A map key's bytes; `None` if they are not UTF-8.
    fn key(b: &'a [u8]) -> Option<Self::Key>;
    fn bytes(b: &'a [u8]) -> Self::Out;
    /// Builds a link from the binary CID after tag 42's 0x00, checking it.
    fn link(raw: &'a [u8]) -> Result<Self::Out, crate::CidError>;
    fn arr(cap: usize) -> Self::Arr;
    fn arr_push(a: &mut Self::Arr, v: Self::Out);
    fn arr_end(a: Self::Arr) -> Self::Out;
    fn obj(cap: usize) -> Self::Obj;
    fn obj_push(o: &mut Self::Obj, k: Self::Key, v: Self::Out);
    fn obj_end(o: Self::Obj) -> Self::Out;
    /// Whether this sink allocates what it builds, so the decoder charges the memory
    /// budget ([`DecodeLimits::max_memory`]) for it.
    const CHARGES: bool;
    /// Bytes one array entry costs.
    const ARR_ENTRY: usize;
    /// Bytes one map entry costs.
    const MAP_ENTRY: usize;
}

struct Owned;

impl<'a> Sink<'a> for Owned {
    type Out = Value;
    type Arr = Vec<Value>;
    type Obj = Vec<(std::borrow::Cow<'static, str>, Value)>;
    #[inline]
    fn null() -> Value {
        Value::Null
    }
    #[inline]
    fn bool(b: bool) -> Value {
        Value::Bool(b)
    }
    #[inline]
    fn int(i: i64) -> Value {
        Value::Integer(i)
    }
    #[inline]
    fn str(b: &'a [u8]) -> Option<Value> {
        crate::utf8::string(b).map(Value::String)
    }
    type Key = std::borrow::Cow<'static, str>;
    // Inlined, so the key stays in registers (a call would return it through memory that
    // is read back at once); keys outside the common set go out of line.
    #[inline(always)]
    fn key(b: &'a [u8]) -> Option<Self::Key> {
        match crate::value::common_key(b) {
            Some(k) => Some(std::borrow::Cow::Borrowed(k)),
            None => other_key(b),
        }
    }
    #[inline]
    fn bytes(b: &'a [u8]) -> Value {
        Value::Bytes(b.to_vec())
    }
    #[inline]
    fn link(raw: &'a [u8]) -> Result<Value, crate::CidError> {
        Cid::boxed_from_bytes(raw).map(Value::Link)
    }
    #[inline]
    fn arr(cap: usize) -> Vec<Value> {
        Vec::with_capacity(cap)
    }
    #[inline]
    fn arr_push(a: &mut Vec<Value>, v: Value) {
        push(a, v);
    }
    #[inline]
    fn arr_end(a: Vec<Value>) -> Value {
        Value::Array(a)
    }
    #[inline]
    fn obj(cap: usize) -> Self::Obj {
        Vec::with_capacity(cap)
    }
    #[inline]
    fn obj_push(o: &mut Self::Obj, k: Self::Key, v: Value) {
        push(o, (k, v));
    }
    #[inline]
    fn obj_end(o: Self::Obj) -> Value {
        Value::Map(Map::from_sorted_unchecked(o))
    }
    const CHARGES: bool = true;
    const ARR_ENTRY: usize = std::mem::size_of::<Value>();
    const MAP_ENTRY: usize = std::mem::size_of::<(std::borrow::Cow<'static, str>, Value)>();
}

/// A map key that is not one of the common ones, as an owned string.
#[inline(never)]
fn other_key(b: &[u8]) -> Option<std::borrow::Cow<'static, str>> {
    crate::utf8::str(b).map(|s| std::borrow::Cow::Owned(s.to_owned()))
}

/// `v.push(x)`, with the common case (room left: collections reserve their length up to
/// [`MAX_PREALLOC`]) free of any call, so that `x` is written straight into place rather
/// than kept on the stack across a possible reallocation and copied.
#[inline(always)]
fn push<T>(v: &mut Vec<T>, x: T) {
    if v.len() < v.capacity() {
        v.push(x);
    } else {
        push_grow(v, x);
    }
}

#[cold]
#[inline(never)]
fn push_grow<T>(v: &mut Vec<T>, x: T) {
    v.push(x);
}

/// True if `b` is UTF-8. No `&str` is needed, so the cheap word-at-a-time ASCII check
/// comes first.
#[inline]
fn text_ok(b: &[u8]) -> bool {
    b.is_ascii() || crate::utf8::str(b).is_some()
}

/// Builds nothing: a strict validation pass.
struct Nothing;

impl<'a> Sink<'a> for Nothing {
    type Out = ();
    type Arr = ();
    type Obj = ();
    #[inline]
    fn null() {}
    #[inline]
    fn bool(_: bool) {}
    #[inline]
    fn int(_: i64) {}
    #[inline]
    fn str(b: &'a [u8]) -> Option<()> {
        text_ok(b).then_some(())
    }
    type Key = ();
    #[inline]
    fn key(b: &'a [u8]) -> Option<()> {
        text_ok(b).then_some(())
    }
    #[inline]
    fn bytes(_: &'a [u8]) {}
    #[inline]
    fn link(raw: &'a [u8]) -> Result<(), crate::CidError> {
        crate::cid::check(raw)
    }
    #[inline]
    fn arr(_: usize) {}
    #[inline]
    fn arr_push(_: &mut (), _: ()) {}
    #[inline]
    fn arr_end(_: ()) {}
    #[inline]
    fn obj(_: usize) {}
    #[inline]
    fn obj_push(_: &mut (), _: (), _: ()) {}
    #[inline]
    fn obj_end(_: ()) {}
    const CHARGES: bool = false;
    const ARR_ENTRY: usize = 0;
    const MAP_ENTRY: usize = 0;
}

/// Where a decoded item goes: returned ([`Ret`]) or pushed into the array or map being
/// built ([`ArrPut`], [`ObjPut`]).
trait Put<T> {
    type R;
    fn put(self, v: T) -> Self::R;
}

/// Returns the item.
struct Ret;

impl<T> Put<T> for Ret {
    type R = T;
    #[inline(always)]
    fn put(self, v: T) -> T {
        v
    }
}

/// Pushes the item onto an array being built.
struct ArrPut<'x, 'a, S: Sink<'a>>(&'x mut S::Arr);

impl<'a, S: Sink<'a>> Put<S::Out> for ArrPut<'_, 'a, S> {
    type R = ();
    #[inline(always)]
    fn put(self, v: S::Out) {
        S::arr_push(self.0, v);
    }
}

/// Pushes the item, under its key, onto a map being built.
struct ObjPut<'x, 'a, S: Sink<'a>>(&'x mut S::Obj, S::Key);

impl<'a, S: Sink<'a>> Put<S::Out> for ObjPut<'_, 'a, S> {
    type R = ();
    #[inline(always)]
    fn put(self, v: S::Out) {
        S::obj_push(self.0, self.1, v);
    }
}

/// The decoder's state: the input not read yet (a slice cursor, which the compiler keeps
/// in registers with fewer bounds checks than an index) and the input's total length, from
/// which offsets for errors are computed.
pub(crate) struct Decoder<'a> {
    pub(crate) rest: &'a [u8],
    total: usize,
    pub(crate) limits: DecodeLimits,
    /// What is left of [`DecodeLimits::max_memory`] for the value being built.
    budget: usize,
}

/// What a map being decoded holds of a blob's fields (keys come in DAG-CBOR order, so
/// `ref` and `size` come before `$type`, `mimeType` after it).
#[derive(Default)]
struct Typed {
    /// `"$type": "blob"` was seen.
    blob: bool,
    /// `ref` holds a link (tag 42).
    has_ref: bool,
    /// `mimeType` holds text.
    has_mime: bool,
    /// `size` holds a non-negative integer.
    has_size: bool,
}

impl Typed {
    /// Notes the kind of the value that follows the key `kb` (by its first bytes).
    #[inline]
    fn note(&mut self, kb: &[u8], value: &[u8]) {
        let head = value.first().copied().unwrap_or(0xff);
        match kb {
            b"ref" => self.has_ref = value.get(..2) == Some(&[0xd8, 0x2a][..]),
            b"mimeType" => self.has_mime = head >> 5 == 3,
            b"size" => self.has_size = head >> 5 == 0,
            _ => {}
        }
    }
}

/// The decoder's internal error: boxed, so that a `Result<Value, Fail>` is no bigger than
/// a `Value` (the error takes the enum's spare tag values) and each item returns through
/// one small slot. Errors are rare, so the allocation is off the hot path.
pub(crate) type Fail = Box<DecodeError>;

#[cold]
#[inline(never)]
pub(crate) fn fail(offset: usize, kind: K) -> Fail {
    Box::new(DecodeError { offset, kind })
}

#[inline]
fn err<T>(offset: usize, kind: K) -> Result<T, Fail> {
    Err(fail(offset, kind))
}

impl<'a> Decoder<'a> {
    /// A decoder over the whole of `bytes`.
    pub(crate) fn new(bytes: &'a [u8], limits: DecodeLimits) -> Self {
        Self {
            rest: bytes,
            total: bytes.len(),
            limits,
            budget: limits.max_memory,
        }
    }

    /// Checks one whole item (at nesting `depth`) with the strict rules, building nothing.
    #[inline]
    pub(crate) fn skip(&mut self, depth: usize) -> Result<(), Fail> {
        self.value::<Nothing>(depth)
    }

    /// Takes `n` bytes from the memory budget for the item at `at`.
    #[inline(always)]
    fn charge(&mut self, n: usize, at: usize) -> Result<(), Fail> {
        match self.budget.checked_sub(n) {
            Some(left) => {
                self.budget = left;
                Ok(())
            }
            None => err(
                at,
                K::MemoryBudget {
                    max: self.limits.max_memory,
                },
            ),
        }
    }

    /// Offset of the next byte to read.
    #[inline(always)]
    pub(crate) fn pos(&self) -> usize {
        self.total - self.rest.len()
    }

    #[inline(always)]
    pub(crate) fn byte(&mut self) -> Result<u8, Fail> {
        match self.rest.split_first() {
            Some((&b, r)) => {
                self.rest = r;
                Ok(b)
            }
            None => err(self.total, K::UnexpectedEnd),
        }
    }

    /// Reads the argument of a head whose initial byte (at `start`) had `info`,
    /// enforcing the shortest form. Arguments below 24 (most of them) cost no call.
    #[inline(always)]
    pub(crate) fn arg(&mut self, info: u8, start: usize) -> Result<u64, Fail> {
        if info < 24 {
            Ok(u64::from(info))
        } else if info == 24 {
            match self.rest.split_first() {
                Some((&v, r)) if v >= 24 => {
                    self.rest = r;
                    Ok(u64::from(v))
                }
                Some(_) => err(start, K::NonShortest),
                None => err(self.total, K::UnexpectedEnd),
            }
        } else {
            self.long_arg(info, start)
        }
    }

    /// [`Self::arg`] for additional information 24 and above.
    #[inline(never)]
    fn long_arg(&mut self, info: u8, start: usize) -> Result<u64, Fail> {
        let v = match info {
            0..=23 => return Ok(u64::from(info)),
            24 => {
                let v = u64::from(self.byte()?);
                if v < 24 {
                    return err(start, K::NonShortest);
                }
                v
            }
            25 => {
                let v = u64::from(u16::from_be_bytes(self.array::<2>()?));
                if v <= 0xff {
                    return err(start, K::NonShortest);
                }
                v
            }
            26 => {
                let v = u64::from(u32::from_be_bytes(self.array::<4>()?));
                if v <= 0xffff {
                    return err(start, K::NonShortest);
                }
                v
            }
            27 => {
                let v = u64::from_be_bytes(self.array::<8>()?);
                if v <= 0xffff_ffff {
                    return err(start, K::NonShortest);
                }
                v
            }
            31 => return err(start, K::IndefiniteLength),
            _ => return err(start, K::Reserved { info }),
        };
        Ok(v)
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], Fail> {
        match self.rest.split_first_chunk::<N>() {
            Some((a, r)) => {
                self.rest = r;
                Ok(*a)
            }
            None => err(self.total, K::UnexpectedEnd),
        }
    }

    /// Takes `len` bytes of string content for an item starting at `start`.
    #[inline]
    pub(crate) fn take(&mut self, len: u64, start: usize) -> Result<&'a [u8], Fail> {
        if len > self.limits.max_bytes as u64 {
            return err(
                start,
                K::TooLong {
                    len,
                    max: self.limits.max_bytes,
                },
            );
        }
        // `len <= max_bytes`, a usize, so the conversion is exact.
        match self.rest.split_at_checked(len as usize) {
            Some((b, r)) => {
                self.rest = r;
                Ok(b)
            }
            None => err(self.total, K::UnexpectedEnd),
        }
    }

    /// The error for text bytes `b` (just taken) that are not UTF-8.
    #[cold]
    pub(crate) fn bad_utf8(&self, b: &[u8]) -> Fail {
        let at = std::str::from_utf8(b).err().map_or(0, |e| e.valid_up_to());
        fail(self.pos() - b.len() + at, K::InvalidUtf8)
    }

    /// Checks a collection length against the limits and the input left, and returns a
    /// capacity the remaining input can justify (`min_size` bytes per entry at least).
    #[inline]
    pub(crate) fn count(&self, len: u64, start: usize, min_size: usize) -> Result<usize, Fail> {
        if len > self.limits.max_items as u64 {
            return err(
                start,
                K::TooManyItems {
                    len,
                    max: self.limits.max_items,
                },
            );
        }
        let left = self.rest.len() / min_size;
        if len > left as u64 {
            return err(self.total, K::UnexpectedEnd);
        }
        Ok(len as usize)
    }

    /// One item: scalars are read inline, containers in an out-of-line function, so the
    /// common leaf values cost no call.
    #[inline(always)]
    fn value<S: Sink<'a>>(&mut self, depth: usize) -> Result<S::Out, Fail> {
        self.item::<S, _>(depth, Ret)
    }

    /// One item, handed to `to` (which stores it). A scalar is built right where `to`
    /// puts it rather than returned and copied: a value written piecewise and read back
    /// whole at once stalls the CPU's store forwarding.
    #[inline(always)]
    fn item<S: Sink<'a>, P: Put<S::Out>>(&mut self, depth: usize, to: P) -> Result<P::R, Fail> {
        match self.rest.first() {
            Some(&b) if b >> 5 == 4 || b >> 5 == 5 => self.container::<S, P>(depth, to),
            _ => {
                let start = self.pos();
                let ib = self.byte()?;
                self.scalar_at::<S, P>(start, ib, to)
            }
        }
    }

    #[inline(never)]
    fn container<S: Sink<'a>, P: Put<S::Out>>(
        &mut self,
        depth: usize,
        to: P,
    ) -> Result<P::R, Fail> {
        let start = self.pos();
        let ib = self.byte()?;
        let info = ib & 0x1f;
        match ib >> 5 {
            4 => {
                let len = self.arg(info, start)?;
                if depth >= self.limits.max_depth {
                    return err(
                        start,
                        K::TooDeep {
                            max: self.limits.max_depth,
                        },
                    );
                }
                let n = self.count(len, start, 1)?;
                if S::CHARGES {
                    self.charge(n.saturating_mul(S::ARR_ENTRY), start)?;
                }
                let mut a = S::arr(n.min(MAX_PREALLOC));
                for _ in 0..n {
                    self.item::<S, _>(depth + 1, ArrPut::<S>(&mut a))?;
                }
                Ok(to.put(S::arr_end(a)))
            }
            5 => {
                let len = self.arg(info, start)?;
                if depth >= self.limits.max_depth {
                    return err(
                        start,
                        K::TooDeep {
                            max: self.limits.max_depth,
                        },
                    );
                }
                let n = self.count(len, start, 2)?;
                if S::CHARGES {
                    self.charge(n.saturating_mul(S::MAP_ENTRY), start)?;
                }
                let mut o = S::obj(n.min(MAX_PREALLOC));
                let mut prev: &[u8] = &[];
                let mut typed = Typed::default();
                for i in 0..n {
                    let kstart = self.pos();
                    let kb = self.byte()?;
                    if kb >> 5 != 3 {
                        return err(kstart, K::NonStringKey);
                    }
                    let klen = self.arg(kb & 0x1f, kstart)?;
                    let kb = self.take(klen, kstart)?;
                    let key = S::key(kb).ok_or_else(|| self.bad_utf8(kb))?;
                    if i > 0 && !key_less(prev, kb) {
                        let kind = if prev == kb {
                            K::DuplicateKey
                        } else {
                            K::UnsortedKeys
                        };
                        return err(kstart, kind);
                    }
                    prev = kb;
                    if kb.first() == Some(&b'$') || typed.blob {
                        self.reserved(kb, kstart, &mut typed)?;
                    } else if matches!(kb, b"ref" | b"size" | b"mimeType") {
                        typed.note(kb, self.rest);
                    }
                    self.item::<S, _>(depth + 1, ObjPut::<S>(&mut o, key))?;
                }
                if typed.blob && !(typed.has_ref && typed.has_mime && typed.has_size) {
                    return err(start, K::BadBlob);
                }
                Ok(to.put(S::obj_end(o)))
            }
            _ => self.scalar_at::<S, P>(start, ib, to),
        }
    }

    /// The JSON-form rules for a map key starting with `$` (or any key of a blob map):
    /// `$link` and `$bytes` are refused, `$type` must be a non-empty text string, and a
    /// `"$type": "blob"` map is noted for the shape check at its end. Looks at the value's
    /// first bytes only; the value itself is decoded afterwards as usual.
    #[cold]
    fn reserved(&self, kb: &[u8], kstart: usize, typed: &mut Typed) -> Result<(), Fail> {
        match kb {
            b"$link" => err(kstart, K::ReservedKey { key: "$link" }),
            b"$bytes" => err(kstart, K::ReservedKey { key: "$bytes" }),
            b"$type" => {
                // A text head (major type 3) with a non-zero length.
                match self.rest.first() {
                    Some(&b) if b >> 5 == 3 && b != 0x60 => {
                        typed.blob = self.rest.get(..5) == Some(b"\x64blob");
                        Ok(())
                    }
                    _ => err(self.pos(), K::BadType),
                }
            }
            _ => {
                typed.note(kb, self.rest);
                Ok(())
            }
        }
    }

    #[inline(always)]
    fn scalar_at<S: Sink<'a>, P: Put<S::Out>>(
        &mut self,
        start: usize,
        ib: u8,
        to: P,
    ) -> Result<P::R, Fail> {
        let info = ib & 0x1f;
        match ib >> 5 {
            0 => {
                let v = self.arg(info, start)?;
                match i64::try_from(v) {
                    Ok(i) => Ok(to.put(S::int(i))),
                    Err(_) => err(start, K::IntegerOverflow),
                }
            }
            1 => {
                let v = self.arg(info, start)?;
                match i64::try_from(v) {
                    Ok(i) => Ok(to.put(S::int(-1 - i))),
                    Err(_) => err(start, K::IntegerOverflow),
                }
            }
            2 => {
                let len = self.arg(info, start)?;
                let b = self.take(len, start)?;
                if S::CHARGES {
                    self.charge(b.len(), start)?;
                }
                Ok(to.put(S::bytes(b)))
            }
            3 => {
                let len = self.arg(info, start)?;
                let b = self.take(len, start)?;
                // Short strings are kept inline (no allocation).
                if S::CHARGES && b.len() > crate::INLINE_LEN {
                    self.charge(b.len(), start)?;
                }
                match S::str(b) {
                    Some(v) => Ok(to.put(v)),
                    None => Err(self.bad_utf8(b)),
                }
            }
            6 => {
                let tag = self.arg(info, start)?;
                if tag != 42 {
                    return err(start, K::Tag { tag });
                }
                let bstart = self.pos();
                let bb = self.byte()?;
                if bb >> 5 != 2 {
                    return err(bstart, K::CidNotBytes);
                }
                let len = self.arg(bb & 0x1f, bstart)?;
                let content = self.take(len, bstart)?;
                match content.split_first() {
                    Some((0, raw)) => match S::link(raw) {
                        Ok(v) if S::CHARGES => {
                            self.charge(std::mem::size_of::<Cid>(), bstart)?;
                            Ok(to.put(v))
                        }
                        Ok(v) => Ok(to.put(v)),
                        Err(e) => err(bstart, K::Cid(e)),
                    },
                    _ => err(bstart, K::CidPrefix),
                }
            }
            _ => match info {
                20 => Ok(to.put(S::bool(false))),
                21 => Ok(to.put(S::bool(true))),
                22 => Ok(to.put(S::null())),
                25..=27 => err(start, K::Float),
                31 => err(start, K::IndefiniteLength),
                24 => err(
                    start,
                    K::Simple {
                        value: self.rest.first().copied().unwrap_or(24),
                    },
                ),
                28..=30 => err(start, K::Reserved { info }),
                _ => err(start, K::Simple { value: info }),
            },
        }
    }
}

/// True if key `a` sorts strictly before key `b` in DAG-CBOR order (shorter first, then
/// bytewise). Keys are short, so a byte loop beats a call to `memcmp`.
#[inline(always)]
pub(crate) fn key_less(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return a.len() < b.len();
    }
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x < y;
        }
    }
    false
}

// `run` and `whole` are inlined into the public entry points, so that the decoded value
// is returned through one slot instead of being copied out of each layer.
#[inline(always)]
fn run<'a, S: Sink<'a>>(
    bytes: &'a [u8],
    limits: &DecodeLimits,
) -> Result<(S::Out, &'a [u8]), Fail> {
    let mut d = Decoder::new(bytes, *limits);
    let v = d.value::<S>(0)?;
    Ok((v, d.rest))
}

#[inline(always)]
fn whole<'a, S: Sink<'a>>(bytes: &'a [u8], limits: &DecodeLimits) -> Result<S::Out, Fail> {
    let (v, rest) = run::<S>(bytes, limits)?;
    if rest.is_empty() {
        Ok(v)
    } else {
        err(
            bytes.len() - rest.len(),
            K::TrailingBytes { extra: rest.len() },
        )
    }
}

/// Decodes one strict DAG-CBOR value filling the whole input, with the default limits.
///
/// ```
/// # fn main() -> Result<(), atmo_data::Error> {
/// let v = atmo_data::cbor::decode(&[0xa1, 0x61, 0x61, 0x01])?; // {"a": 1}
/// assert_eq!(v.get("a").and_then(|v| v.as_integer()), Some(1));
/// assert!(atmo_data::cbor::decode(&[0xa1, 0x61, 0x61, 0xf9, 0x3c, 0x00]).is_err()); // a float
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`DecodeError`] with the offset and reason if the input is not strict DAG-CBOR.
pub fn decode(bytes: &[u8]) -> Result<Value, DecodeError> {
    whole::<Owned>(bytes, &DecodeLimits::DEFAULT).map_err(|e| *e)
}

/// Like [`decode`], with explicit limits.
///
/// # Errors
/// [`DecodeError`] if the input is not strict DAG-CBOR or exceeds `limits`.
pub fn decode_with(bytes: &[u8], limits: &DecodeLimits) -> Result<Value, DecodeError> {
    whole::<Owned>(bytes, limits).map_err(|e| *e)
}

/// Decodes one value from the start of the input and returns the bytes after it (for
/// streams of concatenated values, such as firehose frames).
///
/// # Errors
/// [`DecodeError`] if the input does not start with a strict DAG-CBOR value.
pub fn decode_prefix<'a>(
    bytes: &'a [u8],
    limits: &DecodeLimits,
) -> Result<(Value, &'a [u8]), DecodeError> {
    run::<Owned>(bytes, limits).map_err(|e| *e)
}

/// Checks `bytes` with the same strict rules as [`decode`] (default limits), then returns
/// a borrowed, lazy [`ValueRef`] view of them: no copies and no allocation.
///
/// ```
/// # fn main() -> Result<(), atmo_data::Error> {
/// let bytes = atmo_data::cbor::encode(&atmo_data::json::from_str(r#"{"text": "hi"}"#)?);
/// let v = atmo_data::cbor::decode_ref(&bytes)?;
/// assert_eq!(v.get("text").and_then(|t| t.as_str()), Some("hi"));
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`DecodeError`] if the input is not strict DAG-CBOR.
pub fn decode_ref(bytes: &[u8]) -> Result<ValueRef<'_>, DecodeError> {
    decode_ref_with(bytes, &DecodeLimits::DEFAULT)
}

/// Like [`decode_ref`], with explicit limits.
///
/// # Errors
/// [`DecodeError`] if the input is not strict DAG-CBOR or exceeds `limits`.
pub fn decode_ref_with<'a>(
    bytes: &'a [u8],
    limits: &DecodeLimits,
) -> Result<ValueRef<'a>, DecodeError> {
    whole::<Nothing>(bytes, limits).map_err(|e| *e)?;
    Ok(ValueRef::from_validated(bytes))
}

/// Checks that the input is one strict DAG-CBOR value within `limits`, building nothing.
///
/// # Errors
/// [`DecodeError`] if the input is not strict DAG-CBOR or exceeds `limits`.
pub fn validate(bytes: &[u8], limits: &DecodeLimits) -> Result<(), DecodeError> {
    whole::<Nothing>(bytes, limits).map_err(|e| *e)
}
