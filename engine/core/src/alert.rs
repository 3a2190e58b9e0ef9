//! Alerts: what the engine emits, in the JSON Lines contract documented in the README.

use crate::event::{Event, SourceOffset};
use crate::time::EventTime;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
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
        let digest = hasher.finalize();
        Self(hex::encode(&digest[..16]))
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

impl Evidence {
    /// Cites an event.
    pub fn from_event(event: &Event) -> Self {
        Self {
            event_id: event.event_id.clone(),
            time: event.time,
            service: event.service.clone(),
            action: event.action.clone(),
            account: event.account.clone(),
            region: event.region.clone(),
            source_ip: event.source_ip_text().to_string(),
            user_agent: event.user_agent.clone(),
            error_code: event.outcome.error_code.clone(),
            source: event.offset.clone(),
        }
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
    pub evidence: Vec<Evidence>,
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
}
