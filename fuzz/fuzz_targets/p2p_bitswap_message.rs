//! Bitswap message decoding (atmo-p2p's sans-IO codec) of arbitrary bytes, with and
//! without a length prefix. Invariants: no panic; on `Ok`, the message re-encodes to
//! bytes that decode to the same message (what atmo writes, atmo reads), and every
//! block's CID (when its prefix is verifiable) matches its bytes.
#![no_main]

use atmo_p2p::message::{Message, read_length_prefix};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(Some((len, at))) = read_length_prefix(data) {
        assert!(at <= 9);
        if let Some(body) = usize::try_from(len)
            .ok()
            .and_then(|l| data.get(at..at.checked_add(l)?))
        {
            let _ = Message::decode(body);
        }
    }
    let Ok(msg) = Message::decode(data) else {
        return;
    };
    let again = Message::decode(&msg.encode()).expect("re-encoded message decodes");
    assert_eq!(again, msg);
    let framed = msg.to_frame();
    let (len, at) = read_length_prefix(&framed).unwrap().unwrap();
    assert_eq!(at + len as usize, framed.len());
    for b in &msg.blocks {
        if let Some(cid) = b.cid() {
            assert!(cid.verify(&b.data));
        }
    }
});
