//! Record, blob and repository helpers (`com.atproto.repo.*`, `com.atproto.sync.*`).

use std::pin::Pin;

use bytes::Bytes;
use futures_util::Stream;

use atmo_data::{Blob, Cid, Value};

use crate::blob::{BlobStream, reader_body};
use crate::client::{AuthMode, Client};
use crate::error::{Error, Result};
use crate::pagination::{Page, paginate};
use crate::request::{RequestBody, XrpcRequest};

/// A record as read: its AT-URI, CID and value.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordOutput {
    /// `at://did/collection/rkey`.
    pub uri: String,
    /// The record's CID (always set by listRecords; getRecord may leave it out).
    pub cid: Option<String>,
    /// The record.
    pub value: Value,
}

/// A record as listed by `listRecords` (the same shape as [`RecordOutput`]).
pub type ListedRecord = RecordOutput;

/// A record as written: its AT-URI and CID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedRecord {
    /// `at://did/collection/rkey`.
    pub uri: String,
    /// The new record's CID.
    pub cid: String,
}

/// A reference to an uploaded blob (re-exported from atmo-data).
pub type BlobRef = Blob;

/// One write of `applyWrites`.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    /// Create a record (a TID key when `rkey` is `None`).
    Create {
        /// The collection NSID.
        collection: String,
        /// The record key.
        rkey: Option<String>,
        /// The record.
        value: Value,
    },
    /// Create or replace a record.
    Update {
        /// The collection NSID.
        collection: String,
        /// The record key.
        rkey: String,
        /// The record.
        value: Value,
    },
    /// Delete a record.
    Delete {
        /// The collection NSID.
        collection: String,
        /// The record key.
        rkey: String,
    },
}

impl WriteOp {
    fn to_value(&self) -> Value {
        let mut m = atmo_data::Map::new();
        let s = |x: &str| Value::from(x.to_owned());
        match self {
            Self::Create {
                collection,
                rkey,
                value,
            } => {
                m.insert("$type", s("com.atproto.repo.applyWrites#create"));
                m.insert("collection", s(collection));
                if let Some(r) = rkey {
                    m.insert("rkey", s(r));
                }
                m.insert("value", value.clone());
            }
            Self::Update {
                collection,
                rkey,
                value,
            } => {
                m.insert("$type", s("com.atproto.repo.applyWrites#update"));
                m.insert("collection", s(collection));
                m.insert("rkey", s(rkey));
                m.insert("value", value.clone());
            }
            Self::Delete { collection, rkey } => {
                m.insert("$type", s("com.atproto.repo.applyWrites#delete"));
                m.insert("collection", s(collection));
                m.insert("rkey", s(rkey));
            }
        }
        Value::Map(m)
    }
}

fn field_str(v: &Value, key: &str, what: &str) -> Result<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Error::Decode {
            what: what.to_owned(),
            message: format!("no string field {key:?}"),
        })
}

fn record_of(v: &Value, what: &str) -> Result<RecordOutput> {
    Ok(RecordOutput {
        uri: field_str(v, "uri", what)?,
        cid: v.get("cid").and_then(Value::as_str).map(str::to_owned),
        value: v.get("value").cloned().ok_or_else(|| Error::Decode {
            what: what.to_owned(),
            message: "no field \"value\"".into(),
        })?,
    })
}

fn created_of(v: &Value, what: &str) -> Result<CreatedRecord> {
    Ok(CreatedRecord {
        uri: field_str(v, "uri", what)?,
        cid: field_str(v, "cid", what)?,
    })
}

impl Client {
    async fn session_did(&self) -> Result<String> {
        self.auth()
            .account_did()
            .map(String::from)
            .ok_or(Error::NoSession)
    }

    /// `com.atproto.repo.getRecord`.
    ///
    /// # Errors
    ///
    /// [`Error::Xrpc`] with [`crate::XrpcError::is_not_found`] for a missing record.
    pub async fn get_record(
        &self,
        repo: &str,
        collection: &str,
        rkey: &str,
        cid: Option<&str>,
    ) -> Result<RecordOutput> {
        let req = XrpcRequest::query("com.atproto.repo.getRecord")?
            .param("repo", repo)
            .param("collection", collection)
            .param("rkey", rkey)
            .param_opt("cid", cid);
        record_of(&self.send(&req).await?.value()?, "getRecord")
    }

