//! The network step of `atmo lex resolve`: `_lexicon.<authority>` DNS TXT -> DID (through
//! atmo-identity, optionally asking given DNS servers) -> PDS (the DID document, with the
//! same private-network policy as every other command) -> `com.atproto.repo.getRecord`
//! of the `com.atproto.lexicon.schema` record whose key is the NSID, its CID checked
//! against the record's DAG-CBOR bytes. atmo-lexicon checks the document and caches it.

use std::net::SocketAddr;

use atmo_api::com_atproto::repo::get_record;
use atmo_data::Cid;
use atmo_identity::{Resolver, ResolverConfig};
use atmo_lexicon::{Error as LexError, Fetched, LexiconFetcher, SCHEMA_COLLECTION};
use atmo_syntax::{Nsid, RecordKey};

use crate::cmd::GlobalArgs;
use crate::net;

/// Fetches schema records over the network, blocking on its own runtime.
pub(crate) struct NetFetcher {
    global: GlobalArgs,
    dns_servers: Option<Vec<SocketAddr>>,
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

    async fn fetch_async(&self, nsid: &Nsid) -> Result<Fetched, String> {
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
        let (_, pds) = net::pds_for(did.as_str(), &self.global)
            .await
            .map_err(|e| e.to_string())?;
        let client = net::client_for(&pds, &self.global).map_err(|e| e.to_string())?;
        let uri = format!("at://{did}/{SCHEMA_COLLECTION}/{nsid}");
        let collection = Nsid::new(SCHEMA_COLLECTION).map_err(|e| e.to_string())?;
        let rkey = RecordKey::new(nsid.as_str()).map_err(|e| format!("{uri}: {e}"))?;
        let params = get_record::Params::new(did.clone().into(), collection, rkey);
        let out = client.call(&params).await.map_err(|e| {
            let e = atmo_xrpc::Error::from(e);
            if e.is_not_found() {
                format!("{pds} has no record {uri}")
            } else {
                format!("getRecord {uri} on {pds}: {e}")
            }
        })?;
        let computed = Cid::for_dag_cbor(&atmo_data::cbor::encode(&out.value));
        let cid = match &out.cid {
            Some(c) => {
                let reported = Cid::parse(c.as_str()).map_err(|e| {
                    format!("{uri}: {pds} reported an invalid CID {:?}: {e}", c.as_str())
                })?;
                if reported != computed {
                    return Err(format!(
                        "{uri}: the record does not match its CID (reported {c}, computed \
                         {computed})"
                    ));
                }
                c.as_str().to_owned()
            }
            None => computed.to_string(),
        };
        let record = serde_json::from_str(&atmo_data::json::to_string(&out.value))
            .map_err(|e| format!("{uri}: the record is not JSON: {e}"))?;
        Ok(Fetched::new(did, cid, record))
    }
}

impl LexiconFetcher for NetFetcher {
    fn fetch(&self, nsid: &Nsid) -> Result<Fetched, LexError> {
        let fail = |reason: String| LexError::Fetch {
            nsid: nsid.as_str().to_owned(),
            reason,
        };
        let rt = net::runtime().map_err(|e| fail(e.to_string()))?;
        rt.block_on(self.fetch_async(nsid)).map_err(fail)
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
