//! CloudTrail record shapes: `userIdentity` blocks (and the IAM roles behind them, including
//! the names IAM Identity Center gives its roles), one API call record, and the time formats
//! CloudTrail uses.
//!
//! Everything here builds [`serde_json::Value`]s with CloudTrail's real field names (record
//! version 1.09). It decides nothing about *who* does *what* and *when*; the demo story
//! (`demo.rs`) and the synthetic organisation (`org.rs`) do. Times are Unix seconds (`i64`)
//! inside the crate and formatted here without fallible calendar look-ups.

use crate::rng::Rng;
use serde_json::{Map, Value, json};

/// The CloudTrail record version written on every record.
pub(crate) const EVENT_VERSION: &str = "1.09";

/// `userIdentity` of an IAM user signing with one of its access keys.
pub(crate) fn iam_user_identity(account: &str, user_name: &str, principal_id: &str, access_key_id: &str) -> Value {
    json!({
        "type": "IAMUser",
        "principalId": principal_id,
        "arn": format!("arn:aws:iam::{account}:user/{user_name}"),
        "accountId": account,
        "accessKeyId": access_key_id,
        "userName": user_name,
    })
}

/// An IAM role as the `sessionIssuer` of its sessions.
#[derive(Debug, Clone)]
pub(crate) struct Role {
    /// Owning account id.
    pub(crate) account: String,
    /// Role name (last path segment).
    pub(crate) name: String,
    /// Unique id, `AROA` + 17 characters.
    pub(crate) principal_id: String,
    /// `arn:aws:iam::<account>:role/<path><name>`, computed once.
    arn: String,
}

impl Role {
    /// A role with the default path `/`.
    pub(crate) fn new(account: &str, name: &str, principal_id: &str) -> Self {
        Self::with_path(account, "/", name, principal_id)
    }

    /// A role under an IAM `path` (`/aws-reserved/sso.amazonaws.com/` for SSO roles).
    pub(crate) fn with_path(account: &str, path: &str, name: &str, principal_id: &str) -> Self {
        Self {
            account: account.to_owned(),
            name: name.to_owned(),
            principal_id: principal_id.to_owned(),
            arn: format!("arn:aws:iam::{account}:role{path}{name}"),
        }
    }

    /// An IAM Identity Center (SSO) role of a random permission set, as the SSO service names
    /// it: `AWSReservedSSO_<permission set>_<16 hex digits>` under
    /// `/aws-reserved/sso.amazonaws.com/`, with a random unique id.
    pub(crate) fn random_sso(account: &str, rng: &mut Rng) -> Self {
        const PERMISSION_SETS: [&str; 4] =
            ["AdministratorAccess", "PowerUserAccess", "ReadOnlyAccess", "DeveloperAccess"];
        let set = rng.pick(&PERMISSION_SETS);
        let name = format!("AWSReservedSSO_{set}_{}", rng.hex(16));
        let principal_id = rng.aws_id("AROA", 17);
        Self::with_path(account, "/aws-reserved/sso.amazonaws.com/", &name, &principal_id)
    }

    /// The role ARN, with its path.
    pub(crate) fn arn(&self) -> &str {
        &self.arn
    }

    /// The ARN of one session (`arn:aws:sts::<account>:assumed-role/<name>/<session>`).
    pub(crate) fn session_arn(&self, session: &str) -> String {
        format!("arn:aws:sts::{}:assumed-role/{}/{}", self.account, self.name, session)
    }
}

/// How a role session was obtained, as far as `sessionContext` shows it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Federation<'a> {
    /// Plain `AssumeRole` (instance profiles, Lambda, SSO's own `AssumeRoleWithSAML` shows the
    /// same way in later calls): `webIdFederationData` is an empty object.
    None,
    /// `AssumeRoleWithWebIdentity` through the OIDC provider whose ARN is given.
    WebIdentity(&'a str),
}

/// `userIdentity` of a call made with role session credentials.
pub(crate) fn role_session_identity(
    role: &Role,
    session: &str,
    access_key_id: &str,
    created: i64,
    mfa: bool,
    federation: Federation<'_>,
) -> Value {
    let web = match federation {
        Federation::None => json!({}),
        Federation::WebIdentity(provider) => json!({
            "federatedProvider": provider,
            "attributes": {},
        }),
    };
    json!({
        "type": "AssumedRole",
        "principalId": format!("{}:{}", role.principal_id, session),
        "arn": role.session_arn(session),
        "accountId": role.account,
        "accessKeyId": access_key_id,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role.principal_id,
                "arn": role.arn(),
                "accountId": role.account,
                "userName": role.name,
            },
            "webIdFederationData": web,
            "attributes": {
                "creationDate": rfc3339(created),
                "mfaAuthenticated": if mfa { "true" } else { "false" },
            },
        },
    })
}

