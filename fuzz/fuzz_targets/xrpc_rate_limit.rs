//! Rate-limit headers (`atmo_xrpc::RateLimit::from_headers`): `ratelimit-limit`,
//! `-remaining`, `-reset` and `-policy`, from header lines made of the input (a line's
//! first byte picks one of those names, or, above 0xf0, the line is `name:value`).
//!
//! Invariants: no panic; an answer exactly when limit and remaining are integers (their
//! first values, trimmed), and then each field is what its header says (the policy
//! trimmed and cut to `MAX_ERROR_TEXT` characters, the window from its `w=` parameter);
//! `is_low`, `category` and `reset_in` return for any clock (`reset_in` never exceeds
//! the reset value); writing the fields back as headers reads back the same value (the
//! headers are the encoder); an XRPC error built with these headers carries the same
//! rate limit.
#![no_main]

use std::time::{Duration, SystemTime};

use atmo_xrpc::{MAX_ERROR_TEXT, RateLimit, XrpcError};
use http::header::{HeaderMap, HeaderName, HeaderValue};

const NAMES: [&str; 4] = [
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "ratelimit-policy",
];

fn first_num(h: &HeaderMap, name: &str) -> Option<u64> {
    h.get(name)?.to_str().ok()?.trim().parse().ok()
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((clock, data)) = data.split_first_chunk::<8>() else {
        return;
    };
    let mut headers = HeaderMap::new();
    for line in data.split(|b| *b == b'\n').take(32) {
        let Some((&pick, rest)) = line.split_first() else {
            continue;
        };
        let (name, value) = if pick < 0xf0 {
            (NAMES[usize::from(pick % 4)].as_bytes(), rest)
        } else {
            let at = rest.iter().position(|b| *b == b':').unwrap_or(rest.len());
            (&rest[..at], rest.get(at + 1..).unwrap_or_default())
        };
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
            headers.append(n, v);
        }
    }
    let got = RateLimit::from_headers(&headers);
    let (limit, remaining) = (
        first_num(&headers, "ratelimit-limit"),
        first_num(&headers, "ratelimit-remaining"),
    );
    assert_eq!(got.is_some(), limit.is_some() && remaining.is_some());
    let Some(rl) = got else {
        return;
    };
    assert_eq!(Some(rl.limit), limit);
    assert_eq!(Some(rl.remaining), remaining);
    assert_eq!(rl.reset, first_num(&headers, "ratelimit-reset"));
    let policy = headers
        .get("ratelimit-policy")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    match (&rl.policy, policy) {
        (Some(p), Some(raw)) => {
            assert!(p.chars().count() <= MAX_ERROR_TEXT);
            assert!(raw.starts_with(p.as_str()), "{p:?} of {raw:?}");
        }
        (None, None) => {}
        (p, raw) => panic!("policy {p:?} from {raw:?}"),
    }
    if let Some(w) = rl.window_secs {
        let p = rl.policy.as_deref().unwrap_or_default();
        assert!(p.contains("w="), "{w} from {p:?}");
    }

    let _ = rl.is_low();
    let _ = rl.category();
    let now = SystemTime::UNIX_EPOCH
        .checked_add(Duration::from_secs(u64::from_le_bytes(*clock) >> 24))
        .unwrap_or(SystemTime::UNIX_EPOCH);
    if let Some(d) = rl.reset_in(now) {
        assert!(d.as_secs() <= rl.reset.unwrap_or(0));
    }

    // The fields, written back as headers, read back the same.
    let mut again = HeaderMap::new();
    let mut put = |name: &'static str, v: String| {
        again.insert(
            name,
            HeaderValue::from_str(&v).expect("a value read from a header is one"),
        );
    };
    put("ratelimit-limit", rl.limit.to_string());
    put("ratelimit-remaining", rl.remaining.to_string());
    if let Some(r) = rl.reset {
        put("ratelimit-reset", r.to_string());
    }
    if let Some(p) = &rl.policy {
        put("ratelimit-policy", p.clone());
    }
    assert_eq!(RateLimit::from_headers(&again).as_ref(), Some(&rl));

    let e = XrpcError::from_parts(429, &headers, b"{}");
    assert_eq!(e.rate_limit.as_ref(), Some(&rl));
});
