//! atproto keys and signatures.
