//! `atmo account`: the signed-in account's hosting status and lifecycle at its PDS
//! (status, activate, deactivate, update-handle, missing-blobs), creating an account on a
//! PDS, and checking a handle in both directions.

use std::io::{BufRead as _, IsTerminal as _, Read as _};

use atmo_api::com_atproto::identity::update_handle;
use atmo_api::com_atproto::repo::list_missing_blobs;
use atmo_api::com_atproto::server::{
    activate_account::ActivateAccount, check_account_status::CheckAccountStatus, create_account,
    deactivate_account,
};
use atmo_syntax::{AtIdentifier, Datetime, Did, Handle, LenientDatetime};
use futures_util::TryStreamExt as _;

use super::GlobalArgs;
use crate::account::{session_client, session_did};
use crate::error::CliError;
use crate::io::println;
use crate::net::{client_for, resolver, runtime, xrpc_err};

/// Arguments of `atmo account`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  atmo account status --json\n  atmo account check-handle alice.bsky.social\n  ATMO_PASSWORD=... atmo account create --pds https://pds.example.com --handle alice.example.com --email alice@example.com"
)]
pub(crate) struct AccountArgs {
    #[command(subcommand)]
    command: AccountCommand,
    /// Network options.
    #[command(flatten)]
    pub(crate) net: super::GlobalArgs,
}

