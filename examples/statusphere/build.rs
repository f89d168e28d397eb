//! Generates Rust types for the app's own lexicons (`lexicons/`) with atmo's code
//! generator, as any atmo user would: the output goes to `OUT_DIR/lexicons.rs` and is
//! included by `src/lexicon.rs`.

use std::path::{Path, PathBuf};

use atmo_lexicon::Catalog;
use atmo_lexicon::codegen::{Options, generate};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new("lexicons");
    println!("cargo::rerun-if-changed=lexicons");
    let mut catalog = Catalog::new();
    catalog.load_dir(dir)?;
    // The generated modules sit under `crate::lexicon`, not at the crate root.
    let out = generate(&catalog, &Options::user().root("crate::lexicon"))?;
    let dest = PathBuf::from(std::env::var("OUT_DIR")?).join("lexicons.rs");
    std::fs::write(dest, out.single_file())?;
    Ok(())
}
