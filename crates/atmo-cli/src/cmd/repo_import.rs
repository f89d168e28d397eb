//! `atmo repo import FILE.car`: upload a repository CAR to the signed-in account's PDS
//! (`com.atproto.repo.importRepo`), as when moving an account to a new PDS.
//!
//! The CAR is read and its records walked first, so a file that is not a repository
//! fails here with the reason rather than at the PDS. The PDS replaces the account's
//! records with the CAR's and signs a new commit with the account's own key; the CAR's
//! commit may name another DID (goat and the reference PDS do not check it).

use std::path::Path;

use atmo_api::com_atproto::repo::import_repo::ImportRepo;
use atmo_repo::Repo;
use atmo_xrpc::BinaryInput;

use super::GlobalArgs;
use crate::account::{session_client, session_did};
use crate::error::CliError;
use crate::io::{println, read_input};
use crate::net::{runtime, xrpc_err};

/// Runs `atmo repo import`.
pub(crate) fn import(file: &Path, global: &GlobalArgs) -> Result<(), CliError> {
    let bytes = read_input(Some(file))?;
    let (records, from, rev) = {
        let repo = Repo::from_car(&bytes)
            .map_err(|e| CliError::failed(format!("{}: {e}", file.display())))?;
        let mut n = 0usize;
        for r in repo.records() {
            r.map_err(|e| CliError::failed(format!("{}: {e}", file.display())))?;
            n += 1;
        }
        let c = repo.commit();
        (
            n,
            c.did.to_string(),
            c.rev.as_ref().map_or("-", |r| r.as_str()).to_owned(),
        )
    };
    runtime()?.block_on(async {
        let client = session_client(global).await?;
        let did = session_did(&client)?;
        let body = BinaryInput::new(bytes).content_type("application/vnd.ipld.car");
        client
            .call((ImportRepo, body))
            .await
            .map_err(|e| xrpc_err(e.into()))?;
        println(&format!(
            "imported {records} record{} (repository of {from}, rev {rev}) into {did} at {}",
            if records == 1 { "" } else { "s" },
            client.base()
        ))
    })
}
