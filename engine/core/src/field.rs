//! Field paths: how rules name a value of an event.
//!
//! A path is either a normalized field (`action`, `identity.id`, `source_ip`, …), resolved
//! without touching the raw record, or a path into the original record
//! (`requestParameters.userName`, `resources.ARN`). Raw paths walk objects by key and arrays
//! element by element; a JSON document stored as a string (IAM policy documents in CloudTrail)
//! is parsed when the path continues into it; a path that ends on an object or array yields
//! every scalar inside it. A lookup can therefore yield several values; rules match if any does.

use crate::event::Event;
use std::fmt;

/// A normalized field, resolved from [`Event`] directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// `time` (RFC 3339).
    Time,
    /// `source` (`cloudtrail`).
    Source,
    /// `account` (`recipientAccountId`).
    Account,
    /// `region` (`awsRegion`).
    Region,
    /// `service` (`eventSource`).
    Service,
    /// `action` (`eventName`).
    Action,
    /// `event_id` (`eventID`).
    EventId,
    /// `identity.id`: the stable identity key.
    IdentityId,
    /// `identity.type`.
    IdentityType,
    /// `identity.name`.
    IdentityName,
    /// `identity.account`.
    IdentityAccount,
    /// `identity.access_key_id`.
    IdentityAccessKeyId,
    /// `identity.session_name`.
    IdentitySessionName,
    /// `identity.via`: who acted through the identity (impersonation, delegation).
    IdentityVia,
    /// `identity.nhi` (bool).
    IdentityNhi,
    /// `identity.nhi_reason`.
    IdentityNhiReason,
    /// `source_ip`: the address, or the service host when an AWS service made the call.
    SourceIp,
    /// `user_agent`.
    UserAgent,
    /// `error_code`.
    ErrorCode,
    /// `error_message`.
    ErrorMessage,
    /// `outcome`: `success` or `failure`.
    Outcome,
    /// `read_only` (bool).
    ReadOnly,
    /// `category` (`Management`, `Data`).
    Category,
    /// `vpc_endpoint_id`.
    VpcEndpointId,
    /// `invoked_by`.
    InvokedBy,
    /// `action_key`: `service:action` (`iam:CreateUser`).
    ActionKey,
    /// `user_agent.family` (`aws-cli`, `boto3`, `console`).
    UserAgentFamily,
    /// `source_network`: the /24 (IPv4) or /48 (IPv6) of a public source address.
    SourceNetwork,
    /// `geo.country`: ISO country code of the source address.
    GeoCountry,
    /// `geo.city`.
    GeoCity,
    /// `geo.asn`: autonomous system number (as text, `AS16509`).
    GeoAsn,
    /// `geo.as_org`: autonomous system organisation.
    GeoAsOrg,
}

/// Every normalized field with its name, for parsing and documentation.
pub const BUILTINS: &[(&str, Builtin)] = &[
    ("time", Builtin::Time),
    ("source", Builtin::Source),
    ("account", Builtin::Account),
    ("region", Builtin::Region),
    ("service", Builtin::Service),
    ("action", Builtin::Action),
    ("event_id", Builtin::EventId),
    ("identity.id", Builtin::IdentityId),
    ("identity.type", Builtin::IdentityType),
    ("identity.name", Builtin::IdentityName),
    ("identity.account", Builtin::IdentityAccount),
    ("identity.access_key_id", Builtin::IdentityAccessKeyId),
    ("identity.session_name", Builtin::IdentitySessionName),
    ("identity.via", Builtin::IdentityVia),
    ("identity.nhi", Builtin::IdentityNhi),
    ("identity.nhi_reason", Builtin::IdentityNhiReason),
    ("source_ip", Builtin::SourceIp),
    ("user_agent", Builtin::UserAgent),
    ("error_code", Builtin::ErrorCode),
    ("error_message", Builtin::ErrorMessage),
    ("outcome", Builtin::Outcome),
    ("read_only", Builtin::ReadOnly),
    ("category", Builtin::Category),
    ("vpc_endpoint_id", Builtin::VpcEndpointId),
    ("invoked_by", Builtin::InvokedBy),
    ("action_key", Builtin::ActionKey),
    ("user_agent.family", Builtin::UserAgentFamily),
    ("source_network", Builtin::SourceNetwork),
    ("geo.country", Builtin::GeoCountry),
    ("geo.city", Builtin::GeoCity),
    ("geo.asn", Builtin::GeoAsn),
    ("geo.as_org", Builtin::GeoAsOrg),
    // CloudTrail's own names for normalized fields resolve to the same, cheaper, lookup.
    ("eventName", Builtin::Action),
    ("eventSource", Builtin::Service),
    ("awsRegion", Builtin::Region),
    ("recipientAccountId", Builtin::Account),
    ("eventID", Builtin::EventId),
    ("sourceIPAddress", Builtin::SourceIp),
    ("userAgent", Builtin::UserAgent),
    ("errorCode", Builtin::ErrorCode),
    ("errorMessage", Builtin::ErrorMessage),
    ("eventCategory", Builtin::Category),
    ("vpcEndpointId", Builtin::VpcEndpointId),
    ("userIdentity.invokedBy", Builtin::InvokedBy),
];

