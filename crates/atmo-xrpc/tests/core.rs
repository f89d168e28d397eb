//! The sans-IO core: request building, error bodies, rate-limit headers.

use std::time::{Duration, SystemTime};

use atmo_xrpc::{
    CallOptions, Error, Labeler, ProxyTarget, RateLimit, RequestBody, XrpcError, XrpcRequest,
    classify, parse_error_body,
};
use http::HeaderMap;

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, v.parse().unwrap());
    }
    h
}

#[test]
fn query_params_are_percent_encoded_and_arrays_repeat() {
    #[derive(serde::Serialize)]
    struct P {
        uris: Vec<String>,
        limit: u32,
        reverse: bool,
        cursor: Option<String>,
    }
    let req = XrpcRequest::query("app.bsky.feed.getPosts")
        .unwrap()
        .params_from(&P {
            uris: vec!["at://did:plc:a/x.y/1".into(), "a b&c=d/é".into()],
            limit: 5,
            reverse: true,
            cursor: None,
        })
        .unwrap();
    assert_eq!(
        req.path_and_query(),
        "/xrpc/app.bsky.feed.getPosts?limit=5&reverse=true&uris=at%3A%2F%2Fdid%3Aplc%3Aa%2Fx.y%2F1&uris=a%20b%26c%3Dd%2F%C3%A9"
    );
    let http = req.to_http("http://localhost:2583/", None).unwrap();
    assert_eq!(http.method(), http::Method::GET);
    assert!(http.body().is_empty());
    assert!(http.headers().get("authorization").is_none());
}

#[test]
fn params_reject_floats_and_nested_objects() {
    let q = XrpcRequest::query("a.b.c").unwrap();
    assert!(matches!(
        q.clone().params_from(&serde_json::json!({"x": 1.5})),
        Err(Error::Encode { .. })
    ));
    assert!(
        q.clone()
            .params_from(&serde_json::json!({"x": {"y": 1}}))
            .is_err()
    );
    assert!(q.params_from(&serde_json::json!([1])).is_err());
}

