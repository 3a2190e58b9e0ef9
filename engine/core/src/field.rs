//! Field paths: how rules name a value of an event.
//!
//! A path is either a normalized field (`action`, `identity.id`, `source_ip`, …), resolved
//! without touching the raw record, or a path into the original record
//! (`requestParameters.userName`, `resources.ARN`). Raw paths walk objects by key and arrays
//! element by element; a JSON document stored as a string (IAM policy documents in CloudTrail)
//! is parsed when the path continues into it; a path that ends on an object or array yields
//! every scalar inside it. A lookup can therefore yield several values; rules match if any does.

use crate::event::{Event, Seen};
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
    Raw(RawPath),
}

/// A path into the original record, with the decoder-recorded path it starts with, if any.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawPath {
    segments: Vec<Segment>,
    /// The [`KNOWN_PATHS`](crate::event::KNOWN_PATHS) entry that is its longest prefix, and
    /// how many segments that covers.
    known: Option<(u8, u8)>,
}

impl RawPath {
    /// The path's steps.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }
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
        let known = crate::event::known_prefix(segments.iter().map(|s| s.0.as_str()));
        Ok(Self::Raw(RawPath { segments, known }))
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
            Self::Raw(path) => {
                for (i, s) in path.segments.iter().enumerate() {
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
            FieldPath::Raw(path) => {
                // Read only the value the path starts in (recorded by the decoder, or found by
                // indexing the record's top level once per event), not the whole record; the
                // whole record only when it has keys the index cannot see (written with escapes).
                if let Some((index, used)) = path.known {
                    let rest = &path.segments[usize::from(used)..];
                    match self.raw.known(index) {
                        Seen::At(..) => return visit_text(self.raw.known_text(index).unwrap_or_default(), rest, visit),
                        Seen::Unreachable => return false,
                        Seen::NullOrMissing if !rest.is_empty() => return false,
                        // Null and missing differ at the value itself: look in the text.
                        Seen::NullOrMissing | Seen::Unrecorded => {}
                    }
                }
                let Some((head, rest)) = path.segments.split_first() else { return false };
                match self.raw.top_level(&head.0) {
                    Some(text) => visit_text(text, rest, visit),
                    None if self.raw.indexes_every_key() => false,
                    None => visit_text(self.raw.text(), &path.segments, visit),
                }
            }
        }
    }

    /// The first value at `path` as text, if any.
    pub fn field_text(&self, path: &FieldPath) -> Option<String> {
        let mut out = String::new();
        self.write_field_text(path, &mut out).then_some(out)
    }

    /// Calls `read` with the first value at `path` as text (borrowed when the value is text);
    /// false when the path reaches nothing.
    pub fn with_field_text(&self, path: &FieldPath, mut read: impl FnMut(&str)) -> bool {
        self.visit_field(path, &mut |v| {
            match v {
                FieldValue::Str(s) => read(s),
                other => read(&other.to_text()),
            }
            true
        })
    }

    /// Appends the first value at `path`, as text, to `out` (no copy of its own); false when
    /// the path reaches nothing.
    pub fn write_field_text(&self, path: &FieldPath, out: &mut String) -> bool {
        self.with_field_text(path, |text| out.push_str(text))
    }

    /// True when the first value at `path`, as text, is `want` (compared in place).
    pub fn field_text_is(&self, path: &FieldPath, want: &str) -> bool {
        let mut equal = false;
        self.with_field_text(path, |text| equal = text == want);
        equal
    }

    /// The value of builtin field `b` when the event holds it as is: `Some(None)` when it is
    /// absent, `None` for the fields made on request (time text, user-agent family, network,
    /// ASN text), which [`Event::visit_field`] makes. Conditions read held fields through this
    /// without a visitor.
    pub fn builtin_value(&self, b: Builtin) -> Option<Option<FieldValue<'_>>> {
        fn opt<S: AsRef<str>>(s: &Option<S>) -> Option<FieldValue<'_>> {
            s.as_ref().map(|s| FieldValue::Str(s.as_ref()))
        }
        let id = &self.identity;
        let geo = self.geo.as_deref();
        let value = match b {
            Builtin::Time | Builtin::UserAgentFamily | Builtin::SourceNetwork | Builtin::GeoAsn => return None,
            Builtin::Source => Some(FieldValue::Str(self.source.as_str())),
            Builtin::Account => Some(FieldValue::Str(&self.account)),
            Builtin::Region => Some(FieldValue::Str(&self.region)),
            Builtin::Service => Some(FieldValue::Str(&self.service)),
            Builtin::Action => Some(FieldValue::Str(&self.action)),
            Builtin::EventId => Some(FieldValue::Str(&self.event_id)),
            Builtin::IdentityId => Some(FieldValue::Str(id.key.as_str())),
            Builtin::IdentityType => Some(FieldValue::Str(id.kind.as_str())),
            Builtin::IdentityName => Some(FieldValue::Str(&id.name)),
            Builtin::IdentityAccount => Some(FieldValue::Str(&id.account)),
            Builtin::IdentityAccessKeyId => opt(&id.access_key_id),
            Builtin::IdentitySessionName => opt(&id.session_name),
            Builtin::IdentityVia => opt(&id.via),
            Builtin::IdentityNhi => Some(FieldValue::Bool(id.nhi)),
            Builtin::IdentityNhiReason => Some(FieldValue::Str(&id.nhi_reason)),
            Builtin::SourceIp => match &self.origin {
                crate::Origin::Unknown => None,
                _ => Some(FieldValue::Str(self.source_ip_text())),
            },
            Builtin::UserAgent => Some(FieldValue::Str(&self.user_agent)),
            Builtin::ErrorCode => opt(&self.outcome.error_code),
            Builtin::ErrorMessage => opt(&self.outcome.error_message),
            Builtin::Outcome => Some(FieldValue::Str(if self.outcome.is_success() { "success" } else { "failure" })),
            Builtin::ReadOnly => self.read_only.map(FieldValue::Bool),
            Builtin::Category => Some(FieldValue::Str(&self.category)),
            Builtin::VpcEndpointId => opt(&self.vpc_endpoint_id),
            Builtin::InvokedBy => opt(&self.invoked_by),
            Builtin::ActionKey => Some(FieldValue::Str(self.action_key_text())),
            Builtin::GeoCountry => geo.and_then(|g| g.country.as_deref()).map(FieldValue::Str),
            Builtin::GeoCity => geo.and_then(|g| g.city.as_deref()).map(FieldValue::Str),
            Builtin::GeoAsOrg => geo.and_then(|g| g.as_org.as_deref()).map(FieldValue::Str),
        };
        Some(value)
    }

    fn visit_builtin(&self, b: Builtin, visit: &mut dyn FnMut(FieldValue<'_>) -> bool) -> bool {
        if let Some(value) = self.builtin_value(b) {
            return value.is_some_and(visit);
        }
        match b {
            Builtin::Time => visit(FieldValue::Str(&self.time.to_rfc3339())),
            Builtin::UserAgentFamily => {
                let family = self.user_agent_family();
                !family.is_empty() && visit(FieldValue::Str(&family))
            }
            Builtin::SourceNetwork => self.source_network().is_some_and(|n| visit(FieldValue::Str(&n))),
            Builtin::GeoAsn => {
                self.geo.as_ref().and_then(|g| g.asn).is_some_and(|a| visit(FieldValue::Str(&format!("AS{a}"))))
            }
            // Held fields were read above.
            _ => false,
        }
    }
}

