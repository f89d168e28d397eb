//! CAR v1 reading and whole-repository verification of arbitrary bytes. Invariants: no
//! panic; every block the checking reader yields hashes to its CID and lies inside the
//! input; re-writing the accepted header and blocks and reading them again gives the same
//! roots and blocks; a repository that loads can be walked and verified without panicking,
//! and every record it lists is found by `get`.
#![no_main]

use atmo_repo::car::{CarReader, write_car};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(reader) = CarReader::new(data) else {
        return;
    };
    let roots = reader.roots().to_vec();
    let mut blocks = Vec::new();
    for b in reader {
        let Ok((cid, bytes)) = b else {
            break;
        };
        assert!(cid.verify(bytes));
        let (start, p) = (data.as_ptr() as usize, bytes.as_ptr() as usize);
        assert!(p >= start && p + bytes.len() <= start + data.len());
        blocks.push((cid, bytes));
    }
    let again = write_car(&roots, blocks.iter().copied());
    let reread = CarReader::new(&again).expect("a written CAR reads back");
    assert_eq!(reread.roots(), roots.as_slice());
    let back: Vec<_> = reread
        .collect::<Result<_, _>>()
        .expect("written blocks read back");
    assert_eq!(back, blocks);

    if let Ok(repo) = atmo_repo::Repo::from_car(data) {
        let _ = repo.verify(&atmo_repo::VerifyOptions::new());
        for r in repo.records().take(64) {
            let Ok(r) = r else { break };
            let got = repo
                .get(r.collection(), r.rkey())
                .expect("a listed record's path reads");
            assert_eq!(got.map(|g| g.cid()), Some(r.cid()));
            let _ = r.value();
        }
    }
});
