//! Fuzz `atmo_identity::plc::parse_audit_log` and `verify_audit_log`: never panics; every
//! parsed entry re-serialises to JSON that parses to the same entry; a log that verifies
//! keeps its invariants (every operation valid or nullified, one signer per operation, the
//! genesis hashing to the DID, a state exactly when the head is no tombstone).
#![no_main]

use atmo_identity::plc::{AuditEntry, PlcLimits, VerifyOptions, parse_audit_log, verify_audit_log};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(entries) = parse_audit_log(data, &PlcLimits::default()) else {
        return;
    };
    for e in &entries {
        let again = AuditEntry::from_json(&e.to_json()).expect("re-serialised entry parses");
        assert_eq!(&again, e);
    }
    let Some(did) = entries.first().map(|e| e.did.clone()) else {
        return;
    };
    let n = entries.len();
    if let Ok(log) = verify_audit_log(&did, entries, &VerifyOptions::default()) {
        assert_eq!(log.signers.len(), n);
        assert_eq!(log.chain.len() + log.nullified_count(), n);
        assert_eq!(log.chain.first(), Some(&0));
        let genesis = &log.entries[0].operation;
        assert_eq!(genesis.genesis_did().expect("a DID"), did);
        let head = log.head().expect("a head");
        assert_eq!(
            log.state.is_none(),
            head.operation_type() == "plc_tombstone"
        );
        for e in &log.entries {
            assert_eq!(e.operation.cid(), e.cid);
        }
    }
});
