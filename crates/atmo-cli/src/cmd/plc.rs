//! `atmo plc log|verify`: a did:plc's audit log, printed and verified whole.

use atmo_identity::plc::{AuditEntry, VerifiedLog, VerifyOptions, verify_audit_log};
use atmo_syntax::Did;

use super::GlobalArgs;
use crate::error::CliError;
use crate::io::println;
use crate::net::{resolver, runtime};

/// Arguments of `atmo plc`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  atmo plc log did:plc:ewvi7nxzyoun6zhxrhs64oiz\n  \
                  atmo plc verify did:plc:ewvi7nxzyoun6zhxrhs64oiz\n  \
                  atmo plc verify did:plc:... --plc http://127.0.0.1:2582 --allow-private-network"
)]
pub(crate) struct PlcArgs {
    #[command(subcommand)]
    command: PlcCommand,
    /// Network options.
    #[command(flatten)]
    pub(crate) net: GlobalArgs,
}

#[derive(Debug, clap::Subcommand)]
enum PlcCommand {
    /// Print the audit log, one line per operation: index, createdAt, cid, type,
    /// nullified=true|false. Exit 1 (after printing) when the log does not verify.
    Log {
        /// The did:plc.
        did: String,
        /// Print the verified log as one JSON object {did, verified, error, tombstoned,
        /// operations: [{index, createdAt, cid, type, nullified, signer, operation}], state}.
        #[arg(long)]
        json: bool,
    },
    /// Verify the whole audit log (genesis hash, signatures, prev links, nullification,
    /// tombstones) and that the directory's /data and DID document match its last valid
    /// operation. Exit 0 with a summary, or 1 naming the first broken operation.
    Verify {
        /// The did:plc.
        did: String,
    },
}

fn parse_did(s: &str) -> Result<Did, CliError> {
    let did =
        Did::new(s.trim()).map_err(|e| CliError::failed(format!("{s:?} is not a DID: {e}")))?;
    if did.method() != "plc" {
        return Err(CliError::failed(format!("{did} is not a did:plc")));
    }
    Ok(did)
}

/// Runs `atmo plc`.
pub(crate) fn run(global: GlobalArgs, args: PlcArgs) -> Result<(), CliError> {
    let resolver = resolver(&global)?;
    let rt = runtime()?;
    let options = VerifyOptions::default();
    match args.command {
        PlcCommand::Log { did, json } => {
            let did = parse_did(&did)?;
            let entries = rt.block_on(resolver.plc_audit_log(&did)).map_err(|e| {
                CliError::failed(format!("cannot read the audit log of {did}: {e}"))
            })?;
            let verified = verify_audit_log(&did, entries.clone(), &options);
            if json {
                println(&log_json(&did, &entries, &verified).to_string())?;
            } else {
                for (i, e) in entries.iter().enumerate() {
                    println(&format!(
                        "{i} {} {} {} nullified={}",
                        e.created_at,
                        e.cid,
                        e.operation_type(),
                        e.nullified
                    ))?;
                }
            }
            verified.map(|_| ()).map_err(CliError::failed)
        }
        PlcCommand::Verify { did } => {
            let did = parse_did(&did)?;
            let log = rt
                .block_on(resolver.plc_verify(&did, &options))
                .map_err(CliError::failed)?;
            println(&summary(&log))
        }
    }
}

fn log_json(
    did: &Did,
    entries: &[AuditEntry],
    verified: &Result<VerifiedLog, atmo_identity::Error>,
) -> serde_json::Value {
    let ok = verified.as_ref().ok();
    let operations: Vec<serde_json::Value> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            serde_json::json!({
                "index": i,
                "createdAt": e.created_at.as_str(),
                "cid": e.cid.to_string(),
                "type": e.operation_type(),
                "nullified": e.nullified,
                "signer": ok.and_then(|v| v.signers.get(i)),
                "operation": e.operation.to_json(),
            })
        })
        .collect();
    serde_json::json!({
        "did": did.as_str(),
        "verified": ok.is_some(),
        "error": verified.as_ref().err().map(ToString::to_string),
        "tombstoned": ok.map(VerifiedLog::is_tombstoned),
        "operations": operations,
        "state": ok.and_then(|v| v.state.as_ref()).map(atmo_identity::plc::PlcData::to_json),
    })
}

fn summary(log: &VerifiedLog) -> String {
    let mut out = format!(
        "{}: verified {} operations ({} nullified)",
        log.did,
        log.entries.len(),
        log.nullified_count()
    );
    match &log.state {
        None => out.push_str("; deactivated by a tombstone, and the directory serves no document"),
        Some(state) => {
            out.push_str("; the directory's /data and DID document match");
            out.push_str(&format!(
                "\nalsoKnownAs: {}",
                state.also_known_as.join(", ")
            ));
            out.push_str(&format!(
                "\npds: {}",
                state.pds_endpoint().unwrap_or("none")
            ));
            out.push_str(&format!(
                "\natproto key: {}",
                state.atproto_key().unwrap_or("none")
            ));
            out.push_str(&format!(
                "\nrotation keys: {}",
                state.rotation_keys.join(", ")
            ));
        }
    }
    if let Some(head) = log.head() {
        out.push_str(&format!(
            "\nlast operation: {} ({})",
            head.cid, head.created_at
        ));
    }
    out
}
