//! Building XRPC requests: pure functions, no I/O.

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use serde::Serialize;

use atmo_syntax::{Did, Nsid, ServiceUrl};

use crate::error::{Error, Result};

/// The `atproto-proxy` header.
pub const PROXY_HEADER: &str = "atproto-proxy";
/// The `atproto-accept-labelers` header.
pub const ACCEPT_LABELERS_HEADER: &str = "atproto-accept-labelers";
/// The `atproto-content-labelers` response header.
pub const CONTENT_LABELERS_HEADER: &str = "atproto-content-labelers";

/// The two kinds of XRPC method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// A query: `GET`, parameters in the query string.
    Query,
    /// A procedure: `POST`, with an optional body.
    Procedure,
}

impl Method {
    /// The HTTP method.
    pub fn http(self) -> http::Method {
        match self {
            Self::Query => http::Method::GET,
            Self::Procedure => http::Method::POST,
        }
    }
}

/// A request body with its content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestBody {
    /// `application/json`.
    Json(Bytes),
    /// `application/cbor` (DAG-CBOR).
    Cbor(Bytes),
    /// Any bytes with the given content type (blobs, CAR files).
    Bytes {
        /// The `Content-Type`.
        content_type: String,
        /// The bytes.
        data: Bytes,
    },
}

impl RequestBody {
    /// The body as atproto JSON of a serde value (`Cid` as `$link`, bytes as `$bytes`).
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when the value does not serialize to the data model.
    pub fn json<T: Serialize + ?Sized>(v: &T) -> Result<Self> {
        let text = atmo_data::to_json(v).map_err(|e| Error::Encode {
            what: "the JSON body",
            message: e.to_string(),
        })?;
        Ok(Self::Json(Bytes::from(text)))
    }

    /// The body as atproto JSON of a data model [`atmo_data::Value`].
    pub fn value(v: &atmo_data::Value) -> Self {
        Self::Json(Bytes::from(atmo_data::json::to_string(v)))
    }

    /// The body as DAG-CBOR of a data model [`atmo_data::Value`].
    pub fn cbor(v: &atmo_data::Value) -> Self {
        Self::Cbor(Bytes::from(atmo_data::cbor::encode(v)))
    }

    /// The `Content-Type` of this body.
    pub fn content_type(&self) -> &str {
        match self {
            Self::Json(_) => "application/json",
            Self::Cbor(_) => "application/cbor",
            Self::Bytes { content_type, .. } => content_type,
        }
    }

    /// The bytes.
    pub fn data(&self) -> &Bytes {
        match self {
            Self::Json(d) | Self::Cbor(d) | Self::Bytes { data: d, .. } => d,
        }
    }
}

/// Where a PDS should forward a call: the `atproto-proxy` header, `did#service_id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProxyTarget {
    text: String,
}

impl ProxyTarget {
    /// A target from a DID and a service id (without `#`), e.g. `atproto_labeler`.
    ///
    /// # Errors
    ///
    /// [`Error::Request`] when the service id is empty or holds `#`, whitespace or
    /// control characters.
    pub fn new(did: &Did, service_id: &str) -> Result<Self> {
        check_service_id(service_id)?;
        Ok(Self {
            text: format!("{}#{service_id}", did.as_str()),
        })
    }

    /// Parses `did:...#service_id`.
    ///
    /// ```
    /// # fn main() -> Result<(), atmo_xrpc::Error> {
    /// let t = atmo_xrpc::ProxyTarget::parse("did:web:api.bsky.chat#bsky_chat")?;
    /// assert_eq!(t.service_id(), "bsky_chat");
    /// assert!(atmo_xrpc::ProxyTarget::parse("did:web:api.bsky.chat").is_err());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Request`] without `#`, with an invalid DID, or a bad service id.
    pub fn parse(s: &str) -> Result<Self> {
        let (did, service) = s
            .split_once('#')
            .ok_or_else(|| Error::Request(format!("proxy target {s:?} has no '#service_id'")))?;
        let did = Did::new(did).map_err(|e| Error::Request(format!("proxy target {s:?}: {e}")))?;
        Self::new(&did, service)
    }

    /// The DID part.
    pub fn did(&self) -> &str {
        self.text.split_once('#').map_or("", |(d, _)| d)
    }

    /// The service id (after `#`).
    pub fn service_id(&self) -> &str {
        self.text.split_once('#').map_or("", |(_, s)| s)
    }

    /// The header value.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

fn check_service_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 256 {
        return Err(Error::Request(format!(
            "proxy service id must be 1 to 256 characters, got {}",
            id.len()
        )));
    }
    if let Some(c) = id
        .chars()
        .find(|c| *c == '#' || c.is_whitespace() || c.is_control() || !c.is_ascii())
    {
        return Err(Error::Request(format!(
            "proxy service id {id:?} holds a forbidden character {c:?}"
        )));
    }
    Ok(())
}

