//! CAR v1 reader and writer: round trips and one hand-built malformed input per rejection.

use atmo_data::{Cid, Map, Value, cbor};
use atmo_repo::CarError;
use atmo_repo::car::{CarLimits, CarReader, CarWriter, encode_header, write_car};

fn varint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
    out
}

fn with_header(header: &[u8]) -> Vec<u8> {
    let mut out = varint(header.len() as u64);
    out.extend_from_slice(header);
    out
}

fn section(cid: &Cid, data: &[u8]) -> Vec<u8> {
    let mut body = cid.to_bytes();
    body.extend_from_slice(data);
    let mut out = varint(body.len() as u64);
    out.extend_from_slice(&body);
    out
}

fn header_value(entries: Vec<(&str, Value)>) -> Vec<u8> {
    let mut m = Map::new();
    for (k, v) in entries {
        m.insert(k, v);
    }
    cbor::encode(&Value::Map(m))
}

fn err(bytes: &[u8]) -> CarError {
    err_with(bytes, CarLimits::DEFAULT)
}

fn err_with(bytes: &[u8], limits: CarLimits) -> CarError {
    match CarReader::with_limits(bytes, limits) {
        Err(e) => e,
        Ok(r) => r
            .collect::<Result<Vec<_>, _>>()
            .expect_err("input must be rejected"),
    }
}

