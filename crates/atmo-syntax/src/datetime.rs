//! Datetimes: the strict RFC 3339 subset used by atproto records.

use core::cmp::Ordering;
use core::fmt;

use crate::macros::string_type_impls;

/// A valid atproto datetime, such as `1985-04-12T23:20:50.123Z`.
///
/// Syntax (atproto datetime spec, an RFC 3339 / ISO 8601 intersection):
/// `YYYY-MM-DDTHH:MM:SS`, an optional `.` and one or more fraction digits (any
/// precision), then `Z` or `+HH:MM` / `-HH:MM`; upper-case `T` and `Z`; a timezone is
/// required; `-00:00` is not allowed; at most 64 bytes. Semantic checks: month 1-12,
/// day valid for the month (with leap years), hour 0-23, minute and second 0-59 (no
/// leap second), offset hour 0-23, offset minute 0-59, and the instant must not fall
/// before `0000-01-01T00:00:00Z`.
///
/// The string is kept exactly as given ([`as_str`](Self::as_str)); the parsed fields and
/// the instant are available through accessors.
///
/// Ordering and equality: values are ordered by the instant they denote (to the
/// nanosecond; further fraction digits are ignored), and values denoting the same instant
/// are ordered by their strings. So `a == b` exactly when the strings are equal, and
/// `1985-04-12T23:20:50Z < 1985-04-12T23:20:50.000Z` (same instant, string order).
///
/// ```
/// use atmo_syntax::Datetime;
///
/// let dt = Datetime::new("1985-04-12T23:20:50.123+01:00")?;
/// assert_eq!((dt.year(), dt.month(), dt.day()), (1985, 4, 12));
/// assert_eq!(dt.offset_minutes(), 60);
/// assert_eq!(dt.timestamp_micros(), 482_192_450_123_000);
/// assert!(Datetime::new("1985-04-12T23:20:50.123-00:00").is_err());
/// assert!(Datetime::new("1985-02-29T00:00:00Z").is_err());
/// # Ok::<(), atmo_syntax::DatetimeError>(())
/// ```
#[derive(Clone)]
pub struct Datetime {
    s: crate::text::Text,
    /// Seconds since the Unix epoch of the instant (UTC).
    secs: i64,
    nanos: u32,
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    offset_minutes: i16,
}

/// A field of a [`Datetime`], for [`DatetimeError::OutOfRange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DatetimeField {
    /// The year.
    Year,
    /// The month.
    Month,
    /// The day of the month.
    Day,
    /// The hour.
    Hour,
    /// The minute.
    Minute,
    /// The second.
    Second,
    /// The hours of the UTC offset.
    OffsetHour,
    /// The minutes of the UTC offset.
    OffsetMinute,
}

impl fmt::Display for DatetimeField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Year => "year",
            Self::Month => "month",
            Self::Day => "day",
            Self::Hour => "hour",
            Self::Minute => "minute",
            Self::Second => "second",
            Self::OffsetHour => "offset hour",
            Self::OffsetMinute => "offset minute",
        })
    }
}

/// Why a string is not a valid [`Datetime`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DatetimeError {
    /// The input is empty.
    #[error("empty string")]
    Empty,
    /// The input is longer than [`Datetime::MAX_LEN`].
    #[error("too long: {len} bytes, at most {max}")]
    TooLong {
        /// Length of the input in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The input does not follow the syntax.
    #[error("expected {expected} at byte {at}")]
    Syntax {
        /// Byte offset of the problem.
        at: usize,
        /// What was expected there.
        expected: &'static str,
    },
    /// The offset is `-00:00` ("unknown local offset" in RFC 3339, not allowed here).
    #[error("offset -00:00 is not allowed")]
    NegativeZeroOffset,
    /// A field is out of its range (month 13, day 31 in April, hour 24...).
    #[error("{field} {value} out of range")]
    OutOfRange {
        /// The field.
        field: DatetimeField,
        /// Its value.
        value: u32,
    },
    /// The instant falls before `0000-01-01T00:00:00Z`.
    #[error("normalises to a time before year 0000")]
    BeforeYearZero,
}

/// Days from 1970-01-01 to the given proleptic Gregorian date.
#[inline]
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // day is in 1..=31 and month in 1..=12 by construction.
    (year, month as u32, day as u32)
}

