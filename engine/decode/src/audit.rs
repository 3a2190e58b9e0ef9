//! Audit records other than CloudTrail: recognised by their shape, read into the same [`Event`].
//!
//! Google Cloud Audit Logs ([`crate::gcp`]), Azure activity, sign-in and Entra audit logs
//! ([`crate::azure`]) and Kubernetes audit events ([`crate::k8s`]) are rarer than CloudTrail
//! in most estates and far more varied in shape (exports rename and re-case fields), so they are
//! read through a JSON tree with case-tolerant lookups rather than CloudTrail's borrowed,
//! typed view.
//!
//! [`Event`]: nhiwatch_core::Event

use crate::bad::{BadReason, Note};
use crate::cloudtrail::{Decoded, RecordError, content_id, invalid_time, origin_of, parse_event_time, raw_record};
use chrono::{DateTime, Utc};
use compact_str::CompactString;
use nhiwatch_core::geo::GeoInfo;
use nhiwatch_core::{Event, Identity, Outcome, SourceKind, SourceOffset};
use serde_json::Value;
use std::sync::Arc;

/// The field names a record of each source is recognised by, for the error that lists them.
const KNOWN_SHAPES: &str = "a CloudTrail record (eventTime, eventName), a GCP audit LogEntry (protoPayload, also as a \
     Pub/Sub message), an Azure activity, sign-in or audit record (operationName, category), or a Kubernetes audit \
     Event (verb, user)";

/// Decodes a record that is not CloudTrail; `text` is its JSON.
pub(crate) fn decode_other(
    text: &str,
    buf: Option<&Arc<String>>,
    offset: SourceOffset,
) -> Result<Decoded, RecordError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| RecordError { reason: BadReason::InvalidJson, detail: e.to_string() })?;
    if !value.is_object() {
        return Err(RecordError {
            reason: BadReason::UnknownShape,
            detail: format!("not an audit record: expected {KNOWN_SHAPES}"),
        });
    }
    if let Some(data) = at(&value, &["message", "data"]).and_then(Value::as_str) {
        return pubsub_message(data, offset);
    }
    let draft = if get(&value, "protoPayload").is_some() {
        crate::gcp::decode(&value)?
    } else if crate::k8s::is_k8s(&value) {
        crate::k8s::decode(&value)?
    } else if let Some(draft) = crate::azure::decode(&value)? {
        draft
    } else {
        return Err(RecordError {
            reason: BadReason::UnknownShape,
            detail: format!("not a recognised audit record: expected {KNOWN_SHAPES}"),
        });
    };
    Ok(draft.finish(text, buf, offset))
}

/// A Pub/Sub message (pull or push format, as a GCP log sink's subscription delivers it):
/// the log entry is the message's base64 `data`.
fn pubsub_message(data: &str, offset: SourceOffset) -> Result<Decoded, RecordError> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(data.trim()).map_err(|e| RecordError {
        reason: BadReason::WrongType,
        detail: format!("field 'message.data': not base64 ({e})"),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| RecordError {
        reason: BadReason::InvalidUtf8,
        detail: format!(
            "field 'message.data': the decoded message is not UTF-8 (from byte {})",
            e.utf8_error().valid_up_to()
        ),
    })?;
    crate::cloudtrail::decode_record(&text, offset)
}

/// What a source decoder read from one record, before the shared parts are filled in.
#[derive(Debug)]
pub(crate) struct Draft {
    pub time: DateTime<Utc>,
    pub source: SourceKind,
    pub account: CompactString,
    pub region: CompactString,
    pub service: CompactString,
    pub action: CompactString,
    /// The record's own id; `None` derives one from the record's content.
    pub event_id: Option<String>,
    pub identity: Identity,
    pub origin: Option<String>,
    pub user_agent: String,
    pub outcome: Outcome,
    pub read_only: Option<bool>,
    pub category: CompactString,
    /// Where the record itself says the caller was (Entra sign-ins); a GeoIP lookup of the
    /// address, when configured, takes precedence in the engine.
    pub geo: Option<GeoInfo>,
}

impl Draft {
    fn finish(self, text: &str, buf: Option<&Arc<String>>, offset: SourceOffset) -> Decoded {
        let mut notes: Vec<Note> = Vec::new();
        let (origin, cached) = origin_of(self.origin.as_deref(), &mut notes);
        let event_id = self.event_id.filter(|id| !id.is_empty()).unwrap_or_else(|| content_id(text));
        Decoded {
            event: Event {
                time: self.time,
                source: self.source,
                account: self.account,
                region: self.region,
                service: self.service,
                action: self.action,
                event_id,
                identity: self.identity,
                origin,
                user_agent: self.user_agent,
                outcome: self.outcome,
                read_only: self.read_only,
                category: self.category,
                vpc_endpoint_id: None,
                invoked_by: None,
                raw: raw_record(text, buf),
                offset,
                geo: self.geo.filter(|g| !g.is_empty()).map(Arc::new),
                text: cached,
            },
            notes,
        }
    }
}

