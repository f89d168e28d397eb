//! Blob uploads (bytes, files, streams) and the image facts a post embeds: type and
//! dimensions, read from the file's own header.

use std::path::Path;

use atmo_api::com_atproto::repo::upload_blob;
use atmo_data::Blob;
use atmo_xrpc::BinaryInput;
use bytes::Bytes;

use super::Agent;
use crate::error::{Error, Result};

/// The largest file [`Agent::upload_blob_file`] reads into memory (100 MiB); stream
/// bigger ones with [`Agent::upload_blob_stream`].
pub const MAX_FILE_BLOB: u64 = 100 * 1024 * 1024;

/// An image's type and size in pixels, from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    /// `image/png`, `image/jpeg`, `image/gif` or `image/webp`.
    pub mime_type: &'static str,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn le16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 3)?;
    Some(u32::from(s[0]) | u32::from(s[1]) << 8 | u32::from(s[2]) << 16)
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl ImageInfo {
    /// Recognises a PNG, JPEG, GIF or WebP image by its header and reads its size;
    /// `None` for anything else (or a header too damaged to give a size).
    ///
    /// ```
    /// use atmo::agent::ImageInfo;
    /// // A 1 x 1 GIF.
    /// let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00";
    /// let info = ImageInfo::sniff(gif).expect("a GIF");
    /// assert_eq!((info.mime_type, info.width, info.height), ("image/gif", 1, 1));
    /// assert!(ImageInfo::sniff(b"hello").is_none());
    /// ```
    #[must_use]
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        let info = |mime_type, width, height| {
            (width > 0 && height > 0).then_some(Self {
                mime_type,
                width,
                height,
            })
        };
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.get(12..16) == Some(b"IHDR") {
            return info("image/png", be32(bytes, 16)?, be32(bytes, 20)?);
        }
        if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            return info("image/gif", le16(bytes, 6)?, le16(bytes, 8)?);
        }
        if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
            let (w, h) = match bytes.get(12..16)? {
                b"VP8 " if bytes.get(23..26) == Some(&[0x9d, 0x01, 0x2a]) => {
                    (le16(bytes, 26)? & 0x3fff, le16(bytes, 28)? & 0x3fff)
                }
                b"VP8L" if bytes.get(20) == Some(&0x2f) => {
                    let b = bytes.get(21..25)?;
                    let bits = u32::from_le_bytes(b.try_into().ok()?);
                    ((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1)
                }
                b"VP8X" => (le24(bytes, 24)? + 1, le24(bytes, 27)? + 1),
                _ => return None,
            };
            return info("image/webp", w, h);
        }
        if bytes.starts_with(&[0xff, 0xd8]) {
            return Self::jpeg(bytes);
        }
        None
    }

    /// Walks the JPEG segments to the first start-of-frame marker.
    fn jpeg(b: &[u8]) -> Option<Self> {
        let mut at = 2;
        loop {
            // Markers may be padded with 0xff.
            while b.get(at) == Some(&0xff) && b.get(at + 1) == Some(&0xff) {
                at += 1;
            }
            if *b.get(at)? != 0xff {
                return None;
            }
            let marker = *b.get(at + 1)?;
            let len = usize::try_from(be16(b, at + 2)?).ok()?;
            let is_sof = matches!(marker, 0xc0..=0xcf) && !matches!(marker, 0xc4 | 0xc8 | 0xcc);
            if is_sof {
                let height = be16(b, at + 5)?;
                let width = be16(b, at + 7)?;
                return (width > 0 && height > 0).then_some(Self {
                    mime_type: "image/jpeg",
                    width,
                    height,
                });
            }
            if len < 2 {
                return None;
            }
            at = at.checked_add(2 + len)?;
        }
    }
}

/// Reads a whole file, at most `max` bytes.
pub(crate) async fn read_file(path: &Path, max: u64) -> Result<Bytes> {
    use tokio::io::AsyncReadExt as _;
    let io = |e: std::io::Error| Error::Io {
        path: path.to_owned(),
        kind: e.kind(),
    };
    let file = tokio::fs::File::open(path).await.map_err(io)?;
    let mut buf = Vec::new();
    file.take(max + 1).read_to_end(&mut buf).await.map_err(io)?;
    if buf.len() as u64 > max {
        return Err(Error::Io {
            path: path.to_owned(),
            kind: std::io::ErrorKind::FileTooLarge,
        });
    }
    Ok(Bytes::from(buf))
}

