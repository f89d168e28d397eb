//! The rest of com.atproto.server / identity / sync that the reference PDS answers, as
//! typed calls: email confirmation and update, password reset, account deletion, invite
//! codes (admin), signing-key reservation, session refresh and deletion with a fixed
//! bearer, handle update, the PLC operation flow (request, sign, submit), and the
//! deprecated getCheckout / getHead. The tokens the PDS would email are read from its
//! account database (no mail server runs on loopback). Declared errors arrive typed.
//!
//! `ATMO_REFNET=0` skips them (loudly).

use atmo_api::com_atproto::{identity, repo, server, sync};
use atmo_syntax::{Did, Handle};
use atmo_tests::refnet::RefNet;
use atmo_tests::support::unique;
use atmo_xrpc::{Client, HeaderAuth, PasswordSession};

/// A client for the loopback reference network.
fn dev(url: &str) -> Client {
    Client::builder(url)
        .allow_private_network(true)
        .build()
        .unwrap()
}

/// A fresh account: its session, handle, DID, email and password.
async fn account(net: &RefNet) -> (PasswordSession, Handle, Did, String, String) {
    let client = dev(&net.pds);
    let handle: Handle = format!("{}.test", unique("acct")).parse().unwrap();
    let email = format!("{handle}@example.com");
    let password = unique("pw-");
    let out = client
        .call(
            &server::create_account::Input::new(handle.clone())
                .with_email(email.clone())
                .with_password(password.clone()),
        )
        .await
        .unwrap();
    let session = PasswordSession::login(&client, handle.as_str(), &password)
        .await
        .unwrap();
    (session, handle, out.did, email, password)
}

