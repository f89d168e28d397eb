//! One module per top-level subcommand.

pub(crate) mod blob;
pub(crate) mod data;
pub(crate) mod export;
pub(crate) mod firehose;
pub(crate) mod key;
pub(crate) mod lex;
pub(crate) mod oauth;
pub(crate) mod post;
pub(crate) mod record;
pub(crate) mod repo;
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
