//! Retention policies as Harbor's API carries them (`RetentionPolicy`, `RetentionRule`,
//! `RetentionSelector`), with Harbor's field names, and their validation.
//!
//! A policy belongs to one project (`scope: {level: "project", ref: <project id>}`) and
//! holds at most [`MAX_RULES`] rules combined with `algorithm: "or"`: an artifact is kept if
//! any enabled rule keeps it. Each rule picks repositories with its scope selectors and
//! artifacts with its tag selectors (all of them must select), then keeps some of those by
//! its template (`latestPushedK`, `nDaysSinceLastPull`, ...).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::doublestar::Pattern;
use crate::error::{Error, Result};

/// The most rules a policy may hold (Harbor: "only 15 rules are allowed at most").
pub const MAX_RULES: usize = 15;
/// Parameters must be below this (Harbor's `math.MaxInt16`).
pub const MAX_PARAM: i64 = 32767;
/// The only algorithm: an artifact is kept if any rule keeps it.
pub const ALGORITHM_OR: &str = "or";
/// The only rule action.
pub const ACTION_RETAIN: &str = "retain";
/// The only trigger kind (with `settings.cron`, empty for "no schedule").
pub const TRIGGER_SCHEDULE: &str = "Schedule";
/// The only scope level.
pub const SCOPE_PROJECT: &str = "project";
/// The only selector kind.
pub const KIND_DOUBLESTAR: &str = "doublestar";
/// The key of repository selectors in `scope_selectors`.
pub const SCOPE_REPOSITORY: &str = "repository";

/// A retention policy (Harbor's `RetentionPolicy`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RetentionPolicy {
    /// Policy id (0 before it is stored).
    #[serde(default)]
    pub id: i64,
    /// `"or"`.
    #[serde(default)]
    pub algorithm: String,
    /// The rules, at most [`MAX_RULES`].
    #[serde(default)]
    pub rules: Vec<RetentionRule>,
    /// When it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<RetentionTrigger>,
    /// Which project it applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<RetentionScope>,
}

/// When a policy runs (Harbor's `RetentionRuleTrigger`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RetentionTrigger {
    /// `"Schedule"`.
    #[serde(default)]
    pub kind: String,
    /// `{"cron": "0 0 0 * * *"}`; an empty cron means manual runs only.
    #[serde(default)]
    pub settings: Map<String, Value>,
    /// Harbor's `references` (kept as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<Map<String, Value>>,
}

impl RetentionTrigger {
    /// The cron schedule, if one is set (not empty).
    pub fn cron(&self) -> Option<&str> {
        self.settings
            .get("cron")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|c| !c.is_empty())
    }
}

/// What a policy applies to (Harbor's `RetentionPolicyScope`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RetentionScope {
    /// `"project"`.
    #[serde(default)]
    pub level: String,
    /// The project id.
    #[serde(default, rename = "ref")]
    pub reference: i64,
}

/// One rule (Harbor's `RetentionRule`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RetentionRule {
    /// Rule id, as the client numbered it.
    #[serde(default)]
    pub id: i64,
    /// Kept, not used: every enabled rule counts.
    #[serde(default)]
    pub priority: i64,
    /// A disabled rule is kept but not applied.
    #[serde(default)]
    pub disabled: bool,
    /// `"retain"`.
    #[serde(default)]
    pub action: String,
    /// The template id, such as `latestPushedK` (see [`Template`]).
    #[serde(default)]
    pub template: String,
    /// Parameters by name; a template's parameter is named after the template
    /// (`{"latestPushedK": 10}`).
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    /// Select artifacts; all must select one.
    #[serde(default)]
    pub tag_selectors: Vec<RetentionSelector>,
    /// Select repositories: `{"repository": [...]}`; all must select one.
    #[serde(default)]
    pub scope_selectors: BTreeMap<String, Vec<RetentionSelector>>,
}

