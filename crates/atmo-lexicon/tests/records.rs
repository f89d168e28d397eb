//! Real-looking app.bsky records validate against the official lexicons; broken variants
//! fail with the path of the bad field.

use std::path::PathBuf;
use std::sync::OnceLock;

use atmo_lexicon::{Catalog, Error, ValidateOptions, Violation};

fn catalog() -> &'static Catalog {
    static CAT: OnceLock<Catalog> = OnceLock::new();
    CAT.get_or_init(|| {
        let mut cat = Catalog::new();
        cat.load_dir(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../lexicons"))
            .expect("the vendored lexicons load");
        cat
    })
}

const DID: &str = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
const CID: &str = "bafyreig2fjxi3rptqdgylg7e5hmjl6mcke7rn2b6cugzlqq3i4zu6rq52q";
const BLOB_CID: &str = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";

fn post() -> serde_json::Value {
    serde_json::json!({
        "$type": "app.bsky.feed.post",
        "text": "Hello 👋🏽 world, see https://example.com #atproto",
        "createdAt": "2024-11-20T10:11:12.345Z",
        "langs": ["en"],
        "facets": [
            {"index": {"byteStart": 25, "byteEnd": 44},
             "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com"}]},
            {"index": {"byteStart": 45, "byteEnd": 53},
             "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "atproto"}]}
        ],
        "reply": {
            "root": {"uri": format!("at://{DID}/app.bsky.feed.post/3k43tv4rft22g"), "cid": CID},
            "parent": {"uri": format!("at://{DID}/app.bsky.feed.post/3k43tv4rft22g"), "cid": CID}
        },
        "embed": {
            "$type": "app.bsky.embed.images",
            "images": [{
                "alt": "a cat",
                "image": {"$type": "blob", "ref": {"$link": BLOB_CID}, "mimeType": "image/png", "size": 2048},
                "aspectRatio": {"width": 640, "height": 480}
            }]
        },
        "labels": {"$type": "com.atproto.label.defs#selfLabels", "values": [{"val": "nudity"}]}
    })
}

fn check(nsid: &str, v: &serde_json::Value) -> Result<(), Error> {
    catalog().validate_record_json(nsid, &v.to_string())
}

