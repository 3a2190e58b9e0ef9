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
use nhiwatch_detect::suppress::Suppression;
use nhiwatch_detect::{BusinessHours, Classifier, EngineConfig};
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
    /// GeoIP databases.
    #[serde(default)]
    pub geoip: GeoipConfig,
    /// Known-good behaviour to silence.
    #[serde(default)]
    pub suppress: Vec<SuppressConfig>,
    /// Live input for `nhiwatch run`.
    #[serde(default)]
    pub kafka: Option<nhiwatch_kafka::KafkaSettings>,
    /// Where `nhiwatch run` delivers alerts.
    #[serde(default)]
    pub alerts: AlertsConfig,
    /// Where `nhiwatch run` puts messages it cannot decode.
    #[serde(default)]
    pub dead_letter: Option<DeadLetterConfig>,
    /// Durable state of `nhiwatch run`.
    #[serde(default)]
    pub state: StateConfig,
    /// Prometheus metrics of `nhiwatch run`.
    #[serde(default)]
    pub metrics: MetricsConfig,
}

/// `[alerts]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// One or more `[[alerts.sinks]]` (default: standard output).
    #[serde(default)]
    pub sinks: Vec<SinkConfig>,
}

/// One `[[alerts.sinks]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    /// `kafka` (a topic, keyed by alert id), `file` (JSON Lines, appended) or `stdout`.
    #[serde(rename = "type")]
    pub kind: SinkKind,
    /// Topic, for `kafka`.
    #[serde(default)]
    pub topic: Option<String>,
    /// File, for `file` (relative to the config file).
    #[serde(default)]
    pub path: Option<String>,
    /// True: this sink receives only the alerts of shadow-mode rules (and analysts' sinks
    /// never do).
    #[serde(default)]
    pub shadow: bool,
}

/// Kind of alert sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkKind {
    /// A Kafka topic.
    Kafka,
    /// A JSON Lines file.
    File,
    /// Standard output.
    Stdout,
}

/// `[dead_letter]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterConfig {
    /// Topic for messages that cannot be decoded (headers name source topic, partition,
    /// offset and error).
    pub topic: String,
}

/// `[state]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    /// Directory of the per-partition checkpoints (default `./nhiwatch-state`).
    #[serde(default)]
    pub dir: Option<String>,
    /// How often state is checkpointed and offsets committed (default `30s`).
    #[serde(default)]
    pub checkpoint_interval: Option<String>,
}

/// `[metrics]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Address serving Prometheus text on `/metrics` (e.g. `127.0.0.1:9898`); none when unset.
    #[serde(default)]
    pub listen: Option<String>,
}

/// `[geoip]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoipConfig {
    /// MaxMind-format files (GeoLite2 / GeoIP2 Country, City, ASN, or DB-IP Lite), consulted in
    /// order; `--geoip` adds to them.
    #[serde(default)]
    pub databases: Vec<String>,
}

/// One `[[suppress]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuppressConfig {
    /// Rule id, or `*` for every rule.
    pub rule: String,
    /// Identity-key glob (`arn:aws:iam::*:role/provisioner`).
    pub identity: String,
    /// Why this is known-good (shown in the summary). Required: a silence needs a reason.
    pub reason: String,
    /// RFC 3339 time or date after which the suppression lapses (event time).
    #[serde(default)]
    pub expires: Option<String>,
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
    /// The organisation's own networks (office egress, NAT gateways, VPN) as CIDR blocks;
    /// rules can tell calls from inside them (`org_network`).
    #[serde(default)]
    pub networks: Vec<String>,
    /// Working hours (`Mon-Fri 08-18`, local time), used by off-hours rules while an
    /// identity's own baseline is still learning. Unset: no fallback.
    #[serde(default)]
    pub business_hours: Option<String>,
    /// Local time offset from UTC for `business_hours` (`+01:00`; default `+00:00`).
    #[serde(default)]
    pub utc_offset: Option<String>,
    /// The organisation's e-mail and directory domains (`example.com`), in every cloud: a GCP
    /// member or an invited address outside them is external. Empty: the acting identity's
    /// own domain counts as internal.
    #[serde(default)]
    pub domains: Vec<String>,
    /// GCP projects the organisation owns (besides the project an event was recorded in).
    #[serde(default)]
    pub gcp_projects: Vec<String>,
    /// Azure tenants the organisation owns (GUIDs).
    #[serde(default)]
    pub azure_tenants: Vec<String>,
    /// Azure subscriptions the organisation owns (GUIDs).
    #[serde(default)]
    pub azure_subscriptions: Vec<String>,
}

