//! The app's lexicon, `xyz.statusphere.status`: Rust types generated from
//! `lexicons/` by atmo's code generator (see `build.rs`), and validation of records
//! against the lexicon with atmo-lexicon, before writing and after reading.

use atmo::data::Value;
use atmo::lexicon::Catalog;

use crate::error::{Error, Result};

/// Code generated from `lexicons/` by `build.rs` (atmo_lexicon::codegen).
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod generated {
    include!(concat!(env!("OUT_DIR"), "/lexicons.rs"));
}

pub use generated::xyz_statusphere::status;

/// The lexicon document, as shipped with the app.
pub const STATUS_LEXICON: &str = include_str!("../lexicons/xyz/statusphere/status.json");

/// The emoji the app offers (the tutorial's list).
pub const STATUS_OPTIONS: &[&str] = &[
    "👍",
    "👎",
    "💙",
    "🥹",
    "😧",
    "😤",
    "🙃",
    "😉",
    "😎",
    "🤓",
    "🤨",
    "🥳",
    "😭",
    "🤯",
    "🫡",
    "💀",
    "✊",
    "🤘",
    "👀",
    "🧠",
    "👩‍💻",
    "🧑‍💻",
    "🥷",
    "🧌",
    "🦋",
    "🚀",
];

/// Validates status records against the lexicon.
#[derive(Debug)]
pub struct Validator {
    catalog: Catalog,
}

impl Validator {
    /// A validator holding the app's lexicon.
    ///
    /// # Errors
    ///
    /// [`Error::Lexicon`] if the shipped lexicon does not parse (a build problem).
    pub fn new() -> Result<Self> {
        let mut catalog = Catalog::new();
        catalog
            .add_json(STATUS_LEXICON)
            .map_err(|e| Error::Lexicon {
                nsid: status::NSID,
                reason: e.to_string(),
            })?;
        Ok(Self { catalog })
    }

    /// Checks a record (as read from a repo or the firehose) and decodes it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRecord`] naming `uri` when it does not fit the lexicon.
    pub fn read(&self, uri: &str, value: &Value) -> Result<status::Record> {
        let bad = |reason: String| Error::InvalidRecord {
            uri: uri.to_owned(),
            reason,
        };
        self.catalog
            .validate_record(status::NSID, value)
            .map_err(|e| bad(e.to_string()))?;
        let text = atmo::data::json::to_string(value);
        serde_json::from_str(&text).map_err(|e| bad(e.to_string()))
    }

    /// Checks a record before it is written, giving the value to send.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownStatus`] for an emoji not on offer; [`Error::InvalidRecord`]
    /// when the record does not fit the lexicon.
    pub fn write(&self, record: &status::Record) -> Result<Value> {
        if !STATUS_OPTIONS.contains(&record.status.as_str()) {
            return Err(Error::UnknownStatus {
                status: record.status.chars().take(64).collect(),
            });
        }
        let bad = |reason: String| Error::InvalidRecord {
            uri: "new".to_owned(),
            reason,
        };
        let value = atmo::api::rt::record_value(record).map_err(|e| bad(e.to_string()))?;
        self.catalog
            .validate_record(status::NSID, &value)
            .map_err(|e| bad(e.to_string()))?;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atmo::syntax::LenientDatetime;

    fn json(s: &str) -> Value {
        atmo::data::json::from_str(s).unwrap()
    }

    #[test]
    fn every_option_is_one_grapheme_and_valid() {
        let v = Validator::new().unwrap();
        for s in STATUS_OPTIONS {
            let r = status::Record::new(*s, LenientDatetime::new("2026-12-07T01:02:03.000Z"));
            let value = v.write(&r).unwrap();
            assert_eq!(v.read("x", &value).unwrap().status, *s);
        }
    }

    #[test]
    fn invalid_records_are_refused() {
        let v = Validator::new().unwrap();
        let two = json(
            r#"{"$type": "xyz.statusphere.status", "status": "👍👍", "createdAt": "2026-12-07T01:02:03Z"}"#,
        );
        assert!(matches!(
            v.read("u", &two),
            Err(Error::InvalidRecord { .. })
        ));
        let no_date = json(r#"{"$type": "xyz.statusphere.status", "status": "👍"}"#);
        assert!(v.read("u", &no_date).is_err());
        let bad_date = json(
            r#"{"$type": "xyz.statusphere.status", "status": "👍", "createdAt": "yesterday"}"#,
        );
        assert!(v.read("u", &bad_date).is_err());
        let off_list = status::Record::new("🍕", LenientDatetime::new("2026-12-07T01:02:03Z"));
        assert!(matches!(
            v.write(&off_list),
            Err(Error::UnknownStatus { .. })
        ));
    }
}