fn blocks() -> Vec<(Cid, Vec<u8>)> {
    let a = cbor::encode(&atmo_data::json::from_str(r#"{"a": 1}"#).unwrap());
    let b = b"raw blob bytes".to_vec();
    vec![(Cid::for_dag_cbor(&a), a), (Cid::for_raw(&b), b)]
}

#[test]
fn round_trip_zero_copy() {
    let blocks = blocks();
    let roots = [blocks[0].0];
    let car = write_car(&roots, blocks.iter().map(|(c, b)| (*c, b.as_slice())));
    let mut w = CarWriter::new(Vec::new(), &roots).unwrap();
    for (c, b) in &blocks {
        w.write_block(c, b).unwrap();
    }
    assert_eq!(w.finish().unwrap(), car, "both writers give the same bytes");
    let reader = CarReader::new(&car).unwrap();
    assert_eq!(reader.roots(), &roots);
    let got: Vec<(Cid, &[u8])> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(got.len(), 2);
    for ((c, b), (wc, wb)) in got.iter().zip(&blocks) {
        assert_eq!(c, wc);
        assert_eq!(*b, wb.as_slice());
        // Zero copy: the slice points into the CAR.
        let start = car.as_ptr() as usize;
        let p = b.as_ptr() as usize;
        assert!(p >= start && p + b.len() <= start + car.len());
    }
}

#[test]
fn empty_roots_and_no_blocks() {
    let car = write_car(&[], std::iter::empty());
    let r = CarReader::new(&car).unwrap();
    assert!(r.roots().is_empty());
    assert_eq!(r.count(), 0);
}

#[test]
fn truncated() {
    let blocks = blocks();
    let car = write_car(
        &[blocks[0].0],
        blocks.iter().map(|(c, b)| (*c, b.as_slice())),
    );
    let cut = &car[..car.len() - 3];
    assert_eq!(
        err(cut),
        CarError::Truncated {
            at: cut.len(),
            needed: 3
        }
    );
    assert_eq!(
        err(&car[..5]),
        CarError::Truncated {
            at: 5,
            needed: car[0] as usize + 1 - 5
        }
    );
    assert_eq!(err(&[]), CarError::Truncated { at: 0, needed: 1 });
    assert_eq!(err(&[0x80]), CarError::Truncated { at: 1, needed: 1 });
}

#[test]
fn varints() {
    assert_eq!(err(&[0x80; 12]), CarError::VarintTooLong { at: 0, max: 9 });
    assert_eq!(
        err_with(
            &[0x80, 0x80, 0x01],
            CarLimits::DEFAULT.with_max_varint_len(2)
        ),
        CarError::VarintTooLong { at: 0, max: 2 }
    );
    assert_eq!(err(&[0x81, 0x00]), CarError::VarintNotMinimal { at: 0 });
    // A non-minimal section length after a good header.
    let mut car = with_header(&encode_header(&[]));
    let at = car.len();
    car.extend_from_slice(&[0xa5, 0x00]);
    assert_eq!(err(&car), CarError::VarintNotMinimal { at });
}

#[test]
fn header_limits_and_shape() {
    assert_eq!(err(&[0x00]), CarError::EmptyHeader);
    let mut huge = varint(1 << 20);
    huge.extend_from_slice(&[0xa0; 8]);
    assert_eq!(
        err(&huge),
        CarError::HeaderTooLong {
            len: 1 << 20,
            max: 64 << 10
        }
    );
    // Unsorted keys: version before roots.
    let bad = [
        0xa2, 0x67, b'v', b'e', b'r', b's', b'i', b'o', b'n', 0x01, 0x65, b'r', b'o', b'o', b't',
        b's', 0x80,
    ];
    assert!(matches!(
        err(&with_header(&bad)),
        CarError::HeaderCbor { at: 1, .. }
    ));
    assert!(matches!(
        err(&with_header(&[0x80])),
        CarError::HeaderShape { .. }
    ));
    let no_roots = header_value(vec![("version", Value::Integer(1))]);
    assert_eq!(
        err(&with_header(&no_roots)),
        CarError::HeaderShape {
            reason: "missing roots"
        }
    );
    let no_version = header_value(vec![("roots", Value::Array(vec![]))]);
    assert_eq!(
        err(&with_header(&no_version)),
        CarError::HeaderShape {
            reason: "missing version"
        }
    );
    let extra = header_value(vec![
        ("roots", Value::Array(vec![])),
        ("version", Value::Integer(1)),
        ("extra", Value::Null),
    ]);
    assert_eq!(
        err(&with_header(&extra)),
        CarError::HeaderShape {
            reason: "unknown key in the header"
        }
    );
    let not_link = header_value(vec![
        ("roots", Value::Array(vec![Value::Integer(3)])),
        ("version", Value::Integer(1)),
    ]);
    assert_eq!(
        err(&with_header(&not_link)),
        CarError::HeaderShape {
            reason: "a root is not a CID link"
        }
    );
    let v2 = header_value(vec![
        ("roots", Value::Array(vec![])),
        ("version", Value::Integer(2)),
    ]);
    assert_eq!(err(&with_header(&v2)), CarError::Version { version: 2 });
    let cid = blocks()[0].0;
    let two = with_header(&encode_header(&[cid, cid]));
    assert_eq!(
        err_with(&two, CarLimits::DEFAULT.with_max_roots(1)),
        CarError::TooManyRoots { len: 2, max: 1 }
    );
}

#[test]
fn section_rejections() {
    let blocks = blocks();
    let header = with_header(&encode_header(&[blocks[0].0]));
    let at = header.len();

    let mut empty = header.clone();
    empty.push(0);
    assert_eq!(err(&empty), CarError::EmptySection { at });

    let good = write_car(
        &[blocks[0].0],
        blocks.iter().map(|(c, b)| (*c, b.as_slice())),
    );
    let first_len = good[at] as u64;
    assert_eq!(
        err_with(&good, CarLimits::DEFAULT.with_max_block_len(10)),
        CarError::BlockTooLong {
            at,
            len: first_len,
            max: 10
        }
    );
    let second = at + 1 + first_len as usize;
    assert_eq!(
        err_with(&good, CarLimits::DEFAULT.with_max_blocks(1)),
        CarError::TooManyBlocks { at: second, max: 1 }
    );

    // A CIDv0 (bare multihash) inside a section.
    let mut v0 = header.clone();
    let mut body = vec![0x12, 0x20];
    body.extend_from_slice(&[0u8; 32]);
    v0.extend(varint(body.len() as u64));
    v0.extend_from_slice(&body);
    assert_eq!(
        err(&v0),
        CarError::Cid {
            at: at + 1,
            source: atmo_data::CidError::Version0
        }
    );

    // One flipped byte in the block.
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    assert_eq!(
        err(&flipped),
        CarError::HashMismatch {
            at: second,
            cid: blocks[1].0
        }
    );
    // ... which a reader told to trust its input lets through.
    let trusted: Vec<_> = CarReader::new(&flipped)
        .unwrap()
        .trust_hashes()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(trusted.len(), 2);

    // SHA2-512 cannot be checked.
    let sha512 = Cid::new(0x55, 0x13, &[7u8; 64]).unwrap();
    let mut car = header.clone();
    car.extend(section(&sha512, b"x"));
    assert_eq!(err(&car), CarError::UnsupportedHash { at, cid: sha512 });
}

#[test]
fn the_first_error_ends_iteration() {
    let blocks = blocks();
    let mut car = write_car(
        &[blocks[0].0],
        blocks.iter().map(|(c, b)| (*c, b.as_slice())),
    );
    let last = car.len() - 1;
    car[last] ^= 1;
    let mut r = CarReader::new(&car).unwrap();
    assert!(r.next().unwrap().is_ok());
    assert!(r.next().unwrap().is_err());
    assert!(r.next().is_none());
}

/// `n` raw blocks of about 1 KiB each (enough for the store to use several threads).
fn many_blocks(n: usize) -> Vec<(Cid, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let data: Vec<u8> = (0..1000 + i % 50).map(|j| (i * 31 + j) as u8).collect();
            (Cid::for_raw(&data), data)
        })
        .collect()
}

