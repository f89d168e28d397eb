//! `atmo p2p`: repositories over libp2p and Bitswap (atmo-p2p): a DID's PeerID, serving
//! the blocks of CAR files, fetching one block, mirroring a whole repository.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use atmo_crypto::PublicKey;
use atmo_data::Cid;
use atmo_p2p::{Blocks, Mirror, MirrorOptions, Multiaddr, Node, NodeConfig};
use atmo_syntax::{AtIdentifier, Did};

use crate::cmd::GlobalArgs;
use crate::error::CliError;
use crate::io::{println, write_stdout};
use crate::net::{parse_identifier, resolver, runtime};

/// Arguments of `atmo p2p`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  atmo p2p peer-id did:plc:ewvi7nxzyoun6zhxrhs64oiz\n  \
                  atmo p2p serve repo.car --listen /ip4/0.0.0.0/tcp/4001\n  \
                  atmo p2p get bafyrei... --peer /ip4/192.0.2.7/tcp/4001/p2p/12D3KooW... -o block.bin\n  \
                  atmo p2p mirror did:plc:ewvi7nxzyoun6zhxrhs64oiz --peer /ip4/192.0.2.7/tcp/4001/p2p/12D3KooW... -o repo.car"
)]
pub(crate) struct P2pArgs {
    #[command(subcommand)]
    command: P2pCommand,
}

#[derive(Debug, clap::Subcommand)]
enum P2pCommand {
    /// Print the libp2p PeerID of a DID (that of its #atproto signing key; a did:key's
    /// own key, or a handle's DID, also work).
    PeerId {
        /// The DID (or handle, or did:key).
        did: String,
        /// Network options.
        #[command(flatten)]
        net: GlobalArgs,
    },
    /// Serve the blocks of CAR files over Bitswap until stopped (Ctrl-C or SIGTERM). Prints the
    /// node's PeerID, then each address it listens on (one per line, ending in
    /// /p2p/<PeerID>).
    Serve {
        /// CAR files whose blocks to serve (every block is checked against its CID first).
        #[arg(required = true, value_name = "FILE.car")]
        files: Vec<PathBuf>,
        /// Where to listen (a multiaddr; may be repeated).
        #[arg(long, value_name = "MULTIADDR", default_value = "/ip4/0.0.0.0/tcp/0")]
        listen: Vec<String>,
        /// The node's identity: a file holding a private key as multibase (the
        /// `privateKeyMultibase` of `atmo key generate`). The PeerID is then the same on
        /// every run, and an account's own signing key makes it `atmo p2p peer-id` of the
        /// DID. Without it, a fresh identity each run.
        #[arg(long, value_name = "FILE")]
        key_file: Option<PathBuf>,
    },
    /// Fetch one block from a peer over Bitswap and write its bytes (checked against the
    /// CID). Exit 1 if the peer does not have it or sends other bytes.
    Get {
        /// The block's CID.
        cid: String,
        /// The peer (a multiaddr, usually ending in /p2p/<PeerID>).
        #[arg(long, value_name = "MULTIADDR", required = true)]
        peer: Vec<String>,
        /// Write the bytes here instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Seconds to wait for the block.
        #[arg(long, value_name = "SECONDS", default_value_t = 30)]
        timeout: u64,
    },
    /// Mirror a whole repository: its head from the PDS (or --root), then the commit, the
    /// tree and the records from peers over Bitswap, falling back to the PDS; the
    /// signature and the whole repository verified; written as a CAR. An existing output
    /// file is read first, so only new blocks are fetched.
    Mirror {
        /// The repository's DID (or handle).
        did: String,
        /// A peer to fetch blocks from (a multiaddr; may be repeated).
        #[arg(long, value_name = "MULTIADDR")]
        peer: Vec<String>,
        /// Never fetch a block from the PDS (it may still be asked for the head when no
        /// --root is given).
        #[arg(long)]
        no_pds: bool,
        /// Mirror this commit instead of the PDS's current head.
        #[arg(long, value_name = "CID")]
        root: Option<String>,
        /// The repository's signing key (a did:key), when already known: with --root and
        /// --no-pds, neither the DID's directory nor its PDS is contacted.
        #[arg(long, value_name = "DIDKEY")]
        key: Option<String>,
        /// The CAR file to write.
        #[arg(short, long, value_name = "FILE.car", required = true)]
        output: PathBuf,
        /// Seconds a peer has to answer for a block.
        #[arg(long, value_name = "SECONDS", default_value_t = 10)]
        timeout: u64,
        /// Print one JSON object: {did, commit, rev, records, blocks, bytes, from_local,
        /// from_peers, from_pds, output}.
        #[arg(long)]
        json: bool,
        /// Network options.
        #[command(flatten)]
        net: GlobalArgs,
    },
}

