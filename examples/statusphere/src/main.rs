//! `statusphere`: the server. Settings come from `STATUSPHERE_*` environment variables
//! (see `statusphere::config::Config`).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::stderr)
        .init();
    let result = match statusphere::config::Config::from_env() {
        Ok(c) => statusphere::app::run(c).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("statusphere: {e}");
            ExitCode::FAILURE
        }
    }
}
