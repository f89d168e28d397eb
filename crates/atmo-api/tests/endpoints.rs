//! Generated endpoint types drive atmo-xrpc's sans-IO request building and decoding.
#![cfg(feature = "com_atproto")]

use atmo_api::com_atproto::repo::{get_record, upload_blob};
use atmo_xrpc::{Endpoint, Method, XrpcResponse};

#[test]
fn query_request_and_output() {
    let params = get_record::Params {
        repo: "alice.test".parse().unwrap(),
        collection: "app.bsky.feed.post".parse().unwrap(),
        rkey: "3k4duaz5vfs2b".parse().unwrap(),
        cid: None,
    };
    let req = get_record::GetRecord::request(&params, None).unwrap();
    assert_eq!(
        req.path_and_query(),
        "/xrpc/com.atproto.repo.getRecord?collection=app.bsky.feed.post&repo=alice.test&rkey=3k4duaz5vfs2b"
    );
    assert_eq!(get_record::GetRecord::METHOD, Method::Query);

    let body =
        br#"{"uri": "at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3k4duaz5vfs2b",
        "value": {"$type": "app.bsky.feed.post", "text": "hi"}, "newField": true}"#;
    let res = XrpcResponse {
        status: 200,
        headers: http::HeaderMap::new(),
        body: bytes::Bytes::from_static(body),
    };
    let out = get_record::GetRecord::decode(&res).unwrap();
    assert_eq!(
        out.uri.as_str(),
        "at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3k4duaz5vfs2b"
    );
    assert_eq!(
        out.extra.get("newField"),
        Some(&atmo_data::Value::Bool(true))
    );
    assert_eq!(
        get_record::Error::from_name("RecordNotFound"),
        Some(get_record::Error::RecordNotFound)
    );
    assert_eq!(get_record::Error::RecordNotFound.as_str(), "RecordNotFound");
    assert_eq!(get_record::Error::from_name("Nope"), None);
}

#[test]
fn binary_input_is_sent_as_bytes() {
    let data = b"\x89PNG...".to_vec();
    let req = upload_blob::UploadBlob::request(&(), Some(&data)).unwrap();
    let http = req.to_http("https://pds.example", None).unwrap();
    assert_eq!(http.body().as_ref(), data.as_slice());
    assert_eq!(
        http.headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap()),
        Some("application/octet-stream")
    );
}

#[cfg(feature = "app_bsky")]
#[test]
fn record_value_sets_type() {
    use atmo_api::app_bsky::feed::like;
    use atmo_api::com_atproto::repo::strong_ref;
    let like = like::Record {
        created_at: atmo_syntax::LenientDatetime::new("2024-01-01T00:00:00.000Z"),
        subject: strong_ref::StrongRef {
            uri: "at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3k4duaz5vfs2b"
                .parse()
                .unwrap(),
            cid: "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"
                .parse()
                .unwrap(),
            extra: Default::default(),
        },
        via: None,
        extra: Default::default(),
    };
    let v = atmo_api::record_value(&like).unwrap();
    let atmo_data::Value::Map(m) = &v else {
        panic!("a map")
    };
    assert_eq!(
        m.get("$type"),
        Some(&atmo_data::Value::String("app.bsky.feed.like".into()))
    );
    let back: like::Record = atmo_data::from_value(v.clone()).unwrap();
    assert_eq!(atmo_api::record_value(&back).unwrap(), v);
}
