//! Replication policies: Harbor's model and rules (`pkg/reg/model/policy.go`), without I/O.

use crate::doublestar::Pattern;
use crate::error::{Error, Result};
use crate::jobs::Cron;

/// Longest policy name and description.
const MAX_NAME: usize = 255;
const MAX_DESCRIPTION: usize = 1024;

/// What starts a policy's executions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// Only by hand.
    Manual,
    /// By Harbor's six-field cron.
    Scheduled(String),
    /// By pushes and deletes in this registry (push-based policies only).
    EventBased,
}

impl Trigger {
    /// Harbor's trigger type.
    pub fn kind(&self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Scheduled(_) => "scheduled",
            Trigger::EventBased => "event_based",
        }
    }

    /// Parses Harbor's `trigger` (`type` and `trigger_settings.cron`).
    pub fn parse(kind: &str, cron: &str) -> Result<Self> {
        match kind {
            "" | "manual" => Ok(Trigger::Manual),
            "event_based" => Ok(Trigger::EventBased),
            "scheduled" => {
                let c = Cron::parse(cron.trim()).map_err(|e| {
                    Error::Invalid(format!("invalid cron {cron:?} of a scheduled trigger: {e}"))
                })?;
                // Harbor: the seconds field must be 0 and the minutes field not `*`
                // (no policy runs more than once a minute).
                let fields: Vec<&str> = c.as_str().split_whitespace().collect();
                if fields.first() != Some(&"0") || fields.get(1) == Some(&"*") {
                    return Err(Error::Invalid(format!(
                        "invalid cron {cron:?}: the seconds field must be 0 and the minutes \
                         field not * (at most one run a minute)"
                    )));
                }
                Ok(Trigger::Scheduled(c.as_str().to_owned()))
            }
            other => Err(Error::Invalid(format!(
                "unsupported trigger type {other:?}: use manual, scheduled or event_based"
            ))),
        }
    }
}

/// Which artifacts a policy copies: Harbor's `resource` filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceKind {
    /// Container images (and their indexes) only.
    Image,
    /// Every artifact.
    Artifact,
}

impl ResourceKind {
    /// Harbor's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Image => "image",
            ResourceKind::Artifact => "artifact",
        }
    }
}

/// A policy's filters (Harbor's `filters`), validated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    /// Doublestar pattern on the full source repository name.
    pub name: Option<String>,
    /// Doublestar pattern on tags, and whether it excludes (`decoration: excludes`).
    pub tag: Option<(String, bool)>,
    /// Labels an artifact must all carry (local sources only).
    pub labels: Vec<String>,
    /// Images only, or every artifact.
    pub resource: Option<ResourceKind>,
}

impl Filters {
    /// Whether the name filter lets `repository` through.
    pub fn name_matches(&self, repository: &str) -> bool {
        self.name
            .as_deref()
            .is_none_or(|p| crate::doublestar::matches(p, repository))
    }

    /// Whether the tag filter lets `tag` through (an untagged artifact is `""`).
    pub fn tag_matches(&self, tag: &str) -> bool {
        match &self.tag {
            None => true,
            Some((p, excludes)) => crate::doublestar::matches(p, tag) != *excludes,
        }
    }

    /// Whether a name filter names one repository literally (no pattern characters):
    /// then a pull-based policy need not list the source's catalog.
    pub fn literal_name(&self) -> Option<&str> {
        self.name
            .as_deref()
            .filter(|n| !n.contains(['*', '?', '[', '{']))
    }
}

/// One filter as Harbor sends it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilterInput {
    /// `name`, `tag`, `label` or `resource`.
    pub kind: String,
    /// A string, or for `label` a list of strings.
    pub value: serde_json::Value,
    /// `matches` (default) or `excludes`, for `tag` (and `label`).
    pub decoration: String,
}

