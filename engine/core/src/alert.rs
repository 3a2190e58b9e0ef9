//! Alerts: what the engine emits, in the JSON Lines contract documented in the README.

use crate::event::{Event, SourceOffset};
use crate::time::EventTime;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use smallvec::SmallVec;
use std::fmt;

/// Alert severity, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Context for hunting; not paged.
    Info,
    /// Worth a look.
    Low,
    /// Investigate today.
    Medium,
    /// Investigate now.
    High,
    /// Active compromise likely.
    Critical,
}

impl Severity {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stable alert id: the same rule, identity and triggering events always give the same id, so
/// a replayed or re-delivered alert is recognisable.
///
/// Specified as the first 16 bytes, in lowercase hex, of SHA-256 over
/// `"nhiwatch-alert-v1"`, the rule id, the identity key and each part, every item followed by a
/// zero byte. Parts are the triggering event ids (or the window start for windowed rules).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AlertId(pub String);

impl AlertId {
    /// Computes the id from the alert's content.
    pub fn from_content<S: AsRef<str>>(rule_id: &str, identity: &str, parts: &[S]) -> Self {
        let mut hasher = Sha256::new();
        for item in [b"nhiwatch-alert-v1".as_slice(), rule_id.as_bytes(), identity.as_bytes()] {
            hasher.update(item);
            hasher.update([0u8]);
        }
        for part in parts {
            hasher.update(part.as_ref().as_bytes());
            hasher.update([0u8]);
        }
        Self(hex::encode(&hasher.finalize()[..16]))
    }
}

/// One ATT&CK technique on an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttackRef {
    /// Technique id, e.g. `T1136.003`.
    pub technique_id: String,
    /// Technique name as ATT&CK writes it (`Create Account: Cloud Account`).
    pub technique: String,
    /// Tactic names, in ATT&CK's order.
    pub tactics: Vec<String>,
}

/// The identity an alert is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertIdentity {
    /// Stable identity key.
    pub id: String,
    /// Principal type.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Whether it is a non-human identity.
    pub nhi: bool,
    /// Why it was classified so (shared with the engine's classification).
    pub nhi_reason: std::sync::Arc<str>,
    /// Owning account.
    pub account: String,
    /// Readable name of the account from `[org.account_names]`, if configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    /// Short name.
    pub name: String,
    /// Access key used by the triggering event, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// Who acted through the identity (GCP impersonation, Kubernetes impersonation), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

/// One event cited as evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Record id.
    pub event_id: String,
    /// Event time.
    pub time: EventTime,
    /// `service:action` is split into its parts for readability.
    pub service: String,
    /// API action.
    pub action: String,
    /// Account the event was recorded in.
    pub account: String,
    /// Region.
    pub region: String,
    /// Source address or service host.
    pub source_ip: String,
    /// User agent.
    pub user_agent: String,
    /// Error code when the call failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Where the record was read from.
    pub source: SourceOffset,
}

/// An event cited as evidence, kept compactly: its strings share one block of text, so an
/// alert, a baseline or a sequence in progress that cites an event costs one allocation instead
/// of eight (none with [`InlineText`]). Written (in alerts and snapshots) exactly as the
/// [`Evidence`] it stands for, whatever holds its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Cited<T: CitedText = Box<str>> {
    time: EventTime,
    /// The event id, service, action, account, region, source address, user agent and error
    /// code, one after another.
    text: T,
    /// Where each of those ends in `text`.
    ends: [u32; 8],
    /// Whether the record carried an error code (an empty one included).
    failed: bool,
    source: SourceOffset,
}

/// What holds a [`Cited`] event's text.
pub trait CitedText {
    /// The parts, one after another.
    fn concat(parts: &[&str]) -> Self;
    /// The text.
    fn as_str(&self) -> &str;
}

impl CitedText for Box<str> {
    fn concat(parts: &[&str]) -> Self {
        parts.concat().into_boxed_str()
    }

    fn as_str(&self) -> &str {
        self
    }
}

/// Bytes of text an [`InlineText`] holds without allocating by default: a CloudTrail record's
/// cited fields, 36-character event id and SDK user agent (often 100–200 characters) included.
pub const INLINE_TEXT: usize = 320;

