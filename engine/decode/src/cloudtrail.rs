//! One CloudTrail record (JSON text) into one [`Event`].
//!
//! The record is read into a borrowed, typed view of the fields the event model needs; the
//! whole text is kept in the event so rules can still reach any raw path. EventBridge
//! envelopes (`detail-type`, `detail`) are unwrapped here so every transport shares one path.

use crate::bad::{BadReason, Note};
use chrono::{DateTime, NaiveDateTime, Utc};
use compact_str::CompactString;
use nhiwatch_core::event::{KNOWN_PATHS, RawRecord, Seen, TextCache, range_within};
use nhiwatch_core::ip::parse_ip_lenient;
use nhiwatch_core::{Event, Identity, IdentityKey, IdentityType, Origin, Outcome, SourceKind, SourceOffset};
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

/// A decoded record and what was repaired in it.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The event.
    pub event: Event,
    /// Repairs made (counted by the caller).
    pub notes: Vec<Note>,
}

/// Why one record was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// For counting.
    pub reason: BadReason,
    /// In words, naming the field.
    pub detail: String,
}

/// A string field that borrows from the input when it holds no escapes.
///
/// Why not `Cow<str>`: serde's `Cow` implementation always copies, and `#[serde(borrow)]` does
/// not reach through `Option`; copying every field was a tenth of decode time.
struct Str<'a>(Cow<'a, str>);

impl std::ops::Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v))
            }
        }
        d.deserialize_str(Visit).map(Str)
    }
}

type Text<'a> = Option<Str<'a>>;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    #[serde(borrow)]
    event_time: Text<'a>,
    #[serde(borrow)]
    event_name: Text<'a>,
    #[serde(borrow)]
    event_source: Text<'a>,
    #[serde(borrow)]
    aws_region: Text<'a>,
    #[serde(borrow)]
    recipient_account_id: Text<'a>,
    #[serde(rename = "eventID", borrow)]
    event_id: Text<'a>,
    #[serde(rename = "sourceIPAddress", borrow)]
    source_ip_address: Text<'a>,
    #[serde(borrow)]
    user_agent: Text<'a>,
    #[serde(borrow)]
    error_code: Text<'a>,
    #[serde(borrow)]
    error_message: Text<'a>,
    #[serde(default, deserialize_with = "bool_or_text")]
    read_only: Option<bool>,
    #[serde(borrow)]
    event_category: Text<'a>,
    #[serde(borrow)]
    event_type: Text<'a>,
    #[serde(borrow)]
    vpc_endpoint_id: Text<'a>,
    #[serde(borrow)]
    user_identity: Option<UserIdentity<'a>>,
    #[serde(rename = "detail-type", borrow)]
    detail_type: Text<'a>,
    #[serde(borrow)]
    request_parameters: Option<&'a RawValue>,
    #[serde(borrow)]
    response_elements: Option<&'a RawValue>,
    #[serde(borrow)]
    additional_event_data: Option<&'a RawValue>,
    #[serde(borrow)]
    resources: Option<&'a RawValue>,
    #[serde(borrow)]
    detail: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserIdentity<'a> {
    #[serde(rename = "type", borrow)]
    kind: Text<'a>,
    #[serde(borrow)]
    principal_id: Text<'a>,
    #[serde(borrow)]
    arn: Text<'a>,
    #[serde(borrow)]
    account_id: Text<'a>,
    #[serde(borrow)]
    access_key_id: Text<'a>,
    #[serde(borrow)]
    user_name: Text<'a>,
    #[serde(borrow)]
    invoked_by: Text<'a>,
    #[serde(borrow)]
    identity_provider: Text<'a>,
    #[serde(borrow)]
    session_context: Option<SessionContext<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionContext<'a> {
    #[serde(borrow)]
    session_issuer: Option<SessionIssuer<'a>>,
    #[serde(borrow)]
    web_id_federation_data: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionIssuer<'a> {
    #[serde(rename = "type", borrow)]
    kind: Text<'a>,
    #[serde(borrow)]
    arn: Text<'a>,
    #[serde(borrow)]
    user_name: Text<'a>,
    #[serde(borrow)]
    account_id: Text<'a>,
}

