//! Labels and tag immutability rules.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Harbor's `Label`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Label {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Colour, e.g. `#61717D`.
    #[serde(default)]
    pub color: String,
    /// `g` (global) or `p` (project).
    #[serde(default)]
    pub scope: String,
    /// The project of a project label (0 for global ones).
    #[serde(default)]
    pub project_id: i64,
    /// Creation time.
    #[serde(default)]
    pub creation_time: String,
    /// Last change.
    #[serde(default)]
    pub update_time: String,
    /// Always false (ours: Harbor's labels carry it too, its definition does not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
}

/// Harbor's `ImmutableRule`: tags matching `tag_selectors` in repositories matching
/// `scope_selectors.repository` cannot be overwritten or deleted.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ImmutableRule {
    /// Id.
    #[serde(default)]
    pub id: i64,
    /// Kept, not used for matching.
    #[serde(default)]
    pub priority: i64,
    /// A disabled rule is not enforced.
    #[serde(default)]
    pub disabled: bool,
    /// `immutable`.
    #[serde(default)]
    pub action: String,
    /// `immutable_template`.
    #[serde(default)]
    pub template: String,
    /// Unused.
    #[serde(default)]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// One tag selector.
    #[serde(default)]
    pub tag_selectors: Vec<ImmutableSelector>,
    /// `repository`: one repository selector.
    #[serde(default)]
    pub scope_selectors: BTreeMap<String, Vec<ImmutableSelector>>,
}

impl ImmutableRule {
    /// The tag selector for people: `matches v*`.
    pub fn tags(&self) -> String {
        self.tag_selectors
            .first()
            .map(ImmutableSelector::describe)
            .unwrap_or_default()
    }

    /// The repository selector for people: `repoMatches **`.
    pub fn repositories(&self) -> String {
        self.scope_selectors
            .get("repository")
            .and_then(|s| s.first())
            .map(ImmutableSelector::describe)
            .unwrap_or_default()
    }
}

/// Harbor's `ImmutableSelector`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ImmutableSelector {
    /// `doublestar`.
    #[serde(default)]
    pub kind: String,
    /// `matches`/`excludes` (tags), `repoMatches`/`repoExcludes` (repositories).
    #[serde(default)]
    pub decoration: String,
    /// A doublestar pattern.
    #[serde(default)]
    pub pattern: String,
    /// Unused.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub extras: String,
}

impl ImmutableSelector {
    /// `matches v*`.
    pub fn describe(&self) -> String {
        format!("{} {}", self.decoration, self.pattern)
    }
}