    /// One page of `com.atproto.repo.listRecords`.
    ///
    /// # Errors
    ///
    /// As [`Client::send`].
    pub async fn list_records_page(
        &self,
        repo: &str,
        collection: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<RecordOutput>> {
        let req = XrpcRequest::query("com.atproto.repo.listRecords")?
            .param("repo", repo)
            .param("collection", collection)
            .param_opt("limit", limit)
            .param_opt("cursor", cursor);
        let v = self.send(&req).await?.value()?;
        let items = v
            .get("records")
            .and_then(Value::as_array)
            .unwrap_or_default()
            .iter()
            .map(|r| record_of(r, "listRecords"))
            .collect::<Result<Vec<_>>>()?;
        let cursor = v.get("cursor").and_then(Value::as_str).map(str::to_owned);
        Ok(Page { items, cursor })
    }

    /// Every record of a collection, page by page (`page_size` per request).
    pub fn list_records(
        &self,
        repo: &str,
        collection: &str,
        page_size: Option<u32>,
    ) -> impl Stream<Item = Result<RecordOutput>> + Send + 'static {
        let (client, repo, collection) = (self.clone(), repo.to_owned(), collection.to_owned());
        paginate(move |cursor| {
            let (client, repo, collection) = (client.clone(), repo.clone(), collection.clone());
            async move {
                client
                    .list_records_page(&repo, &collection, page_size, cursor.as_deref())
                    .await
            }
        })
    }

    /// `com.atproto.repo.createRecord` in the session's repo.
    ///
    /// # Errors
    ///
    /// [`Error::NoSession`] without a session; as [`Client::send`].
    pub async fn create_record(
        &self,
        collection: &str,
        rkey: Option<&str>,
        record: &Value,
    ) -> Result<CreatedRecord> {
        let mut body = atmo_data::Map::new();
        body.insert("repo", Value::from(self.session_did().await?));
        body.insert("collection", Value::from(collection.to_owned()));
        if let Some(r) = rkey {
            body.insert("rkey", Value::from(r.to_owned()));
        }
        body.insert("record", record.clone());
        let req = XrpcRequest::procedure("com.atproto.repo.createRecord")?
            .body(RequestBody::value(&Value::Map(body)));
        created_of(&self.send_authed(&req).await?.value()?, "createRecord")
    }

    /// `com.atproto.repo.putRecord` in the session's repo; with `swap_record`, only if
    /// the current record has that CID (else [`crate::XrpcError::is_invalid_swap`]).
    ///
    /// # Errors
    ///
    /// As [`Client::create_record`].
    pub async fn put_record(
        &self,
        collection: &str,
        rkey: &str,
        record: &Value,
        swap_record: Option<&str>,
    ) -> Result<CreatedRecord> {
        let swap = swap_record.map(|s| Value::from(s.to_owned()));
        self.put_record_swap(collection, rkey, record, swap).await
    }

    /// `com.atproto.repo.putRecord` with `swapRecord: null`: writes only if there is no
    /// record at that key yet (else [`crate::XrpcError::is_invalid_swap`]). Unlike
    /// [`Client::create_record`], the record key is the caller's and an existing record
    /// is never replaced.
    ///
    /// # Errors
    ///
    /// As [`Client::create_record`].
    pub async fn put_record_if_absent(
        &self,
        collection: &str,
        rkey: &str,
        record: &Value,
    ) -> Result<CreatedRecord> {
        self.put_record_swap(collection, rkey, record, Some(Value::Null))
            .await
    }

    async fn put_record_swap(
        &self,
        collection: &str,
        rkey: &str,
        record: &Value,
        swap: Option<Value>,
    ) -> Result<CreatedRecord> {
        let mut body = atmo_data::Map::new();
        body.insert("repo", Value::from(self.session_did().await?));
        body.insert("collection", Value::from(collection.to_owned()));
        body.insert("rkey", Value::from(rkey.to_owned()));
        body.insert("record", record.clone());
        if let Some(s) = swap {
            body.insert("swapRecord", s);
        }
        let req = XrpcRequest::procedure("com.atproto.repo.putRecord")?
            .body(RequestBody::value(&Value::Map(body)));
        created_of(&self.send_authed(&req).await?.value()?, "putRecord")
    }

    /// `com.atproto.repo.deleteRecord` in the session's repo.
    ///
    /// # Errors
    ///
    /// As [`Client::create_record`].
    pub async fn delete_record(
        &self,
        collection: &str,
        rkey: &str,
        swap_record: Option<&str>,
    ) -> Result<()> {
        let mut body = atmo_data::Map::new();
        body.insert("repo", Value::from(self.session_did().await?));
        body.insert("collection", Value::from(collection.to_owned()));
        body.insert("rkey", Value::from(rkey.to_owned()));
        if let Some(s) = swap_record {
            body.insert("swapRecord", Value::from(s.to_owned()));
        }
        let req = XrpcRequest::procedure("com.atproto.repo.deleteRecord")?
            .body(RequestBody::value(&Value::Map(body)));
        self.send_authed(&req).await.map(drop)
    }

