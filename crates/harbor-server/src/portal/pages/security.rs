//! The security hub page (`/admin/security`, system administrators): the vulnerability
//! counts over the artifacts the default scanner scanned, the five most dangerous CVEs
//! and artifacts, and the findings filtered as Harbor's `/security/vul` filters them.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use harbor_api_model as m;
use maud::html;
use serde::Deserialize;

use super::{PAGE_SIZE, load};
use crate::portal::Portal;
use crate::portal::backend::enc;
use crate::portal::layout::{dash, empty, page, pager};
use crate::portal::viewer::Viewer;

pub(crate) fn routes() -> Router<Portal> {
    Router::new().route("/admin/security", get(hub))
}

/// Severities offered by the filter (Harbor's names).
const SEVERITIES: [&str; 6] = ["Critical", "High", "Medium", "Low", "Negligible", "Unknown"];

/// The filter form's fields and the page.
#[derive(Deserialize, Default)]
struct HubQuery {
    #[serde(default)]
    cve: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    repository: String,
    #[serde(default)]
    package: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    min: String,
    #[serde(default)]
    max: String,
    #[serde(default)]
    page: Option<u64>,
}

impl HubQuery {
    /// Harbor's `q` for the filled-in fields (characters of `q`'s syntax dropped, a score
    /// kept only when it is a number).
    fn q(&self) -> String {
        let mut parts = Vec::new();
        for (key, value) in [
            ("cve_id", &self.cve),
            ("repository_name", &self.repository),
            ("package", &self.package),
            ("tag", &self.tag),
        ] {
            let v = super::term(value);
            if !v.is_empty() {
                parts.push(format!("{key}={v}"));
            }
        }
        if let Some(s) = SEVERITIES.iter().find(|s| **s == self.severity) {
            parts.push(format!("severity={s}"));
        }
        let score = |s: &str| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(|x| x.to_string())
        };
        let (min, max) = (score(&self.min), score(&self.max));
        if min.is_some() || max.is_some() {
            parts.push(format!(
                "cvss_score_v3=[{}~{}]",
                min.unwrap_or_default(),
                max.unwrap_or_default()
            ));
        }
        parts.join(",")
    }

    /// This page's URL with the filters, ready for `page=`.
    fn base(&self) -> String {
        format!(
            "/admin/security?cve={}&severity={}&repository={}&package={}&tag={}&min={}&max={}&",
            enc(&self.cve),
            enc(&self.severity),
            enc(&self.repository),
            enc(&self.package),
            enc(&self.tag),
            enc(&self.min),
            enc(&self.max)
        )
    }
}

/// The portal's artifact page.
fn artifact_href(repository: &str, digest: &str) -> String {
    format!("/artifact?repo={}&ref={}", enc(repository), enc(digest))
}

/// A digest shortened for a table.
fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