/// A selector (Harbor's `RetentionSelector`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RetentionSelector {
    /// `"doublestar"`.
    #[serde(default)]
    pub kind: String,
    /// `matches`/`excludes` (tags) or `repoMatches`/`repoExcludes` (repositories).
    #[serde(default)]
    pub decoration: String,
    /// The doublestar pattern.
    #[serde(default)]
    pub pattern: String,
    /// A JSON string such as `{"untagged":true}`: whether untagged artifacts are selected.
    #[serde(default)]
    pub extras: String,
}

/// A rule template: how a rule picks what it keeps among the artifacts it selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Template {
    /// `latestPushedK`: the K most recently pushed.
    LatestPushedK,
    /// `latestPulledN`: the N most recently pulled.
    LatestPulledN,
    /// `latestActiveK`: the K most recently pushed or pulled (the later of the two).
    LatestActiveK,
    /// `lastXDays`: pushed within the last X days.
    LastXDays,
    /// `nDaysSinceLastPush`: pushed within the last N days.
    NDaysSinceLastPush,
    /// `nDaysSinceLastPull`: pulled within the last N days.
    NDaysSinceLastPull,
    /// `always`: everything selected.
    Always,
}

impl Template {
    /// Every template.
    pub const ALL: [Template; 7] = [
        Template::LatestPushedK,
        Template::LatestPulledN,
        Template::LatestActiveK,
        Template::LastXDays,
        Template::NDaysSinceLastPush,
        Template::NDaysSinceLastPull,
        Template::Always,
    ];

    /// Harbor's template id (also the name of its parameter).
    pub fn as_str(self) -> &'static str {
        match self {
            Template::LatestPushedK => "latestPushedK",
            Template::LatestPulledN => "latestPulledN",
            Template::LatestActiveK => "latestActiveK",
            Template::LastXDays => "lastXDays",
            Template::NDaysSinceLastPush => "nDaysSinceLastPush",
            Template::NDaysSinceLastPull => "nDaysSinceLastPull",
            Template::Always => "always",
        }
    }

    /// The template with Harbor's id `s`.
    pub fn parse(s: &str) -> Option<Template> {
        Template::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// True if the template takes a (required) parameter.
    pub fn has_param(self) -> bool {
        self != Template::Always
    }

    /// The value Harbor uses when the parameter is missing or unusable.
    pub fn default_param(self) -> i64 {
        match self {
            Template::NDaysSinceLastPush | Template::NDaysSinceLastPull => 30,
            Template::Always => 0,
            _ => 10,
        }
    }
}

/// How a doublestar selector uses its pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoration {
    /// `matches`: artifacts with a tag that matches.
    Matches,
    /// `excludes`: artifacts with a tag that does not match.
    Excludes,
    /// `repoMatches`: repositories whose name (without the project) matches.
    RepoMatches,
    /// `repoExcludes`: repositories whose name does not match.
    RepoExcludes,
}

