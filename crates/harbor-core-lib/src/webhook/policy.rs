//! A webhook policy: its event types and targets, with Harbor's names and rules.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Most targets a policy may hold.
pub const MAX_TARGETS: usize = 10;
/// Longest `auth_header` accepted, in bytes.
pub const MAX_AUTH_HEADER: usize = 4096;
/// Longest target address accepted, in bytes.
const MAX_ADDRESS: usize = 2048;
/// Longest policy name.
const MAX_NAME: usize = 256;
/// Longest description.
const MAX_DESCRIPTION: usize = 1024;

/// Harbor's webhook event types (`pkg/notification/notification.go`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// An artifact was pushed.
    PushArtifact,
    /// An artifact was pulled.
    PullArtifact,
    /// An artifact was deleted.
    DeleteArtifact,
    /// A push was refused by the project's quota.
    QuotaExceed,
    /// A push left the project's usage at 85 % of its quota or more.
    QuotaWarning,
    /// A scan failed.
    ScanningFailed,
    /// A scan was stopped.
    ScanningStopped,
    /// A scan finished.
    ScanningCompleted,
    /// A replication execution ended.
    Replication,
    /// A tag retention run ended.
    TagRetention,
}

impl EventType {
    /// Every type, in Harbor's order.
    pub const ALL: [EventType; 10] = [
        EventType::PushArtifact,
        EventType::PullArtifact,
        EventType::DeleteArtifact,
        EventType::QuotaExceed,
        EventType::QuotaWarning,
        EventType::ScanningFailed,
        EventType::ScanningStopped,
        EventType::ScanningCompleted,
        EventType::Replication,
        EventType::TagRetention,
    ];

    /// Harbor's name (`PUSH_ARTIFACT`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::PushArtifact => "PUSH_ARTIFACT",
            EventType::PullArtifact => "PULL_ARTIFACT",
            EventType::DeleteArtifact => "DELETE_ARTIFACT",
            EventType::QuotaExceed => "QUOTA_EXCEED",
            EventType::QuotaWarning => "QUOTA_WARNING",
            EventType::ScanningFailed => "SCANNING_FAILED",
            EventType::ScanningStopped => "SCANNING_STOPPED",
            EventType::ScanningCompleted => "SCANNING_COMPLETED",
            EventType::Replication => "REPLICATION",
            EventType::TagRetention => "TAG_RETENTION",
        }
    }

    /// Parses Harbor's name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The CloudEvents `type` Harbor sends (`pkg/notifier/formats/cloudevents.go`).
    pub fn cloud_event_type(self) -> &'static str {
        match self {
            EventType::PushArtifact => "harbor.artifact.pushed",
            EventType::PullArtifact => "harbor.artifact.pulled",
            EventType::DeleteArtifact => "harbor.artifact.deleted",
            EventType::QuotaExceed => "harbor.quota.exceeded",
            EventType::QuotaWarning => "harbor.quota.warned",
            EventType::ScanningFailed => "harbor.scan.failed",
            EventType::ScanningStopped => "harbor.scan.stopped",
            EventType::ScanningCompleted => "harbor.scan.completed",
            EventType::Replication => "harbor.replication.status.changed",
            EventType::TagRetention => "harbor.tag_retention.finished",
        }
    }
}

/// Where a target sends: an HTTP endpoint or a Slack incoming webhook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyType {
    /// Any HTTP endpoint (`http`).
    Http,
    /// A Slack incoming webhook (`slack`).
    Slack,
}

impl NotifyType {
    /// Harbor's name.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyType::Http => "http",
            NotifyType::Slack => "slack",
        }
    }

    /// Parses Harbor's name.
    pub fn parse(s: &str) -> Option<Self> {
        [NotifyType::Http, NotifyType::Slack]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// How an `http` target's body is shaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PayloadFormat {
    /// Harbor's own JSON (`Default`).
    Default,
    /// A CloudEvents 1.0 structured JSON event (`CloudEvents`).
    CloudEvents,
}

