//! A vulnerability report's items as the findings the security hub and the CVE export
//! read, normalised as Harbor normalises them into `vulnerability_record`.

use harbor_api_model::scanner_adapter::VulnerabilityItem;
use harbor_core::scan::security::Finding;
use serde_json::Value;

/// The findings of a vulnerability report (Harbor's v1.0 or v1.1 report JSON): its
/// `vulnerabilities` items, skipping any that lack an id, package, version or severity;
/// none for anything else (an SBOM report).
pub fn of_report(report: &Value) -> Vec<Finding> {
    let Some(items) = report.get("vulnerabilities").and_then(Value::as_array) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| serde_json::from_value::<VulnerabilityItem>(item.clone()).ok())
        .map(|v| finding(&v))
        .collect()
}

/// One report item: the CVSS v3 score from `preferred_cvss.score_v3`, else the vendor's
/// `CVSS.nvd.V3Score` (what Trivy's adapter sends), as Harbor does.
fn finding(v: &VulnerabilityItem) -> Finding {
    let vendor = v.vendor_attributes.as_ref().filter(|a| !a.is_null());
    let cvss_v3 = v
        .preferred_cvss
        .as_ref()
        .and_then(|c| c.score_v3)
        .or_else(|| vendor.and_then(|a| a["CVSS"]["nvd"]["V3Score"].as_f64()))
        .filter(|s| s.is_finite() && (0.0..=10.0).contains(s));
    Finding {
        cve_id: v.id.clone(),
        package: v.package.clone(),
        version: v.version.clone(),
        fix_version: v.fix_version.clone(),
        severity: v.severity.clone(),
        cvss_v3,
        cwe_ids: v.cwe_ids.join(","),
        description: v.description.clone(),
        links: v.links.clone(),
        vendor_attributes: vendor.map(Value::to_string).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(items: Value) -> Value {
        json!({
            "generated_at": "2026-01-01T00:00:00Z",
            "artifact": {"repository": "library/app", "digest": "sha256:aa"},
            "scanner": {"name": "Trivy", "vendor": "Aqua", "version": "0.50"},
            "severity": "High",
            "vulnerabilities": items,
        })
    }

    #[test]
    fn items_become_findings_with_harbors_score_fallback() {
        let f = of_report(&report(json!([
            {"id": "CVE-1", "package": "openssl", "version": "1.1", "fix_version": "1.2",
             "severity": "High", "description": "bad", "links": ["https://a", "https://b"],
             "preferred_cvss": {"score_v3": 7.5, "vector_v3": "CVSS:3.1/AV:N"},
             "cwe_ids": ["CWE-79", "CWE-89"],
             "vendor_attributes": {"CVSS": {"nvd": {"V3Score": 9.9}}}},
            {"id": "CVE-2", "package": "zlib", "version": "1", "severity": "Critical",
             "vendor_attributes": {"CVSS": {"nvd": {"V3Score": 9.8}}}},
            {"id": "CVE-3", "package": "tar", "version": "1", "severity": "Low",
             "preferred_cvss": {"score_v3": 42.0}},
        ])));
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].cvss_v3, Some(7.5), "preferred_cvss first");
        assert_eq!(f[0].cwe_ids, "CWE-79,CWE-89");
        assert_eq!(f[0].links, ["https://a", "https://b"]);
        assert_eq!(f[0].fix_version, "1.2");
        assert_eq!(
            f[0].vendor_attributes,
            r#"{"CVSS":{"nvd":{"V3Score":9.9}}}"#
        );
        assert_eq!(f[1].cvss_v3, Some(9.8), "then the vendor's NVD score");
        assert_eq!(f[1].fix_version, "");
        assert_eq!(f[2].cvss_v3, None, "an impossible score is dropped");
        assert_eq!(f[2].vendor_attributes, "");
    }

    #[test]
    fn an_sbom_report_has_no_findings() {
        assert!(of_report(&json!({"media_type": "application/spdx+json", "sbom": {}})).is_empty());
        assert!(of_report(&report(json!([]))).is_empty());
        let one = of_report(&report(
            json!([{"id": "CVE-1"}, {"id": "CVE-2", "package": "p",
            "version": "1", "severity": "Low"}]),
        ));
        assert_eq!(one.len(), 1, "an incomplete item is skipped");
    }
}
