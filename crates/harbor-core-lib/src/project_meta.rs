//! Harbor's project metadata keys (`metadata` of a project, `/projects/{p}/metadatas`):
//! which exist, what values each takes, and what this server does with them.
//!
//! No key is silently dropped. A key is either **enforced** (`public`, `prevent_vul`,
//! `reuse_sys_cve_allowlist`, `enable_content_trust`, `enable_content_trust_cosign`), **stored** (kept and returned; it changes nothing by itself,
//! e.g. `severity` without `prevent_vul`), or **not supported yet**: its off value is accepted and stored (clients and Terraform
//! providers send the whole set), any other value is refused naming the key, so nobody
//! believes a protection is on that is not.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::identity::Project;

/// What a value must look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `"true"` or `"false"` (JSON booleans are accepted and stored as strings).
    Bool,
    /// One of the listed words.
    OneOf(&'static [&'static str]),
    /// An integer, at least the given value.
    Int(i64),
    /// Any string up to 255 characters.
    Text,
}

/// What this server does with a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// Acted on.
    Enforced,
    /// Stored and returned; has no effect by itself.
    Stored,
    /// Only this (off) value is accepted until the feature exists; the text says which.
    NotYet {
        /// The one accepted value.
        off: &'static str,
        /// The feature that would act on it.
        feature: &'static str,
    },
    /// Set by the server, never through metadata (the text says how).
    Derived(&'static str),
}

/// A metadata key Harbor defines.
#[derive(Clone, Copy, Debug)]
pub struct Key {
    /// Its name.
    pub name: &'static str,
    kind: Kind,
    /// What this server does with it.
    pub support: Support,
}

const SEVERITIES: &[&str] = &["none", "low", "medium", "high", "critical"];
const FILTER_KINDS: &[&str] = &["doublestar", "regex"];

const fn not_yet(off: &'static str, feature: &'static str) -> Support {
    Support::NotYet { off, feature }
}

/// Every key of Harbor's `ProjectMetadata`, in the swagger's order.
pub const KEYS: &[Key] = &[
    Key {
        name: "public",
        kind: Kind::Bool,
        support: Support::Enforced,
    },
    Key {
        name: "enable_content_trust",
        kind: Kind::Bool,
        support: Support::Enforced,
    },
    Key {
        name: "enable_content_trust_cosign",
        kind: Kind::Bool,
        support: Support::Enforced,
    },
    Key {
        name: "prevent_vul",
        kind: Kind::Bool,
        support: Support::Enforced,
    },
    Key {
        name: "severity",
        kind: Kind::OneOf(SEVERITIES),
        support: Support::Stored,
    },
    Key {
        name: "auto_scan",
        kind: Kind::Bool,
        support: Support::Enforced,
    },
    Key {
        name: "auto_sbom_generation",
        kind: Kind::Bool,
        support: Support::Enforced,
    },
    Key {
        name: "reuse_sys_cve_allowlist",
        kind: Kind::Bool,
        support: Support::Enforced,
    },
    Key {
        name: "retention_id",
        kind: Kind::Text,
        support: Support::Derived(
            "it names the project's retention policy: create one with POST /retentions",
        ),
    },
    Key {
        name: "proxy_speed_kb",
        kind: Kind::Int(-1),
        support: not_yet("-1", "proxy cache projects"),
    },
    Key {
        name: "max_upstream_conn",
        kind: Kind::Int(-1),
        support: not_yet("-1", "proxy cache projects"),
    },
    Key {
        name: "proxy_cache_local_on_not_found",
        kind: Kind::Bool,
        support: not_yet("false", "proxy cache projects"),
    },
    Key {
        name: "proxy_referrer_api",
        kind: Kind::Bool,
        support: not_yet("false", "proxy cache projects"),
    },
    Key {
        name: "proxy_cache_filter_pattern",
        kind: Kind::Text,
        support: not_yet("", "proxy cache projects"),
    },
    Key {
        name: "proxy_cache_filter_kind",
        kind: Kind::OneOf(FILTER_KINDS),
        support: not_yet("doublestar", "proxy cache projects"),
    },
];

/// The key named `name`.
pub fn key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// A metadata value as a client sends it: Harbor's strings, or JSON booleans and numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawValue {
    /// A string.
    Text(String),
    /// A JSON boolean.
    Bool(bool),
    /// A JSON integer.
    Int(i64),
}

