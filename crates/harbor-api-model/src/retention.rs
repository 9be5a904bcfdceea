//! Tag retention: policies, their runs and the runs' per-repository tasks.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Harbor's `RetentionPolicy`: one per project, its rules combined with `algorithm: "or"`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RetentionPolicy {
    /// Id (0 before it is stored).
    #[serde(default)]
    pub id: i64,
    /// `or`.
    #[serde(default)]
    pub algorithm: String,
    /// The rules (at most 15).
    #[serde(default)]
    pub rules: Vec<RetentionRule>,
    /// When it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<RetentionRuleTrigger>,
    /// The project it applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<RetentionPolicyScope>,
}

/// Harbor's `RetentionRule`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RetentionRule {
    /// Id, as the client numbered it.
    #[serde(default)]
    pub id: i64,
    /// Kept, not used.
    #[serde(default)]
    pub priority: i64,
    /// A disabled rule is kept but not applied.
    #[serde(default)]
    pub disabled: bool,
    /// `retain`.
    #[serde(default)]
    pub action: String,
    /// The template (`latestPushedK`, `nDaysSinceLastPull`, `always`, ...).
    #[serde(default)]
    pub template: String,
    /// Parameters, named after the template (`{"latestPushedK": 10}`).
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    /// Select artifacts; all must select one.
    #[serde(default)]
    pub tag_selectors: Vec<RetentionSelector>,
    /// Select repositories: `{"repository": [...]}`.
    #[serde(default)]
    pub scope_selectors: BTreeMap<String, Vec<RetentionSelector>>,
}

/// Harbor's `RetentionRuleTrigger`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RetentionRuleTrigger {
    /// `Schedule`.
    #[serde(default)]
    pub kind: String,
    /// `{"cron": "0 0 0 * * *"}`; an empty cron means manual runs only.
    #[serde(default)]
    pub settings: Map<String, Value>,
    /// Kept as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<Map<String, Value>>,
}

/// Harbor's `RetentionPolicyScope`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RetentionPolicyScope {
    /// `project`.
    #[serde(default)]
    pub level: String,
    /// The project's id.
    #[serde(default, rename = "ref")]
    pub reference: i64,
}

/// Harbor's `RetentionSelector`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RetentionSelector {
    /// `doublestar`.
    #[serde(default)]
    pub kind: String,
    /// `matches`/`excludes` (tags) or `repoMatches`/`repoExcludes` (repositories).
    #[serde(default)]
    pub decoration: String,
    /// The pattern.
    #[serde(default)]
    pub pattern: String,
    /// A JSON string such as `{"untagged":true}`.
    #[serde(default)]
    pub extras: String,
}

/// Harbor's `RetentionExecution`: one run of a policy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RetentionExecution {
    /// Id.
    pub id: i64,
    /// The policy.
    #[serde(default)]
    pub policy_id: i64,
    /// When it started (when it was queued, until it starts).
    #[serde(default)]
    pub start_time: Option<String>,
    /// When it ended.
    #[serde(default)]
    pub end_time: Option<String>,
    /// `Pending`, `Running`, `Success`, `Error` or `Stopped`.
    #[serde(default)]
    pub status: String,
    /// `MANUAL` or `SCHEDULE`.
    #[serde(default)]
    pub trigger: String,
    /// Only reports what would be deleted.
    #[serde(default)]
    pub dry_run: bool,
}

impl RetentionExecution {
    /// Whether the run has ended.
    pub fn ended(&self) -> bool {
        matches!(self.status.as_str(), "Success" | "Error" | "Stopped")
    }
}

/// Harbor's `RetentionExecutionTask`: one repository of a run, with our `deleted`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RetentionExecutionTask {
    /// Id.
    pub id: i64,
    /// The run.
    #[serde(default)]
    pub execution_id: i64,
    /// The repository (`project/repo`).
    pub repository: String,
    /// The run's id, as text.
    #[serde(default)]
    pub job_id: String,
    /// Its status.
    #[serde(default)]
    pub status: String,
    /// Always 0.
    #[serde(default)]
    pub status_code: i64,
    /// Always 0.
    #[serde(default)]
    pub status_revision: i64,
    /// When it started.
    #[serde(default)]
    pub start_time: Option<String>,
    /// When it ended.
    #[serde(default)]
    pub end_time: Option<String>,
    /// Artifacts examined.
    #[serde(default)]
    pub total: u64,
    /// Artifacts kept.
    #[serde(default)]
    pub retained: u64,
    /// Artifacts deleted (a dry run: that would be).
    #[serde(default)]
    pub deleted: u64,
}

