//! Fuzz `atmo_syntax::Uri` and `atmo_syntax::ServiceUrl`: never panic; parse -> Display ->
//! parse is the identity; a service URL is also a URI, and its parts put back together
//! are its normal form.
#![no_main]

use atmo_syntax::{ServiceUrl, Uri};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(v) = Uri::new(s) {
        let shown = v.to_string();
        assert_eq!(shown, v.as_str());
        let again = Uri::new(&shown).expect("the normalised form must parse again");
        assert_eq!(again, v);
        assert_eq!(again.to_string(), shown, "normalising is idempotent");
    }
    if let Ok(u) = ServiceUrl::new(s) {
        assert!(Uri::new(s).is_ok(), "a service URL is a URI");
        let again = ServiceUrl::new(u.as_str()).expect("the normal form must parse again");
        assert_eq!(again, u);
        assert_eq!(again.as_str(), u.as_str(), "normalising is idempotent");
        let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
        let rebuilt = format!("{}://{}{port}{}", u.scheme(), u.host(), u.path());
        assert_eq!(rebuilt, u.as_str());
        assert_eq!(u.origin().len() + u.path().len(), u.as_str().len());
    }
});
