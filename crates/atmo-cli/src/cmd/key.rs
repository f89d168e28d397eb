//! `atmo key`: generate, inspect and use atproto signing keys (did:key).

use atmo_crypto::{Curve, Keypair, PublicKey};
use base64::Engine as _;
use clap::{Subcommand, ValueEnum};

use crate::error::CliError;
use crate::io::{println, write_stdout};

/// Arguments of `atmo key`.
#[derive(Debug, clap::Args)]
pub(crate) struct KeyArgs {
    #[command(subcommand)]
    command: KeyCommand,
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Generate a new key pair from OS randomness; print the private key and its did:key.
    ///
    /// Plain output is one `name: value` per line (curve, privateKeyHex, privateKeyMultibase,
    /// didKey). The private key is a secret: keep it out of shell history and logs.
    #[command(
        after_help = "Examples:\n  atmo key generate\n  atmo key generate --curve p256 --json"
    )]
    Generate {
        /// The curve: k256 (secp256k1, the PDS default) or p256 (NIST P-256).
        #[arg(long, value_enum, default_value_t = CurveArg::K256)]
        curve: CurveArg,
        /// Print one JSON object {"curve","privateKeyHex","privateKeyMultibase","didKey"}.
        #[arg(long)]
        json: bool,
    },
    /// Show what a did:key holds: curve, JWT alg, Multikey and compressed public key.
    ///
    /// Exit 1 with the reason if DID_KEY is not a valid secp256k1 or P-256 did:key.
    #[command(
        after_help = "Example:\n  atmo key inspect did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"
    )]
    Inspect {
        /// The did:key to inspect (a bare Multikey `z...` is accepted too).
        did_key: String,
        /// Print one JSON object {"didKey","curve","jwtAlg","multikey","publicKeyHex"}.
        #[arg(long)]
        json: bool,
    },
    /// Print the did:key of a private key.
    #[command(
        after_help = "Example:\n  atmo key public --curve k256 --private-key-hex 9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c"
    )]
    Public {
        /// The curve of the private key.
        #[arg(long, value_enum)]
        curve: CurveArg,
        /// The private key: 64 hex digits.
        #[arg(long, value_name = "HEX")]
        private_key_hex: String,
    },
    /// Verify an atproto signature: SHA-256 of the message, 64-byte compact r||s, low-S.
    ///
    /// Exit 0 if valid. Exit 1 if not, with the reason on stderr: high-S, DER-encoded,
    /// wrong length, scalar out of range, or not matching this key and message.
    #[command(
        after_help = "Example:\n  atmo key verify --key did:key:zDnaembgSGUhZULN2Caob4HLJPaxBh92N7rtH21TErzqf8HQo \\\n    --message-base64 oWVoZWxsb2V3b3JsZA \\\n    --signature-base64 2vZNsG3UKvvO/CDlrdvyZRISOFylinBh0Jupc6KcWoJWExHptCfduPleDbG3rko3YZnn9Lw0IjpixVmexJDegg"
    )]
    Verify {
        /// The signer's did:key.
        #[arg(long, value_name = "DID_KEY")]
        key: String,
        /// The signed message, base64 (standard or URL-safe alphabet, padding optional).
        #[arg(long, value_name = "B64")]
        message_base64: String,
        /// The signature, base64 (standard or URL-safe alphabet, padding optional).
        #[arg(long, value_name = "B64")]
        signature_base64: String,
    },
}

/// The curves, as written on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CurveArg {
    /// secp256k1 (JWT alg ES256K).
    K256,
    /// NIST P-256 (JWT alg ES256).
    P256,
}

impl From<CurveArg> for Curve {
    fn from(c: CurveArg) -> Self {
        match c {
            CurveArg::K256 => Curve::K256,
            CurveArg::P256 => Curve::P256,
        }
    }
}

