//! `atmo record get|list|create|put|delete`.

use std::path::PathBuf;

use atmo_api::com_atproto::repo::{
    create_record, delete_record, get_record, list_records, put_record,
};
use atmo_data::Value;
use atmo_syntax::{AtIdentifier, AtUri, CidString, Nsid, RecordKey};
use atmo_xrpc::CallError;
use futures_util::TryStreamExt as _;

use super::GlobalArgs;
use crate::account::{read_target, session_client, session_did};
use crate::error::CliError;
use crate::io::{println, read_input};
use crate::net::{runtime, xrpc_err};

/// Arguments of `atmo record`.
#[derive(Debug, clap::Args)]
pub(crate) struct RecordArgs {
    #[command(subcommand)]
    command: RecordCommand,
    /// Network options.
    #[command(flatten)]
    pub(crate) net: super::GlobalArgs,
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

fn parse_uri(uri: &str) -> Result<(AtIdentifier, Nsid, RecordKey), CliError> {
    let u = AtUri::new(uri).map_err(|e| CliError::usage(format!("{uri}: {e}")))?;
    let (Some(c), Some(r)) = (u.collection(), u.rkey()) else {
        return Err(CliError::usage(format!(
            "{uri}: needs a collection and a record key"
        )));
    };
    Ok((u.authority().clone(), c.clone(), r.clone()))
}

/// A collection NSID given on the command line (the service used to refuse a bad one:
/// exit 1 as then).
fn parse_collection(collection: &str) -> Result<Nsid, CliError> {
    Nsid::new(collection).map_err(|e| CliError::failed(format!("{collection}: {e}")))
}

/// A record key given on the command line (exit 1, as [`parse_collection`]).
fn parse_rkey(rkey: &str) -> Result<RecordKey, CliError> {
    RecordKey::new(rkey).map_err(|e| CliError::failed(format!("{rkey}: {e}")))
}

fn record_json(uri: &AtUri, cid: Option<&str>, value: &Value) -> Result<String, CliError> {
    let value: serde_json::Value =
        serde_json::from_str(&atmo_data::json::to_string(value)).map_err(CliError::failed)?;
    Ok(serde_json::json!({ "uri": uri.as_str(), "cid": cid, "value": value }).to_string())
}

/// What a write prints: {"uri","cid"}.
fn written_json(uri: &AtUri, cid: &CidString) -> String {
    serde_json::json!({ "uri": uri.as_str(), "cid": cid.as_str() }).to_string()
}

/// A typed call's error as the exit-1 failure of the plain XRPC error it stands for.
fn call_err<E>(e: CallError<E>) -> CliError {
    xrpc_err(e.into())
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
                let (client, did) = read_target(repo.as_str(), global).await?;
                let r = client
                    .call(get_record::Params::new(did.into(), coll, rkey))
                    .await
                    .map_err(|e| {
                        let e = atmo_xrpc::Error::from(e);
                        if e.is_not_found() {
                            CliError::failed(format!("{uri}: no such record"))
                        } else {
                            xrpc_err(e)
                        }
                    })?;
                if json {
                    println(&record_json(
                        &r.uri,
                        r.cid.as_ref().map(CidString::as_str),
                        &r.value,
                    )?)
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
                let params = list_records::Params::new(did.into(), parse_collection(&collection)?)
                    .with_limit(100);
                let mut pages = std::pin::pin!(client.paginate(params));
                while let Some(page) = pages.try_next().await.map_err(call_err)? {
                    for r in page.records {
                        if json {
                            println(&record_json(&r.uri, Some(r.cid.as_str()), &r.value)?)?;
                        } else {
                            println(&format!("{}\t{}", r.uri, r.cid))?;
                        }
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
                let mut input = create_record::Input::new(
                    session_did(&client)?.into(),
                    parse_collection(&collection)?,
                    value,
                );
                if let Some(k) = rkey {
                    input = input.with_rkey(parse_rkey(&k)?);
                }
                let c = client.call(&input).await.map_err(call_err)?;
                println(&written_json(&c.uri, &c.cid))
            }
            RecordCommand::Put { uri, file } => {
                let (_, coll, rkey) = parse_uri(&uri)?;
                let value = read_record(file.as_deref())?;
                let client = session_client(global).await?;
                let input = put_record::Input::new(session_did(&client)?.into(), coll, rkey, value);
                let c = client.call(&input).await.map_err(call_err)?;
                println(&written_json(&c.uri, &c.cid))
            }
            RecordCommand::Delete { uri } => {
                let (_, coll, rkey) = parse_uri(&uri)?;
                let client = session_client(global).await?;
                let input = delete_record::Input::new(session_did(&client)?.into(), coll, rkey);
                client.call(&input).await.map(drop).map_err(call_err)
            }
        }
    })
}
