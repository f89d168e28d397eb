//! Record validation on arbitrary JSON against the interop catalog's record lexicon (which
//! exercises every field type): never panics, and every rejection names a JSON path.
#![no_main]

use std::sync::OnceLock;

use atmo_lexicon::{Catalog, Error};
use libfuzzer_sys::fuzz_target;

fn catalog() -> &'static Catalog {
    static CAT: OnceLock<Catalog> = OnceLock::new();
    CAT.get_or_init(|| {
        let mut cat = Catalog::new();
        for text in [
            include_str!("../../tests/interop/lexicon/catalog/record.json"),
            include_str!("../../tests/interop/lexicon/catalog/query.json"),
        ] {
            cat.add_json(text).expect("the interop catalog is valid");
        }
        cat
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = atmo_data::json::from_slice(data) else {
        return;
    };
    match catalog().validate_record("example.lexicon.record", &value) {
        Ok(()) => {}
        Err(Error::Validation(e)) => assert!(e.path.starts_with('$'), "{e}"),
        Err(other) => panic!("unexpected error kind: {other}"),
    }
});
