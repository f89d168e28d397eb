//! [`Error`]: everything that can go wrong while parsing or resolving an identity.

use std::net::IpAddr;
use std::time::Duration;

use atmo_data::Cid;
use atmo_syntax::Did;

/// Any error from this crate.
///
/// It is `Clone` so that one failed resolution can be handed to every caller that waited
/// on it (see the cache's in-flight de-duplication); transport errors are kept as text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is neither a valid handle nor a valid DID.
    #[error("{input:?} is neither a handle nor a DID: {reason}")]
    InvalidIdentifier {
        /// The input as given.
        input: String,
        /// Why it failed to parse.
        reason: String,
    },
    /// A DID found in a response is not a valid DID.
    #[error("invalid DID {input:?} from {source_name}: {error}")]
    InvalidDid {
        /// The text that should have been a DID (cut to 256 bytes).
        input: String,
        /// Where it came from (`"DNS TXT"`, `"well-known"`, a URL...).
        source_name: String,
        /// Why it is not a DID.
        error: atmo_syntax::DidError,
    },
    /// A DID method this crate does not resolve (only `did:plc` and `did:web` are atproto).
    #[error("unsupported DID method {method:?} (atproto uses did:plc and did:web)")]
    UnsupportedDidMethod {
        /// The method, e.g. `key`.
        method: String,
    },
    /// A `did:web` that atproto does not allow (with a path, or not a host name).
    #[error("unsupported did:web {did:?}: {reason}")]
    UnsupportedDidWeb {
        /// The DID.
        did: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A DID document larger than the limit.
    #[error("DID document is {len} bytes, more than the limit of {limit}")]
    DocumentTooLarge {
        /// Its size (or a lower bound when the download was cut off).
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A DID document that is not the JSON we expect.
    #[error("malformed DID document at line {line}, column {column}: {message}")]
    DocumentJson {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What serde_json reported.
        message: String,
    },
    /// A DID document with too many entries in a list.
    #[error("DID document has {count} entries in {field}, more than the limit of {limit}")]
    DocumentTooManyEntries {
        /// The field (`alsoKnownAs`, `verificationMethod`, `service`).
        field: &'static str,
        /// How many it holds.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The document's `id` is not the DID that was asked for.
    #[error("DID document id {found:?} does not match the requested DID {expected:?}")]
    DocumentIdMismatch {
        /// The DID that was resolved.
        expected: String,
        /// The document's `id`.
        found: String,
    },
    /// The document has no `#atproto` verification method.
    #[error("DID document of {did} has no #atproto verification method")]
    NoSigningKey {
        /// The document's DID.
        did: String,
    },
    /// The `#atproto` verification method holds a key we cannot use.
    #[error("#atproto key of {did} (type {method_type:?}) is unusable: {error}")]
    BadSigningKey {
        /// The document's DID.
        did: String,
        /// The verification method's `type`.
        method_type: String,
        /// Why the key was rejected.
        error: atmo_crypto::KeyError,
    },
    /// The `#atproto` verification method has a type or encoding this crate does not know.
    #[error("#atproto key of {did} has unsupported type {method_type:?}")]
    UnsupportedKeyType {
        /// The document's DID.
        did: String,
        /// The verification method's `type`.
        method_type: String,
    },
    /// The document names no `#atproto_pds` service of type `AtprotoPersonalDataServer`.
    #[error("DID document of {did} names no #atproto_pds service")]
    NoPds {
        /// The document's DID.
        did: String,
    },
    /// The PDS endpoint is not an `http(s)://host[:port]` URL.
    #[error("PDS endpoint {endpoint:?} of {did} is not an http(s) URL without a path")]
    BadPdsEndpoint {
        /// The document's DID.
        did: String,
        /// The endpoint as written.
        endpoint: String,
    },
    /// The TXT strings at `_atproto.<handle>` break the `did=` rule in another way than
    /// [`Error::DnsAmbiguous`] or [`Error::InvalidDid`] (too many strings).
    #[error("DNS TXT _atproto.{handle}: {error}")]
    DnsTxt {
        /// The handle.
        handle: String,
        /// What is wrong.
        error: atmo_syntax::txt::TxtError,
    },
    /// `_atproto.<handle>` holds `did=` strings with different values (the count of
    /// distinct values; one of them may not even be a DID).
    #[error("DNS TXT _atproto.{handle} names {count} different DIDs; the spec says to fail")]
    DnsAmbiguous {
        /// The handle.
        handle: String,
        /// How many different DIDs were named.
        count: usize,
    },
    /// The well-known body is not a DID.
    #[error("https://{handle}/.well-known/atproto-did: {reason}")]
    WellKnownBody {
        /// The handle.
        handle: String,
        /// What is wrong with the body.
        reason: String,
    },
    /// No method found a DID for the handle.
    #[error("handle {handle} did not resolve: {reason}")]
    HandleNotFound {
        /// The handle.
        handle: String,
        /// What each method said.
        reason: String,
    },
    /// The DID is not known (HTTP 404 / 410 from the directory or the did:web host).
    #[error("{did} was not found ({status})")]
    DidNotFound {
        /// The DID.
        did: String,
        /// The HTTP status.
        status: u16,
    },
    /// A connection to a private, loopback, link-local or otherwise non-public address was
    /// refused (server-side request forgery protection).
    #[error(
        "refusing to connect to {host} at {addr}: {reason} address (allow private networks to permit it)"
    )]
    Forbidden {
        /// The host name of the URL.
        host: String,
        /// The address it resolved to.
        addr: IpAddr,
        /// The class of address (`loopback`, `private`, ...).
        reason: &'static str,
    },
    /// A URL this crate will not fetch.
    #[error("refusing URL {url:?}: {reason}")]
    Url {
        /// The URL.
        url: String,
        /// Why.
        reason: &'static str,
    },
    /// An unexpected HTTP status.
    #[error("{url}: HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// A redirect that is not followed: too many hops, no usable `Location`, or a
    /// downgrade from https to http.
    #[error("{url}: redirect not followed: {reason}")]
    Redirect {
        /// The URL that answered with the redirect.
        url: String,
        /// Why it is not followed.
        reason: &'static str,
    },
    /// A response body larger than the limit.
    #[error("{url}: response body larger than {limit} bytes")]
    ResponseTooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: usize,
    },
    /// A request that did not finish in time.
    #[error("{url}: no complete answer within {after:?}")]
    Timeout {
        /// The URL (or DNS name).
        url: String,
        /// The time limit.
        after: Duration,
    },
    /// Connecting, TLS, or the HTTP exchange failed.
    #[error("{url}: {message}")]
    Transport {
        /// The URL.
        url: String,
        /// What failed.
        message: String,
    },
    /// A DNS lookup failed (other than "no such record").
    #[error("DNS lookup of {name} failed: {message}")]
    Dns {
        /// The name looked up.
        name: String,
        /// What the resolver said.
        message: String,
    },
    /// A JSON response (not a DID document) that does not parse.
    #[error("{url}: malformed JSON response: {message}")]
    ResponseJson {
        /// The URL.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// An XRPC handle resolver answered with an error.
    #[error("{url}: {error}: {message}")]
    Xrpc {
        /// The URL.
        url: String,
        /// The XRPC error name (e.g. `HandleNotFound`).
        error: String,
        /// The error message.
        message: String,
    },
    /// The resolver could not be set up (TLS or DNS configuration).
    #[error("resolver setup failed: {0}")]
    Setup(String),
    /// A did:plc audit log (or one of its operations) that does not decode: not JSON, not
    /// the shape the PLC spec gives, or over a size limit.
    #[error("malformed did:plc audit log{}: {message}", index.map(|i| format!(" (entry {i})")).unwrap_or_default())]
    PlcDecode {
        /// The entry at fault, when the error is in one entry.
        index: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A did:plc audit log with no operation at all.
    #[error("the did:plc audit log of {did} is empty")]
    PlcEmptyLog {
        /// The DID.
        did: Did,
    },
    /// The first operation of a did:plc audit log that breaks a rule of the PLC method.
    #[error("did:plc audit log of {did}: operation {index} ({cid}) {rule}")]
    PlcInvalidOperation {
        /// The DID.
        did: Did,
        /// The 0-based position of the operation in the audit log.
        index: usize,
        /// The operation's CID as the log states it (boxed: a CID is 80 bytes inline).
        cid: Box<Cid>,
        /// The rule it broke (boxed to keep [`Error`] small).
        rule: Box<PlcRule>,
    },
    /// What the directory serves for a DID differs from what its verified log derives.
    #[error("{did}: the directory serves {field} {served:?}, the verified log gives {derived:?}")]
    PlcMismatch {
        /// The DID.
        did: Did,
        /// What differs (`"/data rotationKeys"`, `"document alsoKnownAs"`, ...).
        field: &'static str,
        /// The value derived from the log.
        derived: String,
        /// The value the directory serves.
        served: String,
    },
    /// The directory refused an operation (`POST /<did>`).
    #[error("the directory refused the operation for {did}: HTTP {status}: {message}")]
    PlcRejected {
        /// The DID.
        did: Did,
        /// The HTTP status.
        status: u16,
        /// The directory's message (cut to 512 bytes).
        message: String,
    },
    /// Signing an operation failed.
    #[error("signing the did:plc operation failed: {0}")]
    Sign(atmo_crypto::Error),
}

/// The rule of the did:plc method that an operation breaks (see
/// [`Error::PlcInvalidOperation`]). Each names its source: the PLC spec (the README of
/// did-method-plc) or the reference implementation `@did-plc/lib` (`operations.ts`,
/// `data.ts`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlcRule {
    /// The entry's `did` is not the DID of the log.
    #[error("belongs to {found:?}, not to this DID")]
    WrongDid {
        /// The entry's `did`.
        found: String,
    },
    /// The entry's `createdAt` is earlier than the one before it (the log is ordered by it).
    #[error("was created at {created_at}, before the operation preceding it in the log")]
    CreatedAtBackwards {
        /// The entry's `createdAt`.
        created_at: String,
    },
    /// The operation's DAG-CBOR is larger than the spec's limit (7500 bytes).
    #[error("is {len} bytes of DAG-CBOR, more than the limit of {limit}")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The log's `cid` is not the CID of the operation's DAG-CBOR (sha-256, dag-cbor).
    #[error("has the CID {computed}, not the one the log states")]
    CidMismatch {
        /// The CID computed from the operation.
        computed: Cid,
    },
    /// The genesis operation does not hash to the DID.
    #[error("is the genesis operation of {derived}, not of this DID")]
    GenesisHash {
        /// The DID its hash gives.
        derived: Did,
    },
    /// The first operation is a tombstone.
    #[error("is a tombstone, which cannot be a genesis operation")]
    GenesisTombstone,
    /// The genesis operation has a `prev`.
    #[error("is the genesis operation but has a prev")]
    GenesisHasPrev,
    /// A legacy `create` operation after the genesis.
    #[error("is a legacy create operation, allowed only as the genesis operation")]
    CreateAfterGenesis,
    /// A later operation with `prev: null`.
    #[error("has no prev, but only the genesis operation may")]
    MissingPrev,
    /// `prev` names no earlier valid (not nullified) operation of the log.
    #[error("has prev {prev}, which is no earlier valid operation of the log")]
    PrevNotFound {
        /// The `prev`.
        prev: Cid,
    },
    /// `prev` names a tombstone: nothing may follow a tombstone.
    #[error("has prev {prev}, a tombstone (a tombstone ends the log)")]
    PrevIsTombstone {
        /// The `prev`.
        prev: Cid,
    },
    /// An operation with no rotation key.
    #[error("has no rotation key (at least 1 is needed)")]
    NoRotationKeys,
    /// An operation with more than 5 rotation keys.
    #[error("has {count} rotation keys (at most {limit})")]
    TooManyRotationKeys {
        /// How many.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A rotation key listed twice.
    #[error("lists the rotation key {key} twice")]
    DuplicateRotationKey {
        /// The key.
        key: String,
    },
    /// A key that is not a did:key of a supported curve (secp256k1 or P-256).
    #[error("holds the unusable key {key:?}: {error}")]
    UnsupportedKey {
        /// The key as written (cut to 128 bytes).
        key: String,
        /// Why it is rejected.
        error: atmo_crypto::KeyError,
    },
    /// A `sig` that is not 64 bytes in base64url without padding.
    #[error("has a sig that is not 64 bytes of unpadded base64url")]
    SignatureEncoding,
    /// No rotation key valid at the parent verifies the signature.
    #[error("is not signed by any rotation key of its parent")]
    BadSignature,
    /// A recovery (an operation that nullifies others) not signed by a rotation key of
    /// strictly higher priority than the key that signed the first nullified operation.
    #[error(
        "nullifies operations signed by rotation key #{disputed} but is signed by {}, not by a key of higher priority",
        signer.map_or_else(|| "no rotation key of its parent".to_owned(), |s| format!("rotation key #{s}"))
    )]
    RecoveryKeyNotHigher {
        /// The index (in the parent's rotation keys) of the key that signed it, if any.
        signer: Option<usize>,
        /// The index of the key that signed the first nullified operation.
        disputed: usize,
    },
    /// A recovery made more than 72 hours after the first operation it nullifies.
    #[error(
        "nullifies an operation {elapsed_secs} s after it was created, past the 72-hour recovery window"
    )]
    LateRecovery {
        /// Seconds between the first nullified operation's `createdAt` and this one's.
        elapsed_secs: i64,
    },
    /// The log's `nullified` flag is not what the rules give.
    #[error("is marked nullified: {stated}, but the rules give {expected}")]
    NullifiedFlag {
        /// What the log says.
        stated: bool,
        /// What the rules give.
        expected: bool,
    },
}

/// Cuts `s` to at most `max` bytes on a character boundary, for error messages.
pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default().to_owned()
}

impl Error {
    /// The transport's error as this crate's, keeping the typed fields.
    pub(crate) fn from_http(url: &str, e: atmo_http::Error) -> Error {
        use atmo_http::Error as H;
        match e {
            H::Forbidden { host, addr, reason } => Error::Forbidden { host, addr, reason },
            H::Url { url, reason } => Error::Url { url, reason },
            H::Insecure { url } => Error::Url {
                url,
                reason: "plain http is only allowed with private networks",
            },
            H::Dns { host, message, .. } => Error::Dns {
                name: host,
                message,
            },
            H::Timeout { url, after, .. } => Error::Timeout { url, after },
            H::TooLarge { url, limit } => Error::ResponseTooLarge {
                url,
                limit: usize::try_from(limit).unwrap_or(usize::MAX),
            },
            H::Setup(m) => Error::Setup(m),
            other => Error::Transport {
                url: clip(url, 512),
                message: other.to_string(),
            },
        }
    }
}
