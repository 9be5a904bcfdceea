//! Tag immutability rules (Harbor's `immutabletagrules`): per project, a rule selects
//! repositories (by the name without the project) and tags with doublestar patterns, each
//! `matches` or `excludes`. A tag a rule selects cannot be moved to another manifest or
//! deleted. The store port is [`ImmutableRuleStore`]; enforcement lives in
//! [`crate::Registry`] (`registry/immutable.rs`).

use async_trait::async_trait;

use crate::digest::Digest;
use crate::doublestar::Pattern;
use crate::error::{Error, Result};
use crate::events::NewEvent;
use crate::identity::Page;
use crate::names::{RepositoryName, Tag};

/// The most rules a project may hold (as Harbor's portal allows).
pub const MAX_RULES_PER_PROJECT: usize = 15;

/// One doublestar selector: a pattern, and whether it selects what matches or the rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    /// `excludes` (or `repoExcludes`): selects what does *not* match.
    pub exclude: bool,
    /// The doublestar pattern.
    pub pattern: String,
}

impl Selector {
    /// Validates the pattern.
    pub fn compile(&self) -> Result<CompiledSelector> {
        let pattern = Pattern::new(&self.pattern)
            .map_err(|e| Error::Invalid(format!("invalid pattern {:?}: {e}", self.pattern)))?;
        Ok(CompiledSelector {
            exclude: self.exclude,
            pattern,
        })
    }
}

/// A [`Selector`] ready to match.
#[derive(Clone, Debug)]
pub struct CompiledSelector {
    exclude: bool,
    pattern: Pattern,
}

impl CompiledSelector {
    /// True if the selector selects `name`.
    pub fn selects(&self, name: &str) -> bool {
        self.pattern.matches(name) != self.exclude
    }
}

/// What a rule says, as created or updated through the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSpec {
    /// Harbor's `priority` (kept, not used for matching: any selecting rule applies).
    pub priority: i64,
    /// A disabled rule is kept but not enforced.
    pub disabled: bool,
    /// Selects repositories by their name without the project (`team/app`).
    pub repositories: Selector,
    /// Selects tags.
    pub tags: Selector,
}

impl RuleSpec {
    /// What the rule selects, for people: `repositories matching ** tags excluding v*`.
    pub fn describe(&self) -> String {
        let how = |s: &Selector| if s.exclude { "excluding" } else { "matching" };
        format!(
            "repositories {} {} tags {} {}",
            how(&self.repositories),
            self.repositories.pattern,
            how(&self.tags),
            self.tags.pattern
        )
    }

    /// Checks both patterns.
    pub fn validate(&self) -> Result<()> {
        self.repositories.compile()?;
        self.tags.compile()?;
        Ok(())
    }
}

/// A stored rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImmutableRule {
    /// Rule id.
    pub id: i64,
    /// The project it belongs to.
    pub project_id: i64,
    /// What it says.
    pub spec: RuleSpec,
}

/// The enabled rules of one project, compiled: answers "is this tag immutable" without
/// I/O. Load it once per request with [`crate::Registry::immutability`].
#[derive(Clone, Debug, Default)]
pub struct ImmutabilityPolicy {
    rules: Vec<(CompiledSelector, CompiledSelector)>,
}

impl ImmutabilityPolicy {
    /// The policy of `rules` (disabled rules and rules with invalid patterns are left out).
    pub fn new(rules: &[ImmutableRule]) -> Self {
        let rules = rules
            .iter()
            .filter(|r| !r.spec.disabled)
            .filter_map(|r| {
                Some((
                    r.spec.repositories.compile().ok()?,
                    r.spec.tags.compile().ok()?,
                ))
            })
            .collect();
        ImmutabilityPolicy { rules }
    }

    /// True if no rule is enforced (the common case: nothing else to look up).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// True if some rule selects the repository at all.
    pub fn covers(&self, repo: &RepositoryName) -> bool {
        let path = repository_path(repo);
        self.rules.iter().any(|(r, _)| r.selects(path))
    }

    /// True if `tag` in `repo` is immutable.
    pub fn is_immutable(&self, repo: &RepositoryName, tag: &str) -> bool {
        let path = repository_path(repo);
        self.rules
            .iter()
            .any(|(r, t)| r.selects(path) && t.selects(tag))
    }
}

/// The repository name without its project (`team/app` of `proj/team/app`), which
/// repository selectors match.
pub fn repository_path(repo: &RepositoryName) -> &str {
    repo.as_str()
        .split_once('/')
        .map_or(repo.as_str(), |(_, rest)| rest)
}

/// The project part of a repository name.
pub fn project_name(repo: &RepositoryName) -> &str {
    repo.as_str()
        .split_once('/')
        .map_or(repo.as_str(), |(p, _)| p)
}