/// One step of a raw path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Segment(pub String);

/// A compiled field path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldPath {
    /// A normalized field.
    Builtin(Builtin),
    /// A path into the original record.
    Raw(Vec<Segment>),
}

impl FieldPath {
    /// Parses a dotted path. Fails only on an empty path or an empty segment.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some((_, b)) = BUILTINS.iter().find(|(name, _)| *name == text) {
            return Ok(Self::Builtin(*b));
        }
        if text.is_empty() {
            return Err("empty field path".to_string());
        }
        let segments: Vec<Segment> = text.split('.').map(|s| Segment(s.to_string())).collect();
        if segments.iter().any(|s| s.0.is_empty()) {
            return Err(format!("field path '{text}' has an empty segment"));
        }
        Ok(Self::Raw(segments))
    }

    /// True when resolving this path never parses the raw record.
    pub fn is_builtin(&self) -> bool {
        matches!(self, Self::Builtin(_))
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Builtin(b) => {
                let name = BUILTINS.iter().find(|(_, x)| x == b).map_or("?", |(n, _)| *n);
                f.write_str(name)
            }
            Self::Raw(segs) => {
                for (i, s) in segs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(&s.0)?;
                }
                Ok(())
            }
        }
    }
}

/// One value found at a path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'a> {
    /// Text.
    Str(&'a str),
    /// A number.
    Num(f64),
    /// A boolean.
    Bool(bool),
    /// JSON `null`.
    Null,
}

impl FieldValue<'_> {
    /// The value as text (numbers and booleans as JSON writes them).
    pub fn to_text(&self) -> String {
        match self {
            Self::Str(s) => (*s).to_string(),
            Self::Num(n) => format_number(*n),
            Self::Bool(b) => b.to_string(),
            Self::Null => "null".to_string(),
        }
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { format!("{n}") }
}

