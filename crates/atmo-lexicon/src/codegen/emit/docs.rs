//! Doc comments of the generated code: lexicon descriptions as `///` lines.

use std::fmt::Write as _;

pub(super) fn doc_lines(s: &str) -> Vec<String> {
    s.lines().map(|l| l.trim_end().to_owned()).collect()
}

pub(super) fn push_doc(out: &mut String, lines: &[String]) {
    for l in lines {
        if l.is_empty() {
            out.push_str("///\n");
        } else {
            let _ = writeln!(out, "/// {l}");
        }
    }
}

pub(super) fn desc_doc(title: String, desc: Option<&str>) -> Vec<String> {
    let mut v = vec![title];
    if let Some(d) = desc {
        v.push(String::new());
        v.extend(doc_lines(d));
    }
    v
}
