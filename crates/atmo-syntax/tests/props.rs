//! Property tests: round trips, TID ordering and monotonicity, and no panics on any input.

use std::collections::HashSet;
use std::fmt::{Debug, Display};
use std::str::FromStr;
use std::sync::Arc;

use atmo_syntax::{
    AtIdentifier, AtUri, CidString, Datetime, Did, Handle, Language, LenientDatetime, Nsid,
    RecordKey, RecordUri, Tid, TidClock, Uri,
};
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn did_str() -> impl Strategy<Value = String> {
    "did:[a-z]{1,10}:[a-zA-Z0-9._:%-]{0,40}[a-zA-Z0-9._-]"
}

fn handle_str() -> impl Strategy<Value = String> {
    "([a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?\\.){1,4}[a-zA-Z]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?"
}

fn nsid_str() -> impl Strategy<Value = String> {
    "[a-zA-Z]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?){1,3}\\.[a-zA-Z][a-zA-Z0-9]{0,10}"
}

fn rkey_str() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9._:~-]{1,30}".prop_filter("not . or ..", |s| s != "." && s != "..")
}

fn tid_str() -> impl Strategy<Value = String> {
    "[2-7a-j][2-7a-z]{12}"
}

fn datetime_str() -> impl Strategy<Value = String> {
    (
        0u32..=9999,
        1u32..=12,
        1u32..=28,
        0u32..24,
        0u32..60,
        0u32..60,
        proptest::option::of("[0-9]{1,12}"),
        prop_oneof![
            Just("Z".to_owned()),
            (prop_oneof![Just('+'), Just('-')], 0u32..24, 0u32..60)
                .prop_filter("no -00:00", |(s, h, m)| !(*s == '-' && *h == 0 && *m == 0))
                .prop_map(|(s, h, m)| format!("{s}{h:02}:{m:02}")),
        ],
    )
        .prop_map(|(y, mo, d, h, mi, s, frac, tz)| {
            let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{tz}")
        })
        // Year 0000 with a positive offset can fall before year 0.
        .prop_filter("not before year 0", |s| Datetime::new(s).is_ok())
}

fn language_str() -> impl Strategy<Value = String> {
    "[a-z]{2,3}(-[a-zA-Z]{4})?(-([a-zA-Z]{2}|[0-9]{3}))?(-[a-z]-[a-z0-9]{2,8})?(-x(-[a-z0-9]{1,8}){1,2})?"
}

fn cid_str() -> impl Strategy<Value = String> {
    "b[a-z2-7]{20,60}"
}

fn uri_str() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9+.-]{0,8}:[!-~]{1,40}"
}

fn at_identifier_str() -> impl Strategy<Value = String> {
    prop_oneof![did_str(), handle_str()]
}

fn at_uri_str() -> impl Strategy<Value = String> {
    (
        at_identifier_str(),
        proptest::option::of((nsid_str(), proptest::option::of(rkey_str()))),
    )
        .prop_map(|(a, rest)| match rest {
            None => format!("at://{a}"),
            Some((c, None)) => format!("at://{a}/{c}"),
            Some((c, Some(r))) => format!("at://{a}/{c}/{r}"),
        })
}

fn record_uri_str() -> impl Strategy<Value = String> {
    (at_identifier_str(), nsid_str(), rkey_str()).prop_map(|(a, c, r)| format!("at://{a}/{c}/{r}"))
}

/// Parses `s`, then checks Display -> FromStr and serde JSON round trips.
fn round_trip<T>(s: &str) -> Result<T, TestCaseError>
where
    T: FromStr + Display + Debug + PartialEq + Serialize + DeserializeOwned + AsRef<str>,
    T::Err: Display,
{
    let v: T = s
        .parse()
        .map_err(|e| TestCaseError::fail(format!("{s:?} rejected: {e}")))?;
    let shown = v.to_string();
    prop_assert_eq!(shown.as_str(), v.as_ref());
    let again: T = shown
        .parse()
        .map_err(|e| TestCaseError::fail(format!("display form {shown:?} rejected: {e}")))?;
    prop_assert_eq!(&again, &v);
    let json = serde_json::to_string(&v).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&json, &serde_json::to_string(&shown).unwrap());
    let back: T = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&back, &v);
    Ok(v)
}

