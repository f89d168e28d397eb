//! One module per top-level subcommand.

pub(crate) mod account_cmd;
pub(crate) mod blob;
pub(crate) mod blob_export;
pub(crate) mod data;
pub(crate) mod export;
pub(crate) mod firehose;
pub(crate) mod jetstream;
pub(crate) mod key;
pub(crate) mod labels;
pub(crate) mod lex;
pub(crate) mod lex_breaking;
pub(crate) mod lex_lint;
pub(crate) mod lex_pull;
pub(crate) mod oauth;
pub(crate) mod p2p;
pub(crate) mod plc;
pub(crate) mod post;
pub(crate) mod record;
pub(crate) mod repo;
pub(crate) mod repo_import;
pub(crate) mod repo_mst;
pub(crate) mod repo_unpack;
pub(crate) mod resolve;
pub(crate) mod service_auth;
pub(crate) mod session;
pub(crate) mod syntax;
pub(crate) mod tid;
pub(crate) mod xrpc;

/// Options every network command understands (they may appear before or after it).
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct GlobalArgs {
    /// The PDS to talk to (default: the session's PDS, or the one the identity names).
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) pds: Option<String>,
    /// The did:plc directory.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        default_value = "https://plc.directory"
    )]
    pub(crate) plc: String,
    /// Resolve handles through this service's com.atproto.identity.resolveHandle.
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) handle_resolver: Option<String>,
    /// Allow connections to private, loopback and link-local addresses.
    #[arg(long, global = true)]
    pub(crate) allow_private_network: bool,
}
