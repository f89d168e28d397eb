//! Differential test of the data model's JSON numbers against the reference
//! implementation (`@atproto/lex-json` strict parsing, then `@atproto/lex-cbor`; see
//! tests/oracle/data-oracle.mjs): every generated number form must give the same verdict
//! and, when accepted, the same DAG-CBOR bytes.
//!
//! One deliberate difference, from the data model spec ("integer: signed, 64-bit"): a
//! plain integer literal beyond 2^53 - 1 but within `i64` is read exactly by atmo, while
//! the reference (whose numbers are doubles) refuses it.

use atmo_tests::oracle;

/// 2^53 - 1, the reference's largest "safe" integer.
const MAX_SAFE: i128 = 9_007_199_254_740_991;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Number texts: every combination of sign, integer part, fraction and exponent from
/// lists of edge values, then pseudo-random ones.
fn numbers() -> Vec<String> {
    let ints = [
        "0",
        "1",
        "7",
        "10",
        "123",
        "4294967296",
        "9007199254740991",
        "9007199254740992",
        "9007199254740993",
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551615",
        "18446744073709551616",
        "123456789012345678901234567890",
    ];
    let fracs = ["", ".0", ".00", ".5", ".25", ".000001", ".0000000000000001"];
    let exps = [
        "", "e0", "e2", "E+2", "E2", "e-2", "e-1", "e+20", "e19", "e308", "e400", "e-400",
    ];
    let mut out = Vec::new();
    for sign in ["", "-"] {
        for i in ints {
            for f in fracs {
                for e in exps {
                    out.push(format!("{sign}{i}{f}{e}"));
                }
            }
        }
    }
    // A small deterministic generator (xorshift64*) for digits and exponents.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    for _ in 0..2000 {
        let r = next();
        let digits = 1 + (r % 21) as usize;
        let mut s = String::new();
        if r & (1 << 40) != 0 {
            s.push('-');
        }
        let mut d = next();
        for k in 0..digits {
            let c = (d % 10) as u8;
            d /= 10;
            if d == 0 {
                d = next();
            }
            // No leading zero unless it is the only digit (JSON's grammar).
            let c = if k == 0 && digits > 1 && c == 0 { 1 } else { c };
            s.push(char::from(b'0' + c));
        }
        match (r >> 20) % 4 {
            0 => {}
            1 => s.push_str(&format!(".{}", "0".repeat(1 + (r >> 30) as usize % 3))),
            2 => s.push_str(&format!(".{}", (r >> 33) % 1000)),
            _ => s.push_str(&format!("e{}", (r >> 30) % 25)),
        }
        if (r >> 50) % 5 == 0 {
            s.push_str(&format!("e-{}", (r >> 53) % 4));
        }
        out.push(s);
    }
    out
}

#[test]
fn json_numbers_match_the_reference_implementation() {
    if !oracle::available() {
        return;
    }
    let nums = numbers();
    let texts: Vec<String> = nums.iter().map(|n| format!("{{\"a\":{n}}}")).collect();
    let input = serde_json::to_string(&texts).unwrap();
    let lines = oracle::run("data-oracle.mjs", &input);
    assert_eq!(lines.len(), texts.len());
    let (mut agreed, mut documented) = (0, 0);
    let mut failures = Vec::new();
    for ((num, text), line) in nums.iter().zip(&texts).zip(&lines) {
        let reference: serde_json::Value = serde_json::from_str(line).unwrap();
        let ours = atmo_data::json::from_str(text);
        let plain_integer = num.bytes().all(|b| b == b'-' || b.is_ascii_digit());
        let literal = num.parse::<i128>().ok();
        match (&ours, reference["cbor"].as_str()) {
            (Ok(v), Some(want)) => {
                let got = hex(&atmo_data::cbor::encode(v));
                if got == want {
                    agreed += 1;
                } else {
                    failures.push(format!("{num}: atmo {got}, reference {want}"));
                }
            }
            (Err(e), None) => {
                agreed += 1;
                // Beyond i64 the message names the cause.
                let beyond_i64 = literal.is_some_and(|n| i64::try_from(n).is_err())
                    || (plain_integer && literal.is_none());
                if beyond_i64 && !e.to_string().contains("integer out of range") {
                    failures.push(format!("{num}: message {e}"));
                }
            }
            (Ok(_), None) => {
                // The one documented difference: exact 64-bit integer literals.
                match literal {
                    Some(n) if plain_integer && n.abs() > MAX_SAFE => documented += 1,
                    _ => failures.push(format!(
                        "{num}: atmo accepts, reference refuses ({})",
                        reference["error"]
                    )),
                }
            }
            (Err(e), Some(_)) => {
                failures.push(format!("{num}: atmo refuses ({e}), reference accepts"))
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        nums.len(),
        failures.join("\n")
    );
    // The generator must exercise both verdicts and the documented difference.
    assert!(agreed > 3000 && documented > 10, "{agreed} {documented}");
}
