//! atproto repositories: CAR, MST, commits.