/// Text held in place while it fits in `N` bytes (on the heap beyond): for state made and
/// dropped per event, such as a sequence's first step, which most events start and few
/// complete, so holding it costs no allocation and dropping it no scattered free. Written as
/// the text itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InlineText<const N: usize = INLINE_TEXT>(SmallVec<[u8; N]>);

impl<const N: usize> InlineText<N> {
    /// A copy of `text`.
    pub fn new(text: &str) -> Self {
        Self(SmallVec::from_slice(text.as_bytes()))
    }

    /// Appends `text`.
    pub fn push_str(&mut self, text: &str) {
        self.0.extend_from_slice(text.as_bytes());
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Always UTF-8: made from `&str`s.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl<const N: usize> CitedText for InlineText<N> {
    fn concat(parts: &[&str]) -> Self {
        let mut text = Self(SmallVec::with_capacity(parts.iter().map(|p| p.len()).sum()));
        parts.iter().for_each(|p| text.push_str(p));
        text
    }

    fn as_str(&self) -> &str {
        Self::as_str(self)
    }
}

impl<const N: usize> Serialize for InlineText<N> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de, const N: usize> Deserialize<'de> for InlineText<N> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|text| Self::new(&text))
    }
}

impl<T: CitedText> Cited<T> {
    /// Cites `event`.
    pub fn from_event(event: &Event) -> Self {
        let error = event.outcome.error_code.as_deref();
        Self::from_parts(
            [
                &event.event_id,
                &event.service,
                &event.action,
                &event.account,
                &event.region,
                event.source_ip_text(),
                &event.user_agent,
                error.unwrap_or_default(),
            ],
            event.time,
            error.is_some(),
            event.offset.clone(),
        )
    }

    fn from_parts(parts: [&str; 8], time: EventTime, failed: bool, source: SourceOffset) -> Self {
        let mut ends = [0u32; 8];
        let mut end = 0usize;
        for (e, part) in ends.iter_mut().zip(parts) {
            end += part.len();
            // Records are far below 4 GiB; a longer text would read back cut, never panic.
            *e = u32::try_from(end).unwrap_or(u32::MAX);
        }
        Self { time, text: T::concat(&parts), ends, failed, source }
    }

    /// The same citation with its text held by `U`.
    pub fn convert<U: CitedText>(&self) -> Cited<U> {
        Cited {
            time: self.time,
            text: U::concat(&[self.text.as_str()]),
            ends: self.ends,
            failed: self.failed,
            source: self.source.clone(),
        }
    }

    /// The citation's fields, borrowed (the one place that knows the order of `text`).
    fn view(&self) -> CitedView<'_> {
        let text = self.text.as_str();
        let [event_id, service, action, account, region, source_ip, user_agent, error_code] =
            std::array::from_fn(|i| {
                let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
                text.get(start..self.ends[i] as usize).unwrap_or_default()
            });
        CitedView {
            event_id,
            time: self.time,
            service,
            action,
            account,
            region,
            source_ip,
            user_agent,
            error_code: self.failed.then_some(error_code),
            source: &self.source,
        }
    }

    /// Event time.
    pub fn time(&self) -> EventTime {
        self.time
    }

    /// Record id.
    pub fn event_id(&self) -> &str {
        self.view().event_id
    }

    /// API action.
    pub fn action(&self) -> &str {
        self.view().action
    }

    /// Source address or service host.
    pub fn source_ip(&self) -> &str {
        self.view().source_ip
    }

    /// Error code when the call failed.
    pub fn error_code(&self) -> Option<&str> {
        self.view().error_code
    }

    /// Where the record was read from.
    pub fn source(&self) -> &SourceOffset {
        &self.source
    }

    /// The same citation as an [`Evidence`] with its own strings.
    pub fn to_evidence(&self) -> Evidence {
        let v = self.view();
        Evidence {
            event_id: v.event_id.into(),
            time: v.time,
            service: v.service.into(),
            action: v.action.into(),
            account: v.account.into(),
            region: v.region.into(),
            source_ip: v.source_ip.into(),
            user_agent: v.user_agent.into(),
            error_code: v.error_code.map(str::to_string),
            source: v.source.clone(),
        }
    }
}

/// [`Evidence`]'s fields borrowed from a [`Cited`]: what it serialises as.
#[derive(Serialize)]
struct CitedView<'a> {
    event_id: &'a str,
    time: EventTime,
    service: &'a str,
    action: &'a str,
    account: &'a str,
    region: &'a str,
    source_ip: &'a str,
    user_agent: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'a str>,
    source: &'a SourceOffset,
}

