//! `atmo blob upload|get`.

use std::path::PathBuf;

use super::GlobalArgs;
use super::session::{read_client, runtime, session_client, xrpc_err};
use crate::error::CliError;
use crate::io::{println, read_input};

/// Arguments of `atmo blob`.
#[derive(Debug, clap::Args)]
pub(crate) struct BlobArgs {
    #[command(subcommand)]
    command: BlobCommand,
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
        /// The account's DID.
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
                let (client, _) = session_client(global).await?;
                let blob = client
                    .upload_blob(data.into(), &mime)
                    .await
                    .map_err(xrpc_err)?;
                let v = blob.to_value();
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
                let client = read_client(global)?;
                let stream = client.get_blob(&did, &cid).await.map_err(xrpc_err)?;
                // Write beside the target and rename only once the CID checked out.
                let tmp = output.with_extension("part");
                let mut f = tokio::fs::File::create(&tmp).await?;
                let res = stream.write_to(&mut f).await;
                drop(f);
                match res {
                    Ok(_) => std::fs::rename(&tmp, &output).map_err(CliError::from),
                    Err(e) => {
                        let _ = std::fs::remove_file(&tmp);
                        Err(xrpc_err(e))
                    }
                }
            }
        }
    })
}
