//! Typed calls on the client: an [`Endpoint`] (or a [`Call`] value) in, its output or
//! its own error enum out; cursor pagination as a typed stream.
//!
//! Built on the client's exchange loop ([`Client::send`] and, for streamed outputs, the
//! same loop with the body left unread).

use futures_util::Stream;

use crate::blob::BlobStream;
use crate::call_error::CallError;
use crate::client::{AuthMode, Client};
use crate::endpoint::{Call, Endpoint, Paginated};

/// The output of call `C`.
type OutputOf<C> = <<C as Call>::Endpoint as Endpoint>::Output;
/// The error of call `C`.
type ErrorOf<C> = CallError<<<C as Call>::Endpoint as Endpoint>::Error>;

impl Client {
    /// Makes a typed call: the parameters or input as one [`Call`] value (a generated
    /// `Params` or `Input`, the marker type of a method that takes neither, or a tuple
    /// `(Marker, input)` / `(Marker, params, input)` for any method, binary inputs
    /// included), the endpoint's output back, its declared errors typed in
    /// [`CallError::Endpoint`].
    ///
    /// The access token is sent when the client has a session. Outputs are read whole,
    /// under the client's body cap (`ClientBuilder::max_body`), binary ones included.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), atmo_xrpc::Error> {
    /// use atmo_xrpc::{Call, Client, Endpoint, Method};
    ///
    /// // What atmo-api generates for com.atproto.server.describeServer:
    /// struct DescribeServer;
    /// impl Endpoint for DescribeServer {
    ///     const NSID: &'static str = "com.atproto.server.describeServer";
    ///     const METHOD: Method = Method::Query;
    ///     type Params = ();
    ///     type Input = ();
    ///     type Output = atmo_data::Value;
    ///     type Error = std::convert::Infallible;
    /// }
    /// impl Call for DescribeServer {
    ///     type Endpoint = Self;
    ///     fn params(&self) -> &() { &() }
    ///     fn input(&self) -> Option<&()> { None }
    /// }
    ///
    /// // Nothing listens there (and plain http to loopback must be allowed):
    /// let client = Client::builder("http://127.0.0.1:9").allow_private_network(true).build()?;
    /// let err = client.call(DescribeServer).await.unwrap_err();
    /// assert!(err.endpoint().is_none()); // a transport error, not a declared one
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`CallError::Endpoint`] for an error answer the endpoint declares,
    /// [`CallError::Other`] for anything else (as [`Client::send`], and
    /// [`crate::Error::Decode`] for an output that does not decode).
    pub async fn call<C: Call>(&self, call: C) -> Result<OutputOf<C>, ErrorOf<C>> {
        self.call_endpoint::<C::Endpoint>(call.params(), call.input())
            .await
    }

    /// Makes a typed call and gives its output body as a stream, unread: for binary
    /// outputs too large to hold at once (a repository CAR from
    /// `com.atproto.sync.getRepo`, a blob). Errors before the body (a declared error
    /// answer included) arrive typed as from [`call`](Self::call); the stream then ends
    /// with an error if the body stalls past the client's timeout or grows past
    /// `ClientBuilder::max_repo_download`.
    ///
    /// ```no_run
    /// # async fn demo(client: atmo_xrpc::Client, call: impl atmo_xrpc::Call) -> Result<(), atmo_xrpc::Error> {
    /// use futures_util::TryStreamExt;
    ///
    /// // `call` is, e.g., atmo-api's `com_atproto::sync::get_repo::Params::new(did)`.
    /// let mut body = client.call_stream(call).await.map_err(atmo_xrpc::Error::from)?;
    /// let mut n = 0;
    /// while let Some(chunk) = body.try_next().await? {
    ///     n += chunk.len(); // write it to a file, feed a CAR reader...
    /// }
    /// println!("{n} bytes");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Client::call`], except that nothing is decoded.
    pub async fn call_stream<C: Call>(&self, call: C) -> Result<BlobStream, ErrorOf<C>> {
        let req = <C::Endpoint as Endpoint>::request(call.params(), call.input())?;
        let (head, body) = self.call_head(&req, AuthMode::IfAny).await?;
        Ok(BlobStream::new(
            body,
            None,
            self.timeout(),
            self.max_repo_download(),
            crate::transfer::content_length(&head.headers),
        )?)
    }

    /// Makes a typed call of endpoint `E` with parameters and an optional input: the
    /// form for any endpoint, including those that take both, and binary inputs
    /// ([`crate::BinaryInput`]).
    ///
    /// ```no_run
    /// # async fn demo(client: atmo_xrpc::Client) -> Result<(), atmo_xrpc::Error> {
    /// use atmo_xrpc::{BinaryInput, Endpoint, Method};
    ///
    /// // What atmo-api generates for com.atproto.repo.uploadBlob:
    /// struct UploadBlob;
    /// impl Endpoint for UploadBlob {
    ///     const NSID: &'static str = "com.atproto.repo.uploadBlob";
    ///     const METHOD: Method = Method::Procedure;
    ///     const INPUT_ENCODING: &'static str = "*/*";
    ///     type Params = ();
    ///     type Input = BinaryInput;
    ///     type Output = atmo_data::Value;
    ///     type Error = std::convert::Infallible;
    ///     fn request(p: &(), i: Option<&BinaryInput>) -> atmo_xrpc::Result<atmo_xrpc::XrpcRequest> {
    ///         BinaryInput::request::<Self>(p, i)
    ///     }
    /// }
    ///
    /// let body = BinaryInput::new(std::fs::read("cat.png").unwrap_or_default()).content_type("image/png");
    /// let out = client.call_endpoint::<UploadBlob>(&(), Some(&body)).await?;
    /// println!("{out:?}");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Client::call`].
    pub async fn call_endpoint<E: Endpoint>(
        &self,
        params: &E::Params,
        input: Option<&E::Input>,
    ) -> Result<E::Output, CallError<E::Error>> {
        let req = E::request(params, input)?;
        let res = self.send(&req).await?;
        Ok(E::decode(&res)?)
    }

    /// Every page of a cursor-paginated query, as a stream of outputs: `first` gives the
    /// parameters of the first page (its cursor, if any, is where to start); each next
    /// page asks for the cursor of the previous one, until an output has no cursor or
    /// repeats the one asked for. The first error ends the stream. Some services (the
    /// reference PDS among them) give a cursor with every non-empty page, so the last
    /// page may be empty.
    ///
    /// The stream holds a clone of the client, so it may outlive `self` and be spawned.
    ///
    /// ```no_run
    /// # async fn demo(client: atmo_xrpc::Client) -> Result<(), atmo_xrpc::Error> {
    /// use futures_util::TryStreamExt;
    /// use atmo_xrpc::{Call, Endpoint, Method, Paginated};
    ///
    /// // What atmo-api generates for com.atproto.sync.listRepos:
    /// #[derive(Clone, Default, serde::Serialize)]
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
    ///     fn set_cursor(p: &mut Params, c: Option<String>) { p.cursor = c; }
    ///     fn cursor(o: &Output) -> Option<&str> { o.cursor.as_deref() }
    /// }
    /// impl Call for Params {
    ///     type Endpoint = ListRepos;
    ///     fn params(&self) -> &Params { self }
    ///     fn input(&self) -> Option<&()> { None }
    /// }
    ///
    /// let pages: Vec<Output> = client.paginate(Params::default()).try_collect().await?;
    /// let repos = pages.iter().map(|p| p.repos.len()).sum::<usize>();
    /// println!("{repos} repos");
    /// # Ok(()) }
    /// ```
    pub fn paginate<C>(
        &self,
        first: C,
    ) -> impl Stream<Item = Result<OutputOf<C>, ErrorOf<C>>> + Send + use<C>
    where
        C: Call,
        C::Endpoint: Paginated,
        <C::Endpoint as Endpoint>::Params: Clone + Send + Sync + 'static,
        <C::Endpoint as Endpoint>::Input: Sync,
        <C::Endpoint as Endpoint>::Output: Send + 'static,
        <C::Endpoint as Endpoint>::Error: Send + 'static,
    {
        struct State<P> {
            client: Client,
            params: P,
            /// The cursor asked for (unknown, so `None`, for the first page).
            asked: Option<String>,
            /// False once the last page has been given (or an error).
            more: bool,
        }
        let state = State {
            client: self.clone(),
            params: first.params().clone(),
            asked: None,
            more: true,
        };
        futures_util::stream::unfold(state, |mut st| async move {
            if !st.more {
                return None;
            }
            let res = st
                .client
                .call_endpoint::<C::Endpoint>(&st.params, None)
                .await;
            match res {
                Err(e) => {
                    st.more = false;
                    Some((Err(e), st))
                }
                Ok(out) => {
                    let next = <C::Endpoint as Paginated>::cursor(&out).map(str::to_owned);
                    // A cursor equal to the one just asked for would loop forever.
                    match next {
                        Some(c) if Some(&c) != st.asked.as_ref() => {
                            <C::Endpoint as Paginated>::set_cursor(&mut st.params, Some(c.clone()));
                            st.asked = Some(c);
                        }
                        _ => st.more = false,
                    }
                    Some((Ok(out), st))
                }
            }
        })
    }
}
