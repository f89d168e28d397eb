//! The async streaming CAR reader (feature `async`) against the sync one: the same blocks
//! from every committed fixture, and the same typed errors (at the same offsets) on
//! truncated, oversized, mis-hashed and otherwise broken input, whatever the chunking of
//! the underlying reader.
#![cfg(feature = "async")]

mod common;

use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use atmo_data::Cid;
use atmo_repo::CarError;
use atmo_repo::car::{AsyncCarReader, CarLimits, CarReader, write_car};
use common::fixture;
use tokio::io::{AsyncRead, ReadBuf};

/// Runs a future to completion by polling it; the readers below wake themselves.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// An `AsyncRead` that hands out at most `chunk` bytes per read, returns `Pending` before
/// every other read, and fails with `fail` (if any) once `data` is exhausted.
struct Trickle<'a> {
    data: &'a [u8],
    chunk: usize,
    pending: bool,
    fail: Option<io::ErrorKind>,
}

impl AsyncRead for Trickle<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.pending = !self.pending;
        if self.pending {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if self.data.is_empty() {
            if let Some(kind) = self.fail {
                return Poll::Ready(Err(io::Error::new(kind, "boom")));
            }
        }
        let n = self.chunk.min(self.data.len()).min(buf.remaining());
        buf.put_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Poll::Ready(Ok(()))
    }
}

type Outcome = (Vec<Cid>, Vec<(Cid, Vec<u8>)>, Option<CarError>);

fn sync_read(bytes: &[u8], limits: CarLimits, trust: bool) -> Result<Outcome, CarError> {
    let mut r = CarReader::with_limits(bytes, limits)?;
    if trust {
        r = r.trust_hashes();
    }
    let roots = r.roots().to_vec();
    let mut blocks = Vec::new();
    for b in r {
        match b {
            Ok((c, d)) => blocks.push((c, d.to_vec())),
            Err(e) => return Ok((roots, blocks, Some(e))),
        }
    }
    Ok((roots, blocks, None))
}

async fn async_read<R: AsyncRead + Unpin>(
    input: R,
    limits: CarLimits,
    trust: bool,
) -> Result<Outcome, CarError> {
    let mut r = AsyncCarReader::with_limits(input, limits).await?;
    if trust {
        r = r.trust_hashes();
    }
    let roots = r.roots().to_vec();
    let mut blocks = Vec::new();
    loop {
        match r.next_block().await {
            Ok(Some((c, d))) => blocks.push((c, d.to_vec())),
            Ok(None) => return Ok((roots, blocks, None)),
            Err(e) => {
                // The first error ends the stream.
                assert_eq!(r.next_block().await, Ok(None));
                return Ok((roots, blocks, Some(e)));
            }
        }
    }
}

/// Reads `bytes` with the sync reader and the async one (whole slice, and trickled in
/// chunks of several sizes) and asserts identical outcomes; returns the outcome.
fn same(bytes: &[u8], limits: CarLimits, trust: bool) -> Result<Outcome, CarError> {
    let want = sync_read(bytes, limits, trust);
    assert_eq!(block_on(async_read(bytes, limits, trust)), want);
    for chunk in [1, 7, 4096] {
        let t = Trickle {
            data: bytes,
            chunk,
            pending: false,
            fail: None,
        };
        assert_eq!(
            block_on(async_read(t, limits, trust)),
            want,
            "chunk {chunk}"
        );
    }
    want
}

const FIXTURES: &[&str] = &[
    "oracle-k256.car",
    "oracle-p256.car",
    "refpds-small.car",
    "refpds-medium.car",
];

#[test]
fn fixtures_give_the_same_blocks() {
    for name in FIXTURES {
        let car = std::fs::read(fixture(name)).unwrap();
        let (roots, blocks, err) = same(&car, CarLimits::DEFAULT, false).unwrap();
        assert_eq!(err, None, "{name}");
        assert_eq!(roots.len(), 1);
        assert!(blocks.len() > 5, "{name}: {} blocks", blocks.len());
        same(&car, CarLimits::DEFAULT, true).unwrap();
    }
}

