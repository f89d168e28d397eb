//! `atmo jetstream`: read a Jetstream endpoint, or serve one from a relay's or PDS's
//! subscribeRepos stream.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use atmo_firehose::jetstream::{
    JetstreamClient, JetstreamConfig, JetstreamItem, JetstreamServer, ServerConfig,
    SubscribeOptions,
};
use atmo_firehose::{Config, VerifyLevel};

use crate::cmd::GlobalArgs;
use crate::error::CliError;

/// Read a Jetstream endpoint (one JSON event per line), or serve one (`serve`).
#[derive(Debug, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  atmo jetstream --host wss://jetstream.example --collection app.bsky.feed.post\n  atmo jetstream serve --upstream https://pds.example --listen 127.0.0.1:6008 --buffer js-buffer"
)]
pub(crate) struct JetstreamArgs {
    #[command(subcommand)]
    command: Option<JetstreamCommand>,
    /// The Jetstream server's base URL (http, https, ws or wss).
    #[arg(long, value_name = "URL")]
    host: Option<String>,
    /// Only commits of this collection (an NSID, or a prefix such as app.bsky.graph.*).
    #[arg(long, value_name = "NSID")]
    collection: Vec<String>,
    /// Only events of this account.
    #[arg(long, value_name = "DID")]
    did: Vec<String>,
    /// Replay from this time, in microseconds since the Unix epoch.
    #[arg(long, value_name = "US")]
    cursor: Option<i64>,
    /// Network options.
    #[command(flatten)]
    pub(crate) net: GlobalArgs,
}

#[derive(Debug, clap::Subcommand)]
enum JetstreamCommand {
    /// Serve Jetstream's /subscribe from a relay's or PDS's subscribeRepos stream, each
    /// commit verified first; cursor replay from an on-disk buffer.
    Serve {
        /// The relay or PDS to follow (http, https, ws or wss).
        #[arg(long, value_name = "URL")]
        upstream: String,
        /// Where to listen (IP:PORT).
        #[arg(long, value_name = "ADDR")]
        listen: SocketAddr,
        /// The replay buffer's directory (kept across restarts, with the upstream cursor).
        #[arg(long, value_name = "DIR")]
        buffer: Option<PathBuf>,
        /// How much to verify upstream: none, hashes or full.
        #[arg(long, value_name = "LEVEL", default_value = "full")]
        verify: String,
        /// Network options.
        #[command(flatten)]
        net: GlobalArgs,
    },
}

/// Runs `atmo jetstream`.
pub(crate) fn run(args: JetstreamArgs, global: &GlobalArgs) -> Result<(), CliError> {
    match args.command {
        Some(JetstreamCommand::Serve {
            upstream,
            listen,
            buffer,
            verify,
            net,
        }) => serve(upstream, listen, buffer, &verify, &net),
        None => {
            let Some(host) = args.host else {
                return Err(CliError::usage(
                    "atmo jetstream needs --host URL (or the serve subcommand)",
                ));
            };
            let options = SubscribeOptions {
                wanted_collections: args.collection,
                wanted_dids: args.did,
                ..Default::default()
            };
            options.check().map_err(CliError::usage)?;
            read(host, options, args.cursor, global)
        }
    }
}

fn read(
    host: String,
    options: SubscribeOptions,
    cursor: Option<i64>,
    global: &GlobalArgs,
) -> Result<(), CliError> {
    let mut config = JetstreamConfig::new(host);
    config.options = options;
    config.cursor = cursor;
    config.allow_private_network = global.allow_private_network;
    crate::net::runtime()?.block_on(async move {
        let mut client = JetstreamClient::start(config).map_err(CliError::failed)?;
        let mut out = std::io::stdout().lock();
        loop {
            let item = tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                item = client.next() => item,
            };
            match item {
                None => break,
                Some(JetstreamItem::Event(ev)) => {
                    let line = serde_json::to_string(&ev).map_err(CliError::failed)?;
                    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                        break;
                    }
                }
                Some(JetstreamItem::Reconnecting {
                    attempt,
                    delay,
                    reason,
                }) => {
                    eprintln!("reconnecting (attempt {attempt}, in {delay:?}): {reason}");
                }
                Some(JetstreamItem::Malformed { reason }) => {
                    eprintln!("skipped a message: {reason}")
                }
                Some(_) => {}
            }
        }
        if let Some(t) = client.last_time_us() {
            eprintln!("last time_us: {t}");
        }
        client.shutdown().await;
        Ok(())
    })
}

fn serve(
    upstream: String,
    listen: SocketAddr,
    buffer: Option<PathBuf>,
    verify: &str,
    net: &GlobalArgs,
) -> Result<(), CliError> {
    let verify: VerifyLevel = verify.parse().map_err(CliError::usage)?;
    let mut up = Config::new(upstream.clone());
    up.verify = verify;
    up.allow_private_network = net.allow_private_network;
    up.plc_url = net.plc.clone();
    let mut config = ServerConfig::new(up, listen);
    config.buffer_dir = buffer;
    crate::net::runtime()?.block_on(async move {
        let server = JetstreamServer::start(config)
            .await
            .map_err(CliError::failed)?;
        eprintln!(
            "jetstream: serving ws://{}/subscribe from {upstream}",
            server.local_addr()
        );
        let _ = tokio::signal::ctrl_c().await;
        server.shutdown().await;
        Ok(())
    })
}
