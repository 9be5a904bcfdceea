//! Which artifacts of one repository a policy keeps, without I/O (Harbor's `or`
//! processor and `retain` performer).
//!
//! - The rules that apply are the enabled ones whose repository selectors all select the
//!   repository. With none, a run does not touch the repository: everything is kept.
//! - Each rule selects the candidates all its tag selectors select, then keeps some of
//!   them by its template.
//! - What any rule keeps is kept (the union); everything else is deleted, except
//!   artifacts with an immutable tag, which are kept.

use std::collections::HashMap;

use crate::digest::Digest;
use crate::error::Result;

use super::policy::{CompiledRule, RetentionPolicy, Template};

/// A day in milliseconds.
const DAY_MS: i64 = 86_400_000;

/// One top-level artifact of the repository, as retention sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The artifact (manifest row) id.
    pub artifact_id: i64,
    /// The manifest digest.
    pub digest: Digest,
    /// Its tags (none for an untagged artifact).
    pub tags: Vec<String>,
    /// Last push (ms): the later of the artifact's push and its tags' pushes, as Harbor.
    pub pushed_ms: i64,
    /// Last pull (ms), of the artifact or any of its tags; `None` if never pulled.
    pub pulled_ms: Option<i64>,
    /// Names of its labels.
    pub labels: Vec<String>,
    /// True if a tag of it is immutable: it is never deleted.
    pub immutable: bool,
    /// Harbor's size of the artifact (manifest and blobs).
    pub size: u64,
}

impl Candidate {
    fn pulled(&self) -> i64 {
        self.pulled_ms.unwrap_or(i64::MIN)
    }

    fn active(&self) -> i64 {
        self.pushed_ms.max(self.pulled())
    }
}

/// Why an artifact is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RetainReason {
    /// A rule keeps it (the first one in the policy, when several do).
    Rule {
        /// The rule's position in the policy.
        index: usize,
        /// The rule's id.
        id: i64,
        /// The rule's template.
        template: Template,
    },
    /// No rule keeps it, but it has an immutable tag.
    Immutable,
    /// No enabled rule applies to the repository, so nothing in it is deleted.
    NoRuleApplies,
    /// (Set by a run, not by [`evaluate`].) It is listed by an index of the repository,
    /// so it goes only with that index.
    ReferencedByIndex,
}

/// The outcome for one repository.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Evaluation {
    /// What is kept, and why, in the order of the candidates.
    pub retained: Vec<(Candidate, RetainReason)>,
    /// What is deleted, in the order of the candidates.
    pub deleted: Vec<Candidate>,
}

/// Indices into `all` of the candidates `rule` keeps among `selected`.
fn keep(rule: &CompiledRule, all: &[Candidate], mut selected: Vec<usize>, now: i64) -> Vec<usize> {
    let n = usize::try_from(rule.param).unwrap_or(0);
    let since = |days: i64| now.saturating_sub(days.saturating_mul(DAY_MS));
    let mut latest = |key: fn(&Candidate) -> i64| {
        // Stable: among equal times, the earlier candidate wins.
        selected.sort_by_key(|&i| std::cmp::Reverse(key(&all[i])));
        selected.truncate(n);
        selected.clone()
    };
    match rule.template {
        Template::LatestPushedK => latest(|c| c.pushed_ms),
        Template::LatestPulledN => latest(Candidate::pulled),
        Template::LatestActiveK => latest(Candidate::active),
        Template::LastXDays => {
            let cutoff = since(rule.param);
            selected.retain(|&i| all[i].pushed_ms > cutoff);
            selected
        }
        Template::NDaysSinceLastPush => {
            let cutoff = since(rule.param);
            selected.retain(|&i| all[i].pushed_ms >= cutoff);
            selected
        }
        Template::NDaysSinceLastPull => {
            let cutoff = since(rule.param);
            selected.retain(|&i| all[i].pulled_ms.is_some_and(|p| p >= cutoff));
            selected
        }
        Template::Always => selected,
    }
}