/// `userIdentity` of an `AssumeRoleWithWebIdentity` call: the OIDC subject, before it has a
/// role session.
pub(crate) fn web_identity_user(provider_arn: &str, provider_host: &str, audience: &str, subject: &str) -> Value {
    json!({
        "type": "WebIdentityUser",
        "principalId": format!("{provider_arn}:{audience}:{subject}"),
        "userName": subject,
        "identityProvider": provider_host,
    })
}

/// `userIdentity` of an AWS service acting for the account (`invokedBy` is the service
/// principal, or `AWS Internal`).
pub(crate) fn aws_service_identity(invoked_by: &str) -> Value {
    json!({
        "type": "AWSService",
        "invokedBy": invoked_by,
    })
}

/// Whoever makes a run of calls: identity block plus the network facts that go with it.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// The `userIdentity` object.
    pub(crate) identity: Value,
    /// `recipientAccountId` of its calls unless overridden.
    pub(crate) account: String,
    /// `sourceIPAddress`: an address, a service host or `AWS Internal`.
    pub(crate) ip: String,
    /// `userAgent`.
    pub(crate) agent: String,
    /// TLS version of its connections; `None` for calls AWS makes internally.
    pub(crate) tls: Option<&'static str>,
    /// Whether the credentials are a console session (`sessionCredentialFromConsole`).
    pub(crate) console: bool,
}

impl Caller {
    /// A caller from outside AWS over TLS 1.3.
    pub(crate) fn new(identity: Value, account: &str, ip: &str, agent: &str) -> Self {
        Self {
            identity,
            account: account.to_owned(),
            ip: ip.to_owned(),
            agent: agent.to_owned(),
            tls: Some("TLSv1.3"),
            console: false,
        }
    }

    /// An AWS service principal: its host name is both address and user agent, no TLS details.
    pub(crate) fn service(invoked_by: &str, account: &str) -> Self {
        Self {
            identity: aws_service_identity(invoked_by),
            account: account.to_owned(),
            ip: invoked_by.to_owned(),
            agent: invoked_by.to_owned(),
            tls: None,
            console: false,
        }
    }
}

/// One API call about to become a CloudTrail record.
#[derive(Debug)]
pub(crate) struct ApiCall<'a> {
    caller: &'a Caller,
    identity: Option<Value>,
    time: i64,
    service: &'a str,
    name: &'a str,
    region: &'a str,
    recipient: Option<String>,
    read_only: bool,
    data: bool,
    event_type: &'static str,
    request: Value,
    response: Value,
    additional: Option<Value>,
    resources: Option<Value>,
    error: Option<(&'a str, String)>,
}

impl<'a> ApiCall<'a> {
    /// A call of `service:name` (`service` is the endpoint prefix: `iam`, `s3`, `ec2`...) at
    /// `time`, in `us-east-1`, to the caller's account, with no parameters. `readOnly` and the
    /// data-event flag are inferred from the name and overridable.
    pub(crate) fn new(caller: &'a Caller, time: i64, service: &'a str, name: &'a str) -> Self {
        Self {
            caller,
            identity: None,
            time,
            service,
            name,
            region: "us-east-1",
            recipient: None,
            read_only: is_read_only(name),
            data: is_data_event(service, name),
            event_type: if name == "ConsoleLogin" { "AwsConsoleSignIn" } else { "AwsApiCall" },
            request: Value::Null,
            response: Value::Null,
            additional: None,
            resources: None,
            error: None,
        }
    }

    /// Sets `awsRegion` (global services stay in `us-east-1` whatever is set).
    pub(crate) fn region(mut self, region: &'a str) -> Self {
        self.region = region;
        self
    }

    /// Uses `identity` as `userIdentity` instead of a clone of the caller's.
    pub(crate) fn identity(mut self, identity: Value) -> Self {
        self.identity = Some(identity);
        self
    }

    /// Sets `recipientAccountId` when it is not the caller's account.
    pub(crate) fn recipient(mut self, account: &str) -> Self {
        self.recipient = Some(account.to_owned());
        self
    }

    /// Sets `requestParameters`.
    pub(crate) fn request(mut self, request: Value) -> Self {
        self.request = request;
        self
    }

    /// Sets `responseElements`.
    pub(crate) fn response(mut self, response: Value) -> Self {
        self.response = response;
        self
    }

    /// Sets `additionalEventData`.
    pub(crate) fn additional(mut self, additional: Value) -> Self {
        self.additional = Some(additional);
        self
    }

    /// Sets `resources`.
    pub(crate) fn resources(mut self, resources: Value) -> Self {
        self.resources = Some(resources);
        self
    }

