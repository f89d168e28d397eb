//! Fuzz `atmo_syntax::Datetime`: never panics; parse -> Display -> parse is the identity.
#![no_main]

use atmo_syntax::Datetime;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(v) = Datetime::new(s) {
        let shown = v.to_string();
        assert_eq!(shown, v.as_str());
        let again = Datetime::new(&shown).expect("the normalised form must parse again");
        assert_eq!(again, v);
        assert_eq!(again.to_string(), shown, "normalising is idempotent");
    }
});
