//! JSON paths in error messages: `$.embed.images[0].alt`, `$["odd key"]`.

use std::fmt::Write as _;

/// True if `key` can be written after a dot.
fn plain(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'-' | b':'))
}

/// Appends `.key` (or `["key"]` for keys with other characters) to a path.
pub(crate) fn push_key(path: &mut String, key: &str) {
    if plain(key) {
        path.push('.');
        path.push_str(key);
    } else {
        // Debug formatting of a str escapes quotes and control characters.
        let _ = write!(path, "[{key:?}]");
    }
}

/// One step of a path into data.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Seg<'a> {
    /// A map key.
    Key(&'a str),
    /// An array index.
    Index(usize),
}

/// Renders a stack of steps as `$...`.
pub(crate) fn render(segs: &[Seg<'_>]) -> String {
    let mut s = String::from("$");
    for seg in segs {
        match seg {
            Seg::Key(k) => push_key(&mut s, k),
            Seg::Index(i) => {
                let _ = write!(s, "[{i}]");
            }
        }
    }
    s
}
