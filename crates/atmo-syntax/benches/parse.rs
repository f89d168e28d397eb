//! Parse benchmarks for every syntax type, plus `TidClock::next`.
#![allow(missing_docs)]

use std::hint::black_box;

use atmo_syntax::{
    AtIdentifier, AtUri, CidString, Datetime, Did, Handle, Language, Nsid, RecordKey, Tid,
    TidClock, Uri,
};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench<T, E: std::fmt::Debug>(
    c: &mut Criterion,
    group: &str,
    inputs: &[&str],
    parse: fn(&str) -> Result<T, E>,
) {
    let mut g = c.benchmark_group(group);
    for input in inputs {
        // Check the input is valid once, outside the timed loop.
        assert!(parse(input).is_ok(), "{group}: {input} should parse");
        let name = if input.len() > 40 {
            &input[..40]
        } else {
            input
        };
        g.bench_function(name, |b| b.iter(|| parse(black_box(input))));
    }
    g.finish();
}

fn parse(c: &mut Criterion) {
    bench(
        c,
        "did",
        &["did:plc:ewvi7nxzyoun6zhxrhs64oiz", "did:web:example.com"],
        Did::new,
    );
    bench(
        c,
        "handle",
        &["atproto.com", "alice.bsky.social", "Alice.Bsky.Social"],
        Handle::new,
    );
    bench(
        c,
        "at_identifier",
        &["did:plc:ewvi7nxzyoun6zhxrhs64oiz", "atproto.com"],
        AtIdentifier::new,
    );
    bench(
        c,
        "nsid",
        &["app.bsky.feed.post", "com.atproto.repo.createRecord"],
        Nsid::new,
    );
    bench(
        c,
        "at_uri",
        &[
            "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3jwdwj2ctlk26",
            "at://atproto.com/app.bsky.actor.profile/self",
            "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz",
        ],
        AtUri::new,
    );
    bench(c, "tid", &["3jwdwj2ctlk26"], Tid::new);
    bench(c, "record_key", &["3jwdwj2ctlk26", "self"], RecordKey::new);
    bench(
        c,
        "datetime",
        &[
            "1985-04-12T23:20:50.123Z",
            "2024-02-29T12:00:00.123456+05:30",
        ],
        Datetime::new,
    );
    bench(
        c,
        "language",
        &["en", "pt-BR", "en-GB-boont-r-extended-sequence-x-private"],
        Language::new,
    );
    bench(
        c,
        "cid_string",
        &["bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a"],
        CidString::new,
    );
    bench(
        c,
        "uri",
        &["https://atproto.com/specs/at-uri-scheme"],
        Uri::new,
    );

    let clock = TidClock::new();
    c.bench_function("tid_clock/next", |b| b.iter(|| black_box(clock.next())));
    c.bench_function("datetime/now", |b| b.iter(|| black_box(Datetime::now())));
}

criterion_group!(benches, parse);
criterion_main!(benches);
