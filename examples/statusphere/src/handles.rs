//! DID -> handle for the timeline, through atmo-identity's resolver (which checks the
//! handle points back at the DID, and caches both directions).

use std::time::Duration;

use atmo::identity::Resolver;
use atmo::syntax::Did;

/// How long a page waits for one handle before showing the DID instead.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);

/// The handle cache.
#[derive(Debug, Clone)]
pub struct Handles {
    resolver: Resolver,
}

impl Handles {
    /// Handles through `resolver` (its cache is the app's handle cache).
    pub fn new(resolver: Resolver) -> Self {
        Self { resolver }
    }

    /// Forgets what is cached about `did` (its handle changed: an `#identity` event).
    pub fn forget(&self, did: &Did, handle: Option<&str>) {
        self.resolver.invalidate_did(did);
        if let Some(h) = handle.and_then(|h| atmo::syntax::Handle::new(h).ok()) {
            self.resolver.invalidate_handle(&h);
        }
    }

    /// The verified handle of `did`, or the DID itself when it has none (or the lookup
    /// fails or is slow).
    pub async fn display(&self, did: &str) -> String {
        let Ok(parsed) = Did::new(did) else {
            return did.to_owned();
        };
        match tokio::time::timeout(LOOKUP_TIMEOUT, self.resolver.verified_handle(&parsed)).await {
            Ok(Ok(Some(h))) => h.to_string(),
            Ok(Ok(None)) => did.to_owned(),
            Ok(Err(e)) => {
                tracing::debug!(%did, error = %e, "no handle");
                did.to_owned()
            }
            Err(_) => did.to_owned(),
        }
    }
}