/// `GET /admin/security`.
async fn hub(v: Viewer, State(p): State<Portal>, Query(q): Query<HubQuery>) -> Response {
    let page_no = q.page.unwrap_or(1).max(1);
    let filter = q.q();
    let mut path =
        format!("/security/vul?with_tag=true&tune_count=true&page={page_no}&page_size={PAGE_SIZE}");
    if !filter.is_empty() {
        path.push_str(&format!("&q={}", enc(&filter)));
    }
    let (summary, list) = tokio::join!(
        p.api.get(
            &v,
            "/security/summary?with_dangerous_cve=true&with_dangerous_artifact=true"
        ),
        p.api.get(&v, &path)
    );
    let summary: m::SecuritySummary = load!(v, load!(v, summary).decode());
    let list = load!(v, list);
    let items: Vec<m::security::VulnerabilityItem> = load!(v, list.decode());
    // With `tune_count`, more than 1,000 matches answer -1: page on without a total.
    let tuned = list
        .headers
        .get("x-total-count")
        .is_some_and(|h| h.as_bytes() == b"-1");
    let total = if tuned {
        (page_no - 1) * PAGE_SIZE + items.len() as u64 + u64::from(items.len() as u64 == PAGE_SIZE)
    } else {
        list.total()
    };
    let cves = summary.dangerous_cves.clone().unwrap_or_default();
    let artifacts = summary.dangerous_artifacts.clone().unwrap_or_default();
    let body = html! {
        h1 { "Security hub" }
        p.small { "Vulnerabilities of every artifact the default scanner scanned. Scan artifacts from their page, or export a project's findings as CSV with "
            code { "harbor cve-export create" } "." }
        section.card {
            h2 { "Summary" }
            div.grid #security-summary {
                dl.kv {
                    dt { "Vulnerabilities" } dd data-count="total" { (summary.total_vuls) }
                    dt { "Fixable" } dd data-count="fixable" { (summary.fixable_cnt) }
                    dt { "Scanned artifacts" } dd data-count="scanned" { (summary.scanned_cnt) " of " (summary.total_artifact) }
                }
                dl.kv {
                    dt { "Critical" } dd data-count="critical" { (summary.critical_cnt) }
                    dt { "High" } dd data-count="high" { (summary.high_cnt) }
                    dt { "Medium" } dd data-count="medium" { (summary.medium_cnt) }
                }
                dl.kv {
                    dt { "Low" } dd data-count="low" { (summary.low_cnt) }
                    dt { "None" } dd data-count="none" { (summary.none_cnt) }
                    dt { "Unknown" } dd data-count="unknown" { (summary.unknown_cnt) }
                }
            }
        }
        div.grid {
            section.card {
                h2 { "Most dangerous CVEs" }
                @if cves.is_empty() { (empty("No scored vulnerability found.")) } @else {
                    div.scroll { table #dangerous-cves {
                        thead { tr { th { "CVE" } th { "Score" } th { "Severity" } th { "Package" } } }
                        tbody { @for c in &cves {
                            tr data-cve=(c.cve_id) {
                                td { a href={ (q_link("cve", &c.cve_id)) } { (c.cve_id) } }
                                td { (format!("{:.1}", c.cvss_score_v3)) }
                                td class={ "severity-" (c.severity) } { (c.severity) }
                                td { (c.package) " " span.small { (c.version) } }
                            }
                        } }
                    } }
                }
            }
            section.card {
                h2 { "Most dangerous artifacts" }
                @if artifacts.is_empty() { (empty("No artifact with critical, high, medium or low vulnerabilities.")) } @else {
                    div.scroll { table #dangerous-artifacts {
                        thead { tr { th { "Artifact" } th { "Critical" } th { "High" } th { "Medium" } } }
                        tbody { @for a in &artifacts {
                            tr data-repository=(a.repository_name) {
                                td { a href=(artifact_href(&a.repository_name, &a.digest)) { (a.repository_name) "@" code { (short(&a.digest)) } } }
                                td { (a.critical_cnt) } td { (a.high_cnt) } td { (a.medium_cnt) }
                            }
                        } }
                    } }
                }
            }
        }
        section.card {
            h2 { "Vulnerabilities" }
            form.filters method="get" action="/admin/security" role="search" #vul-filter {
                label { "CVE" input #f-cve name="cve" value=(q.cve) placeholder="CVE-2024-1234" autocomplete="off"; }
                label { "Severity" select #f-severity name="severity" {
                    option value="" { "Any" }
                    @for s in SEVERITIES { option value=(s) selected[q.severity == s] { (s) } }
                } }
                label { "Repository" input #f-repository name="repository" value=(q.repository) placeholder="project/name" autocomplete="off"; }
                label { "Package" input #f-package name="package" value=(q.package) autocomplete="off"; }
                label { "Tag" input #f-tag name="tag" value=(q.tag) autocomplete="off"; }
                label { "CVSS from" input #f-min name="min" value=(q.min) inputmode="decimal" placeholder="0"; }
                label { "CVSS to" input #f-max name="max" value=(q.max) inputmode="decimal" placeholder="10"; }
                button type="submit" #apply-filter { "Filter" }
                @if !filter.is_empty() { a href="/admin/security" #clear-filters { "Clear filters" } }
            }
            @if items.is_empty() {
                @if filter.is_empty() { (empty("No vulnerabilities found.")) } @else { (empty("No vulnerability matches this filter.")) }
            } @else {
                div.scroll { table #vulnerabilities {
                    thead { tr {
                        th { "CVE" } th { "Score" } th { "Severity" } th { "Package" } th { "Fixed in" } th { "Artifact" }
                    } }
                    tbody { @for i in &items {
                        tr data-cve=(i.cve_id) data-repository=(i.repository_name) {
                            td { (i.cve_id) }
                            td { @if i.cvss_v3_score > 0.0 { (format!("{:.1}", i.cvss_v3_score)) } @else { "—" } }
                            td class={ "severity-" (i.severity) } { (i.severity) }
                            td { (i.package) " " span.small { (i.version) } }
                            td { (dash(&i.fixed_version)) }
                            td { a href=(artifact_href(&i.repository_name, &i.digest)) {
                                (i.repository_name)
                                @match i.tags.as_deref().and_then(|t| t.first()) {
                                    Some(t) => { ":" (t) }
                                    None => { "@" code { (short(&i.digest)) } }
                                }
                            } }
                        }
                    } }
                } }
                @if tuned { p.small #tuned { "More than 1,000 match: narrow the filter to count them." } }
                (pager(&q.base(), page_no, PAGE_SIZE, total))
            }
        }
    };
    page(Some(&v), "Security hub", body)
}

/// The page filtered by one field.
fn q_link(field: &str, value: &str) -> String {
    format!("/admin/security?{field}={}", enc(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_becomes_harbors_q() {
        let q = HubQuery {
            cve: " CVE-1 ".into(),
            severity: "High".into(),
            repository: "team/app".into(),
            min: "7".into(),
            ..Default::default()
        };
        assert_eq!(
            q.q(),
            "cve_id=CVE-1,repository_name=team/app,severity=High,cvss_score_v3=[7~]"
        );
        let sneaky = HubQuery {
            package: "a,severity=Low".into(),
            severity: "Awful".into(),
            max: "x".into(),
            ..Default::default()
        };
        assert_eq!(sneaky.q(), "package=aseverityLow");
        assert_eq!(HubQuery::default().q(), "");
    }
}
