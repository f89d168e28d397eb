//! The DNS TXT answers that name a DID: `_lexicon.<authority>` for lexicon resolution
//! (`atmo_lexicon::parse_dns_txt`, `dns_name`) and `_atproto.<handle>` for handles
//! (`atmo_identity::handle::parse_dns_txt`). The first input line is the NSID (or
//! handle), the other lines are the TXT strings.
//!
//! Invariants: no panic; `dns_name` is `_lexicon.` and the NSID's authority reversed, in
//! lower case; the lexicon verdict is exactly the rule (among the first
//! `MAX_TXT_RECORDS` strings, trimmed, the `did=` values: none is an error, two
//! different ones are an error, one must be a valid DID and is the answer); the handle
//! verdict likewise (untrimmed `did=` values that are valid DIDs: none is `None`, two
//! different ones are an error); neither depends on the order of the strings; an answer
//! reads back as the same DID.
#![no_main]

use atmo_syntax::{Did, Handle, Nsid};

/// What the lexicon rule says: `Some(Ok(did))`, `Some(Err(()))` for an error.
fn lexicon_rule(records: &[String]) -> Result<String, ()> {
    let mut found: Option<&str> = None;
    for v in records
        .iter()
        .take(atmo_lexicon::MAX_TXT_RECORDS)
        .filter_map(|r| r.trim().strip_prefix("did="))
    {
        match found {
            Some(prev) if prev != v => return Err(()),
            _ => found = Some(v),
        }
    }
    let v = found.ok_or(())?;
    Did::new(v).map(|d| d.as_str().to_owned()).map_err(drop)
}

fn handle_rule(records: &[String]) -> Result<Option<String>, ()> {
    let mut found: Vec<&str> = Vec::new();
    for v in records.iter().filter_map(|r| r.strip_prefix("did=")) {
        if Did::new(v).is_ok() && !found.contains(&v) {
            found.push(v);
        }
    }
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some((*one).to_owned())),
        _ => Err(()),
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

    let got = atmo_lexicon::parse_dns_txt(&nsid, &records);
    let want = lexicon_rule(&records);
    match (&got, &want) {
        (Ok(did), Ok(w)) => {
            assert_eq!(did.as_str(), w);
            assert_eq!(Did::new(did.as_str()).as_ref(), Ok(did));
        }
        (Err(e), Err(())) => {
            let msg = e.to_string();
            assert!(msg.contains(&name), "{msg}");
        }
        _ => panic!("{got:?} but the rule says {want:?}"),
    }
    // The order of the strings does not matter (within the strings read).
    if records.len() <= atmo_lexicon::MAX_TXT_RECORDS {
        let mut reversed = records.clone();
        reversed.reverse();
        let again = atmo_lexicon::parse_dns_txt(&nsid, &reversed);
        assert_eq!(again.is_ok(), got.is_ok());
        if let (Ok(a), Ok(b)) = (&again, &got) {
            assert_eq!(a, b);
        }
    }

    let handle = Handle::new(first)
        .unwrap_or_else(|_| Handle::new("alice.example.com").expect("a valid handle"));
    let got = atmo_identity::handle::parse_dns_txt(&handle, &records);
    let want = handle_rule(&records);
    match (&got, &want) {
        (Ok(did), Ok(w)) => assert_eq!(did.as_ref().map(Did::as_str), w.as_deref()),
        (Err(_), Err(())) => {}
        _ => panic!("{got:?} but the rule says {want:?}"),
    }
    let mut reversed = records.clone();
    reversed.reverse();
    let again = atmo_identity::handle::parse_dns_txt(&handle, &reversed);
    assert_eq!(again.is_ok(), got.is_ok());
    if let (Ok(a), Ok(b)) = (&again, &got) {
        assert_eq!(a, b);
    }
});
