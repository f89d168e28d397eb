//! Verification of a DID's whole audit log: replays the directory's decisions operation by
//! operation and checks every rule of the PLC method, then derives the current state.

use atmo_crypto::{Curve, PublicKey};
use atmo_data::Cid;
use atmo_syntax::Did;

use super::data::PlcData;
use super::log::{AuditEntry, MAX_ROTATION_KEYS, PlcLimits, RECOVERY_WINDOW_SECS};
use super::op::Operation;
use crate::Error;
use crate::error::{PlcRule, clip};

/// How signatures are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VerifyOptions {
    /// Require low-S signatures on P-256 too. The reference directory (`@did-plc/lib`
    /// with `@atproto/crypto` 0.1) requires low-S on secp256k1 but verifies P-256 with
    /// WebCrypto, which takes high-S; by default this verifier does the same, so that every
    /// log the directory accepted verifies.
    pub strict_low_s: bool,
    /// Size bounds (the operation size limit is checked here).
    pub limits: PlcLimits,
}

/// A verified audit log and the state it gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedLog {
    /// The DID.
    pub did: Did,
    /// The entries, in log order (their `nullified` flags checked).
    pub entries: Vec<AuditEntry>,
    /// For each entry, the index (in its parent's rotation keys, or in its own for a
    /// genesis) of the first rotation key that verifies its signature.
    pub signers: Vec<usize>,
    /// The indexes of the valid (not nullified) operations, in order: the current chain.
    pub chain: Vec<usize>,
    /// The current state; `None` when the last valid operation is a tombstone.
    pub state: Option<PlcData>,
}

impl VerifiedLog {
    /// The last valid operation's entry.
    #[must_use]
    pub fn head(&self) -> Option<&AuditEntry> {
        self.chain.last().and_then(|&i| self.entries.get(i))
    }

    /// Whether the DID is deactivated (its last valid operation is a tombstone).
    #[must_use]
    pub fn is_tombstoned(&self) -> bool {
        self.state.is_none()
    }

    /// How many entries are nullified.
    #[must_use]
    pub fn nullified_count(&self) -> usize {
        self.entries.iter().filter(|e| e.nullified).count()
    }
}

