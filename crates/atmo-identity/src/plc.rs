//! The did:plc audit log (`GET <directory>/<did>/log/audit`), parsed loosely: the
//! operations are kept as JSON, since their format belongs to the directory.

use serde::{Deserialize, Serialize};

use crate::Error;

/// Largest audit log accepted by default (1 MiB).
pub const MAX_AUDIT_LOG_BYTES: usize = 1024 * 1024;

/// One entry of a did:plc audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// The DID.
    pub did: String,
    /// The signed operation (`plc_operation`, `plc_tombstone`, or the legacy `create`).
    pub operation: serde_json::Value,
    /// The CID of the operation.
    pub cid: String,
    /// Whether a later operation from a higher-priority rotation key nullified it.
    #[serde(default)]
    pub nullified: bool,
    /// When the directory accepted it (RFC 3339).
    pub created_at: String,
}

impl AuditEntry {
    /// The operation's `type` field.
    #[must_use]
    pub fn operation_type(&self) -> Option<&str> {
        self.operation.get("type").and_then(|t| t.as_str())
    }
}

/// Parses an audit log: a JSON array of [`AuditEntry`], at most `max_bytes` long.
///
/// # Errors
///
/// [`Error::DocumentTooLarge`] over the limit, [`Error::DocumentJson`] for bad JSON.
pub fn parse_audit_log(bytes: &[u8], max_bytes: usize) -> Result<Vec<AuditEntry>, Error> {
    if bytes.len() > max_bytes {
        return Err(Error::DocumentTooLarge {
            len: bytes.len(),
            limit: max_bytes,
        });
    }
    serde_json::from_slice(bytes).map_err(|e| Error::DocumentJson {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}
