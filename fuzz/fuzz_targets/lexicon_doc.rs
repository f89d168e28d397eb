//! Lexicon document parsing on arbitrary bytes: never panics, and every accepted document
//! keeps its promises (valid definition names, absolute references that print and parse
//! back to themselves).
#![no_main]

use atmo_lexicon::{DefId, LexiconDoc, def_refs};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(doc) = LexiconDoc::from_json(text) else {
        return;
    };
    assert_eq!(doc.lexicon, 1);
    for (name, def) in &doc.defs {
        assert!(
            !def.is_primary() || name == "main",
            "primary def {name} not main"
        );
        let mut refs = Vec::new();
        def_refs(def, &mut refs);
        for r in refs {
            let printed = r.target.to_string();
            assert_eq!(DefId::parse(&printed).as_ref(), Ok(&r.target), "{printed}");
        }
    }
});
