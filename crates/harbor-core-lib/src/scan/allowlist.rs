//! CVE allowlists (Harbor's `CVEAllowlist`): the system list (project id 0) and one list
//! per project, each with an optional expiry. A project uses the system list while its
//! `reuse_sys_cve_allowlist` metadata is `true` (the default), else its own; a list is
//! ignored entirely once `now >= expires_at`. Validation and the [`AllowlistStore`] port.

use std::collections::HashSet;

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::events::NewEvent;
use crate::identity::Project;

/// The project id of the system allowlist.
pub const SYSTEM: i64 = 0;
/// Most items a list may hold.
pub const MAX_ITEMS: usize = 10_000;
/// Longest id accepted (characters).
const MAX_ID: usize = 128;

/// A stored allowlist.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CveAllowlist {
    /// Its id; 0 for a list never written (an empty list).
    pub id: i64,
    /// Its project; [`SYSTEM`] for the system list.
    pub project_id: i64,
    /// When it stops applying, in seconds since the Unix epoch; `None` for never.
    pub expires_at: Option<i64>,
    /// The allowed vulnerability ids, in the order given.
    pub items: Vec<String>,
    /// When it was first written (ms); 0 for a list never written.
    pub created_ms: i64,
    /// When it was last written (ms); 0 for a list never written.
    pub updated_ms: i64,
}

impl CveAllowlist {
    /// The empty list of `project_id`, as answered before one is written.
    pub fn empty(project_id: i64) -> Self {
        Self {
            project_id,
            ..Self::default()
        }
    }

    /// Whether it has expired at `now_s` (seconds since the Unix epoch).
    pub fn expired(&self, now_s: i64) -> bool {
        self.expires_at.is_some_and(|at| now_s >= at)
    }

    /// The ids that apply at `now_s`: none once expired.
    pub fn active_items(&self, now_s: i64) -> HashSet<&str> {
        if self.expired(now_s) {
            return HashSet::new();
        }
        self.items.iter().map(String::as_str).collect()
    }
}

/// A list to write, as a client sends it; [`AllowlistInput::validate`] checks it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowlistInput {
    /// Expiry in seconds since the Unix epoch; `None` for never.
    pub expires_at: Option<i64>,
    /// The ids, as sent.
    pub items: Vec<String>,
}

impl AllowlistInput {
    /// The list as stored: ids trimmed, a `cve-` prefix upper-cased, each id checked
    /// (a CVE id is `CVE-<year>-<number>`; other advisory ids such as `GHSA-…` or
    /// `DSA-…` are letters, digits and `-._:`, starting with a letter, 128 characters at
    /// most), no duplicates, at most [`MAX_ITEMS`], and a non-negative expiry.
    pub fn validate(self) -> Result<Self> {
        if self.items.len() > MAX_ITEMS {
            return Err(Error::Invalid(format!(
                "a CVE allowlist holds at most {MAX_ITEMS} items, not {}",
                self.items.len()
            )));
        }
        if self.expires_at.is_some_and(|at| at < 0) {
            return Err(Error::Invalid(
                "expires_at must be seconds since the Unix epoch (or null for never)".into(),
            ));
        }
        let mut seen = HashSet::with_capacity(self.items.len());
        let mut items = Vec::with_capacity(self.items.len());
        for raw in self.items {
            let id = normalise(&raw)?;
            if !seen.insert(id.clone()) {
                return Err(Error::Invalid(format!(
                    "duplicate CVE ID in allowlist: {id}"
                )));
            }
            items.push(id);
        }
        Ok(Self {
            expires_at: self.expires_at,
            items,
        })
    }
}

/// One id, trimmed and checked.
fn normalise(raw: &str) -> Result<String> {
    let id = raw.trim();
    if id.is_empty() {
        return Err(Error::Invalid(
            "empty or whitespace-only CVE ID in allowlist".into(),
        ));
    }
    let bad = |why: &str| {
        Err(Error::Invalid(format!(
            "invalid CVE ID {:?} in allowlist: {why}",
            truncate(id)
        )))
    };
    if id.chars().count() > MAX_ID {
        return bad(&format!("longer than {MAX_ID} characters"));
    }
    if id.len() >= 4 && id[..4].eq_ignore_ascii_case("CVE-") {
        let rest = &id[4..];
        let ok = rest.split_once('-').is_some_and(|(year, number)| {
            year.len() == 4
                && year.bytes().all(|b| b.is_ascii_digit())
                && number.len() >= 4
                && number.bytes().all(|b| b.is_ascii_digit())
        });
        if !ok {
            return bad("a CVE ID is CVE-<year>-<number> (CVE-2021-44228)");
        }
        return Ok(format!("CVE-{rest}"));
    }
    let first_is_letter = id.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if !first_is_letter
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':'))
    {
        return bad("expected a CVE ID (CVE-2021-44228) or an advisory id (GHSA-…)");
    }
    Ok(id.to_owned())
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// Whether `project` uses the system list (`reuse_sys_cve_allowlist`, default `true`).
pub fn reuses_system(project: &Project) -> bool {
    project
        .metadata
        .get("reuse_sys_cve_allowlist")
        .is_none_or(|v| !v.eq_ignore_ascii_case("false"))
}

