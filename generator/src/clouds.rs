//! Large synthetic GCP, Azure and Kubernetes audit logs, for benchmarks and mixed-source tests:
//! the counterpart of [`crate::org_records`] for the other clouds.
//!
//! Each stream has `spec.identities` principals (about 80 % workloads: GCP service accounts,
//! Azure service principals and managed identities, Kubernetes service accounts; the rest
//! people), each with a home address and a few routine calls, and emits `spec.events` records
//! spread evenly over `spec.days`, already in event-time order. One record in every 20,000 is
//! attack-like (a service account key created, Owner assigned, a disk exported, cluster-admin
//! bound to a service account) so that rules have work. Same spec, same records.

use crate::rng::Rng;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

/// Which log to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    /// Google Cloud Audit Logs `LogEntry`s.
    Gcp,
    /// Azure Activity Log records.
    AzureActivity,
    /// Microsoft Entra ID sign-in records (service principals, managed identities, users).
    AzureSignIn,
    /// Kubernetes audit events.
    K8s,
}

impl Cloud {
    /// Every stream, for benchmarks that cover them all.
    pub const ALL: [Self; 4] = [Self::Gcp, Self::AzureActivity, Self::AzureSignIn, Self::K8s];

    /// The source name nhiwatch gives these records.
    pub fn source_name(self) -> &'static str {
        match self {
            Self::Gcp => "gcp_audit",
            Self::AzureActivity => "azure_activity",
            Self::AzureSignIn => "azure_signin",
            Self::K8s => "k8s_audit",
        }
    }
}

const ATTACK_EVERY: usize = 20_000;
const TENANT: &str = "4a1f6c2e-8d3b-4e5a-9c7f-2b1d0e9a8f7c";
const SUBSCRIPTIONS: [&str; 3] = [
    "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e",
    "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f",
    "3d4e5f6a-7b8c-4d9e-8f1a-2b3c4d5e6f7a",
];
const PROJECTS: [&str; 4] = ["prod-app-123", "data-lake-456", "ci-build-789", "shared-net-012"];
const NAMESPACES: [&str; 5] = ["web", "data", "ci", "payments", "monitoring"];
/// Public ranges workloads and people call from (cloud egress, CI runners, offices).
const NETWORKS: [[u8; 3]; 8] = [
    [34, 77, 12],
    [35, 190, 247],
    [140, 82, 112],
    [20, 43, 245],
    [52, 160, 8],
    [104, 196, 22],
    [203, 0, 113],
    [198, 51, 100],
];

/// One principal of a stream.
#[derive(Debug, Clone)]
struct Principal {
    index: usize,
    person: bool,
    ip: String,
    home: usize,
}

/// The records of one stream, produced lazily in event-time order.
#[derive(Debug)]
pub struct CloudRecords {
    cloud: Cloud,
    principals: Vec<Principal>,
    rng: Rng,
    start: DateTime<Utc>,
    step_ms: i64,
    next: usize,
    events: usize,
}

/// The `cloud` stream of `spec` (`identities`, `events`, `seed`, `start`, `days`).
pub fn cloud_records(cloud: Cloud, spec: &crate::OrgSpec) -> CloudRecords {
    let mut rng = Rng::new(spec.seed).fork(cloud.source_name());
    let principals = (0..spec.identities.max(1))
        .map(|index| {
            let net = rng.pick(&NETWORKS);
            Principal {
                index,
                person: rng.chance(0.2),
                ip: format!("{}.{}.{}.{}", net[0], net[1], net[2], rng.range(2, 250)),
                home: rng.below(4) as usize,
            }
        })
        .collect();
    let span_ms = i64::from(spec.days) * 86_400_000;
    let step_ms = if spec.events == 0 { 0 } else { span_ms / spec.events as i64 };
    CloudRecords { cloud, principals, rng, start: spec.start, step_ms, next: 0, events: spec.events }
}

impl Iterator for CloudRecords {
    type Item = Value;

    fn next(&mut self) -> Option<Value> {
        if self.next >= self.events {
            return None;
        }
        let i = self.next;
        self.next += 1;
        let time = self.start + Duration::milliseconds(self.step_ms * i as i64);
        let who = self.principals[self.rng.below(self.principals.len() as u64) as usize].clone();
        let attack = i % ATTACK_EVERY == ATTACK_EVERY / 2;
        let call = self.rng.below(4) as usize;
        let id = self.rng.uuid();
        let time = time.to_rfc3339_opts(SecondsFormat::Millis, true);
        Some(match self.cloud {
            Cloud::Gcp => gcp(&who, call, attack, &id, &time),
            Cloud::AzureActivity => azure_activity(&who, call, attack, &id, &time),
            Cloud::AzureSignIn => azure_sign_in(&who, &id, &time),
            Cloud::K8s => k8s(&who, call, attack, &id, &time),
        })
    }
}

