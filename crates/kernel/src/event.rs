//! The envelope every domain event travels in: CloudEvents 1.0 (JSON format), so that a
//! consumer outside the platform can read the change feed without knowing our types.

use crate::{EventId, Kommunenummer, Timestamp};

pub use crate::id::EventId as CloudEventId;

/// A CloudEvents 1.0 envelope. `data` is the event-specific JSON body.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CloudEvent {
    /// Always `1.0`.
    pub specversion: String,
    /// Unique per event.
    pub id: String,
    /// What produced it, e.g. `/allmenning/registers`.
    pub source: String,
    /// Reverse-DNS event type, e.g. `no.allmenning.feedback.received`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// What the event is about (an id, never personal data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// When it happened, RFC 3339.
    pub time: String,
    /// Always `application/json`.
    pub datacontenttype: String,
    /// The municipality it belongs to, as a CloudEvents extension attribute; absent for
    /// national events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kommunenummer: Option<String>,
    /// The event body.
    pub data: serde_json::Value,
}

impl CloudEvent {
    /// A new event of `event_type` from `source`, happening now.
    pub fn new(
        source: &str,
        event_type: &str,
        kommunenummer: Option<Kommunenummer>,
        subject: Option<String>,
        data: serde_json::Value,
    ) -> Self {
        Self {
            specversion: "1.0".to_owned(),
            id: EventId::new().to_string(),
            source: source.to_owned(),
            event_type: event_type.to_owned(),
            subject,
            time: Timestamp::now().to_rfc3339(),
            datacontenttype: "application/json".to_owned(),
            kommunenummer: kommunenummer.map(|k| k.as_str().to_owned()),
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_the_cloudevents_attribute_names() {
        let k = Kommunenummer::parse("4601").expect("Bergen");
        let event = CloudEvent::new("/test", "no.allmenning.test", Some(k), None, serde_json::json!({"a": 1}));
        let json = serde_json::to_value(&event).expect("serialise");
        assert_eq!(json["specversion"], "1.0");
        assert_eq!(json["type"], "no.allmenning.test");
        assert_eq!(json["kommunenummer"], "4601");
        assert!(json.get("subject").is_none());
    }
}
