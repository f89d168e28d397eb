//! The same inputs parsed by atmo-syntax, atrium-api and jacquard-common.
//! Every parser goes through `FromStr` into an owned value.

use std::hint::black_box;
use std::str::FromStr;

use criterion::{Criterion, criterion_group, criterion_main};

fn group<A, B, C>(c: &mut Criterion, name: &str, input: &str)
where
    A: FromStr,
    B: FromStr,
    C: FromStr,
{
    assert!(input.parse::<A>().is_ok(), "atmo rejects {input}");
    assert!(input.parse::<B>().is_ok(), "peer 1 rejects {input}");
    assert!(input.parse::<C>().is_ok(), "peer 2 rejects {input}");
    let mut g = c.benchmark_group(name);
    g.bench_function("atmo", |b| b.iter(|| black_box(input).parse::<A>().is_ok()));
    g.bench_function("atrium", |b| {
        b.iter(|| black_box(input).parse::<B>().is_ok())
    });
    g.bench_function("jacquard", |b| {
        b.iter(|| black_box(input).parse::<C>().is_ok())
    });
    g.finish();
}

fn group2<A, C>(c: &mut Criterion, name: &str, input: &str)
where
    A: FromStr,
    C: FromStr,
{
    assert!(input.parse::<A>().is_ok(), "atmo rejects {input}");
    assert!(input.parse::<C>().is_ok(), "jacquard rejects {input}");
    let mut g = c.benchmark_group(name);
    g.bench_function("atmo", |b| b.iter(|| black_box(input).parse::<A>().is_ok()));
    g.bench_function("jacquard", |b| {
        b.iter(|| black_box(input).parse::<C>().is_ok())
    });
    g.finish();
}

fn compare(c: &mut Criterion) {
    use atrium_api::types::string as at;
    use jacquard_common::types as jq;

    group::<atmo_syntax::Did, at::Did, jq::did::Did>(c, "did", "did:plc:ewvi7nxzyoun6zhxrhs64oiz");
    group::<atmo_syntax::Handle, at::Handle, jq::handle::Handle>(c, "handle", "atproto.com");
    group::<atmo_syntax::Nsid, at::Nsid, jq::nsid::Nsid>(c, "nsid", "app.bsky.feed.post");
    group::<atmo_syntax::Tid, at::Tid, jq::tid::Tid>(c, "tid", "3jwdwj2ctlk26");
    group::<atmo_syntax::RecordKey, at::RecordKey, jq::recordkey::RecordKey<jq::recordkey::Rkey>>(
        c,
        "record_key",
        "3jwdwj2ctlk26",
    );
    group::<atmo_syntax::Datetime, at::Datetime, jq::datetime::Datetime>(
        c,
        "datetime",
        "1985-04-12T23:20:50.123Z",
    );
    group::<atmo_syntax::AtIdentifier, at::AtIdentifier, jq::ident::AtIdentifier>(
        c,
        "at_identifier",
        "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
    );
    group::<atmo_syntax::Language, at::Language, jq::language::Language>(c, "language", "pt-BR");
    // atrium-api has no AT-URI type.
    group2::<atmo_syntax::AtUri, jq::aturi::AtUri>(
        c,
        "at_uri",
        "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3jwdwj2ctlk26",
    );
}

criterion_group!(benches, compare);
criterion_main!(benches);
