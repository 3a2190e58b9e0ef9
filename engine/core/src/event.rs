//! The normalized event: one audit record, whatever its source.

use crate::geo::GeoInfo;
use crate::identity::Identity;
use crate::time::EventTime;
use compact_str::{CompactString, ToCompactString};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

/// Which log source an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// AWS CloudTrail.
    CloudTrail,
    /// Google Cloud Audit Logs (`LogEntry` with an `AuditLog` payload).
    GcpAudit,
    /// Azure Activity Log (Azure Resource Manager operations).
    AzureActivity,
    /// Microsoft Entra ID sign-in logs (users, service principals, managed identities).
    AzureSignIn,
    /// Microsoft Entra ID audit logs (directory changes: users, apps, credentials).
    AzureAudit,
    /// Kubernetes API server audit events (`audit.k8s.io/v1`), also as exported by EKS, GKE
    /// and AKS.
    K8sAudit,
}

impl SourceKind {
    /// Every source, in declaration order (`ALL[kind as usize] == kind`).
    pub const ALL: [Self; 6] =
        [Self::CloudTrail, Self::GcpAudit, Self::AzureActivity, Self::AzureSignIn, Self::AzureAudit, Self::K8sAudit];

    /// The name used in rules (`source`) and alerts.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CloudTrail => "cloudtrail",
            Self::GcpAudit => "gcp_audit",
            Self::AzureActivity => "azure_activity",
            Self::AzureSignIn => "azure_signin",
            Self::AzureAudit => "azure_audit",
            Self::K8sAudit => "k8s_audit",
        }
    }
}

/// Where a record was read from, so an analyst can open the original.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourceOffset {
    /// File path as given (`-` for standard input).
    pub file: Arc<str>,
    /// 1-based line for line-oriented input (JSON Lines); the line a record starts on otherwise
    /// when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// 0-based index of the record within the file.
    pub record: u64,
}

impl fmt::Display for SourceOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.file),
            None => write!(f, "{} record {}", self.file, self.record),
        }
    }
}

/// Where the call came from: an address, or an AWS service acting for the identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A network address.
    Ip(IpAddr),
    /// An AWS service host (`ec2.amazonaws.com`) or `AWS Internal`.
    Service(String),
    /// Something else, kept as written.
    Other(String),
    /// No source address in the record.
    Unknown,
}

impl Origin {
    /// The address if the call came over the network from one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Self::Ip(ip) => Some(*ip),
            _ => None,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // IPv4, the common case, octet by octet: rules and evidence read this text for most
            // events, and the address formatter is several times slower.
            Self::Ip(IpAddr::V4(v4)) => {
                for (i, octet) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(itoa::Buffer::new().format(octet))?;
                }
                Ok(())
            }
            Self::Ip(ip) => write!(f, "{ip}"),
            Self::Service(s) | Self::Other(s) => f.write_str(s),
            Self::Unknown => Ok(()),
        }
    }
}

/// Whether the call succeeded, and the error if it did not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// `errorCode` (`AccessDenied`, `Client.UnauthorizedOperation`, …).
    pub error_code: Option<String>,
    /// `errorMessage`.
    pub error_message: Option<String>,
}

impl Outcome {
    /// True when the record carries no error.
    pub fn is_success(&self) -> bool {
        self.error_code.is_none()
    }
}

/// The whole original record, kept as text and read only where a rule reads a raw field path.
///
/// Why lazy: most events only meet rules that look at normalized fields (action, service,
/// identity); parsing every record into a JSON tree would dominate replay time. Why shared:
/// records decoded from one file point into that file's buffer instead of each copying its text.
#[derive(Debug, Default)]
pub struct RawRecord {
    buf: Arc<String>,
    start: usize,
    end: usize,
    /// Byte ranges (within the record) of each top-level key and its value, found on first use.
    index: OnceLock<TopIndex>,
    /// What the decoder saw of the paths rules read most while it parsed the record, so
    /// reading them costs no second scan. Order: [`KNOWN_PATHS`].
    known: [Seen; KNOWN_PATHS.len()],
}

/// What a decoder saw at one of the [`KNOWN_PATHS`] of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Seen {
    /// Not recorded (another source, or a string written with escapes): look in the text.
    #[default]
    Unrecorded,
    /// The value is null or missing: nothing lies below it.
    NullOrMissing,
    /// A field on the way to it is null or missing: the path reaches nothing.
    Unreachable,
    /// The JSON value, as written, is this byte range of the record (`start`, `end`).
    At(u32, u32),
}

