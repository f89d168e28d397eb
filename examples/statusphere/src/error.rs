//! The app's one error type.

/// Everything that can go wrong in Statusphere, from configuration to a bad form.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration variable has a value the app cannot use.
    #[error("configuration: {var}={value:?}: {reason}")]
    Config {
        /// The environment variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// A database operation failed.
    #[error("database ({what}): {source}")]
    Db {
        /// What was being done.
        what: &'static str,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// The server could not listen or serve.
    #[error("server on {addr}: {source}")]
    Serve {
        /// The address.
        addr: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The operating system gave no random bytes.
    #[error("no randomness available: {reason}")]
    Random {
        /// What the OS said.
        reason: String,
    },
    /// The lexicons shipped with the app are broken (a build problem).
    #[error("lexicon {nsid}: {reason}")]
    Lexicon {
        /// The lexicon.
        nsid: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A record failed lexicon validation.
    #[error("record {uri} is not a valid status: {reason}")]
    InvalidRecord {
        /// Where it came from (an AT-URI, or "new" for one being written).
        uri: String,
        /// The validation failure.
        reason: String,
    },
    /// The user typed something that is not a handle, DID or PDS URL.
    #[error("{input:?} is not a handle or DID")]
    BadHandle {
        /// What was typed.
        input: String,
    },
    /// Sign-in could not start for this account (unknown handle, unreachable server...).
    #[error("cannot sign in as {input}: {source}")]
    SignIn {
        /// What was typed.
        input: String,
        /// Why.
        #[source]
        source: atmo::oauth::Error,
    },
    /// The user declined (or the server refused) the authorization.
    #[error("sign-in was not authorized: {code}")]
    Denied {
        /// The OAuth error code (`access_denied` when the user cancelled).
        code: String,
        /// The server's description, if any.
        description: Option<String>,
    },
    /// The callback did not complete a sign-in this app started (unknown, replayed or
    /// expired state, wrong issuer, bad code...).
    #[error("sign-in callback refused: {source}")]
    Callback {
        /// Why.
        #[source]
        source: atmo::oauth::Error,
    },
    /// A stored OAuth session could not be used (restored, refreshed or revoked).
    #[error("OAuth session: {source}")]
    Session {
        /// Why.
        #[source]
        source: atmo::oauth::Error,
    },
    /// The page needs a signed-in user.
    #[error("you are not signed in")]
    NotSignedIn,
    /// A status that is not one of the app's emoji.
    #[error("{status:?} is not one of the statuses on offer")]
    UnknownStatus {
        /// What was sent.
        status: String,
    },
    /// A form could not be read.
    #[error("bad form: {reason}")]
    BadForm {
        /// Why.
        reason: String,
    },
    /// The user's PDS refused or failed a call.
    #[error("{call} on the PDS failed: {message}")]
    Pds {
        /// The XRPC method.
        call: &'static str,
        /// What happened.
        message: String,
    },
    /// The firehose subscription could not start.
    #[error("firehose: {source}")]
    Firehose {
        /// Why.
        #[source]
        source: atmo::firehose::Error,
    },
    /// The HTTP or identity layer could not be set up.
    #[error("{what}: {message}")]
    Setup {
        /// What was being set up.
        what: &'static str,
        /// Why it failed.
        message: String,
    },
}

impl Error {
    /// A database error with its context.
    pub fn db(what: &'static str) -> impl FnOnce(rusqlite::Error) -> Self {
        move |source| Self::Db { what, source }
    }
}

/// The app's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
