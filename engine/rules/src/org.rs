//! The organisation a pack runs for: which accounts are ours.

use ipnet::IpNet;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// The accounts the organisation owns, with readable names. Any other account is external.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Org {
    /// Organisation name (shown in alerts and summaries).
    pub name: Option<String>,
    accounts: BTreeSet<String>,
    account_names: BTreeMap<String, String>,
    networks: Vec<IpNet>,
    /// E-mail and directory domains of the organisation's people and groups (all clouds).
    domains: BTreeSet<String>,
    /// GCP project ids the organisation owns.
    projects: BTreeSet<String>,
    /// Azure tenant and subscription ids the organisation owns (lowercase).
    azure: BTreeSet<String>,
}

impl Org {
    /// An organisation owning `accounts`.
    pub fn new(name: Option<String>, accounts: impl IntoIterator<Item = String>) -> Self {
        Self { name, accounts: accounts.into_iter().collect(), ..Self::default() }
    }

    /// Adds readable account names.
    pub fn with_account_names(mut self, names: BTreeMap<String, String>) -> Self {
        self.account_names = names;
        self
    }

    /// Adds the organisation's own networks (office egress, NAT gateways, VPN).
    pub fn with_networks(mut self, networks: Vec<IpNet>) -> Self {
        self.networks = networks;
        self
    }

    /// Adds the organisation's domains (`example.com`): e-mail principals in them are internal.
    pub fn with_domains(mut self, domains: impl IntoIterator<Item = String>) -> Self {
        self.domains = domains.into_iter().map(|d| d.to_ascii_lowercase()).collect();
        self
    }

    /// Adds the GCP projects the organisation owns.
    pub fn with_projects(mut self, projects: impl IntoIterator<Item = String>) -> Self {
        self.projects = projects.into_iter().collect();
        self
    }

    /// Adds the Azure tenants and subscriptions the organisation owns.
    pub fn with_azure(mut self, ids: impl IntoIterator<Item = String>) -> Self {
        self.azure = ids.into_iter().map(|d| d.to_ascii_lowercase()).collect();
        self
    }

    /// True when domains are configured (otherwise the acting identity's domain stands in).
    pub fn has_domains(&self) -> bool {
        !self.domains.is_empty()
    }

    /// True when `domain` is one of the organisation's.
    pub fn owns_domain(&self, domain: &str) -> bool {
        self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }

    /// True when the organisation owns GCP project `project`.
    pub fn owns_project(&self, project: &str) -> bool {
        self.projects.contains(project)
    }

    /// True when the organisation owns Azure tenant or subscription `id`.
    pub fn owns_azure(&self, id: &str) -> bool {
        self.azure.iter().any(|a| a.eq_ignore_ascii_case(id))
    }

    /// True when `ip` is in one of the organisation's networks.
    pub fn owns_address(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|n| n.contains(&ip))
    }

    /// True when the organisation owns `account`.
    pub fn owns_account(&self, account: &str) -> bool {
        self.accounts.contains(account)
    }

    /// The readable name of an account, if configured.
    pub fn account_name(&self, account: &str) -> Option<&str> {
        self.account_names.get(account).map(String::as_str)
    }
}
