//! Harbor's "prevent vulnerable images from running" rule (`prevent_vul` and `severity`
//! project metadata), without I/O: whether a project has it on, which artifacts it judges,
//! how severities rank, and Harbor's refusals word for word
//! (`server/middleware/vulnerable/vulnerable.go`). The service that loads the scan report
//! and the allowlist is `harbor_platform::scanner::pull_policy`.

use std::collections::HashSet;

use crate::artifact::{COSIGN_SIGNATURE, DOCKER_CONFIG, OCI_CONFIG, cosign_tag};
use crate::error::{Error, Result};
use crate::identity::Project;
use crate::manifest::{DOCKER_MANIFEST, OCI_MANIFEST, essence};

/// Harbor's rank of a severity name (`vuln.Severity.Code`): `None` and `Unknown` 0,
/// `Negligible` 1, `Low` 2, `Medium` 3, `High` 4, `Critical` 5; a name it does not know
/// ranks 99, above everything (the safe side).
pub fn rank(severity: &str) -> u8 {
    match severity {
        "None" | "Unknown" => 0,
        "Negligible" => 1,
        "Low" => 2,
        "Medium" => 3,
        "High" => 4,
        "Critical" => 5,
        _ => 99,
    }
}

/// The policy of a project that has `prevent_vul` on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreventVul {
    /// The threshold as Harbor names it in its message (`High`), from the `severity`
    /// metadata (CVSS v3 ratings; `negligible` counts as `None`, anything else or nothing
    /// as `Unknown`, as Harbor parses it).
    pub severity: &'static str,
}

impl PreventVul {
    /// The project's policy; `None` unless `prevent_vul` is `true`. Reads only the
    /// project record: no I/O.
    pub fn of(project: &Project) -> Option<Self> {
        let on = project
            .metadata
            .get("prevent_vul")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if !on {
            return None;
        }
        let s = project
            .metadata
            .get("severity")
            .map(|s| s.to_ascii_lowercase());
        let severity = match s.as_deref() {
            Some("none" | "negligible") => "None",
            Some("low") => "Low",
            Some("medium") => "Medium",
            Some("high") => "High",
            Some("critical") => "Critical",
            _ => "Unknown",
        };
        Some(Self { severity })
    }

    /// Whether a finding of `severity` reaches the threshold.
    pub fn reached_by(&self, severity: &str) -> bool {
        rank(severity) >= rank(self.severity)
    }

    fn policy(&self) -> String {
        format!(
            "cannot be pulled due to configured policy in 'Prevent images with vulnerability \
             severity of \"{}\" or higher from running.'",
            self.severity
        )
    }

    /// The refusal of an artifact the project's scanner never scanned.
    pub fn unscanned(&self) -> Error {
        Error::PolicyViolation(format!(
            "current image without vulnerability scanning {} To continue with pull, please \
             contact your project administrator for help.",
            self.policy()
        ))
    }

    /// The refusal of an artifact whose last scan did not succeed (`Pending`, `Running`,
    /// `Error`, `Stopped`).
    pub fn not_scanned_successfully(&self, status: &str) -> Error {
        Error::PolicyViolation(format!(
            "current image with \"{status}\" status of vulnerability scanning {} To continue \
             with pull, please contact your project administrator for help.",
            self.policy()
        ))
    }

    /// The refusal of an artifact with `count` vulnerabilities outside the allowlist.
    pub fn vulnerable(&self, count: u64) -> Error {
        let thing = if count > 1 {
            "vulnerabilities"
        } else {
            "vulnerability"
        };
        Error::PolicyViolation(format!(
            "current image with {count} {thing} {} To continue with pull, please contact your \
             project administrator to exempt matched vulnerabilities through configuring the \
             CVE allowlist.",
            self.policy()
        ))
    }

    /// Harbor's judgement of a successful report's findings (`(id, severity)`), the
    /// allowlisted ids `allowed` excepted: refused when the highest remaining severity
    /// reaches the threshold, with the number of remaining findings (of any severity, as
    /// Harbor counts them).
    pub fn judge<'a>(
        &self,
        findings: impl IntoIterator<Item = (&'a str, &'a str)>,
        allowed: &HashSet<&str>,
    ) -> Result<()> {
        let mut count = 0u64;
        let mut highest: Option<u8> = None;
        for (id, severity) in findings {
            if allowed.contains(id) {
                continue;
            }
            count += 1;
            let r = rank(severity);
            highest = Some(highest.map_or(r, |h| h.max(r)));
        }
        match highest {
            Some(h) if h >= rank(self.severity) => Err(self.vulnerable(count)),
            _ => Ok(()),
        }
    }
}