proptest! {
    #[test]
    fn did_round_trips(s in did_str()) {
        let v: Did = round_trip(&s)?;
        prop_assert_eq!(v.as_str(), s.as_str());
    }

    #[test]
    fn handle_round_trips_and_normalises(s in handle_str()) {
        let v: Handle = round_trip(&s)?;
        prop_assert_eq!(v.as_str(), s.to_ascii_lowercase());
        let owned = Handle::try_from(s.clone()).unwrap();
        prop_assert_eq!(owned, v);
    }

    #[test]
    fn nsid_round_trips(s in nsid_str()) {
        let v: Nsid = round_trip(&s)?;
        prop_assert_eq!(format!("{}.{}", v.authority(), v.name()), s);
    }

    #[test]
    fn record_key_round_trips(s in rkey_str()) {
        round_trip::<RecordKey>(&s)?;
    }

    #[test]
    fn tid_string_round_trips(s in tid_str()) {
        let v: Tid = round_trip(&s)?;
        prop_assert_eq!(Tid::from_u64(v.to_u64()).to_u64(), v.to_u64() & (u64::MAX >> 1));
    }

    #[test]
    fn tid_parts_round_trip(ts in 0u64..(1 << 53), clock in 0u16..1024) {
        let t = Tid::from_parts(ts, clock);
        prop_assert_eq!(t.timestamp_micros(), ts);
        prop_assert_eq!(t.clock_id(), clock);
        let parsed: Tid = round_trip(t.as_str())?;
        prop_assert_eq!(parsed, t);
    }

    #[test]
    fn tid_order_is_time_order(
        a in (0u64..(1 << 53), 0u16..1024),
        b in (0u64..(1 << 53), 0u16..1024),
    ) {
        let (ta, tb) = (Tid::from_parts(a.0, a.1), Tid::from_parts(b.0, b.1));
        prop_assert_eq!(ta.cmp(&tb), ta.to_u64().cmp(&tb.to_u64()));
        prop_assert_eq!(ta.cmp(&tb), ta.as_str().cmp(tb.as_str()));
        if a.0 != b.0 {
            prop_assert_eq!(ta.cmp(&tb), a.0.cmp(&b.0));
        }
    }

    #[test]
    fn datetime_round_trips(s in datetime_str()) {
        let v: Datetime = round_trip(&s)?;
        prop_assert_eq!(v.as_str(), s.as_str());
        let lenient: LenientDatetime = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        prop_assert_eq!(lenient, LenientDatetime::Valid(v));
    }

    #[test]
    fn datetime_order_follows_instant(a in datetime_str(), b in datetime_str()) {
        let (da, db) = (Datetime::new(&a).unwrap(), Datetime::new(&b).unwrap());
        if da.timestamp_micros() < db.timestamp_micros() {
            prop_assert!(da < db);
        }
        prop_assert_eq!(da == db, a == b);
    }

    #[test]
    fn datetime_from_timestamp_round_trips(micros in -62_167_219_200_000_000i64..253_402_300_799_999_999) {
        let d = Datetime::from_timestamp_micros(micros).unwrap();
        prop_assert_eq!(d.timestamp_micros(), micros);
        let again: Datetime = round_trip(d.as_str())?;
        prop_assert_eq!(again.timestamp_micros(), micros);
    }

    #[test]
    fn language_round_trips(s in language_str()) {
        round_trip::<Language>(&s)?;
    }

    #[test]
    fn cid_round_trips(s in cid_str()) {
        round_trip::<CidString>(&s)?;
    }

    #[test]
    fn uri_round_trips(s in uri_str()) {
        round_trip::<Uri>(&s)?;
    }

    #[test]
    fn at_identifier_round_trips(s in at_identifier_str()) {
        let v: AtIdentifier = round_trip(&s)?;
        prop_assert_eq!(v.is_did(), s.starts_with("did:"));
    }

    #[test]
    fn at_uri_round_trips(s in at_uri_str()) {
        let v: AtUri = round_trip(&s)?;
        let (authority, collection, rkey) = v.clone().into_parts();
        let rebuilt = AtUri::from_parts(authority, collection, rkey).unwrap();
        prop_assert_eq!(rebuilt, v);
    }

    #[test]
    fn record_uri_round_trips(s in record_uri_str()) {
        let v: RecordUri = round_trip(&s)?;
        let at = AtUri::from(v.clone());
        prop_assert_eq!(RecordUri::try_from(at).unwrap(), v);
    }

    #[test]
    fn parsers_never_panic(s in any::<String>()) {
        check_all(&s);
    }

    #[test]
    fn parsers_never_panic_near_valid(
        s in "(at://|did:|x-)?[a-zA-Z0-9:/._~%#?@+=-]{0,80}",
    ) {
        check_all(&s);
    }
}

