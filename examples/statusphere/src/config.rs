//! Configuration, from environment variables (every one optional).

use std::net::SocketAddr;

use crate::error::{Error, Result};

/// How the app runs: where it listens, where it keeps data, which network it talks to.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// `STATUSPHERE_BIND`: the listening address (default `127.0.0.1:8080`; port 0
    /// picks a free port).
    pub bind: SocketAddr,
    /// `STATUSPHERE_DB`: the SQLite database file (default `statusphere.sqlite`;
    /// a `sqlite://` prefix is accepted).
    pub db_path: String,
    /// `STATUSPHERE_PUBLIC_URL`: the app's public `https://` URL. When set, the app is a
    /// public web OAuth client whose metadata it serves at `/client-metadata.json`;
    /// otherwise it is a loopback (development) client on `http://127.0.0.1:<port>`.
    pub public_url: Option<String>,
    /// `STATUSPHERE_FIREHOSE`: the relay or PDS to ingest statuses from (default
    /// `wss://bsky.network`).
    pub firehose: String,
    /// `STATUSPHERE_PLC_URL`: the did:plc directory (default the public one).
    pub plc_url: String,
    /// `STATUSPHERE_HANDLE_RESOLVER`: a service whose `resolveHandle` answers for
    /// handles (a PDS, in development); DNS is then not used.
    pub handle_resolver: Option<String>,
    /// `STATUSPHERE_ALLOW_PRIVATE_NETWORK=1`: allow loopback and private addresses and
    /// plain `http` (a local reference network). Off by default.
    pub allow_private_network: bool,
    /// `STATUSPHERE_COOKIE_SECRET`: the key (at least 32 characters) that signs session
    /// cookies. Default: a random key kept in the database.
    pub cookie_secret: Option<String>,
}

impl Config {
    /// Reads the configuration from the environment.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a value that cannot be used.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the configuration through `get` (the environment, or a test's map).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a value that cannot be used.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let var = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let bind_s = var("STATUSPHERE_BIND").unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let bind = bind_s.parse().map_err(|e| Error::Config {
            var: "STATUSPHERE_BIND",
            value: bind_s.clone(),
            reason: format!("{e}"),
        })?;
        let db = var("STATUSPHERE_DB").unwrap_or_else(|| "statusphere.sqlite".to_owned());
        let db_path = db.strip_prefix("sqlite://").unwrap_or(&db).to_owned();
        let public_url = var("STATUSPHERE_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_owned());
        if let Some(u) = public_url.as_ref().filter(|u| !u.starts_with("https://")) {
            return Err(Error::Config {
                var: "STATUSPHERE_PUBLIC_URL",
                value: u.clone(),
                reason: "a public OAuth client must be served over https".to_owned(),
            });
        }
        let allow_s = var("STATUSPHERE_ALLOW_PRIVATE_NETWORK").unwrap_or_default();
        let allow_private_network = match allow_s.as_str() {
            "" | "0" | "false" | "no" => false,
            "1" | "true" | "yes" => true,
            _ => {
                return Err(Error::Config {
                    var: "STATUSPHERE_ALLOW_PRIVATE_NETWORK",
                    value: allow_s,
                    reason: "expected 1 or 0".to_owned(),
                });
            }
        };
        let cookie_secret = var("STATUSPHERE_COOKIE_SECRET");
        if cookie_secret.as_ref().is_some_and(|s| s.len() < 32) {
            return Err(Error::Config {
                var: "STATUSPHERE_COOKIE_SECRET",
                value: "(hidden)".to_owned(),
                reason: "use at least 32 characters".to_owned(),
            });
        }
        Ok(Self {
            bind,
            db_path,
            public_url,
            firehose: var("STATUSPHERE_FIREHOSE")
                .unwrap_or_else(|| "wss://bsky.network".to_owned()),
            plc_url: var("STATUSPHERE_PLC_URL")
                .unwrap_or_else(|| atmo::identity::DEFAULT_PLC_URL.to_owned()),
            handle_resolver: var("STATUSPHERE_HANDLE_RESOLVER"),
            allow_private_network,
            cookie_secret,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_refusals() {
        let c = Config::from_lookup(|_| None).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.db_path, "statusphere.sqlite");
        assert!(!c.allow_private_network);
        let c = Config::from_lookup(|k| (k == "STATUSPHERE_DB").then(|| "sqlite://x.db".into()))
            .unwrap();
        assert_eq!(c.db_path, "x.db");
        let e = Config::from_lookup(|k| {
            (k == "STATUSPHERE_PUBLIC_URL").then(|| "http://example.com".into())
        })
        .unwrap_err();
        assert!(e.to_string().contains("https"), "{e}");
        let e =
            Config::from_lookup(|k| (k == "STATUSPHERE_BIND").then(|| "nope".into())).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Config {
                    var: "STATUSPHERE_BIND",
                    ..
                }
            ),
            "{e}"
        );
    }
}
