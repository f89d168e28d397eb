//! `atmo repo export HANDLE|DID -o FILE.car`: download a repository with
//! com.atproto.sync.getRepo.

use std::path::Path;

use super::GlobalArgs;
use crate::account::read_target;
use crate::error::CliError;
use crate::net::{Progress, download, runtime, xrpc_err};

/// Downloads the repository of `handle_or_did` into `out` (written to `out.part`, renamed
/// at the end). The PDS is --pds, else the session's for its own account, else the one
/// the DID document names. On a terminal, standard error shows a progress line (bytes,
/// rate, and a percentage when the size is announced).
// Wired into `atmo repo export` by the lead.
pub(crate) fn export(handle_or_did: &str, out: &Path, global: &GlobalArgs) -> Result<(), CliError> {
    runtime()?.block_on(async {
        let (client, did) = read_target(handle_or_did, global).await?;
        let stream = client.get_repo(&did, None).await.map_err(xrpc_err)?;
        let progress = Progress::new(did.to_string(), stream.content_length());
        download(stream, out, progress).await
    })
}
