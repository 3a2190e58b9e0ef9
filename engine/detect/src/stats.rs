//! Engine counters, shown in the replay summary and (later) exported as metrics.

use nhiwatch_core::alert::Severity;
use nhiwatch_rules::RulePack;
use std::collections::BTreeMap;

/// What the engine did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Events taken.
    pub events_total: u64,
    /// Events older than the watermark on arrival.
    pub late_events_total: u64,
    /// Alerts emitted per rule id (every rule of the pack is listed, zero or not).
    pub alerts_by_rule: BTreeMap<String, u64>,
    /// Alerts emitted per severity.
    pub alerts_by_severity: BTreeMap<Severity, u64>,
    /// Alerts of shadow-mode rules, per rule id (not in `alerts_by_rule`).
    pub shadow_by_rule: BTreeMap<String, u64>,
    /// Alerts silenced by de-duplication, per rule id.
    pub suppressed_by_rule: BTreeMap<String, u64>,
    /// Alerts silenced by `[[suppress]]` configuration, per (rule id, reason).
    pub config_suppressed: BTreeMap<(String, String), u64>,
    /// Groups with baseline state at the end of input.
    pub groups_tracked: u64,
    /// Groups evicted from the bounded state (their baselines start over).
    pub state_evictions_total: u64,
    /// Values dropped from full `new_value` baselines.
    pub value_evictions_total: u64,
    /// Identities classified non-human (at the end of input).
    pub identities_nhi: u64,
    /// Identities classified human (at the end of input).
    pub identities_human: u64,
}

/// Adds one to `rule`'s count, copying its id only the first time.
fn count(counts: &mut BTreeMap<String, u64>, rule: &str) {
    match counts.get_mut(rule) {
        Some(n) => *n += 1,
        None => {
            counts.insert(rule.to_string(), 1);
        }
    }
}

impl EngineStats {
    pub(crate) fn for_pack(pack: &RulePack) -> Self {
        let alerts_by_rule = pack.rules().iter().map(|r| (r.id.clone(), 0)).collect();
        Self { alerts_by_rule, ..Self::default() }
    }

    pub(crate) fn count_alert(&mut self, rule: &str, severity: Severity) {
        count(&mut self.alerts_by_rule, rule);
        *self.alerts_by_severity.entry(severity).or_default() += 1;
    }

    pub(crate) fn count_shadow(&mut self, rule: &str) {
        count(&mut self.shadow_by_rule, rule);
    }

    pub(crate) fn count_suppressed(&mut self, rule: &str) {
        count(&mut self.suppressed_by_rule, rule);
    }

    pub(crate) fn count_config_suppressed(&mut self, rule: &str, reason: &str) {
        *self.config_suppressed.entry((rule.to_string(), reason.to_string())).or_default() += 1;
    }

    /// Alerts emitted in total.
    pub fn alerts_total(&self) -> u64 {
        self.alerts_by_rule.values().sum()
    }

    /// Alerts suppressed by de-duplication in total.
    pub fn suppressed_total(&self) -> u64 {
        self.suppressed_by_rule.values().sum()
    }

    /// Alerts suppressed by configuration in total.
    pub fn config_suppressed_total(&self) -> u64 {
        self.config_suppressed.values().sum()
    }
}
