//! Google Cloud Audit Logs: a `LogEntry` whose `protoPayload` is an `AuditLog`, as log sinks
//! write it to Cloud Storage, Pub/Sub or BigQuery exports.
//!
//! Who: `authenticationInfo.principalEmail` (the service account when one was impersonated,
//! with the impersonator from `serviceAccountDelegationInfo` kept as `identity.via`); the key
//! that signed the call (`serviceAccountKeyName`) is the access key. Where:
//! `requestMetadata.callerIp`. What: `serviceName` and `methodName`. Project:
//! `resource.labels.project_id`. Outcome: `status.code` (a gRPC code; 0 or absent is success).
//! GKE's Kubernetes audit (`serviceName` `k8s.io`) is read as Kubernetes audit.

use crate::audit::{Draft, at, first_text, missing, text, text_or_empty, time_of, wrong_type};
use crate::cloudtrail::RecordError;
use nhiwatch_core::identity::{GcpPrincipal, gcp_principal};
use nhiwatch_core::{Identity, IdentityKey, IdentityType, Outcome, SourceKind};
use serde_json::Value;

const P: &str = "protoPayload";

/// Reads one GCP audit `LogEntry`.
pub(crate) fn decode(v: &Value) -> Result<Draft, RecordError> {
    let time = time_of(v, &[&["timestamp"], &["receiveTimestamp"], &["p_event_time"]])?;
    let method = text(v, &[P, "methodName"])?.ok_or_else(|| missing(&[P, "methodName"]))?.into_owned();
    let service = text_or_empty(v, &[P, "serviceName"])?;
    let project = project_of(v)?;
    let region = first_text(
        v,
        &[&["resource", "labels", "location"], &["resource", "labels", "region"], &["resource", "labels", "zone"]],
    )?
    .unwrap_or_default();
    let principal =
        first_text(v, &[&[P, "authenticationInfo", "principalEmail"], &[P, "authenticationInfo", "principalSubject"]])?;
    let outcome = status_of(v)?;
    let origin = first_text(v, &[&[P, "requestMetadata", "callerIp"], &[P, "requestMetadata", "callerIP"]])?;
    let user_agent = text_or_empty(v, &[P, "requestMetadata", "callerSuppliedUserAgent"])?;
    let log_name = text_or_empty(v, &["logName"])?;
    let category = log_kind(&log_name).to_string();
    let event_id = text(v, &["insertId"])?.map(|s| s.into_owned());
    if service == "k8s.io" || (service.is_empty() && method.starts_with("io.k8s.")) {
        return crate::k8s::from_gke(
            v,
            crate::k8s::GkeParts { time, method, project, region, principal, origin, user_agent, outcome, event_id },
        );
    }
    let mut identity = match principal.as_deref() {
        Some(p) => identity_of(p, &project),
        // System events (`system_event` logs) are Google acting on its own.
        None => Identity::new(
            IdentityKey("gcp:google-system".into()),
            IdentityType::ServiceAgent,
            project.clone(),
            "Google Cloud (system event)".into(),
        ),
    };
    identity.via = delegation_of(v)?;
    identity.access_key_id = text(v, &[P, "authenticationInfo", "serviceAccountKeyName"])?
        .map(|k| k.rsplit('/').next().unwrap_or(&k).into());
    let read_only = read_only_of(&method);
    Ok(Draft {
        time,
        source: SourceKind::GcpAudit,
        account: project.into(),
        region: region.into(),
        service: service.into(),
        action: method.into(),
        event_id,
        identity,
        origin,
        user_agent,
        outcome,
        read_only,
        category: category.into(),
        geo: None,
    })
}

/// The project: `resource.labels.project_id`, else the one named in `logName`.
fn project_of(v: &Value) -> Result<String, RecordError> {
    if let Some(p) = text(v, &["resource", "labels", "project_id"])? {
        return Ok(p.into_owned());
    }
    let log_name = text_or_empty(v, &["logName"])?;
    Ok(log_name.strip_prefix("projects/").and_then(|r| r.split('/').next()).unwrap_or_default().to_string())
}

/// `activity`, `data_access`, `system_event`, `policy` from `logName`
/// (`projects/P/logs/cloudaudit.googleapis.com%2Factivity`).
fn log_kind(log_name: &str) -> &str {
    let tail = log_name.rsplit('/').next().unwrap_or_default();
    tail.rsplit("%2F").next().unwrap_or(tail)
}