fn is_leap(year: u32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Seconds from the Unix epoch to 0000-01-01T00:00:00Z.
const YEAR_ZERO_SECS: i64 = -62_167_219_200;
/// Seconds from the Unix epoch to 9999-12-31T23:59:59Z.
const YEAR_9999_END_SECS: i64 = 253_402_300_799;

const POW10: [u32; 10] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

/// The fields of `YYYY-MM-DDTHH:MM:SS` at the start of `b`, read in one go, or `None`
/// if the first 19 bytes are not of that shape.
#[inline(always)]
fn fixed_prefix(b: &[u8]) -> Option<[u32; 6]> {
    let &[
        y0,
        y1,
        y2,
        y3,
        b'-',
        m0,
        m1,
        b'-',
        d0,
        d1,
        b'T',
        h0,
        h1,
        b':',
        i0,
        i1,
        b':',
        s0,
        s1,
    ] = b.first_chunk::<19>()?
    else {
        return None;
    };
    let d = [y0, y1, y2, y3, m0, m1, d0, d1, h0, h1, i0, i1, s0, s1].map(|c| c.wrapping_sub(b'0'));
    if d.iter().any(|&v| v > 9) {
        return None;
    }
    let [y0, y1, y2, y3, m0, m1, d0, d1, h0, h1, i0, i1, s0, s1] = d.map(u32::from);
    Some([
        y0 * 1000 + y1 * 100 + y2 * 10 + y3,
        m0 * 10 + m1,
        d0 * 10 + d1,
        h0 * 10 + h1,
        i0 * 10 + i1,
        s0 * 10 + s1,
    ])
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, n: usize) -> Result<u32, DatetimeError> {
        let mut v = 0u32;
        for _ in 0..n {
            match self.b.get(self.at) {
                Some(&c @ b'0'..=b'9') => v = v * 10 + u32::from(c - b'0'),
                _ => return Err(self.expected("digit")),
            }
            self.at += 1;
        }
        Ok(v)
    }

    fn lit(&mut self, c: u8, expected: &'static str) -> Result<(), DatetimeError> {
        if self.b.get(self.at) == Some(&c) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.expected(expected))
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

    fn expected(&self, expected: &'static str) -> DatetimeError {
        DatetimeError::Syntax {
            at: self.at,
            expected,
        }
    }
}

fn check(field: DatetimeField, value: u32, min: u32, max: u32) -> Result<(), DatetimeError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(DatetimeError::OutOfRange { field, value })
    }
}

impl Datetime {
    /// Maximum length of a datetime string in bytes.
    pub const MAX_LEN: usize = 64;

    /// Parses and validates a datetime.
    ///
    /// # Errors
    ///
    /// Returns a [`DatetimeError`] saying what is wrong and where.
    pub fn new(s: &str) -> Result<Self, DatetimeError> {
        let mut dt = Self::parse(s)?;
        dt.s = crate::text::Text::new(s);
        Ok(dt)
    }

    fn from_string(s: String) -> Result<Self, DatetimeError> {
        let mut dt = Self::parse(&s)?;
        dt.s = crate::text::Text::from_string(s);
        Ok(dt)
    }