/// Runs every parser; on success, exercises the accessors and checks the round trip.
fn check_all(s: &str) {
    fn rt<T: FromStr + Display + PartialEq + Debug>(s: &str) -> Option<T> {
        let v = s.parse::<T>().ok()?;
        assert_eq!(v.to_string().parse::<T>().ok().as_ref(), Some(&v));
        Some(v)
    }
    if let Some(d) = rt::<Did>(s) {
        let _ = (d.method(), d.identifier());
    }
    if let Some(h) = rt::<Handle>(s) {
        let _ = h.is_disallowed_tld();
    }
    if let Some(n) = rt::<Nsid>(s) {
        let _ = (n.authority(), n.name(), n.domain_authority());
    }
    if let Some(u) = rt::<AtUri>(s) {
        let _ = (u.authority(), u.collection(), u.rkey());
    }
    rt::<RecordUri>(s);
    rt::<AtIdentifier>(s);
    if let Some(t) = rt::<Tid>(s) {
        let _ = (t.timestamp_micros(), t.clock_id());
    }
    rt::<RecordKey>(s);
    if let Some(d) = rt::<Datetime>(s) {
        let _ = d.timestamp_micros();
    }
    rt::<Language>(s);
    rt::<CidString>(s);
    rt::<Uri>(s);
    let lenient = LenientDatetime::new(s);
    assert_eq!(lenient.as_str(), s);
}

#[test]
fn tid_clock_is_strictly_increasing_across_threads() {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 10_000;
    let clock = Arc::new(TidClock::new());
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let clock = Arc::clone(&clock);
            std::thread::spawn(move || (0..PER_THREAD).map(|_| clock.next()).collect::<Vec<Tid>>())
        })
        .collect();
    let mut all = HashSet::new();
    for h in handles {
        let seq = h.join().unwrap();
        assert_eq!(seq.len(), PER_THREAD);
        for pair in seq.windows(2) {
            assert!(pair[0] < pair[1], "{} !< {}", pair[0], pair[1]);
        }
        for tid in seq {
            assert_eq!(tid.clock_id(), clock.clock_id());
            assert!(all.insert(tid), "duplicate TID {tid}");
        }
    }
    assert_eq!(all.len(), THREADS * PER_THREAD);
}

#[test]
fn global_tid_now_is_strictly_increasing_across_threads() {
    let handles: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(|| (0..2_000).map(|_| Tid::now()).collect::<Vec<Tid>>()))
        .collect();
    let mut all = HashSet::new();
    for h in handles {
        let seq = h.join().unwrap();
        assert!(seq.windows(2).all(|p| p[0] < p[1]));
        for tid in seq {
            assert!(all.insert(tid), "duplicate TID {tid}");
        }
    }
}

#[test]
fn deserialize_validates() {
    assert!(serde_json::from_str::<Did>("\"did:PLC:x\"").is_err());
    assert!(serde_json::from_str::<Handle>("\"nope\"").is_err());
    let err = serde_json::from_str::<Nsid>("\"a.b\"").unwrap_err();
    assert!(err.to_string().contains("invalid NSID"), "{err}");
    assert!(serde_json::from_str::<Tid>("42").is_err());
    let h: Handle = serde_json::from_str("\"Alice.Test\"").unwrap();
    assert_eq!(h, "alice.test");
}

#[test]
fn lenient_datetime_keeps_invalid_values() {
    #[derive(serde::Deserialize, serde::Serialize)]
    struct Record {
        #[serde(rename = "createdAt")]
        created_at: LenientDatetime,
    }
    let r: Record = serde_json::from_str(r#"{"createdAt":"2024-13-01T00:00:00Z"}"#).unwrap();
    assert_eq!(
        r.created_at,
        LenientDatetime::Invalid("2024-13-01T00:00:00Z".into())
    );
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        r#"{"createdAt":"2024-13-01T00:00:00Z"}"#
    );
    assert!(serde_json::from_str::<Record>(r#"{"createdAt":5}"#).is_err());
}
