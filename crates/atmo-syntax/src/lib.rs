//! Validated atproto syntax types.
