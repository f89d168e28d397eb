//! The DNS TXT answers that name a DID: the one rule (`atmo_syntax::txt::did_from_txt`)
//! that `_lexicon.<authority>` for lexicon resolution (`atmo_lexicon::parse_dns_txt`,
//! `dns_name`) and `_atproto.<handle>` for handles (`atmo_identity::handle::parse_dns_txt`)
//! share. The first input line is the NSID (or handle), the other lines are the TXT
//! strings.
//!
//! Invariants: no panic; `dns_name` is `_lexicon.` and the NSID's authority reversed, in
//! lower case; the shared verdict is exactly the rule (more than `MAX_TXT_STRINGS`
//! strings is an error; of the untrimmed `did=` values, none is no answer, two different
//! ones are an error, one must be a valid DID and is the answer); it does not depend on
//! the order of the strings (nor does the kind of error); the lexicon and the handle
//! parsers give the shared verdict (the lexicon one with "no answer" as an error naming
//! the DNS name); an answer reads back as the same DID.
#![no_main]

use atmo_syntax::txt::{MAX_TXT_STRINGS, TxtError, did_from_txt};
use atmo_syntax::{Did, Handle, Nsid};

/// What the rule says: `Ok(Some(did))`, `Ok(None)`, or `Err(())` for an error.
fn rule(records: &[String]) -> Result<Option<String>, ()> {
    if records.len() > MAX_TXT_STRINGS {
        return Err(());
    }
    let mut found: Vec<&str> = Vec::new();
    for v in records.iter().filter_map(|r| r.strip_prefix("did=")) {
        if !found.contains(&v) {
            found.push(v);
        }
    }
    match found.as_slice() {
        [] => Ok(None),
        [one] => Did::new(one)
            .map(|d| Some(d.as_str().to_owned()))
            .map_err(drop),
        _ => Err(()),
    }
}

/// The kind of a shared verdict, for comparing two orders of the same strings.
fn kind(r: &Result<Option<Did>, TxtError>) -> u8 {
    match r {
        Ok(None) => 0,
        Ok(Some(_)) => 1,
        Err(TxtError::TooMany { .. }) => 2,
        Err(TxtError::Ambiguous { .. }) => 3,
        Err(TxtError::BadDid { .. }) => 4,
        Err(_) => 5,
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let first = lines.next().unwrap_or_default();
    let records: Vec<String> = lines.take(256).map(str::to_owned).collect();

    let nsid = Nsid::new(first)
        .unwrap_or_else(|_| Nsid::new("com.example.status.post").expect("a valid NSID"));
    let name = atmo_lexicon::dns_name(&nsid);
    let segments: Vec<&str> = nsid.as_str().split('.').collect();
    let authority: Vec<&str> = segments[..segments.len() - 1]
        .iter()
        .rev()
        .copied()
        .collect();
    assert_eq!(
        name,
        format!("_lexicon.{}", authority.join(".").to_ascii_lowercase())
    );

    // The shared rule.
    let shared = did_from_txt(&records);
    let want = rule(&records);
    match (&shared, &want) {
        (Ok(got), Ok(w)) => {
            assert_eq!(got.as_ref().map(Did::as_str), w.as_deref());
            if let Some(did) = got {
                assert_eq!(Did::new(did.as_str()).as_ref(), Ok(did));
            }
        }
        (Err(_), Err(())) => {}
        _ => panic!("{shared:?} but the rule says {want:?}"),
    }
    let mut reversed = records.clone();
    reversed.reverse();
    let again = did_from_txt(&reversed);
    assert_eq!(kind(&again), kind(&shared));
    if let (Ok(a), Ok(b)) = (&again, &shared) {
        assert_eq!(a, b);
    }

    // Lexicon authorities: the shared verdict, no answer being an error.
    let got = atmo_lexicon::parse_dns_txt(&nsid, &records);
    match (&got, &shared) {
        (Ok(did), Ok(Some(w))) => assert_eq!(did, w),
        (Err(e), Ok(None) | Err(_)) => {
            let msg = e.to_string();
            assert!(msg.contains(&name), "{msg}");
        }
        _ => panic!("{got:?} but the shared rule says {shared:?}"),
    }

    // Handles: the shared verdict.
    let handle = Handle::new(first)
        .unwrap_or_else(|_| Handle::new("alice.example.com").expect("a valid handle"));
    let got = atmo_identity::handle::parse_dns_txt(&handle, &records);
    match (&got, &shared) {
        (Ok(did), Ok(w)) => assert_eq!(did, w),
        (Err(_), Err(_)) => {}
        _ => panic!("{got:?} but the shared rule says {shared:?}"),
    }
});
