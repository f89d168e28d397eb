//! `CarFile` (the file read and indexed a 1 MiB piece at a time, the pieces stitched
//! together) against reading the same bytes with the sequential reader. The input shapes
//! a CAR of three pieces and more: its blocks repeat a payload taken from the input (so
//! section-like bytes inside blocks, and blocks larger than a piece, are the fuzzer's to
//! craft) with a counter, then the input's byte overwrites are applied to the written
//! CAR, which is written to a file. Invariant: on one and on two threads the file's store
//! holds exactly the blocks the sequential store holds, or fails with the same error.
#![no_main]

use atmo_data::Cid;
use atmo_repo::car::{CarReader, write_car};
use atmo_repo::{CarBlockStore, CarError, CarFile};

/// Size of the CAR before overwrites.
const TARGET_BYTES: usize = (2 << 20) + (300 << 10);

fn blocks_of(store: &CarBlockStore<'_>) -> Vec<(Cid, Vec<u8>)> {
    let mut blocks: Vec<(Cid, Vec<u8>)> = store.iter().map(|(c, b)| (c, b.to_vec())).collect();
    blocks.sort();
    assert_eq!(store.len(), blocks.len());
    blocks
}

fn sequential(car: &[u8]) -> Result<(Vec<(Cid, Vec<u8>)>, usize), CarError> {
    let store = CarBlockStore::from_reader(CarReader::new(car)?.threads(1))?;
    Ok((blocks_of(&store), store.sections()))
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&count, rest)) = data.split_first() else {
        return;
    };
    let edits = usize::from(count % 16);
    let Some((edit_bytes, payload)) = rest.split_at_checked(edits * 5) else {
        return;
    };
    // A payload byte of 0xff makes every block large (past a piece), by repetition.
    let repeat = if payload.first() == Some(&0xff) {
        1 + (1 << 20) / payload.len().max(1)
    } else {
        1
    };
    let payload: Vec<u8> = payload[..payload.len().min(4096)].repeat(repeat.min(1 << 20));
    let per_block = payload.len() + 4;
    let n = (TARGET_BYTES / (per_block + 40)).max(1);
    let blocks: Vec<(Cid, Vec<u8>)> = (0..n as u32)
        .map(|i| {
            let mut b = payload.clone();
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
    let path = std::env::temp_dir().join(format!("atmo-fuzz-car-file-{}.car", std::process::id()));
    std::fs::write(&path, &car).expect("write the CAR");
    let want = sequential(&car);
    for threads in [1, 2] {
        let got = CarFile::open(&path, threads).map(|f| {
            assert!(f.bytes() == &car[..]);
            let store = f.store();
            (blocks_of(&store), store.sections())
        });
        assert_eq!(got, want, "{threads} threads");
    }
    let _ = std::fs::remove_file(&path);
});