#[test]
fn every_truncation_gives_the_same_error() {
    let car = std::fs::read(fixture("refpds-small.car")).unwrap();
    let mut truncated = 0;
    for cut in 0..car.len() {
        match same(&car[..cut], CarLimits::DEFAULT, false) {
            Err(CarError::Truncated { .. }) | Ok((_, _, Some(CarError::Truncated { .. }))) => {
                truncated += 1
            }
            // A cut between two sections is a valid, shorter CAR.
            Ok((_, _, None)) => {}
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
    assert!(truncated > car.len() / 2, "{truncated}");
}

#[test]
fn bad_hashes_and_corruption_give_the_same_error() {
    let car = std::fs::read(fixture("refpds-small.car")).unwrap();
    let mut mismatches = 0;
    // Flip one bit at many offsets: header, varints, CIDs and block data all get hit.
    for at in (0..car.len()).step_by(3) {
        let mut bad = car.clone();
        bad[at] ^= 0x10;
        if let Ok((_, _, Some(CarError::HashMismatch { .. }))) =
            same(&bad, CarLimits::DEFAULT, false)
        {
            mismatches += 1;
        }
        same(&bad, CarLimits::DEFAULT, true).ok();
    }
    assert!(mismatches > 100, "{mismatches}");
}

#[test]
fn limits_give_the_same_error() {
    let car = std::fs::read(fixture("refpds-medium.car")).unwrap();
    let cases = [
        CarLimits::DEFAULT.with_max_block_len(100),
        CarLimits::DEFAULT.with_max_blocks(10),
        CarLimits::DEFAULT.with_max_header_len(20),
        CarLimits::DEFAULT.with_max_roots(0),
        CarLimits::DEFAULT.with_max_varint_len(1),
    ];
    for limits in cases {
        let got = same(&car, limits, false);
        assert!(
            matches!(
                got,
                Err(CarError::HeaderTooLong { .. } | CarError::TooManyRoots { .. })
                    | Ok((
                        _,
                        _,
                        Some(
                            CarError::BlockTooLong { .. }
                                | CarError::TooManyBlocks { .. }
                                | CarError::VarintTooLong { .. }
                        )
                    ))
            ),
            "{limits:?}: {got:?}"
        );
    }
}

#[test]
fn oversized_declared_lengths_are_rejected_before_reading() {
    let cid = Cid::for_raw(b"x");
    let mut car = write_car(&[cid], []);
    // A section declaring 2^40 bytes, and a header declaring 2^40 bytes, with nothing
    // after: rejected by the limit, not by running out of input.
    car.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
    assert!(matches!(
        same(&car, CarLimits::DEFAULT, false),
        Ok((_, _, Some(CarError::BlockTooLong { len, .. }))) if len == 1 << 40
    ));
    assert!(matches!(
        same(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x20], CarLimits::DEFAULT, false),
        Err(CarError::HeaderTooLong { len, .. }) if len == 1 << 40
    ));
    // A non-minimal varint and an empty section.
    let mut nm = write_car(&[cid], []);
    nm.extend_from_slice(&[0x81, 0x00]);
    assert!(matches!(
        same(&nm, CarLimits::DEFAULT, false),
        Ok((_, _, Some(CarError::VarintNotMinimal { .. })))
    ));
    let mut empty = write_car(&[cid], []);
    empty.push(0);
    assert!(matches!(
        same(&empty, CarLimits::DEFAULT, false),
        Ok((_, _, Some(CarError::EmptySection { .. })))
    ));
}

#[test]
fn io_errors_are_typed() {
    let car = std::fs::read(fixture("refpds-small.car")).unwrap();
    let cut = &car[..car.len() / 2];
    let t = Trickle {
        data: cut,
        chunk: 100,
        pending: false,
        fail: Some(io::ErrorKind::ConnectionReset),
    };
    let (_, blocks, err) = block_on(async_read(t, CarLimits::DEFAULT, false)).unwrap();
    assert!(!blocks.is_empty());
    assert_eq!(
        err,
        Some(CarError::Io {
            at: cut.len(),
            kind: io::ErrorKind::ConnectionReset
        })
    );
}
