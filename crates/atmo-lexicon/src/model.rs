//! The lexicon document model: one typed value for every kind of definition.
//!
//! A [`LexiconDoc`] is what one lexicon JSON file holds: an NSID and named definitions
//! ([`Def`]). Top-level definitions are either *primary* ([`RecordDef`], [`QueryDef`],
//! [`ProcedureDef`], [`SubscriptionDef`], [`PermissionSetDef`]; only ever named `main`),
//! a [`TokenDef`], or a plain data type ([`Schema`], except `ref`, `union` and `params`).
//! Field types nested inside objects, arrays, parameters and bodies are [`Schema`]s.
//!
//! Every reference has already been made absolute ([`RefTarget`] keeps what was written
//! and the [`DefId`] it names), so a code generator can walk a document and look each
//! target up in a [`Catalog`](crate::Catalog) without knowing which file it came from.
//! Maps are `BTreeMap`s: walking order is deterministic.

use std::collections::BTreeMap;
use std::fmt;

use atmo_syntax::Nsid;

/// One lexicon document (a lexicon JSON file).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LexiconDoc {
    /// The lexicon language version; always 1.
    pub lexicon: u32,
    /// The NSID this document defines.
    pub id: Nsid,
    /// The optional `revision` number.
    pub revision: Option<u64>,
    /// The optional description.
    pub description: Option<String>,
    /// The definitions, by name (`main` and others).
    pub defs: BTreeMap<String, Def>,
}

impl LexiconDoc {
    /// The `main` definition, if any.
    pub fn main(&self) -> Option<&Def> {
        self.defs.get("main")
    }

    /// The definition named `name` (use `"main"` for the main one).
    pub fn def(&self, name: &str) -> Option<&Def> {
        self.defs.get(name)
    }
}

/// The absolute name of one definition: an NSID and a definition name.
///
/// Displays as `nsid` for `main` and `nsid#name` otherwise; this is the form `$type`
/// takes in data.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DefId {
    /// The document's NSID.
    pub nsid: Nsid,
    /// The definition name inside that document (`main` if none was written).
    pub name: String,
}

impl DefId {
    /// A definition id.
    pub fn new(nsid: Nsid, name: impl Into<String>) -> Self {
        Self {
            nsid,
            name: name.into(),
        }
    }

    /// True if this names a `main` definition.
    pub fn is_main(&self) -> bool {
        self.name == "main"
    }

    /// Parses `nsid`, `nsid#name` (absolute forms only).
    ///
    /// # Errors
    /// [`RefError`] if the NSID or the name is not valid.
    pub fn parse(s: &str) -> Result<Self, RefError> {
        let (nsid, name) = match s.split_once('#') {
            Some((n, name)) => (n, name),
            None => (s, "main"),
        };
        if nsid.is_empty() {
            return Err(RefError::NotAbsolute);
        }
        check_def_name(name)?;
        let nsid = Nsid::new(nsid).map_err(|_| RefError::BadNsid)?;
        Ok(Self::new(nsid, name))
    }
}

impl fmt::Display for DefId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_main() {
            f.write_str(self.nsid.as_str())
        } else {
            write!(f, "{}#{}", self.nsid, self.name)
        }
    }
}

/// Why a reference string is not valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefError {
    /// The reference is empty.
    #[error("the reference is empty")]
    Empty,
    /// A relative reference (`#name`) where an absolute one is needed.
    #[error("the reference has no NSID")]
    NotAbsolute,
    /// The part before `#` is not a valid NSID.
    #[error("the part before '#' is not a valid NSID")]
    BadNsid,
    /// The definition name is empty or has a character other than ASCII letters, digits,
    /// `_` and `-`.
    #[error("the definition name must be non-empty ASCII letters, digits, '_' or '-'")]
    BadName,
}

/// Checks a definition name (the part after `#`, or a key of `defs`).
pub(crate) fn check_def_name(name: &str) -> Result<(), RefError> {
    if name.is_empty()
        || name.len() > 256
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(RefError::BadName);
    }
    Ok(())
}

/// A reference as written (`#name`, `nsid` or `nsid#name`) and the definition it names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RefTarget {
    /// The text as written in the document.
    pub raw: String,
    /// The absolute definition it names.
    pub target: DefId,
}