    /// `com.atproto.repo.applyWrites` in the session's repo (all or nothing); returns
    /// the response (`commit`, `results`).
    ///
    /// # Errors
    ///
    /// As [`Client::create_record`].
    pub async fn apply_writes(&self, writes: &[WriteOp]) -> Result<Value> {
        let mut body = atmo_data::Map::new();
        body.insert("repo", Value::from(self.session_did().await?));
        body.insert(
            "writes",
            Value::Array(writes.iter().map(WriteOp::to_value).collect()),
        );
        let req = XrpcRequest::procedure("com.atproto.repo.applyWrites")?
            .body(RequestBody::value(&Value::Map(body)));
        self.send_authed(&req).await?.value()
    }

    /// `com.atproto.repo.describeRepo`.
    ///
    /// # Errors
    ///
    /// As [`Client::send`].
    pub async fn describe_repo(&self, repo: &str) -> Result<Value> {
        let req = XrpcRequest::query("com.atproto.repo.describeRepo")?.param("repo", repo);
        self.send(&req).await?.value()
    }

    /// `com.atproto.repo.uploadBlob` from bytes; returns the blob reference to put in a
    /// record.
    ///
    /// # Errors
    ///
    /// As [`Client::create_record`].
    pub async fn upload_blob(&self, data: Bytes, mime_type: &str) -> Result<Blob> {
        let req = XrpcRequest::procedure("com.atproto.repo.uploadBlob")?.body(RequestBody::Bytes {
            content_type: mime_type.to_owned(),
            data,
        });
        blob_of(&self.send_authed(&req).await?.value()?)
    }

    /// `com.atproto.repo.uploadBlob` streamed from a reader (`len`, when known, is sent
    /// as `Content-Length`). A streamed body cannot be sent twice, so an expired access
    /// token is refreshed first only if the service says so: retry the call then.
    ///
    /// # Errors
    ///
    /// As [`Client::create_record`]; a read failure is [`Error::Transport`] (`Body`).
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
        let (mut parts, ()) = req.to_http(self.base(), None)?.map(drop).into_parts();
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
    pub async fn get_blob(&self, did: &str, cid: &Cid) -> Result<BlobStream> {
        if cid.hash_code() != atmo_data::cid::SHA2_256 {
            return Err(Error::Request(format!(
                "{cid}: only sha2-256 CIDs can be checked"
            )));
        }
        let req = XrpcRequest::query("com.atproto.sync.getBlob")?
            .param("did", did)
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
    /// atmo-repo).
    ///
    /// # Errors
    ///
    /// As [`Client::send`] for the response head.
    pub async fn get_repo(&self, did: &str, since: Option<&str>) -> Result<BlobStream> {
        let req = XrpcRequest::query("com.atproto.sync.getRepo")?
            .param("did", did)
            .param_opt("since", since);
        let (head, body) = self.call_head(&req, AuthMode::IfAny).await?;
        BlobStream::new(
            body,
            None,
            self.timeout(),
            self.max_repo_download(),
            content_length(&head.headers),
        )
    }

    /// One page of `com.atproto.sync.listRepos` (`{did, head, rev, active}` objects).
    ///
    /// # Errors
    ///
    /// As [`Client::send`].
    pub async fn list_repos_page(
        &self,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Value>> {
        let req = XrpcRequest::query("com.atproto.sync.listRepos")?
            .param_opt("limit", limit)
            .param_opt("cursor", cursor);
        let v = self.send(&req).await?.value()?;
        let items = v
            .get("repos")
            .and_then(Value::as_array)
            .unwrap_or_default()
            .to_vec();
        let cursor = v.get("cursor").and_then(Value::as_str).map(str::to_owned);
        Ok(Page { items, cursor })
    }

    /// Every repository the service hosts.
    pub fn list_repos(
        &self,
        page_size: Option<u32>,
    ) -> impl Stream<Item = Result<Value>> + Send + 'static {
        let client = self.clone();
        paginate(move |cursor| {
            let client = client.clone();
            async move { client.list_repos_page(page_size, cursor.as_deref()).await }
        })
    }
}

/// The `Content-Length` header, when present and a number.
fn content_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn blob_of(v: &Value) -> Result<Blob> {
    let b = v.get("blob").ok_or_else(|| Error::Decode {
        what: "uploadBlob".into(),
        message: "no field \"blob\"".into(),
    })?;
    Blob::from_value(b).map_err(|e| Error::Decode {
        what: "uploadBlob".into(),
        message: e.to_string(),
    })
}
