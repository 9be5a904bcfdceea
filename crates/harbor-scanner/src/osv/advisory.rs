//! The compact advisory the database stores per (ecosystem, package): one affected entry
//! of an OSV record with what a report needs, severity already computed.

use serde::{Deserialize, Serialize};

use super::record::{Record, SeverityScore};
use super::severity::{Cvss, Severity, best_cvss};
use crate::ScanError;

/// Where an advisory applies: an OSV ecosystem (`Debian:12`, `crates.io`) and a package
/// name in it (source packages for Debian, Ubuntu and Alpine; PEP 503 names for PyPI).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PackageKey {
    pub ecosystem: String,
    pub name: String,
}

impl PackageKey {
    /// A key with the ecosystem and name normalised as the database stores them.
    pub fn new(ecosystem: &str, name: &str) -> Self {
        let ecosystem = normalise_ecosystem(ecosystem);
        let name = if ecosystem == "PyPI" {
            crate::inventory::python::normalize_name(name)
        } else {
            name.to_string()
        };
        Self { ecosystem, name }
    }
}

/// One affected package of one OSV record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    /// The OSV id (`GHSA-…`, `DEBIAN-CVE-…`, `CVE-…`).
    pub id: String,
    /// The CVE reports name it by: the id, else the first CVE alias or upstream.
    pub cve: String,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss: Option<Cvss>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cwe_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    /// Explicitly affected versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    pub modified: String,
}

/// A range of affected versions: ordered events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// `SEMVER` ranges order versions by SemVer whatever the ecosystem; `ECOSYSTEM` ranges
    /// by the ecosystem's own rules.
    pub semver: bool,
    pub events: Vec<Event>,
}

/// An OSV range event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

const MAX_SUMMARY: usize = 512;
const MAX_LINKS: usize = 8;

/// Splits a record into one advisory per affected package. Withdrawn records and ranges
/// over git commits give nothing.
pub fn split(record: &Record) -> Result<Vec<(PackageKey, Advisory)>, ScanError> {
    let bad = |reason: &str| ScanError::BadAdvisory {
        source_name: record.id.clone(),
        reason: reason.to_string(),
    };
    if record.id.trim().is_empty() {
        return Err(bad("empty id"));
    }
    if record.withdrawn.is_some() {
        return Ok(Vec::new());
    }
    let cve = std::iter::once(&record.id)
        .chain(&record.aliases)
        .chain(&record.upstream)
        .find(|id| id.starts_with("CVE-"))
        .unwrap_or(&record.id)
        .clone();
    let summary = record
        .summary
        .as_deref()
        .filter(|s| !s.is_empty())
        .or(record.details.as_deref())
        .unwrap_or_default();
    let summary = truncate(summary.trim(), MAX_SUMMARY);
    let links: Vec<String> = record
        .references
        .iter()
        .filter(|r| !r.url.is_empty())
        .take(MAX_LINKS)
        .map(|r| r.url.clone())
        .collect();
    let cwe_ids: Vec<String> = record
        .database_specific
        .as_ref()
        .and_then(|d| d.get("cwe_ids"))
        .and_then(|c| c.as_array())
        .map(|c| {
            c.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    for affected in &record.affected {
        let Some(package) = affected
            .package
            .as_ref()
            .filter(|p| !p.ecosystem.is_empty() && !p.name.is_empty())
        else {
            continue;
        };
        let mut ranges = Vec::new();
        for raw in &affected.ranges {
            let semver = match raw.kind.as_str() {
                "SEMVER" => true,
                "ECOSYSTEM" => false,
                _ => continue, // GIT: commits, not versions
            };
            let mut events = Vec::new();
            for event in &raw.events {
                for (key, value) in event {
                    events.push(match key.as_str() {
                        "introduced" => Event::Introduced(value.clone()),
                        "fixed" => Event::Fixed(value.clone()),
                        "last_affected" => Event::LastAffected(value.clone()),
                        "limit" => Event::Limit(value.clone()),
                        other => return Err(bad(&format!("unknown range event {other:?}"))),
                    });
                }
            }
            if !events.iter().any(|e| matches!(e, Event::Introduced(_))) {
                return Err(bad("a range without an introduced event"));
            }
            ranges.push(Range { semver, events });
        }
        if ranges.is_empty() && affected.versions.is_empty() {
            continue;
        }
        let (severity, cvss) = rate(&affected.severity, &record.severity, affected, record);
        out.push((
            PackageKey::new(&package.ecosystem, &package.name),
            Advisory {
                id: record.id.clone(),
                cve: cve.clone(),
                severity,
                cvss,
                summary: summary.clone(),
                links: links.clone(),
                cwe_ids: cwe_ids.clone(),
                ranges,
                versions: affected.versions.clone(),
                modified: record.modified.clone(),
            },
        ));
    }
    Ok(out)
}

/// Severity from the affected entry's CVSS, the record's CVSS, then a distribution's or
/// GHSA's own rating; `Unknown` when none says.
fn rate(
    own: &[SeverityScore],
    record_scores: &[SeverityScore],
    affected: &super::record::Affected,
    record: &Record,
) -> (Severity, Option<Cvss>) {
    let cvss = best_cvss(own).or_else(|| best_cvss(record_scores));
    if let Some(cvss) = &cvss {
        return (Severity::from_score(cvss.score), Some(cvss.clone()));
    }
    let text = |v: &Option<serde_json::Value>| {
        v.as_ref()
            .and_then(|v| v.get("severity"))
            .and_then(|s| s.as_str())
            .and_then(Severity::parse)
    };
    let rating = own
        .iter()
        .chain(record_scores)
        .filter(|s| !s.kind.starts_with("CVSS"))
        .find_map(|s| Severity::parse(&s.score))
        .or_else(|| text(&affected.ecosystem_specific))
        .or_else(|| text(&affected.database_specific))
        .or_else(|| text(&record.database_specific));
    (rating.unwrap_or_default(), None)
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Red Hat's CPE ecosystems (`Red Hat:enterprise_linux:9::appstream`) become `Red Hat:9`;
/// the others stay as OSV spells them.
pub fn normalise_ecosystem(ecosystem: &str) -> String {
    let major = ecosystem.strip_prefix("Red Hat:").and_then(|rest| {
        rest.split(':')
            .find(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit() || c == '.'))
    });
    match major {
        Some(major) => format!("Red Hat:{}", major.split('.').next().unwrap_or(major)),
        None => ecosystem.to_string(),
    }
}
