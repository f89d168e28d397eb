//! The ingester: every `xyz.statusphere.status` record on the configured relay or PDS,
//! fully verified (signatures, MST proofs, sync 1.1), validated against the lexicon,
//! into the `status` table; deletes remove rows. The cursor is stored with each commit's
//! changes, so a restart resumes where it stopped. With no stored cursor it starts live.
//! `#identity` events clear the handle cache for their account.

use std::sync::Arc;
use std::time::Duration;

use atmo::firehose::{Config, Filter, Item, RepoEvent, Subscription, VerifyLevel};
use atmo::repo::Action;

use crate::db::{Change, Db, StatusRow};
use crate::error::{Error, Result};
use crate::handles::Handles;
use crate::lexicon::{Validator, status};

/// Where and how to subscribe.
#[derive(Debug, Clone)]
pub struct IngesterConfig {
    /// The relay or PDS.
    pub host: String,
    /// The did:plc directory (for the repos' signing keys).
    pub plc_url: String,
    /// Allow loopback and private addresses.
    pub allow_private_network: bool,
}

/// Runs the ingester until the process stops: subscribes (resuming from the stored
/// cursor), and subscribes again if the stream ends.
///
/// # Errors
///
/// [`Error::Firehose`] when the subscription cannot be set up at all (a bad URL).
pub async fn run(
    db: Arc<Db>,
    validator: Arc<Validator>,
    handles: Handles,
    cfg: IngesterConfig,
) -> Result<()> {
    loop {
        let mut config = Config::new(cfg.host.clone());
        config.verify = VerifyLevel::Full;
        config.filter = Filter::default().collection(status::NSID);
        config.allow_private_network = cfg.allow_private_network;
        config.plc_url = cfg.plc_url.clone();
        config.cursor = db.cursor(&cfg.host)?;
        tracing::info!(host = %cfg.host, cursor = ?config.cursor, "firehose: subscribing");
        let mut sub = Subscription::start(config).map_err(|source| Error::Firehose { source })?;
        while let Some(item) = sub.next().await {
            if let Item::Event(RepoEvent::Identity(ev)) = &item {
                // The account's handle may have changed: look it up afresh.
                handles.forget(&ev.did, ev.handle.as_deref());
            }
            if let Err(e) = handle(&db, &validator, &cfg.host, item) {
                tracing::warn!(error = %e, "firehose: event not stored");
            }
        }
        tracing::warn!("firehose: stream ended; subscribing again");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn handle(db: &Db, validator: &Validator, host: &str, item: Item) -> Result<()> {
    match item {
        Item::Event(RepoEvent::Commit(c)) => {
            let mut changes = Vec::new();
            for op in &c.ops {
                if op.collection() != status::NSID {
                    continue;
                }
                let uri = format!("at://{}/{}", c.repo, op.path);
                match op.action {
                    Action::Delete => changes.push(Change::Delete(uri)),
                    Action::Create | Action::Update => {
                        let Some(value) = &op.record else {
                            continue;
                        };
                        match validator.read(&uri, value) {
                            Ok(rec) => changes.push(Change::Upsert(StatusRow {
                                uri,
                                author_did: c.repo.to_string(),
                                status: rec.status,
                                created_at: rec.created_at.as_str().to_owned(),
                                indexed_at: atmo::syntax::Datetime::now().as_str().to_owned(),
                            })),
                            Err(e) => {
                                // Not a status this app can show: an update that turns a
                                // record invalid removes the old version too.
                                tracing::info!(error = %e, "firehose: record skipped");
                                changes.push(Change::Delete(uri));
                            }
                        }
                    }
                }
            }
            if !changes.is_empty() {
                tracing::info!(seq = c.seq, repo = %c.repo, n = changes.len(), "firehose: statuses");
            }
            db.apply(host, c.seq, &changes)
        }
        Item::Event(ev) => match ev.seq() {
            Some(seq) => db.apply(host, seq, &[]),
            None => Ok(()),
        },
        Item::Rejected { seq, did, error } => {
            tracing::warn!(seq, %did, %error, "firehose: commit failed verification");
            db.apply(host, seq, &[])
        }
        Item::Gap { after, next } => {
            tracing::warn!(after, next, "firehose: sequence gap");
            Ok(())
        }
        Item::Malformed { error } => {
            tracing::warn!(%error, "firehose: malformed frame");
            Ok(())
        }
        Item::Reconnecting {
            attempt,
            delay,
            reason,
        } => {
            tracing::info!(attempt, ?delay, %reason, "firehose: reconnecting");
            Ok(())
        }
        _ => Ok(()),
    }
}
