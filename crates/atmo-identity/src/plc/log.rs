//! The audit log (`GET <directory>/<did>/log/audit`): [`AuditEntry`] and its bounded,
//! strict parser.

use atmo_data::Cid;
use atmo_syntax::{Datetime, Did};

use super::op::Operation;
use crate::Error;
use crate::error::clip;

/// Largest audit log accepted by default (4 MiB).
pub const MAX_AUDIT_LOG_BYTES: usize = 4 * 1024 * 1024;

/// Most entries of an audit log accepted by default.
pub const MAX_AUDIT_LOG_ENTRIES: usize = 10_000;

/// Largest operation, as DAG-CBOR, that the PLC spec allows (7500 bytes).
pub const MAX_OPERATION_BYTES: usize = 7500;

/// Most rotation keys an operation may list (PLC spec: 1 to 5).
pub const MAX_ROTATION_KEYS: usize = 5;

/// The recovery window: how long after an operation a higher-priority rotation key may
/// still nullify it (72 hours), in seconds.
pub const RECOVERY_WINDOW_SECS: i64 = 72 * 3600;

/// Size bounds for audit logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlcLimits {
    /// Largest audit log body, in bytes (default [`MAX_AUDIT_LOG_BYTES`]).
    pub max_log_bytes: usize,
    /// Most entries (default [`MAX_AUDIT_LOG_ENTRIES`]).
    pub max_entries: usize,
    /// Largest operation as DAG-CBOR (default [`MAX_OPERATION_BYTES`], the spec's).
    pub max_operation_bytes: usize,
}

impl Default for PlcLimits {
    fn default() -> Self {
        Self {
            max_log_bytes: MAX_AUDIT_LOG_BYTES,
            max_entries: MAX_AUDIT_LOG_ENTRIES,
            max_operation_bytes: MAX_OPERATION_BYTES,
        }
    }
}

/// One entry of a did:plc audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// The DID the entry says it belongs to.
    pub did: Did,
    /// The signed operation.
    pub operation: Operation,
    /// The operation's CID as the directory states it.
    pub cid: Cid,
    /// Whether the directory says a later recovery nullified it.
    pub nullified: bool,
    /// When the directory accepted it.
    pub created_at: Datetime,
}

impl AuditEntry {
    /// The operation's `type` (`plc_operation`, `plc_tombstone`, `create`).
    #[must_use]
    pub fn operation_type(&self) -> &'static str {
        self.operation.kind()
    }

    /// The entry as the directory's JSON (`did`, `operation`, `cid`, `nullified`,
    /// `createdAt`).
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "did": self.did.as_str(),
            "operation": self.operation.to_json(),
            "cid": self.cid.to_string(),
            "nullified": self.nullified,
            "createdAt": self.created_at.as_str(),
        })
    }

    /// Decodes one entry from its JSON, strictly (exactly the five fields).
    ///
    /// # Errors
    ///
    /// [`Error::PlcDecode`] (with no index) naming what is wrong.
    pub fn from_json(json: &serde_json::Value) -> Result<Self, Error> {
        decode_entry(json).map_err(|message| Error::PlcDecode {
            index: None,
            message,
        })
    }
}

fn decode_entry(json: &serde_json::Value) -> Result<AuditEntry, String> {
    let obj = json
        .as_object()
        .ok_or_else(|| "the entry is not a JSON object".to_owned())?;
    if let Some(k) = obj.keys().find(|k| {
        !matches!(
            k.as_str(),
            "did" | "operation" | "cid" | "nullified" | "createdAt"
        )
    }) {
        return Err(format!("unknown field {:?}", clip(k, 64)));
    }
    let text = |key: &str| -> Result<&str, String> {
        match obj.get(key) {
            Some(serde_json::Value::String(s)) => Ok(s),
            Some(_) => Err(format!("{key} is not a string")),
            None => Err(format!("{key} is missing")),
        }
    };
    let did_text = text("did")?;
    let did = Did::new(did_text)
        .map_err(|e| format!("did {:?} is not a DID: {e}", clip(did_text, 128)))?;
    let cid_text = text("cid")?;
    let cid = Cid::parse(cid_text)
        .map_err(|e| format!("cid {:?} is not a CID: {e}", clip(cid_text, 128)))?;
    let nullified = match obj.get("nullified") {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(_) => return Err("nullified is not a boolean".to_owned()),
        None => return Err("nullified is missing".to_owned()),
    };
    let created_text = text("createdAt")?;
    let created_at = Datetime::new(created_text).map_err(|e| {
        format!(
            "createdAt {:?} is not a datetime: {e}",
            clip(created_text, 64)
        )
    })?;
    let operation = obj
        .get("operation")
        .ok_or_else(|| "operation is missing".to_owned())?;
    let operation = Operation::from_json(operation).map_err(|e| match e {
        Error::PlcDecode { message, .. } => format!("operation: {message}"),
        other => other.to_string(),
    })?;
    Ok(AuditEntry {
        did,
        operation,
        cid,
        nullified,
        created_at,
    })
}

/// Parses an audit log: a JSON array of [`AuditEntry`], within `limits`.
///
/// ```
/// let log = atmo_identity::plc::parse_audit_log(b"[]", &Default::default())?;
/// assert!(log.is_empty());
/// # Ok::<(), atmo_identity::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::PlcDecode`]: over a limit, not JSON, not an array, or an entry (named by its
/// index) that does not decode.
pub fn parse_audit_log(bytes: &[u8], limits: &PlcLimits) -> Result<Vec<AuditEntry>, Error> {
    if bytes.len() > limits.max_log_bytes {
        return Err(Error::PlcDecode {
            index: None,
            message: format!(
                "{} bytes, more than the limit of {}",
                bytes.len(),
                limits.max_log_bytes
            ),
        });
    }
    let json: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| Error::PlcDecode {
        index: None,
        message: format!("not JSON: {e}"),
    })?;
    let serde_json::Value::Array(items) = json else {
        return Err(Error::PlcDecode {
            index: None,
            message: "not a JSON array".to_owned(),
        });
    };
    if items.len() > limits.max_entries {
        return Err(Error::PlcDecode {
            index: None,
            message: format!(
                "{} entries, more than the limit of {}",
                items.len(),
                limits.max_entries
            ),
        });
    }
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            decode_entry(item).map_err(|message| Error::PlcDecode {
                index: Some(index),
                message,
            })
        })
        .collect()
}
