//! The fields of a generated struct as constructor arguments and setters.

use std::fmt::Write as _;

use crate::model::StringFormat;

/// One field of a generated struct, for its constructor and setters.
pub(super) struct Member {
    /// The lexicon name.
    pub(super) prop: String,
    /// The Rust field.
    pub(super) field: String,
    /// The type a constructor argument or setter takes (`impl Into<..>`).
    pub(super) ty: String,
    /// In the constructor, else a setter.
    pub(super) required: bool,
    /// The setter wraps the value in `Some`.
    pub(super) wrap: bool,
}

impl Member {
    pub(super) fn req(prop: &str, field: &str, ty: String) -> Self {
        Self {
            prop: prop.to_owned(),
            field: field.to_owned(),
            ty,
            required: true,
            wrap: false,
        }
    }

    pub(super) fn opt(field: &str, ty: String) -> Self {
        Self {
            prop: String::new(),
            field: field.to_owned(),
            ty,
            required: false,
            wrap: true,
        }
    }
}

/// `new(required...)` and a `with_<field>` setter per other field: generic, so nothing
/// is compiled for them until they are used. Constructor arguments follow the
/// lexicon's `required` order.
pub(super) fn constructors(
    rt: &str,
    ty: &str,
    required: &[String],
    members: &[Member],
    defaults: &[&str],
) -> String {
    let mut args = Vec::new();
    for r in required {
        if let Some(m) = members.iter().find(|m| m.required && &m.prop == r) {
            if !args.iter().any(|a: &&Member| a.field == m.field) {
                args.push(m);
            }
        }
    }
    let mut s = format!(
        "impl {ty} {{\n/// A value with the required fields; set the others with the `with_*` methods.\n#[inline]\npub fn new("
    );
    // String formats take their exact type, so `"...".parse()?` infers it.
    let exact = |m: &Member| m.ty.starts_with("atmo_syntax::");
    for m in &args {
        if exact(m) {
            let _ = write!(s, "{}: {}, ", m.field, m.ty);
        } else {
            let _ = write!(s, "{}: impl Into<{}>, ", m.field, m.ty);
        }
    }
    s.push_str(") -> Self {\n");
    if args.is_empty() {
        s.push_str("Self::default()\n}\n}\n");
    } else {
        s.push_str("Self {\n");
    }
    for m in members.iter().filter(|_| !args.is_empty()) {
        if m.required && exact(m) {
            let _ = writeln!(s, "{},", m.field);
        } else if m.required {
            let _ = writeln!(s, "{0}: {0}.into(),", m.field);
        } else {
            let _ = writeln!(s, "{}: Default::default(),", m.field);
        }
    }
    if !args.is_empty() {
        for d in defaults {
            let _ = writeln!(s, "{d}: Default::default(),");
        }
        s.push_str("}\n}\n}\n");
    }
    let setters: Vec<&Member> = members.iter().filter(|m| !m.required).collect();
    if !setters.is_empty() {
        // One line per field, grouped by kind; the runtime's macro writes the `with_*`
        // methods.
        let _ = writeln!(s, "{rt}::setters! {{ {ty};");
        for kind in ["some", "exact", "set"] {
            let group: Vec<&&Member> = setters
                .iter()
                .filter(|m| {
                    kind == match (m.wrap, exact(m)) {
                        (true, true) => "exact",
                        (true, false) => "some",
                        _ => "set",
                    }
                })
                .collect();
            if group.is_empty() {
                continue;
            }
            let _ = writeln!(s, "  {kind} {{");
            for m in group {
                let name = m.field.trim_start_matches("r#");
                let _ = writeln!(s, "    with_{name} {} {},", m.field, m.ty);
            }
            s.push_str("  }\n");
        }
        s.push_str("}\n");
    }
    s
}

/// The Rust type for a string of a given format.
pub(super) fn string_type(f: Option<StringFormat>) -> &'static str {
    match f {
        None => "String",
        Some(StringFormat::AtIdentifier) => "atmo_syntax::AtIdentifier",
        Some(StringFormat::AtUri) => "atmo_syntax::AtUri",
        Some(StringFormat::Cid) => "atmo_syntax::CidString",
        Some(StringFormat::Datetime) => "atmo_syntax::LenientDatetime",
        Some(StringFormat::Did) => "atmo_syntax::Did",
        Some(StringFormat::Handle) => "atmo_syntax::Handle",
        Some(StringFormat::Nsid) => "atmo_syntax::Nsid",
        Some(StringFormat::Tid) => "atmo_syntax::Tid",
        Some(StringFormat::RecordKey) => "atmo_syntax::RecordKey",
        Some(StringFormat::Uri) => "atmo_syntax::Uri",
        Some(StringFormat::Language) => "atmo_syntax::Language",
    }
}
