//! The bodies webhooks send, in Harbor's formats: the `Default` JSON
//! (`pkg/notifier/model/event.go`), CloudEvents 1.0 structured JSON
//! (`pkg/notifier/formats/cloudevents.go`) and Slack's Block Kit message.

use harbor_core::webhook::{EventType, NotifyType, PayloadFormat, Target};
use serde_json::{Value, json};

/// What every format is built from: one event as Harbor describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct EventData {
    /// Harbor's event type.
    pub event_type: EventType,
    /// When it happened (ms).
    pub occurred_ms: i64,
    /// Who caused it.
    pub operator: String,
    /// Harbor's `event_data` object.
    pub data: Value,
}

/// The content type and body for `target`; `id` is the delivery's idempotency key and
/// `source` the policy's path (`/projects/<pid>/webhook/policies/<id>`).
pub fn render(e: &EventData, target: &Target, id: &str, source: &str) -> (&'static str, String) {
    match (target.kind, target.payload_format) {
        (NotifyType::Slack, _) => ("application/json", slack(e).to_string()),
        (NotifyType::Http, PayloadFormat::CloudEvents) => (
            "application/cloudevents+json",
            cloud_event(e, id, source).to_string(),
        ),
        (NotifyType::Http, PayloadFormat::Default) => ("application/json", default(e).to_string()),
    }
}

/// The content type of a stored body for `target`.
pub fn content_type(target: &Target) -> &'static str {
    match (target.kind, target.payload_format) {
        (NotifyType::Http, PayloadFormat::CloudEvents) => "application/cloudevents+json",
        _ => "application/json",
    }
}

/// Harbor's `Default` payload.
pub fn default(e: &EventData) -> Value {
    json!({
        "type": e.event_type.as_str(),
        "occur_at": e.occurred_ms.div_euclid(1000),
        "operator": e.operator,
        "event_data": e.data,
    })
}

/// A CloudEvents 1.0 event in structured JSON mode.
pub fn cloud_event(e: &EventData, id: &str, source: &str) -> Value {
    json!({
        "specversion": "1.0",
        "id": id,
        "source": source,
        "type": e.event_type.cloud_event_type(),
        "datacontenttype": "application/json",
        "time": rfc3339(e.occurred_ms),
        "operator": e.operator,
        "data": e.data,
    })
}

/// Slack's message: Harbor's template (a title, the event's type, time and operator, and
/// its data as a code block), as Block Kit sections.
pub fn slack(e: &EventData) -> Value {
    let secs = e.occurred_ms.div_euclid(1000);
    let data = serde_json::to_string_pretty(&e.data).unwrap_or_default();
    // Slack cuts a text object at 3,000 characters.
    let data: String = data.chars().take(2_900).collect();
    json!({
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Harbor webhook events*"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": format!(
                "*event_type:* {}\n*occur_at:* <!date^{secs}^{{date}} at {{time}}|{}>\n*operator:* {}",
                e.event_type.as_str(), rfc3339(e.occurred_ms), e.operator)}},
            {"type": "section", "text": {"type": "mrkdwn", "text": format!("```{data}```")}},
        ]
    })
}

/// `2026-12-06T10:00:00Z` (RFC 3339, UTC, whole seconds).
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push() -> EventData {
        EventData {
            event_type: EventType::PushArtifact,
            occurred_ms: 1_796_558_400_999,
            operator: "admin".into(),
            data: json!({"resources": [{"digest": "sha256:ab", "tag": "v1"}]}),
        }
    }

    #[test]
    fn default_and_cloud_events_carry_the_same_data() {
        let e = push();
        let d = default(&e);
        assert_eq!(d["type"], "PUSH_ARTIFACT");
        assert_eq!(d["occur_at"], 1_796_558_400_i64);
        assert_eq!(d["operator"], "admin");
        assert_eq!(d["event_data"], e.data);
        let c = cloud_event(&e, "id-1", "/projects/1/webhook/policies/2");
        assert_eq!(c["specversion"], "1.0");
        assert_eq!(c["id"], "id-1");
        assert_eq!(c["type"], "harbor.artifact.pushed");
        assert_eq!(c["time"], "2026-12-06T12:00:00Z");
        assert_eq!(c["source"], "/projects/1/webhook/policies/2");
        assert_eq!(c["data"], e.data);
    }

    #[test]
    fn slack_gets_block_kit() {
        let s = slack(&push());
        let blocks = s["blocks"].as_array().unwrap();
        assert_eq!(blocks.len(), 3);
        assert!(
            blocks[1]["text"]["text"]
                .as_str()
                .unwrap()
                .contains("PUSH_ARTIFACT")
        );
        assert!(
            blocks[2]["text"]["text"]
                .as_str()
                .unwrap()
                .contains("sha256:ab")
        );
    }

    #[test]
    fn times_are_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
    }
}