impl Seen {
    /// `At` the byte range `r` of the record (unrecorded if it does not fit in 32 bits).
    pub fn at(r: Range<usize>) -> Self {
        match (u32::try_from(r.start), u32::try_from(r.end)) {
            (Ok(a), Ok(b)) if a <= b => Self::At(a, b),
            _ => Self::Unrecorded,
        }
    }
}

/// The byte range `inner` takes within `outer`, when it is a slice of it.
pub fn range_within(outer: &str, inner: &str) -> Option<Range<usize>> {
    let start = (inner.as_ptr() as usize).wrapping_sub(outer.as_ptr() as usize);
    (start <= outer.len() && inner.len() <= outer.len() - start).then_some(start..start + inner.len())
}

/// Paths whose value ranges decoders record (see [`RawRecord::with_known`]): CloudTrail's raw
/// subtrees, and the identity fields that rules (Sigma's above all) read by their raw names.
pub const KNOWN_PATHS: [&str; 13] = [
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "resources",
    "eventType",
    "userIdentity.type",
    "userIdentity.arn",
    "userIdentity.principalId",
    "userIdentity.accountId",
    "userIdentity.userName",
    "userIdentity.sessionContext.sessionIssuer.type",
    "userIdentity.sessionContext.sessionIssuer.arn",
    "userIdentity.sessionContext.sessionIssuer.userName",
];

/// The entry of [`KNOWN_PATHS`] that is the longest prefix of `segments`, and how many
/// segments it covers.
pub fn known_prefix<'s>(segments: impl Iterator<Item = &'s str> + Clone) -> Option<(u8, u8)> {
    let mut best: Option<(u8, u8)> = None;
    for (i, known) in KNOWN_PATHS.iter().enumerate() {
        let mut used = 0u8;
        let mut path = segments.clone();
        let covers = known.split('.').all(|k| {
            used += 1;
            path.next() == Some(k)
        });
        if covers && best.is_none_or(|(_, n)| used > n) {
            best = Some((i as u8, used));
        }
    }
    best
}

impl RawRecord {
    /// Wraps the record's JSON text (copied).
    pub fn new(text: &str) -> Self {
        Self::shared(&Arc::new(text.to_string()), 0, text.len())
    }

    /// A record that is `buf[start..end]` of a shared buffer. Falls back to an empty record if
    /// the range is not a valid slice (decoders never pass one).
    pub fn shared(buf: &Arc<String>, start: usize, end: usize) -> Self {
        if buf.get(start..end).is_none() {
            return Self::default();
        }
        Self { buf: Arc::clone(buf), start, end, index: OnceLock::new(), known: Default::default() }
    }

    /// The record as written.
    pub fn text(&self) -> &str {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    /// Records what the decoder saw at each of [`KNOWN_PATHS`] (a range past the record's end
    /// is left unrecorded).
    pub fn with_known(mut self, known: [Seen; KNOWN_PATHS.len()]) -> Self {
        let len = self.end - self.start;
        for (slot, seen) in self.known.iter_mut().zip(known) {
            *slot = match seen {
                Seen::At(_, b) if b as usize > len => Seen::Unrecorded,
                other => other,
            };
        }
        self
    }

    /// What the decoder saw at [`KNOWN_PATHS`]`[index]`.
    pub fn known(&self, index: u8) -> Seen {
        self.known.get(usize::from(index)).copied().unwrap_or_default()
    }

    /// The recorded JSON text of [`KNOWN_PATHS`]`[index]`, when the decoder saw it.
    pub fn known_text(&self, index: u8) -> Option<&str> {
        match self.known(index) {
            Seen::At(a, b) => self.text().get(a as usize..b as usize),
            _ => None,
        }
    }

    /// The JSON text of one top-level field (`requestParameters`), without parsing the rest of
    /// the record. Keys written with escapes are not found this way.
    pub fn top_level(&self, key: &str) -> Option<&str> {
        if let Some(i) = KNOWN_PATHS.iter().position(|k| *k == key)
            && let Some(known) = self.known_text(i as u8)
        {
            return Some(known);
        }
        let text = self.text();
        let index = self.index.get_or_init(|| index_top_level(text));
        index.entries.iter().find(|(k, _)| text.get(k.clone()) == Some(key)).and_then(|(_, v)| text.get(v.clone()))
    }

    /// True when [`RawRecord::top_level`] sees every top-level key: none is written with
    /// escapes, so a key it does not find is absent from the record.
    pub fn indexes_every_key(&self) -> bool {
        self.index.get_or_init(|| index_top_level(self.text())).complete
    }
}

/// The top-level keys of a record and the byte ranges of their values.
#[derive(Debug, Clone, Default)]
struct TopIndex {
    entries: Vec<(Range<usize>, Range<usize>)>,
    /// No key was left out (keys written with escapes are).
    complete: bool,
}

/// Finds the top-level keys of a JSON object and the byte ranges of their values.
fn index_top_level(text: &str) -> TopIndex {
    use serde::de::{Deserializer as _, MapAccess, Visitor};
    struct Index<'t> {
        text: &'t str,
    }
    impl<'de> Visitor<'de> for Index<'de> {
        type Value = TopIndex;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = TopIndex { entries: Vec::new(), complete: true };
            let range = |s: &str| range_within(self.text, s);
            while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                let value = map.next_value::<&'de serde_json::value::RawValue>()?;
                match (key.and_then(range), range(value.get())) {
                    (Some(k), Some(v)) => out.entries.push((k, v)),
                    _ => out.complete = false,
                }
            }
            Ok(out)
        }
    }
    /// A key borrowed from the text; `None` for keys with escapes (not indexed).
    struct Key<'de>(Option<&'de str>);
    impl<'de> serde::Deserialize<'de> for Key<'de> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct KeyVisitor;
            impl<'de> Visitor<'de> for KeyVisitor {
                type Value = Key<'de>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a key")
                }
                fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                    Ok(Key(Some(v)))
                }
                fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                    Ok(Key(None))
                }
            }
            d.deserialize_str(KeyVisitor)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    de.deserialize_map(Index { text }).unwrap_or_default()
}