impl PayloadFormat {
    /// Harbor's name.
    pub fn as_str(self) -> &'static str {
        match self {
            PayloadFormat::Default => "Default",
            PayloadFormat::CloudEvents => "CloudEvents",
        }
    }

    /// Parses Harbor's name.
    pub fn parse(s: &str) -> Option<Self> {
        [PayloadFormat::Default, PayloadFormat::CloudEvents]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// An `auth_header` sealed with the server's secret key (never shown in `Debug`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedHeader(pub Vec<u8>);

impl std::fmt::Debug for SealedHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedHeader(..)")
    }
}

/// One place a policy sends its events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// `http` or `slack`.
    pub kind: NotifyType,
    /// `http(s)://host[:port]/path`, without query (see [`normalise_address`]).
    pub address: String,
    /// The `Authorization` header's value, sealed.
    pub auth_header: Option<SealedHeader>,
    /// Do not verify the receiver's TLS certificate.
    pub skip_cert_verify: bool,
    /// The body's shape (`http` only; Slack gets its own).
    pub payload_format: PayloadFormat,
}

/// What a policy is, as created or updated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicySettings {
    /// Unique in its project.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Where it sends.
    pub targets: Vec<Target>,
    /// What it sends.
    pub event_types: Vec<EventType>,
    /// Whether it sends at all.
    pub enabled: bool,
}

impl PolicySettings {
    /// Harbor's rules (a name, at least one target and one event type) and ours (bounded
    /// sizes, no duplicate event types, addresses checked by [`normalise_address`]).
    pub fn validate(&mut self) -> Result<()> {
        self.name = self.name.trim().to_owned();
        if self.name.is_empty() {
            return Err(Error::Invalid("a webhook policy needs a name".into()));
        }
        if self.name.len() > MAX_NAME || self.name.chars().any(char::is_control) {
            return Err(Error::Invalid(format!(
                "the policy name must be at most {MAX_NAME} bytes without control characters"
            )));
        }
        if self.description.len() > MAX_DESCRIPTION {
            return Err(Error::Invalid(format!(
                "the description must be at most {MAX_DESCRIPTION} bytes"
            )));
        }
        if self.targets.is_empty() {
            return Err(Error::Invalid("a webhook policy needs a target".into()));
        }
        if self.targets.len() > MAX_TARGETS {
            return Err(Error::Invalid(format!(
                "a webhook policy holds at most {MAX_TARGETS} targets"
            )));
        }
        if self.event_types.is_empty() {
            return Err(Error::Invalid(
                "a webhook policy needs an event type".into(),
            ));
        }
        self.event_types.sort();
        self.event_types.dedup();
        for t in &mut self.targets {
            t.address = normalise_address(&t.address)?;
            if t.kind == NotifyType::Slack {
                t.payload_format = PayloadFormat::Default;
            }
        }
        Ok(())
    }
}

/// A stored policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Id.
    pub id: i64,
    /// Its project.
    pub project_id: i64,
    /// What it is.
    pub settings: PolicySettings,
    /// Who created it.
    pub creator: String,
    /// Created at (ms).
    pub created_ms: i64,
    /// Changed at (ms).
    pub updated_ms: i64,
}

impl Policy {
    /// Whether it sends events of `t`.
    pub fn wants(&self, t: EventType) -> bool {
        self.settings.enabled && self.settings.event_types.contains(&t)
    }
}

/// A target address as Harbor keeps it: `scheme://host[:port]/path` with the query and
/// fragment dropped (Harbor's guard against smuggling parameters). Only `http` and `https`
/// are accepted, with a host and without user information (credentials belong in
/// `auth_header`). Whether the host may be reached is the outbound address policy's
/// decision, made when sending.
pub fn normalise_address(raw: &str) -> Result<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(Error::Invalid("a webhook target needs an address".into()));
    }
    if raw.len() > MAX_ADDRESS {
        return Err(Error::Invalid(format!(
            "a webhook address must be at most {MAX_ADDRESS} bytes"
        )));
    }
    let url = url::Url::parse(raw)
        .map_err(|e| Error::Invalid(format!("invalid webhook address {raw:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::Invalid(format!(
            "invalid webhook address {raw:?}: use http:// or https://"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Invalid(format!(
            "invalid webhook address {raw:?}: put credentials in auth_header, not the address"
        )));
    }
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return Err(Error::Invalid(format!(
            "invalid webhook address {raw:?}: it needs a host"
        )));
    };
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    Ok(format!("{}://{host}{port}{}", url.scheme(), url.path()))
}