/// Whether the rule judges this manifest: an image (an OCI or Docker image manifest with
/// an image config) that is not an accessory (no `subject`, not a cosign signature, not
/// pulled by a cosign `<alg>-<hex>.sig/.att/.sbom` tag). Indexes, Helm charts, SBOMs,
/// signatures and other artifacts pass, as in Harbor, whose scanners scan images only.
pub fn judged(media_type: &str, content: &[u8], reference: &str) -> bool {
    let media_type = essence(media_type);
    if media_type != OCI_MANIFEST && media_type != DOCKER_MANIFEST {
        return false;
    }
    if cosign_tag(reference).is_some() {
        return false;
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(content) else {
        return false;
    };
    let config = v["config"]["mediaType"].as_str().unwrap_or_default();
    if config != OCI_CONFIG && config != DOCKER_CONFIG {
        return false;
    }
    if v.get("subject").is_some_and(|s| !s.is_null())
        || v["artifactType"].as_str() == Some(COSIGN_SIGNATURE)
    {
        return false;
    }
    let cosign_layer = v["layers"].as_array().is_some_and(|layers| {
        layers.iter().any(|l| {
            l["mediaType"]
                .as_str()
                .is_some_and(|t| t.starts_with("application/vnd.dev.cosign."))
        })
    });
    !cosign_layer
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn project(meta: &[(&str, &str)]) -> Project {
        Project {
            id: 1,
            name: "p".into(),
            owner_id: 1,
            owner_name: "admin".into(),
            public: false,
            metadata: meta
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            registry_id: None,
            created_ms: 0,
            updated_ms: 0,
        }
    }

    #[test]
    fn the_policy_is_read_from_metadata() {
        assert_eq!(PreventVul::of(&project(&[])), None);
        assert_eq!(
            PreventVul::of(&project(&[("prevent_vul", "false"), ("severity", "high")])),
            None
        );
        for (given, named) in [
            ("high", "High"),
            ("critical", "Critical"),
            ("low", "Low"),
            ("medium", "Medium"),
            ("none", "None"),
            ("negligible", "None"),
            ("bogus", "Unknown"),
        ] {
            let p = PreventVul::of(&project(&[("prevent_vul", "true"), ("severity", given)]));
            assert_eq!(p.unwrap().severity, named, "{given}");
        }
        let p = PreventVul::of(&project(&[("prevent_vul", "true")])).unwrap();
        assert_eq!(p.severity, "Unknown");
    }

    #[test]
    fn harbors_messages_word_for_word() {
        let p = PreventVul { severity: "High" };
        assert_eq!(
            p.vulnerable(15).to_string(),
            "current image with 15 vulnerabilities cannot be pulled due to configured policy in \
             'Prevent images with vulnerability severity of \"High\" or higher from running.' To \
             continue with pull, please contact your project administrator to exempt matched \
             vulnerabilities through configuring the CVE allowlist."
        );
        assert!(
            p.vulnerable(1)
                .to_string()
                .starts_with("current image with 1 vulnerability cannot")
        );
        assert_eq!(
            p.unscanned().to_string(),
            "current image without vulnerability scanning cannot be pulled due to configured \
             policy in 'Prevent images with vulnerability severity of \"High\" or higher from \
             running.' To continue with pull, please contact your project administrator for help."
        );
        assert_eq!(
            p.not_scanned_successfully("Error").to_string(),
            "current image with \"Error\" status of vulnerability scanning cannot be pulled due \
             to configured policy in 'Prevent images with vulnerability severity of \"High\" or \
             higher from running.' To continue with pull, please contact your project \
             administrator for help."
        );
        assert!(matches!(p.unscanned(), Error::PolicyViolation(_)));
    }

    #[test]
    fn judgement_counts_what_the_allowlist_leaves() {
        let p = PreventVul { severity: "High" };
        let findings = [
            ("CVE-1", "Critical"),
            ("CVE-2", "High"),
            ("CVE-3", "Medium"),
            ("CVE-4", "Unknown"),
        ];
        let none = HashSet::new();
        let e = p.judge(findings, &none).unwrap_err().to_string();
        assert!(e.starts_with("current image with 4 vulnerabilities"), "{e}");
        let some: HashSet<&str> = ["CVE-1"].into();
        let e = p.judge(findings, &some).unwrap_err().to_string();
        assert!(e.starts_with("current image with 3 vulnerabilities"), "{e}");
        let enough: HashSet<&str> = ["CVE-1", "CVE-2"].into();
        assert!(p.judge(findings, &enough).is_ok(), "Medium is below High");
        let all: HashSet<&str> = ["CVE-1", "CVE-2", "CVE-3", "CVE-4"].into();
        assert!(p.judge(findings, &all).is_ok());
        // `None` (and an unknown threshold) refuses any finding at all.
        let strict = PreventVul { severity: "None" };
        assert!(strict.judge([("CVE-4", "Unknown")], &none).is_err());
        assert!(strict.judge([], &none).is_ok());
        // An unknown finding severity ranks above everything.
        let top = PreventVul {
            severity: "Critical",
        };
        assert!(top.judge([("X-1", "Catastrophic")], &none).is_err());
        assert!(p.reached_by("Critical") && !p.reached_by("Medium"));
    }

    #[test]
    fn only_images_are_judged() {
        let image = br#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json"},"layers":[]}"#;
        assert!(judged(OCI_MANIFEST, image, "v1"));
        assert!(!judged(
            OCI_MANIFEST,
            image,
            "sha256-0123456789012345678901234567890123456789012345678901234567890123.sig"
        ));
        assert!(!judged(crate::manifest::OCI_INDEX, image, "v1"));
        let chart = br#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.cncf.helm.config.v1+json"},"layers":[]}"#;
        assert!(!judged(OCI_MANIFEST, chart, "v1"));
        let referrer = br#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json"},"layers":[],"subject":{"digest":"sha256:00"}}"#;
        assert!(!judged(OCI_MANIFEST, referrer, "v1"));
        let signature = br#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json"},"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json"}]}"#;
        assert!(!judged(OCI_MANIFEST, signature, "v1"));
        assert!(!judged(OCI_MANIFEST, b"not json", "v1"));
    }
}