fn store_err(car: &[u8], threads: usize) -> CarError {
    let reader = CarReader::new(car).unwrap().threads(threads);
    atmo_repo::CarBlockStore::from_reader(reader).expect_err("input must be rejected")
}

/// Offset of each section's length varint in a CAR written by `write_car`.
fn section_offsets(car: &[u8]) -> Vec<usize> {
    let (hlen, mut pos) = (car[0] as usize, 1);
    pos += hlen;
    let mut out = Vec::new();
    while pos < car.len() {
        out.push(pos);
        let (mut len, mut used) = (0usize, 0);
        while car[pos + used] & 0x80 != 0 {
            len |= ((car[pos + used] & 0x7f) as usize) << (7 * used);
            used += 1;
        }
        len |= (car[pos + used] as usize) << (7 * used);
        pos += used + 1 + len;
    }
    out
}

/// Flips a bit in the last byte of section `i` (whose length varints are at
/// `offsets`): its data no longer hashes to its CID.
fn flip(car: &mut [u8], offsets: &[usize], i: usize) {
    let end = offsets.get(i + 1).copied().unwrap_or(car.len());
    car[end - 1] ^= 1;
}

#[test]
fn store_on_several_threads_finds_every_block() {
    let blocks = many_blocks(3000);
    let car = write_car(
        &[blocks[0].0],
        blocks.iter().map(|(c, b)| (*c, b.as_slice())),
    );
    assert!(car.len() > 2 << 20);
    for threads in [1, 2, 3, 8] {
        let reader = CarReader::new(&car).unwrap().threads(threads);
        assert_eq!(reader.thread_count(), threads);
        let store = atmo_repo::CarBlockStore::from_reader(reader).unwrap();
        assert_eq!(store.len(), blocks.len());
        assert_eq!(store.sections(), blocks.len());
        for (cid, data) in &blocks {
            assert_eq!(store.get(cid), Some(data.as_slice()));
        }
        // In reverse too (no help from the file order), and through the trait.
        for (cid, data) in blocks.iter().rev() {
            use atmo_repo::BlockStore;
            store.prefetch(&[*cid]);
            assert_eq!(store.get_block(cid), Some(data.as_slice()));
        }
        assert_eq!(store.get(&Cid::for_raw(b"absent")), None);
        assert_eq!(store.get(&Cid::for_dag_cbor(&blocks[5].1)), None);
        let mut all: Vec<_> = store.iter().map(|(c, _)| c).collect();
        all.sort();
        let mut want: Vec<_> = blocks.iter().map(|(c, _)| *c).collect();
        want.sort();
        assert_eq!(all, want);
    }
    assert_eq!(CarReader::new(&car).unwrap().threads(0).thread_count(), 1);
    assert!((1..=atmo_repo::car::DEFAULT_MAX_THREADS).contains(&atmo_repo::car::default_threads()));
}

