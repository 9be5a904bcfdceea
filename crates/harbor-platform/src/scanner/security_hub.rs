//! Harbor's security hub (`/security/summary`, `/security/vul`): vulnerability counts and
//! the most dangerous CVEs and artifacts over the artifacts the **default** scanner
//! scanned, and a filtered, paged listing of its findings. System administrators only
//! (Harbor's `security-hub` system resource).

use std::collections::HashMap;
use std::sync::Arc;

use harbor_auth::Principal;
use harbor_core::Result;
use harbor_core::identity::Page;
use harbor_core::ports::MetadataStore;
use harbor_core::rbac::Action;
use harbor_core::scan::security::{
    DangerousArtifact, DangerousCve, SecurityCounts, VulnFilter, VulnerabilityRow,
};

use crate::access;

/// How many dangerous CVEs and artifacts the summary lists.
const TOP: usize = 5;
/// With `tune_count`, totals above this are not counted (Harbor's -1).
pub const TUNED_COUNT_LIMIT: u64 = 1_000;
/// Tags shown per listed artifact, as Harbor.
const TAGS_PER_ARTIFACT: usize = 10;

/// The summary (Harbor's `SecuritySummary`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    /// The counts.
    pub counts: SecurityCounts,
    /// The most dangerous CVEs, when asked for.
    pub dangerous_cves: Option<Vec<DangerousCve>>,
    /// The most dangerous artifacts, when asked for.
    pub dangerous_artifacts: Option<Vec<DangerousArtifact>>,
}

/// One listed finding, with its artifact's tags when asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct HubVulnerability {
    /// The finding and its artifact.
    pub row: VulnerabilityRow,
    /// Up to ten of the artifact's tags (empty unless asked for).
    pub tags: Vec<String>,
}

/// One page of the listing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VulnerabilityPage {
    /// The page.
    pub items: Vec<HubVulnerability>,
    /// Matches in all; `None` when counting was tuned away (more than
    /// [`TUNED_COUNT_LIMIT`]).
    pub total: Option<u64>,
}

/// The security hub.
#[derive(Clone)]
pub struct SecurityHub {
    store: Arc<dyn MetadataStore>,
}

impl SecurityHub {
    /// The hub over `store`.
    pub fn new(store: Arc<dyn MetadataStore>) -> Self {
        Self { store }
    }

    /// The default scanner's registration, if there is one.
    async fn default_scanner(&self) -> Result<Option<String>> {
        Ok(self
            .store
            .registrations()
            .await?
            .into_iter()
            .find(|r| r.is_default)
            .map(|r| r.uuid))
    }

    /// The summary (`security-hub` read). Without a default scanner everything is zero,
    /// as in Harbor.
    pub async fn summary(
        &self,
        by: &Principal,
        with_cves: bool,
        with_artifacts: bool,
    ) -> Result<Summary> {
        access::require_system(
            by,
            "security-hub",
            Action::Read,
            "only system administrators may read the security hub",
        )?;
        let Some(uuid) = self.default_scanner().await? else {
            return Ok(Summary::default());
        };
        let counts = self.store.security_counts(&uuid).await?;
        let dangerous_cves = if with_cves {
            Some(self.store.dangerous_cves(&uuid, TOP).await?)
        } else {
            None
        };
        let dangerous_artifacts = if with_artifacts {
            Some(self.store.dangerous_artifacts(&uuid, TOP).await?)
        } else {
            None
        };
        Ok(Summary {
            counts,
            dangerous_cves,
            dangerous_artifacts,
        })
    }

    /// One page of the default scanner's findings matching `filter`, highest CVSS v3
    /// score first (`security-hub` list): two queries, three with tags. `tune_count`
    /// stops counting past [`TUNED_COUNT_LIMIT`].
    pub async fn vulnerabilities(
        &self,
        by: &Principal,
        filter: &VulnFilter,
        page: Page,
        tune_count: bool,
        with_tags: bool,
    ) -> Result<VulnerabilityPage> {
        access::require_system(
            by,
            "security-hub",
            Action::List,
            "only system administrators may read the security hub",
        )?;
        let Some(uuid) = self.default_scanner().await? else {
            return Ok(VulnerabilityPage {
                items: Vec::new(),
                total: Some(0),
            });
        };
        let cap = tune_count.then_some(TUNED_COUNT_LIMIT);
        let total = self.store.count_vulnerabilities(&uuid, filter, cap).await?;
        let rows = self.store.vulnerabilities(&uuid, filter, page).await?;
        let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
        if with_tags && !rows.is_empty() {
            let mut ids: Vec<i64> = rows.iter().map(|r| r.artifact_id).collect();
            ids.sort_unstable();
            ids.dedup();
            for t in self.store.artifact_tags(&ids).await? {
                let list = tags.entry(t.artifact_id).or_default();
                if list.len() < TAGS_PER_ARTIFACT {
                    list.push(t.name);
                }
            }
        }
        let items = rows
            .into_iter()
            .map(|row| HubVulnerability {
                tags: tags.get(&row.artifact_id).cloned().unwrap_or_default(),
                row,
            })
            .collect();
        Ok(VulnerabilityPage { items, total })
    }
}
