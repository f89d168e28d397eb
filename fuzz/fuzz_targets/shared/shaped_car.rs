//! The CAR that the multi-threaded CAR targets read, shaped by the fuzz input.

use atmo_data::Cid;
use atmo_repo::car::write_car;

/// A CAR of about `target` bytes shaped by `data`. Its first byte gives the number of
/// 5-byte overwrites (`count % 16`) that follow; the rest is a payload (at most 4096
/// bytes) that every block repeats, followed by the block's number, so that section-like
/// bytes inside blocks are the fuzzer's to craft. With `large_blocks`, a payload starting
/// with 0xff is repeated to over 1 MiB per block. The overwrites (a little-endian `u32`
/// offset modulo the length, then a byte) are applied to the written CAR. `None` if the
/// input is too short for its overwrites.
pub fn shaped_car(data: &[u8], target: usize, large_blocks: bool) -> Option<Vec<u8>> {
    let (&count, rest) = data.split_first()?;
    let edits = usize::from(count % 16);
    let (edit_bytes, payload) = rest.split_at_checked(edits * 5)?;
    let mut payload = payload[..payload.len().min(4096)].to_vec();
    if large_blocks && payload.first() == Some(&0xff) {
        payload = payload.repeat(1 + (1 << 20) / payload.len());
    }
    let per_block = payload.len() + 4;
    let n = (target / (per_block + 40)).max(1);
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
    Some(car)
}
