//! The one naming function set of the generator: lexicon names to Rust identifiers.
//!
//! Every identifier the generator writes comes from here, so the rules live in one place:
//!
//! - [`snake`] for modules and fields (`getLikes` -> `get_likes`, `postURI` -> `post_uri`),
//! - [`camel`] for types and variants (`postView` -> `PostView`),
//! - [`screaming`] for constants (`reasonSpam` -> `REASON_SPAM`, `!no-unauthenticated` ->
//!   `NO_UNAUTHENTICATED`),
//! - Rust keywords become raw identifiers (`type` -> `r#type`), or get a `_` suffix where
//!   raw identifiers are not allowed (`self`, `super`, `crate`, `Self`),
//! - a name that would start with a digit gets a prefix (`2048` -> `_2048` for snake case,
//!   `N2048` for types and constants),
//! - [`Names::claim`] settles collisions inside one module by appending `2`, `3`...

use std::collections::BTreeSet;

/// Every Rust keyword (strict, reserved and edition-2018+ ones).
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// Splits a lexicon name into lower-case words: on `_`, `-`, `.`, `#`, any other
/// non-alphanumeric character, and at lower-to-upper case changes (`getURLFor` ->
/// `get`, `url`, `for`).
fn words(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_ascii_uppercase() && !cur.is_empty() {
            let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
            let next = chars.get(i + 1).copied();
            let prev_lower_or_digit =
                prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit());
            let acronym_end = prev.is_some_and(|p| p.is_ascii_uppercase())
                && next.is_some_and(|n| n.is_ascii_lowercase());
            if prev_lower_or_digit || acronym_end {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn escape_keyword(s: String) -> String {
    if NOT_RAW.contains(&s.as_str()) {
        format!("{s}_")
    } else if KEYWORDS.contains(&s.as_str()) {
        format!("r#{s}")
    } else {
        s
    }
}

/// `snake_case` for modules and fields; keywords escaped, a leading digit prefixed with
/// `_`, an empty result becomes `_empty`.
pub fn snake(s: &str) -> String {
    let joined = words(s).join("_");
    if joined.is_empty() {
        return "_empty".to_owned();
    }
    if joined.starts_with(|c: char| c.is_ascii_digit()) {
        return format!("_{joined}");
    }
    escape_keyword(joined)
}

/// `UpperCamelCase` for types and variants; a leading digit prefixed with `N`, `Self`
/// becomes `Self_`, an empty result becomes `Empty`.
pub fn camel(s: &str) -> String {
    let mut out = String::new();
    for w in words(s) {
        let mut cs = w.chars();
        if let Some(f) = cs.next() {
            out.push(f.to_ascii_uppercase());
            out.extend(cs);
        }
    }
    if out.is_empty() {
        return "Empty".to_owned();
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        return format!("N{out}");
    }
    escape_keyword(out)
}

/// `SCREAMING_SNAKE_CASE` for constants; a leading digit prefixed with `N`.
pub fn screaming(s: &str) -> String {
    let joined = words(s).join("_").to_ascii_uppercase();
    if joined.is_empty() {
        return "EMPTY".to_owned();
    }
    if joined.starts_with(|c: char| c.is_ascii_digit()) {
        return format!("N{joined}");
    }
    joined
}

/// The JSON name serde's `rename_all = "camelCase"` derives from a snake-case field name
/// (after stripping `r#`), so the generator can tell when an explicit `rename` is needed.
pub fn serde_camel(field: &str) -> String {
    let field = field.strip_prefix("r#").unwrap_or(field);
    let mut out = String::new();
    let mut upper = false;
    for (i, c) in field.char_indices() {
        if c == '_' {
            if i > 0 {
                upper = true;
            }
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Prelude and std names that generated code uses unqualified: a definition with one
/// of these names gets a `Def` suffix instead of shadowing it.
const RESERVED_TYPES: &[&str] = &[
    "Option",
    "Some",
    "None",
    "Result",
    "Ok",
    "Err",
    "String",
    "Vec",
    "Box",
    "Default",
    "Clone",
    "Copy",
    "Debug",
    "PartialEq",
    "Eq",
    "Hash",
    "Send",
    "Sync",
    "Sized",
    "Self_",
];

/// The identifiers taken in one Rust namespace of one module.
#[derive(Debug, Clone, Default)]
pub struct Names {
    taken: BTreeSet<String>,
}

impl Names {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes `base`, or `base2`, `base3`... if it is taken; returns the name taken.
    pub fn claim(&mut self, base: &str) -> String {
        if RESERVED_TYPES.contains(&base) {
            return self.claim(&format!("{base}Def"));
        }
        if self.taken.insert(base.to_owned()) {
            return base.to_owned();
        }
        let mut n = 2u32;
        loop {
            let candidate = format!("{base}{n}");
            if self.taken.insert(candidate.clone()) {
                return candidate;
            }
            n += 1;
        }
    }

    /// True if `name` is taken.
    pub fn contains(&self, name: &str) -> bool {
        self.taken.contains(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case() {
        assert_eq!(snake("getLikes"), "get_likes");
        assert_eq!(snake("postURI"), "post_uri");
        assert_eq!(snake("getURLFor"), "get_url_for");
        assert_eq!(snake("app.bsky"), "app_bsky");
        assert_eq!(snake("record-key"), "record_key");
        assert_eq!(snake("authFullApp"), "auth_full_app");
        assert_eq!(snake("did"), "did");
        assert_eq!(snake("v2Beta"), "v2_beta");
    }

    #[test]
    fn keywords() {
        assert_eq!(snake("type"), "r#type");
        assert_eq!(snake("ref"), "r#ref");
        assert_eq!(snake("self"), "self_");
        assert_eq!(snake("crate"), "crate_");
        assert_eq!(camel("self"), "Self_");
        assert_eq!(snake("async"), "r#async");
        assert_eq!(snake("gen"), "r#gen");
    }

    #[test]
    fn digits() {
        assert_eq!(snake("2048"), "_2048");
        assert_eq!(camel("2048"), "N2048");
        assert_eq!(screaming("18+"), "N18");
        assert_eq!(snake("blue.2048"), "blue_2048");
    }

    #[test]
    fn camel_and_screaming() {
        assert_eq!(camel("postView"), "PostView");
        assert_eq!(camel("getLikes"), "GetLikes");
        assert_eq!(camel("main"), "Main");
        assert_eq!(screaming("reasonSpam"), "REASON_SPAM");
        assert_eq!(screaming("!no-unauthenticated"), "NO_UNAUTHENTICATED");
        assert_eq!(screaming("dmca-violation"), "DMCA_VIOLATION");
        assert_eq!(screaming(""), "EMPTY");
        assert_eq!(camel("--"), "Empty");
    }

    #[test]
    fn serde_names() {
        assert_eq!(serde_camel("created_at"), "createdAt");
        assert_eq!(serde_camel("r#type"), "type");
        assert_eq!(serde_camel("post_uri"), "postUri");
        assert_ne!(serde_camel(&snake("postURI")), "postURI");
        assert_eq!(serde_camel(&snake("createdAt")), "createdAt");
    }

    #[test]
    fn collisions() {
        let mut n = Names::new();
        assert_eq!(n.claim("View"), "View");
        assert_eq!(n.claim("View"), "View2");
        assert_eq!(n.claim("View"), "View3");
        assert!(n.contains("View2"));
        assert!(!n.contains("Other"));
        assert_eq!(n.claim("Option"), "OptionDef");
        assert_eq!(n.claim("Option"), "OptionDef2");
    }
}
