//! Multibase (base58btc), multicodec varints and hex: the small encodings keys travel in.

use crate::KeyError;

/// Multicodec: secp256k1 public key (compressed).
pub(crate) const SECP256K1_PUB: u64 = 0xe7;
/// Multicodec: P-256 public key (compressed).
pub(crate) const P256_PUB: u64 = 0x1200;
/// Multicodec: secp256k1 private key.
pub(crate) const SECP256K1_PRIV: u64 = 0x1301;
/// Multicodec: P-256 private key.
pub(crate) const P256_PRIV: u64 = 0x1306;

/// Longest key string accepted before decoding. The longest legitimate input is a legacy
/// multibase of an uncompressed point (1 + 92 characters) or a `did:key` (8 + 1 + 48); base58
/// decoding is quadratic, so the bound comes first.
pub(crate) const MAX_KEY_STRING: usize = 128;

/// Decodes `z<base58btc>`; `offset` is where `s` starts in the caller's input (for errors).
pub(crate) fn decode_multibase(s: &str, offset: usize) -> Result<Vec<u8>, KeyError> {
    let total = offset.saturating_add(s.len());
    if total > MAX_KEY_STRING {
        return Err(KeyError::TooLong {
            len: total,
            max: MAX_KEY_STRING,
        });
    }
    let Some(body) = s.strip_prefix('z') else {
        return Err(KeyError::NotBase58btc {
            found: s.chars().next(),
        });
    };
    bs58::decode(body).into_vec().map_err(|e| {
        use bs58::decode::Error as E;
        let base = offset.saturating_add(1);
        match e {
            E::InvalidCharacter { character, index } => KeyError::Base58 {
                ch: character,
                at: base.saturating_add(index),
            },
            E::NonAsciiCharacter { index } => KeyError::Base58 {
                ch: body
                    .get(index..)
                    .and_then(|t| t.chars().next())
                    .unwrap_or('\u{fffd}'),
                at: base.saturating_add(index),
            },
            // Neither happens with `into_vec` (it sizes the buffer) and no checksum; report
            // them as a bad string rather than panic.
            _ => KeyError::Base58 {
                ch: '\u{fffd}',
                at: base,
            },
        }
    })
}

/// Encodes bytes as `z<base58btc>`.
pub(crate) fn encode_multibase(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(1 + bytes.len() * 138 / 100 + 1);
    s.push('z');
    bs58::encode(bytes).onto(&mut s).unwrap_or_default();
    s
}

/// Reads an unsigned LEB128 varint of at most 9 bytes, minimally encoded (as multiformats
/// requires). Returns the value and its length, or `None`.
pub(crate) fn read_varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (i, &b) in bytes.iter().take(9).enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            // A final zero byte after the first is a non-minimal encoding.
            if b == 0 && i > 0 {
                return None;
            }
            return Some((value, i + 1));
        }
    }
    None
}

/// Appends `value` as an unsigned LEB128 varint.
pub(crate) fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let low = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

/// `varint(code) || payload`, multibase-encoded.
pub(crate) fn encode_multicodec(code: u64, payload: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(payload.len() + 3);
    write_varint(&mut bytes, code);
    bytes.extend_from_slice(payload);
    encode_multibase(&bytes)
}

/// Lower-case hex.
pub(crate) fn hex_encode(bytes: &[u8]) -> String {
    let nibble = |n: u8| char::from_digit(u32::from(n), 16).unwrap_or('0');
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(nibble(b >> 4));
        s.push(nibble(b & 0x0f));
    }
    s
}

/// Decodes hex (either case, no prefix, no separators).
pub(crate) fn hex_decode(s: &str) -> Result<Vec<u8>, KeyError> {
    fn digit(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bad = |at: usize| KeyError::Hex {
        ch: s
            .get(at..)
            .and_then(|t| t.chars().next())
            .unwrap_or('\u{fffd}'),
        at,
    };
    let bytes = s.as_bytes();
    // Report a bad character before an odd length: it is the more useful message.
    if let Some(at) = bytes.iter().position(|&b| digit(b).is_none()) {
        return Err(bad(at));
    }
    if bytes.len() % 2 != 0 {
        return Err(KeyError::HexOddLength { len: bytes.len() });
    }
    Ok(bytes
        .chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => (digit(*hi).unwrap_or(0) << 4) | digit(*lo).unwrap_or(0),
            _ => 0,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_of_the_key_codecs() {
        for (code, bytes) in [
            (SECP256K1_PUB, vec![0xe7, 0x01]),
            (P256_PUB, vec![0x80, 0x24]),
            (SECP256K1_PRIV, vec![0x81, 0x26]),
            (P256_PRIV, vec![0x86, 0x26]),
        ] {
            let mut out = Vec::new();
            write_varint(&mut out, code);
            assert_eq!(out, bytes, "{code:#x}");
            assert_eq!(read_varint(&bytes), Some((code, 2)));
        }
    }

    #[test]
    fn varint_rejects_non_minimal_and_unterminated() {
        assert_eq!(read_varint(&[0xe7, 0x81, 0x00]), None);
        assert_eq!(read_varint(&[0x80; 12]), None);
        assert_eq!(read_varint(&[]), None);
        assert_eq!(read_varint(&[0x00]), Some((0, 1)));
    }

    #[test]
    fn hex_round_trip_and_errors() {
        assert_eq!(hex_decode("00ffA0"), Ok(vec![0x00, 0xff, 0xa0]));
        assert_eq!(hex_encode(&[0x00, 0xff, 0xa0]), "00ffa0");
        assert_eq!(hex_decode("0g"), Err(KeyError::Hex { ch: 'g', at: 1 }));
        assert_eq!(hex_decode("abc"), Err(KeyError::HexOddLength { len: 3 }));
        assert_eq!(hex_decode("aé"), Err(KeyError::Hex { ch: 'é', at: 1 }));
    }

    #[test]
    fn multibase_errors() {
        assert_eq!(
            decode_multibase("fabc", 0),
            Err(KeyError::NotBase58btc { found: Some('f') })
        );
        assert_eq!(
            decode_multibase("", 0),
            Err(KeyError::NotBase58btc { found: None })
        );
        assert_eq!(
            decode_multibase("z12O", 8),
            Err(KeyError::Base58 { ch: 'O', at: 11 })
        );
        assert_eq!(
            decode_multibase("z1é", 0),
            Err(KeyError::Base58 { ch: 'é', at: 2 })
        );
        let long = format!("z{}", "1".repeat(MAX_KEY_STRING));
        assert_eq!(
            decode_multibase(&long, 0),
            Err(KeyError::TooLong {
                len: MAX_KEY_STRING + 1,
                max: MAX_KEY_STRING
            })
        );
        assert_eq!(decode_multibase("z", 0), Ok(vec![]));
        assert_eq!(encode_multibase(&[0, 0, 1]), "z112");
        assert_eq!(decode_multibase("z112", 0), Ok(vec![0, 0, 1]));
    }
}
