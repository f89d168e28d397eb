//! `atmo service-auth create|verify`: inter-service tokens.

use atmo::service_auth::{Expect, Verifier};
use atmo_syntax::Nsid;

use super::GlobalArgs;
use crate::account::session_client;
use crate::error::CliError;
use crate::io::println;
use crate::net::{resolver, runtime};

/// Arguments of `atmo service-auth`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServiceAuthArgs {
    #[command(subcommand)]
    command: ServiceAuthCommand,
    /// Network options.
    #[command(flatten)]
    pub(crate) net: super::GlobalArgs,
}

#[derive(Debug, clap::Subcommand)]
enum ServiceAuthCommand {
    /// Ask the PDS for a token that lets the service AUD act for the signed-in account;
    /// prints the token.
    Create {
        /// The service the token is for: its DID (or `did#service`).
        #[arg(long, value_name = "DID")]
        aud: String,
        /// Limit the token to this XRPC method.
        #[arg(long, value_name = "NSID")]
        lxm: Option<String>,
        /// Seconds until it expires (the PDS's default, 60, when not given).
        #[arg(long, value_name = "SECONDS")]
        exp: Option<u64>,
    },
    /// Verify a token as the service AUD would: shape, expiry, audience, method, and the
    /// signature with the issuer's key from its DID document. Exit 0 and the claims when
    /// valid; exit 1 and the reason otherwise.
    Verify {
        /// The token.
        token: String,
        /// The verifying service's DID (or `did#service`).
        #[arg(long, value_name = "DID")]
        aud: String,
        /// The method being called: the token's `lxm` must name it.
        #[arg(long, value_name = "NSID")]
        lxm: Option<String>,
        /// Print the claims as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

fn nsid(s: Option<String>) -> Result<Option<Nsid>, CliError> {
    s.map(|s| Nsid::new(&s).map_err(|e| CliError::usage(format!("--lxm {s:?}: {e}"))))
        .transpose()
}

/// Runs `atmo service-auth`.
pub(crate) fn run(args: ServiceAuthArgs, global: &GlobalArgs) -> Result<(), CliError> {
    match args.command {
        ServiceAuthCommand::Create { aud, lxm, exp } => {
            let lxm = nsid(lxm)?;
            runtime()?.block_on(async {
                let agent = atmo::Agent::new(session_client(global).await?);
                let token = agent
                    .service_auth(&aud, lxm.as_ref(), exp)
                    .await
                    .map_err(CliError::failed)?;
                println(&token)
            })
        }
        ServiceAuthCommand::Verify {
            token,
            aud,
            lxm,
            json,
        } => {
            let mut expect = Expect::new(aud);
            if let Some(lxm) = nsid(lxm)? {
                expect = expect.lxm(lxm);
            }
            runtime()?.block_on(async {
                let verifier = Verifier::new(resolver(global)?);
                let claims = verifier
                    .verify(token.trim(), &expect)
                    .await
                    .map_err(CliError::failed)?;
                if json {
                    let out = serde_json::to_string(&claims).map_err(CliError::failed)?;
                    println(&out)
                } else {
                    println(&format!(
                        "valid: issued by {} for {}",
                        claims.iss, claims.aud
                    ))?;
                    println(&format!(
                        "lxm: {}",
                        claims.lxm.as_deref().unwrap_or("(any)")
                    ))?;
                    println(&format!("exp: {}", claims.exp))?;
                    if let Some(iat) = claims.iat {
                        println(&format!("iat: {iat}"))?;
                    }
                    if let Some(jti) = &claims.jti {
                        println(&format!("jti: {jti}"))?;
                    }
                    Ok(())
                }
            })
        }
    }
}
