//! Public reads straight from a user's PDS (no AppView needed): the DID resolves to its
//! document, the document names the PDS, and the PDS answers for the repositories it
//! hosts.

use atmo_api::Collection;
use atmo_api::com_atproto::repo::get_record;
use atmo_api::records::{Records, Stored};
use atmo_syntax::{AtIdentifier, AtUri, Did};
use atmo_xrpc::Client;
use futures_util::{Stream, StreamExt as _};

use super::Agent;
use crate::error::{Error, Result};

impl Agent {
    /// An unauthenticated client for the PDS that hosts `did` (the resolver's HTTP
    /// client, so its connect policy applies).
    ///
    /// # Errors
    ///
    /// [`Error::Identity`] when the DID does not resolve or names no PDS;
    /// [`Error::Xrpc`] when the PDS URL is refused.
    pub async fn pds_client(&self, did: &Did) -> Result<Client> {
        let resolver = self.resolver()?;
        let doc = resolver.resolve_did(did).await?;
        let pds = doc.require_pds_endpoint()?;
        Ok(Client::builder(pds).http(resolver.http().clone()).build()?)
    }

    /// The DID an AT-URI's authority names (a handle is resolved).
    ///
    /// # Errors
    ///
    /// [`Error::Identity`] when a handle does not resolve.
    pub async fn uri_did(&self, uri: &AtUri) -> Result<Did> {
        match uri.authority() {
            AtIdentifier::Did(d) => Ok(d.clone()),
            AtIdentifier::Handle(h) => Ok(self.resolver()?.resolve_handle(h).await?),
        }
    }

    /// Reads any record by its AT-URI from the PDS that hosts it; `None` when it does
    /// not exist.
    ///
    /// # Errors
    ///
    /// [`Error::BadUri`] when the URI names no record of `R`'s collection; as
    /// [`Agent::pds_client`]; [`Error::Xrpc`] when the record is not an `R`.
    pub async fn get_public_record<R: Collection>(&self, uri: &AtUri) -> Result<Option<Stored<R>>> {
        let (Some(collection), Some(rkey)) = (uri.collection(), uri.rkey()) else {
            return Err(Error::BadUri {
                uri: uri.to_string(),
                problem: "not a record URI (at://did/collection/rkey)",
            });
        };
        if collection.as_str() != R::NSID {
            return Err(Error::BadUri {
                uri: uri.to_string(),
                problem: "names a record of another collection",
            });
        }
        let did = self.uri_did(uri).await?;
        let pds = self.pds_client(&did).await?;
        match Records::new(&pds, did).get::<R>(rkey).await {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.is_endpoint(&get_record::Error::RecordNotFound) => Ok(None),
            Err(e) => Err(Error::from_call(get_record::NSID, e)),
        }
    }

    /// Every `R` of `did`'s repository, read from its PDS page by page as the stream is
    /// read; the first error ends it.
    pub fn list_public_records<R>(
        &self,
        did: &Did,
    ) -> impl Stream<Item = Result<Stored<R>>> + use<R>
    where
        R: Collection + Send + 'static,
    {
        let agent = self.clone();
        let did = did.clone();
        futures_util::stream::once(async move {
            let pds = agent.pds_client(&did).await?;
            Ok::<_, Error>(Records::new(&pds, did).list::<R>())
        })
        .flat_map(|made| match made {
            Ok(stream) => stream
                .map(|item| item.map_err(|e| Error::Xrpc(e.into_error())))
                .left_stream(),
            Err(e) => futures_util::stream::iter([Err(e)]).right_stream(),
        })
    }
}
