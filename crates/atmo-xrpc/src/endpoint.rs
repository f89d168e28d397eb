//! The shape of one XRPC method, for typed (and generated) calls.

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};

use crate::call_error::EndpointError;
use crate::error::Result;
use crate::request::{Method, RequestBody, XrpcRequest};
use crate::response::XrpcResponse;

/// The encoding of JSON inputs and outputs, the default of [`Endpoint::INPUT_ENCODING`]
/// and [`Endpoint::OUTPUT_ENCODING`].
pub const JSON_ENCODING: &str = "application/json";

/// One XRPC method: its NSID, kind, parameters, input, output and error types.
///
/// Generated code implements this with constants only; calls go through
/// [`Endpoint::request`] and [`Endpoint::decode`], which hand over to the non-generic
/// request builder and decoder at once. With the `client` feature, `Client::call`
/// and `Client::call_endpoint` make the call.
///
/// Binary methods (blobs, CAR files) say so in [`Endpoint::INPUT_ENCODING`] or
/// [`Endpoint::OUTPUT_ENCODING`]: their input is a [`BinaryInput`], their output the
/// response body as [`Bytes`], and they override `request` or `decode`.
///
/// ```
/// # fn main() -> Result<(), atmo_xrpc::Error> {
/// use atmo_xrpc::{Endpoint, Method};
///
/// #[derive(serde::Serialize)]
/// struct Params { repo: String }
/// #[derive(serde::Deserialize)]
/// struct Output { did: String }
///
/// struct DescribeRepo;
/// impl Endpoint for DescribeRepo {
///     const NSID: &'static str = "com.atproto.repo.describeRepo";
///     const METHOD: Method = Method::Query;
///     type Params = Params;
///     type Input = ();
///     type Output = Output;
///     type Error = std::convert::Infallible;
/// }
///
/// let req = DescribeRepo::request(&Params { repo: "alice.test".into() }, None)?;
/// assert_eq!(req.path_and_query(), "/xrpc/com.atproto.repo.describeRepo?repo=alice.test");
/// # Ok(()) }
/// ```
pub trait Endpoint {
    /// The method's NSID.
    const NSID: &'static str;
    /// Query or procedure.
    const METHOD: Method;
    /// The query parameters (a struct whose fields are strings, integers, booleans, or
    /// arrays of those); `()` for none.
    type Params: Serialize;
    /// The JSON input of a procedure; `()` for none.
    type Input: Serialize;
    /// The JSON output; `()` for none; [`Bytes`] for a binary output.
    type Output: DeserializeOwned;
    /// The errors the method declares; [`std::convert::Infallible`] for none.
    type Error: EndpointError;
    /// The content type of the input: [`JSON_ENCODING`] unless the lexicon says otherwise
    /// (`*/*` for any: the caller's [`BinaryInput::content_type`]).
    const INPUT_ENCODING: &'static str = JSON_ENCODING;
    /// The content type of the output: [`JSON_ENCODING`] unless the lexicon says
    /// otherwise (`application/vnd.ipld.car` for a repo, `*/*` for a blob).
    const OUTPUT_ENCODING: &'static str = JSON_ENCODING;

    /// The request for these parameters and input.
    ///
    /// # Errors
    ///
    /// When the NSID, parameters or input do not encode.
    fn request(params: &Self::Params, input: Option<&Self::Input>) -> Result<XrpcRequest> {
        let mut req = XrpcRequest::new(Self::METHOD, Self::NSID)?.params_from(params)?;
        if let Some(i) = input {
            req = req.body(RequestBody::json(i)?);
        }
        Ok(req)
    }

    /// The output decoded from a success response.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Decode`] when the body is not the output type.
    fn decode(res: &XrpcResponse) -> Result<Self::Output> {
        match res.json() {
            // A method without output (`()`) may still answer `{}`.
            Err(e) if res.body.trim_ascii() == b"{}" => {
                atmo_data::from_json::<Self::Output>("null").map_err(|_| e)
            }
            other => other,
        }
    }
}