    /// Parses `s`, leaving the `s` field empty for the caller to fill. Inlined into its
    /// callers: built in another function, the value was read back with wider loads than
    /// its fields were written with, which stalls.
    #[inline(always)]
    fn parse(s: &str) -> Result<Self, DatetimeError> {
        use DatetimeField as F;
        let b = s.as_bytes();
        if b.is_empty() {
            return Err(DatetimeError::Empty);
        }
        if b.len() > Self::MAX_LEN {
            return Err(DatetimeError::TooLong {
                len: b.len(),
                max: Self::MAX_LEN,
            });
        }
        let mut c = Cursor { b, at: 0 };
        let [year, month, day, hour, minute, second] = match fixed_prefix(b) {
            Some(fields) => {
                c.at = 19;
                fields
            }
            // Not of the usual shape: the step-by-step parse says where it goes wrong.
            None => {
                let year = c.digits(4)?;
                c.lit(b'-', "'-'")?;
                let month = c.digits(2)?;
                c.lit(b'-', "'-'")?;
                let day = c.digits(2)?;
                c.lit(b'T', "'T'")?;
                let hour = c.digits(2)?;
                c.lit(b':', "':'")?;
                let minute = c.digits(2)?;
                c.lit(b':', "':'")?;
                [year, month, day, hour, minute, c.digits(2)?]
            }
        };
        let mut nanos = 0u32;
        if c.peek() == Some(b'.') {
            c.at += 1;
            let start = c.at;
            while let Some(d @ b'0'..=b'9') = c.peek() {
                if c.at - start < 9 {
                    nanos = nanos * 10 + u32::from(d - b'0');
                }
                c.at += 1;
            }
            let n = c.at - start;
            if n == 0 {
                return Err(c.expected("digit"));
            }
            nanos *= POW10.get(9usize.saturating_sub(n)).copied().unwrap_or(1);
        }
        let offset_minutes: i32 = match c.peek() {
            Some(b'Z') => {
                c.at += 1;
                0
            }
            Some(sign @ (b'+' | b'-')) => {
                c.at += 1;
                let oh = c.digits(2)?;
                c.lit(b':', "':'")?;
                let om = c.digits(2)?;
                if sign == b'-' && oh == 0 && om == 0 {
                    return Err(DatetimeError::NegativeZeroOffset);
                }
                check(F::OffsetHour, oh, 0, 23)?;
                check(F::OffsetMinute, om, 0, 59)?;
                let total = (oh * 60 + om) as i32;
                if sign == b'-' { -total } else { total }
            }
            _ => return Err(c.expected("'Z' or a UTC offset")),
        };
        if c.at != b.len() {
            return Err(c.expected("end of input"));
        }
        check(F::Month, month, 1, 12)?;
        check(F::Day, day, 1, days_in_month(year, month))?;
        check(F::Hour, hour, 0, 23)?;
        check(F::Minute, minute, 0, 59)?;
        check(F::Second, second, 0, 59)?;
        let secs = days_from_civil(i64::from(year), month, day) * 86_400
            + i64::from(hour * 3600 + minute * 60 + second)
            - i64::from(offset_minutes) * 60;
        if secs < YEAR_ZERO_SECS {
            return Err(DatetimeError::BeforeYearZero);
        }
        // All narrowing casts below are in range: checked above.
        Ok(Self {
            s: crate::text::Text::default(),
            secs,
            nanos,
            year: year as u16,
            month: month as u8,
            day: day as u8,
            hour: hour as u8,
            minute: minute as u8,
            second: second as u8,
            offset_minutes: offset_minutes as i16,
        })
    }

