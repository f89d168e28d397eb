//! Posts (text, replies, quotes, images, links, languages, self-labels, tags) and the
//! small social records: likes, reposts, follows.

use std::path::PathBuf;

use atmo_api::app_bsky::embed::{defs::AspectRatio, external, images, record, record_with_media};
use atmo_api::app_bsky::feed::{like, post, repost};
use atmo_api::app_bsky::graph::follow;
use atmo_api::app_bsky::richtext::facet::Facet;
use atmo_api::com_atproto::label::defs::{SelfLabel, SelfLabels};
use atmo_api::com_atproto::repo::{get_record, strong_ref::StrongRef};
use atmo_api::records::Written;
use atmo_syntax::{AtUri, Datetime, Did, Language, LenientDatetime, Uri};
use bytes::Bytes;
use unicode_segmentation::UnicodeSegmentation as _;

use super::Agent;
use super::blob::{ImageInfo, read_file};
use crate::error::{Error, Result};

pub use crate::richtext::MAX_POST_GRAPHEMES;
/// The most images one post embeds.
pub const MAX_IMAGES: usize = 4;
/// The largest image file read (the lexicon's image `maxSize` is 1,000,000 bytes; the
/// PDS enforces it when the record is written).
const MAX_IMAGE_FILE: u64 = 16 * 1024 * 1024;

#[derive(Debug, Clone)]
enum ImageSource {
    File(PathBuf),
    Bytes(Bytes),
}

#[derive(Debug, Clone)]
struct ImageSpec {
    source: ImageSource,
    alt: String,
}

/// A post being written: [`Agent::post`] starts one, [`PostBuilder::send`] writes it.
#[derive(Debug, Clone)]
#[must_use = "a post is written only by send()"]
pub struct PostBuilder {
    agent: Agent,
    text: String,
    facets: Option<Vec<Facet>>,
    reply_to: Option<AtUri>,
    quote: Option<AtUri>,
    images: Vec<ImageSpec>,
    external: Option<(Uri, String, String)>,
    langs: Vec<String>,
    labels: Vec<String>,
    tags: Vec<String>,
    created_at: Option<LenientDatetime>,
}

impl PostBuilder {
    /// Sets the facets (mentions, links, tags with their byte ranges) instead of
    /// detecting them in the text.
    pub fn facets(mut self, facets: Vec<Facet>) -> Self {
        self.facets = Some(facets);
        self
    }

    /// Replies to the post at `parent`; the thread's root is read from the parent.
    pub fn reply_to(mut self, parent: AtUri) -> Self {
        self.reply_to = Some(parent);
        self
    }

    /// Quotes the record at `uri` (a post, a feed, a list...).
    pub fn quote(mut self, uri: AtUri) -> Self {
        self.quote = Some(uri);
        self
    }

    /// Attaches an image file (PNG, JPEG, GIF or WebP) with its alt text; it is uploaded
    /// on send, with its aspect ratio.
    pub fn image(mut self, path: impl Into<PathBuf>, alt: impl Into<String>) -> Self {
        self.images.push(ImageSpec {
            source: ImageSource::File(path.into()),
            alt: alt.into(),
        });
        self
    }

    /// Attaches an image held in memory.
    pub fn image_bytes(mut self, bytes: impl Into<Bytes>, alt: impl Into<String>) -> Self {
        self.images.push(ImageSpec {
            source: ImageSource::Bytes(bytes.into()),
            alt: alt.into(),
        });
        self
    }

    /// Embeds a link card.
    pub fn external(
        mut self,
        uri: Uri,
        title: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        self.external = Some((uri, title.into(), description.into()));
        self
    }

    /// Adds a language of the text (BCP 47, e.g. `en`, `pt-BR`).
    pub fn lang(mut self, lang: impl Into<String>) -> Self {
        self.langs.push(lang.into());
        self
    }

    /// Adds a self-label (`porn`, `sexual`, `nudity`, `graphic-media`...).
    pub fn label(mut self, value: impl Into<String>) -> Self {
        self.labels.push(value.into());
        self
    }

    /// Adds a tag that is not in the text.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Sets the creation time (now by default).
    pub fn created_at(mut self, at: LenientDatetime) -> Self {
        self.created_at = Some(at);
        self
    }

