//! The generated `app.bsky` record types (atmo-api) read from arbitrary bytes in one pass
//! (`atmo_data::from_cbor`: keys and `$type` read as bytes through
//! `atmo_data::TEXT_BYTES`, the syntax types checked as they are read) against the path
//! through an owned `Value` (`from_value(cbor::decode(..))`, where every key and string
//! is an ordinary `&str`). The first byte picks the record type. Invariants: no panic; the
//! two paths accept the same inputs, give the same record, and reject with the same CBOR
//! error; an accepted record written back (`to_cbor`) reads back the same. The generated
//! direct reader (`atmo_data::read_cbor`, `FromCbor`) gives exactly what `from_cbor` gives:
//! the same record, the same CBOR error, a type error where it gives one.
#![no_main]

use atmo_api::app_bsky::{actor, feed, graph};
use atmo_data::{Error, FromCbor, cbor, from_cbor, from_value, read_cbor, to_cbor};
use serde::Serialize;
use serde::de::DeserializeOwned;

fn both<T>(data: &[u8])
where
    T: DeserializeOwned + for<'a> FromCbor<'a> + Serialize + PartialEq + std::fmt::Debug,
{
    let read = read_cbor::<T>(data).map_err(|e| e.innermost().clone());
    let direct = from_cbor::<T>(data).map_err(|e| e.innermost().clone());
    match (&read, &direct) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(Error::Cbor(a)), Err(Error::Cbor(b))) => assert_eq!(a, b),
        (Err(Error::Serde(_)), Err(Error::Serde(_))) => {}
        (a, b) => panic!("read_cbor {a:?} != from_cbor {b:?}"),
    }
    let through = cbor::decode(data)
        .map_err(Error::from)
        .and_then(from_value::<T>);
    match (direct, through) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b);
            let again = to_cbor(&a).expect("a record read is written");
            assert_eq!(
                from_cbor::<T>(&again).expect("what atmo writes, atmo reads"),
                a
            );
        }
        (Err(Error::Cbor(a)), Err(Error::Cbor(b))) => assert_eq!(a, b),
        (Err(Error::Serde(_)), Err(Error::Serde(_))) => {}
        (a, b) => panic!("direct {a:?} != through Value {b:?}"),
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    match pick % 5 {
        0 => both::<feed::post::Record>(rest),
        1 => both::<feed::like::Record>(rest),
        2 => both::<graph::follow::Record>(rest),
        3 => both::<feed::repost::Record>(rest),
        _ => both::<actor::profile::Record>(rest),
    }
});
