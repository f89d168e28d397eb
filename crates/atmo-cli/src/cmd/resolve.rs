//! `atmo resolve`: a handle or DID to its identity, checked in both directions.

use atmo_identity::ResolvedIdentity;
use atmo_syntax::AtIdentifier;

use super::GlobalArgs;
use crate::error::CliError;
use crate::io::println;
use crate::net::{parse_identifier, resolver, runtime};

/// Arguments of `atmo resolve`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Plain output is one `name: value` per line (did, handle, pds, signingKey).\n\
                  Exit 1 if the identity does not resolve, or if the handle and the DID do not\n\
                  point at each other (the handle is then shown as handle.invalid).\n\n\
                  Examples:\n  atmo resolve atproto.com\n  atmo resolve did:plc:ewvi7nxzyoun6zhxrhs64oiz --json\n  \
                  atmo resolve alice.test --plc http://127.0.0.1:2582 \\\n    \
                  --handle-resolver http://localhost:2583 --allow-private-network"
)]
pub(crate) struct ResolveArgs {
    /// The handle (`alice.bsky.social`, `@` and `at://` accepted) or DID to resolve.
    #[arg(value_name = "HANDLE|DID")]
    identifier: String,
    /// Print one JSON object {"did","handle","pds","signingKey"} (signingKey as a did:key).
    #[arg(long)]
    json: bool,
    /// Network options.
    #[command(flatten)]
    pub(crate) net: super::GlobalArgs,
}

/// Runs `atmo resolve`.
pub(crate) fn run(args: ResolveArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let id = parse_identifier(&args.identifier)?;
    let resolver = resolver(global)?;
    let resolved = runtime()?
        .block_on(resolver.resolve_identifier(&id))
        .map_err(|e| CliError::failed(format!("cannot resolve {}: {e}", id.as_str())))?;

    print(&resolved, args.json)?;
    if resolved.handle.is_none() {
        let why = match (&id, &resolved.claimed_handle) {
            (AtIdentifier::Handle(h), _) => format!(
                "{h} resolves to {}, but its DID document does not list at://{h}",
                resolved.did
            ),
            (AtIdentifier::Did(_), Some(h)) => format!(
                "{} claims the handle {h}, but {h} does not resolve back to it",
                resolved.did
            ),
            (AtIdentifier::Did(_), None) => {
                format!("the DID document of {} names no handle", resolved.did)
            }
        };
        return Err(CliError::failed(format!("handle not verified: {why}")));
    }
    Ok(())
}

fn print(id: &ResolvedIdentity, json: bool) -> Result<(), CliError> {
    let key = id.signing_key.to_did_key();
    if json {
        let obj = serde_json::json!({
            "did": id.did.as_str(),
            "handle": id.handle_or_invalid(),
            "pds": id.pds,
            "signingKey": key,
        });
        println(&obj.to_string())
    } else {
        println(&format!(
            "did: {}\nhandle: {}\npds: {}\nsigningKey: {key}",
            id.did,
            id.handle_or_invalid(),
            id.pds
        ))
    }
}