    /// Builds the record: checks the length, resolves the reply's root and parent and
    /// the quote, uploads the images. Nothing is written to the repository.
    ///
    /// # Errors
    ///
    /// [`Error::TextTooLong`], [`Error::TooManyImages`], [`Error::NotAnImage`],
    /// [`Error::Io`]; [`Error::RecordNotFound`] for a reply parent or quote that does not
    /// exist; [`Error::Record`] for a bad language tag; resolution and upload errors.
    pub async fn build(&self) -> Result<post::Record> {
        let graphemes = self.text.graphemes(true).count();
        if graphemes > MAX_POST_GRAPHEMES {
            return Err(Error::TextTooLong {
                graphemes,
                max: MAX_POST_GRAPHEMES,
            });
        }
        if self.images.len() > MAX_IMAGES {
            return Err(Error::TooManyImages {
                count: self.images.len(),
                max: MAX_IMAGES,
            });
        }
        let agent = &self.agent;
        let created_at = self
            .created_at
            .clone()
            .unwrap_or_else(|| Datetime::now().into());
        let mut rec = post::Record::new(self.text.clone(), created_at);
        let facets = match &self.facets {
            Some(f) => f.clone(),
            None => agent.detect_facets(&self.text).await?,
        };
        if !facets.is_empty() {
            rec.facets = Some(facets);
        }
        if let Some(parent) = &self.reply_to {
            rec.reply = Some(agent.reply_ref(parent).await?);
        }
        let images = self.upload_images().await?;
        let media = match (images, &self.external) {
            (Some(imgs), _) => Some(record_with_media::RecordWithMediaMedia::from(imgs)),
            (None, Some((uri, title, desc))) => Some(
                record_with_media::RecordWithMediaMedia::from(external::Main::new(
                    external::External::new(uri.clone(), title.clone(), desc.clone()),
                )),
            ),
            (None, None) => None,
        };
        let quoted = match &self.quote {
            Some(uri) => Some(record::Record::new(agent.strong_ref(uri).await?)),
            None => None,
        };
        rec.embed = match (quoted, media) {
            (Some(q), Some(m)) => Some(record_with_media::RecordWithMedia::new(q, m).into()),
            (Some(q), None) => Some(q.into()),
            (None, Some(record_with_media::RecordWithMediaMedia::Images(i))) => Some((*i).into()),
            (None, Some(record_with_media::RecordWithMediaMedia::External(e))) => Some((*e).into()),
            (None, _) => None,
        };
        if !self.langs.is_empty() {
            let langs = self
                .langs
                .iter()
                .map(|l| {
                    Language::new(l).map_err(|e| Error::Record {
                        nsid: post::NSID,
                        message: format!("language {l:?}: {e}"),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            rec.langs = Some(langs);
        }
        if !self.labels.is_empty() {
            let values: Vec<SelfLabel> = self.labels.iter().map(SelfLabel::new).collect();
            rec.labels = Some(SelfLabels::new(values).into());
        }
        if !self.tags.is_empty() {
            rec.tags = Some(self.tags.clone());
        }
        Ok(rec)
    }

    async fn upload_images(&self) -> Result<Option<images::Images>> {
        if self.images.is_empty() {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(self.images.len());
        for spec in &self.images {
            let (bytes, path) = match &spec.source {
                ImageSource::File(p) => (read_file(p, MAX_IMAGE_FILE).await?, p.clone()),
                ImageSource::Bytes(b) => (b.clone(), PathBuf::from("<bytes>")),
            };
            let info = ImageInfo::sniff(&bytes).ok_or(Error::NotAnImage { path })?;
            let blob = self.agent.upload_blob(bytes, info.mime_type).await?;
            let mut image = images::Image::new(blob, spec.alt.clone());
            image.aspect_ratio = Some(AspectRatio::new(info.width, info.height));
            out.push(image);
        }
        Ok(Some(images::Images::new(out)))
    }

    /// Builds the record and writes it to the account's repository.
    ///
    /// # Errors
    ///
    /// As [`PostBuilder::build`] and [`Agent::create_record`].
    pub async fn send(self) -> Result<Written> {
        let rec = self.build().await?;
        self.agent.create_record(&rec).await
    }
}

impl Agent {
    /// Starts a post with this text; facets (mentions, links, tags) are detected in it
    /// unless given, and mentions resolved to DIDs.
    pub fn post(&self, text: impl Into<String>) -> PostBuilder {
        PostBuilder {
            agent: self.clone(),
            text: text.into(),
            facets: None,
            reply_to: None,
            quote: None,
            images: Vec::new(),
            external: None,
            langs: Vec::new(),
            labels: Vec::new(),
            tags: Vec::new(),
            created_at: None,
        }
    }

    /// A strong reference (URI + current CID) to any record, read from its PDS.
    ///
    /// # Errors
    ///
    /// [`Error::BadUri`] for a URI that names no record; [`Error::RecordNotFound`];
    /// resolution and call errors.
    pub async fn strong_ref(&self, uri: &AtUri) -> Result<StrongRef> {
        let (Some(collection), Some(rkey)) = (uri.collection(), uri.rkey()) else {
            return Err(Error::BadUri {
                uri: uri.to_string(),
                problem: "not a record URI (at://did/collection/rkey)",
            });
        };
        let did = self.uri_did(uri).await?;
        let pds = self.pds_client(&did).await?;
        let params = get_record::Params::new(did.into(), collection.clone(), rkey.clone());
        let out = match pds.call(&params).await {
            Ok(out) => out,
            Err(e) if e.is_endpoint(&get_record::Error::RecordNotFound) => {
                return Err(Error::RecordNotFound { uri: uri.clone() });
            }
            Err(e) => return Err(Error::from_call(get_record::NSID, e)),
        };
        let cid = out
            .cid
            .ok_or_else(|| Error::RecordNotFound { uri: uri.clone() })?;
        Ok(StrongRef::new(out.uri, cid))
    }

    /// The reply reference for a reply to `parent`: the parent itself, and the root of
    /// its thread (the parent's own root when it is a reply, else the parent).
    ///
    /// # Errors
    ///
    /// [`Error::RecordNotFound`] when the parent does not exist; [`Error::BadUri`] when
    /// it is not a post; resolution and call errors.
    pub async fn reply_ref(&self, parent: &AtUri) -> Result<post::ReplyRef> {
        let stored = self
            .get_public_record::<post::Record>(parent)
            .await?
            .ok_or_else(|| Error::RecordNotFound {
                uri: parent.clone(),
            })?;
        let cid = stored
            .cid
            .as_ref()
            .map(|c| atmo_syntax::CidString::new(&c.to_string()))
            .transpose()
            .map_err(|e| Error::Record {
                nsid: post::NSID,
                message: e.to_string(),
            })?
            .ok_or_else(|| Error::RecordNotFound {
                uri: parent.clone(),
            })?;
        let parent_ref = StrongRef::new(stored.uri, cid);
        let root = match stored.value.reply {
            Some(r) => r.root,
            None => parent_ref.clone(),
        };
        Ok(post::ReplyRef::new(root, parent_ref))
    }

    /// Likes a record (a post, a feed...).
    ///
    /// # Errors
    ///
    /// As [`Agent::strong_ref`] and [`Agent::create_record`].
    pub async fn like(&self, uri: &AtUri) -> Result<Written> {
        let subject = self.strong_ref(uri).await?;
        self.create_record(&like::Record::new(subject, Datetime::now().into()))
            .await
    }

    /// Reposts a post.
    ///
    /// # Errors
    ///
    /// As [`Agent::strong_ref`] and [`Agent::create_record`].
    pub async fn repost(&self, uri: &AtUri) -> Result<Written> {
        let subject = self.strong_ref(uri).await?;
        self.create_record(&repost::Record::new(subject, Datetime::now().into()))
            .await
    }

    /// Follows an account.
    ///
    /// # Errors
    ///
    /// As [`Agent::create_record`].
    pub async fn follow(&self, did: &Did) -> Result<Written> {
        self.create_record(&follow::Record::new(did.clone(), Datetime::now().into()))
            .await
    }

    /// Deletes one of the account's posts.
    ///
    /// # Errors
    ///
    /// [`Error::BadUri`] when the URI is not a post of this account; as
    /// [`Agent::delete_uri`].
    pub async fn delete_post(&self, uri: &AtUri) -> Result<()> {
        if uri.collection().map(|c| c.as_str()) != Some(post::NSID) {
            return Err(Error::BadUri {
                uri: uri.to_string(),
                problem: "not an app.bsky.feed.post record",
            });
        }
        self.delete_uri(uri).await
    }
}