impl RefTarget {
    /// Resolves `raw` against the document `base` it was written in.
    ///
    /// # Errors
    /// [`RefError`] if `raw` is not a valid reference.
    pub fn resolve(raw: &str, base: &Nsid) -> Result<Self, RefError> {
        if raw.is_empty() {
            return Err(RefError::Empty);
        }
        let target = match raw.strip_prefix('#') {
            Some(name) => {
                check_def_name(name)?;
                DefId::new(base.clone(), name)
            }
            None => DefId::parse(raw)?,
        };
        Ok(Self {
            raw: raw.to_owned(),
            target,
        })
    }
}

/// One top-level definition of a document.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Def {
    /// `record` (main only).
    Record(RecordDef),
    /// `query` (main only).
    Query(Box<QueryDef>),
    /// `procedure` (main only).
    Procedure(Box<ProcedureDef>),
    /// `subscription` (main only).
    Subscription(Box<SubscriptionDef>),
    /// `permission-set` (main only).
    PermissionSet(Box<PermissionSetDef>),
    /// `token`: a named value with no data of its own.
    Token(TokenDef),
    /// A plain data type: object, array, string, integer, boolean, bytes, cid-link, blob,
    /// unknown or null (never ref, union or params).
    Type(Schema),
}

impl Def {
    /// The `type` string of this definition.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Record(_) => "record",
            Self::Query(_) => "query",
            Self::Procedure(_) => "procedure",
            Self::Subscription(_) => "subscription",
            Self::PermissionSet(_) => "permission-set",
            Self::Token(_) => "token",
            Self::Type(s) => s.type_name(),
        }
    }

    /// The description, if any.
    pub fn description(&self) -> Option<&str> {
        match self {
            Self::Record(d) => d.description.as_deref(),
            Self::Query(d) => d.description.as_deref(),
            Self::Procedure(d) => d.description.as_deref(),
            Self::Subscription(d) => d.description.as_deref(),
            Self::PermissionSet(d) => d.detail.as_deref(),
            Self::Token(d) => d.description.as_deref(),
            Self::Type(s) => s.description(),
        }
    }

    /// True for record, query, procedure, subscription and permission-set.
    pub fn is_primary(&self) -> bool {
        matches!(
            self,
            Self::Record(_)
                | Self::Query(_)
                | Self::Procedure(_)
                | Self::Subscription(_)
                | Self::PermissionSet(_)
        )
    }
}

/// What record keys a collection allows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordKeyType {
    /// `tid`: a TID.
    Tid,
    /// `nsid`: an NSID.
    Nsid,
    /// `any`: any valid record key.
    Any,
    /// `literal:<value>`: exactly that key (as `self`).
    Literal(String),
}

impl fmt::Display for RecordKeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tid => f.write_str("tid"),
            Self::Nsid => f.write_str("nsid"),
            Self::Any => f.write_str("any"),
            Self::Literal(s) => write!(f, "literal:{s}"),
        }
    }
}

/// A `record` definition.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RecordDef {
    /// Description.
    pub description: Option<String>,
    /// The record key type.
    pub key: RecordKeyType,
    /// The record's schema (always an object).
    pub record: ObjectType,
}

/// A `query` (HTTP GET) definition.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct QueryDef {
    /// Description.
    pub description: Option<String>,
    /// Query-string parameters.
    pub parameters: Option<ParamsType>,
    /// The response body.
    pub output: Option<Body>,
    /// Named errors.
    pub errors: Vec<ErrorDef>,
}

/// A `procedure` (HTTP POST) definition.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ProcedureDef {
    /// Description.
    pub description: Option<String>,
    /// Query-string parameters.
    pub parameters: Option<ParamsType>,
    /// The request body.
    pub input: Option<Body>,
    /// The response body.
    pub output: Option<Body>,
    /// Named errors.
    pub errors: Vec<ErrorDef>,
}

/// A `subscription` (WebSocket event stream) definition.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SubscriptionDef {
    /// Description.
    pub description: Option<String>,
    /// Query-string parameters.
    pub parameters: Option<ParamsType>,
    /// The messages: a union of the message types.
    pub message: Option<Message>,
    /// Named errors.
    pub errors: Vec<ErrorDef>,
}

/// A subscription's message schema.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Message {
    /// Description.
    pub description: Option<String>,
    /// The message types.
    pub schema: UnionType,
}

/// An HTTP body of a query or procedure.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Body {
    /// Description.
    pub description: Option<String>,
    /// The MIME type (`application/json`, `*/*`...).
    pub encoding: String,
    /// The JSON schema: an object, ref or union (only for JSON bodies).
    pub schema: Option<Schema>,
}