/// Validates Harbor's filter list.
pub fn parse_filters(input: &[FilterInput]) -> Result<Filters> {
    let mut f = Filters::default();
    let text = |i: &FilterInput| -> Result<String> {
        i.value.as_str().map(str::to_owned).ok_or_else(|| {
            Error::Invalid(format!("the {} filter's value must be a string", i.kind))
        })
    };
    let pattern = |kind: &str, p: &str| -> Result<()> {
        Pattern::new(p)
            .map(drop)
            .map_err(|e| Error::Invalid(format!("invalid {kind} filter {p:?}: {e}")))
    };
    for i in input {
        let once = |set: bool| {
            if set {
                Err(Error::Invalid(format!("at most one {} filter", i.kind)))
            } else {
                Ok(())
            }
        };
        match i.kind.as_str() {
            "name" => {
                once(f.name.is_some())?;
                let v = text(i)?;
                if !v.is_empty() {
                    pattern("name", &v)?;
                    f.name = Some(v);
                }
            }
            "tag" => {
                once(f.tag.is_some())?;
                let v = text(i)?;
                let excludes = match i.decoration.as_str() {
                    "" | "matches" => false,
                    "excludes" => true,
                    other => {
                        return Err(Error::Invalid(format!(
                            "invalid tag filter decoration {other:?}: use matches or excludes"
                        )));
                    }
                };
                if !v.is_empty() {
                    pattern("tag", &v)?;
                    f.tag = Some((v, excludes));
                }
            }
            "label" => {
                once(!f.labels.is_empty())?;
                if !matches!(i.decoration.as_str(), "" | "matches") {
                    return Err(Error::Invalid(
                        "label filters only match (all the labels given must be present)".into(),
                    ));
                }
                let labels = match &i.value {
                    serde_json::Value::Array(items) => items
                        .iter()
                        .map(|v| {
                            v.as_str().map(str::to_owned).ok_or_else(|| {
                                Error::Invalid("label filter values are label names".into())
                            })
                        })
                        .collect::<Result<Vec<_>>>()?,
                    serde_json::Value::String(s) if !s.is_empty() => vec![s.clone()],
                    serde_json::Value::String(_) | serde_json::Value::Null => Vec::new(),
                    _ => {
                        return Err(Error::Invalid(
                            "the label filter's value is a list of label names".into(),
                        ));
                    }
                };
                f.labels = labels;
            }
            "resource" => {
                once(f.resource.is_some())?;
                f.resource = match text(i)?.as_str() {
                    "" => None,
                    "image" => Some(ResourceKind::Image),
                    "artifact" => Some(ResourceKind::Artifact),
                    other => {
                        return Err(Error::Invalid(format!(
                            "invalid resource filter {other:?}: use image or artifact"
                        )));
                    }
                };
            }
            other => {
                return Err(Error::Invalid(format!(
                    "unsupported filter type {other:?}: use name, tag, label or resource"
                )));
            }
        }
    }
    Ok(f)
}

/// Harbor's filter list for `f` (what the API answers).
pub fn filter_inputs(f: &Filters) -> Vec<FilterInput> {
    let mut out = Vec::new();
    if let Some(n) = &f.name {
        out.push(FilterInput {
            kind: "name".into(),
            value: n.clone().into(),
            decoration: String::new(),
        });
    }
    if let Some((t, excludes)) = &f.tag {
        out.push(FilterInput {
            kind: "tag".into(),
            value: t.clone().into(),
            decoration: if *excludes { "excludes" } else { "matches" }.into(),
        });
    }
    if !f.labels.is_empty() {
        out.push(FilterInput {
            kind: "label".into(),
            value: f.labels.clone().into(),
            decoration: "matches".into(),
        });
    }
    if let Some(r) = f.resource {
        out.push(FilterInput {
            kind: "resource".into(),
            value: r.as_str().into(),
            decoration: String::new(),
        });
    }
    out
}

/// A policy's settings (everything but its id and times).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicySettings {
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// The source registry endpoint; `None` is this registry (a push-based policy).
    pub src_registry: Option<i64>,
    /// The destination registry endpoint; `None` is this registry (pull-based).
    pub dest_registry: Option<i64>,
    /// Destination namespace (empty: keep the source's names).
    pub dest_namespace: String,
    /// How many leading path components `dest_namespace` replaces; -1 is Harbor's
    /// legacy mode (all but the last).
    pub dest_namespace_replace_count: i8,
    /// What to copy.
    pub filters: Filters,
    /// When to run.
    pub trigger: Trigger,
    /// Replicate deletes (event-based push policies).
    pub deletion: bool,
    /// Overwrite a destination tag that points at another digest.
    pub override_: bool,
    /// A disabled policy does not start.
    pub enabled: bool,
    /// Bandwidth per task in kilobits per second (Harbor's unit); 0 is unlimited.
    pub speed_kbps: i32,
    /// Push blobs in chunks.
    pub copy_by_chunk: bool,
    /// Skip a start while an execution is active (Harbor's `single_active_replication`).
    /// Ours is stricter: a policy never has two active executions.
    pub single_active: bool,
}