fn gcp(who: &Principal, call: usize, attack: bool, id: &str, time: &str) -> Value {
    let project = PROJECTS[who.home];
    let email = if who.person {
        format!("person{}@northwind.example", who.index)
    } else {
        format!("svc-{}@{project}.iam.gserviceaccount.com", who.index)
    };
    let (service, method, resource) = if attack {
        (
            "iam.googleapis.com",
            "google.iam.admin.v1.CreateServiceAccountKey",
            format!("projects/-/serviceAccounts/svc-admin@{project}.iam.gserviceaccount.com"),
        )
    } else {
        match call {
            0 => (
                "storage.googleapis.com",
                "storage.objects.get",
                format!("projects/_/buckets/{project}-artifacts/objects/build-{}.tgz", who.index % 97),
            ),
            1 => (
                "compute.googleapis.com",
                "v1.compute.instances.list",
                format!("projects/{project}/zones/europe-west1-b/instances"),
            ),
            2 => (
                "run.googleapis.com",
                "google.cloud.run.v1.Services.ReplaceService",
                format!("namespaces/{project}/services/api-{}", who.index % 13),
            ),
            _ => (
                "bigquery.googleapis.com",
                "google.cloud.bigquery.v2.JobService.InsertJob",
                format!("projects/{project}/jobs/{id}"),
            ),
        }
    };
    let log = if method.starts_with("storage.objects") { "data_access" } else { "activity" };
    json!({
        "insertId": id,
        "logName": format!("projects/{project}/logs/cloudaudit.googleapis.com%2F{log}"),
        "timestamp": time,
        "receiveTimestamp": time,
        "severity": "NOTICE",
        "resource": {"type": "audited_resource", "labels": {"project_id": project, "service": service, "method": method}},
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "status": {},
            "authenticationInfo": {"principalEmail": email},
            "requestMetadata": {"callerIp": who.ip, "callerSuppliedUserAgent": "google-cloud-sdk gcloud/460.0.0 command/gcloud.run.deploy"},
            "serviceName": service,
            "methodName": method,
            "resourceName": resource,
            "authorizationInfo": [{"resource": resource, "permission": method, "granted": true}],
            "request": {"name": resource},
        }
    })
}

fn azure_identity(who: &Principal) -> Value {
    if who.person {
        json!({"claims": {"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": format!("person{}@northwind.example", who.index), "idtyp": "user"}})
    } else {
        json!({"claims": {"appid": format!("{:08x}-0000-4000-8000-{:012x}", who.index, who.index), "idtyp": "app"}})
    }
}

fn azure_activity(who: &Principal, call: usize, attack: bool, id: &str, time: &str) -> Value {
    let sub = SUBSCRIPTIONS[who.home % SUBSCRIPTIONS.len()];
    let (operation, resource) = if attack {
        (
            "MICROSOFT.COMPUTE/DISKS/BEGINGETACCESS/ACTION",
            format!(
                "/subscriptions/{sub}/resourceGroups/prod-rg/providers/Microsoft.Compute/disks/db-{}-osdisk",
                who.index % 7
            ),
        )
    } else {
        match call {
            0 => (
                "MICROSOFT.COMPUTE/VIRTUALMACHINES/READ",
                format!(
                    "/subscriptions/{sub}/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachines/vm-{}",
                    who.index % 31
                ),
            ),
            1 => (
                "MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION",
                format!(
                    "/subscriptions/{sub}/resourceGroups/data-rg/providers/Microsoft.Storage/storageAccounts/nwdata{}",
                    who.index % 5
                ),
            ),
            2 => (
                "MICROSOFT.WEB/SITES/WRITE",
                format!(
                    "/subscriptions/{sub}/resourceGroups/web-rg/providers/Microsoft.Web/sites/api-{}",
                    who.index % 11
                ),
            ),
            _ => (
                "MICROSOFT.KEYVAULT/VAULTS/READ",
                format!(
                    "/subscriptions/{sub}/resourceGroups/sec-rg/providers/Microsoft.KeyVault/vaults/kv-{}",
                    who.index % 3
                ),
            ),
        }
    };
    json!({
        "time": time,
        "resourceId": resource,
        "operationName": operation,
        "category": "Administrative",
        "resultType": "Success",
        "resultSignature": "Succeeded.OK",
        "durationMs": 120,
        "callerIpAddress": who.ip,
        "correlationId": id,
        "eventDataId": id,
        "identity": azure_identity(who),
        "level": "Information",
        "location": "westeurope",
        "tenantId": TENANT,
        "properties": {"eventCategory": "Administrative", "entity": resource},
    })
}