fn bool_or_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B<'a> {
        Bool(bool),
        Text(&'a str),
    }
    Ok(match Option::<B<'de>>::deserialize(d)? {
        Some(B::Bool(b)) => Some(b),
        Some(B::Text(t)) => match t {
            "true" | "True" => Some(true),
            "false" | "False" => Some(false),
            _ => None,
        },
        None => None,
    })
}

/// Maximum EventBridge nesting followed (an envelope inside an envelope is not a record).
const MAX_ENVELOPE_DEPTH: u8 = 1;

/// Decodes one record (or an EventBridge envelope holding one); the event keeps a copy of
/// the text.
pub fn decode_record(text: &str, offset: SourceOffset) -> Result<Decoded, RecordError> {
    decode_at_depth(text, None, offset, 0)
}

/// Decodes `text`, a slice of `buf`: the event points into `buf` instead of copying the text
/// (a `text` outside `buf` is copied).
pub fn decode_record_within(text: &str, buf: &Arc<String>, offset: SourceOffset) -> Result<Decoded, RecordError> {
    decode_at_depth(text, Some(buf), offset, 0)
}

/// The raw record for `text`: a range of `buf` when `text` lies inside it, else a copy.
pub(crate) fn raw_record(text: &str, buf: Option<&Arc<String>>) -> RawRecord {
    if let Some(b) = buf
        && let Some(r) = range_within(b, text)
    {
        return RawRecord::shared(b, r.start, r.end);
    }
    RawRecord::new(text)
}

fn decode_at_depth(
    text: &str,
    buf: Option<&Arc<String>>,
    offset: SourceOffset,
    depth: u8,
) -> Result<Decoded, RecordError> {
    let record: Record<'_> = match serde_json::from_str(text) {
        Ok(r) => r,
        Err(e) => return Err(describe_error(text, e)),
    };
    if record.event_name.is_none()
        && record.detail_type.is_some()
        && depth < MAX_ENVELOPE_DEPTH
        && let Some(detail) = record.detail
    {
        return decode_at_depth(detail.get(), buf, offset, depth + 1);
    }
    // A record with none of CloudTrail's own fields is another source's.
    if record.event_name.is_none()
        && record.event_time.is_none()
        && record.user_identity.is_none()
        && record.event_source.is_none()
        && record.event_id.is_none()
        && record.detail_type.is_none()
    {
        return crate::audit::decode_other(text, buf, offset);
    }
    let mut notes = Vec::new();
    let time_text = record.event_time.as_deref().ok_or_else(|| missing("eventTime"))?;
    let action = record.event_name.as_deref().ok_or_else(|| missing("eventName"))?;
    if action.is_empty() {
        return Err(missing("eventName"));
    }
    let time = parse_event_time(time_text).ok_or_else(|| invalid_time("eventTime", time_text))?;
    let account = compact(&record.recipient_account_id);
    let event_id = match record.event_id.as_deref() {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => {
            notes.push(Note::SynthesizedEventId);
            content_id(text)
        }
    };
    let (origin, cached) = origin_of(record.source_ip_address.as_deref(), &mut notes);
    let invoked_by = record.user_identity.as_ref().and_then(|u| u.invoked_by.as_deref()).map(str::to_string);
    let mut identity = identity_of(record.user_identity.as_ref(), &account);
    identity.runtime = record.user_agent.as_deref().and_then(runtime_of);
    Ok(Decoded {
        event: Event {
            time,
            source: SourceKind::CloudTrail,
            account,
            region: compact(&record.aws_region),
            service: compact(&record.event_source),
            action: action.into(),
            event_id,
            identity,
            origin,
            user_agent: owned(&record.user_agent),
            outcome: Outcome {
                error_code: record.error_code.as_deref().filter(|s| !s.is_empty()).map(str::to_string),
                error_message: record.error_message.as_deref().map(str::to_string),
            },
            read_only: record.read_only,
            category: record.event_category.as_deref().unwrap_or("Management").into(),
            vpc_endpoint_id: record.vpc_endpoint_id.as_deref().map(str::to_string),
            invoked_by,
            raw: raw_record(text, buf).with_known(known_paths(text, &record)),
            offset,
            geo: None,
            text: cached,
        },
        notes,
    })
}

