//! `atmo post`: write a post as the signed-in account (facets detected, mentions
//! resolved, images uploaded with their aspect ratio).

use std::path::PathBuf;

use atmo::Agent;
use atmo_syntax::AtUri;

use super::GlobalArgs;
use crate::account::session_client;
use crate::error::CliError;
use crate::io::println;
use crate::net::{resolver, runtime};

/// Arguments of `atmo post`.
#[derive(Debug, clap::Args)]
pub(crate) struct PostArgs {
    /// The text (at most 300 graphemes).
    text: String,
    /// Reply to this post (its thread's root is found from it).
    #[arg(long, value_name = "AT-URI")]
    reply: Option<String>,
    /// Attach an image (PNG, JPEG, GIF or WebP; up to 4). Repeat for more.
    #[arg(long, value_name = "FILE")]
    image: Vec<PathBuf>,
    /// The alt text of the image given in the same position. Repeat for each image.
    #[arg(long, value_name = "TEXT")]
    alt: Vec<String>,
    /// A language of the text (BCP 47, e.g. en). Repeat for more.
    #[arg(long, value_name = "CODE")]
    lang: Vec<String>,
    /// Print `{"uri": ..., "cid": ...}` instead of the two lines.
    #[arg(long)]
    json: bool,
    /// Network options.
    #[command(flatten)]
    pub(crate) net: super::GlobalArgs,
}

/// Runs `atmo post`.
pub(crate) fn run(args: PostArgs, global: &GlobalArgs) -> Result<(), CliError> {
    if args.alt.len() > args.image.len() {
        return Err(CliError::usage(format!(
            "{} --alt given for {} --image",
            args.alt.len(),
            args.image.len()
        )));
    }
    let reply = args
        .reply
        .as_deref()
        .map(|r| AtUri::new(r).map_err(|e| CliError::usage(format!("--reply {r:?}: {e}"))))
        .transpose()?;
    runtime()?.block_on(async {
        let client = session_client(global).await?;
        let agent = Agent::new(client).with_resolver(resolver(global)?);
        let mut post = agent.post(args.text);
        if let Some(parent) = reply {
            post = post.reply_to(parent);
        }
        for (i, image) in args.image.iter().enumerate() {
            let alt = args.alt.get(i).cloned().unwrap_or_default();
            post = post.image(image, alt);
        }
        for lang in args.lang {
            post = post.lang(lang);
        }
        let written = post.send().await.map_err(CliError::failed)?;
        if args.json {
            let out = serde_json::json!({
                "uri": written.uri.as_str(),
                "cid": written.cid.to_string(),
            });
            println(&out.to_string())
        } else {
            println(written.uri.as_str())?;
            println(&written.cid.to_string())
        }
    })
}
