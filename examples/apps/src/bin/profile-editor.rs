//! Show or edit the signed-in account's profile (`app.bsky.actor.profile`), written
//! under a swap so an edit made elsewhere in the meantime is never overwritten.
//!
//! ```text
//! PASSWORD=... profile-editor --pds https://pds.example.com --handle alice.example.com \
//!     --display-name "Alice" --description "Writes Rust" --avatar me.png
//! ```

use std::path::PathBuf;

use atmo_examples::NetArgs;
use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "Show or edit your profile")]
struct Args {
    /// The account's PDS.
    #[arg(long)]
    pds: String,
    /// The account's handle (or DID).
    #[arg(long)]
    handle: String,
    /// The app password (better: the PASSWORD environment variable).
    #[arg(long, env = "PASSWORD", hide_env_values = true)]
    password: String,
    /// A new display name.
    #[arg(long)]
    display_name: Option<String>,
    /// A new description.
    #[arg(long)]
    description: Option<String>,
    /// A new avatar (PNG or JPEG).
    #[arg(long)]
    avatar: Option<PathBuf>,
    #[command(flatten)]
    net: NetArgs,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let agent = args
        .net
        .login(&args.pds, &args.handle, &args.password)
        .await?;
    let avatar = match &args.avatar {
        Some(path) => {
            let (blob, info) = agent.upload_blob_file(path).await?;
            if info.is_none() {
                return Err(format!("{}: not an image", path.display()).into());
            }
            Some(blob)
        }
        None => None,
    };
    let editing = args.display_name.is_some() || args.description.is_some() || avatar.is_some();
    if editing {
        agent
            .update_profile(|p| {
                if let Some(n) = &args.display_name {
                    p.display_name = Some(n.clone());
                }
                if let Some(d) = &args.description {
                    p.description = Some(d.clone());
                }
                if let Some(a) = &avatar {
                    p.avatar = Some(a.clone());
                }
            })
            .await?;
    }
    let profile = agent.profile().await?;
    let value = match profile {
        Some(p) => serde_json::json!({
            "uri": p.uri.as_str(),
            "displayName": p.value.display_name,
            "description": p.value.description,
            "avatar": p.value.avatar.map(|b| b.cid.to_string()),
        }),
        None => serde_json::Value::Null,
    };
    println!("{value}");
    Ok(())
}