/// A member of an object by key, also found when an export changed its case (`insertid`).
pub(crate) fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    let obj = v.as_object()?;
    obj.get(key).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// The value at a path of keys; `null` counts as absent.
pub(crate) fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| get(v, k)).filter(|v| !v.is_null())
}

/// A text field at `path`: `Ok(None)` when absent or empty, an error naming the field when it
/// holds something other than text. Numbers are read as their text (ids written as numbers).
pub(crate) fn text<'a>(v: &'a Value, path: &[&str]) -> Result<Option<std::borrow::Cow<'a, str>>, RecordError> {
    match at(v, path) {
        None => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str().into())),
        Some(Value::Number(n)) => Ok(Some(n.to_string().into())),
        Some(other) => Err(wrong_type(path, "text", other)),
    }
}

/// Like [`text`], owned, empty when absent.
pub(crate) fn text_or_empty(v: &Value, path: &[&str]) -> Result<String, RecordError> {
    Ok(text(v, path)?.map(|s| s.into_owned()).unwrap_or_default())
}

/// The first of several candidate text fields that is present.
pub(crate) fn first_text(v: &Value, paths: &[&[&str]]) -> Result<Option<String>, RecordError> {
    for p in paths {
        if let Some(t) = text(v, p)? {
            return Ok(Some(t.into_owned()));
        }
    }
    Ok(None)
}

/// The record's time from the first present candidate field; an error names the first field
/// when none is present, or the field whose value is not a timestamp.
pub(crate) fn time_of(v: &Value, paths: &[&[&str]]) -> Result<DateTime<Utc>, RecordError> {
    for p in paths {
        if let Some(t) = text(v, p)? {
            return parse_event_time(&t).ok_or_else(|| invalid_time(&p.join("."), &t));
        }
    }
    Err(missing(paths.first().copied().unwrap_or_default()))
}

pub(crate) fn missing(path: &[&str]) -> RecordError {
    crate::cloudtrail::missing(&path.join("."))
}

pub(crate) fn wrong_type(path: &[&str], expected: &str, found: &Value) -> RecordError {
    let kind = match found {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    RecordError {
        reason: BadReason::WrongType,
        detail: format!("field '{}': expected {expected}, found {kind}", path.join(".")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pubsub_messages_carry_log_entries() {
        use base64::Engine as _;
        let entry = r#"{"insertId":"ps-1","timestamp":"2026-03-14T03:00:00Z","resource":{"labels":{"project_id":"p"}},"protoPayload":{"serviceName":"iam.googleapis.com","methodName":"google.iam.admin.v1.CreateServiceAccountKey","authenticationInfo":{"principalEmail":"ci@p.iam.gserviceaccount.com"}}}"#;
        let data = base64::engine::general_purpose::STANDARD.encode(entry);
        let off = || SourceOffset { file: Arc::from("t"), line: Some(1), record: 0 };
        let push = format!(
            r#"{{"message":{{"data":"{data}","messageId":"1","publishTime":"2026-03-14T03:00:01Z"}},"subscription":"projects/p/subscriptions/audit"}}"#
        );
        let d = crate::decode_record(&push, off()).expect("decodes");
        assert_eq!(d.event.source, SourceKind::GcpAudit);
        assert_eq!(d.event.event_id, "ps-1");
        assert_eq!(d.event.raw.text(), entry);
        let e = crate::decode_record(r#"{"ackId":"a","message":{"data":"%%%"}}"#, off()).expect_err("not base64");
        assert_eq!(e.reason, BadReason::WrongType);
        assert!(e.detail.contains("message.data"), "{}", e.detail);
    }

    #[test]
    fn lookups_tolerate_case_and_name_bad_types() {
        let v: Value = serde_json::from_str(r#"{"insertid":"a","n":{"x":7},"o":{"p":[1]}}"#).expect("json");
        assert_eq!(text(&v, &["insertId"]).expect("ok").as_deref(), Some("a"));
        assert_eq!(text(&v, &["n", "x"]).expect("ok").as_deref(), Some("7"));
        let e = text(&v, &["o", "p"]).expect_err("array");
        assert_eq!(e.reason, BadReason::WrongType);
        assert!(e.detail.contains("o.p"), "{}", e.detail);
    }
}
