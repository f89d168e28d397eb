//! did:plc at the directory: the audit log, the served state, verification of both, and
//! submitting operations.

use atmo_syntax::Did;
use tracing::Instrument as _;

use super::resolver::Resolver;
use crate::Error;
use crate::error::clip;
use crate::plc::{
    AuditEntry, Operation, PlcData, PlcLimits, VerifiedLog, VerifyOptions, parse_audit_log,
    verify_audit_log,
};

/// Largest answer read from the directory besides the audit log.
const MAX_ANSWER_BYTES: usize = 256 * 1024;

impl Resolver {
    fn plc_url(&self, did: &Did, path: &str) -> Result<String, Error> {
        if did.method() != "plc" {
            return Err(Error::UnsupportedDidMethod {
                method: clip(did.method(), 64),
            });
        }
        Ok(format!(
            "{}/{}{path}",
            self.inner.config.plc_url.trim_end_matches('/'),
            did.as_str()
        ))
    }

    /// GET `url`, the body when 2xx, `None` on 404 / 410.
    async fn plc_get(
        &self,
        did: &Did,
        url: String,
        max: usize,
    ) -> Result<Option<bytes::Bytes>, Error> {
        let res = self
            .inner
            .http
            .get(&url, "application/json", max, None, true)
            .await?;
        match res.status {
            200..=299 => Ok(Some(res.body)),
            404 | 410 => {
                tracing::debug!(did = %did, status = res.status, "not served");
                Ok(None)
            }
            status => Err(Error::Status { url, status }),
        }
    }

    /// The did:plc audit log of `did` from the configured directory, parsed strictly with
    /// the default [`PlcLimits`] (not verified: see [`plc_verify`](Self::plc_verify)).
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedDidMethod`] for another method, [`Error::DidNotFound`],
    /// [`Error::Status`], [`Error::PlcDecode`] and transport errors.
    pub async fn plc_audit_log(&self, did: &Did) -> Result<Vec<AuditEntry>, Error> {
        let url = self.plc_url(did, "/log/audit")?;
        let limits = PlcLimits::default();
        let span = tracing::debug_span!("atmo_identity::plc_audit_log", did = %did);
        async {
            match self.plc_get(did, url, limits.max_log_bytes).await {
                Ok(Some(body)) => parse_audit_log(&body, &limits),
                Ok(None) => Err(Error::DidNotFound {
                    did: did.to_string(),
                    status: 404,
                }),
                Err(Error::ResponseTooLarge { limit, .. }) => Err(Error::PlcDecode {
                    index: None,
                    message: format!("more than the limit of {limit} bytes"),
                }),
                Err(e) => Err(e),
            }
        }
        .instrument(span)
        .await
    }

    /// The state the directory serves for `did` (`GET /<did>/data`); `None` when it serves
    /// none (a tombstoned DID).
    ///
    /// # Errors
    ///
    /// [`Error::Status`], [`Error::PlcDecode`] and transport errors.
    pub async fn plc_data(&self, did: &Did) -> Result<Option<PlcData>, Error> {
        let url = self.plc_url(did, "/data")?;
        let span = tracing::debug_span!("atmo_identity::plc_data", did = %did);
        match self
            .plc_get(did, url, MAX_ANSWER_BYTES)
            .instrument(span)
            .await?
        {
            Some(body) => PlcData::from_json(&body).map(Some),
            None => Ok(None),
        }
    }

    /// Fetches the audit log of `did`, verifies it whole ([`verify_audit_log`]), and checks
    /// that what the directory serves (`/data` and the DID document) is the state the log
    /// gives; for a tombstoned DID, that the directory serves neither.
    ///
    /// # Errors
    ///
    /// As [`plc_audit_log`](Self::plc_audit_log), [`Error::PlcEmptyLog`],
    /// [`Error::PlcInvalidOperation`] for the first broken operation, [`Error::PlcMismatch`]
    /// when the served state differs.
    pub async fn plc_verify(
        &self,
        did: &Did,
        options: &VerifyOptions,
    ) -> Result<VerifiedLog, Error> {
        let entries = self.plc_audit_log(did).await?;
        let log = verify_audit_log(did, entries, options)?;
        tracing::debug!(did = %did, operations = log.entries.len(), "audit log verified");
        let served = self.plc_data(did).await?;
        let doc = match self.resolve_did_uncached(did).await {
            Ok(doc) => Some(doc),
            Err(Error::DidNotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        let mismatch = |field, derived: &str, served: &str| Error::PlcMismatch {
            did: did.clone(),
            field,
            derived: derived.to_owned(),
            served: served.to_owned(),
        };
        match (&log.state, served, doc) {
            (Some(state), Some(served), Some(doc)) => {
                state.check_served_data(&served)?;
                state.check_served_document(&doc)?;
            }
            (Some(_), None, _) => return Err(mismatch("/data", "a state", "nothing (404)")),
            (Some(_), _, None) => return Err(mismatch("document", "a document", "nothing (404)")),
            (None, Some(_), _) => return Err(mismatch("/data", "nothing (tombstoned)", "a state")),
            (None, _, Some(_)) => {
                return Err(mismatch("document", "nothing (tombstoned)", "a document"));
            }
            (None, None, None) => {}
        }
        self.invalidate_did(did);
        Ok(log)
    }

    /// Submits a signed operation for `did` to the directory (`POST /<did>`), as the PLC's
    /// API takes them: the operation's JSON.
    ///
    /// # Errors
    ///
    /// [`Error::PlcRejected`] when the directory refuses it (with its message), transport
    /// errors.
    pub async fn plc_submit(&self, did: &Did, op: &Operation) -> Result<(), Error> {
        let url = self.plc_url(did, "")?;
        let span = tracing::debug_span!("atmo_identity::plc_submit", did = %did, kind = op.kind());
        async {
            let body = op.to_json().to_string().into_bytes();
            let res = self
                .inner
                .http
                .post_json(&url, body, MAX_ANSWER_BYTES)
                .await?;
            self.invalidate_did(did);
            if (200..300).contains(&res.status) {
                return Ok(());
            }
            let text = String::from_utf8_lossy(&res.body);
            let message = serde_json::from_slice::<serde_json::Value>(&res.body)
                .ok()
                .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
                .unwrap_or_else(|| text.into_owned());
            Err(Error::PlcRejected {
                did: did.clone(),
                status: res.status,
                message: clip(&message, 512),
            })
        }
        .instrument(span)
        .await
    }
}
