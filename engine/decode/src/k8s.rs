//! Kubernetes API server audit events (`audit.k8s.io/v1` `Event`): self-managed clusters, EKS
//! (CloudWatch Logs exports carry the event as is), AKS (diagnostic records with the event as
//! text in `properties.log`) and GKE (a Cloud Audit `LogEntry` with `serviceName` `k8s.io`).
//!
//! The event model reads: service = the resource (`pods/exec`, `secrets`,
//! `serviceaccounts/token`, or the path of a non-resource URL), action = the verb (`create`,
//! `list`), identity = `user.username` (or the impersonated user, with the real one as
//! `identity.via`), origin = the first of `sourceIPs`, outcome = `responseStatus.code` (400 and
//! above is a failure), category = the stage (`ResponseComplete`).

use crate::audit::{Draft, at, first_text, missing, text, text_or_empty, time_of, wrong_type};
use crate::cloudtrail::RecordError;
use chrono::{DateTime, Utc};
use nhiwatch_core::{Identity, IdentityKey, IdentityType, Outcome, SourceKind};
use serde_json::Value;

/// True for a Kubernetes audit event, bare or wrapped by AKS.
pub(crate) fn is_k8s(v: &Value) -> bool {
    let api = text(v, &["apiVersion"]).ok().flatten();
    if api.is_some_and(|a| a.starts_with("audit.k8s.io")) {
        return true;
    }
    if at(v, &["verb"]).is_some() && (at(v, &["user"]).is_some() || at(v, &["objectRef"]).is_some()) {
        return true;
    }
    aks_inner(v).is_some()
}

/// AKS diagnostic records (`category` `kube-audit` or `kube-audit-admin`) hold the audit event
/// as JSON text in `properties.log`.
fn aks_inner(v: &Value) -> Option<&str> {
    let category = text(v, &["category"]).ok().flatten()?;
    if !category.eq_ignore_ascii_case("kube-audit") && !category.eq_ignore_ascii_case("kube-audit-admin") {
        return None;
    }
    at(v, &["properties", "log"])?.as_str()
}

/// Reads one audit event (or an AKS record wrapping one).
pub(crate) fn decode(v: &Value) -> Result<Draft, RecordError> {
    if let Some(inner) = aks_inner(v) {
        let mut event: Value = serde_json::from_str(inner).map_err(|e| RecordError {
            reason: crate::bad::BadReason::InvalidJson,
            detail: format!("field 'properties.log': not a Kubernetes audit event: {e}"),
        })?;
        // The record's own time stands in when the embedded event carries none.
        if at(&event, &["stageTimestamp"]).is_none()
            && at(&event, &["requestReceivedTimestamp"]).is_none()
            && let (Some(time), Some(obj)) =
                (at(v, &["time"]).or_else(|| at(v, &["p_event_time"])).cloned(), event.as_object_mut())
        {
            obj.insert("stageTimestamp".into(), time);
        }
        let mut draft = decode_event(&event)?;
        let resource_id = text_or_empty(v, &["resourceId"])?;
        draft.account = crate::azure::subscription_of(&resource_id).unwrap_or_default().into();
        return Ok(draft);
    }
    decode_event(v)
}

fn decode_event(v: &Value) -> Result<Draft, RecordError> {
    let time = time_of(v, &[&["stageTimestamp"], &["requestReceivedTimestamp"], &["timestamp"], &["p_event_time"]])?;
    let verb = text(v, &["verb"])?.ok_or_else(|| missing(&["verb"]))?.into_owned();
    let service = match at(v, &["objectRef"]) {
        Some(obj) => {
            let resource = text_or_empty(obj, &["resource"])?;
            match text(obj, &["subresource"])? {
                Some(sub) => format!("{resource}/{sub}"),
                None => resource,
            }
        }
        None => text_or_empty(v, &["requestURI"])?.split('?').next().unwrap_or_default().to_string(),
    };
    let username = text(v, &["user", "username"])?.map(|s| s.into_owned());
    let impersonated = text(v, &["impersonatedUser", "username"])?.map(|s| s.into_owned());
    let identity = match (impersonated, username) {
        (Some(as_user), real) => {
            let mut id = identity_of(&as_user);
            id.via = real;
            id
        }
        (None, Some(user)) => identity_of(&user),
        (None, None) => identity_of("system:anonymous"),
    };
    let origin = match at(v, &["sourceIPs"]) {
        None => None,
        Some(Value::Array(ips)) => ips.first().and_then(Value::as_str).map(str::to_string),
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => return Err(wrong_type(&["sourceIPs"], "an array of addresses", other)),
    };
    let outcome = match at(v, &["responseStatus", "code"]) {
        None => Outcome::default(),
        Some(Value::Number(n)) if n.as_i64().is_some_and(|c| c < 400) => Outcome::default(),
        Some(Value::Number(n)) => Outcome {
            error_code: Some(n.to_string()),
            error_message: first_text(v, &[&["responseStatus", "reason"], &["responseStatus", "message"]])?,
        },
        Some(other) => return Err(wrong_type(&["responseStatus", "code"], "a number", other)),
    };
    let stage = text_or_empty(v, &["stage"])?;
    let event_id = text(v, &["auditID"])?.map(|id| match stage.as_str() {
        "" | "ResponseComplete" => id.into_owned(),
        // Earlier stages of one request share its audit id.
        other => format!("{id}/{other}"),
    });
    Ok(Draft {
        time,
        source: SourceKind::K8sAudit,
        account: Default::default(),
        region: Default::default(),
        read_only: Some(is_read(&verb)),
        service: service.into(),
        action: verb.into(),
        event_id,
        identity,
        origin,
        user_agent: text_or_empty(v, &["userAgent"])?,
        outcome,
        category: stage.into(),
        geo: None,
    })
}

