//! did:plc: the operation model, the audit log, its verification, and building and
//! signing operations. Everything here is sans-IO; the resolver fetches and submits
//! (`Resolver::plc_audit_log`, `Resolver::plc_verify`, `Resolver::plc_submit`).
//!
//! - [`Operation`]: `plc_operation`, `plc_tombstone` and the legacy `create`, decoded
//!   strictly from JSON ([`Operation::from_json`]), encoded as DAG-CBOR
//!   ([`Operation::to_cbor`], [`Operation::unsigned_cbor`]), with its [`Operation::cid`] and
//!   [`Operation::genesis_did`].
//! - [`parse_audit_log`]: the directory's `/log/audit` as [`AuditEntry`] values, bounded by
//!   [`PlcLimits`].
//! - [`verify_audit_log`]: every rule of the method over the whole log (see its docs),
//!   giving a [`VerifiedLog`] and the current [`PlcData`], which
//!   [`PlcData::check_served_data`] and [`PlcData::check_served_document`] compare with
//!   what the directory serves. A broken log is an
//!   [`Error::PlcInvalidOperation`](crate::Error::PlcInvalidOperation) naming the first
//!   broken operation and the [`PlcRule`](crate::PlcRule) it breaks.
//! - [`UnsignedPlcOperation`] and [`Operation::tombstone`]: new operations, signed with an
//!   [`atmo_crypto::Keypair`].
//!
//! ```
//! use atmo_crypto::{Curve, Keypair};
//! use atmo_identity::plc::{AuditEntry, UnsignedPlcOperation, VerifyOptions, verify_audit_log};
//!
//! # fn main() -> Result<(), atmo_identity::Error> {
//! let key = Keypair::generate(Curve::K256).map_err(atmo_identity::Error::Sign)?;
//! let (did, genesis) = UnsignedPlcOperation::atproto(
//!     &[key.public_key()], &key.public_key(), "alice.test", "https://pds.test",
//! )
//! .sign(&key)?
//! .into_genesis()?;
//! let entry = AuditEntry {
//!     did: did.clone(),
//!     cid: genesis.cid(),
//!     operation: genesis,
//!     nullified: false,
//!     created_at: atmo_syntax::Datetime::now(),
//! };
//! let log = verify_audit_log(&did, vec![entry], &VerifyOptions::default())?;
//! assert_eq!(log.state.unwrap().pds_endpoint(), Some("https://pds.test"));
//! # Ok(()) }
//! ```

mod build;
mod data;
mod log;
mod op;
mod verify;

pub use build::UnsignedPlcOperation;
pub use data::PlcData;
pub use log::{
    AuditEntry, MAX_AUDIT_LOG_BYTES, MAX_AUDIT_LOG_ENTRIES, MAX_OPERATION_BYTES, MAX_ROTATION_KEYS,
    PlcLimits, RECOVERY_WINDOW_SECS, parse_audit_log,
};
pub use op::{
    LegacyCreate, Operation, PlcOperation, PlcService, TYPE_CREATE, TYPE_OPERATION, TYPE_TOMBSTONE,
    Tombstone,
};
pub use verify::{VerifiedLog, VerifyOptions, verify_audit_log};