/// What the decoder saw at each of [`KNOWN_PATHS`] in
/// `text`, so rules reading them need no second scan. Strings written with escapes are left
/// unrecorded (they are not slices of the text).
fn known_paths<'a>(text: &str, record: &Record<'a>) -> [Seen; KNOWN_PATHS.len()] {
    let raw = |v: Option<&RawValue>| {
        v.map_or(Seen::NullOrMissing, |v| range_within(text, v.get()).map_or(Seen::Unrecorded, Seen::at))
    };
    // A borrowed string's range, widened to take in its quotes.
    let string = |t: &Text<'_>| match t.as_ref().map(|s| &s.0) {
        None => Seen::NullOrMissing,
        Some(Cow::Borrowed(s)) => match range_within(text, s) {
            Some(r) if r.start > 0 && text.get(r.start - 1..r.end + 1).is_some_and(|q| q.ends_with('"')) => {
                Seen::at(r.start - 1..r.end + 1)
            }
            _ => Seen::Unrecorded,
        },
        Some(Cow::Owned(_)) => Seen::Unrecorded,
    };
    let user = record.user_identity.as_ref();
    let issuer = user.and_then(|u| u.session_context.as_ref()).and_then(|c| c.session_issuer.as_ref());
    let of_user =
        |f: for<'r> fn(&'r UserIdentity<'a>) -> &'r Text<'a>| user.map_or(Seen::Unreachable, |u| string(f(u)));
    let of_issuer =
        |f: for<'r> fn(&'r SessionIssuer<'a>) -> &'r Text<'a>| issuer.map_or(Seen::Unreachable, |i| string(f(i)));
    [
        raw(record.request_parameters),
        raw(record.response_elements),
        raw(record.additional_event_data),
        raw(record.resources),
        string(&record.event_type),
        of_user(|u| &u.kind),
        of_user(|u| &u.arn),
        of_user(|u| &u.principal_id),
        of_user(|u| &u.account_id),
        of_user(|u| &u.user_name),
        of_issuer(|i| &i.kind),
        of_issuer(|i| &i.arn),
        of_issuer(|i| &i.user_name),
    ]
}

/// Where a call came from: an address (zero-padded octets repaired, with a note), a cloud
/// service host (`ec2.amazonaws.com`, `AWS Internal`, `…googleapis.com`), or other text; and
/// the event's text cache, holding the address's text when the record wrote it as it reads
/// back (an IPv4 address read strictly, so alerts need not format it again).
pub(crate) fn origin_of(text: Option<&str>, notes: &mut Vec<Note>) -> (Origin, TextCache) {
    let origin = match text.map(str::trim) {
        None | Some("") => Origin::Unknown,
        Some(s) => match parse_ip_lenient(s) {
            Some(p) => {
                if p.zero_padded {
                    notes.push(Note::ZeroPaddedIp);
                } else if p.ip.is_ipv4() {
                    // The strict reading accepts one text per IPv4 address: the one it reads back as.
                    return (Origin::Ip(p.ip), TextCache::with_source_ip(s));
                }
                Origin::Ip(p.ip)
            }
            None if s == "AWS Internal"
                || s.ends_with(".amazonaws.com")
                || s.ends_with(".googleapis.com")
                || s == "private" =>
            {
                Origin::Service(s.to_string())
            }
            None => Origin::Other(s.to_string()),
        },
    };
    (origin, TextCache::default())
}

/// The `exec-env/…` token AWS SDKs add inside managed runtimes (Lambda, ECS, CodeBuild).
fn runtime_of(user_agent: &str) -> Option<String> {
    // Built once: building a searcher costs more than searching one user agent.
    static EXEC_ENV: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(b"exec-env/"));
    let start = EXEC_ENV.find(user_agent.as_bytes())? + "exec-env/".len();
    let token = user_agent[start..].split(|c: char| c.is_whitespace() || c == ')').next()?;
    (!token.is_empty()).then(|| token.to_string())
}

fn owned(t: &Text<'_>) -> String {
    t.as_deref().unwrap_or_default().to_string()
}

/// Short fields (account, region, service, action) are held inline: copying one allocates
/// nothing.
fn compact(t: &Text<'_>) -> CompactString {
    t.as_deref().unwrap_or_default().into()
}

