//! `CarFile` (the file read and indexed a 1 MiB piece at a time, the pieces stitched
//! together) against reading the same bytes with the sequential reader. The input shapes
//! a CAR of three pieces and more (`shaped_car`, with blocks larger than a piece when the
//! payload starts with 0xff), which is written to a file. Invariant: on one and on two
//! threads the file's store holds exactly the blocks the sequential store holds, or fails
//! with the same error.
#![no_main]

use atmo_data::Cid;
use atmo_repo::car::CarReader;
use atmo_repo::{CarBlockStore, CarError, CarFile};

#[path = "shared/shaped_car.rs"]
mod shaped_car;

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
    let Some(car) = shaped_car::shaped_car(data, TARGET_BYTES, true) else {
        return;
    };
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