impl Agent {
    /// Uploads bytes as a blob of this MIME type; returns the reference to put in a
    /// record (the PDS deletes a blob no record references within a few minutes).
    ///
    /// # Errors
    ///
    /// [`Error::NotSignedIn`]; [`Error::Xrpc`] when the PDS refuses (too large...).
    pub async fn upload_blob(&self, bytes: impl Into<Bytes>, mime_type: &str) -> Result<Blob> {
        self.require_did()?;
        let body = BinaryInput::new(bytes).content_type(mime_type);
        let out = self
            .client()
            .call((upload_blob::UploadBlob, body))
            .await
            .map_err(|e| Error::from_call(upload_blob::NSID, e))?;
        Ok(out.blob)
    }

    /// Uploads a file (at most [`MAX_FILE_BLOB`] bytes); the MIME type is the image type
    /// its header shows, else `application/octet-stream`. Returns the blob and, for an
    /// image, its type and size.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be read (`FileTooLarge` past the cap); as
    /// [`Agent::upload_blob`].
    pub async fn upload_blob_file(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<(Blob, Option<ImageInfo>)> {
        let bytes = read_file(path.as_ref(), MAX_FILE_BLOB).await?;
        let info = ImageInfo::sniff(&bytes);
        let mime = info.map_or("application/octet-stream", |i| i.mime_type);
        Ok((self.upload_blob(bytes, mime).await?, info))
    }

    /// Uploads a blob streamed from a reader (`len`, when known, is sent as
    /// `Content-Length`), without holding it in memory.
    ///
    /// # Errors
    ///
    /// As [`Agent::upload_blob`]; a read failure is [`Error::Xrpc`] (`Transport`).
    pub async fn upload_blob_stream<R>(
        &self,
        reader: R,
        mime_type: &str,
        len: Option<u64>,
    ) -> Result<Blob>
    where
        R: tokio::io::AsyncRead + Send + 'static,
    {
        self.require_did()?;
        Ok(self
            .client()
            .upload_blob_reader(reader, mime_type, len)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::ImageInfo;

    #[test]
    fn sniffs_the_four_formats() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&640u32.to_be_bytes());
        png.extend_from_slice(&480u32.to_be_bytes());
        assert_eq!(
            ImageInfo::sniff(&png).map(|i| (i.width, i.height)),
            Some((640, 480))
        );

        // SOI, an APP0 segment of 16 bytes, then SOF0 with height 20 and width 30.
        let mut jpeg = vec![0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10];
        jpeg.extend_from_slice(&[0; 14]);
        jpeg.extend_from_slice(&[0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x14, 0x00, 0x1e]);
        let j = ImageInfo::sniff(&jpeg).expect("jpeg");
        assert_eq!((j.mime_type, j.width, j.height), ("image/jpeg", 30, 20));

        let mut webp = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
        webp.extend_from_slice(&[99, 0, 0, 49, 0, 0]);
        let w = ImageInfo::sniff(&webp).expect("webp");
        assert_eq!((w.mime_type, w.width, w.height), ("image/webp", 100, 50));
    }

    #[test]
    fn damaged_or_foreign_bytes_are_not_images() {
        for bad in [
            &b""[..],
            b"\xff\xd8",
            b"\xff\xd8\xff\xe0\x00\x00",
            b"\xff\xd8\xff\xe0\xff\xff",
            b"GIF89a\x00\x00\x01\x00",
            b"\x89PNG\r\n\x1a\n",
            b"RIFF\0\0\0\0WEBPVP8 ",
            b"%PDF-1.7",
        ] {
            assert_eq!(ImageInfo::sniff(bad), None, "{bad:?}");
        }
        // Every cut-short header is refused (and never a panic); the whole one is read.
        let jpeg = [
            0xffu8, 0xd8, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x14, 0x00, 0x1e,
        ];
        for n in 0..jpeg.len() {
            assert_eq!(ImageInfo::sniff(&jpeg[..n]), None, "{n} bytes");
        }
        assert!(ImageInfo::sniff(&jpeg).is_some());
    }
}
