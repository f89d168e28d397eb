//! Small helpers the integration tests share: unique names, scratch directories, and the
//! `atmo` binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// `prefix` followed by 10 lower-case hex digits that differ between calls and between
/// processes (time, process id and a counter, mixed). Short enough for a handle label.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut x = nanos ^ (u64::from(std::process::id()) << 32) ^ n.rotate_left(17);
    // splitmix64 finaliser: neighbouring inputs give unrelated outputs.
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    format!("{prefix}{:010x}", x & 0xff_ffff_ffff)
}

/// A new, empty directory under the system temp dir, named after `name`.
///
/// # Panics
///
/// If the directory cannot be created (a test failure).
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(unique(&format!("atmo-test-{name}-")));
    if let Err(e) = std::fs::create_dir_all(&d) {
        panic!("cannot create {}: {e}", d.display());
    }
    d
}

/// The `atmo` binary of the target directory this test runs from, brought up to date
/// once per test process with `cargo build -p atmo-cli`; `ATMO_BIN` overrides it.
///
/// # Panics
///
/// If the build fails (a test failure).
pub fn atmo_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("ATMO_BIN").filter(|p| !p.is_empty()) {
            return PathBuf::from(p);
        }
        workspace_bin("atmo-cli", "atmo")
    })
}

/// A binary of a workspace package, built (once per call site's need) into the target
/// directory this test runs from with `cargo build -p PACKAGE --bin BIN`.
///
/// # Panics
///
/// If the build fails (a test failure).
pub fn workspace_bin(package: &str, bin: &str) -> PathBuf {
    // The test executable lives in target/<profile>/deps/.
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    let Some(profile_dir) = exe.parent().and_then(Path::parent) else {
        panic!("unexpected test executable path {}", exe.display());
    };
    let Some(target_dir) = profile_dir.parent() else {
        panic!("unexpected target layout at {}", profile_dir.display());
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "-p", package, "--bin", bin])
        .env("CARGO_TARGET_DIR", target_dir)
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
    assert!(
        status.success(),
        "cargo build -p {package} --bin {bin} failed"
    );
    profile_dir.join(bin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_differ_and_fit_a_handle_label() {
        let names: std::collections::HashSet<String> = (0..1000).map(|_| unique("al-")).collect();
        assert_eq!(names.len(), 1000);
        for n in &names {
            assert_eq!(n.len(), 13);
            assert!(
                n[3..]
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
        }
    }
}

/// A fresh account on the PDS at `pds` (private addresses allowed: the reference network
/// is on loopback), with a handle `<prefix><unique>.test`.
#[derive(Debug, Clone)]
pub struct TestAccount {
    /// A client for the PDS that authenticates with the account's session.
    pub client: atmo_xrpc::Client,
    /// The session.
    pub session: atmo_xrpc::PasswordSession,
    /// The account's DID.
    pub did: String,
    /// The handle.
    pub handle: String,
    /// The password.
    pub password: String,
}

/// Creates a [`TestAccount`] on the PDS at `pds` with `com.atproto.server.createAccount`.
///
/// # Panics
///
/// If the PDS refuses (a test failure).
pub async fn test_account(pds: &str, prefix: &str) -> TestAccount {
    let public = atmo_xrpc::Client::builder(pds)
        .allow_private_network(true)
        .build()
        .unwrap_or_else(|e| panic!("client for {pds}: {e}"));
    let handle = format!("{}.test", unique(prefix));
    let password = unique("pw-");
    let session = atmo_xrpc::PasswordSession::create_account(
        &public,
        &handle,
        &format!("{handle}@example.com"),
        &password,
        None,
    )
    .await
    .unwrap_or_else(|e| panic!("createAccount {handle}: {e}"));
    TestAccount {
        client: session.client(),
        did: session.did().to_string(),
        session,
        handle,
        password,
    }
}
