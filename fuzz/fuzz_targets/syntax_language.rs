//! Fuzz `atmo_syntax::Language`: never panics; parse -> Display -> parse is the identity;
//! the strict form is a subset of the well-formed one.
#![no_main]

use atmo_syntax::Language;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(strict) = Language::new_strict(s) {
        assert!(strict.is_strict());
        assert!(Language::new(s).is_ok(), "strict tags are well-formed");
    }
    if let Ok(v) = Language::new(s) {
        assert_eq!(v.is_strict(), Language::new_strict(s).is_ok());
        let shown = v.to_string();
        assert_eq!(shown, v.as_str());
        let again = Language::new(&shown).expect("the normalised form must parse again");
        assert_eq!(again, v);
        assert_eq!(again.to_string(), shown, "normalising is idempotent");
    }
});
