//! GETs through the shared transport (atmo-http): its connect policy on every resolved
//! address, a deadline on every request, a cap on every body, kept-alive connections.
//! This file only maps the transport's answers and errors to this crate's.

use bytes::Bytes;

use crate::Error;
use crate::error::clip;

/// One GET's answer.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    /// The `Location` header of a redirect, if it is valid text.
    pub(crate) location: Option<String>,
    pub(crate) body: Bytes,
}

/// The transport and whether it lets connections reach private networks.
#[derive(Clone, Debug)]
pub(crate) struct HttpClient {
    http: atmo_http::HttpClient,
    pub(crate) allow_private: bool,
}

impl HttpClient {
    pub(crate) fn new(http: atmo_http::HttpClient) -> Self {
        Self {
            allow_private: http.policy().allows_private_network(),
            http,
        }
    }

    /// The transport.
    pub(crate) fn transport(&self) -> &atmo_http::HttpClient {
        &self.http
    }

    /// `GET url`, reading at most `max_bytes` of body. `host_header` replaces the `Host`
    /// header when the connection goes elsewhere than the name the server should see.
    /// `keep_alive: false` closes the connection after the answer: for one-off origins
    /// (a handle's well-known URL), so that verifying many handles does not hold an idle
    /// socket per handle.
    pub(crate) async fn get(
        &self,
        url: &str,
        accept: &'static str,
        max_bytes: usize,
        host_header: Option<&str>,
        keep_alive: bool,
    ) -> Result<Response, Error> {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::ACCEPT, http::HeaderValue::from_static(accept));
        if let Some(h) = host_header {
            let v = http::HeaderValue::from_str(h).map_err(|_| Error::Url {
                url: clip(url, 512),
                reason: "the host is not a valid header value",
            })?;
            headers.insert(http::header::HOST, v);
        }
        if !keep_alive {
            headers.insert(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            );
        }
        let res = self
            .http
            .get_with_headers(url, headers, max_bytes as u64)
            .await
            .map_err(|e| Error::from_http(url, e))?;
        let location = res
            .headers()
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.len() <= 2048)
            .map(str::to_owned);
        Ok(Response {
            status: res.status().as_u16(),
            location,
            body: res.into_body(),
        })
    }

    /// `POST url` with a JSON body, reading at most `max_bytes` of the answer.
    pub(crate) async fn post_json(
        &self,
        url: &str,
        body: Vec<u8>,
        max_bytes: usize,
    ) -> Result<Response, Error> {
        let req = http::Request::post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json")
            .body(atmo_http::full(body))
            .map_err(|_| Error::Url {
                url: clip(url, 512),
                reason: "not a valid request URL",
            })?;
        let res = self
            .http
            .request(req)
            .await
            .map_err(|e| Error::from_http(url, e))?;
        let status = res.status().as_u16();
        let body = atmo_http::read_body(res.into_body(), max_bytes as u64, None, url)
            .await
            .map_err(|e| Error::from_http(url, e))?;
        Ok(Response {
            status,
            location: None,
            body,
        })
    }
}