impl RetentionPolicy {
    /// The common policy of one rule: keep the `keep` most recently pushed artifacts
    /// (tagged or not) whose tags match `tags`, in repositories matching `repositories`;
    /// run on `cron` (six fields; empty: manual runs only). `scope` is left for the
    /// caller.
    pub fn keep_latest(keep: u32, tags: &str, repositories: &str, cron: &str) -> Self {
        let selector = |decoration: &str, pattern: &str, extras: &str| RetentionSelector {
            kind: "doublestar".into(),
            decoration: decoration.into(),
            pattern: pattern.into(),
            extras: extras.into(),
        };
        RetentionPolicy {
            algorithm: "or".into(),
            rules: vec![RetentionRule {
                action: "retain".into(),
                template: "latestPushedK".into(),
                params: [("latestPushedK".to_owned(), Value::from(keep))].into(),
                tag_selectors: vec![selector("matches", tags, r#"{"untagged":true}"#)],
                scope_selectors: [(
                    "repository".to_owned(),
                    vec![selector("repoMatches", repositories, "")],
                )]
                .into(),
                ..RetentionRule::default()
            }],
            trigger: Some(RetentionRuleTrigger {
                kind: "Schedule".into(),
                settings: [("cron".to_owned(), Value::from(cron))]
                    .into_iter()
                    .collect(),
                references: None,
            }),
            ..RetentionPolicy::default()
        }
    }

    /// The first rule, if any.
    pub fn first_rule(&self) -> Option<&RetentionRule> {
        self.rules.first()
    }

    /// The schedule's cron, if one is set.
    pub fn cron(&self) -> Option<&str> {
        self.trigger
            .as_ref()
            .and_then(|t| t.settings.get("cron"))
            .and_then(Value::as_str)
            .filter(|c| !c.trim().is_empty())
    }
}

impl RetentionRule {
    /// The tag selector for people: `v*`, or `excluding v*`.
    pub fn tags(&self) -> String {
        self.tag_selectors
            .first()
            .map(RetentionSelector::describe)
            .unwrap_or_else(|| "**".into())
    }

    /// The repository selector for people: `**`, or `excluding app`.
    pub fn repositories(&self) -> String {
        self.scope_selectors
            .get("repository")
            .and_then(|s| s.first())
            .map(RetentionSelector::describe)
            .unwrap_or_else(|| "**".into())
    }

    /// The template's number parameter (`latestPushedK`'s count, ...).
    pub fn count(&self) -> Option<i64> {
        self.params.get(&self.template).and_then(Value::as_i64)
    }
}

impl RetentionSelector {
    /// `v*`, or `excluding v*` for an excluding selector.
    pub fn describe(&self) -> String {
        if self.decoration.contains("xclude") {
            format!("excluding {}", self.pattern)
        } else {
            self.pattern.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_latest_builds_one_latest_pushed_rule() {
        let p = RetentionPolicy::keep_latest(3, "v*", "app", "0 0 1 * * *");
        let v = serde_json::to_value(&p).unwrap();
        let rule = &v["rules"][0];
        assert_eq!(rule["template"], "latestPushedK");
        assert_eq!(rule["action"], "retain");
        assert_eq!(rule["params"]["latestPushedK"], 3);
        assert_eq!(rule["tag_selectors"][0]["pattern"], "v*");
        assert_eq!(rule["tag_selectors"][0]["extras"], r#"{"untagged":true}"#);
        assert_eq!(rule["scope_selectors"]["repository"][0]["pattern"], "app");
        assert_eq!(v["trigger"]["settings"]["cron"], "0 0 1 * * *");
        assert_eq!(v["algorithm"], "or");
        assert_eq!(p.first_rule().and_then(RetentionRule::count), Some(3));
        assert_eq!(p.cron(), Some("0 0 1 * * *"));
        assert_eq!(RetentionPolicy::keep_latest(1, "**", "**", "").cron(), None);
    }
}