/// A named error of an XRPC method.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorDef {
    /// The error name (`RecordNotFound`...).
    pub name: String,
    /// Description.
    pub description: Option<String>,
}

/// A `permission-set` definition (a bundle of OAuth permissions).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PermissionSetDef {
    /// Short title.
    pub title: Option<String>,
    /// Translated titles, by language tag.
    pub title_lang: BTreeMap<String, String>,
    /// Longer text.
    pub detail: Option<String>,
    /// Translated details, by language tag.
    pub detail_lang: BTreeMap<String, String>,
    /// The permissions.
    pub permissions: Vec<Permission>,
}

/// One permission of a permission set.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Permission {
    /// The resource: `repo`, `rpc`, `blob`, `account` or `identity`.
    pub resource: String,
    /// Collections (`repo`), NSIDs or `*`.
    pub collection: Vec<String>,
    /// Actions (`repo`: create/update/delete; `account`, `identity`: one action).
    pub action: Vec<String>,
    /// Methods (`rpc`), NSIDs or `*`.
    pub lxm: Vec<String>,
    /// Audience (`rpc`): `*` or a service reference `did#id`.
    pub aud: Option<String>,
    /// Inherit the audience from the request (`rpc`).
    pub inherit_aud: bool,
    /// MIME patterns (`blob`).
    pub accept: Vec<String>,
    /// Attribute (`account`, `identity`).
    pub attr: Option<String>,
    /// Description.
    pub description: Option<String>,
}

/// A `token` definition.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenDef {
    /// Description.
    pub description: Option<String>,
}

/// A field type: what one value inside a record, body or parameter list may be.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Schema {
    /// `null`.
    Null(NullType),
    /// `boolean`.
    Boolean(BooleanType),
    /// `integer`.
    Integer(IntegerType),
    /// `string`.
    String(StringType),
    /// `bytes`.
    Bytes(BytesType),
    /// `cid-link`.
    CidLink(CidLinkType),
    /// `blob`.
    Blob(BlobType),
    /// `array`.
    Array(ArrayType),
    /// `object`.
    Object(ObjectType),
    /// `ref`: another definition.
    Ref(RefType),
    /// `union`: one of several definitions, chosen by `$type`.
    Union(UnionType),
    /// `unknown`: any object.
    Unknown(UnknownType),
}

impl Schema {
    /// The `type` string of this schema.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Null(_) => "null",
            Self::Boolean(_) => "boolean",
            Self::Integer(_) => "integer",
            Self::String(_) => "string",
            Self::Bytes(_) => "bytes",
            Self::CidLink(_) => "cid-link",
            Self::Blob(_) => "blob",
            Self::Array(_) => "array",
            Self::Object(_) => "object",
            Self::Ref(_) => "ref",
            Self::Union(_) => "union",
            Self::Unknown(_) => "unknown",
        }
    }

    /// The description, if any.
    pub fn description(&self) -> Option<&str> {
        match self {
            Self::Null(s) => s.description.as_deref(),
            Self::Boolean(s) => s.description.as_deref(),
            Self::Integer(s) => s.description.as_deref(),
            Self::String(s) => s.description.as_deref(),
            Self::Bytes(s) => s.description.as_deref(),
            Self::CidLink(s) => s.description.as_deref(),
            Self::Blob(s) => s.description.as_deref(),
            Self::Array(s) => s.description.as_deref(),
            Self::Object(s) => s.description.as_deref(),
            Self::Ref(s) => s.description.as_deref(),
            Self::Union(s) => s.description.as_deref(),
            Self::Unknown(s) => s.description.as_deref(),
        }
    }
}

/// `null`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct NullType {
    /// Description.
    pub description: Option<String>,
}

/// `boolean`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BooleanType {
    /// Description.
    pub description: Option<String>,
    /// Default value.
    pub default: Option<bool>,
    /// The only allowed value.
    pub const_value: Option<bool>,
}

/// `integer`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct IntegerType {
    /// Description.
    pub description: Option<String>,
    /// Smallest allowed value.
    pub minimum: Option<i64>,
    /// Largest allowed value.
    pub maximum: Option<i64>,
    /// The allowed values (closed set).
    pub enum_values: Option<Vec<i64>>,
    /// Default value.
    pub default: Option<i64>,
    /// The only allowed value.
    pub const_value: Option<i64>,
}

