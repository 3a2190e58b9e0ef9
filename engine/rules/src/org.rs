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
}

impl Org {
    /// An organisation owning `accounts`.
    pub fn new(name: Option<String>, accounts: impl IntoIterator<Item = String>) -> Self {
        Self { name, accounts: accounts.into_iter().collect(), account_names: BTreeMap::new(), networks: Vec::new() }
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
