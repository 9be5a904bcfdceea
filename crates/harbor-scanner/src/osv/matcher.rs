//! Matching an inventory's packages against advisories.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::advisory::{Advisory, Event, PackageKey};
use super::severity::{Cvss, Severity};
use crate::inventory::ImageInventory;
use crate::version::{self, Scheme};
use crate::{Package, PackageKind};

/// One vulnerability of one installed package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The CVE id when the advisory has one, else the advisory id.
    pub id: String,
    /// The advisories that reported it (`DEBIAN-CVE-…`, `GHSA-…`).
    pub advisories: Vec<String>,
    pub package: String,
    pub version: String,
    pub kind: PackageKind,
    /// The lowest version that fixes it, when one is known.
    pub fix_version: Option<String>,
    pub severity: Severity,
    pub cvss: Option<Cvss>,
    pub summary: String,
    pub links: Vec<String>,
    pub cwe_ids: Vec<String>,
    /// Where the package was found.
    pub path: String,
}

/// The OSV lookups an inventory needs: each package's ecosystems and advisory name.
pub fn lookup_keys(inventory: &ImageInventory) -> BTreeSet<PackageKey> {
    let os = os_ecosystems(inventory);
    inventory
        .packages
        .iter()
        .flat_map(|p| keys(p, &os))
        .collect()
}

/// The findings of `inventory` among `advisories` (what [`lookup_keys`] fetched), sorted
/// by package, then id. A CVE reported by several advisories for one package is one finding
/// with the highest severity and the lowest fix.
pub fn find(
    inventory: &ImageInventory,
    advisories: &HashMap<PackageKey, Vec<Advisory>>,
) -> Vec<Finding> {
    let os = os_ecosystems(inventory);
    let mut findings: Vec<Finding> = Vec::new();
    let mut index: HashMap<(usize, String), usize> = HashMap::new();
    for (n, package) in inventory.packages.iter().enumerate() {
        let scheme = package.kind.scheme();
        let version = package.advisory_version();
        for key in keys(package, &os) {
            for advisory in advisories.get(&key).into_iter().flatten() {
                let Some(fix) = affects(advisory, scheme, version) else {
                    continue;
                };
                match index.get(&(n, advisory.cve.clone())) {
                    Some(&at) => {
                        let seen = &mut findings[at];
                        seen.advisories.push(advisory.id.clone());
                        if advisory.severity > seen.severity {
                            seen.severity = advisory.severity;
                            seen.cvss = advisory.cvss.clone().or(seen.cvss.take());
                        }
                        seen.fix_version = lowest(scheme, seen.fix_version.take(), fix);
                    }
                    None => {
                        index.insert((n, advisory.cve.clone()), findings.len());
                        findings.push(finding(package, advisory, fix));
                    }
                }
            }
        }
    }
    findings.sort_by(|a, b| {
        (&a.package, &a.version, &a.id, &a.path).cmp(&(&b.package, &b.version, &b.id, &b.path))
    });
    findings
}

/// `Some(fix)` when `advisory` affects `version` (`fix` is the fixing version, if any).
pub fn affects(advisory: &Advisory, scheme: Scheme, version: &str) -> Option<Option<String>> {
    if advisory.versions.iter().any(|v| v == version) {
        let fix = advisory
            .ranges
            .iter()
            .find_map(|r| fixed_after(r, scheme, version));
        return Some(fix.flatten());
    }
    for range in &advisory.ranges {
        let scheme = if range.semver {
            semver_of(scheme)
        } else {
            scheme
        };
        if in_range(&range.events, scheme, version) {
            return Some(fixed_after(range, scheme, version).flatten());
        }
    }
    None
}

fn semver_of(scheme: Scheme) -> Scheme {
    if scheme == Scheme::Go {
        Scheme::Go
    } else {
        Scheme::SemVer
    }
}

/// OSV's evaluation: walk the sorted events; introduced opens, fixed and last_affected close.
fn in_range(events: &[Event], scheme: Scheme, version: &str) -> bool {
    let cmp = |a: &str, b: &str| -> Option<Ordering> {
        if a == b {
            return Some(Ordering::Equal);
        }
        version::compare(scheme, a, b)
    };
    let ge = |bound: &str| {
        bound == "0"
            || matches!(
                cmp(version, bound),
                Some(Ordering::Greater | Ordering::Equal)
            )
    };
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by(|a, b| {
        let (x, y) = (event_version(a), event_version(b));
        match (x == "0", y == "0") {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ => cmp(x, y).unwrap_or(Ordering::Equal),
        }
    });
    // An unorderable bound makes the range unusable rather than a guess.
    let orderable = |e: &&Event| {
        matches!(event_version(e), "0" | "*") || cmp(version, event_version(e)).is_some()
    };
    if !sorted.iter().all(orderable) {
        return false;
    }
    let mut affected = false;
    for event in sorted {
        match event {
            Event::Introduced(v) if ge(v) => affected = true,
            Event::Fixed(v) if ge(v) => affected = false,
            Event::LastAffected(v) if v != "0" && cmp(version, v) == Some(Ordering::Greater) => {
                affected = false
            }
            Event::Limit(v) if v != "*" && ge(v) => affected = false,
            _ => {}
        }
    }
    affected
}