    /// Makes the call fail with `errorCode`/`errorMessage` (and null `responseElements`).
    pub(crate) fn error(mut self, code: &'a str, message: String) -> Self {
        self.error = Some((code, message));
        self
    }

    /// The CloudTrail record. `rng` supplies `eventID` and `requestID`.
    pub(crate) fn build(self, rng: &mut Rng) -> Value {
        let region = if is_global(self.service) { "us-east-1" } else { self.region };
        let mut event_source = String::with_capacity(self.service.len() + 14);
        event_source.push_str(self.service);
        event_source.push_str(".amazonaws.com");
        let request_id = if self.service == "s3" { rng.upper_hex(16) } else { rng.uuid() };
        let event_id = rng.uuid();
        let tls = match self.caller.tls {
            Some(version) if self.name != "ConsoleLogin" => {
                let cipher =
                    if version == "TLSv1.3" { "TLS_AES_128_GCM_SHA256" } else { "ECDHE-RSA-AES128-GCM-SHA256" };
                Some(json!({
                    "tlsVersion": version,
                    "cipherSuite": cipher,
                    "clientProvidedHostHeader": host_header(self.service, region, &self.request),
                }))
            }
            _ => None,
        };
        let mut record = Map::new();
        record.insert("eventVersion".into(), EVENT_VERSION.into());
        let identity = self.identity.unwrap_or_else(|| self.caller.identity.clone());
        record.insert("userIdentity".into(), identity);
        record.insert("eventTime".into(), rfc3339(self.time).into());
        record.insert("eventSource".into(), event_source.into());
        record.insert("eventName".into(), self.name.into());
        record.insert("awsRegion".into(), region.into());
        record.insert("sourceIPAddress".into(), self.caller.ip.as_str().into());
        record.insert("userAgent".into(), self.caller.agent.as_str().into());
        let failed = self.error.is_some();
        if let Some((code, message)) = self.error {
            record.insert("errorCode".into(), code.into());
            record.insert("errorMessage".into(), message.into());
        }
        record.insert("requestParameters".into(), self.request);
        let response = if failed { Value::Null } else { self.response };
        record.insert("responseElements".into(), response);
        if let Some(additional) = self.additional {
            record.insert("additionalEventData".into(), additional);
        }
        record.insert("requestID".into(), request_id.into());
        record.insert("eventID".into(), event_id.into());
        record.insert("readOnly".into(), self.read_only.into());
        if let Some(resources) = self.resources {
            record.insert("resources".into(), resources);
        }
        record.insert("eventType".into(), self.event_type.into());
        record.insert("managementEvent".into(), (!self.data).into());
        let recipient = self.recipient.unwrap_or_else(|| self.caller.account.clone());
        record.insert("recipientAccountId".into(), recipient.into());
        let category = if self.data { "Data" } else { "Management" };
        record.insert("eventCategory".into(), category.into());
        if let Some(tls) = tls {
            record.insert("tlsDetails".into(), tls);
        }
        if self.caller.console {
            record.insert("sessionCredentialFromConsole".into(), "true".into());
        }
        let mut record = Value::Object(record);
        // No-op unless some crate in the build enables serde_json's `preserve_order`; then it
        // keeps the key order, and so the written bytes, independent of that feature.
        record.sort_all_objects();
        record
    }
}

/// Services whose events CloudTrail records in `us-east-1` whatever region the caller uses.
fn is_global(service: &str) -> bool {
    matches!(service, "iam" | "signin" | "organizations")
}

