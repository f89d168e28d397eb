//! The generated API as the client API, against the real PDS of the reference network:
//! typed calls of com.atproto.server / repo / sync / identity endpoints, declared errors
//! mapped to their typed variants, typed pagination, binary inputs and outputs, and typed
//! record operations (`atmo_api::records`).
//!
//! `ATMO_REFNET=0` skips them (loudly).

use atmo_api::app_bsky::feed::post;
use atmo_api::com_atproto::{identity, repo, server, sync};
use atmo_api::records::{Records, Swap};
use atmo_data::Cid;
use atmo_syntax::{AtIdentifier, Did, Handle, LenientDatetime, Nsid, RecordKey};
use atmo_tests::refnet::RefNet;
use atmo_tests::support::unique;
use atmo_xrpc::{BinaryInput, CallError, Client};
use futures_util::TryStreamExt as _;

fn now() -> LenientDatetime {
    LenientDatetime::new("2024-05-01T12:00:00.000Z")
}

/// A client for the loopback reference network.
fn dev(url: &str) -> Client {
    Client::builder(url)
        .allow_private_network(true)
        .build()
        .unwrap()
}

/// A fresh account, created with the typed createAccount; the client returned is logged
/// in (an app-password session).
async fn account(client: &Client) -> (Client, Handle, Did, String) {
    let handle: Handle = format!("{}.test", unique("t")).parse().unwrap();
    let password = unique("pw-");
    let input = server::create_account::Input::new(handle.clone())
        .with_email(format!("{handle}@example.com"))
        .with_password(password.clone());
    let out = client.call(&input).await.unwrap();
    assert_eq!(out.handle, handle);
    assert!(out.did.as_str().starts_with("did:plc:"), "{}", out.did);
    assert!(!out.access_jwt.is_empty());
    let session = atmo_xrpc::PasswordSession::login(client, handle.as_str(), &password)
        .await
        .unwrap();
    (session.client(), handle, out.did, password)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_and_identity_calls() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let client = dev(&net.pds);

    let desc = client
        .call(server::describe_server::DescribeServer)
        .await
        .unwrap();
    assert!(desc.did.as_str().starts_with("did:"), "{}", desc.did);
    assert!(
        desc.available_user_domains.iter().any(|d| d == ".test"),
        "{:?}",
        desc.available_user_domains
    );

    let (client, handle, did, password) = account(&client).await;
    // The handle is taken: the reference PDS answers with a generic InvalidRequest, not
    // the declared HandleNotAvailable, so it is `Other`.
    let again = server::create_account::Input::new(handle.clone())
        .with_email(format!("other-{handle}@example.com"))
        .with_password("whatever-1234");
    // (Without a session: a logged-in client sends its access token, which createAccount
    // would read as a service-auth token.)
    let err = dev(&net.pds).call(&again).await.unwrap_err();
    assert!(matches!(&err, CallError::Other(_)), "{err:?}");
    assert_eq!(
        err.as_xrpc().and_then(|x| x.error_name()),
        Some("InvalidRequest")
    );
    // A domain the PDS does not serve: the declared UnsupportedDomain.
    let elsewhere: Handle = format!("{}.example.com", unique("t")).parse().unwrap();
    let err = dev(&net.pds)
        .call(
            server::create_account::Input::new(elsewhere)
                .with_email(format!("{}@example.com", unique("e")))
                .with_password("whatever-1234"),
        )
        .await
        .unwrap_err();
    assert!(
        err.is_endpoint(&server::create_account::Error::UnsupportedDomain),
        "{err:?}"
    );
    assert_eq!(
        err.endpoint().map(atmo_xrpc::EndpointError::as_str),
        Some("UnsupportedDomain")
    );

    let session = client.call(server::get_session::GetSession).await.unwrap();
    assert_eq!(session.did, did);
    assert_eq!(session.handle, handle);

    let anon = dev(&net.pds);
    let created = anon
        .call(server::create_session::Input::new(
            handle.as_str(),
            &password,
        ))
        .await
        .unwrap();
    assert_eq!(created.did, did);
    assert!(!created.refresh_jwt.is_empty());

    // A wrong password is an error createSession does not declare: `Other`.
    let err = anon
        .call(server::create_session::Input::new(handle.as_str(), "wrong"))
        .await
        .unwrap_err();
    assert!(err.endpoint().is_none(), "{err:?}");
    assert!(matches!(err, CallError::Other(_)), "{err:?}");
    assert_eq!(err.as_xrpc().map(|x| x.status), Some(401));
    let plain: atmo_xrpc::Error = err.into();
    assert!(plain.as_xrpc().is_some());

    let resolved = anon
        .call(identity::resolve_handle::Params::new(handle.clone()))
        .await
        .unwrap();
    assert_eq!(resolved.did, did);
    let missing: Handle = format!("{}.test", unique("nobody")).parse().unwrap();
    let err = anon
        .call(identity::resolve_handle::Params::new(missing))
        .await
        .unwrap_err();
    // The reference PDS answers an unknown handle with a generic InvalidRequest
    // (not the declared HandleNotFound), so it is `Other`; either way it is an answer.
    assert!(err.as_xrpc().is_some(), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repo_calls_and_typed_records() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let client = dev(&net.pds);
    let (client, handle, did, _) = account(&client).await;
    let me = AtIdentifier::from(did.clone());
    let posts: Nsid = post::Record::NSID.parse().unwrap();

    // Typed records: create, get, put with swaps, list, delete.
    let records = Records::new(&client, did.clone());
    let first = records
        .create(&post::Record::new("hello", now()).with_langs(vec!["en".parse().unwrap()]))
        .await
        .unwrap();
    assert_eq!(first.uri.authority().as_str(), did.as_str());
    let rkey = first.uri.rkey().cloned().unwrap();
    let got = records.get::<post::Record>(&rkey).await.unwrap();
    assert_eq!(got.value.text, "hello");
    assert_eq!(got.cid, Some(first.cid));
    assert_eq!(got.uri, first.uri);

    let edited = post::Record::new("hello, edited", now());
    let second = records
        .put(&rkey, &edited, Swap::record(first.cid))
        .await
        .unwrap();
    assert_ne!(second.cid, first.cid);
    // The same swap again: the record is no longer at that CID. (A put of the content
    // already there is a no-op the PDS answers before checking swaps: change it.)
    let edited = post::Record::new("hello, edited twice", now());
    let err = records
        .put(&rkey, &edited, Swap::record(first.cid))
        .await
        .unwrap_err();
    assert!(
        err.is_endpoint(&repo::put_record::Error::InvalidSwap),
        "{err:?}"
    );
    let err = records
        .put(&rkey, &edited, Swap::absent())
        .await
        .unwrap_err();
    assert!(
        err.is_endpoint(&repo::put_record::Error::InvalidSwap),
        "{err:?}"
    );

    for i in 0..4 {
        records
            .create(&post::Record::new(format!("post {i}"), now()))
            .await
            .unwrap();
    }
    let all: Vec<_> = records.list::<post::Record>().try_collect().await.unwrap();
    assert_eq!(all.len(), 5);
    assert!(all.iter().all(|r| r.cid.is_some()));
    assert!(all.iter().any(|r| r.value.text == "hello, edited"));
    assert!(all.iter().all(|r| r.value.text != "hello, edited twice"));

    // Typed pagination over listRecords, two per page.
    let params = repo::list_records::Params::new(me.clone(), posts.clone()).with_limit(2);
    let pages: Vec<_> = client.paginate(&params).try_collect().await.unwrap();
    // The PDS gives a cursor with every non-empty page, so the stream ends on an empty one.
    let full: Vec<_> = pages.iter().filter(|p| !p.records.is_empty()).collect();
    assert_eq!(full.len(), 3, "{pages:?}");
    assert!(pages.len() <= 4);
    assert_eq!(pages.iter().map(|p| p.records.len()).sum::<usize>(), 5);

    // A wrong swapCommit on create: the declared InvalidSwap.
    let wrong: Cid = got.cid.unwrap();
    let err = records
        .create_with(&post::Record::new("nope", now()), None, Some(&wrong))
        .await
        .unwrap_err();
    assert!(
        err.is_endpoint(&repo::create_record::Error::InvalidSwap),
        "{err:?}"
    );
    // And on delete.
    let err = records
        .delete::<post::Record>(&rkey, Swap::commit(wrong))
        .await
        .unwrap_err();
    assert!(
        err.is_endpoint(&repo::delete_record::Error::InvalidSwap),
        "{err:?}"
    );

    records
        .delete::<post::Record>(&rkey, Swap::record(second.cid))
        .await
        .unwrap();
    let err = records.get::<post::Record>(&rkey).await.unwrap_err();
    assert!(
        err.is_endpoint(&repo::get_record::Error::RecordNotFound),
        "{err:?}"
    );
    let err: atmo_xrpc::Error = err.into();
    assert!(err.is_not_found());

    // The raw generated endpoints.
    let desc = client
        .call(repo::describe_repo::Params::new(me.clone()))
        .await
        .unwrap();
    assert_eq!(desc.did, did);
    assert_eq!(desc.handle, handle);
    assert!(desc.collections.contains(&posts), "{:?}", desc.collections);

    let rk: RecordKey = "3jzfcijpj2z2a".parse().unwrap();
    let writes = vec![
        repo::apply_writes::InputWritesItem::Create(Box::new(
            repo::apply_writes::Create::new(
                posts.clone(),
                atmo_api::record_value(&post::Record::new("applied", now())).unwrap(),
            )
            .with_rkey(rk.clone()),
        )),
        repo::apply_writes::InputWritesItem::Create(Box::new(repo::apply_writes::Create::new(
            posts.clone(),
            atmo_api::record_value(&post::Record::new("applied 2", now())).unwrap(),
        ))),
    ];
    let out = client
        .call(repo::apply_writes::Input::new(me.clone(), writes))
        .await
        .unwrap();
    let results = out.results.unwrap_or_default();
    assert_eq!(results.len(), 2);
    assert!(matches!(
        &results[0],
        repo::apply_writes::OutputResultsItem::CreateResult(r) if r.uri.rkey() == Some(&rk)
    ));
    let got = records.get::<post::Record>(&rk).await.unwrap();
    assert_eq!(got.value.text, "applied");

    let get = repo::get_record::Params::new(me.clone(), posts.clone(), rk.clone());
    let raw = client.call(&get).await.unwrap();
    assert_eq!(raw.uri, got.uri);

    // A binary input: uploadBlob.
    let png = b"\x89PNG\r\n\x1a\n not really a png".to_vec();
    let body = BinaryInput::new(png.clone()).content_type("image/png");
    let up = client
        .call_endpoint::<repo::upload_blob::UploadBlob>(&(), Some(&body))
        .await
        .unwrap();
    assert_eq!(up.blob.size, Some(png.len() as u64));
    assert_eq!(up.blob.cid, Cid::for_raw(&png));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_calls() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let client = dev(&net.pds);
    let (client, _, did, _) = account(&client).await;
    let records = Records::new(&client, did.clone());
    let made = records
        .create(&post::Record::new("synced", now()))
        .await
        .unwrap();
    let rkey = made.uri.rkey().cloned().unwrap();
    let posts: Nsid = post::Record::NSID.parse().unwrap();

    // A blob, attached to a profile-less post so it is kept.
    let data = b"some blob bytes for sync".to_vec();
    let up = client
        .call((
            repo::upload_blob::UploadBlob,
            BinaryInput::new(data.clone()).content_type("text/plain"),
        ))
        .await
        .unwrap();
    let mut with_blob = atmo_api::record_value(&post::Record::new("blob", now())).unwrap();
    if let atmo_data::Value::Map(m) = &mut with_blob {
        m.insert("attachment", up.blob.to_value());
    }
    client
        .call(repo::create_record::Input::new(
            did.clone().into(),
            posts.clone(),
            with_blob,
        ))
        .await
        .unwrap();

    let anon = dev(&net.pds);
    let latest = anon
        .call(sync::get_latest_commit::Params::new(did.clone()))
        .await
        .unwrap();
    assert_eq!(latest.rev.as_str().len(), 13);

    // Binary outputs: the repo CAR, one record's CAR, blocks, a blob.
    let car = anon
        .call(sync::get_repo::Params::new(did.clone()))
        .await
        .unwrap();
    assert!(car.len() > 100, "{} bytes", car.len());
    let reader = atmo_repo::car::CarReader::new(&car[..]).unwrap();
    assert_eq!(
        reader.roots().first().map(ToString::to_string).as_deref(),
        Some(latest.cid.as_str())
    );

    // The same CAR as a stream, and a declared error before any body, typed.
    let mut streamed = Vec::new();
    let mut body = anon
        .call_stream(sync::get_repo::Params::new(did.clone()))
        .await
        .unwrap();
    while let Some(chunk) = body.try_next().await.unwrap() {
        streamed.extend_from_slice(&chunk);
    }
    assert_eq!(streamed, car[..]);
    let err = anon
        .call_stream(sync::get_repo::Params::new(
            "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa".parse().unwrap(),
        ))
        .await
        .unwrap_err();
    assert!(
        err.is_endpoint(&sync::get_repo::Error::RepoNotFound),
        "{err:?}"
    );

    let proof = anon
        .call(sync::get_record::Params::new(
            did.clone(),
            posts.clone(),
            rkey.clone(),
        ))
        .await
        .unwrap();
    assert!(!proof.is_empty());
    // A missing record gives a proof of its absence; a missing repo the declared error.
    let missing: RecordKey = "3zzzzzzzzzzzz".parse().unwrap();
    let absent = anon
        .call(sync::get_record::Params::new(
            did.clone(),
            posts.clone(),
            missing.clone(),
        ))
        .await
        .unwrap();
    assert!(!absent.is_empty());
    let nobody: Did = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa".parse().unwrap();
    let err = anon
        .call(sync::get_record::Params::new(
            nobody,
            posts.clone(),
            missing,
        ))
        .await
        .unwrap_err();
    assert!(
        err.is_endpoint(&sync::get_record::Error::RepoNotFound),
        "{err:?}"
    );

    let blocks = anon
        .call(sync::get_blocks::Params::new(
            did.clone(),
            vec![latest.cid.clone()],
        ))
        .await
        .unwrap();
    assert!(!blocks.is_empty());

    let blob_cid: atmo_syntax::CidString = up.blob.cid.to_string().parse().unwrap();
    let blob = anon
        .call(sync::get_blob::Params::new(did.clone(), blob_cid.clone()))
        .await
        .unwrap();
    assert_eq!(&blob[..], &data[..]);
    let err = anon
        .call(sync::get_blob::Params::new(
            did.clone(),
            Cid::for_raw(b"never uploaded").to_string().parse().unwrap(),
        ))
        .await
        .unwrap_err();
    // The reference PDS answers InvalidRequest "Blob not found" (not the declared
    // BlobNotFound): `Other`.
    assert!(err.endpoint().is_none(), "{err:?}");
    assert_eq!(err.as_xrpc().map(|x| x.status), Some(400));

    let blobs: Vec<_> = anon
        .paginate(sync::list_blobs::Params::new(did.clone()))
        .try_collect()
        .await
        .unwrap();
    assert!(
        blobs.iter().any(|p| p.cids.contains(&blob_cid)),
        "{blobs:?}"
    );

    let status = anon
        .call(sync::get_repo_status::Params::new(did.clone()))
        .await
        .unwrap();
    assert!(status.active);

    // listRepos pages through every account; ours is among them.
    let pages: Vec<_> = anon
        .paginate(sync::list_repos::Params::new().with_limit(1))
        .try_collect()
        .await
        .unwrap();
    assert!(pages.len() >= 2, "{} pages", pages.len());
    assert!(pages.iter().any(|p| p.repos.iter().any(|r| r.did == did)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_server_and_repo_calls() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let client = dev(&net.pds);
    let (client, handle, did, _) = account(&client).await;

    // App passwords: create, list, revoke (a procedure without output).
    let name = unique("app");
    let created = client
        .call(server::create_app_password::Input::new(name.clone()).with_privileged(false))
        .await
        .unwrap();
    assert_eq!(created.name, name);
    assert!(!created.password.is_empty());
    let listed = client
        .call(server::list_app_passwords::ListAppPasswords)
        .await
        .unwrap();
    assert!(listed.passwords.iter().any(|p| p.name == name));
    client
        .call(server::revoke_app_password::Input::new(name.clone()))
        .await
        .unwrap();
    let listed = client
        .call(server::list_app_passwords::ListAppPasswords)
        .await
        .unwrap();
    assert!(listed.passwords.iter().all(|p| p.name != name));

    let status = client
        .call(server::check_account_status::CheckAccountStatus)
        .await
        .unwrap();
    assert!(status.activated);
    assert!(status.valid_did);
    assert!(status.repo_blocks > 0);

    let auth = client
        .call(server::get_service_auth::Params::new(did.as_str()))
        .await
        .unwrap();
    assert_eq!(auth.token.split('.').count(), 3, "{}", auth.token);

    let creds = client
        .call(identity::get_recommended_did_credentials::GetRecommendedDidCredentials)
        .await
        .unwrap();
    let aka = creds.also_known_as.unwrap_or_default();
    assert!(aka.contains(&format!("at://{handle}")), "{aka:?}");

    let missing: Vec<_> = client
        .paginate(repo::list_missing_blobs::Params::new())
        .try_collect()
        .await
        .unwrap();
    assert!(missing.iter().all(|p| p.blobs.is_empty()));

    // Deactivate, see it in sync.getRepoStatus, activate again (procedures without output).
    client
        .call(server::deactivate_account::Input::new())
        .await
        .unwrap();
    let anon = dev(&net.pds);
    let status = anon
        .call(sync::get_repo_status::Params::new(did.clone()))
        .await
        .unwrap();
    assert!(!status.active);
    client
        .call(server::activate_account::ActivateAccount)
        .await
        .unwrap();
    let status = anon
        .call(sync::get_repo_status::Params::new(did.clone()))
        .await
        .unwrap();
    assert!(status.active);

    // A declared error of a call with parameters only: getLatestCommit of no repo.
    let nobody: Did = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa".parse().unwrap();
    let err = anon
        .call(sync::get_latest_commit::Params::new(nobody))
        .await
        .unwrap_err();
    assert!(
        err.is_endpoint(&sync::get_latest_commit::Error::RepoNotFound),
        "{err:?}"
    );
}
