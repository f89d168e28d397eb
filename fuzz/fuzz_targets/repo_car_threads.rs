//! The multi-threaded CAR reader against the sequential one. The input shapes a CAR large
//! enough to be split across threads (over 512 KiB, `shaped_car`: section-like bytes
//! inside blocks, which could fool the split, are the fuzzer's to craft). Invariant: on
//! two threads (the most a 600 KiB CAR is split into) the store holds exactly the blocks
//! the one-thread store holds, or fails with the same error.
#![no_main]

use atmo_data::Cid;
use atmo_repo::CarBlockStore;
use atmo_repo::car::CarReader;

#[path = "shared/shaped_car.rs"]
mod shaped_car;

/// Size of the CAR before overwrites.
const TARGET_BYTES: usize = 600 << 10;

fn load(car: &[u8], threads: usize) -> Result<Vec<(Cid, Vec<u8>)>, String> {
    let reader = CarReader::new(car).map_err(|e| e.to_string())?;
    let store = CarBlockStore::from_reader(reader.threads(threads)).map_err(|e| e.to_string())?;
    let mut blocks: Vec<(Cid, Vec<u8>)> = store.iter().map(|(c, b)| (c, b.to_vec())).collect();
    blocks.sort();
    assert_eq!(store.len(), blocks.len());
    Ok(blocks)
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some(car) = shaped_car::shaped_car(data, TARGET_BYTES, false) else {
        return;
    };
    assert_eq!(load(&car, 2), load(&car, 1));
});
