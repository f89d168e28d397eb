//! The network step of `atmo lex resolve` and `atmo lex pull`: `_lexicon.<authority>` DNS
//! TXT -> DID (through atmo-identity, optionally asking given DNS servers) -> the DID
//! document (its PDS, with the same private-network policy as every other command, and
//! its `#atproto` signing key) -> `com.atproto.sync.getRecord` of the
//! `com.atproto.lexicon.schema` record whose key is the NSID: a CAR holding the signed
//! commit and the tree path to the record, checked with atmo-repo (every block against its
//! CID, the commit's DID and signature, the path from the commit's data root to the
//! record key; see [`verify_proof`]). atmo-lexicon checks the document and caches it.

use std::net::SocketAddr;

use atmo_api::com_atproto::sync::get_record;
use atmo_crypto::PublicKey;
use atmo_identity::{Resolver, ResolverConfig};
use atmo_lexicon::{Error as LexError, Fetched, LexiconFetcher, SCHEMA_COLLECTION};
use atmo_syntax::{Did, Nsid, RecordKey};

use crate::cmd::GlobalArgs;
use crate::net;

/// Fetches schema records over the network, blocking on its own runtime.
pub(crate) struct NetFetcher {
    global: GlobalArgs,
    dns_servers: Option<Vec<SocketAddr>>,
}

/// Why a fetch failed: the record could not be fetched, or it was and is not proven.
enum FetchFailure {
    /// DNS, DID resolution, the PDS or the transport.
    Fetch(String),
    /// The proof does not check out (the record's URI and why).
    Proof { uri: String, reason: String },
}

impl From<String> for FetchFailure {
    fn from(s: String) -> Self {
        Self::Fetch(s)
    }
}

impl NetFetcher {
    /// A fetcher using --plc and --allow-private-network, and `dns_servers` (the
    /// system's resolvers when `None`).
    pub(crate) fn new(global: GlobalArgs, dns_servers: Option<Vec<SocketAddr>>) -> Self {
        Self {
            global,
            dns_servers,
        }
    }

    async fn fetch_async(&self, nsid: &Nsid) -> Result<Fetched, FetchFailure> {
        let mut config = ResolverConfig::default();
        config.plc_url = self.global.plc.clone();
        config.allow_private_network = self.global.allow_private_network;
        config.use_dns = true;
        config.dns_servers = self.dns_servers.clone();
        let resolver = Resolver::new(config).map_err(|e| e.to_string())?;
        let name = atmo_lexicon::dns_name(nsid);
        let records = resolver
            .txt_lookup(&name)
            .await
            .map_err(|e| format!("DNS TXT {name}: {e}"))?;
        let did = atmo_lexicon::parse_dns_txt(nsid, &records).map_err(|e| match e {
            LexError::Fetch { reason, .. } => reason,
            other => other.to_string(),
        })?;
        let doc = resolver
            .resolve_did(&did)
            .await
            .map_err(|e| format!("cannot resolve {did}: {e}"))?;
        let pds = doc
            .require_pds_endpoint()
            .map_err(|e| format!("{did}: {e}"))?
            .trim_end_matches('/')
            .to_owned();
        let uri = format!("at://{did}/{SCHEMA_COLLECTION}/{nsid}");
        let key = doc.signing_key().map_err(|e| FetchFailure::Proof {
            uri: uri.clone(),
            reason: format!("no #atproto signing key in the DID document of {did}: {e}"),
        })?;
        let client = net::client_for(&pds, &self.global).map_err(|e| e.to_string())?;
        let collection = Nsid::new(SCHEMA_COLLECTION).map_err(|e| e.to_string())?;
        let rkey = RecordKey::new(nsid.as_str()).map_err(|e| format!("{uri}: {e}"))?;
        let params = get_record::Params::new(did.clone(), collection, rkey);
        let car = client.call(&params).await.map_err(|e| {
            let e = atmo_xrpc::Error::from(e);
            if e.is_not_found() {
                format!("{pds} has no record {uri}")
            } else {
                format!("com.atproto.sync.getRecord {uri} on {pds}: {e}")
            }
        })?;
        let (cid, value) = verify_proof(&car, &did, &key, nsid)
            .map_err(|reason| FetchFailure::Proof {
                uri: uri.clone(),
                reason,
            })?
            .ok_or_else(|| {
                format!("{pds} has no record {uri} (its signed commit proves the absence)")
            })?;
        let record = serde_json::from_str(&atmo_data::json::to_string(&value))
            .map_err(|e| format!("{uri}: the record is not JSON: {e}"))?;
        Ok(Fetched::new(did, cid.to_string(), record))
    }
}

/// Checks a `com.atproto.sync.getRecord` answer for the schema record of `nsid` in
/// `did`'s repository, with atmo-repo: every block matches its CID (the CAR reader), the
/// first root is a commit for `did` whose signature verifies with `key`, and the tree
/// from the commit's data root holds `com.atproto.lexicon.schema/<nsid>` (every node on
/// the path present and well-formed) pointing at a record block in the CAR, a strict
/// DAG-CBOR map. Returns the record's CID and value, `None` if the proven tree does not
/// hold the key (an exclusion proof); the reason it fails otherwise.
fn verify_proof(
    car: &[u8],
    did: &Did,
    key: &PublicKey,
    nsid: &Nsid,
) -> Result<Option<(atmo_data::Cid, atmo_data::Value)>, String> {
    let opts = atmo_repo::VerifyOptions::new().did(did.clone()).key(*key);
    let record = atmo_repo::verify_record_proof(car, &opts, SCHEMA_COLLECTION, nsid.as_str())
        .map_err(|e| match e {
            atmo_repo::Error::Car(_) => format!("the proof CAR: {e}"),
            atmo_repo::Error::Commit(_) => format!("the commit: {e}"),
            atmo_repo::Error::Mst(_) => format!("the tree path to the record: {e}"),
            other => other.to_string(),
        })?;
    let Some(record) = record else {
        return Ok(None);
    };
    let value = record
        .to_value()
        .map_err(|e| format!("the record {}: {e}", record.cid()))?;
    Ok(Some((record.cid(), value)))
}

impl LexiconFetcher for NetFetcher {
    fn fetch(&self, nsid: &Nsid) -> Result<Fetched, LexError> {
        let fail = |reason: String| LexError::Fetch {
            nsid: nsid.as_str().to_owned(),
            reason,
        };
        let rt = net::runtime().map_err(|e| fail(e.to_string()))?;
        rt.block_on(self.fetch_async(nsid)).map_err(|f| match f {
            FetchFailure::Fetch(reason) => fail(reason),
            FetchFailure::Proof { uri, reason } => LexError::Proof {
                nsid: nsid.as_str().to_owned(),
                uri,
                reason,
            },
        })
    }
}

/// A `--dns-server` value: `IP:PORT`, or a bare IP (port 53).
pub(crate) fn parse_dns_server(s: &str) -> Result<SocketAddr, String> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    s.parse::<std::net::IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("{s:?} is not IP:PORT or an IP address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_server_values() {
        assert_eq!(
            parse_dns_server("127.0.0.1:5353").unwrap(),
            "127.0.0.1:5353".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            parse_dns_server("::1").unwrap(),
            "[::1]:53".parse::<SocketAddr>().unwrap()
        );
        assert!(parse_dns_server("localhost").is_err());
    }
}
