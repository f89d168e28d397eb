//! The one-pass serde deserializer (`atmo_data::from_cbor`) on arbitrary bytes, against
//! the path through an owned `Value` (`from_value(cbor::decode(..))`). Invariants: no
//! panic; for a `Value`, a typed struct, a sequence and `IgnoredAny` the two paths accept
//! the same inputs, give the same value, and reject with the same CBOR error.
#![no_main]

use atmo_data::{Cid, Error, Value, cbor, from_cbor, from_value};
use serde::Deserialize;

#[derive(Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Post {
    text: String,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    langs: Option<Vec<String>>,
    #[serde(default)]
    link: Option<Cid>,
    #[serde(default)]
    n: Option<i64>,
    #[serde(default)]
    any: Option<Value>,
}

fn agree<T: PartialEq + std::fmt::Debug>(direct: Result<T, Error>, through: Result<T, Error>) {
    // The direct path also says where a typed error happened (`Error::At`); the kind of
    // error must be the same.
    let direct = direct.map_err(|e| e.innermost().clone());
    match (direct, through) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(Error::Cbor(a)), Err(Error::Cbor(b))) => assert_eq!(a, b),
        (Err(Error::Serde(_)), Err(Error::Serde(_))) => {}
        (a, b) => panic!("direct {a:?} != through Value {b:?}"),
    }
}

fn both<T: serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(data: &[u8]) {
    let through = cbor::decode(data)
        .map_err(Error::from)
        .and_then(from_value::<T>);
    agree(from_cbor::<T>(data), through);
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    both::<Value>(data);
    both::<Post>(data);
    both::<Vec<Option<i64>>>(data);
    let ignored = |r: Result<serde::de::IgnoredAny, Error>| r.map(|_| ());
    agree(
        ignored(from_cbor(data)),
        ignored(cbor::decode(data).map_err(Error::from).and_then(from_value)),
    );
});