/// `field` (a dotted path) is absent.
pub(crate) fn missing(field: &str) -> RecordError {
    RecordError { reason: BadReason::MissingField, detail: format!("missing field '{field}'") }
}

/// `field` holds `text`, which is not a timestamp.
pub(crate) fn invalid_time(field: &str, text: &str) -> RecordError {
    RecordError {
        reason: BadReason::InvalidTime,
        detail: format!("field '{field}': '{}' is not an RFC 3339 timestamp", truncate(text, 64)),
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A stable id for a record without `eventID`: a hash of its text.
pub(crate) fn content_id(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("nhiwatch-{hex}")
}

/// Re-reads a record that failed to decode to name the field at fault.
fn describe_error(text: &str, err: serde_json::Error) -> RecordError {
    use serde_json::error::Category;
    match err.classify() {
        Category::Data => {
            let mut de = serde_json::Deserializer::from_str(text);
            let path = match serde_path_to_error::deserialize::<_, Record<'_>>(&mut de) {
                Err(e) => e.path().to_string(),
                Ok(_) => String::new(),
            };
            let top_level = path.is_empty() || path == "." || !text.trim_start().starts_with('{');
            let reason = if top_level { BadReason::UnknownShape } else { BadReason::WrongType };
            let message = err.to_string();
            let message = message.split(" at line").next().unwrap_or(&message);
            if top_level {
                RecordError { reason, detail: format!("not a CloudTrail record: {message}") }
            } else {
                RecordError { reason, detail: format!("field '{path}': {message}") }
            }
        }
        Category::Eof => RecordError { reason: BadReason::Truncated, detail: format!("record ends early: {err}") },
        Category::Syntax | Category::Io => RecordError { reason: BadReason::InvalidJson, detail: err.to_string() },
    }
}

/// Reads CloudTrail's `eventTime` (RFC 3339; also `YYYY-MM-DD HH:MM:SS[.fff]` in UTC, as some
/// exports write it).
pub fn parse_event_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text.trim_end_matches('Z'), fmt) {
            return Some(t.and_utc());
        }
    }
    None
}

/// Builds the identity: one stable key per principal, never per session.
fn identity_of(user: Option<&UserIdentity<'_>>, event_account: &str) -> Identity {
    let Some(u) = user else {
        return Identity::new(IdentityKey("unknown".into()), IdentityType::Unknown, event_account, "unknown".into());
    };
    let kind = IdentityType::from_cloudtrail(u.kind.as_deref().unwrap_or(""));
    let arn = u.arn.as_deref().unwrap_or("");
    let account: CompactString = u.account_id.as_deref().filter(|a| !a.is_empty()).unwrap_or(event_account).into();
    let issuer = u.session_context.as_ref().and_then(|c| c.session_issuer.as_ref());
    let issuer_arn = issuer.and_then(|i| i.arn.as_deref()).filter(|a| !a.is_empty());
    let (key, name, session_name) = match kind {
        IdentityType::AssumedRole => {
            let session = role_of_session(arn, &account);
            let key = issuer_arn
                .map(str::to_string)
                .or_else(|| session.as_ref().map(RoleSession::role_arn))
                .unwrap_or_else(|| fallback_key(u, &account));
            let name = issuer.and_then(|i| i.user_name.as_deref()).or(session.as_ref().map(|s| s.role));
            (key, name.unwrap_or_default().to_string(), session.and_then(|s| s.session).map(str::to_string))
        }
        IdentityType::IAMUser => {
            let name = u.user_name.as_deref().map(str::to_string).unwrap_or_else(|| last_segment(arn).to_string());
            let key = if arn.is_empty() { format!("arn:aws:iam::{account}:user/{name}") } else { arn.to_string() };
            (key, name, None)
        }
        IdentityType::Root => {
            let key = if arn.is_empty() { format!("arn:aws:iam::{account}:root") } else { arn.to_string() };
            (key, "root".to_string(), None)
        }
        IdentityType::AWSService => {
            let svc = u.invoked_by.as_deref().unwrap_or("aws-service").to_string();
            (svc.clone(), svc, None)
        }
        IdentityType::AWSAccount => {
            let acct = u.account_id.as_deref().unwrap_or("unknown").to_string();
            (format!("aws-account:{acct}"), acct, None)
        }
        IdentityType::WebIdentityUser | IdentityType::SAMLUser => {
            let provider = u.identity_provider.as_deref().unwrap_or("");
            let user = u.user_name.as_deref().or(u.principal_id.as_deref()).unwrap_or("");
            let prefix = if kind == IdentityType::SAMLUser { "saml" } else { "web-identity" };
            (format!("{prefix}:{provider}:{user}"), user.to_string(), None)
        }
        IdentityType::FederatedUser => {
            let key = issuer_arn.unwrap_or(arn).to_string();
            let name = issuer
                .and_then(|i| i.user_name.as_deref())
                .map(str::to_string)
                .unwrap_or_else(|| last_segment(arn).to_string());
            (key, name, Some(last_segment(arn).to_string()))
        }
        // The other clouds' kinds never come from `userIdentity.type`.
        _ => (fallback_key(u, &account), u.user_name.as_deref().unwrap_or("unknown").to_string(), None),
    };
    let key = if key.is_empty() { fallback_key(u, &account) } else { key };
    let mut id = Identity::new(IdentityKey(key), kind, account, name);
    id.access_key_id = u.access_key_id.as_deref().filter(|k| !k.is_empty()).map(CompactString::from);
    id.session_name = session_name;
    id.web_identity = kind == IdentityType::WebIdentityUser
        || u.session_context
            .as_ref()
            .is_some_and(|c| c.web_id_federation_data.is_some_and(|d| d.get() != "null" && d.get() != "{}"));
    id.saml = kind == IdentityType::SAMLUser || id.name.starts_with("AWSReservedSSO_");
    if let Some(i) = issuer
        && id.account.is_empty()
    {
        id.account = i.account_id.as_deref().unwrap_or_default().into();
    }
    id
}

