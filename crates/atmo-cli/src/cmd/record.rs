//! `atmo record get|list|create|put|delete`.

use std::path::PathBuf;

use atmo_syntax::AtUri;
use futures_util::TryStreamExt as _;

use super::GlobalArgs;
use crate::account::{read_target, session_client};
use crate::error::CliError;
use crate::io::{println, read_input};
use crate::net::{runtime, xrpc_err};

/// Arguments of `atmo record`.
#[derive(Debug, clap::Args)]
pub(crate) struct RecordArgs {
    #[command(subcommand)]
    command: RecordCommand,
}

#[derive(Debug, clap::Subcommand)]
enum RecordCommand {
    /// Print one record (exit 1 if it does not exist).
    Get {
        /// `at://did/collection/rkey` (or a handle as the authority). Read from --pds, else
        /// the session's PDS for its own account, else the PDS the DID document names.
        uri: String,
        /// One JSON object {"uri","cid","value"}.
        #[arg(long)]
        json: bool,
    },
    /// Every record of a collection, all pages.
    List {
        /// The repository: a DID or handle (its PDS is found as for `record get`).
        repo: String,
        /// The collection NSID.
        collection: String,
        /// JSON lines {"uri","cid","value"}.
        #[arg(long)]
        json: bool,
    },
    /// Create a record in the session's repository from atproto JSON; prints {"uri","cid"}.
    Create {
        /// The collection NSID.
        collection: String,
        /// The record JSON (`-` or nothing for standard input).
        file: Option<PathBuf>,
        /// The record key (default: a TID chosen by the PDS).
        #[arg(long)]
        rkey: Option<String>,
    },
    /// Create or replace a record; prints {"uri","cid"}.
    Put {
        /// `at://did/collection/rkey` (the session's repository).
        uri: String,
        /// The record JSON (`-` or nothing for standard input).
        file: Option<PathBuf>,
    },
    /// Delete a record.
    Delete {
        /// `at://did/collection/rkey` (the session's repository).
        uri: String,
    },
}

fn parse_uri(uri: &str) -> Result<(String, String, String), CliError> {
    let u = AtUri::new(uri).map_err(|e| CliError::usage(format!("{uri}: {e}")))?;
    let (Some(c), Some(r)) = (u.collection(), u.rkey()) else {
        return Err(CliError::usage(format!(
            "{uri}: needs a collection and a record key"
        )));
    };
    Ok((
        u.authority().as_str().to_owned(),
        c.to_string(),
        r.to_string(),
    ))
}

fn record_json(r: &atmo_xrpc::RecordOutput) -> Result<String, CliError> {
    let value: serde_json::Value =
        serde_json::from_str(&atmo_data::json::to_string(&r.value)).map_err(CliError::failed)?;
    Ok(serde_json::json!({ "uri": r.uri, "cid": r.cid, "value": value }).to_string())
}

fn read_record(file: Option<&std::path::Path>) -> Result<atmo_data::Value, CliError> {
    let bytes = read_input(file)?;
    atmo_data::json::record_from_slice(&bytes).map_err(CliError::failed)
}

/// Runs `atmo record`.
pub(crate) fn run(args: RecordArgs, global: &GlobalArgs) -> Result<(), CliError> {
    runtime()?.block_on(async {
        match args.command {
            RecordCommand::Get { uri, json } => {
                let (repo, coll, rkey) = parse_uri(&uri)?;
                let (client, did) = read_target(&repo, global).await?;
                let r = client
                    .get_record(&did, &coll, &rkey, None)
                    .await
                    .map_err(|e| {
                        if e.is_not_found() {
                            CliError::failed(format!("{uri}: no such record"))
                        } else {
                            xrpc_err(e)
                        }
                    })?;
                if json {
                    println(&record_json(&r)?)
                } else {
                    println(&atmo_data::json::to_string_pretty(&r.value))
                }
            }
            RecordCommand::List {
                repo,
                collection,
                json,
            } => {
                let (client, did) = read_target(&repo, global).await?;
                let mut s = std::pin::pin!(client.list_records(&did, &collection, Some(100)));
                while let Some(r) = s.try_next().await.map_err(xrpc_err)? {
                    if json {
                        println(&record_json(&r)?)?;
                    } else {
                        println(&format!("{}\t{}", r.uri, r.cid.unwrap_or_default()))?;
                    }
                }
                Ok(())
            }
            RecordCommand::Create {
                collection,
                file,
                rkey,
            } => {
                let value = read_record(file.as_deref())?;
                let client = session_client(global).await?;
                let c = client
                    .create_record(&collection, rkey.as_deref(), &value)
                    .await
                    .map_err(xrpc_err)?;
                println(&serde_json::json!({ "uri": c.uri, "cid": c.cid }).to_string())
            }
            RecordCommand::Put { uri, file } => {
                let (_, coll, rkey) = parse_uri(&uri)?;
                let value = read_record(file.as_deref())?;
                let client = session_client(global).await?;
                let c = client
                    .put_record(&coll, &rkey, &value, None)
                    .await
                    .map_err(xrpc_err)?;
                println(&serde_json::json!({ "uri": c.uri, "cid": c.cid }).to_string())
            }
            RecordCommand::Delete { uri } => {
                let (_, coll, rkey) = parse_uri(&uri)?;
                let client = session_client(global).await?;
                client
                    .delete_record(&coll, &rkey, None)
                    .await
                    .map_err(xrpc_err)
            }
        }
    })
}
