//! The official lexicons embedded at build time (the `bundled` feature).

#[cfg(feature = "bundled")]
mod files {
    include!(concat!(env!("OUT_DIR"), "/bundled.rs"));
}

/// The embedded files as (path under `lexicons/`, JSON text); empty without the
/// `bundled` feature.
pub fn files() -> &'static [(&'static str, &'static str)] {
    #[cfg(feature = "bundled")]
    {
        files::FILES
    }
    #[cfg(not(feature = "bundled"))]
    {
        &[]
    }
}

/// The text of the embedded lexicon with this NSID (found by its upstream path,
/// `app/bsky/feed/post.json` for `app.bsky.feed.post`).
pub fn source(nsid: &str) -> Option<&'static str> {
    let want = nsid_path(nsid);
    files().iter().find(|(p, _)| *p == want).map(|(_, t)| *t)
}

/// The upstream relative path of an NSID's file: dots become slashes, plus `.json`.
pub(crate) fn nsid_path(nsid: &str) -> String {
    let mut p = nsid.replace('.', "/");
    p.push_str(".json");
    p
}
