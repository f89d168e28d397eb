//! The signed-in account, whichever way it signed in: an OAuth session (`atmo login
//! --oauth`, DPoP-bound, refreshed and nonce-retried by atmo-oauth) wins over an
//! app-password session (`atmo login`).

use atmo_syntax::Did;
use atmo_xrpc::Client;

use crate::cmd::GlobalArgs;
use crate::error::CliError;
use crate::net;

/// A client that carries the signed-in account's session, or an exit-1 error that says to
/// log in. An OAuth session talks to its own PDS (the one its tokens are for); an
/// app-password session to --pds if given, else its PDS.
pub(crate) async fn session_client(global: &GlobalArgs) -> Result<Client, CliError> {
    if let Some(s) = crate::cmd::oauth::session(global)? {
        return s.xrpc_client().map_err(CliError::failed);
    }
    Ok(net::password_session(global).await?.0)
}

/// The DID of the account whose session `client` carries (the repository that writes
/// go to), or the exit-1 error of a call that needs a session.
pub(crate) fn session_did(client: &Client) -> Result<Did, CliError> {
    client
        .auth()
        .account_did()
        .ok_or_else(|| net::xrpc_err(atmo_xrpc::Error::NoSession))
}

/// Where to read an account's data ([`net::read_target`]); the OAuth session is attached
/// when the client talks to its PDS.
pub(crate) async fn read_target(
    identifier: &str,
    global: &GlobalArgs,
) -> Result<(Client, Did), CliError> {
    let (client, did) = net::read_target(identifier, global).await?;
    if let Some(s) = crate::cmd::oauth::session(global)?
        && s.pds() == client.service_url()
    {
        return Ok((s.xrpc_client().map_err(CliError::failed)?, did));
    }
    Ok((client, did))
}
