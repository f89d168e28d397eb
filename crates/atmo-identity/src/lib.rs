//! atproto identity: handle and DID resolution, DID documents, bidirectional checks.
