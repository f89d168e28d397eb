//! The multi-threaded CAR reader against the sequential one. The input shapes a CAR large
//! enough to be split across threads (over 512 KiB): its blocks repeat a payload taken
//! from the input (so section-like bytes inside blocks, which could fool the split, are
//! the fuzzer's to craft) with a counter, then the input's byte overwrites are applied to
//! the written CAR. Invariant: on two threads (the most a 600 KiB CAR is split into) the
//! store holds exactly the blocks the one-thread store holds, or fails with the same error.
#![no_main]

use atmo_data::Cid;
use atmo_repo::CarBlockStore;
use atmo_repo::car::{CarReader, write_car};

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
    let Some((&count, rest)) = data.split_first() else {
        return;
    };
    let edits = usize::from(count % 16);
    let Some((edit_bytes, payload)) = rest.split_at_checked(edits * 5) else {
        return;
    };
    let payload = &payload[..payload.len().min(4096)];
    let per_block = payload.len() + 4;
    let n = (TARGET_BYTES / (per_block + 40)).max(1);
    let blocks: Vec<(Cid, Vec<u8>)> = (0..n as u32)
        .map(|i| {
            let mut b = payload.to_vec();
            b.extend_from_slice(&i.to_be_bytes());
            (Cid::for_raw(&b), b)
        })
        .collect();
    let root = blocks[0].0;
    let mut car = write_car(&[root], blocks.iter().map(|(c, b)| (*c, b.as_slice())));
    for e in edit_bytes.chunks_exact(5) {
        let at = u32::from_le_bytes([e[0], e[1], e[2], e[3]]) as usize % car.len();
        car[at] = e[4];
    }
    assert_eq!(load(&car, 2), load(&car, 1));
});
