//! What `GET /retentions/metadatas` answers (Harbor's `RetentionMetadata`): the rule
//! templates the portal offers, with their display text and parameter, and the selectors.
//!
//! As in Harbor, `latestActiveK` and `lastXDays` are accepted in policies but not offered.

use serde::Serialize;

use super::policy::{ACTION_RETAIN, KIND_DOUBLESTAR, Template};

/// Harbor's `RetentionMetadata`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RetentionMetadata {
    /// The rule templates offered.
    pub templates: Vec<RuleMetadata>,
    /// The scope (repository) selectors.
    pub scope_selectors: Vec<SelectorMetadata>,
    /// The tag selectors.
    pub tag_selectors: Vec<SelectorMetadata>,
}

/// Harbor's `RetentionRuleMetadata`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleMetadata {
    /// The template id.
    pub rule_template: &'static str,
    /// What the portal shows.
    pub display_text: &'static str,
    /// `retain`.
    pub action: &'static str,
    /// Its parameters (none or one).
    pub params: Vec<ParamMetadata>,
}

/// Harbor's `RetentionRuleParamMetadata`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParamMetadata {
    /// `int`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `COUNT` or `DAYS`.
    pub unit: &'static str,
    /// Always true.
    pub required: bool,
}

/// Harbor's `RetentionSelectorMetadata`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SelectorMetadata {
    /// What the portal shows.
    pub display_text: &'static str,
    /// `doublestar`.
    pub kind: &'static str,
    /// The decorations it takes.
    pub decorations: Vec<&'static str>,
}

fn template(t: Template, display_text: &'static str, unit: Option<&'static str>) -> RuleMetadata {
    RuleMetadata {
        rule_template: t.as_str(),
        display_text,
        action: ACTION_RETAIN,
        params: unit
            .map(|unit| ParamMetadata {
                kind: "int",
                unit,
                required: true,
            })
            .into_iter()
            .collect(),
    }
}

/// The metadata, as Harbor returns it.
pub fn metadata() -> RetentionMetadata {
    RetentionMetadata {
        templates: vec![
            template(
                Template::LatestPushedK,
                "the most recently pushed # artifacts",
                Some("COUNT"),
            ),
            template(
                Template::LatestPulledN,
                "the most recently pulled # artifacts",
                Some("COUNT"),
            ),
            template(
                Template::NDaysSinceLastPush,
                "pushed within the last # days",
                Some("DAYS"),
            ),
            template(
                Template::NDaysSinceLastPull,
                "pulled within the last # days",
                Some("DAYS"),
            ),
            template(Template::Always, "always", None),
        ],
        scope_selectors: vec![SelectorMetadata {
            display_text: "Repositories",
            kind: KIND_DOUBLESTAR,
            decorations: vec!["repoMatches", "repoExcludes"],
        }],
        tag_selectors: vec![SelectorMetadata {
            display_text: "Tags",
            kind: KIND_DOUBLESTAR,
            decorations: vec!["matches", "excludes"],
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_harbors_payload() {
        let v = serde_json::to_value(metadata()).unwrap();
        let templates: Vec<&str> = v["templates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["rule_template"].as_str().unwrap())
            .collect();
        assert_eq!(
            templates,
            [
                "latestPushedK",
                "latestPulledN",
                "nDaysSinceLastPush",
                "nDaysSinceLastPull",
                "always"
            ]
        );
        assert_eq!(
            v["templates"][0]["params"],
            serde_json::json!([{"type": "int", "unit": "COUNT", "required": true}])
        );
        assert_eq!(v["templates"][2]["params"][0]["unit"], "DAYS");
        assert_eq!(v["templates"][4]["params"], serde_json::json!([]));
        assert_eq!(v["templates"][1]["action"], "retain");
        assert_eq!(
            v["scope_selectors"][0],
            serde_json::json!({"display_text": "Repositories", "kind": "doublestar",
                               "decorations": ["repoMatches", "repoExcludes"]})
        );
        assert_eq!(
            v["tag_selectors"][0]["decorations"],
            serde_json::json!(["matches", "excludes"])
        );
    }
}
