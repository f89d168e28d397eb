//! Streamed transfers that typed calls cannot do (they read the whole body): blob
//! download with the CID check (`com.atproto.sync.getBlob`), repository download
//! (`com.atproto.sync.getRepo`) and blob upload from a reader
//! (`com.atproto.repo.uploadBlob`).
//!
//! Every other `com.atproto` call is a typed call of atmo-api (`Client::call`).

use std::pin::Pin;

use atmo_data::{Blob, Cid};
use atmo_syntax::{Did, Tid};

use crate::blob::{BlobStream, reader_body};
use crate::client::{AuthMode, Client};
use crate::error::{Error, Result};
use crate::request::XrpcRequest;

impl Client {
    /// `com.atproto.repo.uploadBlob` streamed from a reader (`len`, when known, is sent
    /// as `Content-Length`); returns the blob reference to put in a record. A streamed
    /// body cannot be sent twice, so an expired access token is refreshed first only if
    /// the service says so: retry the call then. (For bytes already in memory, the typed
    /// call of atmo-api's `upload_blob` does the same.)
    ///
    /// # Errors
    ///
    /// [`Error::NoSession`] without a session; as [`Client::send`]; a read failure is
    /// [`Error::Transport`] (`Body`).
    pub async fn upload_blob_reader<R>(
        &self,
        reader: R,
        mime_type: &str,
        len: Option<u64>,
    ) -> Result<Blob>
    where
        R: tokio::io::AsyncRead + Send + 'static,
    {
        self.upload_boxed(Box::pin(reader), mime_type, len).await
    }

    async fn upload_boxed(
        &self,
        reader: Pin<Box<dyn tokio::io::AsyncRead + Send>>,
        mime_type: &str,
        len: Option<u64>,
    ) -> Result<Blob> {
        let req = XrpcRequest::procedure("com.atproto.repo.uploadBlob")?;
        let (mut parts, ()) = req
            .to_http_at(self.service_url(), None)?
            .map(drop)
            .into_parts();
        let h = &mut parts.headers;
        h.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_str(mime_type)
                .map_err(|_| Error::Request(format!("bad MIME type {mime_type:?}")))?,
        );
        if let Some(n) = len {
            h.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(n));
        }
        let http_req = http::Request::from_parts(parts, reader_body(reader));
        let deadline = std::time::Instant::now() + self.timeout();
        let (head, body) = self
            .call_streaming(&req.nsid, http_req, AuthMode::Required)
            .await?;
        let bytes = self.collect(body, self.max_body(), deadline).await?;
        let res = crate::response::XrpcResponse {
            status: head.status.as_u16(),
            headers: head.headers,
            body: bytes,
        };
        blob_of(&res.value()?)
    }

    /// `com.atproto.sync.getBlob` as a stream whose bytes are checked against `cid`.
    ///
    /// # Errors
    ///
    /// As [`Client::send`] for the response head; the stream ends with
    /// [`Error::CidMismatch`] if the bytes do not hash to `cid`.
    pub async fn get_blob(&self, did: &Did, cid: &Cid) -> Result<BlobStream> {
        if cid.hash_code() != atmo_data::cid::SHA2_256 {
            return Err(Error::Request(format!(
                "{cid}: only sha2-256 CIDs can be checked"
            )));
        }
        let req = XrpcRequest::query("com.atproto.sync.getBlob")?
            .param("did", did.as_str())
            .param("cid", cid);
        let (head, body) = self.call_head(&req, AuthMode::IfAny).await?;
        BlobStream::new(
            body,
            Some(*cid),
            self.timeout(),
            self.max_blob_download(),
            content_length(&head.headers),
        )
    }

    /// `com.atproto.sync.getRepo`: the repository as a CAR byte stream (check it with
    /// atmo-repo); with `since`, only what changed after that revision.
    ///
    /// # Errors
    ///
    /// As [`Client::send`] for the response head.
    pub async fn get_repo(&self, did: &Did, since: Option<&Tid>) -> Result<BlobStream> {
        let req = XrpcRequest::query("com.atproto.sync.getRepo")?
            .param("did", did.as_str())
            .param_opt("since", since.map(Tid::as_str));
        let (head, body) = self.call_head(&req, AuthMode::IfAny).await?;
        BlobStream::new(
            body,
            None,
            self.timeout(),
            self.max_repo_download(),
            content_length(&head.headers),
        )
    }
}

/// The `Content-Length` header, when present and a number.
pub(crate) fn content_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn blob_of(v: &atmo_data::Value) -> Result<Blob> {
    let b = v.get("blob").ok_or_else(|| Error::Decode {
        what: "uploadBlob".into(),
        message: "no field \"blob\"".into(),
    })?;
    Blob::from_value(b).map_err(|e| Error::Decode {
        what: "uploadBlob".into(),
        message: e.to_string(),
    })
}