    /// The current time in UTC with millisecond precision, formatted as
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` (the spec's preferred form).
    ///
    /// ```
    /// use atmo_syntax::Datetime;
    /// let now = Datetime::now();
    /// assert_eq!(now.as_str().len(), 24);
    /// assert!(now.year() >= 2024);
    /// ```
    #[must_use]
    pub fn now() -> Self {
        let micros = i64::try_from(crate::tid::now_micros()).unwrap_or(i64::MAX);
        let micros = micros - micros.rem_euclid(1000);
        Self::from_unix_clamped(micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000))
    }

    /// The datetime of a microsecond Unix timestamp, in UTC: `YYYY-MM-DDTHH:MM:SS.mmmZ`
    /// when the timestamp is a whole number of milliseconds, else with six fraction
    /// digits.
    ///
    /// # Errors
    ///
    /// [`DatetimeError::BeforeYearZero`] before year 0000 and
    /// [`DatetimeError::OutOfRange`] (year) after year 9999.
    ///
    /// ```
    /// use atmo_syntax::Datetime;
    /// let dt = Datetime::from_timestamp_micros(482_196_050_123_000)?;
    /// assert_eq!(dt.as_str(), "1985-04-12T23:20:50.123Z");
    /// # Ok::<(), atmo_syntax::DatetimeError>(())
    /// ```
    pub fn from_timestamp_micros(micros: i64) -> Result<Self, DatetimeError> {
        let secs = micros.div_euclid(1_000_000);
        if secs < YEAR_ZERO_SECS {
            return Err(DatetimeError::BeforeYearZero);
        }
        if secs > YEAR_9999_END_SECS {
            let (year, _, _) = civil_from_days(secs.div_euclid(86_400));
            return Err(DatetimeError::OutOfRange {
                field: DatetimeField::Year,
                value: u32::try_from(year).unwrap_or(u32::MAX),
            });
        }
        Ok(Self::from_unix_clamped(secs, micros.rem_euclid(1_000_000)))
    }

    /// Builds a UTC datetime from seconds and a sub-second microsecond count, clamping
    /// to the years 0000..=9999.
    fn from_unix_clamped(secs: i64, micros: i64) -> Self {
        let (secs, micros) = if secs < YEAR_ZERO_SECS {
            (YEAR_ZERO_SECS, 0)
        } else if secs > YEAR_9999_END_SECS {
            (YEAR_9999_END_SECS, 999_999)
        } else {
            (secs, micros.clamp(0, 999_999))
        };
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let (hour, minute, second) = (sod / 3600, sod / 60 % 60, sod % 60);
        let mut s = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
        if micros % 1000 == 0 {
            s.push_str(&format!(".{:03}Z", micros / 1000));
        } else {
            s.push_str(&format!(".{micros:06}Z"));
        }
        // All narrowing casts are in range: the year is clamped to 0..=9999 and the
        // other fields come from the civil calendar.
        Self {
            s: crate::text::Text::from_string(s),
            secs,
            nanos: (micros * 1000) as u32,
            year: year as u16,
            month: month as u8,
            day: day as u8,
            hour: hour as u8,
            minute: minute as u8,
            second: second as u8,
            offset_minutes: 0,
        }
    }

    /// The datetime as given.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.s.as_str()
    }

    /// Consumes the datetime, returning its string.
    #[must_use]
    pub fn into_string(self) -> String {
        self.s.into_string()
    }

    /// The year as written (local time).
    #[must_use]
    pub fn year(&self) -> u16 {
        self.year
    }

    /// The month (1-12) as written.
    #[must_use]
    pub fn month(&self) -> u8 {
        self.month
    }

    /// The day of the month (1-31) as written.
    #[must_use]
    pub fn day(&self) -> u8 {
        self.day
    }

    /// The hour (0-23) as written.
    #[must_use]
    pub fn hour(&self) -> u8 {
        self.hour
    }

    /// The minute (0-59) as written.
    #[must_use]
    pub fn minute(&self) -> u8 {
        self.minute
    }

    /// The second (0-59) as written.
    #[must_use]
    pub fn second(&self) -> u8 {
        self.second
    }

    /// The fraction of the second in nanoseconds (digits past the ninth are ignored).
    #[must_use]
    pub fn nanosecond(&self) -> u32 {
        self.nanos
    }

    /// The UTC offset in minutes as written (`Z` is 0, `-07:00` is -420).
    #[must_use]
    pub fn offset_minutes(&self) -> i16 {
        self.offset_minutes
    }

    /// Whole seconds since the Unix epoch (negative before 1970).
    #[must_use]
    pub fn timestamp(&self) -> i64 {
        self.secs
    }

    /// Microseconds since the Unix epoch (floored; negative before 1970).
    #[must_use]
    pub fn timestamp_micros(&self) -> i64 {
        self.secs * 1_000_000 + i64::from(self.nanos / 1000)
    }
}

string_type_impls!(Datetime, DatetimeError, "a datetime string");

impl fmt::Debug for Datetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Datetime").field(&self.s).finish()
    }
}

impl PartialEq for Datetime {
    fn eq(&self, other: &Self) -> bool {
        self.s == other.s
    }
}

impl Eq for Datetime {}

impl PartialOrd for Datetime {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Datetime {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.secs, self.nanos)
            .cmp(&(other.secs, other.nanos))
            .then_with(|| self.s.cmp(&other.s))
    }
}

impl core::hash::Hash for Datetime {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.s.hash(state);
    }
}

/// A datetime field read leniently: a valid [`Datetime`], or the string as found.
///
/// Records in the wild sometimes carry malformed datetimes. Deserializing this type never
/// fails on a string, so one bad `createdAt` does not make a whole record unreadable;
/// serializing writes the string back unchanged.
///
/// ```
/// use atmo_syntax::LenientDatetime;
///
/// let ok: LenientDatetime = serde_json::from_str("\"2024-01-01T00:00:00Z\"")?;
/// assert!(ok.valid().is_some());
/// let bad: LenientDatetime = serde_json::from_str("\"yesterday\"")?;
/// assert_eq!(bad.valid(), None);
/// assert_eq!(bad.as_str(), "yesterday");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LenientDatetime {
    /// A valid datetime.
    Valid(Datetime),
    /// A string that is not a valid datetime, kept as found.
    Invalid(String),
}