#[test]
fn store_reports_the_first_bad_section_whatever_the_threads() {
    let blocks = many_blocks(3000);
    let car = write_car(
        &[blocks[0].0],
        blocks.iter().map(|(c, b)| (*c, b.as_slice())),
    );
    let offsets = section_offsets(&car);
    assert_eq!(offsets.len(), blocks.len());
    // Bad hashes in both halves: the earlier one is reported.
    let mut bad = car.clone();
    flip(&mut bad, &offsets, 2500);
    flip(&mut bad, &offsets, 700);
    // A framing error after them: still the first bad hash.
    bad.extend_from_slice(&[0x80]);
    for threads in [1, 2, 4] {
        assert_eq!(
            store_err(&bad, threads),
            CarError::HashMismatch {
                at: offsets[700],
                cid: blocks[700].0
            }
        );
    }
    // Only a bad hash late in the file.
    let mut late = car.clone();
    flip(&mut late, &offsets, 2999);
    for threads in [1, 2, 4] {
        assert_eq!(
            store_err(&late, threads),
            CarError::HashMismatch {
                at: offsets[2999],
                cid: blocks[2999].0
            }
        );
    }
    // A framing error before any bad hash wins.
    let mut cut = car.clone();
    flip(&mut cut, &offsets, 2000);
    cut[offsets[1000]] = 0;
    for threads in [1, 2, 4] {
        assert_eq!(
            store_err(&cut, threads),
            CarError::EmptySection { at: offsets[1000] }
        );
    }
    // Trusting the input lets bad hashes through, on any thread count.
    let trusted = atmo_repo::CarBlockStore::from_reader(
        CarReader::new(&late).unwrap().trust_hashes().threads(2),
    )
    .unwrap();
    assert_eq!(trusted.len(), blocks.len());
    assert!(trusted.get(&blocks[2999].0).is_some());
    assert_eq!(trusted.get(&blocks[10].0), Some(blocks[10].1.as_slice()));
}

#[test]
fn store_keeps_one_copy_of_a_repeated_block() {
    let blocks = blocks();
    let mut sections: Vec<(Cid, &[u8])> = blocks.iter().map(|(c, b)| (*c, b.as_slice())).collect();
    sections.push(sections[0]);
    sections.push(sections[1]);
    sections.push(sections[0]);
    let car = write_car(&[blocks[0].0], sections.iter().copied());
    for trust in [false, true] {
        let mut reader = CarReader::new(&car).unwrap();
        if trust {
            reader = reader.trust_hashes();
        }
        let store = atmo_repo::CarBlockStore::from_reader(reader).unwrap();
        assert_eq!((store.len(), store.sections()), (2, 5));
        assert_eq!(store.iter().count(), 2);
        for (cid, data) in &blocks {
            assert_eq!(store.get(cid), Some(data.as_slice()));
        }
    }
    // Trusted input may repeat a CID with other bytes: the later copy wins, as in a map.
    let (cid, _) = blocks[0];
    let car = write_car(&[cid], [(cid, &b"first"[..]), (cid, &b"second"[..])]);
    let store = atmo_repo::CarBlockStore::from_reader(CarReader::new(&car).unwrap().trust_hashes())
        .unwrap();
    assert_eq!(store.get(&cid), Some(&b"second"[..]));
    assert_eq!(store.len(), 1);
}

fn store_result(car: &[u8], limits: CarLimits, threads: usize) -> Result<usize, CarError> {
    let reader = CarReader::with_limits(car, limits)?.threads(threads);
    atmo_repo::CarBlockStore::from_reader(reader).map(|s| s.sections())
}

fn reader_result(car: &[u8], limits: CarLimits) -> Result<usize, CarError> {
    CarReader::with_limits(car, limits)?.try_fold(0, |n, b| b.map(|_| n + 1))
}