/// Walks the JSON `text` along `segments`, calling `visit` on each scalar reached, without
/// building a tree: objects are walked by key, arrays element by element, a JSON document inside
/// a string is walked when the path continues into it, and a path that ends on an object or
/// array reaches every scalar inside. Stops at the first value `visit` accepts.
fn visit_text(text: &str, segments: &[Segment], visit: &mut dyn FnMut(FieldValue<'_>) -> bool) -> bool {
    // A plain string (the common case of a recorded leaf) needs no parser.
    if segments.is_empty()
        && let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"'))
        && !inner.contains(['"', '\\'])
    {
        return visit(FieldValue::Str(inner));
    }
    let mut found = false;
    let mut de = serde_json::Deserializer::from_str(text);
    // An error is either malformed text (nothing more to find) or the walk stopping early.
    let _ = serde::de::DeserializeSeed::deserialize(Walk { segments, visit, found: &mut found }, &mut de);
    found
}

/// One step of [`visit_text`]: a value at which `segments` remain to be followed.
struct Walk<'w, 'v> {
    segments: &'w [Segment],
    visit: &'w mut (dyn FnMut(FieldValue<'_>) -> bool + 'v),
    found: &'w mut bool,
}

impl<'v> Walk<'_, 'v> {
    fn child<'c>(&'c mut self, segments: &'c [Segment]) -> Walk<'c, 'v> {
        Walk { segments, visit: &mut *self.visit, found: &mut *self.found }
    }

    /// A scalar: visited when the path ends here; the walk stops once `visit` accepts one.
    fn leaf<E: serde::de::Error>(self, value: FieldValue<'_>) -> Result<(), E> {
        if self.segments.is_empty() && (self.visit)(value) {
            *self.found = true;
            return Err(E::custom("found"));
        }
        Ok(())
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Walk<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Walk<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<(), E> {
        self.leaf(FieldValue::Bool(v))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<(), E> {
        self.leaf(FieldValue::Num(v as f64))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<(), E> {
        self.leaf(FieldValue::Num(v as f64))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<(), E> {
        self.leaf(FieldValue::Num(v))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.leaf(FieldValue::Null)
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        if self.segments.is_empty() {
            return self.leaf(FieldValue::Str(v));
        }
        // IAM policy documents arrive as JSON inside a string; step into them.
        let trimmed = v.trim_start();
        if (trimmed.starts_with('{') || trimmed.starts_with('[')) && visit_text(v, self.segments, self.visit) {
            *self.found = true;
            return Err(E::custom("found"));
        }
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let segments = self.segments;
        while seq.next_element_seed(self.child(segments))?.is_some() {}
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let segments = self.segments;
        let (head, rest) = match segments.split_first() {
            Some((head, rest)) => (Some(head.0.as_str()), rest),
            None => (None, segments),
        };
        while let Some(wanted) = map.next_key_seed(KeyIs(head))? {
            if wanted {
                map.next_value_seed(self.child(rest))?;
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// Reads an object key and tells whether it is the one wanted (`None`: any key is).
struct KeyIs<'k>(Option<&'k str>);

impl<'de> serde::de::DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for KeyIs<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(self.0.is_none_or(|k| k == v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn collect(value: &serde_json::Value, path: &str) -> Vec<String> {
        let FieldPath::Raw(path) = FieldPath::parse(path).expect("valid path") else {
            panic!("expected raw path");
        };
        let mut out = Vec::new();
        visit_text(&value.to_string(), path.segments(), &mut |v| {
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