impl LenientDatetime {
    /// Reads a string, keeping it as [`Invalid`](Self::Invalid) if it does not parse.
    #[must_use]
    pub fn new(s: &str) -> Self {
        Datetime::new(s).map_or_else(|_| Self::Invalid(s.to_owned()), Self::Valid)
    }

    /// Reads an owned string, keeping it as [`Invalid`](Self::Invalid) if it does not
    /// parse.
    #[must_use]
    pub fn from_string(s: String) -> Self {
        match Datetime::parse(&s) {
            Ok(mut dt) => {
                dt.s = crate::text::Text::from_string(s);
                Self::Valid(dt)
            }
            Err(_) => Self::Invalid(s),
        }
    }

    /// The string, valid or not.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Valid(d) => d.as_str(),
            Self::Invalid(s) => s,
        }
    }

    /// The datetime, if valid.
    #[must_use]
    pub fn valid(&self) -> Option<&Datetime> {
        match self {
            Self::Valid(d) => Some(d),
            Self::Invalid(_) => None,
        }
    }
}

impl From<Datetime> for LenientDatetime {
    fn from(d: Datetime) -> Self {
        Self::Valid(d)
    }
}

impl fmt::Display for LenientDatetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for LenientDatetime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for LenientDatetime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = LenientDatetime;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<LenientDatetime, E> {
                Ok(LenientDatetime::new(v))
            }

            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<LenientDatetime, E> {
                Ok(LenientDatetime::from_string(v))
            }
        }

        deserializer.deserialize_string(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syntax(at: usize, expected: &'static str) -> Result<Datetime, DatetimeError> {
        Err(DatetimeError::Syntax { at, expected })
    }

    #[test]
    fn errors_and_positions() {
        assert_eq!(Datetime::new(""), Err(DatetimeError::Empty));
        assert_eq!(
            Datetime::new("1985-04-12T23:20:50.123z"),
            syntax(23, "'Z' or a UTC offset")
        );
        assert_eq!(Datetime::new("985-04-12T23:20:50.123Z"), syntax(3, "digit"));
        assert_eq!(Datetime::new("1985-04-12t23:20:50.123Z"), syntax(10, "'T'"));
        assert_eq!(Datetime::new("1985-04-12T23;20:50.123Z"), syntax(13, "':'"));
        assert_eq!(Datetime::new("1985-04-12T23:20:50.Z"), syntax(20, "digit"));
        assert_eq!(
            Datetime::new("1985-04-12T23:20:50Zx"),
            syntax(20, "end of input")
        );
        assert_eq!(Datetime::new("1985-04-12T23:20:50+0000"), syntax(22, "':'"));
        assert_eq!(
            Datetime::new("1985-04-12T23:20:50.123-00:00"),
            Err(DatetimeError::NegativeZeroOffset)
        );
        let range = |field, value| Err(DatetimeError::OutOfRange { field, value });
        use DatetimeField as F;
        assert_eq!(Datetime::new("1985-00-12T23:20:50Z"), range(F::Month, 0));
        assert_eq!(Datetime::new("1985-13-12T23:20:50Z"), range(F::Month, 13));
        assert_eq!(Datetime::new("1985-04-31T23:20:50Z"), range(F::Day, 31));
        assert_eq!(Datetime::new("1985-04-00T23:20:50Z"), range(F::Day, 0));
        assert_eq!(Datetime::new("1900-02-29T00:00:00Z"), range(F::Day, 29));
        assert!(Datetime::new("2000-02-29T00:00:00Z").is_ok());
        assert!(Datetime::new("2024-02-29T00:00:00Z").is_ok());
        assert_eq!(Datetime::new("1985-04-12T24:00:00Z"), range(F::Hour, 24));
        assert_eq!(Datetime::new("1985-04-12T23:99:50Z"), range(F::Minute, 99));
        assert_eq!(Datetime::new("1985-04-12T23:59:60Z"), range(F::Second, 60));
        assert_eq!(
            Datetime::new("1985-04-12T23:59:59+24:00"),
            range(F::OffsetHour, 24)
        );
        assert_eq!(
            Datetime::new("1985-04-12T23:59:59+01:60"),
            range(F::OffsetMinute, 60)
        );
        assert_eq!(
            Datetime::new("0000-01-01T00:00:00+01:00"),
            Err(DatetimeError::BeforeYearZero)
        );
        assert!(Datetime::new("0000-01-01T00:00:00Z").is_ok());
        assert!(Datetime::new("0000-01-01T00:00:00-01:00").is_ok());
    }

    #[test]
    fn length_limit() {
        let base = "1985-04-12T23:20:50.";
        let ok = format!("{base}{}Z", "1".repeat(Datetime::MAX_LEN - base.len() - 1));
        assert_eq!(ok.len(), 64);
        assert!(Datetime::new(&ok).is_ok());
        let long = format!("{base}{}Z", "1".repeat(Datetime::MAX_LEN - base.len()));
        assert_eq!(
            Datetime::new(&long),
            Err(DatetimeError::TooLong { len: 65, max: 64 })
        );
    }

    #[test]
    fn instants() {
        let a = Datetime::new("1985-04-12T23:20:50.123Z").unwrap();
        assert_eq!(a.timestamp_micros(), 482_196_050_123_000);
        let b = Datetime::new("1985-04-13T00:20:50.123+01:00").unwrap();
        assert_eq!(a.timestamp_micros(), b.timestamp_micros());
        assert_ne!(a, b);
        assert_eq!(a.cmp(&b), a.as_str().cmp(b.as_str()));
        let epoch = Datetime::new("1970-01-01T00:00:00Z").unwrap();
        assert_eq!(epoch.timestamp(), 0);
        let y0 = Datetime::new("0000-01-01T00:00:00Z").unwrap();
        assert_eq!(y0.timestamp(), YEAR_ZERO_SECS);
        let y9999 = Datetime::new("9999-12-31T23:59:59Z").unwrap();
        assert_eq!(y9999.timestamp(), YEAR_9999_END_SECS);
        let pre = Datetime::new("1969-12-31T23:59:59.5Z").unwrap();
        assert_eq!(pre.timestamp_micros(), -500_000);
        assert!(pre < epoch);
        let nanos = Datetime::new("1985-04-12T23:20:50.1234567891Z").unwrap();
        assert_eq!(nanos.nanosecond(), 123_456_789);
    }

    #[test]
    fn civil_round_trip() {
        for days in (-719_528i64..2_932_896).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn from_timestamp() {
        let dt = Datetime::from_timestamp_micros(482_196_050_123_456).unwrap();
        assert_eq!(dt.as_str(), "1985-04-12T23:20:50.123456Z");
        assert_eq!(dt.timestamp_micros(), 482_196_050_123_456);
        assert_eq!(Datetime::new(dt.as_str()).unwrap(), dt);
        let before = Datetime::from_timestamp_micros(-1).unwrap();
        assert_eq!(before.as_str(), "1969-12-31T23:59:59.999999Z");
        assert_eq!(
            Datetime::from_timestamp_micros(YEAR_ZERO_SECS * 1_000_000 - 1),
            Err(DatetimeError::BeforeYearZero)
        );
        assert!(matches!(
            Datetime::from_timestamp_micros((YEAR_9999_END_SECS + 1) * 1_000_000),
            Err(DatetimeError::OutOfRange {
                field: DatetimeField::Year,
                value: 10_000
            })
        ));
    }

    #[test]
    fn now_parses() {
        let now = Datetime::now();
        let again = Datetime::new(now.as_str()).unwrap();
        assert_eq!(again.timestamp_micros(), now.timestamp_micros());
        assert_eq!(now.as_str().len(), 24);
    }

    #[test]
    fn lenient() {
        let v = LenientDatetime::new("2024-01-01T00:00:00Z");
        assert!(v.valid().is_some());
        let i = LenientDatetime::from_string("nope".into());
        assert_eq!(i, LenientDatetime::Invalid("nope".into()));
        assert_eq!(i.to_string(), "nope");
    }
}