#[test]
fn store_applies_the_block_limit_to_the_whole_file() {
    let blocks = many_blocks(3000);
    let mut car = write_car(
        &[blocks[0].0],
        blocks.iter().map(|(c, b)| (*c, b.as_slice())),
    );
    for max in [1, 1000, 1500, 2999, 3000, 3001] {
        let limits = CarLimits::DEFAULT.with_max_blocks(max);
        let want = reader_result(&car, limits);
        assert_eq!(want.is_ok(), max >= 3000);
        for threads in [1, 2, 3, 4] {
            assert_eq!(
                store_result(&car, limits, threads),
                want,
                "max {max}, {threads} threads"
            );
        }
    }
    // Exactly at the limit with a bad section after it: the limit is what fails.
    car.extend_from_slice(&[0x00]);
    let limits = CarLimits::DEFAULT.with_max_blocks(3000);
    let want = reader_result(&car, limits);
    assert!(
        matches!(want, Err(CarError::TooManyBlocks { .. })),
        "{want:?}"
    );
    for threads in [1, 2, 4] {
        assert_eq!(store_result(&car, limits, threads), want);
    }
}

#[test]
fn store_is_not_fooled_by_sections_inside_a_block() {
    // A large block whose bytes are themselves a run of well-formed sections: a thread
    // that starts reading inside it sees plausible sections that the file does not have.
    let inner = many_blocks(1100).split_off(400);
    let mut fake = Vec::new();
    for (cid, data) in &inner {
        fake.extend(section(cid, data));
    }
    let mut blocks = many_blocks(400);
    let big = (Cid::for_raw(&fake), fake);
    blocks.insert(150, big.clone());
    let car = write_car(
        &[blocks[0].0],
        blocks.iter().map(|(c, b)| (*c, b.as_slice())),
    );
    for threads in [1, 2, 3, 4, 8] {
        let reader = CarReader::new(&car).unwrap().threads(threads);
        let store = atmo_repo::CarBlockStore::from_reader(reader).unwrap();
        assert_eq!(store.sections(), blocks.len(), "{threads} threads");
        assert_eq!(store.get(&big.0), Some(big.1.as_slice()));
        // The sections inside the big block are not blocks of the file.
        assert_eq!(store.get(&inner[350].0), None);
    }
    // And with a bad hash after the big block, the same error on any thread count.
    let offsets = section_offsets(&car);
    let mut bad = car.clone();
    flip(&mut bad, &offsets, 299);
    let want = reader_result(&bad, CarLimits::DEFAULT);
    assert!(
        matches!(want, Err(CarError::HashMismatch { .. })),
        "{want:?}"
    );
    for threads in [1, 2, 3, 4, 8] {
        assert_eq!(store_result(&bad, CarLimits::DEFAULT, threads), want);
    }
}