/// A labeler for `atproto-accept-labelers`: a DID, optionally with `;redact`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Labeler {
    /// The labeler's DID.
    pub did: Did,
    /// Ask for content it labels `!takedown` etc. to be removed (`;redact`).
    pub redact: bool,
}

/// Per-call (or per-client default) extra headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallOptions {
    /// `atproto-proxy`: forward the call to this service.
    pub proxy: Option<ProxyTarget>,
    /// `atproto-accept-labelers`: the labelers whose labels the caller wants.
    pub accept_labelers: Option<Vec<Labeler>>,
}

impl CallOptions {
    /// These options, with the gaps filled from `defaults`.
    pub fn or(&self, defaults: &CallOptions) -> CallOptions {
        CallOptions {
            proxy: self.proxy.clone().or_else(|| defaults.proxy.clone()),
            accept_labelers: self
                .accept_labelers
                .clone()
                .or_else(|| defaults.accept_labelers.clone()),
        }
    }
}

/// One XRPC call, not yet sent: NSID, method, query parameters, body, extra headers.
///
/// ```
/// # fn main() -> Result<(), atmo_xrpc::Error> {
/// use atmo_xrpc::XrpcRequest;
/// let req = XrpcRequest::query("com.atproto.repo.listRecords")?
///     .param("repo", "did:plc:abc")
///     .param("collection", "app.bsky.feed.post")
///     .param("limit", 10);
/// let http = req.to_http("https://pds.example", None)?;
/// assert_eq!(
///     http.uri().to_string(),
///     "https://pds.example/xrpc/com.atproto.repo.listRecords?repo=did%3Aplc%3Aabc&collection=app.bsky.feed.post&limit=10"
/// );
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XrpcRequest {
    /// The method's NSID.
    pub nsid: Nsid,
    /// Query or procedure.
    pub method: Method,
    /// Query parameters in order; an array is the same key repeated.
    pub params: Vec<(String, String)>,
    /// The body (procedures only).
    pub body: Option<RequestBody>,
    /// Proxy and labeler headers.
    pub options: CallOptions,
}

impl XrpcRequest {
    /// A call of `method` to `nsid`.
    ///
    /// # Errors
    ///
    /// [`Error::Request`] when `nsid` is not a valid NSID.
    pub fn new(method: Method, nsid: &str) -> Result<Self> {
        let nsid = Nsid::new(nsid).map_err(|e| Error::Request(format!("NSID {nsid:?}: {e}")))?;
        Ok(Self {
            nsid,
            method,
            params: Vec::new(),
            body: None,
            options: CallOptions::default(),
        })
    }

    /// A query (`GET`).
    ///
    /// # Errors
    ///
    /// As [`XrpcRequest::new`].
    pub fn query(nsid: &str) -> Result<Self> {
        Self::new(Method::Query, nsid)
    }

    /// A procedure (`POST`).
    ///
    /// # Errors
    ///
    /// As [`XrpcRequest::new`].
    pub fn procedure(nsid: &str) -> Result<Self> {
        Self::new(Method::Procedure, nsid)
    }

    /// Adds one query parameter (call again with the same key for an array).
    #[must_use]
    pub fn param(mut self, key: &str, value: impl std::fmt::Display) -> Self {
        self.params.push((key.to_owned(), value.to_string()));
        self
    }

    /// Adds a parameter if `value` is `Some`.
    #[must_use]
    pub fn param_opt(self, key: &str, value: Option<impl std::fmt::Display>) -> Self {
        match value {
            Some(v) => self.param(key, v),
            None => self,
        }
    }

    /// Adds the parameters of a serde value (a struct or map): strings, integers and
    /// booleans as themselves, arrays as repeated keys, `null`/`None` left out; keys
    /// come in sorted order.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when the value is not a flat object of those kinds.
    pub fn params_from<T: Serialize + ?Sized>(mut self, params: &T) -> Result<Self> {
        params_to_pairs(params, &mut self.params)?;
        Ok(self)
    }

    /// Sets the body.
    #[must_use]
    pub fn body(mut self, body: RequestBody) -> Self {
        self.body = Some(body);
        self
    }

    /// Sets a JSON body from a serde value (atproto JSON rules).
    ///
    /// # Errors
    ///
    /// As [`RequestBody::json`].
    pub fn json<T: Serialize + ?Sized>(self, v: &T) -> Result<Self> {
        Ok(self.body(RequestBody::json(v)?))
    }

    /// Sets the `atproto-proxy` target for this call.
    #[must_use]
    pub fn proxy(mut self, target: ProxyTarget) -> Self {
        self.options.proxy = Some(target);
        self
    }

    /// Sets the `atproto-accept-labelers` list for this call.
    #[must_use]
    pub fn accept_labelers(mut self, labelers: Vec<Labeler>) -> Self {
        self.options.accept_labelers = Some(labelers);
        self
    }