#[test]
fn procedure_bodies_carry_content_type_and_auth() {
    let v = atmo_data::json::from_str(r#"{"a": {"$bytes": "AQID"}, "b": 1}"#).unwrap();
    let req = XrpcRequest::procedure("com.atproto.repo.createRecord")
        .unwrap()
        .body(RequestBody::value(&v));
    let http = req
        .to_http("https://pds.example", Some("Bearer t0k"))
        .unwrap();
    assert_eq!(http.method(), http::Method::POST);
    assert_eq!(http.headers()["content-type"], "application/json");
    assert!(http.headers()["authorization"].is_sensitive());
    assert_eq!(
        atmo_data::json::from_slice(http.body()).unwrap(),
        v,
        "the JSON body round-trips"
    );

    let cbor = XrpcRequest::procedure("x.y.z")
        .unwrap()
        .body(RequestBody::cbor(&v))
        .to_http("https://pds.example", None)
        .unwrap();
    assert_eq!(cbor.headers()["content-type"], "application/cbor");
    assert_eq!(atmo_data::cbor::decode(cbor.body()).unwrap(), v);

    let raw = XrpcRequest::procedure("com.atproto.repo.uploadBlob")
        .unwrap()
        .body(RequestBody::Bytes {
            content_type: "image/png".into(),
            data: bytes::Bytes::from_static(b"\x89PNG"),
        })
        .to_http("https://pds.example", None)
        .unwrap();
    assert_eq!(raw.headers()["content-type"], "image/png");
    assert_eq!(&raw.body()[..], b"\x89PNG");

    // A body on a query is a mistake.
    let bad = XrpcRequest::query("x.y.z")
        .unwrap()
        .body(RequestBody::value(&v));
    assert!(matches!(
        bad.to_http("https://pds.example", None),
        Err(Error::Request(_))
    ));
}

#[test]
fn proxy_and_labeler_headers() {
    assert!(ProxyTarget::parse("did:web:api.bsky.app#bsky_appview").is_ok());
    for bad in [
        "did:web:api.bsky.app",
        "did:web:api.bsky.app#",
        "notadid#svc",
        "did:web:x#a b",
        "did:web:x#a#b",
    ] {
        assert!(ProxyTarget::parse(bad).is_err(), "{bad}");
    }
    let labeler = Labeler {
        did: atmo_syntax::Did::new("did:plc:ar7c4by46qjdydhdevvrndac").unwrap(),
        redact: true,
    };
    let req = XrpcRequest::query("app.bsky.feed.getTimeline")
        .unwrap()
        .proxy(ProxyTarget::parse("did:web:api.bsky.app#bsky_appview").unwrap())
        .accept_labelers(vec![labeler]);
    let http = req.to_http("https://pds.example", None).unwrap();
    assert_eq!(
        http.headers()["atproto-proxy"],
        "did:web:api.bsky.app#bsky_appview"
    );
    assert_eq!(
        http.headers()["atproto-accept-labelers"],
        "did:plc:ar7c4by46qjdydhdevvrndac;redact"
    );
    // Per-call options win over client defaults; gaps are filled.
    let defaults = CallOptions {
        proxy: Some(ProxyTarget::parse("did:web:other#svc").unwrap()),
        accept_labelers: Some(vec![]),
    };
    let merged = req.options.or(&defaults);
    assert_eq!(
        merged.proxy.unwrap().as_str(),
        "did:web:api.bsky.app#bsky_appview"
    );
    let merged = CallOptions::default().or(&defaults);
    assert_eq!(merged.proxy.unwrap().service_id(), "svc");
}

#[test]
fn base_urls_are_checked() {
    let req = XrpcRequest::query("a.b.c").unwrap();
    for bad in ["", "ftp://x", "https://", "https://x?y", "https://u@x", "x"] {
        assert!(
            matches!(req.to_http(bad, None), Err(Error::BaseUrl { .. })),
            "{bad}"
        );
    }
    let with_prefix = req.to_http("https://x.example/prefix/", None).unwrap();
    assert_eq!(with_prefix.uri(), "https://x.example/prefix/xrpc/a.b.c");
}

#[test]
fn error_bodies() {
    let e = XrpcError::from_parts(
        400,
        &HeaderMap::new(),
        br#"{"error":"InvalidSwap","message":"Record was at bafy"}"#,
    );
    assert!(e.is_invalid_swap());
    assert_eq!(e.to_string(), "HTTP 400 InvalidSwap: Record was at bafy");

    let e = XrpcError::from_parts(401, &HeaderMap::new(), br#"{"error":"ExpiredToken"}"#);
    assert!(e.is_expired_token() && e.is_auth_required());
    assert_eq!(e.to_string(), "HTTP 401 ExpiredToken");

    // Not JSON, wrong types, empty strings: no names, the status still speaks.
    for body in [
        &b"<html>bad gateway</html>"[..],
        br#"{"error": 5, "message": ["x"]}"#,
        br#"{"error": ""}"#,
        b"",
    ] {
        let e = XrpcError::from_parts(502, &HeaderMap::new(), body);
        assert_eq!((e.error.as_deref(), e.message.as_deref()), (None, None));
        assert!(e.is_server_error());
        assert_eq!(e.to_string(), "HTTP 502 Bad Gateway");
    }
    let (_, m) =
        parse_error_body(format!(r#"{{"error":"X","message":"{}"}}"#, "é".repeat(5000)).as_bytes());
    assert_eq!(m.unwrap().chars().count(), atmo_xrpc::MAX_ERROR_TEXT);
    let e = classify(
        404,
        HeaderMap::new(),
        bytes::Bytes::from_static(
            br#"{"error":"RecordNotFound","message":"Could not locate record"}"#,
        ),
    )
    .unwrap_err();
    assert!(e.is_not_found());
    let ok = classify(
        200,
        headers(&[("content-type", "application/json; charset=utf-8")]),
        bytes::Bytes::from_static(br#"{"did":"did:plc:x"}"#),
    )
    .unwrap();
    assert_eq!(ok.content_type().as_deref(), Some("application/json"));
    assert_eq!(
        ok.value().unwrap().get("did").and_then(|d| d.as_str()),
        Some("did:plc:x")
    );
}

#[test]
fn rate_limit_headers() {
    let h = headers(&[
        ("ratelimit-limit", "30"),
        ("ratelimit-remaining", "2"),
        ("ratelimit-reset", "1700000300"),
        ("ratelimit-policy", "30;w=300"),
    ]);
    let rl = RateLimit::from_headers(&h).unwrap();
    assert_eq!(rl.limit, 30);
    assert_eq!(rl.remaining, 2);
    assert_eq!(rl.window_secs, Some(300));
    assert!(rl.is_low());
    assert_eq!(rl.category(), "30;w=300");
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    assert_eq!(rl.reset_in(now), Some(Duration::from_secs(300)));
    // Reset in the past: zero, not an underflow.
    let later = now + Duration::from_secs(1000);
    assert_eq!(rl.reset_in(later), Some(Duration::ZERO));
    // A delta-seconds reset.
    let d = RateLimit::from_headers(&headers(&[
        ("ratelimit-limit", "10"),
        ("ratelimit-remaining", "1"),
        ("ratelimit-reset", "42"),
    ]))
    .unwrap();
    assert_eq!(d.reset_in(now), Some(Duration::from_secs(42)));
    assert!(!d.is_low(), "exactly 10% left is not below 10%");
    // Missing or junk values: no rate limit.
    assert!(RateLimit::from_headers(&headers(&[("ratelimit-limit", "10")])).is_none());
    assert!(
        RateLimit::from_headers(&headers(&[
            ("ratelimit-limit", "x"),
            ("ratelimit-remaining", "1")
        ]))
        .is_none()
    );
    // On an error response too.
    let e = XrpcError::from_parts(
        429,
        &h,
        br#"{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}"#,
    );
    assert!(e.is_rate_limited());
    assert_eq!(e.rate_limit.unwrap().remaining, 2);
}