#[test]
fn read_file_reads_what_std_reads() {
    let dir = std::env::temp_dir();
    for (n, size) in [
        (0, 0usize),
        (1, 1000),
        (2, 3 << 20),
        (3, 9 << 20),
        (4, (13 << 20) + 7),
    ] {
        let path = dir.join(format!(
            "atmo-repo-read-file-{}-{n}.bin",
            std::process::id()
        ));
        let data: Vec<u8> = (0..size).map(|i| (i * 7 + i / 4099) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let read = atmo_repo::car::read_file(&path);
        std::fs::remove_file(&path).unwrap();
        let read = read.unwrap();
        assert!(*read == data[..], "{size} bytes");
        assert!(read.into_vec() == data, "{size} bytes");
    }
    let missing = dir.join(format!(
        "atmo-repo-read-file-{}-missing",
        std::process::id()
    ));
    assert!(atmo_repo::car::read_file(&missing).is_err());
}

/// What a store over `car` holds (roots, blocks, sections, every block's bytes in file
/// order), or the error of building it.
type Summary = Result<(Vec<Cid>, usize, usize, Vec<Option<Vec<u8>>>), CarError>;

fn summary(store: Result<atmo_repo::CarBlockStore<'_>, CarError>, cids: &[Cid]) -> Summary {
    let store = store?;
    let got = cids
        .iter()
        .map(|c| store.get(c).map(<[u8]>::to_vec))
        .collect();
    Ok((store.roots().to_vec(), store.len(), store.sections(), got))
}

/// `CarFile::open_with_limits` on `car` written to a file, on 1 to 4 threads, against
/// reading the bytes with `CarBlockStore::from_reader`.
fn file_matches_reader(car: &[u8], limits: CarLimits, cids: &[Cid], what: &str) -> Summary {
    let want = summary(
        CarReader::with_limits(car, limits).and_then(atmo_repo::CarBlockStore::from_reader),
        cids,
    );
    let path = std::env::temp_dir().join(format!(
        "atmo-repo-car-file-{}-{what}.car",
        std::process::id()
    ));
    std::fs::write(&path, car).unwrap();
    for threads in [1, 2, 3, 4] {
        let file = atmo_repo::CarFile::open_with_limits(&path, threads, limits);
        if let Ok(file) = &file {
            assert!(file.bytes() == car, "{what}, {threads} threads");
            assert_eq!(file.roots(), file.store().roots());
        }
        let got = summary(file.as_ref().map(|f| f.store()).map_err(|e| *e), cids);
        assert_eq!(got, want, "{what}, {threads} threads");
    }
    std::fs::remove_file(&path).unwrap();
    want
}

#[test]
fn car_file_reads_and_indexes_what_the_reader_does() {
    let blocks = many_blocks(3000);
    let cids: Vec<Cid> = blocks.iter().map(|(c, _)| *c).collect();
    let car = write_car(&[cids[0]], blocks.iter().map(|(c, b)| (*c, b.as_slice())));
    assert!(car.len() > 2 << 20, "several pieces of the file");
    let ok = file_matches_reader(&car, CarLimits::DEFAULT, &cids, "whole").unwrap();
    assert_eq!((ok.1, ok.2), (3000, 3000));
    assert!(
        ok.3.iter()
            .zip(&blocks)
            .all(|(got, (_, b))| got.as_ref() == Some(b))
    );

    let offsets = section_offsets(&car);
    // Bad hashes early and late, a framing error, a cut: the first error in file order.
    let mut bad = car.clone();
    flip(&mut bad, &offsets, 2500);
    flip(&mut bad, &offsets, 1700);
    let e = file_matches_reader(&bad, CarLimits::DEFAULT, &cids, "bad").unwrap_err();
    assert_eq!(
        e,
        CarError::HashMismatch {
            at: offsets[1700],
            cid: cids[1700]
        }
    );
    let mut framing = car.clone();
    framing[offsets[2100]] = 0;
    flip(&mut framing, &offsets, 2900);
    let e = file_matches_reader(&framing, CarLimits::DEFAULT, &cids, "framing").unwrap_err();
    assert_eq!(e, CarError::EmptySection { at: offsets[2100] });
    let cut = &car[..car.len() - 10];
    let e = file_matches_reader(cut, CarLimits::DEFAULT, &cids, "cut").unwrap_err();
    assert!(matches!(e, CarError::Truncated { .. }), "{e:?}");
    // The block limit, over the whole file.
    for max in [1000, 2999, 3000] {
        let limits = CarLimits::DEFAULT.with_max_blocks(max);
        let r = file_matches_reader(&car, limits, &cids, "limit");
        assert_eq!(r.is_ok(), max == 3000, "{r:?}");
    }
    // A bad header.
    let e = file_matches_reader(&car[1..], CarLimits::DEFAULT, &cids, "header").unwrap_err();
    assert!(!matches!(e, CarError::Io { .. }), "{e:?}");
}

#[test]
fn car_file_is_not_fooled_by_blocks_larger_than_a_piece() {
    // A block of plausible sections larger than a piece of the file (1 MiB): a piece
    // that starts inside it finds sections the file does not have. And a block of
    // noise as large, where a piece finds no section to start from.
    let inner = many_blocks(1700);
    let mut fake = Vec::new();
    for (cid, data) in &inner {
        fake.extend(section(cid, data));
    }
    let noise: Vec<u8> = (0u64..1_500_000)
        .map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8)
        .collect();
    let mut blocks = many_blocks(900);
    blocks.insert(100, (Cid::for_raw(&fake), fake));
    blocks.insert(600, (Cid::for_raw(&noise), noise));
    let car = write_car(
        &[blocks[0].0],
        blocks.iter().map(|(c, b)| (*c, b.as_slice())),
    );
    let mut cids: Vec<Cid> = blocks.iter().map(|(c, _)| *c).collect();
    cids.push(inner[1500].0);
    let ok = file_matches_reader(&car, CarLimits::DEFAULT, &cids, "big").unwrap();
    assert_eq!(ok.2, blocks.len());
    assert_eq!(
        ok.3.last(),
        Some(&None),
        "a section inside a block is not a block"
    );
    // A bad hash after the big blocks.
    let offsets = section_offsets(&car);
    let mut bad = car.clone();
    flip(&mut bad, &offsets, 799);
    let e = file_matches_reader(&bad, CarLimits::DEFAULT, &cids, "big-bad").unwrap_err();
    assert_eq!(
        e,
        CarError::HashMismatch {
            at: offsets[799],
            cid: cids[799]
        }
    );
}

