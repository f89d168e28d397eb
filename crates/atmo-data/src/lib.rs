//! The atproto data model.