impl Event {
    /// Calls `visit` with each value at `path` until it returns `true`; returns whether any call
    /// did. Absent fields yield nothing (so `exists: false` holds for them).
    pub fn visit_field(&self, path: &FieldPath, visit: &mut dyn FnMut(FieldValue<'_>) -> bool) -> bool {
        match path {
            FieldPath::Builtin(b) => self.visit_builtin(*b, visit),
            FieldPath::Raw(segments) => {
                // Parse only the top-level field the path starts with (a small subtree, once per
                // event), not the whole record; the full tree only when the record has keys the
                // index cannot see (written with escapes).
                let Some((head, rest)) = segments.split_first() else { return false };
                match self.raw.subtree(&head.0) {
                    Some(value) => visit_json(&value, rest, visit),
                    None if self.raw.indexes_every_key() => false,
                    None => match self.raw.json() {
                        Some(root) => visit_json(root, segments, visit),
                        None => false,
                    },
                }
            }
        }
    }

    /// The first value at `path` as text, if any.
    pub fn field_text(&self, path: &FieldPath) -> Option<String> {
        let mut out = None;
        self.visit_field(path, &mut |v| {
            out = Some(v.to_text());
            true
        });
        out
    }

    fn visit_builtin(&self, b: Builtin, visit: &mut dyn FnMut(FieldValue<'_>) -> bool) -> bool {
        let opt = |s: &Option<String>, visit: &mut dyn FnMut(FieldValue<'_>) -> bool| {
            s.as_deref().is_some_and(|s| visit(FieldValue::Str(s)))
        };
        let id = &self.identity;
        match b {
            Builtin::Time => visit(FieldValue::Str(&self.time.to_rfc3339())),
            Builtin::Source => visit(FieldValue::Str(self.source.as_str())),
            Builtin::Account => visit(FieldValue::Str(&self.account)),
            Builtin::Region => visit(FieldValue::Str(&self.region)),
            Builtin::Service => visit(FieldValue::Str(&self.service)),
            Builtin::Action => visit(FieldValue::Str(&self.action)),
            Builtin::EventId => visit(FieldValue::Str(&self.event_id)),
            Builtin::IdentityId => visit(FieldValue::Str(id.key.as_str())),
            Builtin::IdentityType => visit(FieldValue::Str(id.kind.as_str())),
            Builtin::IdentityName => visit(FieldValue::Str(&id.name)),
            Builtin::IdentityAccount => visit(FieldValue::Str(&id.account)),
            Builtin::IdentityAccessKeyId => opt(&id.access_key_id, visit),
            Builtin::IdentitySessionName => opt(&id.session_name, visit),
            Builtin::IdentityVia => opt(&id.via, visit),
            Builtin::IdentityNhi => visit(FieldValue::Bool(id.nhi)),
            Builtin::IdentityNhiReason => visit(FieldValue::Str(&id.nhi_reason)),
            Builtin::SourceIp => match &self.origin {
                crate::Origin::Unknown => false,
                _ => visit(FieldValue::Str(self.source_ip_text())),
            },
            Builtin::UserAgent => visit(FieldValue::Str(&self.user_agent)),
            Builtin::ErrorCode => opt(&self.outcome.error_code, visit),
            Builtin::ErrorMessage => opt(&self.outcome.error_message, visit),
            Builtin::Outcome => visit(FieldValue::Str(if self.outcome.is_success() { "success" } else { "failure" })),
            Builtin::ReadOnly => self.read_only.is_some_and(|r| visit(FieldValue::Bool(r))),
            Builtin::Category => visit(FieldValue::Str(&self.category)),
            Builtin::VpcEndpointId => opt(&self.vpc_endpoint_id, visit),
            Builtin::InvokedBy => opt(&self.invoked_by, visit),
            Builtin::ActionKey => visit(FieldValue::Str(self.action_key_text())),
            Builtin::UserAgentFamily => {
                let family = self.user_agent_family();
                !family.is_empty() && visit(FieldValue::Str(&family))
            }
            Builtin::SourceNetwork => self.source_network().is_some_and(|n| visit(FieldValue::Str(&n))),
            Builtin::GeoCountry => {
                self.geo.as_ref().and_then(|g| g.country.as_deref()).is_some_and(|c| visit(FieldValue::Str(c)))
            }
            Builtin::GeoCity => {
                self.geo.as_ref().and_then(|g| g.city.as_deref()).is_some_and(|c| visit(FieldValue::Str(c)))
            }
            Builtin::GeoAsn => {
                self.geo.as_ref().and_then(|g| g.asn).is_some_and(|a| visit(FieldValue::Str(&format!("AS{a}"))))
            }
            Builtin::GeoAsOrg => {
                self.geo.as_ref().and_then(|g| g.as_org.as_deref()).is_some_and(|o| visit(FieldValue::Str(o)))
            }
        }
    }
}

/// Walks `value` along `segments`, calling `visit` on each scalar reached.
fn visit_json(value: &serde_json::Value, segments: &[Segment], visit: &mut dyn FnMut(FieldValue<'_>) -> bool) -> bool {
    use serde_json::Value;
    match (value, segments.split_first()) {
        (Value::Array(items), _) => items.iter().any(|item| visit_json(item, segments, visit)),
        (Value::Object(map), Some((head, rest))) => {
            map.get(&head.0).is_some_and(|child| visit_json(child, rest, visit))
        }
        (Value::Object(map), None) => map.values().any(|child| visit_json(child, &[], visit)),
        (Value::String(s), Some(_)) => {
            // IAM policy documents arrive as JSON inside a string; step into them.
            let trimmed = s.trim_start();
            if (trimmed.starts_with('{') || trimmed.starts_with('['))
                && let Ok(inner) = serde_json::from_str::<Value>(s)
            {
                return visit_json(&inner, segments, visit);
            }
            false
        }
        (_, Some(_)) => false,
        (Value::String(s), None) => visit(FieldValue::Str(s)),
        (Value::Number(n), None) => n.as_f64().is_some_and(|f| visit(FieldValue::Num(f))),
        (Value::Bool(b), None) => visit(FieldValue::Bool(*b)),
        (Value::Null, None) => visit(FieldValue::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn collect(value: &serde_json::Value, path: &str) -> Vec<String> {
        let FieldPath::Raw(segs) = FieldPath::parse(path).expect("valid path") else {
            panic!("expected raw path");
        };
        let mut out = Vec::new();
        visit_json(value, &segs, &mut |v| {
            out.push(v.to_text());
            false
        });
        out
    }

    #[test]
    fn walks_arrays_objects_and_embedded_json() {
        let doc = json!({
            "requestParameters": {
                "policyDocument": "{\"Statement\":[{\"Action\":\"*\",\"Resource\":\"*\"},{\"Action\":[\"s3:Get*\",\"s3:List*\"]}]}",
                "items": [{"userId": "1"}, {"userId": "2"}],
                "principal": {"AWS": ["arn:aws:iam::3:root"]},
                "n": 5
            }
        });
        assert_eq!(collect(&doc, "requestParameters.policyDocument.Statement.Action"), ["*", "s3:Get*", "s3:List*"]);
        assert_eq!(collect(&doc, "requestParameters.items.userId"), ["1", "2"]);
        assert_eq!(collect(&doc, "requestParameters.principal"), ["arn:aws:iam::3:root"]);
        assert_eq!(collect(&doc, "requestParameters.n"), ["5"]);
        assert!(collect(&doc, "requestParameters.missing.x").is_empty());
    }

    #[test]
    fn builtins_and_aliases_parse() {
        assert_eq!(FieldPath::parse("action"), Ok(FieldPath::Builtin(Builtin::Action)));
        assert_eq!(FieldPath::parse("eventName"), Ok(FieldPath::Builtin(Builtin::Action)));
        assert!(FieldPath::parse("a..b").is_err());
        assert_eq!(
            FieldPath::parse("requestParameters.userName").map(|p| p.to_string()).as_deref(),
            Ok("requestParameters.userName")
        );
    }
}
