//! Every block of a repository made by the official TypeScript implementation
//! (benches/corpus/blocks-300.bin, see tests/oracle) decodes strictly and re-encodes to the
//! same bytes; every link in it points at a block of the corpus or a blob.

use std::collections::HashSet;

use atmo_data::{Cid, Value, cbor, json};

fn blocks() -> Vec<Vec<u8>> {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/corpus/blocks-300.bin");
    let data = std::fs::read(p).unwrap();
    let mut out = Vec::new();
    let mut rest = &data[..];
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let n = u32::from_be_bytes(*len) as usize;
        out.push(tail[..n].to_vec());
        rest = &tail[n..];
    }
    assert!(rest.is_empty());
    out
}

fn links(v: &Value, out: &mut Vec<Cid>) {
    match v {
        Value::Link(c) => out.push(**c),
        Value::Array(a) => a.iter().for_each(|e| links(e, out)),
        Value::Map(m) => m.iter().for_each(|(_, e)| links(e, out)),
        _ => {}
    }
}

#[test]
fn official_blocks_round_trip_exactly() {
    let blocks = blocks();
    assert!(blocks.len() > 300);
    let cids: HashSet<Cid> = blocks.iter().map(|b| Cid::for_dag_cbor(b)).collect();
    let mut dangling = 0;
    for b in &blocks {
        let v = cbor::decode(b).unwrap();
        assert_eq!(&cbor::encode(&v), b);
        let r = cbor::decode_ref(b).unwrap();
        assert_eq!(&cbor::encode_ref(&r), b);
        assert_eq!(json::from_str(&json::to_string(&v)).unwrap(), v);
        let mut ls = Vec::new();
        links(&v, &mut ls);
        for l in ls {
            if l.codec() == atmo_data::cid::DAG_CBOR && !cids.contains(&l) {
                dangling += 1;
            }
        }
    }
    // The commit's `prev` is null and MST/record links are all inside the repository.
    assert_eq!(dangling, 0);
}