impl Clone for RawRecord {
    /// A copy that shares the text.
    fn clone(&self) -> Self {
        Self {
            buf: Arc::clone(&self.buf),
            start: self.start,
            end: self.end,
            index: self.index.clone(),
            known: self.known,
        }
    }
}

impl PartialEq for RawRecord {
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text()
    }
}

/// One normalized audit event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// When it happened (the record's own time).
    pub time: EventTime,
    /// Log source.
    pub source: SourceKind,
    /// Account the event was recorded in (`recipientAccountId`).
    pub account: CompactString,
    /// Region (`awsRegion`).
    pub region: CompactString,
    /// Service endpoint (`eventSource`, e.g. `iam.amazonaws.com`).
    pub service: CompactString,
    /// API action (`eventName`).
    pub action: CompactString,
    /// Unique id of the record (`eventID`).
    pub event_id: String,
    /// Who acted.
    pub identity: Identity,
    /// Source address or service host (`sourceIPAddress`).
    pub origin: Origin,
    /// `userAgent`.
    pub user_agent: String,
    /// Success or the error.
    pub outcome: Outcome,
    /// `readOnly`, when the record says.
    pub read_only: Option<bool>,
    /// `eventCategory` (`Management`, `Data`, `Insight`).
    pub category: CompactString,
    /// `vpcEndpointId`.
    pub vpc_endpoint_id: Option<String>,
    /// `userIdentity.invokedBy`: the AWS service that made the call for the identity.
    pub invoked_by: Option<String>,
    /// The full original record, for raw field paths (`requestParameters.userName`).
    pub raw: RawRecord,
    /// Where it was read from.
    pub offset: SourceOffset,
    /// Where the source address is, filled by the engine from its GeoIP databases (only for
    /// public addresses).
    pub geo: Option<Arc<GeoInfo>>,
    /// Text forms of normalized fields, made on first use: rules read them many times.
    pub text: TextCache,
}

/// The leading part of the order events are evaluated in (time, then event id): the time and
/// the event id's first 16 bytes (zero-padded, big-endian), which order as the id does up to
/// ties. Buffers keep it beside a boxed event, so they move small entries and most
/// comparisons read no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct OrderPrefix {
    time: EventTime,
    id: u128,
}

impl OrderPrefix {
    /// The prefix of `event`'s order.
    pub fn of(event: &Event) -> Self {
        let mut prefix = [0u8; 16];
        let id = event.event_id.as_bytes();
        let n = id.len().min(16);
        prefix[..n].copy_from_slice(&id[..n]);
        Self { time: event.time, id: u128::from_be_bytes(prefix) }
    }

    /// The event time.
    pub fn time(&self) -> EventTime {
        self.time
    }
}

/// Text forms of an event's normalized fields, computed once. Not part of what the event is:
/// two events are equal whatever their caches hold. Both are short for most events (an IPv4
/// address, `s3:GetObject`) and are then held inline, so making them allocates nothing.
#[derive(Debug, Clone, Default)]
pub struct TextCache {
    action_key: OnceLock<CompactString>,
    source_ip: OnceLock<CompactString>,
}

