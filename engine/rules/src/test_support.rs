//! Events for unit tests: a CloudTrail-shaped event whose raw record is the given JSON.

use nhiwatch_core::{Event, Identity, IdentityKey, IdentityType, Origin, SourceKind, SourceOffset};
use serde_json::Value;

/// An event with `service`, `action` and `user_agent` read from the record's CloudTrail names
/// and everything else empty; tests set the fields they need.
pub(crate) fn event(json: &str) -> Event {
    let raw = nhiwatch_core::event::RawRecord::new(json);
    let v: Value = serde_json::from_str(json).unwrap_or_default();
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    Event {
        time: chrono::DateTime::default(),
        source: SourceKind::CloudTrail,
        account: Default::default(),
        region: Default::default(),
        service: s("eventSource").into(),
        action: s("eventName").into(),
        event_id: "e".into(),
        identity: Identity::new(IdentityKey("k".into()), IdentityType::IAMUser, "", String::new()),
        origin: Origin::Unknown,
        user_agent: s("userAgent"),
        outcome: Default::default(),
        read_only: None,
        category: Default::default(),
        vpc_endpoint_id: None,
        invoked_by: None,
        raw,
        offset: SourceOffset { file: std::sync::Arc::from("t"), line: None, record: 0 },
        geo: None,
        text: Default::default(),
    }
}
