//! With the `bundled` feature, embeds every `.json` file under the workspace's
//! `lexicons/` directory: writes `$OUT_DIR/bundled.rs` with one `include_str!` per file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            walk(&p, out);
        } else if ft.is_file() && p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CARGO_FEATURE_BUNDLED");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let mut src = String::from(
        "/// The embedded lexicon files: (path under `lexicons/`, text).\npub(crate) static FILES: &[(&str, &str)] = &[\n",
    );
    if std::env::var_os("CARGO_FEATURE_BUNDLED").is_some() {
        let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
        let root = manifest.join("../../lexicons");
        println!("cargo:rerun-if-changed={}", root.display());
        let mut files = Vec::new();
        walk(&root, &mut files);
        files.sort();
        for f in &files {
            println!("cargo:rerun-if-changed={}", f.display());
            let rel = f.strip_prefix(&root).unwrap_or(f);
            let abs = f.canonicalize().unwrap_or_else(|_| f.clone());
            let _ = writeln!(
                src,
                "    ({:?}, include_str!({:?})),",
                rel.to_string_lossy(),
                abs.to_string_lossy()
            );
        }
    }
    src.push_str("];\n");
    let _ = std::fs::write(out_dir.join("bundled.rs"), src);
}
