//! Labels and Jetstream messages from arbitrary bytes. Invariants: no panic; a label
//! that parses re-encodes (its signing bytes are valid DAG-CBOR that decodes); Jetstream
//! events and subscriber options that parse serialise back to something that parses to
//! the same value.
#![no_main]

use atmo_firehose::jetstream::{JetstreamEvent, SubscribeOptions};
use atmo_firehose::{Label, LabelEvent};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(LabelEvent::Labels { labels, .. }) =
        LabelEvent::decode(data, &atmo_firehose::FrameLimits::DEFAULT)
    {
        for v in &labels {
            if let Ok(l) = Label::from_value(v) {
                let bytes = l.signing_bytes();
                assert!(atmo_data::cbor::decode(&bytes).is_ok());
            }
        }
    }
    if let Ok(v) = atmo_data::cbor::decode(data) {
        if let Ok(l) = Label::from_value(&v) {
            assert!(Label::from_value(&l.to_value()).is_ok());
        }
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(ev) = serde_json::from_str::<JetstreamEvent>(text) {
        let again = serde_json::to_string(&ev).expect("serialises");
        let back: JetstreamEvent = serde_json::from_str(&again).expect("reads back");
        assert_eq!(back, ev);
    }
    if let Ok((opts, _, _)) = SubscribeOptions::from_query(text) {
        let q = opts.to_query(None);
        assert_eq!(
            SubscribeOptions::from_query(&q).expect("reads back").0,
            opts
        );
    }
    if let Ok(opts) = SubscribeOptions::from_message(text) {
        assert_eq!(
            SubscribeOptions::from_message(&opts.to_message()).expect("reads back"),
            opts
        );
    }
});