impl Decoration {
    /// Harbor's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Decoration::Matches => "matches",
            Decoration::Excludes => "excludes",
            Decoration::RepoMatches => "repoMatches",
            Decoration::RepoExcludes => "repoExcludes",
        }
    }

    fn parse(s: &str) -> Option<Decoration> {
        [
            Decoration::Matches,
            Decoration::Excludes,
            Decoration::RepoMatches,
            Decoration::RepoExcludes,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// A selector ready to match.
#[derive(Clone, Debug)]
pub struct CompiledSelector {
    decoration: Decoration,
    pattern: Pattern,
    untagged: bool,
}

impl CompiledSelector {
    /// Compiles `s`. Whether untagged artifacts are selected follows Harbor: by default
    /// yes for `matches` and no for `excludes`; an `extras` JSON object decides instead
    /// (`{"untagged": true}`; an object without the field means `false`).
    pub fn new(s: &RetentionSelector) -> Result<Self> {
        let decoration = Decoration::parse(&s.decoration).ok_or_else(|| {
            Error::Invalid(format!(
                "unknown selector decoration {:?}: use matches, excludes, repoMatches or repoExcludes",
                s.decoration
            ))
        })?;
        let pattern = Pattern::new(&s.pattern)
            .map_err(|e| Error::Invalid(format!("invalid pattern {:?}: {e}", s.pattern)))?;
        let untagged = untagged_extra(&s.extras)?.unwrap_or(decoration != Decoration::Excludes);
        Ok(CompiledSelector {
            decoration,
            pattern,
            untagged,
        })
    }

    /// The decoration.
    pub fn decoration(&self) -> Decoration {
        self.decoration
    }

    /// True if this tag selector selects an artifact with `tags`: `matches` selects it if
    /// any tag matches, `excludes` if any tag does not match (as Harbor); an untagged
    /// artifact is selected by `matches` if `untagged`, by `excludes` if not `untagged`.
    pub fn selects_tags(&self, tags: &[String]) -> bool {
        let exclude = self.decoration == Decoration::Excludes;
        if tags.is_empty() {
            return self.untagged != exclude;
        }
        tags.iter().any(|t| self.pattern.matches(t) != exclude)
    }

    /// True if this repository selector selects `path` (the name without the project).
    pub fn selects_repository(&self, path: &str) -> bool {
        self.pattern.matches(path) != (self.decoration == Decoration::RepoExcludes)
    }
}

/// The `untagged` field of a selector's `extras`: `None` when `extras` is empty.
fn untagged_extra(extras: &str) -> Result<Option<bool>> {
    if extras.trim().is_empty() {
        return Ok(None);
    }
    let bad = || {
        Error::Invalid(format!(
            "invalid selector extras {extras:?}: use a JSON object such as {{\"untagged\":true}}"
        ))
    };
    match serde_json::from_str::<Value>(extras).map_err(|_| bad())? {
        Value::Object(m) => match m.get("untagged") {
            None => Ok(Some(false)),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(bad()),
        },
        _ => Err(bad()),
    }
}

/// A rule ready to evaluate.
#[derive(Clone, Debug)]
pub struct CompiledRule {
    /// Its position in the policy.
    pub index: usize,
    /// Its id.
    pub id: i64,
    /// Its template.
    pub template: Template,
    /// Its parameter (the template's default when it has none).
    pub param: i64,
    /// Its tag selectors.
    pub tags: Vec<CompiledSelector>,
    /// Its repository selectors.
    pub repositories: Vec<CompiledSelector>,
}

impl CompiledRule {
    /// True if the rule's repository selectors all select `path`.
    pub fn selects_repository(&self, path: &str) -> bool {
        self.repositories.iter().all(|s| s.selects_repository(path))
    }
}

/// A parameter as a whole number, if it is one.
fn whole(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    })
}

fn selector_list(
    list: &[RetentionSelector],
    what: &str,
    allowed: [Decoration; 2],
) -> Result<Vec<CompiledSelector>> {
    list.iter()
        .map(|s| {
            if s.kind != KIND_DOUBLESTAR {
                return Err(Error::Invalid(format!(
                    "{what} selectors must be of kind \"{KIND_DOUBLESTAR}\", not {:?}",
                    s.kind
                )));
            }
            if s.pattern.is_empty() {
                return Err(Error::Invalid(format!("a {what} selector needs a pattern")));
            }
            let c = CompiledSelector::new(s)?;
            if !allowed.contains(&c.decoration) {
                return Err(Error::Invalid(format!(
                    "the decoration of a {what} selector must be {:?} or {:?}, not {:?}",
                    allowed[0].as_str(),
                    allowed[1].as_str(),
                    s.decoration
                )));
            }
            Ok(c)
        })
        .collect()
}