    /// The path and query: `/xrpc/<nsid>?k=v&...`.
    pub fn path_and_query(&self) -> String {
        let mut s = format!("/xrpc/{}", self.nsid.as_str());
        for (i, (k, v)) in self.params.iter().enumerate() {
            s.push(if i == 0 { '?' } else { '&' });
            percent_encode_into(k, &mut s);
            s.push('=');
            percent_encode_into(v, &mut s);
        }
        s
    }

    /// The HTTP request for the service at `base` (`https://host[:port][/prefix]`),
    /// with `Authorization: <auth>` when given (e.g. `Bearer <jwt>`).
    ///
    /// # Errors
    ///
    /// [`Error::BaseUrl`] for a bad base URL, [`Error::Request`] for a header value that
    /// cannot be sent or a body on a query.
    pub fn to_http(&self, base: &str, auth: Option<&str>) -> Result<http::Request<Bytes>> {
        self.to_http_at(&parse_base(base)?, auth)
    }

    /// [`to_http`](Self::to_http) for a base URL already parsed.
    ///
    /// # Errors
    ///
    /// [`Error::Request`] for a header value that cannot be sent or a body on a query.
    pub fn to_http_at(
        &self,
        base: &ServiceUrl,
        auth: Option<&str>,
    ) -> Result<http::Request<Bytes>> {
        let uri = format!("{base}{}", self.path_and_query());
        let mut b = http::Request::builder()
            .method(self.method.http())
            .uri(&uri);
        if let Some(headers) = b.headers_mut() {
            apply_options(headers, &self.options)?;
            if let Some(a) = auth {
                let mut v = HeaderValue::from_str(a).map_err(|_| {
                    Error::Request("authorization value is not a valid header".into())
                })?;
                v.set_sensitive(true);
                headers.insert(AUTHORIZATION, v);
            }
        }
        let body = match (&self.body, self.method) {
            (Some(_), Method::Query) => {
                return Err(Error::Request(format!(
                    "{} is a query: it cannot carry a body",
                    self.nsid
                )));
            }
            (Some(body), Method::Procedure) => {
                let ct = HeaderValue::from_str(body.content_type())
                    .map_err(|_| Error::Request("bad content type".into()))?;
                if let Some(h) = b.headers_mut() {
                    h.insert(CONTENT_TYPE, ct);
                }
                body.data().clone()
            }
            (None, _) => Bytes::new(),
        };
        b.body(body)
            .map_err(|e| Error::Request(format!("{uri}: {e}")))
    }
}

/// Writes the proxy and labeler headers of `opts` into `headers`.
///
/// # Errors
///
/// [`Error::Request`] when a value cannot be a header.
pub fn apply_options(headers: &mut http::HeaderMap, opts: &CallOptions) -> Result<()> {
    if let Some(p) = &opts.proxy {
        let v = HeaderValue::from_str(p.as_str())
            .map_err(|_| Error::Request(format!("bad proxy header value {:?}", p.as_str())))?;
        headers.insert(HeaderName::from_static(PROXY_HEADER), v);
    }
    if let Some(ls) = &opts.accept_labelers {
        let text = ls
            .iter()
            .map(|l| {
                if l.redact {
                    format!("{};redact", l.did)
                } else {
                    l.did.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let v = HeaderValue::from_str(&text)
            .map_err(|_| Error::Request("bad labelers header value".into()))?;
        headers.insert(HeaderName::from_static(ACCEPT_LABELERS_HEADER), v);
    }
    Ok(())
}

/// Parses a service base URL given as a string.
///
/// # Errors
///
/// [`Error::BaseUrl`] unless it is `http(s)://authority[/path]` with no query or fragment.
pub fn parse_base(base: &str) -> Result<ServiceUrl> {
    ServiceUrl::new(base).map_err(|reason| Error::BaseUrl {
        url: base.chars().take(256).collect(),
        reason,
    })
}

/// Percent-encodes everything but the unreserved characters (RFC 3986).
pub fn percent_encode_into(s: &str, out: &mut String) {
    use std::fmt::Write as _;
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

fn params_to_pairs<T: Serialize + ?Sized>(
    params: &T,
    out: &mut Vec<(String, String)>,
) -> Result<()> {
    let bad = |message: String| Error::Encode {
        what: "query parameters",
        message,
    };
    let v = serde_json::to_value(params).map_err(|e| bad(e.to_string()))?;
    let map = match v {
        serde_json::Value::Object(m) => m,
        serde_json::Value::Null => return Ok(()),
        other => return Err(bad(format!("expected an object, got {other}"))),
    };
    for (k, v) in map {
        match v {
            serde_json::Value::Null => {}
            serde_json::Value::Array(items) => {
                for item in items {
                    out.push((k.clone(), scalar(&k, item).map_err(bad)?));
                }
            }
            other => out.push((k.clone(), scalar(&k, other).map_err(bad)?)),
        }
    }
    Ok(())
}

fn scalar(key: &str, v: serde_json::Value) -> std::result::Result<String, String> {
    match v {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Bool(b) => Ok(b.to_string()),
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        other => Err(format!(
            "parameter {key:?}: {other} is not a string, integer or boolean"
        )),
    }
}
