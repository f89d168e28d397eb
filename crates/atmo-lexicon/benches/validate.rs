//! Placeholder until the lexicon validation bench lands.
fn main() {}
