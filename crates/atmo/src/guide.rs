//! The guides of `docs/guide/`, in reading order, as documentation modules: their code
//! is compiled (and, where it needs no network, run) as doctests of this crate.

#[doc = include_str!("../../../docs/guide/01-getting-started.md")]
pub mod getting_started {}
#[doc = include_str!("../../../docs/guide/02-identity.md")]
pub mod identity {}
#[doc = include_str!("../../../docs/guide/03-records.md")]
pub mod records {}
#[doc = include_str!("../../../docs/guide/04-repos-and-car.md")]
pub mod repos_and_car {}
#[doc = include_str!("../../../docs/guide/05-oauth.md")]
pub mod oauth {}
#[doc = include_str!("../../../docs/guide/06-firehose.md")]
pub mod firehose {}
#[doc = include_str!("../../../docs/guide/07-lexicons.md")]
pub mod lexicons {}
#[doc = include_str!("../../../docs/guide/08-cli.md")]
pub mod cli {}
#[doc = include_str!("../../../docs/guide/09-p2p.md")]
pub mod p2p {}