impl<T: CitedText> From<Evidence> for Cited<T> {
    fn from(e: Evidence) -> Self {
        let parts = [
            e.event_id.as_str(),
            &e.service,
            &e.action,
            &e.account,
            &e.region,
            &e.source_ip,
            &e.user_agent,
            e.error_code.as_deref().unwrap_or_default(),
        ];
        Self::from_parts(parts, e.time, e.error_code.is_some(), e.source)
    }
}

impl<'de, T: CitedText> Deserialize<'de> for Cited<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Evidence::deserialize(deserializer).map(Self::from)
    }
}

impl<T: CitedText> Serialize for Cited<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.view().serialize(serializer)
    }
}

/// An alert, serialized as one JSON line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// Stable content hash.
    pub id: AlertId,
    /// Rule that fired.
    pub rule_id: String,
    /// Rule title.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// Event time of the triggering event.
    pub time: EventTime,
    /// Watermark when the alert was emitted.
    pub detected_at: EventTime,
    /// Who.
    pub identity: AlertIdentity,
    /// ATT&CK techniques.
    pub attack: std::sync::Arc<[AttackRef]>,
    /// One sentence for the analyst.
    pub summary: String,
    /// What made it unusual (rule-specific, keys sorted).
    pub context: serde_json::Map<String, serde_json::Value>,
    /// The events behind it (capped; see `count`).
    pub evidence: Vec<Cited>,
    /// Number of events behind it.
    pub count: u64,
    /// Where the triggering record was read from.
    pub source: SourceOffset,
    /// True for alerts of rules in shadow mode (kept apart from analysts' sinks).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub shadow: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_ids_are_stable_and_content_sensitive() {
        let a = AlertId::from_content("r", "arn:aws:iam::1:role/x", &["e1", "e2"]);
        let b = AlertId::from_content("r", "arn:aws:iam::1:role/x", &["e1", "e2"]);
        let c = AlertId::from_content("r", "arn:aws:iam::1:role/x", &["e1e2"]);
        assert_eq!(a, b);
        assert_ne!(a, c, "part boundaries are part of the content");
        assert_eq!(a.0.len(), 32);
        // Pinned so a change of the specified hash is a deliberate, visible change.
        assert_eq!(AlertId::from_content::<&str>("r", "i", &[]).0, "a308d35924315bc5a1deaa7ceb57dcab");
    }

    #[test]
    fn cited_events_read_back_as_the_evidence_they_were_made_from() {
        let time = "2026-03-01T10:00:00Z".parse().expect("time");
        let source = SourceOffset { file: "a.json".into(), line: Some(3), record: 2 };
        let full = Evidence {
            event_id: "e1".into(),
            time,
            service: "iam.amazonaws.com".into(),
            action: "CreateUser".into(),
            account: "111111111111".into(),
            region: "us-east-1".into(),
            source_ip: "203.0.113.7".into(),
            user_agent: "aws-cli/2".into(),
            error_code: Some("AccessDenied".into()),
            source,
        };
        let sparse = Evidence { region: String::new(), user_agent: String::new(), error_code: None, ..full.clone() };
        let empty_error = Evidence { error_code: Some(String::new()), ..full.clone() };
        let long = Evidence { user_agent: "a".repeat(INLINE_TEXT), ..full.clone() };
        for e in [full, sparse, empty_error, long] {
            // Held inline (or spilled, for the long one) the citation reads back the same.
            let inline: Cited<InlineText> = Cited::from(e.clone());
            assert_eq!(inline.to_evidence(), e);
            assert_eq!(
                serde_json::to_string(&inline).expect("serialize"),
                serde_json::to_string(&e).expect("serialize")
            );
            assert_eq!(inline.convert::<Box<str>>(), Cited::from(e.clone()));
            let cited = Cited::from(e.clone());
            assert_eq!(cited.to_evidence(), e);
            assert_eq!((cited.time(), cited.event_id(), cited.action()), (e.time, "e1", "CreateUser"));
            let json = serde_json::to_string(&cited).expect("serialize");
            assert_eq!(json, serde_json::to_string(&e).expect("serialize"), "written as the evidence it cites");
            assert_eq!(serde_json::from_str::<Cited>(&json).expect("deserialize"), cited);
        }
    }
}
