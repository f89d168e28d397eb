//! Commits: sign and verify on both curves, v2 reading, one malformed input per rejection.

use atmo_crypto::{Curve, Keypair};
use atmo_data::{Cid, Map, Value, cbor};
use atmo_repo::{Commit, CommitError};

fn commit(key: &Keypair) -> Commit {
    Commit::sign(
        "did:plc:abcdefghijklmnopqrstuvwx".parse().unwrap(),
        Cid::for_dag_cbor(b"\xa0"),
        "3kabcdefghij2".parse().unwrap(),
        None,
        key,
    )
    .unwrap()
}

fn fields(c: &Commit) -> Map {
    match cbor::decode(&c.encode()).unwrap() {
        Value::Map(m) => m,
        _ => unreachable!(),
    }
}

fn decode_map(m: Map) -> Result<Commit, CommitError> {
    Commit::decode(&cbor::encode(&Value::Map(m)))
}

#[test]
fn sign_verify_both_curves() {
    for curve in Curve::ALL {
        let key = Keypair::generate(curve).unwrap();
        let c = commit(&key);
        assert_eq!(c.sig.len(), 64);
        let back = Commit::decode(&c.encode()).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.cid(), Cid::for_dag_cbor(&c.encode()));
        back.verify(&key.public_key()).unwrap();
        // The signed bytes are the commit without sig, and the fields are in DAG-CBOR order.
        let unsigned = cbor::decode(&c.unsigned_bytes()).unwrap();
        let keys: Vec<&str> = unsigned.as_map().unwrap().keys().collect();
        assert_eq!(keys, ["did", "rev", "data", "prev", "version"]);
        // Another key, or changed content, fails.
        let other = Keypair::generate(curve).unwrap();
        assert_eq!(
            back.verify(&other.public_key()),
            Err(CommitError::Signature(atmo_crypto::VerifyError::Invalid))
        );
        let mut changed = back.clone();
        changed.data = Cid::for_dag_cbor(b"\x80");
        assert_eq!(
            changed.verify(&key.public_key()),
            Err(CommitError::Signature(atmo_crypto::VerifyError::Invalid))
        );
        let mut short = back;
        short.sig.pop();
        assert_eq!(
            short.verify(&key.public_key()),
            Err(CommitError::Signature(
                atmo_crypto::VerifyError::BadLength { len: 63 }
            ))
        );
    }
}

#[test]
fn deterministic_signatures() {
    let key = Keypair::from_private_key_hex(
        Curve::K256,
        "9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c",
    )
    .unwrap();
    assert_eq!(commit(&key), commit(&key));
}

#[test]
fn version_2_is_read_without_rev() {
    let key = Keypair::generate(Curve::K256).unwrap();
    let mut m = fields(&commit(&key));
    m.insert("version", Value::Integer(2));
    m.remove("rev");
    let c = decode_map(m.clone()).unwrap();
    assert_eq!((c.version, c.rev), (2, None));
    // Version 3 requires rev.
    m.insert("version", Value::Integer(3));
    assert_eq!(
        decode_map(m),
        Err(CommitError::Shape {
            reason: "missing rev"
        })
    );
}

#[test]
fn rejections() {
    let key = Keypair::generate(Curve::P256).unwrap();
    let base = fields(&commit(&key));
    let with = |k: &str, v: Value| {
        let mut m = base.clone();
        m.insert(k, v);
        decode_map(m)
    };
    let without = |k: &str| {
        let mut m = base.clone();
        m.remove(k);
        decode_map(m)
    };
    assert!(matches!(Commit::decode(&[0xa1]), Err(CommitError::Cbor(_))));
    assert_eq!(
        Commit::decode(&[0x80]),
        Err(CommitError::Shape {
            reason: "not a map"
        })
    );
    assert_eq!(
        with("extra", Value::Null),
        Err(CommitError::Shape {
            reason: "unknown field"
        })
    );
    assert_eq!(
        with("version", Value::Integer(4)),
        Err(CommitError::Version { version: 4 })
    );
    assert_eq!(
        with("version", Value::String("3".into())),
        Err(CommitError::Shape {
            reason: "version is not an integer"
        })
    );
    assert!(matches!(
        with("did", Value::String("plc:abc".into())),
        Err(CommitError::Did(_))
    ));
    assert!(matches!(
        with("rev", Value::String("not-a-tid".into())),
        Err(CommitError::Rev(_))
    ));
    assert_eq!(
        with("data", Value::Null),
        Err(CommitError::Shape {
            reason: "data is not a link"
        })
    );
    assert_eq!(
        without("prev"),
        Err(CommitError::Shape {
            reason: "missing prev (it must be present, even if null)"
        })
    );
    assert_eq!(
        with("prev", Value::Integer(1)),
        Err(CommitError::Shape {
            reason: "prev is neither a link nor null"
        })
    );
    assert_eq!(
        without("sig"),
        Err(CommitError::Shape {
            reason: "missing sig"
        })
    );
    assert_eq!(
        with("sig", Value::String("x".into())),
        Err(CommitError::Shape {
            reason: "sig is not a byte string"
        })
    );
    assert_eq!(
        without("did"),
        Err(CommitError::Shape {
            reason: "missing did"
        })
    );
    // A prev link is kept.
    let prev = Cid::for_dag_cbor(b"\x01");
    assert_eq!(with("prev", Value::link(prev)).unwrap().prev, Some(prev));
}
