//! Firehose frame and event decoding of arbitrary bytes, then verification at every level.
//! Invariants: no panic; a decoded event's seq is the body's; verification of a commit
//! made of arbitrary bytes fails or passes, never panics.
#![no_main]

use atmo_firehose::{Filter, FrameLimits, LabelEvent, RepoEvent, Verifier, VerifyLevel};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let limits = FrameLimits::DEFAULT;
    let _ = LabelEvent::decode(data, &limits);
    let Ok(ev) = RepoEvent::decode(data, &limits) else {
        return;
    };
    let _ = (ev.seq(), ev.did(), ev.kind(), ev.time());
    if let RepoEvent::Commit(c) = ev {
        for level in [VerifyLevel::None, VerifyLevel::Hashes, VerifyLevel::Full] {
            let mut v = Verifier::new(level);
            let mut c = c.clone();
            let _ = v.commit(&mut c, None, &Filter::default());
        }
    }
});
