//! OAuth documents and answers from the network: authorization server and protected
//! resource metadata, client metadata, token responses, callbacks, error bodies and
//! `WWW-Authenticate` challenges. Never panic; what is accepted is accepted again.
#![no_main]

use libfuzzer_sys::fuzz_target;

const ISSUER: &str = "https://auth.example.com";

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = atmo_oauth::AuthorizationServerMetadata::parse(data, ISSUER) {
        assert_eq!(m.issuer, ISSUER);
        m.validate(ISSUER).unwrap();
    }
    if let Ok(p) = atmo_oauth::ProtectedResourceMetadata::parse(data, ISSUER) {
        assert_eq!(p.resource, ISSUER);
        assert!(!p.authorization_server().is_empty());
    }
    if let Ok(c) = atmo_oauth::ClientMetadata::parse(data, "https://app.example.com/m.json") {
        let again =
            atmo_oauth::ClientMetadata::parse(c.to_json().as_bytes(), &c.client_id).unwrap();
        assert_eq!(again, c);
    }
    if let Ok(t) = atmo_oauth::TokenSet::from_response(data, ISSUER, None, 0) {
        assert!(t.scope.has_atproto());
        assert!(t.access_token.len() <= atmo_oauth::MAX_TOKEN_LEN);
    }
    let _ = atmo_oauth::parse_error_body(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = atmo_oauth::www_authenticate_error(text);
        if let Ok(p) = atmo_oauth::CallbackParams::parse(text) {
            let _ = p.check(ISSUER, true);
        }
        let _ = atmo_oauth::normalize_htu(text);
        let _ = atmo_oauth::decode_jwt_payload(text);
    }
});
