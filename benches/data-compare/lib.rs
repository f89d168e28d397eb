//! Corpus loading shared by the comparison benchmark.

use std::path::PathBuf;

/// Loads the block corpus: `$ATMO_DATA_CORPUS`, else the generated 10k-record corpus,
/// else the small committed one. Returns the path and the blocks.
pub fn corpus() -> (PathBuf, Vec<Vec<u8>>) {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        std::env::var_os("ATMO_DATA_CORPUS").map(PathBuf::from),
        Some(here.join("../../tests/oracle/out/blocks-10000.bin")),
        Some(here.join("../../crates/atmo-data/benches/corpus/blocks-300.bin")),
    ];
    let path = candidates
        .into_iter()
        .flatten()
        .find(|p| p.exists())
        .expect("no corpus found");
    let data = std::fs::read(&path).expect("read corpus");
    let mut blocks = Vec::new();
    let mut rest = &data[..];
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let n = u32::from_be_bytes(*len) as usize;
        blocks.push(tail[..n].to_vec());
        rest = &tail[n..];
    }
    (path, blocks)
}
