//! Keys: their layer (leading zero bits of SHA-256, halved), shared prefixes, and the
//! `collection/rkey` form.

use sha2::{Digest, Sha256};

use crate::error::MstError;

/// Highest possible layer: 256 bits of SHA-256 / 2.
pub const MAX_LAYER: u8 = 128;

/// The layer of a key: leading zero bits of SHA-256(key), divided by two.
///
/// ```
/// assert_eq!(atmo_repo::mst::key_layer(b"blue"), 1);
/// assert_eq!(atmo_repo::mst::key_layer(b"app.bsky.feed.post/9adeb165882c"), 8);
/// ```
pub fn key_layer(key: &[u8]) -> u8 {
    // Keys of up to 55 bytes (nearly all) fit one padded SHA-256 block: compress it
    // directly and count the zeros in the state words.
    if let Some(state) = one_block_sha256(key) {
        let mut zeros = 0u32;
        for w in state {
            zeros += w.leading_zeros();
            if w != 0 {
                break;
            }
        }
        return (zeros / 2) as u8;
    }
    let h: [u8; 32] = Sha256::digest(key).into();
    let mut zeros = 0u32;
    for b in h {
        zeros += b.leading_zeros();
        if b != 0 {
            break;
        }
    }
    (zeros / 2) as u8
}

/// SHA-256 of at most 55 bytes as its eight state words (the digest, big-endian), or
/// `None` for longer input.
fn one_block_sha256(msg: &[u8]) -> Option<[u32; 8]> {
    if msg.len() > 55 {
        return None;
    }
    let mut block = [0u8; 64];
    block.get_mut(..msg.len())?.copy_from_slice(msg);
    *block.get_mut(msg.len())? = 0x80;
    let bits = (msg.len() as u64) * 8;
    block.get_mut(56..)?.copy_from_slice(&bits.to_be_bytes());
    let mut state: [u32; 8] = [
        0x6a09_e667,
        0xbb67_ae85,
        0x3c6e_f372,
        0xa54f_f53a,
        0x510e_527f,
        0x9b05_688c,
        0x1f83_d9ab,
        0x5be0_cd19,
    ];
    sha2::compress256(&mut state, &[block.into()]);
    Some(state)
}

/// Length of the common prefix of two byte strings.
pub fn common_prefix_len(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Checks that a key is `collection/rkey` with a valid NSID and record key.
///
/// # Errors
/// [`MstError::InvalidKey`] saying what is wrong.
pub fn check_key(key: &str) -> Result<(), MstError> {
    let bad = |reason: String| MstError::InvalidKey {
        key: key.to_owned(),
        reason,
    };
    let (collection, rkey) = key
        .split_once('/')
        .ok_or_else(|| bad("no '/' between collection and record key".into()))?;
    atmo_syntax::Nsid::new(collection).map_err(|e| bad(format!("collection: {e}")))?;
    atmo_syntax::RecordKey::new(rkey).map_err(|e| bad(format!("record key: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod layer_tests {
    use sha2::{Digest, Sha256};

    /// The one-block shortcut gives the digest of the general hasher, at every length
    /// around the 55-byte limit.
    #[test]
    fn one_block_sha256_is_sha256() {
        for len in 0..=80usize {
            let msg: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8).collect();
            let want: [u8; 32] = Sha256::digest(&msg).into();
            match super::one_block_sha256(&msg) {
                Some(state) => {
                    let got: Vec<u8> = state.iter().flat_map(|w| w.to_be_bytes()).collect();
                    assert_eq!(got, want, "{len}");
                }
                None => assert!(len > 55, "{len}"),
            }
        }
        let keys = (0..2000).map(|i| format!("app.bsky.feed.post/3k{i:011}"));
        let layers: Vec<u8> = keys.map(|k| super::key_layer(k.as_bytes())).collect();
        assert!(layers.iter().any(|l| *l >= 2), "{layers:?}");
    }
}