/// Storage of immutability rules, and the two tag look-ups enforcement needs.
///
/// Rule writes fail with [`Error::NotFound`] for a missing rule and [`Error::Conflict`]
/// for a rule with the same selectors in the same project.
#[async_trait]
pub trait ImmutableRuleStore: Send + Sync {
    /// Creates a rule, unless the project holds `max_rules` already
    /// ([`Error::Invalid`]).
    async fn create_immutable_rule(
        &self,
        project_id: i64,
        spec: &RuleSpec,
        max_rules: usize,
    ) -> Result<ImmutableRule> {
        self.create_immutable_rule_emitting(project_id, spec, max_rules, &[])
            .await
    }
    /// [`create_immutable_rule`](Self::create_immutable_rule), appending `events` in its
    /// transaction.
    async fn create_immutable_rule_emitting(
        &self,
        project_id: i64,
        spec: &RuleSpec,
        max_rules: usize,
        events: &[NewEvent],
    ) -> Result<ImmutableRule>;
    /// One rule.
    async fn immutable_rule(&self, id: i64) -> Result<Option<ImmutableRule>>;
    /// One page of a project's rules by id, and their number.
    async fn immutable_rules(
        &self,
        project_id: i64,
        page: Page,
    ) -> Result<(Vec<ImmutableRule>, u64)>;
    /// Replaces a rule's fields.
    async fn update_immutable_rule(&self, id: i64, spec: &RuleSpec) -> Result<ImmutableRule> {
        self.update_immutable_rule_emitting(id, spec, &[]).await
    }
    /// [`update_immutable_rule`](Self::update_immutable_rule), appending `events` in its
    /// transaction.
    async fn update_immutable_rule_emitting(
        &self,
        id: i64,
        spec: &RuleSpec,
        events: &[NewEvent],
    ) -> Result<ImmutableRule>;
    /// Deletes a rule.
    async fn delete_immutable_rule(&self, id: i64) -> Result<()> {
        self.delete_immutable_rule_emitting(id, &[]).await
    }
    /// [`delete_immutable_rule`](Self::delete_immutable_rule), appending `events` in its
    /// transaction.
    async fn delete_immutable_rule_emitting(&self, id: i64, events: &[NewEvent]) -> Result<()>;
    /// Every rule (enabled or not) of the project named `project`, in one indexed query.
    async fn immutable_rules_of_project(&self, project: &str) -> Result<Vec<ImmutableRule>>;
    /// The digests `tags` of `repo` point at now (tags that do not exist are left out).
    async fn tag_digests(&self, repo: &RepositoryName, tags: &[Tag]) -> Result<Vec<(Tag, Digest)>>;
    /// The tags pointing at manifest `digest` of `repo`.
    async fn tags_of_manifest(&self, repo: &RepositoryName, digest: &Digest) -> Result<Vec<Tag>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(repo: (&str, bool), tag: (&str, bool), disabled: bool) -> ImmutableRule {
        ImmutableRule {
            id: 1,
            project_id: 1,
            spec: RuleSpec {
                priority: 0,
                disabled,
                repositories: Selector {
                    exclude: repo.1,
                    pattern: repo.0.into(),
                },
                tags: Selector {
                    exclude: tag.1,
                    pattern: tag.0.into(),
                },
            },
        }
    }

    fn name(s: &str) -> RepositoryName {
        RepositoryName::parse(s).unwrap()
    }

    #[test]
    fn repository_selectors_see_the_name_without_the_project() {
        let p = ImmutabilityPolicy::new(&[rule(("app", false), ("**", false), false)]);
        assert!(p.is_immutable(&name("proj/app"), "v1"));
        assert!(!p.is_immutable(&name("proj/team/app"), "v1"));
        assert!(!p.is_immutable(&name("app/other"), "v1"));
        assert!(p.covers(&name("proj/app")));
        assert!(!p.covers(&name("proj/web")));
    }

    #[test]
    fn excludes_select_the_rest() {
        let p = ImmutabilityPolicy::new(&[rule(("**", false), ("*-dev", true), false)]);
        assert!(p.is_immutable(&name("p/a/b"), "v1"));
        assert!(!p.is_immutable(&name("p/a/b"), "v1-dev"));
        let p = ImmutabilityPolicy::new(&[rule(("team/**", true), ("**", false), false)]);
        assert!(p.is_immutable(&name("p/app"), "v1"));
        assert!(!p.is_immutable(&name("p/team/app"), "v1"));
    }

    #[test]
    fn disabled_and_invalid_rules_are_not_enforced() {
        let p = ImmutabilityPolicy::new(&[
            rule(("**", false), ("**", false), true),
            rule(("{a", false), ("**", false), false),
        ]);
        assert!(p.is_empty());
        assert!(!p.is_immutable(&name("p/a"), "v1"));
        assert!(
            rule(("{a", false), ("**", false), false)
                .spec
                .validate()
                .is_err()
        );
    }

    #[test]
    fn any_rule_suffices() {
        let p = ImmutabilityPolicy::new(&[
            rule(("a", false), ("v1", false), false),
            rule(("b", false), ("{v2,v3}", false), false),
        ]);
        assert!(p.is_immutable(&name("p/a"), "v1"));
        assert!(!p.is_immutable(&name("p/a"), "v2"));
        assert!(p.is_immutable(&name("p/b"), "v3"));
    }

    #[test]
    fn names_split() {
        assert_eq!(repository_path(&name("p/a/b")), "a/b");
        assert_eq!(project_name(&name("p/a/b")), "p");
        assert_eq!(repository_path(&name("solo")), "solo");
    }
}
