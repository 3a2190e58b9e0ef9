//! Identities: who acted, keyed so that every session of one role is one identity.

use compact_str::CompactString;
use serde::Serialize;
use std::fmt;
use std::sync::Arc;

/// The stable id of an identity: a role ARN (never the session ARN), a user ARN, a service
/// principal, an account id. Every event of one identity carries the same key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct IdentityKey(pub String);

impl IdentityKey {
    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What kind of principal acted, as the log source names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum IdentityType {
    /// A role session; the identity is the role.
    AssumedRole,
    /// An IAM user, with console password and/or access keys.
    IAMUser,
    /// The account root user.
    Root,
    /// An AWS service acting on the account's behalf (`invokedBy`).
    AWSService,
    /// Another AWS account (cross-account access).
    AWSAccount,
    /// A web identity (OIDC) federated principal.
    WebIdentityUser,
    /// A SAML federated principal.
    SAMLUser,
    /// A federated user from `GetFederationToken`.
    FederatedUser,
    /// A GCP service account (`…@PROJECT.iam.gserviceaccount.com`).
    ServiceAccount,
    /// A Google-managed service agent (`service-N@gcp-sa-….iam.gserviceaccount.com`,
    /// `N@cloudservices.gserviceaccount.com`).
    ServiceAgent,
    /// An Azure service principal: an application's identity in a tenant.
    ServicePrincipal,
    /// An Azure managed identity (system- or user-assigned).
    ManagedIdentity,
    /// A Kubernetes service account (`system:serviceaccount:NS:NAME`).
    KubernetesServiceAccount,
    /// A Kubernetes node's kubelet (`system:node:NAME`).
    KubernetesNode,
    /// A Kubernetes control-plane component (`system:kube-scheduler`, `system:apiserver`, …).
    KubernetesSystem,
    /// A person's account in GCP, Microsoft Entra ID or Kubernetes.
    User,
    /// An unauthenticated caller (`system:anonymous`).
    Anonymous,
    /// An identity type the decoder did not recognise (kept, never dropped).
    Unknown,
}

impl IdentityType {
    /// The name used in alerts and rules (`identity.type`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AssumedRole => "AssumedRole",
            Self::IAMUser => "IAMUser",
            Self::Root => "Root",
            Self::AWSService => "AWSService",
            Self::AWSAccount => "AWSAccount",
            Self::WebIdentityUser => "WebIdentityUser",
            Self::SAMLUser => "SAMLUser",
            Self::FederatedUser => "FederatedUser",
            Self::ServiceAccount => "ServiceAccount",
            Self::ServiceAgent => "ServiceAgent",
            Self::ServicePrincipal => "ServicePrincipal",
            Self::ManagedIdentity => "ManagedIdentity",
            Self::KubernetesServiceAccount => "KubernetesServiceAccount",
            Self::KubernetesNode => "KubernetesNode",
            Self::KubernetesSystem => "KubernetesSystem",
            Self::User => "User",
            Self::Anonymous => "Anonymous",
            Self::Unknown => "Unknown",
        }
    }

    /// Reads CloudTrail's `userIdentity.type`.
    pub fn from_cloudtrail(text: &str) -> Self {
        match text {
            "AssumedRole" => Self::AssumedRole,
            "IAMUser" => Self::IAMUser,
            "Root" => Self::Root,
            "AWSService" => Self::AWSService,
            "AWSAccount" => Self::AWSAccount,
            "WebIdentityUser" => Self::WebIdentityUser,
            "SAMLUser" => Self::SAMLUser,
            "FederatedUser" => Self::FederatedUser,
            _ => Self::Unknown,
        }
    }
}

/// Who acted in one event, with the facts the NHI classification reads.
///
/// The classification itself (`nhi`, `nhi_reason`) is filled by the engine, which also knows
/// the configuration and what this identity did before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Stable id (role ARN, user ARN, service principal, account id).
    pub key: IdentityKey,
    /// Principal type.
    pub kind: IdentityType,
    /// Account that owns the identity (may differ from the event's account).
    pub account: CompactString,
    /// Short readable name: role name, user name, service, `root`.
    pub name: String,
    /// Access key used for this call, if any (`AKIA…` long-lived, `ASIA…` temporary).
    pub access_key_id: Option<CompactString>,
    /// Role session name (`i-0abc…` for instance profiles, a CI job id, a user's e-mail).
    pub session_name: Option<String>,
    /// True when the credentials came from web identity (OIDC) federation: EKS service
    /// accounts, CI OIDC providers.
    pub web_identity: bool,
    /// True when the session came from SAML / SSO federation (a person at a desk).
    pub saml: bool,
    /// The managed runtime that made the call, from the user agent's `exec-env/…` token
    /// (`AWS_Lambda_python3.12`, `AWS_ECS_FARGATE`): the caller is a workload.
    pub runtime: Option<String>,
    /// Who acted through this identity: the principal that impersonated a GCP service account
    /// (`serviceAccountDelegationInfo`), the user behind a Kubernetes impersonation.
    pub via: Option<String>,
    /// Whether the engine classified this identity as non-human.
    pub nhi: bool,
    /// Why the engine decided human or non-human, in words an analyst reads.
    pub nhi_reason: Arc<str>,
}