impl RetentionRule {
    /// Checks the rule and compiles it (rule `index` of its policy).
    pub fn compile(&self, index: usize) -> Result<CompiledRule> {
        let n = index + 1;
        if self.action != ACTION_RETAIN {
            return Err(Error::Invalid(format!(
                "rule {n}: the action must be \"{ACTION_RETAIN}\", not {:?}",
                self.action
            )));
        }
        let template = Template::parse(&self.template).ok_or_else(|| {
            Error::Invalid(format!(
                "rule {n}: unknown template {:?}: use one of {}",
                self.template,
                Template::ALL.map(Template::as_str).join(", ")
            ))
        })?;
        let param = if template.has_param() {
            let name = template.as_str();
            let v = self.params.get(name).ok_or_else(|| {
                Error::Invalid(format!(
                    "rule {n}: missing required parameter {name} for rule {name}"
                ))
            })?;
            let v = whole(v).ok_or_else(|| {
                Error::Invalid(format!("rule {n}: {name} must be a whole number, not {v}"))
            })?;
            if !(0..MAX_PARAM).contains(&v) {
                return Err(Error::Invalid(format!(
                    "rule {n}: {name} must be between 0 and {}, not {v}",
                    MAX_PARAM - 1
                )));
            }
            v
        } else {
            template.default_param()
        };
        if self.tag_selectors.is_empty() {
            return Err(Error::Invalid(format!("rule {n}: tag_selectors is empty")));
        }
        let tags = selector_list(
            &self.tag_selectors,
            "tag",
            [Decoration::Matches, Decoration::Excludes],
        )
        .map_err(|e| Error::Invalid(format!("rule {n}: {e}")))?;
        if let Some(other) = self.scope_selectors.keys().find(|k| *k != SCOPE_REPOSITORY) {
            return Err(Error::Invalid(format!(
                "rule {n}: unsupported scope selector {other:?}: use \"{SCOPE_REPOSITORY}\""
            )));
        }
        let repositories = selector_list(
            self.scope_selectors
                .get(SCOPE_REPOSITORY)
                .map(Vec::as_slice)
                .unwrap_or_default(),
            "repository",
            [Decoration::RepoMatches, Decoration::RepoExcludes],
        )
        .map_err(|e| Error::Invalid(format!("rule {n}: {e}")))?;
        Ok(CompiledRule {
            index,
            id: self.id,
            template,
            param,
            tags,
            repositories,
        })
    }
}

impl RetentionPolicy {
    /// The project the policy belongs to (`scope.ref`), if it has a scope.
    pub fn project_id(&self) -> Option<i64> {
        self.scope.as_ref().map(|s| s.reference)
    }

