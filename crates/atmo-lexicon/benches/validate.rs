//! Validating an app.bsky.feed.post record against the bundled lexicons.
#![allow(missing_docs)] // criterion_group! generates an undocumented function

use criterion::{Criterion, criterion_group, criterion_main};

const POST: &str = r#"{
  "$type": "app.bsky.feed.post",
  "text": "Hello from atmo! Validating lexicons at runtime 🦋 #atproto",
  "createdAt": "2025-01-02T03:04:05.678Z",
  "langs": ["en", "pt-BR"],
  "facets": [{
    "index": {"byteStart": 52, "byteEnd": 60},
    "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "atproto"}]
  }],
  "reply": {
    "root": {"uri": "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3k43tv4rft22g", "cid": "bafyreig2fjxi3rptqdgylg7e5hmjl6mcke7rn2b6cugzlqq3i4zu6rq52q"},
    "parent": {"uri": "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3k43tv4rft22g", "cid": "bafyreig2fjxi3rptqdgylg7e5hmjl6mcke7rn2b6cugzlqq3i4zu6rq52q"}
  },
  "embed": {
    "$type": "app.bsky.embed.images",
    "images": [{
      "alt": "a butterfly",
      "image": {"$type": "blob", "ref": {"$link": "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"}, "mimeType": "image/jpeg", "size": 123456},
      "aspectRatio": {"width": 1200, "height": 800}
    }]
  }
}"#;

fn bench(c: &mut Criterion) {
    let cat = atmo_lexicon::Catalog::bundled().expect("bundled lexicons");
    let value = atmo_data::json::from_str(POST).expect("valid JSON");
    cat.validate_record("app.bsky.feed.post", &value)
        .expect("the post is valid");
    c.bench_function("validate app.bsky.feed.post (Value)", |b| {
        b.iter(|| cat.validate_record("app.bsky.feed.post", std::hint::black_box(&value)))
    });
    c.bench_function("validate app.bsky.feed.post (JSON text)", |b| {
        b.iter(|| cat.validate_record_json("app.bsky.feed.post", std::hint::black_box(POST)))
    });
    c.bench_function("Catalog::bundled (parse 402 lexicons)", |b| {
        b.iter(atmo_lexicon::Catalog::bundled)
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