/// The body of a binary input (a blob, a CAR file, a video): the bytes and, optionally,
/// their content type.
///
/// Without a content type, the request carries the lexicon's encoding, or
/// `application/octet-stream` when the lexicon accepts any (`*/*`).
///
/// ```
/// let body = atmo_xrpc::BinaryInput::new(&b"\x89PNG..."[..]).content_type("image/png");
/// assert_eq!(body.content_type.as_deref(), Some("image/png"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BinaryInput {
    /// The bytes.
    pub data: Bytes,
    /// The `Content-Type` to send, if not the lexicon's.
    pub content_type: Option<String>,
}

impl BinaryInput {
    /// A body of these bytes.
    pub fn new(data: impl Into<Bytes>) -> Self {
        Self {
            data: data.into(),
            content_type: None,
        }
    }

    /// Sets the content type (`image/png`, `video/mp4`...).
    #[must_use]
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// The request of a binary method `E` with this body: the content type given, else
    /// `E::INPUT_ENCODING`, else (for `*/*`) `application/octet-stream`.
    ///
    /// # Errors
    ///
    /// As [`Endpoint::request`].
    pub fn request<E: Endpoint + ?Sized>(
        params: &E::Params,
        input: Option<&Self>,
    ) -> Result<XrpcRequest> {
        let mut req = XrpcRequest::new(E::METHOD, E::NSID)?.params_from(params)?;
        if let Some(body) = input {
            let content_type = match &body.content_type {
                Some(ct) => ct.clone(),
                None if E::INPUT_ENCODING.contains('*') => "application/octet-stream".to_owned(),
                None => E::INPUT_ENCODING.to_owned(),
            };
            req = req.body(RequestBody::Bytes {
                content_type,
                data: body.data.clone(),
            });
        }
        Ok(req)
    }
}

impl From<Bytes> for BinaryInput {
    fn from(data: Bytes) -> Self {
        Self::new(data)
    }
}

impl From<Vec<u8>> for BinaryInput {
    fn from(data: Vec<u8>) -> Self {
        Self::new(data)
    }
}

impl Serialize for BinaryInput {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.data)
    }
}

/// A whole call of one endpoint as one value: what `Client::call` takes.
///
/// Generated code implements it for the `Params` of a query (or a procedure without
/// input), the `Input` of a procedure without parameters, and the marker type of a
/// method that takes neither; so `client.call(get_record::Params::new(...))` names the
/// endpoint by its parameters. References to calls are calls too.
///
/// ```
/// # fn main() -> Result<(), atmo_xrpc::Error> {
/// use atmo_xrpc::{Call, Endpoint, Method};
///
/// #[derive(serde::Serialize)]
/// struct Params { repo: String }
/// struct DescribeRepo;
/// impl Endpoint for DescribeRepo {
///     const NSID: &'static str = "com.atproto.repo.describeRepo";
///     const METHOD: Method = Method::Query;
///     type Params = Params;
///     type Input = ();
///     type Output = atmo_data::Value;
///     type Error = std::convert::Infallible;
/// }
/// impl Call for Params {
///     type Endpoint = DescribeRepo;
///     fn params(&self) -> &Params { self }
///     fn input(&self) -> Option<&()> { None }
/// }
///
/// let req = Params { repo: "alice.test".into() }.request()?;
/// assert_eq!(req.path_and_query(), "/xrpc/com.atproto.repo.describeRepo?repo=alice.test");
/// # Ok(()) }
/// ```
pub trait Call {
    /// The endpoint called.
    type Endpoint: Endpoint;
    /// The parameters.
    fn params(&self) -> &<Self::Endpoint as Endpoint>::Params;
    /// The input, if any.
    fn input(&self) -> Option<&<Self::Endpoint as Endpoint>::Input>;

    /// The request of this call.
    ///
    /// # Errors
    ///
    /// As [`Endpoint::request`].
    fn request(&self) -> Result<XrpcRequest> {
        <Self::Endpoint as Endpoint>::request(self.params(), self.input())
    }
}

impl<C: Call + ?Sized> Call for &C {
    type Endpoint = C::Endpoint;

    fn params(&self) -> &<Self::Endpoint as Endpoint>::Params {
        (**self).params()
    }

    fn input(&self) -> Option<&<Self::Endpoint as Endpoint>::Input> {
        (**self).input()
    }
}