/// `[engine]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSection {
    /// Allowed lateness (`15m` default): events are ordered within it; windows close on
    /// latest event time minus it. Larger values hold more events in memory.
    #[serde(default)]
    pub lateness: Option<String>,
    /// Groups (usually identities) whose baselines are kept in memory (default 1,000,000;
    /// about 1–2 KiB each). The least recently active is evicted beyond it and counted.
    #[serde(default)]
    pub max_identities: Option<usize>,
    /// `nhiwatch run`: when a partition has been quiet this long (wall time), its buffered
    /// events are evaluated without waiting for the lateness to pass (default `10s`).
    #[serde(default)]
    pub idle_flush: Option<String>,
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
    /// Paths inside the file (GeoIP databases, rule directories) are relative to the file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading config {}", path.display()))?;
        let mut config = Self::parse(&text).with_context(|| format!("invalid config {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &mut String| {
            if Path::new(p.as_str()).is_relative() {
                *p = base.join(p.as_str()).display().to_string();
            }
        };
        config.geoip.databases.iter_mut().for_each(resolve);
        config.rules.dirs.iter_mut().for_each(resolve);
        config.state.dir.iter_mut().for_each(resolve);
        config.alerts.sinks.iter_mut().filter_map(|s| s.path.as_mut()).for_each(resolve);
        Ok(config)
    }

    /// Parses config text.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let config: Self = toml::from_str(text)?;
        config.engine_settings()?;
        if let Some(idle) = &config.engine.idle_flush {
            parse_duration(idle).context("[engine] idle_flush")?;
        }
        if let Some(every) = &config.state.checkpoint_interval {
            parse_duration(every).context("[state] checkpoint_interval")?;
        }
        for (i, sink) in config.alerts.sinks.iter().enumerate() {
            match sink.kind {
                SinkKind::Kafka => {
                    anyhow::ensure!(sink.topic.is_some(), "[[alerts.sinks]] #{}: kafka needs `topic`", i + 1)
                }
                SinkKind::File => {
                    anyhow::ensure!(sink.path.is_some(), "[[alerts.sinks]] #{}: file needs `path`", i + 1)
                }
                SinkKind::Stdout => {}
            }
        }
        Ok(config)
    }

    /// The engine settings this config describes, with its GeoIP databases opened.
    pub fn engine_config(&self) -> anyhow::Result<EngineConfig> {
        let mut engine = self.engine_settings()?;
        if !self.geoip.databases.is_empty() {
            let resolver = nhiwatch_geo::MmdbResolver::open(&self.geoip.databases)?;
            engine.geo = Some(std::sync::Arc::new(resolver));
        }
        Ok(engine)
    }

    /// The engine settings without opening any file (validation).
    fn engine_settings(&self) -> anyhow::Result<EngineConfig> {
        let mut engine = EngineConfig::default();
        if let Some(l) = &self.engine.lateness {
            engine.lateness = parse_duration(l).context("[engine] lateness")?;
        }
        let networks = self
            .org
            .networks
            .iter()
            .map(|n| n.parse::<ipnet::IpNet>().map_err(|e| anyhow::anyhow!("[org] networks: '{n}': {e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        for id in self.org.azure_tenants.iter().chain(&self.org.azure_subscriptions) {
            anyhow::ensure!(
                nhiwatch_core::identity::is_guid(id),
                "[org] Azure tenant or subscription '{id}' is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
            );
        }
        for domain in &self.org.domains {
            anyhow::ensure!(
                domain.contains('.') && !domain.contains('@') && !domain.contains(char::is_whitespace),
                "[org] domain '{domain}' is not a domain name (example.com)"
            );
        }
        engine.org = Org::new(self.org.name.clone(), self.org.accounts.iter().cloned())
            .with_account_names(self.org.account_names.clone())
            .with_networks(networks)
            .with_domains(self.org.domains.iter().cloned())
            .with_projects(self.org.gcp_projects.iter().cloned())
            .with_azure(self.org.azure_tenants.iter().chain(&self.org.azure_subscriptions).cloned());
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
        if let Some(hours) = &self.org.business_hours {
            let offset = self.org.utc_offset.as_deref().unwrap_or("+00:00");
            engine.business_hours =
                Some(BusinessHours::parse(hours, offset).map_err(|e| anyhow::anyhow!("[org] business_hours: {e}"))?);
        } else if self.org.utc_offset.is_some() {
            anyhow::bail!("[org] utc_offset is set but business_hours is not");
        }
        if let Some(n) = self.engine.max_identities {
            anyhow::ensure!(n > 0, "[engine] max_identities must be at least 1");
            engine.max_groups = n;
        }
        for (i, s) in self.suppress.iter().enumerate() {
            let until = s
                .expires
                .as_deref()
                .map(crate::replay::parse_time_arg)
                .transpose()
                .with_context(|| format!("[[suppress]] #{} expires", i + 1))?;
            anyhow::ensure!(!s.reason.trim().is_empty(), "[[suppress]] #{}: reason must not be empty", i + 1);
            let suppression = Suppression::new(&s.rule, &s.identity, until, &s.reason)
                .with_context(|| format!("[[suppress]] #{} identity '{}'", i + 1, s.identity))?;
            engine.suppressions.push(suppression);
        }
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
    fn baseline_sections_parse_and_validate() {
        let c = Config::parse(
            "[org]\nbusiness_hours = \"Mon-Fri 08-18\"\nutc_offset = \"+01:00\"\n[engine]\nmax_identities = 5000\n[[suppress]]\nrule = \"aws-iam-user-created-by-nhi\"\nidentity = \"arn:aws:iam::*:role/provisioner\"\nreason = \"weekly onboarding\"\nexpires = \"2026-12-31\"\n",
        )
        .expect("valid");
        let e = c.engine_config().expect("valid");
        assert_eq!(e.max_groups, 5000);
        assert_eq!(e.suppressions.len(), 1);
        assert!(e.business_hours.is_some());
        let err = Config::parse("[[suppress]]\nrule = \"x\"\nidentity = \"*\"\n").expect_err("reason required");
        assert!(format!("{err:#}").contains("reason"), "{err:#}");
        let err = Config::parse("[org]\nnetworks = [\"10.0.0.0/33\"]\n").expect_err("bad network");
        assert!(format!("{err:#}").contains("10.0.0.0/33"), "{err:#}");
        let e =
            Config::parse("[org]\nnetworks = [\"198.51.100.0/24\"]\n").expect("valid").engine_config().expect("valid");
        assert!(e.org.owns_address("198.51.100.7".parse().expect("ip")));
        let err = Config::parse("[org]\nbusiness_hours = \"Someday 9-5\"\n").expect_err("bad hours");
        assert!(format!("{err:#}").contains("business_hours"), "{err:#}");
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

    #[test]
    fn other_clouds_of_the_organisation_are_read_and_checked() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let c = Config::load(&root.join("fixtures/clouds/nhiwatch.toml")).expect("fixture config");
        let e = c.engine_config().expect("valid");
        assert!(e.org.owns_domain("Northwind.Example"));
        assert!(e.org.owns_project("data-lake-456"));
        assert!(e.org.owns_azure("4A1F6C2E-8D3B-4E5A-9C7F-2B1D0E9A8F7C"));
        assert!(e.org.owns_azure("1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"));
        let err = Config::parse("[org]\nazure_tenants = [\"contoso\"]\n").expect_err("not a GUID");
        assert!(format!("{err:#}").contains("'contoso' is not a GUID"), "{err:#}");
        let err = Config::parse("[org]\ndomains = [\"alice@example.com\"]\n").expect_err("not a domain");
        assert!(format!("{err:#}").contains("is not a domain name"), "{err:#}");
    }

    #[test]
    fn run_configs_of_the_readme_and_fixtures_are_valid() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let c = Config::load(&root.join("fixtures/kafka/nhiwatch.toml")).expect("fixture config");
        let s = crate::run::RunSettings::from_config(&c, vec![]).expect("run settings");
        assert_eq!(s.kafka.topics, ["cloudtrail"]);
        assert_eq!(s.idle_flush, std::time::Duration::from_secs(5));
        let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
        let block = readme.split("```toml\n[kafka]").nth(1).and_then(|b| b.split("```").next()).expect("run example");
        let c = Config::parse(&format!("[kafka]{block}")).expect("README run example");
        let s = crate::run::RunSettings::from_config(&c, vec![]).expect("run settings");
        assert_eq!(s.sinks.len(), 2);
        assert!(s.sinks[1].shadow);
        assert_eq!(s.dead_letter.as_deref(), Some("nhiwatch-dlq"));
        assert_eq!(c.kafka.expect("kafka").consumer_config().get("security.protocol"), Some("SASL_SSL"));
        let err = Config::parse("[[alerts.sinks]]\ntype = \"kafka\"\n").expect_err("topic required");
        assert!(format!("{err:#}").contains("topic"), "{err:#}");
        let err = Config::parse("[state]\ncheckpoint_interval = \"often\"\n").expect_err("bad interval");
        assert!(format!("{err:#}").contains("checkpoint_interval"), "{err:#}");
    }
}