fn parse_addr(s: &str) -> Result<Multiaddr, CliError> {
    s.trim()
        .parse()
        .map_err(|e| CliError::failed(format!("{s:?} is not a multiaddr: {e}")))
}

fn parse_cid(s: &str) -> Result<Cid, CliError> {
    Cid::parse(s.trim()).map_err(|e| CliError::failed(format!("{s:?} is not a CID: {e}")))
}

/// The libp2p identity of `--key-file`: an atproto private key as multibase.
fn read_identity(path: &std::path::Path) -> Result<atmo_p2p::identity::Keypair, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::failed(format!("--key-file {}: {e}", path.display())))?;
    let key = atmo_crypto::Keypair::from_private_key_multibase(text.trim()).map_err(|e| {
        CliError::failed(format!(
            "--key-file {}: not a multibase private key: {e}",
            path.display()
        ))
    })?;
    atmo_p2p::libp2p_keypair(&key).map_err(failed)
}

fn failed(e: atmo_p2p::Error) -> CliError {
    CliError::failed(e)
}

/// Runs `atmo p2p`.
pub(crate) fn run(args: P2pArgs) -> Result<(), CliError> {
    let rt = runtime()?;
    match args.command {
        P2pCommand::PeerId { did, net } => {
            let peer = if did.trim().starts_with("did:key:") {
                let key = PublicKey::from_did_key(did.trim()).map_err(|e| {
                    CliError::failed(format!("{did:?} is not a usable did:key: {e}"))
                })?;
                atmo_p2p::peer_id_for_key(&key).map_err(failed)?
            } else {
                let resolver = resolver(&net)?;
                let did = rt.block_on(to_did(&resolver, &did))?;
                let doc = rt
                    .block_on(resolver.resolve_did(&did))
                    .map_err(|e| CliError::failed(format!("cannot resolve {did}: {e}")))?;
                atmo_p2p::peer_id_for_did(&doc).map_err(failed)?
            };
            println(&peer.to_string())
        }
        P2pCommand::Serve {
            files,
            listen,
            key_file,
        } => {
            let keypair = match &key_file {
                Some(path) => Some(read_identity(path)?),
                None => None,
            };
            let mut blocks = Blocks::new();
            for f in &files {
                blocks.add_car_file(f).map_err(failed)?;
            }
            let listen = listen
                .iter()
                .map(|s| parse_addr(s))
                .collect::<Result<Vec<_>, _>>()?;
            let count = blocks.len();
            rt.block_on(async move {
                let node = Node::start(NodeConfig {
                    listen,
                    source: Some(Arc::new(blocks)),
                    keypair,
                    ..NodeConfig::default()
                })
                .await
                .map_err(failed)?;
                println(&node.peer_id().to_string())?;
                for a in node.listen_addrs() {
                    println(&a.to_string())?;
                }
                eprintln!(
                    "serving {count} blocks of {} file(s); Ctrl-C (or SIGTERM) stops",
                    files.len()
                );
                stopped().await;
                let stats = node.stats();
                eprintln!(
                    "served {} blocks ({} bytes) to peers",
                    stats.blocks_sent, stats.bytes_sent
                );
                node.stop().await;
                Ok(())
            })
        }
        P2pCommand::Get {
            cid,
            peer,
            output,
            timeout,
        } => {
            let cid = parse_cid(&cid)?;
            let addrs = peer
                .iter()
                .map(|s| parse_addr(s))
                .collect::<Result<Vec<_>, _>>()?;
            let bytes = rt.block_on(async {
                let node = Node::start(NodeConfig {
                    want_timeout: std::time::Duration::from_secs(timeout),
                    ..NodeConfig::default()
                })
                .await
                .map_err(failed)?;
                let mut peers = Vec::new();
                let mut last = None;
                for a in &addrs {
                    match node.connect(a).await {
                        Ok(p) => peers.push(p),
                        Err(e) => {
                            eprintln!("warning: {e}");
                            last = Some(e);
                        }
                    }
                }
                if peers.is_empty() {
                    return Err(failed(last.unwrap_or(atmo_p2p::Error::NotFound { cid })));
                }
                let r = node.fetch(cid, &peers).await;
                node.stop().await;
                r.map_err(failed)
            })?;
            match output {
                Some(path) => write_file(&path, &bytes),
                None => write_stdout(&bytes),
            }
        }
        P2pCommand::Mirror {
            did,
            peer,
            no_pds,
            root,
            key,
            output,
            timeout,
            json,
            net,
        } => {
            let peers = peer
                .iter()
                .map(|s| parse_addr(s))
                .collect::<Result<Vec<_>, _>>()?;
            let root = root.as_deref().map(parse_cid).transpose()?;
            let key = key
                .as_deref()
                .map(|k| {
                    PublicKey::from_did_key(k.trim()).map_err(|e| {
                        CliError::failed(format!("--key {k:?} is not a usable did:key: {e}"))
                    })
                })
                .transpose()?;
            let resolver = resolver(&net)?;
            let did = rt.block_on(to_did(&resolver, &did))?;
            let previous = match std::fs::read(&output) {
                Ok(b) => Some(bytes::Bytes::from(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => {
                    return Err(CliError::failed(format!("{}: {e}", output.display())));
                }
            };
            let mut o = MirrorOptions::new(did);
            o.peers = peers;
            o.use_pds = !no_pds;
            o.root = root;
            o.key = key;
            o.pds.clone_from(&net.pds);
            o.previous = previous;
            o.want_timeout = std::time::Duration::from_secs(timeout);
            o.resolver = Some(resolver);
            o.allow_private_network = net.allow_private_network;
            let mirror = Mirror::new(o).map_err(failed)?;
            let m = rt.block_on(mirror.run()).map_err(|e| match e {
                atmo_p2p::Error::Repo(_) if output.exists() => CliError::failed(format!(
                    "{e} (is {} a CAR file? it is read as the previous mirror)",
                    output.display()
                )),
                e => failed(e),
            })?;
            write_file(&output, &m.car)?;
            if json {
                let v = serde_json::json!({
                    "did": m.did.as_str(),
                    "commit": m.commit.to_string(),
                    "rev": m.rev.as_str(),
                    "records": m.records,
                    "blocks": m.blocks,
                    "bytes": m.car.len(),
                    "from_local": m.stats.local,
                    "from_peers": m.stats.peers,
                    "from_pds": m.stats.pds,
                    "output": output.display().to_string(),
                });
                println(&v.to_string())
            } else {
                println(&format!(
                    "mirrored {} at rev {} (commit {}): {} records, {} blocks ({} from the previous mirror, {} from peers, {} from the PDS), {} bytes -> {}",
                    m.did,
                    m.rev,
                    m.commit,
                    m.records,
                    m.blocks,
                    m.stats.local,
                    m.stats.peers,
                    m.stats.pds,
                    m.car.len(),
                    output.display()
                ))
            }
        }
    }
}

/// Waits for Ctrl-C, or (on Unix) SIGTERM, as service managers send.
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// A DID as typed, or the DID of a handle.
async fn to_did(resolver: &atmo_identity::Resolver, input: &str) -> Result<Did, CliError> {
    match parse_identifier(input)? {
        AtIdentifier::Did(d) => Ok(d),
        AtIdentifier::Handle(h) => resolver
            .resolve_handle(&h)
            .await
            .map_err(|e| CliError::failed(format!("cannot resolve {h}: {e}"))),
    }
}

/// Writes a file whole: to a temporary sibling (`.part`, removed on failure), then renamed
/// over the target.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".part");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            CliError::failed(format!("{}: {e}", path.display()))
        })
}