fn bad_path(nsid: &str, v: &serde_json::Value) -> (String, Violation) {
    match check(nsid, v) {
        Err(Error::Validation(e)) => (e.path, e.kind),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn a_full_post_is_valid() {
    check("app.bsky.feed.post", &post()).expect("valid post");
}

#[test]
fn a_minimal_post_is_valid() {
    let v = serde_json::json!({"$type": "app.bsky.feed.post", "text": "", "createdAt": "2024-11-20T10:11:12Z"});
    check("app.bsky.feed.post", &v).expect("valid minimal post");
}

#[test]
fn like_and_follow_are_valid() {
    let like = serde_json::json!({
        "$type": "app.bsky.feed.like",
        "subject": {"uri": format!("at://{DID}/app.bsky.feed.post/3k43tv4rft22g"), "cid": CID},
        "createdAt": "2024-11-20T10:11:12.345Z"
    });
    check("app.bsky.feed.like", &like).expect("valid like");
    let follow = serde_json::json!({
        "$type": "app.bsky.graph.follow",
        "subject": DID,
        "createdAt": "2024-11-20T10:11:12.345Z"
    });
    check("app.bsky.graph.follow", &follow).expect("valid follow");
    assert!(
        catalog()
            .check_record_key("app.bsky.graph.follow", "3k43tv4rft22g")
            .is_ok()
    );
    assert!(
        catalog()
            .check_record_key("app.bsky.graph.follow", "self")
            .is_err()
    );
    assert!(
        catalog()
            .check_record_key("app.bsky.actor.profile", "self")
            .is_ok()
    );
}

#[test]
fn broken_posts_fail_at_the_bad_field() {
    let mut v = post();
    v["embed"]["images"][0]["alt"] = serde_json::json!(42);
    assert_eq!(
        bad_path("app.bsky.feed.post", &v).0,
        "$.embed.images[0].alt"
    );

    let mut v = post();
    v["embed"]["images"][0]
        .as_object_mut()
        .expect("object")
        .remove("alt");
    let (path, kind) = bad_path("app.bsky.feed.post", &v);
    assert_eq!(path, "$.embed.images[0].alt");
    assert_eq!(kind, Violation::MissingRequired);

    let mut v = post();
    v["embed"]["images"][0]["image"]["mimeType"] = serde_json::json!("text/plain");
    assert_eq!(
        bad_path("app.bsky.feed.post", &v).0,
        "$.embed.images[0].image"
    );

    let mut v = post();
    v["text"] = serde_json::json!("x".repeat(301));
    let (path, kind) = bad_path("app.bsky.feed.post", &v);
    assert_eq!(path, "$.text");
    assert!(matches!(
        kind,
        Violation::TooLong {
            unit: "graphemes",
            max: 300,
            len: 301
        }
    ));

    // 300 graphemes of 5 UTF-8 bytes each... is 1500 bytes: fine for both limits.
    let mut v = post();
    v["text"] = serde_json::json!("👋🏽".repeat(300));
    assert!(check("app.bsky.feed.post", &v).is_ok());

    let mut v = post();
    v["createdAt"] = serde_json::json!("yesterday");
    assert!(
        matches!(bad_path("app.bsky.feed.post", &v), (p, Violation::Format { .. }) if p == "$.createdAt")
    );

    let mut v = post();
    v["reply"]["parent"]["uri"] = serde_json::json!("https://not-an-at-uri");
    assert_eq!(bad_path("app.bsky.feed.post", &v).0, "$.reply.parent.uri");

    let mut v = post();
    v["langs"] = serde_json::json!(["en", "pt", "de", "fr"]);
    assert_eq!(bad_path("app.bsky.feed.post", &v).0, "$.langs");

    let mut v = post();
    v["facets"][1]["features"][0]["tag"] = serde_json::json!("t".repeat(65));
    assert_eq!(
        bad_path("app.bsky.feed.post", &v).0,
        "$.facets[1].features[0].tag"
    );

    let mut v = post();
    v["$type"] = serde_json::json!("app.bsky.feed.like");
    assert_eq!(bad_path("app.bsky.feed.post", &v).0, "$.$type");

    // An unknown $type in the open `embed` union is accepted as is.
    let mut v = post();
    v["embed"] = serde_json::json!({"$type": "com.example.embed.poll", "options": ["a", "b"]});
    check("app.bsky.feed.post", &v).expect("open union accepts unknown $type");
    // ...but the union member must be an object with a $type.
    v["embed"] = serde_json::json!({"options": ["a", "b"]});
    assert_eq!(
        bad_path("app.bsky.feed.post", &v),
        ("$.embed".to_owned(), Violation::MissingType)
    );
}

#[test]
fn broken_like_and_follow() {
    let like = serde_json::json!({
        "$type": "app.bsky.feed.like",
        "subject": {"uri": format!("at://{DID}/app.bsky.feed.post/3k43tv4rft22g"), "cid": "not-a-cid"},
        "createdAt": "2024-11-20T10:11:12.345Z"
    });
    assert_eq!(bad_path("app.bsky.feed.like", &like).0, "$.subject.cid");
    let follow = serde_json::json!({"$type": "app.bsky.graph.follow", "subject": "alice", "createdAt": "2024-11-20T10:11:12Z"});
    assert_eq!(bad_path("app.bsky.graph.follow", &follow).0, "$.subject");
    let follow =
        serde_json::json!({"$type": "app.bsky.graph.follow", "createdAt": "2024-11-20T10:11:12Z"});
    assert_eq!(bad_path("app.bsky.graph.follow", &follow).0, "$.subject");
}

#[test]
fn legacy_blobs_follow_the_option() {
    let mut v = post();
    v["embed"]["images"][0]["image"] =
        serde_json::json!({"cid": BLOB_CID, "mimeType": "image/png"});
    check("app.bsky.feed.post", &v).expect("legacy blobs are accepted by default");
    let value = atmo_data::json::from_str(&v.to_string()).expect("json");
    let strict = ValidateOptions::default().allow_legacy_blob(false);
    let err = catalog()
        .validate_record_with("app.bsky.feed.post", &value, &strict)
        .expect_err("strict rejects legacy blobs");
    assert!(
        err.to_string()
            .starts_with("$.embed.images[0].image: not a blob"),
        "{err}"
    );
}

#[test]
fn unknown_collection_is_not_found() {
    let v = serde_json::json!({"$type": "com.example.nothing"});
    assert!(matches!(
        check("com.example.nothing", &v),
        Err(Error::NotFound(_))
    ));
    // A query is not a record.
    assert!(matches!(
        check("com.atproto.repo.getRecord", &v),
        Err(Error::NotFound(_))
    ));
}