impl TextCache {
    /// A cache that already holds `text` as the source address's text: for a decoder that
    /// read the address from exactly the text it is written as (an IPv4 address without
    /// zero-padded octets), so alerts citing the event need not format it again.
    pub fn with_source_ip(text: &str) -> Self {
        let cache = Self::default();
        // A new cache: the slot is empty.
        let _ = cache.source_ip.set(CompactString::from(text));
        cache
    }
}

impl PartialEq for TextCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Event {
    /// `service:action` with the service's short name (`iam:CreateUser`,
    /// `iam:google.iam.admin.v1.CreateServiceAccount`, `secrets:list`); the action alone when
    /// it already names its service (Azure's `MICROSOFT.COMPUTE/DISKS/WRITE`).
    pub fn action_key(&self) -> String {
        self.action_key_text().to_string()
    }

    /// [`Event::action_key`], made once per event.
    pub fn action_key_text(&self) -> &str {
        self.text.action_key.get_or_init(|| {
            if !self.service.is_empty() && self.action.starts_with(self.service.as_str()) {
                return CompactString::from(self.action.as_str());
            }
            let mut key = CompactString::from(self.service_short());
            key.push(':');
            key.push_str(&self.action);
            key
        })
    }

    /// The service without its cloud's domain (`iam` for `iam.amazonaws.com` or
    /// `iam.googleapis.com`).
    pub fn service_short(&self) -> &str {
        self.service
            .strip_suffix(".amazonaws.com")
            .or_else(|| self.service.strip_suffix(".googleapis.com"))
            .unwrap_or(&self.service)
    }

    /// The source address as text (or the service host), made once per event; empty when the
    /// record has none.
    pub fn source_ip_text(&self) -> &str {
        self.text.source_ip.get_or_init(|| self.origin.to_compact_string())
    }

    /// The user agent's family: its first product token, lowercased (`aws-cli`, `boto3`,
    /// `terraform`), or `console` for the AWS console.
    pub fn user_agent_family(&self) -> String {
        let ua = self.user_agent.trim();
        if ua.is_empty() {
            return String::new();
        }
        let lower = ua.to_ascii_lowercase();
        if lower.contains("console.amazonaws.com")
            || lower.starts_with("signin.amazonaws.com")
            || lower.starts_with("mozilla/")
        {
            return "console".to_string();
        }
        let first = lower.split(|c: char| c == '/' || c.is_whitespace()).next().unwrap_or_default();
        first.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_' && c != '.').to_string()
    }

    /// The network the source address is in: the IPv4 /24 or IPv6 /48, for public addresses.
    pub fn source_network(&self) -> Option<String> {
        match self.origin.ip()? {
            ip if !crate::geo::is_public_place(ip) => None,
            IpAddr::V4(v4) => {
                let o = v4.octets();
                Some(format!("{}.{}.{}.0/24", o[0], o[1], o[2]))
            }
            IpAddr::V6(v6) => {
                let s = v6.segments();
                Some(format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2]))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_fields_are_found_without_a_full_parse() {
        let raw =
            RawRecord::new(r#"{"a":1,"requestParameters":{"userName":"x"},"resources":[{"accountId":"2"}],"e\"k":3}"#);
        assert_eq!(raw.top_level("requestParameters"), Some(r#"{"userName":"x"}"#));
        assert_eq!(raw.top_level("resources"), Some(r#"[{"accountId":"2"}]"#));
        assert_eq!(raw.top_level("missing"), None);
        let shared = Arc::new(format!("xx{}yy", r#"{"k":"v"}"#));
        let raw = RawRecord::shared(&shared, 2, shared.len() - 2);
        assert_eq!(raw.top_level("k"), Some(r#""v""#));
        assert_eq!(RawRecord::new("not json").top_level("k"), None);
    }

    #[test]
    fn origins_are_written_as_addresses_and_hosts_are() {
        let origins = [
            Origin::Ip("0.0.0.0".parse().expect("ip")),
            Origin::Ip("75.50.255.67".parse().expect("ip")),
            Origin::Ip("255.255.255.255".parse().expect("ip")),
            Origin::Ip("2001:db8::1".parse().expect("ip")),
            Origin::Ip("::ffff:10.0.0.1".parse().expect("ip")),
            Origin::Service("ec2.amazonaws.com".into()),
            Origin::Other("AWS Internal".into()),
            Origin::Unknown,
        ];
        for o in origins {
            let written = match &o {
                Origin::Ip(ip) => ip.to_string(),
                Origin::Service(s) | Origin::Other(s) => s.clone(),
                Origin::Unknown => String::new(),
            };
            assert_eq!(o.to_string(), written);
        }
    }
}
