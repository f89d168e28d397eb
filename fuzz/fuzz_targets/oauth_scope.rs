//! OAuth scope lists: never panic, and what parses prints to a list that parses to the
//! same scopes (and prints the same again).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = atmo_oauth::Scope::parse(text);
    let Ok(set) = atmo_oauth::ScopeSet::parse(text) else {
        return;
    };
    assert!(set.len() <= atmo_oauth::scope::MAX_SCOPES);
    let shown = set.to_string();
    // Percent-encoding on output may push a scope past the length limits; only then may
    // the printed form be refused.
    match atmo_oauth::ScopeSet::parse(&shown) {
        Ok(again) => {
            assert_eq!(again, set, "{shown}");
            assert_eq!(again.to_string(), shown);
        }
        Err(e) => assert!(
            shown.len() > atmo_oauth::scope::MAX_SCOPE_LEN
                || set.iter().any(|s| s.to_string().len() > 2048),
            "{shown}: {e}"
        ),
    }
});
