//! `atmo blob upload|get`.

use std::path::PathBuf;

use atmo_api::com_atproto::repo::upload_blob::UploadBlob;
use atmo_xrpc::BinaryInput;

use super::GlobalArgs;
use crate::account::{read_target, session_client};
use crate::error::CliError;
use crate::io::{println, read_input};
use crate::net::{Progress, download, runtime, xrpc_err};

/// Arguments of `atmo blob`.
#[derive(Debug, clap::Args)]
pub(crate) struct BlobArgs {
    #[command(subcommand)]
    command: BlobCommand,
    /// Network options.
    #[command(flatten)]
    pub(crate) net: super::GlobalArgs,
}

#[derive(Debug, clap::Subcommand)]
enum BlobCommand {
    /// Upload a file to the session's PDS; prints the blob reference.
    Upload {
        /// The file (`-` for standard input).
        file: PathBuf,
        /// The MIME type.
        #[arg(long, default_value = "application/octet-stream")]
        mime: String,
        /// Print the reference as one line of JSON (the default is pretty JSON).
        #[arg(long)]
        json: bool,
    },
    /// Download a blob, checking its bytes against the CID.
    Get {
        /// The account: a DID (or a handle). Read from --pds, else the session's PDS for
        /// its own account, else the PDS the DID document names.
        did: String,
        /// The blob's CID.
        cid: String,
        /// Where to write it.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
}

/// Runs `atmo blob`.
pub(crate) fn run(args: BlobArgs, global: &GlobalArgs) -> Result<(), CliError> {
    runtime()?.block_on(async {
        match args.command {
            BlobCommand::Upload { file, mime, json } => {
                let data = read_input(Some(&file))?;
                let client = session_client(global).await?;
                let body = BinaryInput::new(data).content_type(mime);
                let out = client
                    .call((UploadBlob, body))
                    .await
                    .map_err(|e| xrpc_err(e.into()))?;
                let v = out.blob.to_value();
                if json {
                    println(&atmo_data::json::to_string(&v))
                } else {
                    println(&atmo_data::json::to_string_pretty(&v))
                }
            }
            BlobCommand::Get { did, cid, output } => {
                let cid: atmo_data::Cid = cid
                    .parse()
                    .map_err(|e| CliError::usage(format!("{cid}: {e}")))?;
                let (client, did) = read_target(&did, global).await?;
                let stream = client.get_blob(&did, &cid).await.map_err(xrpc_err)?;
                let progress = Progress::new(cid.to_string(), stream.content_length());
                download(stream, &output, progress).await
            }
        }
    })
}