/// Verbs that only read.
fn is_read(verb: &str) -> bool {
    matches!(verb, "get" | "list" | "watch")
}

/// The identity behind a Kubernetes user name.
pub(crate) fn identity_of(username: &str) -> Identity {
    let (kind, name) = if let Some(sa) = username.strip_prefix("system:serviceaccount:") {
        (IdentityType::KubernetesServiceAccount, sa.replacen(':', "/", 1))
    } else if let Some(node) = username.strip_prefix("system:node:") {
        (IdentityType::KubernetesNode, node.to_string())
    } else if username == "system:anonymous" {
        (IdentityType::Anonymous, username.to_string())
    } else if username.starts_with("system:") || username.starts_with("eks:") || username.starts_with("aksService") {
        (IdentityType::KubernetesSystem, username.to_string())
    } else if username.ends_with(".gserviceaccount.com") {
        // GKE: a Google service account calling the cluster.
        let id = crate::gcp::identity_of(username, "");
        return Identity { key: IdentityKey(format!("k8s:{}", id.key)), ..id };
    } else {
        (IdentityType::User, username.to_string())
    };
    Identity::new(IdentityKey(format!("k8s:{username}")), kind, String::new(), name)
}

/// What the GCP reader already took from a GKE `LogEntry`.
pub(crate) struct GkeParts {
    pub time: DateTime<Utc>,
    pub method: String,
    pub project: String,
    pub region: String,
    pub principal: Option<String>,
    pub origin: Option<String>,
    pub user_agent: String,
    pub outcome: Outcome,
    pub event_id: Option<String>,
}

/// GKE writes Kubernetes audit as Cloud Audit Logs: the verb ends `methodName`
/// (`io.k8s.core.v1.pods.exec.create`) and `resourceName` is the object's API path
/// (`core/v1/namespaces/default/pods/web/exec`).
pub(crate) fn from_gke(v: &Value, parts: GkeParts) -> Result<Draft, RecordError> {
    let verb = parts.method.rsplit('.').next().unwrap_or_default().to_string();
    let resource_name = text_or_empty(v, &["protoPayload", "resourceName"])?;
    let segments: Vec<&str> = resource_name.split('/').collect();
    let rest = match segments.get(2) {
        Some(&"namespaces") if segments.len() > 4 => &segments[4..],
        _ => segments.get(2..).unwrap_or_default(),
    };
    let service = match rest {
        [resource, _name, sub, ..] => format!("{resource}/{sub}"),
        [resource, ..] => (*resource).to_string(),
        [] => String::new(),
    };
    let identity = identity_of(parts.principal.as_deref().unwrap_or("system:anonymous"));
    Ok(Draft {
        time: parts.time,
        source: SourceKind::K8sAudit,
        account: parts.project.into(),
        region: parts.region.into(),
        read_only: Some(is_read(&verb)),
        service: service.into(),
        action: verb.into(),
        event_id: parts.event_id,
        identity,
        origin: parts.origin,
        user_agent: parts.user_agent,
        outcome: parts.outcome,
        category: Default::default(),
        geo: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_map_to_identity_kinds() {
        let sa = identity_of("system:serviceaccount:ci:deployer");
        assert_eq!(sa.kind, IdentityType::KubernetesServiceAccount);
        assert_eq!(sa.name, "ci/deployer");
        assert_eq!(sa.key.as_str(), "k8s:system:serviceaccount:ci:deployer");
        assert_eq!(identity_of("system:node:ip-10-0-1-5").kind, IdentityType::KubernetesNode);
        assert_eq!(identity_of("system:kube-scheduler").kind, IdentityType::KubernetesSystem);
        assert_eq!(identity_of("system:anonymous").kind, IdentityType::Anonymous);
        assert_eq!(identity_of("alice@example.com").kind, IdentityType::User);
        assert_eq!(identity_of("ci@p.iam.gserviceaccount.com").kind, IdentityType::ServiceAccount);
    }
}
