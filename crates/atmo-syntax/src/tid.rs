//! Timestamp identifiers (TIDs) and a monotonic TID generator.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::macros::{char_at, string_type_impls};

/// The base32-sortable alphabet: each character's index is its 5-bit value, and the
/// characters are in ASCII order, so string order equals numeric order.
const ALPHABET: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";

/// Mask of the 53-bit microsecond timestamp.
const TIMESTAMP_MASK: u64 = (1 << 53) - 1;
/// Mask of the 10-bit clock identifier.
const CLOCK_ID_MASK: u16 = (1 << 10) - 1;

/// A timestamp identifier: 13 characters of base32-sortable encoding a 64-bit integer,
/// with a 53-bit microsecond Unix timestamp in the high bits and a 10-bit clock
/// identifier in the low bits. TIDs sort (as strings and as [`Tid`] values) in the order
/// of their integers, hence roughly by time.
///
/// Syntax (atproto TID spec): exactly 13 characters from `234567abcdefghijklmnopqrstuvwxyz`,
/// the first one from `234567abcdefghij` (the integer fits in 64 bits). TIDs made by
/// [`Tid::from_parts`] or [`TidClock`] also have the top bit clear.
///
/// ```
/// use atmo_syntax::{Tid, TidClock};
///
/// let tid = Tid::new("3jzfcijpj2z2a")?;
/// assert_eq!(Tid::from_parts(tid.timestamp_micros(), tid.clock_id()), tid);
///
/// let clock = TidClock::with_clock_id(7);
/// let (a, b) = (clock.next(), clock.next());
/// assert!(a < b);
/// assert_eq!(b.clock_id(), 7);
/// # Ok::<(), atmo_syntax::TidError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tid([u8; 13]);

/// Why a string is not a valid [`Tid`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TidError {
    /// The input is not 13 bytes long.
    #[error("must be 13 characters, found {len} bytes")]
    BadLength {
        /// Length of the input in bytes.
        len: usize,
    },
    /// A character outside the base32-sortable alphabet (lower case only).
    #[error("invalid character {ch:?} at byte {at}")]
    BadChar {
        /// Byte offset of the character.
        at: usize,
        /// The character.
        ch: char,
    },
    /// The first character is past `j`: the value would not fit in 64 bits.
    #[error("first character {ch:?} is out of range (at most 'j')")]
    HighBit {
        /// The first character.
        ch: char,
    },
}

fn digit_value(b: u8) -> Option<u8> {
    match b {
        b'2'..=b'7' => Some(b - b'2'),
        b'a'..=b'z' => Some(b - b'a' + 6),
        _ => None,
    }
}

impl Tid {
    /// Length of a TID in characters.
    pub const LEN: usize = 13;

    /// Parses and validates a TID.
    ///
    /// # Errors
    ///
    /// Returns a [`TidError`] saying what is wrong and where.
    pub fn new(s: &str) -> Result<Self, TidError> {
        let bytes: &[u8; 13] = s
            .as_bytes()
            .try_into()
            .map_err(|_| TidError::BadLength { len: s.len() })?;
        for (at, &b) in bytes.iter().enumerate() {
            if digit_value(b).is_none() {
                return Err(TidError::BadChar {
                    at,
                    ch: char_at(s, at),
                });
            }
        }
        let [first, ..] = *bytes;
        if first > b'j' {
            return Err(TidError::HighBit {
                ch: char::from(first),
            });
        }
        Ok(Self(*bytes))
    }

    fn from_string(s: String) -> Result<Self, TidError> {
        Self::new(&s)
    }

    /// Builds a TID from a microsecond Unix timestamp and a clock identifier. Only the low
    /// 53 bits of the timestamp and the low 10 bits of the clock identifier are used
    /// (the rest is masked off), so the result always has its top bit clear.
    #[must_use]
    pub fn from_parts(timestamp_micros: u64, clock_id: u16) -> Self {
        Self::from_u64(
            ((timestamp_micros & TIMESTAMP_MASK) << 10) | u64::from(clock_id & CLOCK_ID_MASK),
        )
    }

    /// Builds a TID from its 64-bit integer. The top bit is masked off, as the spec
    /// requires it to be zero.
    #[must_use]
    pub fn from_u64(value: u64) -> Self {
        let value = value & (u64::MAX >> 1);
        let mut out = [b'2'; 13];
        for (i, slot) in out.iter_mut().enumerate() {
            let shift = 5 * (12 - i);
            let idx = ((value >> shift) & 31) as usize;
            *slot = ALPHABET.get(idx).copied().unwrap_or(b'2');
        }
        Self(out)
    }

    /// The TID's 64-bit integer.
    #[must_use]
    pub fn to_u64(&self) -> u64 {
        self.0.iter().fold(0u64, |acc, &b| {
            (acc << 5) | u64::from(digit_value(b).unwrap_or(0))
        })
    }

    /// The 53-bit microsecond Unix timestamp.
    #[must_use]
    pub fn timestamp_micros(&self) -> u64 {
        (self.to_u64() >> 10) & TIMESTAMP_MASK
    }

    /// The 10-bit clock identifier.
    #[must_use]
    pub fn clock_id(&self) -> u16 {
        (self.to_u64() & u64::from(CLOCK_ID_MASK)) as u16
    }

    /// A new TID for the current time from the process-wide [`TidClock`]: never repeats
    /// and never goes back within this process.
    ///
    /// ```
    /// use atmo_syntax::Tid;
    /// let (a, b) = (Tid::now(), Tid::now());
    /// assert!(a < b);
    /// ```
    #[must_use]
    pub fn now() -> Self {
        static GLOBAL: OnceLock<TidClock> = OnceLock::new();
        GLOBAL.get_or_init(TidClock::new).next()
    }

