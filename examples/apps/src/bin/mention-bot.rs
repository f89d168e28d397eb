//! A bot that replies to every post that mentions it.
//!
//! It signs in with an app password, follows the firehose of a relay (or of its own
//! PDS) with full verification, keeps only new `app.bsky.feed.post` records, and answers
//! each one that mentions it (a mention facet naming its DID, or its `@handle` in the
//! text) with a reply in the same thread. Each reply is printed as one JSON line.
//!
//! ```text
//! BOT_PASSWORD=... mention-bot --pds https://pds.example.com --handle bot.example.com
//! ```

use atmo::Agent;
use atmo::api::app_bsky::feed::post;
use atmo::api::app_bsky::richtext::facet::FacetFeaturesItem;
use atmo::firehose::{Config, Filter, Item, RepoEvent, Subscription};
use atmo::repo::Action;
use atmo::syntax::{AtUri, Did, Handle};
use atmo_examples::NetArgs;
use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "Reply to every post that mentions this account")]
struct Args {
    /// The bot account's PDS.
    #[arg(long)]
    pds: String,
    /// The bot account's handle (or DID).
    #[arg(long)]
    handle: String,
    /// The app password (better: the BOT_PASSWORD environment variable).
    #[arg(long, env = "BOT_PASSWORD", hide_env_values = true)]
    password: String,
    /// The relay whose firehose to follow (default: the bot's PDS).
    #[arg(long)]
    relay: Option<String>,
    /// The reply's text.
    #[arg(long, default_value = "Hello! I am a bot written with atmo.")]
    reply: String,
    /// Stop after this many replies.
    #[arg(long)]
    max_replies: Option<u64>,
    #[command(flatten)]
    net: NetArgs,
}

/// Whether `post` mentions the bot.
fn mentions(post: &post::Record, did: &Did, handle: Option<&Handle>) -> bool {
    let by_facet = post.facets.iter().flatten().any(|f| {
        f.features
            .iter()
            .any(|feat| matches!(feat, FacetFeaturesItem::Mention(m) if &m.did == did))
    });
    let by_text = handle.is_some_and(|h| {
        let at = format!("@{}", h.as_str());
        post.text.split_whitespace().any(|w| {
            w.trim_end_matches(|c: char| c.is_ascii_punctuation())
                .eq_ignore_ascii_case(&at)
        })
    });
    by_facet || by_text
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let agent: Agent = args
        .net
        .login(&args.pds, &args.handle, &args.password)
        .await?;
    let me = agent.require_did()?.clone();
    let handle = agent.handle().cloned();
    eprintln!("signed in as {me}; listening for mentions");

    let mut config = Config::new(args.relay.clone().unwrap_or_else(|| args.pds.clone()));
    config.filter = Filter::default().collection(post::NSID);
    config.allow_private_network = args.net.allow_private_network;
    config.plc_url.clone_from(&args.net.plc);
    let mut sub = Subscription::start(config)?;
    let mut replied = 0u64;
    while let Some(item) = sub.next().await {
        let commit = match item {
            Item::Event(RepoEvent::Commit(c)) => c,
            Item::Rejected { seq, did, error } => {
                eprintln!("#{seq} from {did} failed verification: {error}");
                continue;
            }
            _ => continue,
        };
        if commit.repo == me {
            continue;
        }
        for op in &commit.ops {
            if op.action != Action::Create || op.collection() != post::NSID {
                continue;
            }
            let Some(Ok(record)) = op.record_as::<post::Record>() else {
                continue;
            };
            if !mentions(&record, &me, handle.as_ref()) {
                continue;
            }
            let uri = AtUri::new(&format!("at://{}/{}", commit.repo, op.path))?;
            let written = agent
                .post(args.reply.clone())
                .reply_to(uri.clone())
                .send()
                .await?;
            println!(
                "{}",
                serde_json::json!({"mention": uri.as_str(), "reply": written.uri.as_str()})
            );
            replied += 1;
            if args.max_replies.is_some_and(|m| replied >= m) {
                sub.shutdown().await?;
                return Ok(());
            }
        }
    }
    Ok(())
}
