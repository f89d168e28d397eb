//! `atmo firehose`: follow a relay's or PDS's subscribeRepos stream, verified.

use std::io::Write as _;

use atmo_firehose::{Config, Filter, Item, RepoEvent, Subscription, VerifyLevel};

use crate::cmd::GlobalArgs;
use crate::error::CliError;

/// Follow com.atproto.sync.subscribeRepos, verifying every commit.
#[derive(Debug, clap::Args)]
pub(crate) struct FirehoseArgs {
    /// The relay or PDS base URL (http, https, ws or wss).
    #[arg(long, value_name = "URL")]
    host: String,
    /// Start after this sequence number (0: from the beginning the server keeps).
    #[arg(long, value_name = "N")]
    cursor: Option<i64>,
    /// Keep only records of this collection (an NSID, or a prefix such as app.bsky.feed.*).
    #[arg(long, value_name = "NSID")]
    collection: Vec<String>,
    /// Keep only events of this account.
    #[arg(long, value_name = "DID")]
    did: Vec<String>,
    /// How much to verify: none, hashes or full (signature and sync 1.1).
    #[arg(long, value_name = "LEVEL", default_value = "full")]
    verify: String,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
    /// Threads that verify commits (repositories spread over them, output still in order).
    #[arg(long, value_name = "N", default_value_t = 1)]
    workers: usize,
    /// Network options.
    #[command(flatten)]
    pub(crate) net: super::GlobalArgs,
}

/// Runs `atmo firehose`.
pub(crate) fn run(args: FirehoseArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let verify: VerifyLevel = args.verify.parse().map_err(CliError::usage)?;
    let mut filter = Filter::default();
    for c in &args.collection {
        filter = filter.collection(c.clone());
    }
    for d in &args.did {
        let did = d
            .parse()
            .map_err(|e| CliError::usage(format!("--did {d}: {e}")))?;
        filter = filter.did(did);
    }
    let mut config = Config::new(args.host.clone());
    config.cursor = args.cursor;
    config.verify = verify;
    config.filter = filter;
    config.workers = args.workers.max(1);
    config.allow_private_network = global.allow_private_network;
    config.plc_url = global.plc.clone();
    let rt = crate::net::runtime()?;
    rt.block_on(async move {
        let mut sub = Subscription::start(config).map_err(CliError::failed)?;
        let mut out = std::io::stdout().lock();
        loop {
            let item = tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                item = sub.next() => item,
            };
            let Some(item) = item else { break };
            match item {
                Item::Event(ev) => {
                    let line = if args.json {
                        json_line(&ev)
                    } else {
                        text_line(&ev)
                    };
                    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                        break; // stdout closed (e.g. piped into head)
                    }
                }
                Item::Rejected { seq, did, error } => {
                    eprintln!("rejected: seq {seq} did {did}: {error}");
                }
                Item::Gap { after, next } => eprintln!("gap: seq {after} then {next}"),
                Item::Malformed { error } => eprintln!("malformed frame skipped: {error}"),
                Item::Reconnecting { delay, reason, .. } => {
                    eprintln!("reconnecting in {} ms: {reason}", delay.as_millis());
                }
                other => eprintln!("{other:?}"),
            }
        }
        let last = sub.last_seq();
        let end = sub.shutdown().await;
        match last {
            Some(seq) => eprintln!("last seq: {seq}"),
            None => eprintln!("last seq: none"),
        }
        end.map(drop).map_err(CliError::failed)
    })
}

fn json_line(ev: &RepoEvent) -> String {
    let mut o = serde_json::Map::new();
    o.insert("seq".into(), ev.seq().into());
    o.insert("type".into(), ev.kind().into());
    o.insert("did".into(), ev.did().map(ToString::to_string).into());
    o.insert("time".into(), ev.time().into());
    if let RepoEvent::Commit(c) = ev {
        o.insert("rev".into(), c.rev.to_string().into());
        let ops: Vec<serde_json::Value> = c
            .ops
            .iter()
            .map(|op| {
                let mut m = serde_json::Map::new();
                m.insert("action".into(), op.action.as_str().into());
                m.insert("path".into(), op.path.clone().into());
                m.insert("cid".into(), op.cid.map(|c| c.to_string()).into());
                if let Some(r) = &op.record {
                    let v = serde_json::from_str(&atmo_data::json::to_string(r))
                        .unwrap_or(serde_json::Value::Null);
                    m.insert("record".into(), v);
                }
                serde_json::Value::Object(m)
            })
            .collect();
        o.insert("ops".into(), ops.into());
        if c.desynchronized {
            o.insert("desynchronized".into(), true.into());
        }
    }
    if let RepoEvent::Info(i) = ev {
        o.insert("name".into(), i.name.clone().into());
    }
    serde_json::Value::Object(o).to_string()
}

fn text_line(ev: &RepoEvent) -> String {
    let seq = ev.seq().map_or_else(|| "-".into(), |s| s.to_string());
    let did = ev.did().map_or_else(|| "-".into(), ToString::to_string);
    match ev {
        RepoEvent::Commit(c) => {
            let ops: Vec<String> = c
                .ops
                .iter()
                .map(|o| format!("{} {}", o.action.as_str(), o.path))
                .collect();
            format!("{seq} commit {did} {} [{}]", c.rev, ops.join(", "))
        }
        RepoEvent::Info(i) => format!("{seq} info {}", i.name),
        other => format!("{seq} {} {did}", other.kind()),
    }
}