/// Runs `atmo key`.
pub(crate) fn run(args: KeyArgs) -> Result<(), CliError> {
    match args.command {
        KeyCommand::Generate { curve, json } => generate(curve.into(), json),
        KeyCommand::Inspect { did_key, json } => inspect(&did_key, json),
        KeyCommand::Public {
            curve,
            private_key_hex,
        } => {
            let keypair = Keypair::from_private_key_hex(curve.into(), private_key_hex.trim())
                .map_err(|e| CliError::failed(format!("invalid private key: {e}")))?;
            println(&keypair.public_key().to_did_key())
        }
        KeyCommand::Verify {
            key,
            message_base64,
            signature_base64,
        } => verify(&key, &message_base64, &signature_base64),
    }
}

fn generate(curve: Curve, json: bool) -> Result<(), CliError> {
    let keypair = Keypair::generate(curve).map_err(CliError::failed)?;
    let fields = [
        ("curve", curve.as_str().to_owned()),
        ("privateKeyHex", keypair.to_private_key_hex()),
        ("privateKeyMultibase", keypair.to_private_key_multibase()),
        ("didKey", keypair.public_key().to_did_key()),
    ];
    print_fields(&fields, json)
}

fn inspect(did_key: &str, json: bool) -> Result<(), CliError> {
    let key = if did_key.starts_with("did:") {
        PublicKey::from_did_key(did_key)
    } else {
        PublicKey::from_multikey(did_key)
    }
    .map_err(|e| CliError::failed(format!("invalid did:key: {e}")))?;
    let fields = [
        ("didKey", key.to_did_key()),
        ("curve", key.curve().as_str().to_owned()),
        ("jwtAlg", key.jwt_alg().to_owned()),
        ("multikey", key.to_multikey()),
        ("publicKeyHex", hex(&key.to_sec1_compressed())),
    ];
    print_fields(&fields, json)
}

fn verify(key: &str, message_b64: &str, signature_b64: &str) -> Result<(), CliError> {
    let key = PublicKey::from_did_key(key)
        .map_err(|e| CliError::failed(format!("invalid --key: {e}")))?;
    let msg = base64_decode(message_b64)
        .map_err(|e| CliError::failed(format!("invalid --message-base64: {e}")))?;
    let sig = base64_decode(signature_b64)
        .map_err(|e| CliError::failed(format!("invalid --signature-base64: {e}")))?;
    match key.verify(&msg, &sig) {
        Ok(()) => println("valid"),
        Err(e) => Err(CliError::failed(format!("invalid signature: {e}"))),
    }
}

/// Decodes base64 in either alphabet, with or without padding.
fn base64_decode(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    let config = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    let s = s.trim();
    let standard = GeneralPurpose::new(&base64::alphabet::STANDARD, config);
    standard.decode(s).or_else(|e| {
        if s.contains(['-', '_']) {
            GeneralPurpose::new(&base64::alphabet::URL_SAFE, config).decode(s)
        } else {
            Err(e)
        }
    })
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Prints `name: value` lines, or one JSON object with string values.
fn print_fields(fields: &[(&str, String)], json: bool) -> Result<(), CliError> {
    if json {
        let mut out = String::from("{");
        for (i, (name, value)) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json_string(&mut out, name);
            out.push(':');
            json_string(&mut out, value);
        }
        out.push_str("}\n");
        write_stdout(out.as_bytes())
    } else {
        let mut out = String::new();
        for (name, value) in fields {
            out.push_str(name);
            out.push_str(": ");
            out.push_str(value);
            out.push('\n');
        }
        write_stdout(out.as_bytes())
    }
}

/// Appends `s` as a JSON string literal.
fn json_string(out: &mut String, s: &str) {
    use std::fmt::Write as _;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        let mut s = String::new();
        json_string(&mut s, "a\"b\\c\n");
        assert_eq!(s, r#""a\"b\\c\u000a""#);
    }

    #[test]
    fn base64_both_alphabets_and_padding() {
        assert_eq!(base64_decode("oWVoZWxsb2V3b3JsZA").unwrap().len(), 13);
        assert_eq!(base64_decode("oWVoZWxsb2V3b3JsZA==").unwrap().len(), 13);
        assert_eq!(base64_decode("-_8").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(base64_decode("+/8").unwrap(), vec![0xfb, 0xff]);
        assert!(base64_decode("!!").is_err());
    }
}