    /// The TID as a string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Always ASCII: every byte comes from `ALPHABET` or was checked against it.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The TID as an owned string.
    #[must_use]
    pub fn into_string(self) -> String {
        self.as_str().to_owned()
    }
}

string_type_impls!(Tid, TidError, "a TID string");

/// A thread-safe, monotonic TID generator.
///
/// [`next`](Self::next) takes `&self` (share the clock behind an `Arc` or a `static`)
/// and returns a TID whose timestamp is the current time in microseconds, or one more
/// than the last issued timestamp if the system clock has not moved forward (or went
/// back). So a clock never repeats a TID and never goes back. Two clocks in different
/// processes avoid collisions through distinct clock identifiers.
///
/// ```
/// use atmo_syntax::TidClock;
///
/// let clock = TidClock::new();
/// let first = clock.next();
/// let second = clock.next();
/// assert!(second > first);
/// assert_eq!(first.clock_id(), clock.clock_id());
/// ```
#[derive(Debug)]
pub struct TidClock {
    last: AtomicU64,
    clock_id: u16,
}

impl TidClock {
    /// A clock with a random clock identifier (from the standard library's randomly
    /// seeded hasher, mixed with the time and a counter).
    #[must_use]
    pub fn new() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        COUNTER.fetch_add(1, Ordering::Relaxed).hash(&mut hasher);
        now_micros().hash(&mut hasher);
        std::thread::current().id().hash(&mut hasher);
        let local = 0u8;
        std::ptr::addr_of!(local).addr().hash(&mut hasher);
        Self::with_clock_id((hasher.finish() & u64::from(CLOCK_ID_MASK)) as u16)
    }

    /// A clock with a chosen clock identifier (only its low 10 bits are used).
    #[must_use]
    pub fn with_clock_id(clock_id: u16) -> Self {
        Self {
            last: AtomicU64::new(0),
            clock_id: clock_id & CLOCK_ID_MASK,
        }
    }

    /// This clock's 10-bit identifier.
    #[must_use]
    pub fn clock_id(&self) -> u16 {
        self.clock_id
    }

    /// The next TID: strictly greater than every TID this clock issued before, across
    /// threads. (The timestamp saturates at 2^53 - 1 microseconds, in the year 2255.)
    #[must_use]
    pub fn next(&self) -> Tid {
        let now = now_micros() & TIMESTAMP_MASK;
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let ts = if now > last {
                now
            } else {
                last.saturating_add(1).min(TIMESTAMP_MASK)
            };
            match self
                .last
                .compare_exchange_weak(last, ts, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return Tid::from_parts(ts, self.clock_id),
                Err(actual) => last = actual,
            }
        }
    }
}

impl Default for TidClock {
    fn default() -> Self {
        Self::new()
    }
}

/// Microseconds since the Unix epoch (0 if the system clock is before it).
pub(crate) fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_and_positions() {
        assert_eq!(
            Tid::new("3jzfcijpj2z2"),
            Err(TidError::BadLength { len: 12 })
        );
        assert_eq!(Tid::new(""), Err(TidError::BadLength { len: 0 }));
        assert_eq!(
            Tid::new("3jzfcijpj2z21"),
            Err(TidError::BadChar { at: 12, ch: '1' })
        );
        assert_eq!(
            Tid::new("3JZFCIJPJ2Z2A"),
            Err(TidError::BadChar { at: 1, ch: 'J' })
        );
        assert_eq!(
            Tid::new("kjzfcijpj2z2a"),
            Err(TidError::HighBit { ch: 'k' })
        );
        assert!(Tid::new("jzzzzzzzzzzzz").is_ok());
    }

    #[test]
    fn parts_round_trip() {
        let t = Tid::from_parts(1_700_000_000_000_000, 1023);
        assert_eq!(t.timestamp_micros(), 1_700_000_000_000_000);
        assert_eq!(t.clock_id(), 1023);
        assert_eq!(Tid::new(t.as_str()).unwrap(), t);
        assert_eq!(Tid::from_u64(t.to_u64()), t);
        // Masking.
        assert_eq!(Tid::from_parts(u64::MAX, u16::MAX).to_u64(), u64::MAX >> 1);
        assert_eq!(Tid::from_parts(0, 0).as_str(), "2222222222222");
        // The first character carries the top 4 bits; with the top bit clear it is at most `b`.
        assert_eq!(Tid::from_u64(u64::MAX).as_str(), "bzzzzzzzzzzzz");
    }

    #[test]
    fn known_value() {
        // 3jzfcijpj2z2a: compute by hand from the alphabet.
        let tid = Tid::new("3jzfcijpj2z2a").unwrap();
        let mut v = 0u64;
        for b in "3jzfcijpj2z2a".bytes() {
            v = v * 32 + ALPHABET.iter().position(|&a| a == b).unwrap() as u64;
        }
        assert_eq!(tid.to_u64(), v);
    }

    #[test]
    fn clock_is_monotonic() {
        let clock = TidClock::with_clock_id(5000);
        assert_eq!(clock.clock_id(), 5000 & 1023);
        let mut prev = clock.next();
        for _ in 0..1000 {
            let next = clock.next();
            assert!(next > prev);
            prev = next;
        }
    }

    #[test]
    fn clock_survives_time_going_back() {
        let clock = TidClock::with_clock_id(1);
        // Pretend a TID far in the future was issued: the clock must continue after it.
        let future = now_micros() + 10_000_000_000;
        clock.last.store(future, Ordering::Relaxed);
        let t = clock.next();
        assert_eq!(t.timestamp_micros(), future + 1);
    }
}
