//! Generated endpoint types drive atmo-xrpc's sans-IO request building and decoding.
#![cfg(feature = "com_atproto")]

use atmo_api::com_atproto::repo::{get_record, upload_blob};
use atmo_xrpc::{Endpoint, Method, XrpcResponse};

#[test]
fn query_request_and_output() {
    let params = get_record::Params::new(
        "alice.test".parse().unwrap(),
        "app.bsky.feed.post".parse().unwrap(),
        "3k4duaz5vfs2b".parse().unwrap(),
    );
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
    let body = atmo_xrpc::BinaryInput::new(data.clone());
    assert_eq!(upload_blob::UploadBlob::INPUT_ENCODING, "*/*");
    let req = upload_blob::UploadBlob::request(&(), Some(&body)).unwrap();
    let http = req.to_http("https://pds.example", None).unwrap();
    assert_eq!(http.body().as_ref(), data.as_slice());
    let content_type = |h: &http::Request<bytes::Bytes>| {
        h.headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(
        content_type(&http).as_deref(),
        Some("application/octet-stream")
    );
    let req = upload_blob::UploadBlob::request(&(), Some(&body.content_type("image/png"))).unwrap();
    let http = req.to_http("https://pds.example", None).unwrap();
    assert_eq!(content_type(&http).as_deref(), Some("image/png"));
}

#[test]
fn binary_output_is_the_body() {
    use atmo_api::com_atproto::sync::get_repo;
    assert_eq!(
        get_repo::GetRepo::OUTPUT_ENCODING,
        "application/vnd.ipld.car"
    );
    let res = XrpcResponse {
        status: 200,
        headers: http::HeaderMap::new(),
        body: bytes::Bytes::from_static(b"\x3a\xa2car"),
    };
    assert_eq!(
        get_repo::GetRepo::decode(&res).unwrap().as_ref(),
        b"\x3a\xa2car"
    );
}

#[test]
fn calls_and_pagination_are_generated() {
    use atmo_api::com_atproto::{repo::list_records, server::describe_server};
    use atmo_xrpc::{Call, Paginated};
    let p = list_records::Params::new(
        "alice.test".parse().unwrap(),
        "app.bsky.feed.post".parse().unwrap(),
    )
    .with_limit(2);
    assert_eq!(
        p.request().unwrap().path_and_query(),
        "/xrpc/com.atproto.repo.listRecords?collection=app.bsky.feed.post&limit=2&repo=alice.test"
    );
    let mut p = p;
    list_records::ListRecords::set_cursor(&mut p, Some("abc".into()));
    assert_eq!(p.cursor.as_deref(), Some("abc"));
    let out = list_records::Output::new(Vec::new()).with_cursor("next");
    assert_eq!(list_records::ListRecords::cursor(&out), Some("next"));
    assert_eq!(
        describe_server::DescribeServer
            .request()
            .unwrap()
            .path_and_query(),
        "/xrpc/com.atproto.server.describeServer"
    );
}

#[cfg(feature = "app_bsky")]
#[test]
fn record_value_sets_type() {
    use atmo_api::app_bsky::feed::like;
    use atmo_api::com_atproto::repo::strong_ref;
    let subject = strong_ref::StrongRef::new(
        "at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3k4duaz5vfs2b"
            .parse()
            .unwrap(),
        "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"
            .parse()
            .unwrap(),
    );
    let like = like::Record::new(
        subject,
        atmo_syntax::LenientDatetime::new("2024-01-01T00:00:00.000Z"),
    );
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

#[cfg(feature = "app_bsky")]
#[test]
fn built_post_with_union_member_and_setters() {
    use atmo_api::app_bsky::embed::external;
    use atmo_api::app_bsky::feed::post;
    let link = external::External::new("https://example.com".parse().unwrap(), "t", "d");
    let p = post::Record::new(
        "hi",
        atmo_syntax::LenientDatetime::new("2024-01-01T00:00:00.000Z"),
    )
    .with_embed(external::Main::new(link))
    .with_langs(vec!["en".parse().unwrap()]);
    assert!(matches!(p.embed, Some(post::RecordEmbed::External(_))));
    let json = atmo_data::to_json(&atmo_api::record_value(&p).unwrap()).unwrap();
    assert!(
        json.contains(r#""$type":"app.bsky.embed.external""#),
        "{json}"
    );
    assert!(json.contains(r#""$type":"app.bsky.feed.post""#), "{json}");
    assert!(json.contains(r#""langs":["en"]"#), "{json}");
    // Every optional field has a setter; a struct with none required is Default.
    let params = atmo_api::app_bsky::feed::get_timeline::Params::default().with_limit(10);
    assert_eq!(params.limit, Some(10));
}
