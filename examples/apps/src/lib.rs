//! What the example programs share: how they reach the network.
//!
//! Each program under `src/bin/` is a real tool built on the `atmo` facade:
//! - `mention-bot`: follows the firehose and replies to every post that mentions it;
//! - `feed-generator`: serves `app.bsky.feed.getFeedSkeleton` behind service-auth
//!   verification, with its `did:web` document;
//! - `repo-backup`: downloads a repository, verifies it and writes it to a CAR file, with
//!   a count of its typed records;
//! - `profile-editor`: shows and edits the signed-in account's profile under a swap.

use atmo::identity::{Resolver, ResolverConfig};

/// Network options every example takes.
#[derive(Debug, Clone, clap::Args)]
pub struct NetArgs {
    /// The did:plc directory.
    #[arg(long, default_value = atmo::identity::DEFAULT_PLC_URL)]
    pub plc: String,
    /// Resolve handles through this service's resolveHandle instead of DNS and HTTPS.
    #[arg(long)]
    pub handle_resolver: Option<String>,
    /// Allow loopback and private addresses and plain http (a local test network).
    #[arg(long)]
    pub allow_private_network: bool,
}

impl NetArgs {
    /// The resolver these options describe.
    ///
    /// # Errors
    ///
    /// When the HTTP client cannot be built.
    pub fn resolver(&self) -> Result<Resolver, atmo::identity::Error> {
        let mut config = ResolverConfig::default();
        config.plc_url.clone_from(&self.plc);
        config.handle_resolver.clone_from(&self.handle_resolver);
        config.allow_private_network = self.allow_private_network;
        if self.handle_resolver.is_some() {
            config.use_dns = false;
        }
        Resolver::new(config)
    }

    /// Signs in with an app password at `service`, under these options' connect policy.
    ///
    /// # Errors
    ///
    /// As [`atmo::xrpc::PasswordSession::login`].
    pub async fn login(
        &self,
        service: &str,
        identifier: &str,
        password: &str,
    ) -> Result<atmo::Agent, atmo::Error> {
        let client = atmo::xrpc::Client::builder(service)
            .allow_private_network(self.allow_private_network)
            .build()?;
        let session = atmo::xrpc::PasswordSession::login(&client, identifier, password).await?;
        Ok(atmo::Agent::from_password(session)
            .await
            .with_resolver(self.resolver()?))
    }
}