/// Evaluates `policy` on the `candidates` of the repository `repository_path` (its name
/// without the project) at time `now_ms`. Fails only if the policy is invalid.
pub fn evaluate(
    policy: &RetentionPolicy,
    repository_path: &str,
    candidates: &[Candidate],
    now_ms: i64,
) -> Result<Evaluation> {
    let rules: Vec<CompiledRule> = policy
        .enabled_rules()?
        .into_iter()
        .filter(|r| !r.tags.is_empty() && r.selects_repository(repository_path))
        .collect();
    if rules.is_empty() {
        return Ok(Evaluation {
            retained: candidates
                .iter()
                .map(|c| (c.clone(), RetainReason::NoRuleApplies))
                .collect(),
            deleted: Vec::new(),
        });
    }
    let mut kept: HashMap<usize, &CompiledRule> = HashMap::new();
    for rule in &rules {
        let selected: Vec<usize> = (0..candidates.len())
            .filter(|&i| {
                rule.tags
                    .iter()
                    .all(|s| s.selects_tags(&candidates[i].tags))
            })
            .collect();
        for i in keep(rule, candidates, selected, now_ms) {
            kept.entry(i).or_insert(rule);
        }
    }
    let mut out = Evaluation::default();
    for (i, c) in candidates.iter().enumerate() {
        match kept.get(&i) {
            Some(rule) => out.retained.push((
                c.clone(),
                RetainReason::Rule {
                    index: rule.index,
                    id: rule.id,
                    template: rule.template,
                },
            )),
            None if c.immutable => out.retained.push((c.clone(), RetainReason::Immutable)),
            None => out.deleted.push(c.clone()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retention::policy::{RetentionRule, RetentionSelector};
    use serde_json::json;

    const NOW: i64 = 1_000 * DAY_MS;

    fn cand(
        id: i64,
        tags: &[&str],
        pushed_days_ago: i64,
        pulled_days_ago: Option<i64>,
    ) -> Candidate {
        Candidate {
            artifact_id: id,
            digest: Digest::sha256(format!("artifact {id}").as_bytes()),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            pushed_ms: NOW - pushed_days_ago * DAY_MS,
            pulled_ms: pulled_days_ago.map(|d| NOW - d * DAY_MS),
            labels: Vec::new(),
            immutable: false,
            size: 1,
        }
    }

    fn sel(decoration: &str, pattern: &str, extras: &str) -> RetentionSelector {
        RetentionSelector {
            kind: "doublestar".into(),
            decoration: decoration.into(),
            pattern: pattern.into(),
            extras: extras.into(),
        }
    }

    fn rule(template: &str, n: Option<i64>, tags: Vec<RetentionSelector>) -> RetentionRule {
        RetentionRule {
            id: 0,
            priority: 0,
            disabled: false,
            action: "retain".into(),
            template: template.into(),
            params: n
                .map(|n| (template.to_owned(), json!(n)))
                .into_iter()
                .collect(),
            tag_selectors: tags,
            scope_selectors: [("repository".to_owned(), vec![sel("repoMatches", "**", "")])].into(),
        }
    }

    fn policy(rules: Vec<RetentionRule>) -> RetentionPolicy {
        let mut p: RetentionPolicy = serde_json::from_value(json!({
            "algorithm": "or",
            "trigger": {"kind": "Schedule", "settings": {"cron": ""}},
            "scope": {"level": "project", "ref": 1}
        }))
        .unwrap();
        p.rules = rules;
        for (i, r) in p.rules.iter_mut().enumerate() {
            r.id = i as i64 + 1;
        }
        p.validate().unwrap();
        p
    }

    fn all_tags() -> Vec<RetentionSelector> {
        vec![sel("matches", "**", "")]
    }

    /// Ids kept and deleted.
    fn run(p: &RetentionPolicy, repo: &str, cands: &[Candidate]) -> (Vec<i64>, Vec<i64>) {
        let e = evaluate(p, repo, cands, NOW).unwrap();
        let mut kept: Vec<i64> = e.retained.iter().map(|(c, _)| c.artifact_id).collect();
        let mut gone: Vec<i64> = e.deleted.iter().map(|c| c.artifact_id).collect();
        kept.sort();
        gone.sort();
        (kept, gone)
    }

    fn sample() -> Vec<Candidate> {
        vec![
            cand(1, &["v1"], 40, Some(1)),
            cand(2, &["v2"], 30, None),
            cand(3, &["v3", "latest"], 5, Some(20)),
            cand(4, &[], 2, Some(50)),
            cand(5, &["dev-1"], 1, None),
        ]
    }

    #[test]
    fn latest_pushed_k() {
        let p = policy(vec![rule("latestPushedK", Some(2), all_tags())]);
        assert_eq!(run(&p, "app", &sample()), (vec![4, 5], vec![1, 2, 3]));
        let p = policy(vec![rule("latestPushedK", Some(0), all_tags())]);
        assert_eq!(run(&p, "app", &sample()), (vec![], vec![1, 2, 3, 4, 5]));
    }

    #[test]
    fn latest_pulled_n_puts_never_pulled_last() {
        let p = policy(vec![rule("latestPulledN", Some(2), all_tags())]);
        assert_eq!(run(&p, "app", &sample()), (vec![1, 3], vec![2, 4, 5]));
        let p = policy(vec![rule("latestPulledN", Some(4), all_tags())]);
        let (kept, _) = run(&p, "app", &sample());
        assert_eq!(kept.len(), 4);
        assert!(kept.contains(&4), "all three pulled ones come first");
    }

    #[test]
    fn latest_active_k_takes_the_later_of_push_and_pull() {
        // Active: 1 → 1 day ago (pull), 2 → 30, 3 → 5, 4 → 2, 5 → 1 (push).
        let p = policy(vec![rule("latestActiveK", Some(3), all_tags())]);
        assert_eq!(run(&p, "app", &sample()), (vec![1, 4, 5], vec![2, 3]));
    }

    #[test]
    fn day_based_templates() {
        let p = policy(vec![rule("nDaysSinceLastPush", Some(5), all_tags())]);
        assert_eq!(run(&p, "app", &sample()), (vec![3, 4, 5], vec![1, 2]));
        // lastXDays is strict: pushed exactly X days ago is out.
        let p = policy(vec![rule("lastXDays", Some(5), all_tags())]);
        assert_eq!(run(&p, "app", &sample()), (vec![4, 5], vec![1, 2, 3]));
        let p = policy(vec![rule("nDaysSinceLastPull", Some(20), all_tags())]);
        assert_eq!(run(&p, "app", &sample()), (vec![1, 3], vec![2, 4, 5]));
        let p = policy(vec![rule("nDaysSinceLastPull", Some(0), all_tags())]);
        assert_eq!(run(&p, "app", &sample()), (vec![], vec![1, 2, 3, 4, 5]));
    }

    #[test]
    fn always_keeps_what_its_selectors_select() {
        let p = policy(vec![rule("always", None, vec![sel("matches", "v*", "")])]);
        // The untagged artifact is selected by `matches` by default.
        assert_eq!(run(&p, "app", &sample()), (vec![1, 2, 3, 4], vec![5]));
    }

    #[test]
    fn matches_selects_any_matching_tag_and_untagged_by_extra() {
        let p = policy(vec![rule(
            "always",
            None,
            vec![sel("matches", "latest", "{\"untagged\":false}")],
        )]);
        assert_eq!(run(&p, "app", &sample()), (vec![3], vec![1, 2, 4, 5]));
    }

    #[test]
    fn excludes_selects_an_artifact_with_any_other_tag() {
        // Artifact 3 has `latest` (excluded) but also `v3`, so it is selected; untagged
        // artifacts are selected by `excludes` unless the extra says untagged:true.
        let p = policy(vec![rule(
            "always",
            None,
            vec![sel("excludes", "{latest,dev-*}", "")],
        )]);
        assert_eq!(run(&p, "app", &sample()), (vec![1, 2, 3, 4], vec![5]));
        let p = policy(vec![rule(
            "always",
            None,
            vec![sel("excludes", "{latest,dev-*}", "{\"untagged\":true}")],
        )]);
        assert_eq!(run(&p, "app", &sample()), (vec![1, 2, 3], vec![4, 5]));
    }

    #[test]
    fn tag_selectors_of_a_rule_are_and_ed() {
        let p = policy(vec![rule(
            "always",
            None,
            vec![
                sel("matches", "v*", "{\"untagged\":false}"),
                sel("excludes", "v1", ""),
            ],
        )]);
        assert_eq!(run(&p, "app", &sample()), (vec![2, 3], vec![1, 4, 5]));
    }

    #[test]
    fn rules_are_or_ed_and_the_first_keeping_rule_is_reported() {
        let p = policy(vec![
            rule("latestPushedK", Some(1), all_tags()),
            rule(
                "always",
                None,
                vec![sel("matches", "v{1,3}", "{\"untagged\":false}")],
            ),
            rule(
                "always",
                None,
                vec![sel("matches", "dev-*", "{\"untagged\":false}")],
            ),
        ]);
        let e = evaluate(&p, "app", &sample(), NOW).unwrap();
        let reasons: Vec<(i64, usize)> = e
            .retained
            .iter()
            .map(|(c, r)| match r {
                RetainReason::Rule { index, .. } => (c.artifact_id, *index),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(reasons, [(1, 1), (3, 1), (5, 0)]);
        let gone: Vec<i64> = e.deleted.iter().map(|c| c.artifact_id).collect();
        assert_eq!(gone, [2, 4]);
    }

    #[test]
    fn a_rule_selecting_nothing_still_deletes_the_rest() {
        let p = policy(vec![rule(
            "always",
            None,
            vec![sel("matches", "nope", "{\"untagged\":false}")],
        )]);
        assert_eq!(run(&p, "app", &sample()), (vec![], vec![1, 2, 3, 4, 5]));
    }

    #[test]
    fn immutable_artifacts_are_never_deleted() {
        let mut cands = sample();
        cands[1].immutable = true;
        let p = policy(vec![rule("latestPushedK", Some(1), all_tags())]);
        let e = evaluate(&p, "app", &cands, NOW).unwrap();
        assert!(
            e.retained
                .contains(&(cands[1].clone(), RetainReason::Immutable))
        );
        let gone: Vec<i64> = e.deleted.iter().map(|c| c.artifact_id).collect();
        assert_eq!(gone, [1, 3, 4]);
    }

    #[test]
    fn disabled_rules_and_no_rules_delete_nothing() {
        let mut r = rule("latestPushedK", Some(0), all_tags());
        r.disabled = true;
        let p = policy(vec![r]);
        let e = evaluate(&p, "app", &sample(), NOW).unwrap();
        assert!(e.deleted.is_empty());
        assert!(
            e.retained
                .iter()
                .all(|(_, r)| *r == RetainReason::NoRuleApplies)
        );
        assert_eq!(e.retained.len(), 5);
        assert_eq!(
            run(&policy(vec![]), "app", &sample()),
            (vec![1, 2, 3, 4, 5], vec![])
        );
        // A disabled rule does not keep anything either.
        let mut keep_all = rule("always", None, all_tags());
        keep_all.disabled = true;
        let p = policy(vec![keep_all, rule("latestPushedK", Some(1), all_tags())]);
        assert_eq!(run(&p, "app", &sample()), (vec![5], vec![1, 2, 3, 4]));
    }

    #[test]
    fn repository_selectors_choose_the_rules_of_each_repository() {
        let mut only_team = rule("latestPushedK", Some(1), all_tags());
        only_team
            .scope_selectors
            .insert("repository".into(), vec![sel("repoMatches", "team/**", "")]);
        let mut not_team = rule("always", None, all_tags());
        not_team.scope_selectors.insert(
            "repository".into(),
            vec![sel("repoExcludes", "team/**", "")],
        );
        let p = policy(vec![only_team, not_team]);
        assert_eq!(run(&p, "team/app", &sample()), (vec![5], vec![1, 2, 3, 4]));
        assert_eq!(run(&p, "web", &sample()), (vec![1, 2, 3, 4, 5], vec![]));
        assert!(p.selects_repository("team/app").unwrap());
        assert!(p.selects_repository("web").unwrap());
        // Repository selectors of one rule are and-ed; a repository no rule selects is
        // left alone.
        let mut r = rule("latestPushedK", Some(0), all_tags());
        r.scope_selectors.insert(
            "repository".into(),
            vec![
                sel("repoMatches", "team/**", ""),
                sel("repoExcludes", "**/keep", ""),
            ],
        );
        let p = policy(vec![r]);
        assert!(p.selects_repository("team/app").unwrap());
        assert!(!p.selects_repository("team/keep").unwrap());
        assert!(!p.selects_repository("web").unwrap());
        let e = evaluate(&p, "team/keep", &sample(), NOW).unwrap();
        assert!(e.deleted.is_empty());
        assert_eq!(run(&p, "team/app", &sample()).1.len(), 5);
    }
}
