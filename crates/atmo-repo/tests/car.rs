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
