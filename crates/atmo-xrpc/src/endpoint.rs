//! The shape of one XRPC method, for typed (and generated) calls.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::request::{Method, RequestBody, XrpcRequest};
use crate::response::XrpcResponse;

/// One XRPC method: its NSID, kind, parameters, input and output types.
///
/// Generated code implements this with constants only; calls go through
/// [`Endpoint::request`] and [`Endpoint::decode`], which hand over to the non-generic
/// request builder and decoder at once.
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
    /// The JSON output; `()` for none.
    type Output: DeserializeOwned;

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
        res.json()
    }
}