/// The reason of an identity not classified yet (shared: every decoded event starts so).
fn unclassified() -> Arc<str> {
    static EMPTY: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();
    Arc::clone(EMPTY.get_or_init(|| Arc::from("")))
}

impl Identity {
    /// An identity with no classification yet.
    pub fn new(key: IdentityKey, kind: IdentityType, account: impl Into<CompactString>, name: String) -> Self {
        Self {
            key,
            kind,
            account: account.into(),
            name,
            access_key_id: None,
            session_name: None,
            web_identity: false,
            saml: false,
            runtime: None,
            via: None,
            nhi: false,
            nhi_reason: unclassified(),
        }
    }

    /// True when the session name is an EC2 instance id, i.e. instance-profile credentials.
    pub fn is_instance_profile_session(&self) -> bool {
        self.session_name.as_deref().is_some_and(|s| {
            s.strip_prefix("i-").is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_hexdigit()))
        })
    }

    /// The facts classification reads from this event, packed so an unchanged identity is
    /// not classified again.
    pub fn signal_bits(&self) -> u8 {
        u8::from(self.is_instance_profile_session())
            | u8::from(self.web_identity) << 1
            | u8::from(self.saml) << 2
            | u8::from(self.uses_long_lived_key()) << 3
            | u8::from(self.runtime.is_some()) << 4
    }

    /// True when a long-lived IAM user access key (`AKIA…`) signed the call.
    pub fn uses_long_lived_key(&self) -> bool {
        self.access_key_id.as_deref().is_some_and(|k| k.starts_with("AKIA"))
    }
}

/// What a GCP principal's e-mail (lowercase) names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GcpPrincipal<'a> {
    /// A service account the project's workloads use, with its project when the address
    /// names one (`NAME@PROJECT.iam.gserviceaccount.com`; not `N-compute@developer…`).
    ServiceAccount(Option<&'a str>),
    /// A Google-managed service agent (`service-N@gcp-sa-….iam…`, `service-N@compute-system.iam…`,
    /// `N@cloudservices…`, `…@container-engine-robot…`).
    ServiceAgent,
    /// Anything else: a person, a group, a domain.
    Other,
}

/// Reads a GCP principal e-mail (lowercase).
pub fn gcp_principal(email: &str) -> GcpPrincipal<'_> {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    let numbered =
        local.strip_prefix("service-").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if let Some(project) = domain.strip_suffix(".iam.gserviceaccount.com") {
        if project.starts_with("gcp-sa-") || numbered {
            GcpPrincipal::ServiceAgent
        } else {
            GcpPrincipal::ServiceAccount(Some(project))
        }
    } else if domain.ends_with("gserviceaccount.com") {
        // The default compute and App Engine accounts (`N-compute@developer…`, `P@appspot…`)
        // are the project's own service accounts.
        let managed = domain.starts_with("cloudservices.")
            || domain.contains("robot")
            || (local.starts_with("service-") && !domain.starts_with("developer."));
        if managed { GcpPrincipal::ServiceAgent } else { GcpPrincipal::ServiceAccount(None) }
    } else {
        GcpPrincipal::Other
    }
}

/// True for a GUID as Azure writes object, tenant and subscription ids
/// (`87654321-4321-4321-4321-111111111111`).
pub fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter()
            .enumerate()
            .all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { *c == b'-' } else { c.is_ascii_hexdigit() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcp_principals_are_read_from_their_address() {
        assert_eq!(gcp_principal("svc@prod-1.iam.gserviceaccount.com"), GcpPrincipal::ServiceAccount(Some("prod-1")));
        assert_eq!(gcp_principal("service-12@gcp-sa-cloudbuild.iam.gserviceaccount.com"), GcpPrincipal::ServiceAgent);
        assert_eq!(gcp_principal("service-12@compute-system.iam.gserviceaccount.com"), GcpPrincipal::ServiceAgent);
        assert_eq!(gcp_principal("12@cloudservices.gserviceaccount.com"), GcpPrincipal::ServiceAgent);
        assert_eq!(gcp_principal("12-compute@developer.gserviceaccount.com"), GcpPrincipal::ServiceAccount(None));
        assert_eq!(gcp_principal("alice@example.com"), GcpPrincipal::Other);
    }

    #[test]
    fn guids_are_recognised() {
        assert!(is_guid("87654321-4321-4321-4321-111111111111"));
        assert!(!is_guid("87654321-4321-4321-4321-11111111111g"));
        assert!(!is_guid("111111111111"));
    }

    #[test]
    fn instance_profile_sessions_are_recognised() {
        let mut id =
            Identity::new(IdentityKey("arn:aws:iam::1:role/web".into()), IdentityType::AssumedRole, "1", "web".into());
        id.session_name = Some("i-0a1b2c3d4e5f".into());
        assert!(id.is_instance_profile_session());
        id.session_name = Some("i-deploy".into());
        assert!(!id.is_instance_profile_session());
        id.session_name = Some("i-".into());
        assert!(!id.is_instance_profile_session());
    }
}
