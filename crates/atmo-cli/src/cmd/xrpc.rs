//! `atmo xrpc NSID [key=value ...] [--post [FILE|-]]`: any XRPC call.

use std::path::PathBuf;

use atmo_xrpc::{RequestBody, XrpcRequest};

use super::GlobalArgs;
use crate::error::CliError;
use crate::io::{read_input, write_stdout};
use atmo_xrpc::PasswordSession;

use crate::net::{client_for, runtime, store, stored_session, xrpc_err};

/// Arguments of `atmo xrpc`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  atmo xrpc com.atproto.server.describeServer --pds https://bsky.social\n  echo '{}' | atmo xrpc com.atproto.server.refreshSession --post -"
)]
pub(crate) struct XrpcArgs {
    /// The method's NSID.
    nsid: String,
    /// Query parameters as key=value (repeat a key for an array).
    params: Vec<String>,
    /// Make it a procedure (POST), with a JSON body from FILE or `-` (standard input).
    #[arg(long, num_args = 0..=1, value_name = "FILE")]
    post: Option<Option<PathBuf>>,
    /// Network options.
    #[command(flatten)]
    pub(crate) net: super::GlobalArgs,
}

/// Runs `atmo xrpc`.
pub(crate) fn run(args: XrpcArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let mut req = match args.post {
        Some(_) => XrpcRequest::procedure(&args.nsid),
        None => XrpcRequest::query(&args.nsid),
    }
    .map_err(CliError::usage)?;
    for p in &args.params {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| CliError::usage(format!("{p:?}: parameters are key=value")))?;
        req = req.param(k, v);
    }
    if let Some(Some(file)) = &args.post {
        let bytes = read_input(Some(file))?;
        atmo_data::json::from_slice(&bytes).map_err(CliError::failed)?;
        req = req.body(RequestBody::Json(bytes.into()));
    }
    let session = stored_session()?;
    let pds = match (&global.pds, &session) {
        (Some(p), _) => p.clone(),
        (None, Some(s)) => s.pds.to_string(),
        (None, None) => {
            return Err(CliError::failed(
                "no service to call: pass --pds URL or log in first",
            ));
        }
    };
    runtime()?.block_on(async {
        let mut client = client_for(&pds, global)?;
        if let Some(s) = session.filter(|s| s.pds == *client.service_url()) {
            client = PasswordSession::resume(&client, s, Some(store()?)).client();
        }
        let res = client.send(&req).await.map_err(xrpc_err)?;
        write_stdout(&res.body)?;
        if res.body.last() != Some(&b'\n') && res.content_type().is_some_and(|c| c.contains("json"))
        {
            write_stdout(b"\n")?;
        }
        Ok(())
    })
}