fn fallback_key(u: &UserIdentity<'_>, account: &str) -> String {
    u.arn
        .as_deref()
        .filter(|a| !a.is_empty())
        .or(u.principal_id.as_deref().filter(|p| !p.is_empty()))
        .map_or_else(|| format!("unknown:{account}"), str::to_string)
}

fn last_segment(arn: &str) -> &str {
    arn.rsplit(['/', ':']).next().unwrap_or(arn)
}

/// `arn:aws:sts::ACCT:assumed-role/ROLE/SESSION` → (role ARN, role name, session name).
fn role_of_session<'a>(arn: &'a str, account: &'a str) -> Option<RoleSession<'a>> {
    // One pass over the colons for a well-formed ARN (every assumed-role event has one); a
    // search for the marker anywhere otherwise.
    let mut parts = arn.splitn(6, ':');
    let fields: [Option<&str>; 6] = std::array::from_fn(|_| parts.next());
    let rest = match fields[5].and_then(|r| r.strip_prefix("assumed-role/")) {
        Some(rest) => rest,
        None => arn.split_once(":assumed-role/").map(|(_, r)| r)?,
    };
    let (role, session) = match rest.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (rest, None),
    };
    let partition = fields[1].unwrap_or("aws");
    let account = fields[4].filter(|a| !a.is_empty()).unwrap_or(account);
    Some(RoleSession { partition, account, role, session })
}

/// The parts of an assumed-role session ARN (`arn:aws:sts::1:assumed-role/ROLE/SESSION`).
struct RoleSession<'a> {
    partition: &'a str,
    account: &'a str,
    role: &'a str,
    session: Option<&'a str>,
}