/// Checks one key and value and returns the value as stored (Harbor's string form).
/// Errors name the key: unknown keys, malformed values, values of features this server
/// does not have yet, and keys the server sets itself.
pub fn validate(name: &str, value: &RawValue) -> Result<String> {
    let k = key(name).ok_or_else(|| {
        Error::Invalid(format!(
            "unknown project metadata key {name:?}; the keys are {}",
            KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
        ))
    })?;
    let bad = |what: &str| Error::Invalid(format!("metadata.{name} must be {what}"));
    let text = match (k.kind, value) {
        (Kind::Bool, RawValue::Bool(b)) => b.to_string(),
        (Kind::Bool, RawValue::Text(s)) if s.eq_ignore_ascii_case("true") => "true".into(),
        (Kind::Bool, RawValue::Text(s)) if s.eq_ignore_ascii_case("false") => "false".into(),
        (Kind::Bool, _) => return Err(bad("\"true\" or \"false\"")),
        (Kind::OneOf(words), RawValue::Text(s)) => {
            let lower = s.to_ascii_lowercase();
            if !words.contains(&lower.as_str()) {
                return Err(bad(&format!("one of {}", words.join(", "))));
            }
            lower
        }
        (Kind::OneOf(words), _) => return Err(bad(&format!("one of {}", words.join(", ")))),
        (Kind::Int(min), v) => {
            let n = match v {
                RawValue::Int(n) => Some(*n),
                RawValue::Text(s) => s.trim().parse::<i64>().ok(),
                RawValue::Bool(_) => None,
            };
            match n {
                Some(n) if n >= min => n.to_string(),
                _ => return Err(bad(&format!("an integer of at least {min}"))),
            }
        }
        (Kind::Text, RawValue::Text(s)) if s.chars().count() <= 255 => s.clone(),
        (Kind::Text, _) => return Err(bad("a string of at most 255 characters")),
    };
    match k.support {
        Support::Enforced | Support::Stored => Ok(text),
        Support::NotYet { off, .. } if text == off => Ok(text),
        Support::NotYet { off, feature } => Err(Error::Invalid(format!(
            "metadata.{name}={text:?} is not supported yet: this server has no {feature}; \
             only {off:?} is accepted"
        ))),
        Support::Derived(how) => Err(Error::Invalid(format!(
            "metadata.{name} cannot be set: {how}"
        ))),
    }
}

/// Checks a whole set of keys (as [`validate`]); `public` is returned apart because it is
/// a column of its own.
pub fn validate_all(
    values: &BTreeMap<String, RawValue>,
) -> Result<(Option<bool>, BTreeMap<String, String>)> {
    let mut public = None;
    let mut rest = BTreeMap::new();
    for (name, value) in values {
        let v = validate(name, value)?;
        if name == "public" {
            public = Some(v == "true");
        } else {
            rest.insert(name.clone(), v);
        }
    }
    Ok((public, rest))
}

/// Whether `name` may be removed from `project`: `public` cannot be (set it to
/// `"false"`); a key that is not set is [`Error::NotFound`].
pub fn check_removable(project: &Project, name: &str) -> Result<()> {
    if name == "public" {
        return Err(Error::Invalid(
            "metadata.public cannot be removed: set it to \"false\"".into(),
        ));
    }
    if !project.metadata.contains_key(name) {
        return Err(Error::NotFound(format!(
            "metadata {name} not found in project {}",
            project.name
        )));
    }
    Ok(())
}

/// Every key a project has, as Harbor returns them: `public`, the stored keys and
/// `retention_id` when the project has a retention policy.
pub fn view(project: &Project, retention_id: Option<i64>) -> BTreeMap<String, String> {
    let mut all = project.metadata.clone();
    all.insert("public".into(), project.public.to_string());
    if let Some(id) = retention_id {
        all.insert("retention_id".into(), id.to_string());
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> RawValue {
        RawValue::Text(s.into())
    }

    #[test]
    fn every_key_accepts_its_off_value_and_refuses_garbage() {
        for k in KEYS {
            let off = match k.support {
                Support::NotYet { off, .. } => off,
                Support::Derived(_) => {
                    let e = validate(k.name, &text("1")).unwrap_err().to_string();
                    assert!(e.contains(k.name) && e.contains("/retentions"), "{e}");
                    continue;
                }
                _ => match k.kind {
                    Kind::Bool => "false",
                    Kind::OneOf(w) => w[0],
                    Kind::Int(_) => "1",
                    Kind::Text => "x",
                },
            };
            assert_eq!(validate(k.name, &text(off)).unwrap(), off, "{}", k.name);
            if k.kind != Kind::Text {
                let e = validate(k.name, &text("maybe")).unwrap_err().to_string();
                assert!(e.contains(k.name), "{e}");
            }
        }
    }

    #[test]
    fn features_we_lack_are_refused_by_name() {
        for (name, on) in [
            ("proxy_cache_local_on_not_found", "true"),
            ("proxy_referrer_api", "TRUE"),
            ("proxy_speed_kb", "100"),
            ("proxy_cache_filter_kind", "regex"),
        ] {
            let e = validate(name, &text(on)).unwrap_err().to_string();
            assert!(e.contains(name) && e.contains("not supported yet"), "{e}");
        }
        let e = validate("shiny", &text("true")).unwrap_err().to_string();
        assert!(e.contains("unknown project metadata key \"shiny\""), "{e}");
    }

    #[test]
    fn signature_policies_are_enforced() {
        for name in ["enable_content_trust", "enable_content_trust_cosign"] {
            assert_eq!(key(name).unwrap().support, Support::Enforced);
            assert_eq!(validate(name, &text("TRUE")).unwrap(), "true");
            assert_eq!(validate(name, &RawValue::Bool(false)).unwrap(), "false");
        }
    }

    #[test]
    fn values_are_normalised() {
        assert_eq!(validate("public", &RawValue::Bool(true)).unwrap(), "true");
        assert_eq!(
            validate("auto_scan", &RawValue::Bool(false)).unwrap(),
            "false"
        );
        assert_eq!(validate("severity", &text("High")).unwrap(), "high");
        assert_eq!(
            validate("proxy_speed_kb", &RawValue::Int(-1)).unwrap(),
            "-1"
        );
        assert!(validate("proxy_speed_kb", &text("-2")).is_err());
        let (public, rest) = validate_all(&BTreeMap::from([
            ("public".to_owned(), text("true")),
            ("severity".to_owned(), text("low")),
        ]))
        .unwrap();
        assert_eq!(public, Some(true));
        assert_eq!(rest, BTreeMap::from([("severity".into(), "low".into())]));
    }
}