/// `(Marker, input)`: a call of a method without parameters, for any input (a binary
/// one among them: `client.call((UploadBlob, BinaryInput::new(bytes)))`).
///
/// ```
/// # fn main() -> Result<(), atmo_xrpc::Error> {
/// use atmo_xrpc::{BinaryInput, Call, Endpoint, Method, XrpcRequest};
///
/// struct UploadBlob;
/// impl Endpoint for UploadBlob {
///     const NSID: &'static str = "com.atproto.repo.uploadBlob";
///     const METHOD: Method = Method::Procedure;
///     const INPUT_ENCODING: &'static str = "*/*";
///     type Params = ();
///     type Input = BinaryInput;
///     type Output = atmo_data::Value;
///     type Error = std::convert::Infallible;
///     fn request(p: &(), i: Option<&BinaryInput>) -> atmo_xrpc::Result<XrpcRequest> {
///         BinaryInput::request::<Self>(p, i)
///     }
/// }
/// let call = (UploadBlob, BinaryInput::new(&b"GIF89a"[..]).content_type("image/gif"));
/// let req = call.request()?.to_http("https://pds.example", None)?;
/// assert_eq!(req.headers()["content-type"], "image/gif");
/// # Ok(()) }
/// ```
impl<E, I> Call for (E, I)
where
    E: Endpoint<Params = (), Input = I>,
{
    type Endpoint = E;

    fn params(&self) -> &() {
        &()
    }

    fn input(&self) -> Option<&I> {
        Some(&self.1)
    }
}

/// `(Marker, params, input)`: a call of any method, parameters and input both given.
impl<E, P, I> Call for (E, P, I)
where
    E: Endpoint<Params = P, Input = I>,
{
    type Endpoint = E;

    fn params(&self) -> &P {
        &self.1
    }

    fn input(&self) -> Option<&I> {
        Some(&self.2)
    }
}

/// An endpoint that pages with a `cursor` parameter and a `cursor` in its output
/// (`listRecords`, `listRepos`, `getTimeline`...): what `Client::paginate` needs.
///
/// ```
/// use atmo_xrpc::{Endpoint, Method, Paginated};
///
/// #[derive(Clone, serde::Serialize)]
/// struct Params { cursor: Option<String> }
/// #[derive(serde::Deserialize)]
/// struct Output { cursor: Option<String>, repos: Vec<atmo_data::Value> }
/// struct ListRepos;
/// impl Endpoint for ListRepos {
///     const NSID: &'static str = "com.atproto.sync.listRepos";
///     const METHOD: Method = Method::Query;
///     type Params = Params;
///     type Input = ();
///     type Output = Output;
///     type Error = std::convert::Infallible;
/// }
/// impl Paginated for ListRepos {
///     fn set_cursor(params: &mut Params, cursor: Option<String>) { params.cursor = cursor; }
///     fn cursor(output: &Output) -> Option<&str> { output.cursor.as_deref() }
/// }
/// let mut p = Params { cursor: None };
/// ListRepos::set_cursor(&mut p, Some("abc".into()));
/// assert_eq!(p.cursor.as_deref(), Some("abc"));
/// ```
pub trait Paginated: Endpoint {
    /// Sets the `cursor` parameter.
    fn set_cursor(params: &mut Self::Params, cursor: Option<String>);
    /// The `cursor` of the next page, `None` on the last page.
    fn cursor(output: &Self::Output) -> Option<&str>;
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoOutput;
    impl Endpoint for NoOutput {
        const NSID: &'static str = "com.example.revoke";
        const METHOD: Method = Method::Procedure;
        type Params = ();
        type Input = ();
        type Output = ();
        type Error = std::convert::Infallible;
    }

    fn res(body: &'static [u8]) -> XrpcResponse {
        XrpcResponse {
            status: 200,
            headers: http::HeaderMap::new(),
            body: Bytes::from_static(body),
        }
    }

    #[test]
    fn no_output_accepts_empty_null_and_empty_object() {
        for body in [&b""[..], b"null", b"{}", b" {} \n"] {
            assert!(NoOutput::decode(&res(body)).is_ok(), "{body:?}");
        }
        assert!(NoOutput::decode(&res(b"[1]")).is_err());
    }
}
