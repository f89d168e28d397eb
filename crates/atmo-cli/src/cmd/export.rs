//! `atmo repo export HANDLE|DID -o FILE.car`: download a repository with
//! com.atproto.sync.getRepo.

use std::path::Path;

use futures_util::StreamExt as _;
use tokio::io::AsyncWriteExt as _;

use super::GlobalArgs;
use super::session::{read_client, runtime, xrpc_err};
use crate::error::CliError;

/// Downloads the repository of `handle_or_did` into `out` (written beside it, renamed at
/// the end); prints the byte count on a terminal.
// Wired into `atmo repo export` by the lead.
#[allow(dead_code)]
pub(crate) fn export(handle_or_did: &str, out: &Path, global: &GlobalArgs) -> Result<(), CliError> {
    runtime()?.block_on(async {
        let client = read_client(global)?;
        let did = if handle_or_did.starts_with("did:") {
            handle_or_did.to_owned()
        } else {
            let req = atmo_xrpc::XrpcRequest::query("com.atproto.identity.resolveHandle")
                .map_err(xrpc_err)?
                .param("handle", handle_or_did);
            let v = client
                .send(&req)
                .await
                .map_err(xrpc_err)?
                .value()
                .map_err(xrpc_err)?;
            v.get("did")
                .and_then(|d| d.as_str())
                .map(str::to_owned)
                .ok_or_else(|| CliError::failed(format!("{handle_or_did}: not resolved")))?
        };
        let mut stream = client.get_repo(&did, None).await.map_err(xrpc_err)?;
        let tmp = out.with_extension("part");
        let mut f = tokio::fs::File::create(&tmp).await?;
        let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let mut n = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    drop(f);
                    let _ = std::fs::remove_file(&tmp);
                    return Err(xrpc_err(e));
                }
            };
            f.write_all(&chunk).await?;
            n += chunk.len() as u64;
            if tty {
                eprint!("\r{did}: {n} bytes");
            }
        }
        f.flush().await?;
        drop(f);
        if tty {
            eprintln!();
        }
        std::fs::rename(&tmp, out)?;
        Ok(())
    })
}
