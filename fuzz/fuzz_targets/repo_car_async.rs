//! The async streaming CAR reader (`car::AsyncCarReader`) against the sync slice reader,
//! on arbitrary bytes handed out by a reader in chunks whose size comes from the input,
//! which now and then answers "not ready" first, and with limits taken from the input.
//! Invariants: no panic; the async reader gives exactly the sync reader's header verdict,
//! roots, blocks (same CIDs and bytes), positions after each block and first error (with
//! the same byte offsets), for any chunking; with hash checks on, every block hashes to
//! its CID; after an error it only says `Ok(None)`.
#![no_main]

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use atmo_data::Cid;
use atmo_repo::CarError;
use atmo_repo::car::{AsyncCarReader, CarLimits, CarReader};
use tokio::io::{AsyncRead, ReadBuf};

/// Hands out `data` at most `chunk` bytes at a time; every `pending_every`-th poll (when
/// not 0) is `Pending` (waking itself at once).
struct Chunked<'a> {
    data: &'a [u8],
    chunk: usize,
    pending_every: u8,
    polls: u8,
}

impl AsyncRead for Chunked<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pending_every != 0 {
            this.polls = this.polls.wrapping_add(1);
            if this.polls % this.pending_every == 0 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
        let n = this.chunk.min(this.data.len()).min(buf.remaining());
        let (head, tail) = this.data.split_at(n);
        buf.put_slice(head);
        this.data = tail;
        Poll::Ready(Ok(()))
    }
}

/// Polls a future to completion (the readers here never wait for anything outside).
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// What a reader saw: roots, then each block with the position after it, then the first
/// error (if any).
type Seen = Result<(Vec<Cid>, Vec<(Cid, Vec<u8>, usize)>, Option<CarError>), CarError>;

fn sync_read(data: &[u8], limits: CarLimits, trust: bool) -> Seen {
    let mut r = CarReader::with_limits(data, limits)?;
    if trust {
        r = r.trust_hashes();
    }
    let roots = r.roots().to_vec();
    let mut blocks = Vec::new();
    loop {
        match r.next() {
            None => return Ok((roots, blocks, None)),
            Some(Ok((cid, bytes))) => blocks.push((cid, bytes.to_vec(), r.position())),
            Some(Err(e)) => return Ok((roots, blocks, Some(e))),
        }
    }
}

fn async_read(input: Chunked<'_>, limits: CarLimits, trust: bool) -> Seen {
    block_on(async {
        let mut r = AsyncCarReader::with_limits(input, limits).await?;
        if trust {
            r = r.trust_hashes();
        }
        let roots = r.roots().to_vec();
        let mut blocks = Vec::new();
        loop {
            match r.next_block().await {
                Ok(None) => return Ok((roots, blocks, None)),
                Ok(Some((cid, bytes))) => {
                    let bytes = bytes.to_vec();
                    blocks.push((cid, bytes, r.position()));
                }
                Err(e) => {
                    assert_eq!(r.next_block().await, Ok(None), "after an error");
                    return Ok((roots, blocks, Some(e)));
                }
            }
        }
    })
}

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    let Some((&[shape, limit, chunk], data)) = input.split_first_chunk::<3>() else {
        return;
    };
    let trust = shape & 1 != 0;
    let mut limits = CarLimits::DEFAULT;
    if shape & 2 != 0 {
        limits = limits.with_max_block_len(usize::from(limit) * 8);
    }
    if shape & 4 != 0 {
        limits = limits.with_max_blocks(usize::from(limit % 16));
    }
    if shape & 8 != 0 {
        limits = limits.with_max_roots(usize::from(limit % 4));
    }
    if shape & 16 != 0 {
        limits = limits.with_max_header_len(usize::from(limit));
    }
    if shape & 32 != 0 {
        limits = limits.with_max_varint_len(usize::from(limit % 11));
    }
    let reader = Chunked {
        data,
        chunk: usize::from(chunk).max(1) * if shape & 64 != 0 { 997 } else { 1 },
        pending_every: if shape & 128 != 0 { chunk % 7 + 2 } else { 0 },
        polls: 0,
    };
    let want = sync_read(data, limits, trust);
    let got = async_read(reader, limits, trust);
    assert_eq!(got, want);
    if let Ok((_, blocks, _)) = &want {
        if !trust {
            for (cid, bytes, _) in blocks {
                assert!(cid.verify(bytes));
            }
        }
    }
});
