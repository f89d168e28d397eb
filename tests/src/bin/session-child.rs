//! A second process for the shared-session test: resumes the session stored in a file
//! and makes N concurrent authenticated calls on it, then prints how many succeeded.
//!
//! Usage: `session-child SERVICE_URL SESSION_FILE N` (exit 0 when all N succeeded).

use std::sync::Arc;

use atmo_xrpc::{Client, FileSessionStore, PasswordSession, SessionStore as _, XrpcRequest};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, file, n] = args.as_slice() else {
        return Err("usage: session-child SERVICE_URL SESSION_FILE N".into());
    };
    let n: usize = n.parse()?;
    let store = Arc::new(FileSessionStore::new(file));
    let data = store.load()?.ok_or("no session in the file")?;
    let public = Client::builder(url).allow_private_network(true).build()?;
    let client = PasswordSession::resume(&public, data, Some(store)).client();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move {
                let req = XrpcRequest::query("com.atproto.server.getSession")?;
                c.send_authed(&req).await.map(|_| ())
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await? {
            Ok(()) => ok += 1,
            Err(e) => eprintln!("session-child: {e}"),
        }
    }
    println!("{ok}");
    if ok == n {
        Ok(())
    } else {
        Err(format!("{ok} of {n} calls succeeded").into())
    }
}