impl RoleSession<'_> {
    /// The ARN of the role the session was issued for (made only when the record lacks it).
    fn role_arn(&self) -> String {
        format!("arn:{}:iam::{}:role/{}", self.partition, self.account, self.role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn off() -> SourceOffset {
        SourceOffset { file: Arc::from("t.json"), line: Some(1), record: 0 }
    }

    #[test]
    fn a_source_address_reads_as_the_address_it_is_whatever_its_writing() {
        let text_of = |written: &str| {
            let mut notes = Vec::new();
            let (origin, cached) = origin_of(Some(written), &mut notes);
            let event = Event {
                origin,
                text: cached,
                ..decode_record(r#"{"eventTime":"2026-03-14T02:47:12Z","eventName":"X"}"#, off())
                    .expect("decodes")
                    .event
            };
            event.source_ip_text().to_string()
        };
        // Kept as written when it reads back the same; otherwise written from the address.
        assert_eq!(text_of(" 203.0.113.7 "), "203.0.113.7");
        assert_eq!(text_of("075.050.255.67"), "75.50.255.67");
        assert_eq!(text_of("2001:DB8::1"), "2001:db8::1");
        assert_eq!(text_of("ec2.amazonaws.com"), "ec2.amazonaws.com");
    }

    /// Every value a path reaches, as text (`null` included).
    fn values(event: &Event, path: &str) -> Vec<String> {
        let path = nhiwatch_core::FieldPath::parse(path).expect("valid path");
        let mut out = Vec::new();
        event.visit_field(&path, &mut |v| {
            out.push(v.to_text());
            false
        });
        out
    }

    #[test]
    fn paths_the_decoder_records_read_as_the_text_does() {
        let records = [
            r#"{"eventTime":"2026-03-14T02:47:12Z","eventName":"ConsoleLogin","eventType":"AwsConsoleSignIn","additionalEventData":{"MFAUsed":"NO"},"responseElements":{"ConsoleLogin":"Success"},"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a","userName":"a"}}"#,
            r#"{"eventTime":"2026-03-14T02:47:12Z","eventName":"ListUsers","additionalEventData":null,"requestParameters":null,"userIdentity":{"type":"AssumedRole","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::1:role/r"}}}}"#,
            r#"{"eventTime":"2026-03-14T02:47:12Z","eventName":"ListUsers","userIdentity":{"type":"Ro\u006ft","arn":null,"sessionContext":null},"resources":[{"ARN":"x"},{"ARN":"y"}]}"#,
            r#"{"eventTime":"2026-03-14T02:47:12Z","eventName":"ListUsers","requestParameters":{"userName":"b","n":3}}"#,
        ];
        let mut paths: Vec<&str> = nhiwatch_core::event::KNOWN_PATHS.to_vec();
        paths.extend([
            "additionalEventData.MFAUsed",
            "requestParameters.userName",
            "requestParameters.n",
            "resources.ARN",
            "userIdentity.sessionContext.sessionIssuer",
            "userIdentity.sessionContext.attributes.mfaAuthenticated",
        ]);
        for text in records {
            let decoded = decode_record(text, off()).expect("decodes").event;
            let mut plain = decoded.clone();
            plain.raw = RawRecord::new(text);
            for path in &paths {
                assert_eq!(values(&decoded, path), values(&plain, path), "{path} in {text}");
            }
        }
        let first = decode_record(records[0], off()).expect("decodes").event;
        assert_eq!(values(&first, "userIdentity.type"), ["IAMUser"]);
        let second = decode_record(records[1], off()).expect("decodes").event;
        assert_eq!(values(&second, "additionalEventData"), ["null"]);
        assert_eq!(values(&second, "userIdentity.sessionContext.sessionIssuer.type"), ["Role"]);
        let third = decode_record(records[2], off()).expect("decodes").event;
        assert_eq!(values(&third, "userIdentity.type"), ["Root"]);
        assert_eq!(values(&third, "resources.ARN"), ["x", "y"]);
    }

    #[test]
    fn assumed_role_keys_on_the_role_not_the_session() {
        let text = r#"{"eventTime":"2026-03-14T02:47:12Z","eventName":"ListUsers","eventSource":"iam.amazonaws.com","recipientAccountId":"111111111111","eventID":"e1","sourceIPAddress":"075.050.255.67",
          "userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111111111111:assumed-role/app-server/i-0abc123def4567890","accountId":"111111111111","accessKeyId":"ASIAXXXX",
          "sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111111111111:role/service/app-server","userName":"app-server","accountId":"111111111111"}}}}"#;
        let d = decode_record(text, off()).expect("decodes");
        assert_eq!(d.event.identity.key.as_str(), "arn:aws:iam::111111111111:role/service/app-server");
        assert_eq!(d.event.identity.session_name.as_deref(), Some("i-0abc123def4567890"));
        assert!(d.event.identity.is_instance_profile_session());
        assert_eq!(d.event.origin.to_string(), "75.50.255.67");
        assert_eq!(d.notes, vec![Note::ZeroPaddedIp]);
    }

    #[test]
    fn role_without_issuer_is_derived_from_the_session_arn() {
        let text = r#"{"eventTime":"2026-03-14T02:47:12Z","eventName":"X","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/ci/run-1"}}"#;
        let d = decode_record(text, off()).expect("decodes");
        assert_eq!(d.event.identity.key.as_str(), "arn:aws:iam::1:role/ci");
        assert_eq!(d.notes, vec![Note::SynthesizedEventId]);
    }

    #[test]
    fn session_arns_are_split_into_role_and_session() {
        let s = role_of_session("arn:aws-us-gov:sts::222222222222:assumed-role/ci/run-1", "1").expect("parses");
        assert_eq!(
            (s.role_arn().as_str(), s.role, s.session),
            ("arn:aws-us-gov:iam::222222222222:role/ci", "ci", Some("run-1"))
        );
        // No account in the ARN: the record's account.
        let s = role_of_session("arn:aws:sts:::assumed-role/ci", "1").expect("parses");
        assert_eq!((s.role_arn().as_str(), s.session), ("arn:aws:iam::1:role/ci", None));
        // Malformed: the marker is still found where it is.
        let s = role_of_session("sts:assumed-role/ci/x", "1").expect("parses");
        assert_eq!((s.role, s.session), ("ci", Some("x")));
        assert!(role_of_session("arn:aws:iam::1:role/ci", "1").is_none());
    }

    #[test]
    fn eventbridge_envelopes_are_unwrapped() {
        let text = r#"{"version":"0","id":"x","detail-type":"AWS API Call via CloudTrail","source":"aws.iam","detail":{"eventTime":"2026-03-14T02:47:12Z","eventName":"CreateUser","eventID":"e9","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/svc","userName":"svc","accessKeyId":"AKIAX"}}}"#;
        let d = decode_record(text, off()).expect("decodes");
        assert_eq!(d.event.action, "CreateUser");
        assert!(d.event.raw.text().starts_with("{\"eventTime\""));
        assert!(d.event.identity.uses_long_lived_key());
    }

    #[test]
    fn managed_runtimes_are_read_from_the_user_agent() {
        assert_eq!(
            runtime_of("Boto3/1.34 md/Botocore exec-env/AWS_Lambda_python3.12 cfg/x").as_deref(),
            Some("AWS_Lambda_python3.12")
        );
        assert_eq!(
            runtime_of("aws-sdk-go/1.0 (go1.21; linux; amd64) exec-env/AWS_ECS_FARGATE").as_deref(),
            Some("AWS_ECS_FARGATE")
        );
        assert_eq!(runtime_of("aws-cli/2.15"), None);
    }

    #[test]
    fn errors_name_the_field() {
        let e = decode_record(r#"{"eventTime":"2026-03-14T02:47:12Z","eventName":42}"#, off()).expect_err("wrong type");
        assert_eq!(e.reason, BadReason::WrongType);
        assert!(e.detail.contains("eventName"), "{}", e.detail);
        let e = decode_record(r#"{"eventName":"X"}"#, off()).expect_err("no time");
        assert_eq!(e.reason, BadReason::MissingField);
        assert!(e.detail.contains("eventTime"));
        let e = decode_record(r#"{"eventTime":"yesterday","eventName":"X"}"#, off()).expect_err("bad time");
        assert_eq!(e.reason, BadReason::InvalidTime);
        let e = decode_record(r#"{"eventTime":"2026-03-14T02:47:12Z","userIdentity":{"type":7}}"#, off())
            .expect_err("nested");
        assert!(e.detail.contains("userIdentity.type"), "{}", e.detail);
        let e = decode_record(r#"[1,2]"#, off()).expect_err("not a record");
        assert_eq!(e.reason, BadReason::UnknownShape);
        // CloudTrail's own fields make it a CloudTrail record missing its time.
        let e = decode_record(r#"{"eventSource":"s3.amazonaws.com","eventID":"x"}"#, off()).expect_err("no time");
        assert_eq!(e.reason, BadReason::MissingField);
        assert!(e.detail.contains("eventTime"), "{}", e.detail);
        let e = decode_record(r#"{"hello":"world"}"#, off()).expect_err("no source");
        assert_eq!(e.reason, BadReason::UnknownShape);
        assert!(e.detail.contains("not a recognised audit record"), "{}", e.detail);
    }
}
