//! Every vendored official lexicon under lexicons/ parses and passes the document checks,
//! and every reference between them resolves.

use std::path::PathBuf;

use atmo_lexicon::{Catalog, Def, LexiconDoc};

fn lexicons_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../lexicons")
}

fn json_files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("readable lexicons dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

#[test]
fn every_official_lexicon_is_valid() {
    let root = lexicons_dir();
    let mut files = Vec::new();
    json_files(&root, &mut files);
    files.sort();
    assert!(
        files.len() >= 400,
        "expected the vendored set, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable");
        match LexiconDoc::from_json(&text) {
            Ok(doc) => {
                // The id matches the upstream path.
                let rel = f
                    .strip_prefix(&root)
                    .expect("under root")
                    .with_extension("");
                let want = rel.to_string_lossy().replace('/', ".");
                if doc.id.as_str() != want {
                    failures.push(format!("{}: id {} does not match", f.display(), doc.id));
                }
            }
            Err(e) => failures.push(format!("{}: {e}", f.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn official_catalog_has_no_dangling_refs() {
    let mut cat = Catalog::new();
    let n = cat.load_dir(&lexicons_dir()).expect("loads");
    assert_eq!(n, cat.len());
    let dangling: Vec<String> = cat
        .dangling_refs()
        .iter()
        .map(|(from, r)| format!("{from} -> {}", r.raw))
        .collect();
    assert!(
        dangling.is_empty(),
        "dangling refs:\n{}",
        dangling.join("\n")
    );
    // Spot checks on the model a code generator walks.
    let Some(Def::Record(post)) = cat.lookup("app.bsky.feed.post") else {
        panic!("app.bsky.feed.post is a record");
    };
    assert!(post.record.is_required("text"));
    assert!(matches!(
        cat.lookup("com.atproto.repo.getRecord"),
        Some(Def::Query(_))
    ));
    assert!(matches!(
        cat.lookup("com.atproto.repo.createRecord"),
        Some(Def::Procedure(_))
    ));
    assert!(matches!(
        cat.lookup("com.atproto.sync.subscribeRepos"),
        Some(Def::Subscription(_))
    ));
    assert!(matches!(
        cat.lookup("com.atproto.moderation.defs#reasonSpam"),
        Some(Def::Token(_))
    ));
}

#[cfg(feature = "bundled")]
#[test]
fn bundled_matches_the_directory() {
    let bundled = Catalog::bundled().expect("bundled set parses");
    let mut dir = Catalog::new();
    dir.load_dir(&lexicons_dir()).expect("loads");
    assert_eq!(bundled.len(), dir.len());
    for doc in dir.docs() {
        assert_eq!(bundled.get(doc.id.as_str()), Some(doc), "{}", doc.id);
    }
}