#[test]
fn car_file_reports_io_errors() {
    let missing =
        std::env::temp_dir().join(format!("atmo-repo-car-file-{}-missing", std::process::id()));
    for threads in [1, 2] {
        assert_eq!(
            atmo_repo::CarFile::open(&missing, threads).unwrap_err(),
            CarError::Io {
                at: 0,
                kind: std::io::ErrorKind::NotFound
            }
        );
    }
}

#[test]
fn store_builds_a_large_index_on_several_threads() {
    // Many small blocks (a table of 256k slots), read on several threads.
    let blocks: Vec<(Cid, Vec<u8>)> = (0u32..90_000)
        .map(|i| {
            let data = format!("block {i}").into_bytes();
            (Cid::for_raw(&data), data)
        })
        .collect();
    let car = write_car(
        &[blocks[0].0],
        blocks.iter().map(|(c, b)| (*c, b.as_slice())),
    );
    for threads in [1, 2, 3, 4, 8] {
        let reader = CarReader::new(&car).unwrap().threads(threads);
        let store = atmo_repo::CarBlockStore::from_reader(reader).unwrap();
        assert_eq!((store.len(), store.sections()), (90_000, 90_000));
        for (cid, data) in &blocks {
            assert_eq!(store.get(cid), Some(data.as_slice()), "{threads} threads");
        }
        assert_eq!(store.get(&Cid::for_raw(b"block 90000")), None);
        assert_eq!(store.iter().count(), 90_000);
    }
    // Trusted input repeating CIDs with other bytes, the copies far apart in the file
    // (in other threads' runs): the later copy wins on any thread count.
    let mut sections: Vec<(Cid, Vec<u8>)> = blocks.clone();
    for (i, (cid, _)) in blocks.iter().enumerate().step_by(7) {
        sections.push((*cid, format!("second {i}").into_bytes()));
    }
    for (i, (cid, _)) in blocks.iter().enumerate().step_by(21) {
        sections.push((*cid, format!("third {i}").into_bytes()));
    }
    let car = write_car(
        &[blocks[0].0],
        sections.iter().map(|(c, b)| (*c, b.as_slice())),
    );
    for threads in [1, 2, 4] {
        let reader = CarReader::new(&car)
            .unwrap()
            .trust_hashes()
            .threads(threads);
        let store = atmo_repo::CarBlockStore::from_reader(reader).unwrap();
        assert_eq!((store.len(), store.sections()), (90_000, sections.len()));
        for (i, (cid, data)) in blocks.iter().enumerate() {
            let want = if i % 21 == 0 {
                format!("third {i}").into_bytes()
            } else if i % 7 == 0 {
                format!("second {i}").into_bytes()
            } else {
                data.clone()
            };
            assert_eq!(
                store.get(cid),
                Some(want.as_slice()),
                "{threads} threads, {i}"
            );
        }
    }
}
