//! The configuration file (TOML). Unknown keys are errors naming the key.
//!
//! ```toml
//! [org]
//! name = "northwind"
//! accounts = ["111111111111"]
//! [org.account_names]
//! "111111111111" = "prod"
//! [engine]
//! lateness = "15m"
//! [identities]
//! nhi = ["arn:aws:iam::*:user/svc-*"]
//! human = []
//! ```

use anyhow::Context;
use nhiwatch_core::parse_duration;
use nhiwatch_detect::{Classifier, EngineConfig};
use nhiwatch_rules::Org;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The organisation: owned accounts and their names.
    #[serde(default)]
    pub org: OrgConfig,
    /// Engine settings.
    #[serde(default)]
    pub engine: EngineSection,
    /// Human / non-human classification overrides.
    #[serde(default)]
    pub identities: IdentitiesConfig,
    /// Rule packs.
    #[serde(default)]
    pub rules: RulesConfig,
}

/// `[org]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgConfig {
    /// Organisation name, shown in summaries.
    #[serde(default)]
    pub name: Option<String>,
    /// Accounts the organisation owns; sharing with any other account is external. Empty: only
    /// the account an event was recorded in counts as internal.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// Readable account names (`"111111111111" = "prod"`), shown in alerts.
    #[serde(default)]
    pub account_names: BTreeMap<String, String>,
}

/// `[engine]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSection {
    /// Allowed lateness (`15m` default): events are ordered within it; windows close on
    /// latest event time minus it. Larger values hold more events in memory.
    #[serde(default)]
    pub lateness: Option<String>,
}

/// `[identities]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitiesConfig {
    /// Identity-key (ARN) globs always treated as non-human.
    #[serde(default)]
    pub nhi: Vec<String>,
    /// Identity-key (ARN) globs always treated as human (wins over `nhi`).
    #[serde(default)]
    pub human: Vec<String>,
    /// Identity-name globs that mark non-human identities (default: svc-*, svc_*, *-bot,
    /// *_bot, ci-*, ci_*).
    #[serde(default)]
    pub name_patterns: Option<Vec<String>>,
}

/// `[rules]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// Rule directories (replace the built-in pack; `--rules` on the command line wins).
    #[serde(default)]
    pub dirs: Vec<String>,
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading config {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("invalid config {}", path.display()))
    }

    /// Parses config text.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let config: Self = toml::from_str(text)?;
        config.engine_config()?;
        Ok(config)
    }

    /// The engine settings this config describes.
    pub fn engine_config(&self) -> anyhow::Result<EngineConfig> {
        let mut engine = EngineConfig::default();
        if let Some(l) = &self.engine.lateness {
            engine.lateness = parse_duration(l).context("[engine] lateness")?;
        }
        engine.org = Org::new(self.org.name.clone(), self.org.accounts.iter().cloned())
            .with_account_names(self.org.account_names.clone());
        for account in self.org.accounts.iter().chain(self.org.account_names.keys()) {
            anyhow::ensure!(
                account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()),
                "[org] account '{account}' is not a 12-digit AWS account id"
            );
        }
        let names: Vec<String> = match &self.identities.name_patterns {
            Some(p) => p.clone(),
            None => nhiwatch_detect::classify::DEFAULT_NAME_PATTERNS.iter().map(|s| (*s).to_string()).collect(),
        };
        engine.classifier =
            Classifier::new(&self.identities.nhi, &self.identities.human, &names).context("[identities]")?;
        Ok(engine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named() {
        let err = Config::parse("[org]\naccounts = []\nacounts = []\n").expect_err("unknown key");
        assert!(format!("{err:#}").contains("acounts"), "{err:#}");
        let err = Config::parse("[engine]\nlateness = \"15 minutes\"\n").expect_err("bad duration");
        assert!(format!("{err:#}").contains("lateness"), "{err:#}");
        let err = Config::parse("[org]\naccounts = [\"prod\"]\n").expect_err("bad account");
        assert!(format!("{err:#}").contains("prod"), "{err:#}");
    }

    #[test]
    fn full_example_parses() {
        let c = Config::parse(
            "[org]\nname = \"northwind\"\naccounts = [\"111111111111\"]\n[org.account_names]\n\"111111111111\" = \"prod\"\n[engine]\nlateness = \"15m\"\n[identities]\nnhi = [\"arn:aws:iam::*:user/svc-*\"]\nhuman = []\n",
        )
        .expect("valid");
        let e = c.engine_config().expect("valid");
        assert!(e.org.owns_account("111111111111"));
        assert_eq!(e.org.account_name("111111111111"), Some("prod"));
    }
}