fn azure_sign_in(who: &Principal, id: &str, time: &str) -> Value {
    let (category, principal) = if who.person {
        ("SignInLogs", json!({"userPrincipalName": format!("person{}@northwind.example", who.index), "userId": id}))
    } else if who.index.is_multiple_of(3) {
        (
            "ManagedIdentitySignInLogs",
            json!({"servicePrincipalId": format!("{:08x}-1111-4000-8000-{:012x}", who.index, who.index), "servicePrincipalName": format!("mi-job-{}", who.index)}),
        )
    } else {
        (
            "ServicePrincipalSignInLogs",
            json!({"appId": format!("{:08x}-0000-4000-8000-{:012x}", who.index, who.index), "servicePrincipalName": format!("app-{}", who.index)}),
        )
    };
    let mut properties = json!({
        "id": id,
        "createdDateTime": time,
        "ipAddress": who.ip,
        "resourceDisplayName": "Microsoft Graph",
        "status": {"errorCode": 0},
        "userAgent": "azsdk-python-identity/1.15.0 Python/3.11",
    });
    if let (Some(p), Some(extra)) = (properties.as_object_mut(), principal.as_object()) {
        p.extend(extra.clone());
    }
    json!({
        "time": time,
        "resourceId": format!("/tenants/{TENANT}/providers/Microsoft.aadiam"),
        "operationName": "Sign-in activity",
        "category": category,
        "tenantId": TENANT,
        "resultType": "0",
        "callerIpAddress": who.ip,
        "correlationId": id,
        "properties": properties,
    })
}

fn k8s(who: &Principal, call: usize, attack: bool, id: &str, time: &str) -> Value {
    let ns = NAMESPACES[who.index % NAMESPACES.len()];
    let username = if who.person {
        format!("person{}@northwind.example", who.index)
    } else {
        format!("system:serviceaccount:{ns}:workload-{}", who.index)
    };
    let (verb, resource, name, code, request) = if attack {
        (
            "create",
            "clusterrolebindings",
            "backup-admin".to_string(),
            201,
            json!({"kind": "ClusterRoleBinding", "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}, "subjects": [{"kind": "ServiceAccount", "name": "backup", "namespace": "default"}]}),
        )
    } else {
        match call {
            0 => ("get", "configmaps", format!("app-config-{}", who.index % 9), 200, Value::Null),
            1 => ("list", "pods", String::new(), 200, Value::Null),
            2 => ("patch", "deployments", format!("api-{}", who.index % 13), 200, Value::Null),
            _ => ("create", "events", String::new(), 201, Value::Null),
        }
    };
    let mut object = json!({"resource": resource, "namespace": ns, "apiVersion": "v1"});
    if let Some(o) = object.as_object_mut()
        && !name.is_empty()
    {
        o.insert("name".into(), name.clone().into());
    }
    let mut event = json!({
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": id,
        "stage": "ResponseComplete",
        "requestURI": format!("/api/v1/namespaces/{ns}/{resource}/{name}"),
        "verb": verb,
        "user": {"username": username, "groups": ["system:authenticated"]},
        "sourceIPs": [who.ip],
        "userAgent": "kubectl/v1.29.1 (linux/amd64) kubernetes/bd5ba5f",
        "objectRef": object,
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": time,
        "stageTimestamp": time,
        "annotations": {"authorization.k8s.io/decision": "allow"},
    });
    if !request.is_null()
        && let Some(e) = event.as_object_mut()
    {
        e.insert("requestObject".into(), request);
        e.insert("level".into(), "RequestResponse".into());
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_deterministic_ordered_and_sized() {
        let spec = crate::OrgSpec { identities: 50, events: 500, days: 1, ..crate::OrgSpec::default() };
        for cloud in Cloud::ALL {
            let a: Vec<Value> = cloud_records(cloud, &spec).collect();
            let b: Vec<Value> = cloud_records(cloud, &spec).collect();
            assert_eq!(a.len(), 500);
            assert_eq!(a, b, "{cloud:?}");
        }
    }
}