/// Checks an `auth_header` value: at most [`MAX_AUTH_HEADER`] bytes of visible ASCII and
/// spaces (no line breaks: it goes into a header as it is).
pub fn check_auth_header(value: &str) -> Result<()> {
    if value.len() > MAX_AUTH_HEADER {
        return Err(Error::Invalid(format!(
            "auth_header must be at most {MAX_AUTH_HEADER} bytes"
        )));
    }
    if !value
        .bytes()
        .all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic())
    {
        return Err(Error::Invalid(
            "auth_header may hold only visible ASCII characters and spaces".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(address: &str) -> Target {
        Target {
            kind: NotifyType::Http,
            address: address.into(),
            auth_header: None,
            skip_cert_verify: false,
            payload_format: PayloadFormat::CloudEvents,
        }
    }

    #[test]
    fn addresses_lose_query_and_fragment_and_keep_host_port_path() {
        assert_eq!(
            normalise_address(" https://ci.example.com:8443/hook/a?token=x#f ").unwrap(),
            "https://ci.example.com:8443/hook/a"
        );
        assert_eq!(
            normalise_address("http://10.0.0.1").unwrap(),
            "http://10.0.0.1/"
        );
        for bad in [
            "",
            "ftp://example.com/",
            "file:///etc/passwd",
            "gopher://x/",
            "http://user:pw@example.com/",
            "not a url",
            "http://",
        ] {
            let err = normalise_address(bad).unwrap_err();
            assert!(matches!(err, Error::Invalid(_)), "{bad}: {err}");
        }
        assert!(normalise_address(&format!("http://e.com/{}", "a".repeat(3000))).is_err());
    }

    #[test]
    fn auth_headers_are_bounded_and_single_line() {
        check_auth_header("Bearer abc.def").unwrap();
        assert!(check_auth_header("Bearer x\r\nX-Evil: 1").is_err());
        assert!(check_auth_header(&"a".repeat(MAX_AUTH_HEADER + 1)).is_err());
        check_auth_header(&"a".repeat(MAX_AUTH_HEADER)).unwrap();
    }

    #[test]
    fn settings_are_checked_and_tidied() {
        let mut s = PolicySettings {
            name: " ci ".into(),
            description: String::new(),
            targets: vec![Target {
                kind: NotifyType::Slack,
                ..target("https://hooks.slack.com/services/x?y=1")
            }],
            event_types: vec![
                EventType::PullArtifact,
                EventType::PushArtifact,
                EventType::PullArtifact,
            ],
            enabled: true,
        };
        s.validate().unwrap();
        assert_eq!(s.name, "ci");
        assert_eq!(
            s.event_types,
            [EventType::PushArtifact, EventType::PullArtifact]
        );
        assert_eq!(s.targets[0].address, "https://hooks.slack.com/services/x");
        assert_eq!(s.targets[0].payload_format, PayloadFormat::Default);
        for broken in [
            PolicySettings {
                name: String::new(),
                ..s.clone()
            },
            PolicySettings {
                targets: vec![],
                ..s.clone()
            },
            PolicySettings {
                event_types: vec![],
                ..s.clone()
            },
            PolicySettings {
                targets: vec![target("http://e.com/"); 11],
                ..s.clone()
            },
        ] {
            assert!(
                matches!(broken.clone().validate(), Err(Error::Invalid(_))),
                "{broken:?}"
            );
        }
    }

    #[test]
    fn event_types_have_harbors_names() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(
            EventType::PushArtifact.cloud_event_type(),
            "harbor.artifact.pushed"
        );
        assert_eq!(
            EventType::QuotaWarning.cloud_event_type(),
            "harbor.quota.warned"
        );
        assert!(EventType::parse("push_artifact").is_none());
    }
}
