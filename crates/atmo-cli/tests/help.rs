//! Each command's help lists only the options it uses: local commands have no network
//! options; network commands have them, wherever they are written on the line.

use std::process::Command;

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_atmo"))
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const NETWORK: [&str; 4] = [
    "--pds",
    "--plc",
    "--handle-resolver",
    "--allow-private-network",
];

#[test]
fn local_commands_do_not_list_network_options() {
    for cmd in [
        &["syntax", "check"][..],
        &["tid"],
        &["data", "to-json"],
        &["key", "generate"],
        &["repo", "verify"],
        &["repo", "ls"],
        &["repo", "diff"],
        &["lex", "check"],
        &["lex", "validate"],
    ] {
        let text = help(cmd);
        for opt in NETWORK {
            assert!(!text.contains(opt), "`atmo {}` lists {opt}", cmd.join(" "));
        }
    }
}

#[test]
fn network_commands_list_them() {
    for cmd in [
        &["resolve"][..],
        &["login"],
        &["whoami"],
        &["record", "get"],
        &["blob", "get"],
        &["repo", "export"],
        &["lex", "resolve"],
        &["post"],
        &["service-auth", "verify"],
        &["xrpc"],
        &["firehose"],
    ] {
        let text = help(cmd);
        for opt in NETWORK {
            assert!(
                text.contains(opt),
                "`atmo {}` does not list {opt}",
                cmd.join(" ")
            );
        }
    }
}