/// The identity of a principal email, classified by its form.
pub(crate) fn identity_of(email: &str, project: &str) -> Identity {
    let key = email.to_ascii_lowercase();
    let (kind, account) = match gcp_principal(&key) {
        GcpPrincipal::ServiceAccount(own) => (IdentityType::ServiceAccount, own.unwrap_or(project).to_string()),
        GcpPrincipal::ServiceAgent => (IdentityType::ServiceAgent, project.to_string()),
        GcpPrincipal::Other => (IdentityType::User, project.to_string()),
    };
    Identity::new(IdentityKey(key.clone()), kind, account, key)
}

/// Who impersonated the service account, from the first link of the delegation chain.
fn delegation_of(v: &Value) -> Result<Option<String>, RecordError> {
    let path = [P, "authenticationInfo", "serviceAccountDelegationInfo"];
    let Some(chain) = at(v, &path) else {
        return Ok(None);
    };
    let Some(links) = chain.as_array() else {
        return Err(wrong_type(&path, "an array", chain));
    };
    for link in links {
        if let Some(p) = first_text(link, &[&["firstPartyPrincipal", "principalEmail"], &["principalSubject"]])? {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

/// `status.code` as its gRPC name; code 0 or no status is success.
fn status_of(v: &Value) -> Result<Outcome, RecordError> {
    let path = [P, "status", "code"];
    let code = match at(v, &path) {
        None => return Ok(Outcome::default()),
        Some(Value::Number(n)) => n.as_i64().unwrap_or(2),
        Some(Value::String(s)) => s.parse::<i64>().unwrap_or(2),
        Some(other) => return Err(wrong_type(&path, "a number", other)),
    };
    if code == 0 {
        return Ok(Outcome::default());
    }
    Ok(Outcome {
        error_code: Some(grpc_name(code).to_string()),
        error_message: text(v, &[P, "status", "message"])?.map(|s| s.into_owned()),
    })
}

fn grpc_name(code: i64) -> &'static str {
    match code {
        1 => "CANCELLED",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "UNKNOWN",
    }
}

/// Reads (`…Get…`, `…List…`) are read-only; writes are not; others are not known.
fn read_only_of(method: &str) -> Option<bool> {
    let verb = method.rsplit('.').next().unwrap_or(method).to_ascii_lowercase();
    const READS: &[&str] =
        &["get", "list", "search", "lookup", "query", "read", "aggregatedlist", "testiampermissions"];
    const WRITES: &[&str] = &[
        "create", "insert", "update", "patch", "delete", "set", "add", "remove", "enable", "disable", "sign",
        "generate", "undelete", "rewrite", "compose", "upload",
    ];
    if READS.iter().any(|r| verb.starts_with(r)) {
        Some(true)
    } else if WRITES.iter().any(|w| verb.starts_with(w)) {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_are_classified_by_their_form() {
        let id = identity_of("svc-deployer@prod-123.iam.gserviceaccount.com", "prod-123");
        assert_eq!(id.kind, IdentityType::ServiceAccount);
        assert_eq!(id.account, "prod-123");
        let id = identity_of("service-1234@gcp-sa-cloudbuild.iam.gserviceaccount.com", "p");
        assert_eq!(id.kind, IdentityType::ServiceAgent);
        assert_eq!(identity_of("1234@cloudservices.gserviceaccount.com", "p").kind, IdentityType::ServiceAgent);
        assert_eq!(
            identity_of("service-1234@compute-system.iam.gserviceaccount.com", "p").kind,
            IdentityType::ServiceAgent
        );
        assert_eq!(identity_of("1234-compute@developer.gserviceaccount.com", "p").kind, IdentityType::ServiceAccount);
        assert_eq!(identity_of("Alice@Example.com", "p").key.as_str(), "alice@example.com");
        assert_eq!(identity_of("alice@example.com", "p").kind, IdentityType::User);
        assert_eq!(log_kind("projects/p/logs/cloudaudit.googleapis.com%2Fdata_access"), "data_access");
        assert_eq!(read_only_of("storage.objects.get"), Some(true));
        assert_eq!(read_only_of("google.iam.admin.v1.CreateServiceAccountKey"), Some(false));
    }
}