    /// Checks everything Harbor checks, with a message naming what is wrong
    /// ([`Error::Invalid`]); two identical rules (ignoring ids) are an
    /// [`Error::Conflict`], as in Harbor.
    pub fn validate(&self) -> Result<()> {
        if self.algorithm != ALGORITHM_OR {
            return Err(Error::Invalid(format!(
                "the algorithm must be \"{ALGORITHM_OR}\", not {:?}",
                self.algorithm
            )));
        }
        if self.rules.len() > MAX_RULES {
            return Err(Error::Invalid(format!(
                "only {MAX_RULES} rules are allowed at most"
            )));
        }
        let trigger = self
            .trigger
            .as_ref()
            .ok_or_else(|| Error::Invalid("the policy needs a trigger".into()))?;
        if trigger.kind != TRIGGER_SCHEDULE {
            return Err(Error::Invalid(format!(
                "the trigger kind must be \"{TRIGGER_SCHEDULE}\", not {:?}",
                trigger.kind
            )));
        }
        match trigger.settings.get("cron") {
            Some(Value::String(_)) => {}
            Some(other) => {
                return Err(Error::Invalid(format!(
                    "trigger.settings.cron must be a string, not {other}"
                )));
            }
            None => {
                return Err(Error::Invalid(
                    "trigger.settings.cron is missing (use \"\" for no schedule)".into(),
                ));
            }
        }
        let scope = self
            .scope
            .as_ref()
            .ok_or_else(|| Error::Invalid("the policy needs a scope".into()))?;
        if scope.level != SCOPE_PROJECT {
            return Err(Error::Invalid(format!(
                "scope {:?} is not supported: use \"{SCOPE_PROJECT}\"",
                scope.level
            )));
        }
        if scope.reference <= 0 {
            return Err(Error::Invalid(format!(
                "invalid Project id {}",
                scope.reference
            )));
        }
        self.compile()?;
        for (i, a) in self.rules.iter().enumerate() {
            for (j, b) in self.rules.iter().enumerate().skip(i + 1) {
                let same =
                    RetentionRule { id: 0, ..a.clone() } == RetentionRule { id: 0, ..b.clone() };
                if same {
                    return Err(Error::Conflict(format!(
                        "rule {j} is conflict with rule {i}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Every rule compiled, disabled ones included.
    pub fn compile(&self) -> Result<Vec<CompiledRule>> {
        self.rules
            .iter()
            .enumerate()
            .map(|(i, r)| r.compile(i))
            .collect()
    }

    /// The enabled rules, compiled: the ones a run applies.
    pub fn enabled_rules(&self) -> Result<Vec<CompiledRule>> {
        Ok(self
            .compile()?
            .into_iter()
            .filter(|r| !self.rules[r.index].disabled)
            .collect())
    }

    /// True if some enabled rule's repository selectors select `path` (a repository name
    /// without its project): only such repositories are processed by a run.
    pub fn selects_repository(&self, path: &str) -> Result<bool> {
        Ok(self
            .enabled_rules()?
            .iter()
            .any(|r| r.selects_repository(path)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn sample() -> RetentionPolicy {
        serde_json::from_value(json!({
            "algorithm": "or",
            "rules": [{
                "id": 1, "priority": 1, "disabled": false, "action": "retain",
                "template": "latestPushedK", "params": {"latestPushedK": 10},
                "tag_selectors": [{"kind": "doublestar", "decoration": "matches",
                                   "pattern": "**", "extras": "{\"untagged\":true}"}],
                "scope_selectors": {"repository": [{"kind": "doublestar",
                                   "decoration": "repoMatches", "pattern": "**"}]}
            }],
            "trigger": {"kind": "Schedule", "settings": {"cron": "0 0 0 * * *"}},
            "scope": {"level": "project", "ref": 3}
        }))
        .unwrap()
    }

    fn invalid(p: &RetentionPolicy) -> String {
        match p.validate() {
            Err(Error::Invalid(m)) => m,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn harbor_json_round_trips() {
        let p = sample();
        p.validate().unwrap();
        assert_eq!(p.project_id(), Some(3));
        assert_eq!(p.trigger.as_ref().unwrap().cron(), Some("0 0 0 * * *"));
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["scope"]["ref"], 3);
        assert_eq!(v["rules"][0]["params"]["latestPushedK"], 10);
        assert_eq!(
            v["rules"][0]["scope_selectors"]["repository"][0]["decoration"],
            "repoMatches"
        );
        assert_eq!(serde_json::from_value::<RetentionPolicy>(v).unwrap(), p);
    }

    #[test]
    fn policy_level_checks() {
        let mut p = sample();
        p.algorithm = "and".into();
        assert!(invalid(&p).contains("algorithm"));
        let mut p = sample();
        p.rules = (0..16)
            .map(|i| {
                let mut r = sample().rules[0].clone();
                r.params.insert("latestPushedK".into(), json!(i));
                r
            })
            .collect();
        assert_eq!(invalid(&p), "only 15 rules are allowed at most");
        p.rules.truncate(15);
        p.validate().unwrap();
        let mut p = sample();
        p.scope.as_mut().unwrap().level = "system".into();
        assert!(invalid(&p).contains("\"system\" is not supported"));
        let mut p = sample();
        p.scope.as_mut().unwrap().reference = 0;
        assert_eq!(invalid(&p), "invalid Project id 0");
        let mut p = sample();
        p.scope = None;
        assert!(invalid(&p).contains("scope"));
        let mut p = sample();
        p.trigger.as_mut().unwrap().settings.clear();
        assert!(invalid(&p).contains("cron is missing"));
        let mut p = sample();
        p.trigger.as_mut().unwrap().kind = "Event".into();
        assert!(invalid(&p).contains("trigger kind"));
        let mut p = sample();
        p.trigger.as_mut().unwrap().settings["cron"] = json!("");
        p.validate().unwrap();
        assert_eq!(p.trigger.as_ref().unwrap().cron(), None);
        // No rules at all is a valid policy (it deletes nothing).
        let mut p = sample();
        p.rules.clear();
        p.validate().unwrap();
    }

    #[test]
    fn rule_checks() {
        let check = |f: &dyn Fn(&mut RetentionRule)| {
            let mut p = sample();
            f(&mut p.rules[0]);
            invalid(&p)
        };
        assert!(check(&|r| r.template = "newest".into()).contains("unknown template \"newest\""));
        assert!(check(&|r| r.action = "delete".into()).contains("action"));
        assert!(check(&|r| r.params.clear()).contains("missing required parameter latestPushedK"));
        assert!(
            check(&|r| {
                r.params.insert("latestPushedK".into(), json!(32767));
            })
            .contains("between 0 and 32766")
        );
        assert!(
            check(&|r| {
                r.params.insert("latestPushedK".into(), json!(-1));
            })
            .contains("between 0 and 32766")
        );
        assert!(
            check(&|r| {
                r.params.insert("latestPushedK".into(), json!("5"));
            })
            .contains("whole number")
        );
        assert!(check(&|r| r.tag_selectors.clear()).contains("tag_selectors is empty"));
        assert!(
            check(&|r| r.tag_selectors[0].decoration = "repoMatches".into())
                .contains("\"matches\" or \"excludes\"")
        );
        assert!(
            check(&|r| r.tag_selectors[0].decoration = "with".into())
                .contains("unknown selector decoration")
        );
        assert!(check(&|r| r.tag_selectors[0].kind = "label".into()).contains("kind"));
        assert!(check(&|r| r.tag_selectors[0].pattern.clear()).contains("needs a pattern"));
        assert!(check(&|r| r.tag_selectors[0].pattern = "{a".into()).contains("invalid pattern"));
        assert!(check(&|r| r.tag_selectors[0].extras = "untagged".into()).contains("extras"));
        assert!(
            check(
                &|r| r.scope_selectors.get_mut("repository").unwrap()[0].decoration =
                    "excludes".into()
            )
            .contains("\"repoMatches\" or \"repoExcludes\"")
        );
        assert!(
            check(&|r| {
                let s = r.scope_selectors.remove("repository").unwrap();
                r.scope_selectors.insert("namespace".into(), s);
            })
            .contains("unsupported scope selector")
        );
        // `always` needs no parameter; a 0 is allowed.
        let mut p = sample();
        p.rules[0].template = "always".into();
        p.rules[0].params.clear();
        p.validate().unwrap();
        p.rules[0].template = "nDaysSinceLastPull".into();
        p.rules[0]
            .params
            .insert("nDaysSinceLastPull".into(), json!(0));
        p.validate().unwrap();
    }

    #[test]
    fn identical_rules_conflict() {
        let mut p = sample();
        let mut twin = p.rules[0].clone();
        twin.id = 2;
        p.rules.push(twin);
        assert!(
            matches!(p.validate(), Err(Error::Conflict(m)) if m == "rule 1 is conflict with rule 0")
        );
        p.rules[1].disabled = true;
        p.validate().unwrap();
    }

    #[test]
    fn untagged_defaults_follow_harbor() {
        let sel = |decoration: &str, extras: &str| {
            CompiledSelector::new(&RetentionSelector {
                kind: KIND_DOUBLESTAR.into(),
                decoration: decoration.into(),
                pattern: "v*".into(),
                extras: extras.into(),
            })
            .unwrap()
        };
        let none: &[String] = &[];
        assert!(sel("matches", "").selects_tags(none));
        assert!(!sel("matches", "{\"untagged\":false}").selects_tags(none));
        assert!(!sel("matches", "{}").selects_tags(none));
        assert!(sel("excludes", "").selects_tags(none));
        assert!(!sel("excludes", "{\"untagged\":true}").selects_tags(none));
        assert!(sel("excludes", "{\"untagged\":false}").selects_tags(none));
    }
}