/// CloudTrail's `readOnly` for an event name.
fn is_read_only(name: &str) -> bool {
    ["Get", "List", "Describe", "Lookup", "BatchCheck", "BatchGet", "Head", "Receive", "AssumeRole"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

/// Whether `service:name` is a data event (S3 object and SQS message APIs) rather than a
/// management event.
fn is_data_event(service: &str, name: &str) -> bool {
    match service {
        "s3" => name.ends_with("Object") || name.starts_with("ListObjects"),
        "sqs" => name.ends_with("Message") || name.ends_with("MessageBatch"),
        _ => false,
    }
}

/// The `Host` header a client sends for `service` in `region`.
fn host_header(service: &str, region: &str, request: &Value) -> String {
    match service {
        "iam" | "sts" => format!("{service}.amazonaws.com"),
        "ecr" => format!("api.ecr.{region}.amazonaws.com"),
        "s3" => match request.get("bucketName").and_then(Value::as_str) {
            Some(bucket) => format!("{bucket}.s3.{region}.amazonaws.com"),
            None => format!("s3.{region}.amazonaws.com"),
        },
        _ => format!("{service}.{region}.amazonaws.com"),
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Calendar parts of a Unix time: (year, month, day, hour, minute, second).
pub(crate) fn civil(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    (year, month, day, (sod / 3600) as u32, (sod / 60 % 60) as u32, (sod % 60) as u32)
}

/// CloudTrail's `eventTime` format: `2026-03-14T02:47:12Z`.
///
/// Written digit by digit: it runs for every record and `format!` was a measurable share of
/// generating a million of them.
pub(crate) fn rfc3339(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    let mut out = String::with_capacity(20);
    push_digits(&mut out, y.rem_euclid(10_000) as u32, 4);
    out.push('-');
    push_digits(&mut out, mo, 2);
    out.push('-');
    push_digits(&mut out, d, 2);
    out.push('T');
    push_digits(&mut out, h, 2);
    out.push(':');
    push_digits(&mut out, mi, 2);
    out.push(':');
    push_digits(&mut out, s, 2);
    out.push('Z');
    out
}

/// Appends the last `width` decimal digits of `value`, zero-padded.
fn push_digits(out: &mut String, value: u32, width: u32) {
    for place in (0..width).rev() {
        let digit = (value / 10_u32.pow(place)) % 10;
        out.push(char::from(b'0' + digit as u8));
    }
}

/// `2026-03-14`.
pub(crate) fn ymd(secs: i64) -> String {
    let (y, mo, d, ..) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02}")
}

/// The date format of IAM and STS response elements: `Mar 14, 2026, 3:04:18 AM`.
pub(crate) fn aws_display_time(secs: i64) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (y, mo, d, h, mi, s) = civil(secs);
    let month = MONTHS[(mo as usize + 11) % 12];
    let (h12, meridiem) = match h {
        0 => (12, "AM"),
        1..=11 => (h, "AM"),
        12 => (12, "PM"),
        _ => (h - 12, "PM"),
    };
    format!("{month} {d}, {y}, {h12}:{mi:02}:{s:02} {meridiem}")
}

/// Day of week, 0 = Monday ... 6 = Sunday.
pub(crate) fn weekday(secs: i64) -> u32 {
    // 1970-01-01 was a Thursday (3).
    ((secs.div_euclid(86_400) + 3).rem_euclid(7)) as u32
}

/// Monday to Friday.
pub(crate) fn is_weekday(secs: i64) -> bool {
    weekday(secs) < 5
}

/// Seconds since midnight UTC.
pub(crate) fn second_of_day(secs: i64) -> i64 {
    secs.rem_euclid(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Datelike, SecondsFormat};

    #[test]
    fn time_formats_match_chrono() {
        for secs in [0_i64, 951_782_400, 1_773_014_400, 1_773_456_432, 4_102_444_799, -86_401] {
            let dt = DateTime::from_timestamp(secs, 0).expect("test times are in range");
            assert_eq!(rfc3339(secs), dt.to_rfc3339_opts(SecondsFormat::Secs, true));
            assert_eq!(weekday(secs), dt.weekday().num_days_from_monday());
        }
        assert_eq!(aws_display_time(1_773_456_432), "Mar 14, 2026, 2:47:12 AM");
        assert_eq!(aws_display_time(1_773_014_400 + 13 * 3600), "Mar 9, 2026, 1:00:00 PM");
        assert_eq!(aws_display_time(1_773_014_400), "Mar 9, 2026, 12:00:00 AM");
    }

    #[test]
    fn record_has_cloudtrail_shape() {
        let caller = Caller::new(iam_user_identity("1", "u", "AIDAX", "AKIAX"), "1", "192.0.2.1", "aws-cli/2");
        let mut rng = Rng::new(1);
        let record = ApiCall::new(&caller, 0, "s3", "PutObject")
            .region("eu-west-1")
            .request(json!({"bucketName": "b", "key": "k"}))
            .build(&mut rng);
        assert_eq!(record["eventSource"], "s3.amazonaws.com");
        assert_eq!(record["eventCategory"], "Data");
        assert_eq!(record["managementEvent"], false);
        assert_eq!(record["readOnly"], false);
        assert_eq!(record["awsRegion"], "eu-west-1");
        assert_eq!(record["tlsDetails"]["clientProvidedHostHeader"], "b.s3.eu-west-1.amazonaws.com");
        let failed = ApiCall::new(&caller, 0, "iam", "ListUsers")
            .region("eu-west-1")
            .response(json!({"x": 1}))
            .error("AccessDenied", "no".into())
            .build(&mut rng);
        assert_eq!(failed["awsRegion"], "us-east-1");
        assert_eq!(failed["readOnly"], true);
        assert_eq!(failed["responseElements"], Value::Null);
        assert_eq!(failed["errorCode"], "AccessDenied");
    }
}
