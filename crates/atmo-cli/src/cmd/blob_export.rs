//! `atmo blob ls ACCOUNT` and `atmo blob export ACCOUNT -o DIR`: the blobs of a repository
//! (`com.atproto.sync.listBlobs`, every page) and downloading them all
//! (`com.atproto.sync.getBlob`, each checked against its CID).
//!
//! CIDs come from the PDS and are untrusted: each must parse as a CID, and the file name
//! is its canonical string form (base32 letters and digits only), never the raw text.

use std::path::Path;

use atmo_api::com_atproto::sync::list_blobs;
use atmo_data::Cid;
use atmo_syntax::Did;
use atmo_xrpc::Client;
use futures_util::TryStreamExt as _;

use super::GlobalArgs;
use crate::account::read_target;
use crate::error::CliError;
use crate::io::println;
use crate::net::{Progress, download, xrpc_err};

/// Every blob CID of `did`'s repository, in the order the PDS lists them.
async fn list_all(client: &Client, did: &Did) -> Result<Vec<Cid>, CliError> {
    let params = list_blobs::Params::new(did.clone()).with_limit(1000);
    let mut pages = std::pin::pin!(client.paginate(params));
    let mut out = Vec::new();
    while let Some(page) = pages.try_next().await.map_err(|e| xrpc_err(e.into()))? {
        for c in page.cids {
            let cid: Cid = c.as_str().parse().map_err(|e| {
                CliError::failed(format!(
                    "{}: listBlobs answered an invalid CID {:?}: {e}",
                    client.base(),
                    c.as_str()
                ))
            })?;
            out.push(cid);
        }
    }
    Ok(out)
}

/// `atmo blob ls`.
pub(crate) async fn ls(account: &str, json: bool, global: &GlobalArgs) -> Result<(), CliError> {
    let (client, did) = read_target(account, global).await?;
    let cids = list_all(&client, &did).await?;
    if json {
        let list: Vec<String> = cids.iter().map(Cid::to_string).collect();
        let obj = serde_json::json!({ "did": did.as_str(), "cids": list });
        return println(&obj.to_string());
    }
    let mut out = String::with_capacity(cids.len() * 60);
    for c in &cids {
        out.push_str(&c.to_string());
        out.push('\n');
    }
    crate::io::write_stdout(out.as_bytes())
}

/// Whether `path` is a regular file whose bytes hash to `cid` (raw codec).
fn already_have(path: &Path, cid: &Cid) -> bool {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => std::fs::read(path).is_ok_and(|bytes| Cid::for_raw(&bytes) == *cid),
        _ => false,
    }
}

/// `atmo blob export`.
pub(crate) async fn export(
    account: &str,
    dir: &Path,
    json: bool,
    global: &GlobalArgs,
) -> Result<(), CliError> {
    let (client, did) = read_target(account, global).await?;
    let cids = list_all(&client, &did).await?;
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(CliError::failed(format!(
                "{} exists and is not a directory",
                dir.display()
            )));
        }
        Err(_) => std::fs::create_dir_all(dir)
            .map_err(|e| CliError::failed(format!("cannot create {}: {e}", dir.display())))?,
    }
    let (mut fetched, mut kept) = (0usize, 0usize);
    // A blob that fails (listed but not served, or bytes that do not match) does not stop
    // the others; the failures are reported at the end, with exit 1.
    let mut failed: Vec<(Cid, String)> = Vec::new();
    for cid in &cids {
        let path = dir.join(cid.to_string());
        if already_have(&path, cid) {
            kept += 1;
            continue;
        }
        if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file()) {
            failed.push((
                *cid,
                format!("{} exists and is not a regular file", path.display()),
            ));
            continue;
        }
        let res = async {
            let stream = client.get_blob(&did, cid).await.map_err(xrpc_err)?;
            let progress = Progress::new(cid.to_string(), stream.content_length());
            download(stream, &path, progress).await
        }
        .await;
        match res {
            Ok(()) => fetched += 1,
            Err(e) => failed.push((*cid, e.to_string())),
        }
    }
    if json {
        let obj = serde_json::json!({
            "did": did.as_str(),
            "dir": dir.display().to_string(),
            "blobs": cids.len(),
            "downloaded": fetched,
            "present": kept,
            "failed": failed
                .iter()
                .map(|(c, e)| serde_json::json!({ "cid": c.to_string(), "error": e }))
                .collect::<Vec<_>>(),
        });
        println(&obj.to_string())?;
    } else {
        println(&format!(
            "{} blob{} of {did} in {}: {fetched} downloaded, {kept} already present, {} failed",
            cids.len(),
            if cids.len() == 1 { "" } else { "s" },
            dir.display(),
            failed.len()
        ))?;
    }
    match failed.first() {
        None => Ok(()),
        Some((cid, e)) => Err(CliError::failed(format!(
            "{} of {} blobs could not be downloaded (the first, {cid}: {e})",
            failed.len(),
            cids.len()
        ))),
    }
}