fn token(net: &RefNet, did: &Did, purpose: &str) -> String {
    net.email_token(did.as_str(), purpose)
        .unwrap_or_else(|| panic!("no {purpose} token for {did} in the PDS's database"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_password_and_account_deletion() {
    if atmo_tests::refnet::skip_if_disabled() {
        return;
    }
    // A network of its own: deleting an account deletes its events from the PDS's
    // sequencer, which would leave a gap in the shared network's firehose that the
    // firehose tests (rightly) check is contiguous.
    let net = &tokio::task::spawn_blocking(RefNet::start)
        .await
        .unwrap()
        .unwrap();
    let (session, _handle, did, email, password) = account(net).await;
    let me = session.client();

    // Confirm the email: a wrong token is the declared InvalidToken, the real one works.
    me.call(server::request_email_confirmation::RequestEmailConfirmation)
        .await
        .unwrap();
    let err = me
        .call(&server::confirm_email::Input::new(
            email.clone(),
            "AAAAA-BBBBB",
        ))
        .await
        .unwrap_err();
    assert!(
        err.is_endpoint(&server::confirm_email::Error::InvalidToken),
        "{err:?}"
    );
    me.call(&server::confirm_email::Input::new(
        email.clone(),
        token(net, &did, "confirm_email"),
    ))
    .await
    .unwrap();
    let s = me.call(server::get_session::GetSession).await.unwrap();
    assert_eq!(s.email_confirmed, Some(true));

    // Change it: a confirmed email needs a token.
    let upd = me
        .call(server::request_email_update::RequestEmailUpdate)
        .await
        .unwrap();
    assert!(upd.token_required);
    let new_email = format!("new-{email}");
    me.call(
        &server::update_email::Input::new(new_email.clone()).with_token(token(
            net,
            &did,
            "update_email",
        )),
    )
    .await
    .unwrap();
    let s = me.call(server::get_session::GetSession).await.unwrap();
    assert_eq!(s.email.as_deref(), Some(new_email.as_str()));

    // Reset the password without a session; the old one stops working.
    let anon = dev(&net.pds);
    anon.call(&server::request_password_reset::Input::new(
        new_email.clone(),
    ))
    .await
    .unwrap();
    let new_password = unique("pw2-");
    anon.call(&server::reset_password::Input::new(
        token(net, &did, "reset_password"),
        new_password.clone(),
    ))
    .await
    .unwrap();
    assert!(
        PasswordSession::login(&anon, did.as_str(), &password)
            .await
            .is_err()
    );
    let session = PasswordSession::login(&anon, did.as_str(), &new_password)
        .await
        .unwrap();
    let me = session.client();

    // Delete the account: a wrong token is the declared InvalidToken; then the repo is gone.
    me.call(server::request_account_delete::RequestAccountDelete)
        .await
        .unwrap();
    let err = anon
        .call(&server::delete_account::Input::new(
            did.clone(),
            new_password.clone(),
            "AAAAA-BBBBB",
        ))
        .await
        .unwrap_err();
    assert!(
        err.is_endpoint(&server::delete_account::Error::InvalidToken),
        "{err:?}"
    );
    anon.call(&server::delete_account::Input::new(
        did.clone(),
        new_password,
        token(net, &did, "delete_account"),
    ))
    .await
    .unwrap();
    let err = anon
        .call(sync::get_latest_commit::Params::new(did.clone()))
        .await
        .unwrap_err();
    assert!(
        err.is_endpoint(&sync::get_latest_commit::Error::RepoNotFound),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_invites_keys_handles_and_plc_operations() {
    let Some(net) = RefNet::shared_or_skip() else {
        return;
    };
    let (session, handle, did, _email, _password) = account(net).await;
    let me = session.client();
    let anon = dev(&net.pds);

    // Refresh and delete a session with the refresh token as a fixed bearer.
    let data = session.data().await;
    let refresher = anon.with_auth(HeaderAuth::bearer(&data.refresh_jwt).unwrap());
    let fresh = refresher
        .call(server::refresh_session::RefreshSession)
        .await
        .unwrap();
    assert_eq!(fresh.did, did);
    assert_ne!(fresh.refresh_jwt, data.refresh_jwt);
    let fresh_bearer = anon.with_auth(HeaderAuth::bearer(&fresh.refresh_jwt).unwrap());
    fresh_bearer
        .call(server::delete_session::DeleteSession)
        .await
        .unwrap();
    assert!(
        fresh_bearer
            .call(server::refresh_session::RefreshSession)
            .await
            .is_err(),
        "a deleted session's refresh token still refreshes"
    );

    // Invite codes: created with the admin password, listed by the account.
    let admin = anon.with_auth(HeaderAuth::basic("admin", &net.admin_password).unwrap());
    let one = admin
        .call(&server::create_invite_code::Input::new(2).with_for_account(did.clone()))
        .await
        .unwrap();
    assert!(!one.code.is_empty());
    let many = admin
        .call(&server::create_invite_codes::Input::new(3, 1).with_for_accounts(vec![did.clone()]))
        .await
        .unwrap();
    assert_eq!(many.codes.len(), 1);
    assert_eq!(many.codes[0].codes.len(), 3);
    let err = anon
        .call(&server::create_invite_code::Input::new(1))
        .await
        .unwrap_err();
    assert_eq!(err.as_xrpc().map(|x| x.status), Some(401), "{err:?}");
    // The account's own codes (the PDS may decline to make new ones on this call).
    let listed = me
        .call(server::get_account_invite_codes::Params::new().with_create_available(false))
        .await
        .unwrap();
    let listed: Vec<&str> = listed.codes.iter().map(|c| c.code.as_str()).collect();
    assert!(listed.contains(&one.code.as_str()), "{listed:?}");

    // A signing key reserved for a DID being migrated in.
    let reserved = anon
        .call(&server::reserve_signing_key::Input::new().with_did(did.clone()))
        .await
        .unwrap();
    assert!(
        reserved.signing_key.starts_with("did:key:z"),
        "{}",
        reserved.signing_key
    );

    // A new handle, then the PLC operation flow adding nothing new: request a token,
    // have the PDS sign an operation, submit it.
    let new_handle: Handle = format!("{}.test", unique("moved")).parse().unwrap();
    me.call(&identity::update_handle::Input::new(new_handle.clone()))
        .await
        .unwrap();
    let resolved = anon
        .call(identity::resolve_handle::Params::new(new_handle.clone()))
        .await
        .unwrap();
    assert_eq!(resolved.did, did);
    assert_ne!(new_handle, handle);
    if net.data_dir.is_some() {
        me.call(identity::request_plc_operation_signature::RequestPlcOperationSignature)
            .await
            .unwrap();
        let creds = me
            .call(identity::get_recommended_did_credentials::GetRecommendedDidCredentials)
            .await
            .unwrap();
        let mut sign = identity::sign_plc_operation::Input::new().with_token(token(
            net,
            &did,
            "plc_operation",
        ));
        if let Some(aka) = creds.also_known_as.clone() {
            sign = sign.with_also_known_as(aka);
        }
        let signed = me.call(&sign).await.unwrap();
        assert!(
            signed.operation.get("sig").is_some(),
            "{:?}",
            signed.operation
        );
        me.call(&identity::submit_plc_operation::Input::new(
            signed.operation,
        ))
        .await
        .unwrap();
    }

    // The deprecated sync calls the PDS still answers.
    let head = anon
        .call(sync::get_head::Params::new(did.clone()))
        .await
        .unwrap();
    let latest = anon
        .call(sync::get_latest_commit::Params::new(did.clone()))
        .await
        .unwrap();
    assert_eq!(head.root.as_str(), latest.cid.as_str());
    let checkout = anon
        .call(sync::get_checkout::Params::new(did.clone()))
        .await
        .unwrap();
    let reader = atmo_repo::car::CarReader::new(&checkout[..]).unwrap();
    assert_eq!(
        reader.roots().first().map(ToString::to_string).as_deref(),
        Some(latest.cid.as_str())
    );
    let err = anon
        .call(sync::get_head::Params::new(
            "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa".parse().unwrap(),
        ))
        .await
        .unwrap_err();
    // The PDS answers RepoNotFound, which getHead does not declare (it declares
    // HeadNotFound): `Other`, with the name kept.
    assert!(err.endpoint().is_none(), "{err:?}");
    assert_eq!(
        err.as_xrpc().and_then(|x| x.error_name()),
        Some("RepoNotFound")
    );
    // Still a working account.
    me.call(repo::describe_repo::Params::new(did.clone().into()))
        .await
        .unwrap();
}
