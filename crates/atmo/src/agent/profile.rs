//! The account's profile (`app.bsky.actor.profile`, key `self`): read, and edit under a
//! swap so concurrent edits are never lost.

use atmo_api::app_bsky::actor::profile;
use atmo_api::records::{Stored, Swap, Written};
use atmo_syntax::{AtUri, Did, RecordKey};

use super::Agent;
use crate::error::{Error, Result};

/// How many times [`Agent::update_profile`] re-reads and retries after losing a race.
pub const PROFILE_ATTEMPTS: u32 = 10;

/// A random wait of up to 25 ms per attempt so racing editors spread out.
fn jitter(attempt: u32) -> std::time::Duration {
    use atmo_crypto::p256::elliptic_curve::rand_core::{OsRng, RngCore as _};
    let cap = u64::from(attempt) * 25;
    std::time::Duration::from_millis(OsRng.next_u64() % cap.max(1))
}

fn self_key() -> Result<RecordKey> {
    RecordKey::new("self").map_err(|e| Error::Record {
        nsid: profile::NSID,
        message: e.to_string(),
    })
}

impl Agent {
    /// The signed-in account's profile record; `None` when it has none yet.
    ///
    /// # Errors
    ///
    /// As [`Agent::get_record`].
    pub async fn profile(&self) -> Result<Option<Stored<profile::Record>>> {
        self.get_record::<profile::Record>(&self_key()?).await
    }

    /// Any account's profile record, read from its PDS (no AppView needed).
    ///
    /// # Errors
    ///
    /// As [`Agent::get_public_record`].
    pub async fn profile_of(&self, did: &Did) -> Result<Option<Stored<profile::Record>>> {
        let text = format!("at://{did}/{}/self", profile::NSID);
        let uri = AtUri::new(&text).map_err(|_| Error::BadUri {
            uri: text.clone(),
            problem: "cannot form the profile URI",
        })?;
        self.get_public_record::<profile::Record>(&uri).await
    }

    /// Edits the profile: reads it (or starts from an empty one), applies `edit`, and
    /// writes it only if nobody changed it in between (a swap on the record's CID);
    /// after losing such a race it waits a short random time, reads again and re-applies
    /// `edit`, up to [`PROFILE_ATTEMPTS`] times.
    ///
    /// # Errors
    ///
    /// [`Error::TooManyConflicts`] after that many lost races; as [`Agent::put_record`].
    pub async fn update_profile<F>(&self, mut edit: F) -> Result<Written>
    where
        F: FnMut(&mut profile::Record),
    {
        let rkey = self_key()?;
        for attempt in 0..PROFILE_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(jitter(attempt)).await;
            }
            let (mut record, swap) = match self.profile().await? {
                Some(Stored {
                    value,
                    cid: Some(cid),
                    ..
                }) => (value, Swap::record(cid)),
                Some(Stored {
                    value, cid: None, ..
                }) => (value, Swap::none()),
                None => (profile::Record::new(), Swap::absent()),
            };
            edit(&mut record);
            match self.put_record(&rkey, &record, swap).await {
                Err(e) if e.is_invalid_swap() => {}
                other => return other,
            }
        }
        Err(Error::TooManyConflicts {
            attempts: PROFILE_ATTEMPTS,
        })
    }
}