/// The list that applies to `project` among `lists` (as [`AllowlistStore::allowlists`]
/// returns them for the system and the project): the system list when the project reuses
/// it, else its own; an empty list when the chosen one was never written.
pub fn effective(project: &Project, lists: Vec<CveAllowlist>) -> CveAllowlist {
    let id = if reuses_system(project) {
        SYSTEM
    } else {
        project.id
    };
    lists
        .into_iter()
        .find(|l| l.project_id == id)
        .unwrap_or_else(|| CveAllowlist::empty(id))
}

/// Storage of allowlists. A project's list is deleted with the project.
#[async_trait]
pub trait AllowlistStore: Send + Sync {
    /// The stored lists of these project ids ([`SYSTEM`] for the system list), in one
    /// query; ids without a list are left out.
    async fn allowlists(&self, project_ids: &[i64]) -> Result<Vec<CveAllowlist>>;
    /// Replaces the list of `project_id` (creating it), with `events`, in one transaction.
    /// [`Error::NotFound`] when the project is gone.
    async fn put_allowlist(
        &self,
        project_id: i64,
        list: &AllowlistInput,
        events: &[NewEvent],
    ) -> Result<CveAllowlist>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(items: &[&str]) -> AllowlistInput {
        AllowlistInput {
            expires_at: None,
            items: items.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn ids_are_trimmed_normalised_and_checked() {
        let ok = input(&[" CVE-2021-44228 ", "cve-2023-1234", "GHSA-jfh8-c2jp-5v3q"])
            .validate()
            .unwrap();
        assert_eq!(
            ok.items,
            ["CVE-2021-44228", "CVE-2023-1234", "GHSA-jfh8-c2jp-5v3q"]
        );
        for bad in [
            "",
            "   ",
            "CVE-21-1",
            "CVE-2021-12",
            "CVE-2021-1234x",
            "<script>",
            "1234",
            "CVE 2021 1",
        ] {
            let e = input(&[bad]).validate().unwrap_err();
            assert!(matches!(e, Error::Invalid(_)), "{bad:?}: {e}");
        }
        let long = format!("GHSA-{}", "a".repeat(200));
        assert!(input(&[&long]).validate().is_err());
    }

    #[test]
    fn duplicates_count_and_expiry_are_refused() {
        let e = input(&["CVE-2021-44228", "cve-2021-44228"])
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("duplicate CVE ID in allowlist: CVE-2021-44228"),
            "{e}"
        );
        let many: Vec<String> = (0..=MAX_ITEMS)
            .map(|i| format!("CVE-2020-{:05}", i))
            .collect();
        let e = AllowlistInput {
            expires_at: None,
            items: many,
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("at most 10000 items"), "{e}");
        assert!(
            AllowlistInput {
                expires_at: Some(-1),
                items: vec![],
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn expiry_and_the_effective_list() {
        let list = CveAllowlist {
            id: 1,
            project_id: 0,
            expires_at: Some(100),
            items: vec!["CVE-2021-44228".into()],
            created_ms: 1,
            updated_ms: 1,
        };
        assert!(!list.expired(99));
        assert!(list.expired(100));
        assert!(list.active_items(99).contains("CVE-2021-44228"));
        assert!(list.active_items(100).is_empty());

        let mut project = Project {
            id: 7,
            name: "p".into(),
            owner_id: 1,
            owner_name: "admin".into(),
            public: false,
            metadata: Default::default(),
            registry_id: None,
            created_ms: 0,
            updated_ms: 0,
        };
        let own = CveAllowlist {
            project_id: 7,
            ..list.clone()
        };
        assert_eq!(effective(&project, vec![list.clone(), own.clone()]), list);
        project
            .metadata
            .insert("reuse_sys_cve_allowlist".into(), "false".into());
        assert_eq!(effective(&project, vec![list.clone(), own.clone()]), own);
        assert_eq!(effective(&project, vec![list]), CveAllowlist::empty(7));
    }
}