fn event_version(event: &Event) -> &str {
    match event {
        Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
    }
}

/// The lowest `fixed` event above `version` in the range.
fn fixed_after(
    range: &super::advisory::Range,
    scheme: Scheme,
    version: &str,
) -> Option<Option<String>> {
    let scheme = if range.semver {
        semver_of(scheme)
    } else {
        scheme
    };
    let fixes = range.events.iter().filter_map(|e| match e {
        Event::Fixed(v) if version::compare(scheme, v, version) == Some(Ordering::Greater) => {
            Some(v.clone())
        }
        _ => None,
    });
    Some(fixes.fold(None, |best, v| lowest(scheme, best, Some(v))))
}

fn lowest(scheme: Scheme, a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(
            if version::compare(scheme, &b, &a) == Some(Ordering::Less) {
                b
            } else {
                a
            },
        ),
        (a, b) => a.or(b),
    }
}

fn finding(package: &Package, advisory: &Advisory, fix: Option<String>) -> Finding {
    Finding {
        id: advisory.cve.clone(),
        advisories: vec![advisory.id.clone()],
        package: package.name.clone(),
        version: package.version.clone(),
        kind: package.kind,
        fix_version: fix,
        severity: advisory.severity,
        cvss: advisory.cvss.clone(),
        summary: advisory.summary.clone(),
        links: advisory.links.clone(),
        cwe_ids: advisory.cwe_ids.clone(),
        path: package.path.clone(),
    }
}

fn os_ecosystems(inventory: &ImageInventory) -> Vec<String> {
    inventory
        .os
        .as_ref()
        .map(|os| os.ecosystems())
        .unwrap_or_default()
}

fn keys(package: &Package, os: &[String]) -> Vec<PackageKey> {
    let name = package.advisory_name();
    match package.kind {
        PackageKind::Deb | PackageKind::Apk | PackageKind::Rpm => {
            os.iter().map(|e| PackageKey::new(e, name)).collect()
        }
        PackageKind::Cargo => vec![PackageKey::new("crates.io", name)],
        PackageKind::Npm => vec![PackageKey::new("npm", name)],
        PackageKind::Python => vec![PackageKey::new("PyPI", name)],
        PackageKind::Go => vec![PackageKey::new("Go", name)],
        PackageKind::Maven => vec![PackageKey::new("Maven", name)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osv::advisory::Range;

    fn advisory(ranges: Vec<Range>, versions: &[&str]) -> Advisory {
        Advisory {
            id: "X-1".into(),
            cve: "CVE-1".into(),
            severity: Severity::Unknown,
            cvss: None,
            summary: String::new(),
            links: Vec::new(),
            cwe_ids: Vec::new(),
            ranges,
            versions: versions.iter().map(|v| v.to_string()).collect(),
            modified: String::new(),
        }
    }

    fn range(events: &[Event]) -> Range {
        Range {
            semver: true,
            events: events.to_vec(),
        }
    }

    use Event::*;

    #[test]
    fn ranges_open_close_and_reopen() {
        let a = advisory(
            vec![range(&[
                Introduced("1.0.0".into()),
                Fixed("1.2.0".into()),
                Introduced("2.0.0".into()),
                Fixed("2.0.3".into()),
            ])],
            &[],
        );
        let at = |v: &str| affects(&a, Scheme::SemVer, v);
        assert_eq!(at("0.9.0"), None);
        assert_eq!(at("1.0.0"), Some(Some("1.2.0".into())));
        assert_eq!(at("1.2.0"), None);
        assert_eq!(at("1.9.9"), None);
        assert_eq!(at("2.0.2"), Some(Some("2.0.3".into())));
        assert_eq!(at("2.1.0"), None);
    }

    #[test]
    fn limits_versions_lists_and_junk() {
        let limited = advisory(
            vec![range(&[Introduced("0".into()), Limit("2.0.0".into())])],
            &[],
        );
        assert_eq!(affects(&limited, Scheme::SemVer, "1.5.0"), Some(None));
        assert_eq!(affects(&limited, Scheme::SemVer, "2.0.0"), None);
        let listed = advisory(Vec::new(), &["1.0.1", "1.0.3"]);
        assert_eq!(affects(&listed, Scheme::SemVer, "1.0.3"), Some(None));
        assert_eq!(affects(&listed, Scheme::SemVer, "1.0.2"), None);
        let open = advisory(vec![range(&[Introduced("0".into())])], &[]);
        assert_eq!(affects(&open, Scheme::SemVer, "99.0.0"), Some(None));
        // A version the scheme cannot order matches no range.
        let fixed = advisory(
            vec![range(&[Introduced("0".into()), Fixed("1.0.0".into())])],
            &[],
        );
        assert_eq!(affects(&fixed, Scheme::SemVer, "not a version"), None);
    }
}
