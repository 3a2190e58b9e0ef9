//! Human or non-human: the classification every alert carries, with its reason.
//!
//! Signals, strongest first: explicit configuration; AWS services; sessions created by AWS
//! services or EC2 instance profiles; calls from a managed runtime (Lambda, ECS: the SDK's
//! `exec-env/…` user-agent token); web identity (OIDC) federation; configured name
//! patterns; SSO/SAML sessions (human); IAM users (human once seen signing in to the console,
//! non-human while they only use long-lived access keys); root (human). Other clouds name their
//! workload identities outright: GCP service accounts and service agents, Azure service
//! principals and managed identities, Kubernetes service accounts, nodes and control-plane
//! components are non-human; their user accounts are human unless a name pattern says otherwise.

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use nhiwatch_core::{Identity, IdentityType};

/// Patterns used when the configuration sets none.
pub const DEFAULT_NAME_PATTERNS: &[&str] = &["svc-*", "svc_*", "*-bot", "*_bot", "ci-*", "ci_*"];

/// A pattern list that failed to compile.
#[derive(Debug, thiserror::Error)]
#[error("invalid identity pattern '{pattern}': {source}")]
pub struct PatternError {
    /// The pattern as written.
    pub pattern: String,
    /// Why.
    #[source]
    pub source: globset::Error,
}

#[derive(Debug, Clone, Default)]
struct Patterns {
    set: GlobSet,
    texts: Vec<String>,
}

impl Patterns {
    fn new(patterns: &[String]) -> Result<Self, PatternError> {
        let mut b = GlobSetBuilder::new();
        for p in patterns {
            let glob: Glob = GlobBuilder::new(p)
                .case_insensitive(true)
                .literal_separator(false)
                .build()
                .map_err(|source| PatternError { pattern: p.clone(), source })?;
            b.add(glob);
        }
        let set = b.build().map_err(|source| PatternError { pattern: patterns.join(", "), source })?;
        Ok(Self { set, texts: patterns.to_vec() })
    }

    fn first_match(&self, text: &str) -> Option<&str> {
        self.set.matches(text).first().map(|i| self.texts[*i].as_str())
    }
}

/// Classification settings (`[identities]` in the config).
#[derive(Debug, Clone, Default)]
pub struct Classifier {
    force_nhi: Patterns,
    force_human: Patterns,
    names: Patterns,
}

/// What the engine has seen an identity do, as far as classification cares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Signals {
    /// The identity signed in to the console at least once.
    pub console_login: bool,
}

impl Classifier {
    /// `nhi` / `human`: identity-key (ARN) globs that force the verdict; `names`: identity-name
    /// globs that mark non-human identities.
    pub fn new(nhi: &[String], human: &[String], names: &[String]) -> Result<Self, PatternError> {
        Ok(Self { force_nhi: Patterns::new(nhi)?, force_human: Patterns::new(human)?, names: Patterns::new(names)? })
    }

    /// The default: no overrides, [`DEFAULT_NAME_PATTERNS`].
    pub fn with_defaults() -> Self {
        let names: Vec<String> = DEFAULT_NAME_PATTERNS.iter().map(|s| (*s).to_string()).collect();
        // The default patterns are constants known to compile.
        Self::new(&[], &[], &names).unwrap_or_default()
    }

    /// Decides human or non-human, with the reason.
    pub fn classify(&self, id: &Identity, seen: Signals) -> (bool, String) {
        let key = id.key.as_str();
        if let Some(p) = self.force_human.first_match(key) {
            return (false, format!("configured as human ([identities] human = '{p}')"));
        }
        if let Some(p) = self.force_nhi.first_match(key) {
            return (true, format!("configured as non-human ([identities] nhi = '{p}')"));
        }
        match id.kind {
            IdentityType::AWSService => {
                return (true, format!("AWS service principal {}", id.name));
            }
            IdentityType::Root => return (false, "account root user".to_string()),
            IdentityType::ServiceAccount => return (true, format!("GCP service account {}", id.name)),
            IdentityType::ServiceAgent => return (true, format!("Google-managed service agent {}", id.name)),
            IdentityType::ServicePrincipal => {
                return (true, "Azure service principal (an application's identity)".to_string());
            }
            IdentityType::ManagedIdentity => return (true, format!("Azure managed identity {}", id.name)),
            IdentityType::KubernetesServiceAccount => {
                return (true, format!("Kubernetes service account {}", id.name));
            }
            IdentityType::KubernetesNode => return (true, format!("Kubernetes node identity {}", id.name)),
            IdentityType::KubernetesSystem => {
                return (true, format!("Kubernetes control-plane component {}", id.name));
            }
            IdentityType::Anonymous => return (false, "unauthenticated (anonymous) caller".to_string()),
            _ => {}
        }
        if id.kind == IdentityType::AssumedRole {
            if id.is_instance_profile_session() {
                let session = id.session_name.as_deref().unwrap_or_default();
                return (true, format!("EC2 instance-profile session ({session})"));
            }
            if id.name.starts_with("AWSServiceRoleFor") {
                return (true, "service-linked role used by an AWS service".to_string());
            }
        }
        if let Some(runtime) = &id.runtime {
            return (true, format!("managed workload runtime {runtime} (exec-env in the user agent)"));
        }
        if id.web_identity {
            return (true, "web identity (OIDC) federation: Kubernetes service account or CI workload".to_string());
        }
        if let Some(p) = self.names.first_match(&id.name) {
            return (true, format!("name matches non-human pattern '{p}'"));
        }
        if id.saml {
            return (false, "SSO/SAML federated session".to_string());
        }
        match id.kind {
            IdentityType::IAMUser if seen.console_login => (false, "IAM user that signs in to the console".to_string()),
            IdentityType::IAMUser if id.uses_long_lived_key() => {
                (true, "IAM user using a long-lived access key with no console sign-in seen".to_string())
            }
            IdentityType::IAMUser => (false, "IAM user with no workload signal yet".to_string()),
            IdentityType::AWSAccount => (false, "another AWS account (cross-account caller)".to_string()),
            IdentityType::User => (false, "a person's user account".to_string()),
            _ => (false, "no non-human signal".to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nhiwatch_core::IdentityKey;

    fn user(name: &str, key: Option<&str>) -> Identity {
        let mut id =
            Identity::new(IdentityKey(format!("arn:aws:iam::1:user/{name}")), IdentityType::IAMUser, "1", name.into());
        id.access_key_id = key.map(Into::into);
        id
    }

    #[test]
    fn iam_users_follow_their_behaviour() {
        let c = Classifier::with_defaults();
        assert!(c.classify(&user("deploy", Some("AKIAEXAMPLE")), Signals::default()).0);
        assert!(!c.classify(&user("deploy", Some("AKIAEXAMPLE")), Signals { console_login: true }).0);
        assert!(!c.classify(&user("alice", None), Signals::default()).0);
        let (nhi, why) = c.classify(&user("svc_backup", None), Signals { console_login: true });
        assert!(nhi);
        assert!(why.contains("svc_*"), "{why}");
    }

    #[test]
    fn overrides_win() {
        let c = Classifier::new(&["arn:aws:iam::*:user/alice".into()], &["*:user/svc_*".into()], &["svc_*".into()])
            .expect("valid");
        assert!(c.classify(&user("alice", None), Signals::default()).0);
        assert!(!c.classify(&user("svc_x", Some("AKIA1")), Signals::default()).0);
    }
}
