//! Harbor's severities and their derivation from CVSS vectors and distribution ratings.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::record::SeverityScore;

/// Harbor's severity scale, lowest first (`Unknown` ranks lowest, as in Harbor).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
pub enum Severity {
    #[default]
    Unknown,
    Negligible,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 6] = [
        Self::Unknown,
        Self::Negligible,
        Self::Low,
        Self::Medium,
        Self::High,
        Self::Critical,
    ];

    /// The name Harbor's reports use (`High`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "Unknown",
            Self::Negligible => "Negligible",
            Self::Low => "Low",
            Self::Medium => "Medium",
            Self::High => "High",
            Self::Critical => "Critical",
        }
    }

    /// Reads a rating in any case: Harbor's names, GHSA's `MODERATE`, Ubuntu's priorities.
    pub fn parse(rating: &str) -> Option<Self> {
        Some(match rating.trim().to_ascii_lowercase().as_str() {
            "critical" => Self::Critical,
            "high" | "important" => Self::High,
            "medium" | "moderate" => Self::Medium,
            "low" => Self::Low,
            "negligible" | "untriaged" | "none" => Self::Negligible,
            "unknown" => Self::Unknown,
            _ => return None,
        })
    }

    /// CVSS's qualitative rating of a base score.
    pub fn from_score(score: f64) -> Self {
        match score {
            s if s >= 9.0 => Self::Critical,
            s if s >= 7.0 => Self::High,
            s if s >= 4.0 => Self::Medium,
            s if s > 0.0 => Self::Low,
            _ => Self::Negligible,
        }
    }
}

/// A CVSS vector with its base score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cvss {
    /// 2, 3 or 4.
    pub version: u8,
    pub vector: String,
    pub score: f64,
}

/// Scores a CVSS vector; `None` for an invalid one.
pub fn score(kind: &str, vector: &str) -> Option<Cvss> {
    let (version, score) = match kind {
        "CVSS_V3" => (3, cvss::v3::Vector::from_str(vector).ok()?.score().value()),
        "CVSS_V2" => (2, cvss::v2::Vector::from_str(vector).ok()?.score().value()),
        "CVSS_V4" => (4, cvss::v4::Vector::from_str(vector).ok()?.score().value()),
        _ => return None,
    };
    Some(Cvss {
        version,
        vector: vector.to_string(),
        score,
    })
}

/// The best CVSS score among `scores`: v3 first (what Harbor shows), then v4, then v2.
pub fn best_cvss(scores: &[SeverityScore]) -> Option<Cvss> {
    let mut all: Vec<Cvss> = scores
        .iter()
        .filter_map(|s| score(&s.kind, &s.score))
        .collect();
    all.sort_by_key(|c| match c.version {
        3 => 0,
        4 => 1,
        _ => 2,
    });
    all.into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_score_and_rate() {
        let log4shell = score("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H").unwrap();
        assert_eq!(log4shell.score, 10.0);
        assert_eq!(Severity::from_score(log4shell.score), Severity::Critical);
        let medium = score("CVSS_V3", "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N").unwrap();
        assert_eq!(
            Severity::from_score(medium.score),
            Severity::Medium,
            "{}",
            medium.score
        );
        let v2 = score("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P").unwrap();
        assert_eq!(v2.score, 7.5);
        assert!(score("CVSS_V3", "CVSS:3.1/junk").is_none());
        assert!(score("Ubuntu", "high").is_none());
    }

    #[test]
    fn ratings_parse_and_order() {
        assert_eq!(Severity::parse("MODERATE"), Some(Severity::Medium));
        assert_eq!(Severity::parse("negligible"), Some(Severity::Negligible));
        assert_eq!(Severity::parse("weird"), None);
        assert!(Severity::Unknown < Severity::Negligible && Severity::High < Severity::Critical);
    }
}