impl PolicySettings {
    /// Applies Harbor's rules.
    pub fn validate(&mut self) -> Result<()> {
        let name = self.name.trim();
        if name.is_empty() || name.len() > MAX_NAME || name.chars().any(char::is_control) {
            return Err(Error::Invalid(format!(
                "a policy needs a name of 1 to {MAX_NAME} characters without control characters"
            )));
        }
        self.name = name.to_owned();
        if self.description.len() > MAX_DESCRIPTION {
            return Err(Error::Invalid(format!(
                "a policy description has at most {MAX_DESCRIPTION} characters"
            )));
        }
        match (self.src_registry, self.dest_registry) {
            (None, None) => {
                return Err(Error::Invalid(
                    "a policy copies between this registry and a remote one: give src_registry \
                     (pull-based) or dest_registry (push-based)"
                        .into(),
                ));
            }
            (Some(_), Some(_)) => {
                return Err(Error::Invalid(
                    "one side of a policy must be this registry: give src_registry or \
                     dest_registry, not both"
                        .into(),
                ));
            }
            _ => {}
        }
        if self.src_registry.is_some() && self.trigger == Trigger::EventBased {
            return Err(Error::Invalid(
                "pull-based policies are started by hand or by schedule, not by events".into(),
            ));
        }
        if self.src_registry.is_some() && !self.filters.labels.is_empty() {
            return Err(Error::Invalid(
                "label filters apply to this registry's artifacts: use them in push-based \
                 policies"
                    .into(),
            ));
        }
        if self.dest_namespace_replace_count < -1 {
            return Err(Error::Invalid(
                "dest_namespace_replace_count is -1 (legacy), 0 (prefix) or the number of \
                 leading path components to replace"
                    .into(),
            ));
        }
        let ns = self.dest_namespace.trim().trim_matches('/');
        if !ns.is_empty() {
            crate::names::RepositoryName::parse(ns)
                .map_err(|e| Error::Invalid(format!("invalid dest_namespace {ns:?}: {e}")))?;
        }
        self.dest_namespace = ns.to_owned();
        if self.speed_kbps < 0 {
            return Err(Error::Invalid(
                "speed is in kilobits per second, 0 for unlimited".into(),
            ));
        }
        Ok(())
    }

    /// Whether this registry is the source (a push-based policy).
    pub fn is_push(&self) -> bool {
        self.src_registry.is_none()
    }

    /// Where `repository` goes at the destination.
    pub fn destination(&self, repository: &str) -> Result<String> {
        destination_repository(
            repository,
            &self.dest_namespace,
            self.dest_namespace_replace_count,
        )
    }
}

/// Harbor's destination naming (`flow/stage.go`): for `a/b/c/img` and namespace `n`,
/// `-1` gives `n/img`, `0` gives `n/a/b/c/img`, `1` gives `n/b/c/img`, `3` gives `n/img`;
/// more components than the name has before its last is an error. An empty namespace
/// keeps the name.
pub fn destination_repository(
    repository: &str,
    namespace: &str,
    replace_count: i8,
) -> Result<String> {
    if namespace.is_empty() {
        return Ok(repository.to_owned());
    }
    let parts: Vec<&str> = repository.split('/').collect();
    let last = parts.len() - 1;
    let keep = match replace_count {
        n if n < 0 => &parts[last..],
        n => {
            let n = n as usize;
            if n > last {
                return Err(Error::Invalid(format!(
                    "dest_namespace_replace_count {n} is more than the {last} path component(s) \
                     of {repository} before its name"
                )));
            }
            &parts[n..]
        }
    };
    Ok(format!("{namespace}/{}", keep.join("/")))
}

/// A stored policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Id.
    pub id: i64,
    /// Its settings.
    pub settings: PolicySettings,
    /// Who created it.
    pub creator: String,
    /// Creation time (ms).
    pub created_ms: i64,
    /// Last change (ms).
    pub updated_ms: i64,
}

