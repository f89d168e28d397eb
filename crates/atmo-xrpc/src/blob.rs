//! Blob download as a stream with the CID checked at the end, and streamed upload.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};

use atmo_data::Cid;

use atmo_http::Body;

use crate::error::{Error, Result};

/// A downloaded body as a stream of chunks. When made for a CID (a blob), the bytes are
/// hashed as they pass and the last item is [`Error::CidMismatch`] if they do not match;
/// bytes past the size cap end the stream with [`Error::TooLarge`].
pub struct BlobStream {
    inner: Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>,
    content_length: Option<u64>,
}

impl std::fmt::Debug for BlobStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStream")
            .field("content_length", &self.content_length)
            .finish_non_exhaustive()
    }
}

struct State {
    body: Body,
    hasher: Option<(Sha256, Cid)>,
    idle: Duration,
    cap: u64,
    seen: u64,
    done: bool,
}

impl BlobStream {
    /// A stream over `body`; fails at once when the announced `content_length` is
    /// already past `cap`.
    pub(crate) fn new(
        body: Body,
        expected: Option<Cid>,
        idle: Duration,
        cap: u64,
        content_length: Option<u64>,
    ) -> Result<Self> {
        if content_length.is_some_and(|n| n > cap) {
            return Err(Error::TooLarge {
                limit: usize::try_from(cap).unwrap_or(usize::MAX),
            });
        }
        let st = State {
            body,
            hasher: expected.map(|c| (Sha256::new(), c)),
            idle,
            cap,
            seen: 0,
            done: false,
        };
        let s = futures_util::stream::unfold(st, |mut st| async move {
            if st.done {
                return None;
            }
            loop {
                let frame = match tokio::time::timeout(st.idle, st.body.frame()).await {
                    Err(_) => {
                        st.done = true;
                        let e = atmo_http::Error::Timeout {
                            url: "download".into(),
                            what: "next chunk",
                            after: st.idle,
                        };
                        return Some((Err(e.into()), st));
                    }
                    Ok(f) => f,
                };
                match frame {
                    None => {
                        st.done = true;
                        let (hasher, expected) = st.hasher.take()?;
                        let digest = hasher.finalize();
                        let actual = Cid::new(expected.codec(), atmo_data::cid::SHA2_256, &digest)?;
                        if actual == expected {
                            return None;
                        }
                        let e = Error::CidMismatch {
                            expected: expected.to_string(),
                            actual: actual.to_string(),
                        };
                        return Some((Err(e), st));
                    }
                    Some(Err(e)) => {
                        st.done = true;
                        return Some((Err(e.into()), st));
                    }
                    Some(Ok(frame)) => {
                        let Ok(data) = frame.into_data() else {
                            continue;
                        };
                        st.seen = st.seen.saturating_add(data.len() as u64);
                        if st.seen > st.cap {
                            st.done = true;
                            let limit = usize::try_from(st.cap).unwrap_or(usize::MAX);
                            return Some((Err(Error::TooLarge { limit }), st));
                        }
                        if let Some((h, _)) = st.hasher.as_mut() {
                            h.update(&data);
                        }
                        return Some((Ok(data), st));
                    }
                }
            }
        });
        Ok(Self {
            inner: Box::pin(s),
            content_length,
        })
    }

    /// The size the server announced (`Content-Length`), if it did: for progress
    /// displays; the stream itself is still bounded by the client's download cap.
    #[must_use]
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// Reads the whole stream into memory (the CID is checked at the end).
    ///
    /// # Errors
    ///
    /// The first error of the stream.
    pub async fn to_vec(mut self) -> Result<Vec<u8>> {
        use futures_util::StreamExt as _;
        let mut out = Vec::new();
        while let Some(chunk) = self.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    /// Writes the whole stream to `w`; returns the byte count. With a CID the bytes are
    /// all written before the check fails: write to a temporary file and rename it.
    ///
    /// # Errors
    ///
    /// The first error of the stream, or a write failure (as [`Error::Transport`] of
    /// kind `Body`).
    pub async fn write_to<W: tokio::io::AsyncWrite + Unpin>(mut self, w: &mut W) -> Result<u64> {
        use futures_util::StreamExt as _;
        use tokio::io::AsyncWriteExt as _;
        let mut n = 0u64;
        while let Some(chunk) = self.next().await {
            let chunk = chunk?;
            w.write_all(&chunk).await.map_err(|e| Error::Write {
                kind: e.kind(),
                message: e.to_string(),
            })?;
            n += chunk.len() as u64;
        }
        w.flush().await.map_err(|e| Error::Write {
            kind: e.kind(),
            message: e.to_string(),
        })?;
        Ok(n)
    }
}

impl Stream for BlobStream {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// A request body read from an `AsyncRead` in 64 KiB chunks.
pub(crate) fn reader_body(reader: Pin<Box<dyn tokio::io::AsyncRead + Send>>) -> Body {
    use tokio::io::AsyncReadExt as _;
    let s = futures_util::stream::unfold(Some(reader), |r| async move {
        let mut r = r?;
        let mut buf = vec![0u8; 64 * 1024];
        match r.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(http_body::Frame::data(Bytes::from(buf))), Some(r)))
            }
            Err(e) => Some((
                Err(atmo_http::Error::Body {
                    kind: e.kind(),
                    message: e.to_string(),
                }),
                None,
            )),
        }
    });
    http_body_util::StreamBody::new(s).boxed_unsync()
}