/// The `format` of a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StringFormat {
    /// `at-identifier`: a DID or a handle.
    AtIdentifier,
    /// `at-uri`.
    AtUri,
    /// `cid`: a CID in string form.
    Cid,
    /// `datetime`.
    Datetime,
    /// `did`.
    Did,
    /// `handle`.
    Handle,
    /// `nsid`.
    Nsid,
    /// `tid`.
    Tid,
    /// `record-key`.
    RecordKey,
    /// `uri`.
    Uri,
    /// `language`: a BCP 47 tag.
    Language,
}

impl StringFormat {
    /// Every format, in spec order.
    pub const ALL: [Self; 11] = [
        Self::AtIdentifier,
        Self::AtUri,
        Self::Cid,
        Self::Datetime,
        Self::Did,
        Self::Handle,
        Self::Nsid,
        Self::Tid,
        Self::RecordKey,
        Self::Uri,
        Self::Language,
    ];

    /// The name as written in lexicons.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AtIdentifier => "at-identifier",
            Self::AtUri => "at-uri",
            Self::Cid => "cid",
            Self::Datetime => "datetime",
            Self::Did => "did",
            Self::Handle => "handle",
            Self::Nsid => "nsid",
            Self::Tid => "tid",
            Self::RecordKey => "record-key",
            Self::Uri => "uri",
            Self::Language => "language",
        }
    }

    /// Parses a format name.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

impl fmt::Display for StringFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `string`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StringType {
    /// Description.
    pub description: Option<String>,
    /// A syntax the string must follow.
    pub format: Option<StringFormat>,
    /// Most UTF-8 bytes.
    pub max_length: Option<u64>,
    /// Fewest UTF-8 bytes.
    pub min_length: Option<u64>,
    /// Most grapheme clusters.
    pub max_graphemes: Option<u64>,
    /// Fewest grapheme clusters.
    pub min_graphemes: Option<u64>,
    /// Suggested values (an open set: others are allowed).
    pub known_values: Vec<String>,
    /// The allowed values (a closed set).
    pub enum_values: Option<Vec<String>>,
    /// Default value.
    pub default: Option<String>,
    /// The only allowed value.
    pub const_value: Option<String>,
}

/// `bytes`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BytesType {
    /// Description.
    pub description: Option<String>,
    /// Fewest bytes.
    pub min_length: Option<u64>,
    /// Most bytes.
    pub max_length: Option<u64>,
}

/// `cid-link`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CidLinkType {
    /// Description.
    pub description: Option<String>,
}

/// `blob`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BlobType {
    /// Description.
    pub description: Option<String>,
    /// Accepted MIME types; `type/*` and `*/*` are wildcards. `None`: any.
    pub accept: Option<Vec<String>>,
    /// Largest size in bytes.
    pub max_size: Option<u64>,
}

/// `array`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ArrayType {
    /// Description.
    pub description: Option<String>,
    /// The element type.
    pub items: Box<Schema>,
    /// Fewest elements.
    pub min_length: Option<u64>,
    /// Most elements.
    pub max_length: Option<u64>,
}

/// `object`.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ObjectType {
    /// Description.
    pub description: Option<String>,
    /// Fields that must be present.
    pub required: Vec<String>,
    /// Fields that may be `null`.
    pub nullable: Vec<String>,
    /// The fields.
    pub properties: BTreeMap<String, Schema>,
}

impl ObjectType {
    /// True if `field` is listed in `required`.
    pub fn is_required(&self, field: &str) -> bool {
        self.required.iter().any(|r| r == field)
    }

    /// True if `field` is listed in `nullable`.
    pub fn is_nullable(&self, field: &str) -> bool {
        self.nullable.iter().any(|r| r == field)
    }
}

/// `params`: the query-string parameters of an XRPC method.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ParamsType {
    /// Description.
    pub description: Option<String>,
    /// Parameters that must be present.
    pub required: Vec<String>,
    /// The parameters: boolean, integer, string, unknown, or arrays of those.
    pub properties: BTreeMap<String, Schema>,
}

/// `ref`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefType {
    /// Description.
    pub description: Option<String>,
    /// The referenced definition.
    pub reference: RefTarget,
}

/// `union`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnionType {
    /// Description.
    pub description: Option<String>,
    /// The member definitions.
    pub refs: Vec<RefTarget>,
    /// Closed: no `$type` other than `refs` is allowed. Open (the default): data with
    /// another `$type` is accepted as is.
    pub closed: bool,
}

/// `unknown`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct UnknownType {
    /// Description.
    pub description: Option<String>,
}