/// The schedule key of a scheduled policy.
pub fn schedule_name(policy_id: i64) -> String {
    format!("replication:{policy_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push_policy() -> PolicySettings {
        PolicySettings {
            name: "p".into(),
            description: String::new(),
            src_registry: None,
            dest_registry: Some(1),
            dest_namespace: String::new(),
            dest_namespace_replace_count: -1,
            filters: Filters::default(),
            trigger: Trigger::Manual,
            deletion: false,
            override_: true,
            enabled: true,
            speed_kbps: 0,
            copy_by_chunk: false,
            single_active: false,
        }
    }

    #[test]
    fn destination_names_follow_harbor() {
        let r = "a/b/c/img";
        assert_eq!(destination_repository(r, "", 2).unwrap(), r);
        assert_eq!(destination_repository(r, "n", -1).unwrap(), "n/img");
        assert_eq!(destination_repository(r, "n", 0).unwrap(), "n/a/b/c/img");
        assert_eq!(destination_repository(r, "n", 1).unwrap(), "n/b/c/img");
        assert_eq!(destination_repository(r, "n", 3).unwrap(), "n/img");
        assert!(destination_repository(r, "n", 4).is_err());
        assert_eq!(destination_repository("lib/x", "m/n", 1).unwrap(), "m/n/x");
    }

    #[test]
    fn policies_are_validated() {
        let mut p = push_policy();
        p.validate().unwrap();
        let mut both = push_policy();
        both.src_registry = Some(2);
        assert!(both.validate().is_err());
        let mut none = push_policy();
        none.dest_registry = None;
        assert!(none.validate().is_err());
        let mut pull_event = push_policy();
        pull_event.dest_registry = None;
        pull_event.src_registry = Some(1);
        pull_event.trigger = Trigger::EventBased;
        assert!(pull_event.validate().is_err());
        let mut bad_ns = push_policy();
        bad_ns.dest_namespace = "Bad Name".into();
        assert!(bad_ns.validate().is_err());
        let mut ns = push_policy();
        ns.dest_namespace = "/mirror/".into();
        ns.validate().unwrap();
        assert_eq!(ns.dest_namespace, "mirror");
        let mut speed = push_policy();
        speed.speed_kbps = -1;
        assert!(speed.validate().is_err());
        let mut name = push_policy();
        name.name = " ".into();
        assert!(name.validate().is_err());
        let mut count = push_policy();
        count.dest_namespace_replace_count = -2;
        assert!(count.validate().is_err());
    }

    #[test]
    fn triggers_follow_harbor() {
        assert_eq!(Trigger::parse("", "").unwrap(), Trigger::Manual);
        assert_eq!(
            Trigger::parse("scheduled", "0 0 * * * *").unwrap(),
            Trigger::Scheduled("0 0 * * * *".into())
        );
        assert!(Trigger::parse("scheduled", "* * * * * *").is_err());
        assert!(Trigger::parse("scheduled", "0 * * * * *").is_err());
        assert!(Trigger::parse("scheduled", "not cron").is_err());
        assert!(Trigger::parse("sometimes", "").is_err());
        assert_eq!(
            Trigger::parse("event_based", "").unwrap(),
            Trigger::EventBased
        );
    }

    #[test]
    fn filters_parse_and_match() {
        let f = parse_filters(&[
            FilterInput {
                kind: "name".into(),
                value: "library/**".into(),
                decoration: String::new(),
            },
            FilterInput {
                kind: "tag".into(),
                value: "v*".into(),
                decoration: "excludes".into(),
            },
            FilterInput {
                kind: "label".into(),
                value: serde_json::json!(["prod", "qa"]),
                decoration: String::new(),
            },
            FilterInput {
                kind: "resource".into(),
                value: "image".into(),
                decoration: String::new(),
            },
        ])
        .unwrap();
        assert!(f.name_matches("library/a/b"));
        assert!(!f.name_matches("team/a"));
        assert!(f.tag_matches("latest"));
        assert!(!f.tag_matches("v1"));
        assert!(f.tag_matches(""), "untagged is \"\"");
        assert_eq!(f.labels, ["prod", "qa"]);
        assert_eq!(f.resource, Some(ResourceKind::Image));
        assert_eq!(parse_filters(&filter_inputs(&f)).unwrap(), f);
        assert_eq!(f.literal_name(), None);
        let literal = parse_filters(&[FilterInput {
            kind: "name".into(),
            value: "library/alpine".into(),
            decoration: String::new(),
        }])
        .unwrap();
        assert_eq!(literal.literal_name(), Some("library/alpine"));
        for bad in [
            FilterInput {
                kind: "color".into(),
                value: "x".into(),
                decoration: String::new(),
            },
            FilterInput {
                kind: "tag".into(),
                value: "v*".into(),
                decoration: "sometimes".into(),
            },
            FilterInput {
                kind: "name".into(),
                value: serde_json::json!(5),
                decoration: String::new(),
            },
            FilterInput {
                kind: "name".into(),
                value: "[unclosed".into(),
                decoration: String::new(),
            },
            FilterInput {
                kind: "resource".into(),
                value: "chart".into(),
                decoration: String::new(),
            },
        ] {
            assert!(
                parse_filters(std::slice::from_ref(&bad)).is_err(),
                "{bad:?}"
            );
        }
        let twice = FilterInput {
            kind: "tag".into(),
            value: "a".into(),
            decoration: String::new(),
        };
        assert!(parse_filters(&[twice.clone(), twice]).is_err());
    }
}