/// Verifies the whole audit log of `did`.
///
/// The rules, each with its source (S = the PLC spec, the README of did-method-plc;
/// R = the reference `@did-plc/lib`):
/// - every entry names `did` (R `indexedOperation`); `createdAt` never goes back (the
///   directory orders the log by it);
/// - an operation is at most 7500 bytes of DAG-CBOR (S "Operation Serialization");
/// - the log's `cid` is the CID of the operation's DAG-CBOR, sha-256 (S "prev references");
/// - the first operation is a `plc_operation` or legacy `create` with `prev: null` whose
///   signed DAG-CBOR hashes to `did` (S "DID Creation"; R `assureValidCreationOp`), signed
///   by one of its own rotation keys (legacy: recoveryKey or signingKey, R `normalizeOp`);
/// - later operations are `plc_operation` or `plc_tombstone` (S; R `validateOperationLog`)
///   with a `prev` naming a valid earlier operation that is not a tombstone (R
///   `assureValidNextOp`), signed over the DAG-CBOR without `sig` (S "Signing") by a rotation
///   key of that operation;
/// - 1 to 5 rotation keys, no duplicates (S "How it works"; R `assureValidOp`), every key a
///   did:key of secp256k1 or P-256 (R `assureValidOp`);
/// - `sig` is unpadded base64url of 64 bytes; low-S on secp256k1 (R, `@atproto/crypto`);
/// - an operation whose `prev` is not the last valid operation nullifies the valid ones
///   after its `prev`, only when signed by a rotation key of strictly higher priority than
///   the key that signed the first nullified one, and within 72 hours of that one's
///   `createdAt` (S "Key Rotation & Account Recovery"; R `assureValidNextOp`);
/// - the `nullified` flags are exactly the operations so nullified.
///
/// # Errors
///
/// [`Error::PlcEmptyLog`], or [`Error::PlcInvalidOperation`] naming the first operation
/// that breaks a rule (its index, the CID the log states, the rule).
pub fn verify_audit_log(
    did: &Did,
    entries: Vec<AuditEntry>,
    options: &VerifyOptions,
) -> Result<VerifiedLog, Error> {
    if entries.is_empty() {
        return Err(Error::PlcEmptyLog { did: did.clone() });
    }
    let mut signers: Vec<usize> = Vec::with_capacity(entries.len());
    let mut nullified = vec![false; entries.len()];
    let mut chain: Vec<usize> = Vec::new();
    let mut last_micros = i64::MIN;
    for (index, entry) in entries.iter().enumerate() {
        let fail = |rule| Error::PlcInvalidOperation {
            did: did.clone(),
            index,
            cid: Box::new(entry.cid),
            rule: Box::new(rule),
        };
        if entry.did != *did {
            return Err(fail(PlcRule::WrongDid {
                found: entry.did.to_string(),
            }));
        }
        let micros = entry.created_at.timestamp_micros();
        if micros < last_micros {
            return Err(fail(PlcRule::CreatedAtBackwards {
                created_at: entry.created_at.as_str().to_owned(),
            }));
        }
        last_micros = micros;
        let cbor = entry.operation.to_cbor();
        if cbor.len() > options.limits.max_operation_bytes {
            return Err(fail(PlcRule::TooLarge {
                len: cbor.len(),
                limit: options.limits.max_operation_bytes,
            }));
        }
        let computed = Cid::for_dag_cbor(&cbor);
        if computed != entry.cid {
            return Err(fail(PlcRule::CidMismatch { computed }));
        }
        check_keys(&entry.operation).map_err(fail)?;
        let sig = entry
            .operation
            .sig_bytes()
            .ok_or_else(|| fail(PlcRule::SignatureEncoding))?;
        let unsigned = entry.operation.unsigned_cbor();

        if index == 0 {
            match &entry.operation {
                Operation::Tombstone(_) => return Err(fail(PlcRule::GenesisTombstone)),
                op if op.prev().is_some() => return Err(fail(PlcRule::GenesisHasPrev)),
                _ => {}
            }
            let derived = super::op::did_for_signed_cbor(&cbor)?;
            if derived != *did {
                return Err(fail(PlcRule::GenesisHash { derived }));
            }
            let keys = entry.operation.rotation_keys();
            let signer = find_signer(&keys, &unsigned, &sig, options)
                .ok_or_else(|| fail(PlcRule::BadSignature))?;
            signers.push(signer);
            chain.push(0);
            continue;
        }

        if matches!(entry.operation, Operation::Create(_)) {
            return Err(fail(PlcRule::CreateAfterGenesis));
        }
        let prev = entry
            .operation
            .prev()
            .ok_or_else(|| fail(PlcRule::MissingPrev))?;
        let Some(pos) = chain
            .iter()
            .position(|&i| entries.get(i).is_some_and(|e| e.cid == prev))
        else {
            return Err(fail(PlcRule::PrevNotFound { prev }));
        };
        let parent_index = chain.get(pos).copied().unwrap_or_default();
        let parent = entries
            .get(parent_index)
            .ok_or_else(|| fail(PlcRule::PrevNotFound { prev }))?;
        if matches!(parent.operation, Operation::Tombstone(_)) {
            return Err(fail(PlcRule::PrevIsTombstone { prev }));
        }
        let keys = parent.operation.rotation_keys();
        let signer = find_signer(&keys, &unsigned, &sig, options);

        let disputed = chain.get(pos + 1).copied();
        match disputed {
            None => {
                let signer = signer.ok_or_else(|| fail(PlcRule::BadSignature))?;
                signers.push(signer);
            }
            Some(first_nullified) => {
                let disputed_signer = signers.get(first_nullified).copied().unwrap_or_default();
                let signer = match signer {
                    Some(s) if s < disputed_signer => s,
                    other => {
                        return Err(fail(PlcRule::RecoveryKeyNotHigher {
                            signer: other,
                            disputed: disputed_signer,
                        }));
                    }
                };
                let first_micros = entries
                    .get(first_nullified)
                    .map_or(micros, |e| e.created_at.timestamp_micros());
                let elapsed = micros.saturating_sub(first_micros);
                if elapsed > RECOVERY_WINDOW_SECS * 1_000_000 {
                    return Err(fail(PlcRule::LateRecovery {
                        elapsed_secs: elapsed / 1_000_000,
                    }));
                }
                for &i in chain.get(pos + 1..).unwrap_or_default() {
                    if let Some(n) = nullified.get_mut(i) {
                        *n = true;
                    }
                }
                chain.truncate(pos + 1);
                signers.push(signer);
            }
        }
        chain.push(index);
    }

    for (index, (entry, &expected)) in entries.iter().zip(&nullified).enumerate() {
        if entry.nullified != expected {
            return Err(Error::PlcInvalidOperation {
                did: did.clone(),
                index,
                cid: Box::new(entry.cid),
                rule: Box::new(PlcRule::NullifiedFlag {
                    stated: entry.nullified,
                    expected,
                }),
            });
        }
    }
    let state = chain
        .last()
        .and_then(|&i| entries.get(i))
        .and_then(|e| PlcData::from_operation(did, &e.operation));
    Ok(VerifiedLog {
        did: did.clone(),
        entries,
        signers,
        chain,
        state,
    })
}

/// Rotation keys: 1 to 5, no duplicates; every key (rotation and verification method) a
/// did:key this crate can use.
fn check_keys(op: &Operation) -> Result<(), PlcRule> {
    let parse = |key: &str| {
        PublicKey::from_did_key(key)
            .map(|_| ())
            .map_err(|error| PlcRule::UnsupportedKey {
                key: clip(key, 128),
                error,
            })
    };
    match op {
        Operation::Tombstone(_) => Ok(()),
        Operation::Create(c) => {
            parse(&c.signing_key)?;
            parse(&c.recovery_key)
        }
        Operation::Plc(p) => {
            let keys = &p.rotation_keys;
            if keys.is_empty() {
                return Err(PlcRule::NoRotationKeys);
            }
            if keys.len() > MAX_ROTATION_KEYS {
                return Err(PlcRule::TooManyRotationKeys {
                    count: keys.len(),
                    limit: MAX_ROTATION_KEYS,
                });
            }
            for (i, k) in keys.iter().enumerate() {
                if keys.iter().take(i).any(|earlier| earlier == k) {
                    return Err(PlcRule::DuplicateRotationKey { key: clip(k, 128) });
                }
            }
            for k in keys.iter().chain(p.verification_methods.values()) {
                parse(k)?;
            }
            Ok(())
        }
    }
}

/// The index of the first key in `keys` whose signature over `unsigned` is `sig`.
fn find_signer(
    keys: &[&str],
    unsigned: &[u8],
    sig: &[u8; atmo_crypto::SIGNATURE_LEN],
    options: &VerifyOptions,
) -> Option<usize> {
    keys.iter().position(|k| {
        PublicKey::from_did_key(k).is_ok_and(|key| {
            let ok = match key.curve() {
                Curve::P256 if !options.strict_low_s => key.verify_lax(unsigned, sig),
                _ => key.verify(unsigned, sig),
            };
            ok.is_ok()
        })
    })
}
