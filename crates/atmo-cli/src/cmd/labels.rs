//! `atmo labels`: follow a labeller's subscribeLabels stream, every label's signature
//! checked with the labeller's `#atproto_label` key.

use std::io::Write as _;

use atmo_firehose::{Label, LabelConfig, LabelItem, LabelSubscription};

use crate::cmd::GlobalArgs;
use crate::error::CliError;

/// Follow com.atproto.label.subscribeLabels, verifying every label.
#[derive(Debug, clap::Args)]
pub(crate) struct LabelsArgs {
    /// The labeller's base URL (http, https, ws or wss).
    #[arg(long, value_name = "URL")]
    host: String,
    /// Start after this sequence number (0: everything the labeller keeps).
    #[arg(long, value_name = "N")]
    cursor: Option<i64>,
    /// One JSON object per label: seq, src, uri, cid, val, neg, cts, exp.
    #[arg(long)]
    json: bool,
    /// Network options.
    #[command(flatten)]
    pub(crate) net: GlobalArgs,
}

fn json_line(seq: i64, l: &Label) -> String {
    serde_json::json!({
        "seq": seq,
        "src": l.src.as_str(),
        "uri": l.uri,
        "cid": l.cid,
        "val": l.val,
        "neg": l.neg,
        "cts": l.cts,
        "exp": l.exp,
    })
    .to_string()
}

fn text_line(seq: i64, l: &Label) -> String {
    let sign = if l.neg { "-" } else { "+" };
    format!("{seq} {sign}{} {} by {}", l.val, l.uri, l.src)
}

/// Runs `atmo labels`.
pub(crate) fn run(args: LabelsArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let mut config = LabelConfig::new(args.host.clone());
    config.cursor = args.cursor;
    config.allow_private_network = global.allow_private_network;
    config.plc_url = global.plc.clone();
    crate::net::runtime()?.block_on(async move {
        let mut sub = LabelSubscription::start(config).map_err(CliError::failed)?;
        let mut out = std::io::stdout().lock();
        loop {
            let item = tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                item = sub.next() => item,
            };
            match item {
                None => break,
                Some(LabelItem::Labels { seq, labels }) => {
                    for l in &labels {
                        let line = if args.json {
                            json_line(seq, l)
                        } else {
                            text_line(seq, l)
                        };
                        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                            return Ok(());
                        }
                    }
                }
                Some(LabelItem::Rejected { seq, error }) => {
                    eprintln!("rejected: seq {seq}: {error}")
                }
                Some(LabelItem::Info(i)) => eprintln!("info: {}", i.name),
                Some(LabelItem::Reconnecting {
                    attempt,
                    delay,
                    reason,
                }) => {
                    eprintln!("reconnecting (attempt {attempt}, in {delay:?}): {reason}");
                }
                Some(_) => {}
            }
        }
        if let Some(seq) = sub.last_seq() {
            eprintln!("last seq: {seq}");
        }
        sub.shutdown().await;
        Ok(())
    })
}