#[derive(Debug, clap::Subcommand)]
enum AccountCommand {
    /// The signed-in account's status at its PDS (com.atproto.server.checkAccountStatus):
    /// activated, DID valid, repository commit and rev, counts of blocks, records and
    /// blobs.
    Status {
        /// One JSON object: {"did","pds"} and the PDS's answer (activated, validDid,
        /// repoCommit, repoRev, repoBlocks, indexedRecords, privateStateValues,
        /// expectedBlobs, importedBlobs).
        #[arg(long)]
        json: bool,
    },
    /// (Re)activate the signed-in account (com.atproto.server.activateAccount).
    Activate,
    /// Deactivate the signed-in account (com.atproto.server.deactivateAccount): its
    /// repository stops being served until `atmo account activate`.
    Deactivate {
        /// Ask the PDS to delete the account after this datetime (RFC 3339).
        #[arg(long, value_name = "DATETIME")]
        delete_after: Option<String>,
    },
    /// Change the signed-in account's handle (com.atproto.identity.updateHandle).
    #[command(name = "update-handle")]
    UpdateHandle {
        /// The new handle.
        handle: String,
    },
    /// Create an account on the PDS given with --pds (com.atproto.server.createAccount);
    /// prints its DID. Does not log in.
    ///
    /// The password is read from $ATMO_PASSWORD, else from the first line of standard
    /// input (piped, not typed: a terminal would echo it).
    Create {
        /// The new account's handle.
        #[arg(long)]
        handle: String,
        /// The email address.
        #[arg(long)]
        email: Option<String>,
        /// An invite code, if the PDS requires one.
        #[arg(long)]
        invite_code: Option<String>,
        /// An existing DID to use (moving an account here, or a did:web).
        #[arg(long, value_name = "DID")]
        existing_did: Option<String>,
        /// A did:key the PDS adds to the new did:plc as a recovery (rotation) key.
        #[arg(long, value_name = "DID_KEY")]
        recovery_key: Option<String>,
        /// One JSON object {"did","handle"}.
        #[arg(long)]
        json: bool,
    },
    /// Blobs that the signed-in account's records reference but its PDS does not have
    /// (com.atproto.repo.listMissingBlobs, all pages): `cid<TAB>record-uri` per line.
    #[command(name = "missing-blobs")]
    MissingBlobs {
        /// JSON lines {"cid","recordUri"}.
        #[arg(long)]
        json: bool,
    },
    /// Check a handle both ways: it resolves to a DID (DNS TXT or HTTPS well-known, or
    /// --handle-resolver) and that DID's document lists the handle back. Exit 1 when
    /// either fails, with the reason.
    #[command(name = "check-handle")]
    CheckHandle {
        /// The handle.
        handle: String,
        /// One JSON object {"handle","valid","did","pds","claimedHandle"} ("reason" when
        /// not valid); printed before exit 1 too.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `atmo account`.
pub(crate) fn run(args: AccountArgs, global: &GlobalArgs) -> Result<(), CliError> {
    match args.command {
        AccountCommand::Status { json } => runtime()?.block_on(status(json, global)),
        AccountCommand::Activate => runtime()?.block_on(async {
            let client = session_client(global).await?;
            let did = session_did(&client)?;
            client
                .call(ActivateAccount)
                .await
                .map_err(|e| xrpc_err(e.into()))?;
            println(&format!("activated {did}"))
        }),
        AccountCommand::Deactivate { delete_after } => {
            let mut input = deactivate_account::Input::new();
            if let Some(d) = delete_after {
                let d = Datetime::new(&d)
                    .map_err(|e| CliError::usage(format!("--delete-after {d:?}: {e}")))?;
                input = input.with_delete_after(LenientDatetime::from(d));
            }
            runtime()?.block_on(async {
                let client = session_client(global).await?;
                let did = session_did(&client)?;
                client.call(&input).await.map_err(|e| xrpc_err(e.into()))?;
                println(&format!("deactivated {did}"))
            })
        }
        AccountCommand::UpdateHandle { handle } => {
            let h = parse_handle(&handle)?;
            runtime()?.block_on(async {
                let client = session_client(global).await?;
                let did = session_did(&client)?;
                client
                    .call(&update_handle::Input::new(h.clone()))
                    .await
                    .map_err(|e| xrpc_err(e.into()))?;
                println(&format!("{did} is now {h}"))
            })
        }
        AccountCommand::Create {
            handle,
            email,
            invite_code,
            existing_did,
            recovery_key,
            json,
        } => {
            let Some(pds) = global.pds.clone() else {
                return Err(CliError::usage(
                    "account create needs --pds URL (the PDS to create the account on)",
                ));
            };
            let mut input = create_account::Input::new(parse_handle(&handle)?);
            if let Some(d) = existing_did {
                let d = Did::new(&d)
                    .map_err(|e| CliError::usage(format!("--existing-did {d:?}: {e}")))?;
                input = input.with_did(d);
            }
            if let Some(k) = recovery_key {
                atmo_crypto::PublicKey::from_did_key(&k)
                    .map_err(|e| CliError::usage(format!("--recovery-key: {e}")))?;
                input = input.with_recovery_key(k);
            }
            if let Some(e) = email {
                input = input.with_email(e);
            }
            if let Some(c) = invite_code {
                input = input.with_invite_code(c);
            }
            input = input.with_password(password()?);
            runtime()?.block_on(async {
                let client = client_for(&pds, global)?;
                let out = client.call(&input).await.map_err(|e| {
                    CliError::failed(format!(
                        "cannot create the account: {}",
                        atmo_xrpc::Error::from(e)
                    ))
                })?;
                if json {
                    let obj = serde_json::json!({
                        "did": out.did.as_str(),
                        "handle": out.handle.as_str(),
                    });
                    println(&obj.to_string())
                } else {
                    println(out.did.as_str())
                }
            })
        }
        AccountCommand::MissingBlobs { json } => runtime()?.block_on(async {
            let client = session_client(global).await?;
            let params = list_missing_blobs::Params::new().with_limit(500);
            let mut pages = std::pin::pin!(client.paginate(params));
            while let Some(page) = pages.try_next().await.map_err(|e| xrpc_err(e.into()))? {
                for b in page.blobs {
                    if json {
                        let obj = serde_json::json!({
                            "cid": b.cid.as_str(),
                            "recordUri": b.record_uri.as_str(),
                        });
                        println(&obj.to_string())?;
                    } else {
                        println(&format!("{}\t{}", b.cid.as_str(), b.record_uri.as_str()))?;
                    }
                }
            }
            Ok(())
        }),
        AccountCommand::CheckHandle { handle, json } => {
            let h = parse_handle(&handle)?;
            runtime()?.block_on(check_handle(h, json, global))
        }
    }
}

fn parse_handle(handle: &str) -> Result<Handle, CliError> {
    let bare = handle.trim().trim_start_matches('@');
    Handle::new(bare).map_err(|e| CliError::usage(format!("{handle:?} is not a handle: {e}")))
}

/// The new account's password: $ATMO_PASSWORD, else the first line of standard input
/// (never from a terminal, where it would be echoed).
fn password() -> Result<String, CliError> {
    if let Some(p) = std::env::var_os("ATMO_PASSWORD") {
        let p = p
            .into_string()
            .map_err(|_| CliError::usage("$ATMO_PASSWORD is not UTF-8"))?;
        if !p.is_empty() {
            return Ok(p);
        }
    }
    if std::io::stdin().is_terminal() {
        return Err(CliError::usage(
            "no password: set $ATMO_PASSWORD or pipe it on standard input",
        ));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .take(64 * 1024)
        .read_line(&mut line)
        .map_err(|e| CliError::failed(format!("cannot read the password from stdin: {e}")))?;
    let p = line.trim_end_matches(['\n', '\r']);
    if p.is_empty() {
        return Err(CliError::usage(
            "no password: set $ATMO_PASSWORD or write it on standard input",
        ));
    }
    Ok(p.to_owned())
}

/// `atmo account status`.
async fn status(json: bool, global: &GlobalArgs) -> Result<(), CliError> {
    let client = session_client(global).await?;
    let did = session_did(&client)?;
    let s = client
        .call(CheckAccountStatus)
        .await
        .map_err(|e| xrpc_err(e.into()))?;
    if json {
        let mut v = serde_json::to_value(&s).map_err(CliError::failed)?;
        if let Some(m) = v.as_object_mut() {
            m.insert("did".into(), did.as_str().into());
            m.insert("pds".into(), client.base().into());
        }
        return println(&v.to_string());
    }
    println(&format!(
        "did: {did}\npds: {}\nactivated: {}\nvalidDid: {}\nrepoCommit: {}\nrepoRev: {}\n\
         repoBlocks: {}\nindexedRecords: {}\nprivateStateValues: {}\nexpectedBlobs: {}\n\
         importedBlobs: {}",
        client.base(),
        s.activated,
        s.valid_did,
        s.repo_commit.as_str(),
        s.repo_rev,
        s.repo_blocks,
        s.indexed_records,
        s.private_state_values,
        s.expected_blobs,
        s.imported_blobs
    ))
}

/// `atmo account check-handle`.
async fn check_handle(h: Handle, json: bool, global: &GlobalArgs) -> Result<(), CliError> {
    let r = resolver(global)?;
    let fail = |did: Option<&str>, pds: Option<&str>, claimed: Option<&str>, reason: String| {
        if json {
            let obj = serde_json::json!({
                "handle": h.as_str(),
                "valid": false,
                "did": did,
                "pds": pds,
                "claimedHandle": claimed,
                "reason": reason,
            });
            println(&obj.to_string())?;
        }
        Err(CliError::failed(format!("{h} is not valid: {reason}")))
    };
    let resolved = match r.resolve_identifier(&AtIdentifier::Handle(h.clone())).await {
        Ok(x) => x,
        Err(e) => return fail(None, None, None, format!("it does not resolve: {e}")),
    };
    let claimed = resolved.doc.handle();
    let claimed_str = claimed.as_ref().map(Handle::as_str);
    if resolved.handle.is_none() {
        let why = match &claimed {
            Some(c) => format!(
                "it resolves to {}, whose DID document claims {c}, not {h}",
                resolved.did
            ),
            None => format!(
                "it resolves to {}, whose DID document names no handle",
                resolved.did
            ),
        };
        return fail(
            Some(resolved.did.as_str()),
            Some(resolved.pds.as_str()),
            claimed_str,
            why,
        );
    }
    if json {
        let obj = serde_json::json!({
            "handle": h.as_str(),
            "valid": true,
            "did": resolved.did.as_str(),
            "pds": resolved.pds,
            "claimedHandle": claimed_str,
        });
        println(&obj.to_string())
    } else {
        println(&format!(
            "valid: {h} -> {} -> at://{h}\npds: {}",
            resolved.did, resolved.pds
        ))
    }
}
