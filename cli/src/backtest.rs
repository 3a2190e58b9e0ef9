//! `nhiwatch backtest`: runs a new or changed pack over history before it ships, and compares
//! it with the current pack — alerts per day, per identity and per rule, and which alerts the
//! change adds or removes (alert ids are content hashes, so unchanged rules give the same ids).
//!
//! History is read and decoded once; each event goes to both packs' engines.

use crate::replay::{ReplayOptions, for_each_event};
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use nhiwatch_core::Alert;
use nhiwatch_detect::{Engine, EngineConfig};
use nhiwatch_rules::RulePack;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::Arc;

/// Alerts listed in the difference (the counts are always complete).
const DIFF_SHOWN: usize = 50;

/// One alert in the difference.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DiffAlert {
    /// Alert id.
    pub id: String,
    /// Rule.
    pub rule_id: String,
    /// Event time (RFC 3339).
    pub time: String,
    /// Identity key.
    pub identity: String,
    /// Summary.
    pub summary: String,
}

impl DiffAlert {
    fn of(a: &Alert) -> Self {
        Self {
            id: a.id.0.clone(),
            rule_id: a.rule_id.clone(),
            time: a.time.to_rfc3339(),
            identity: a.identity.id.clone(),
            summary: a.summary.clone(),
        }
    }
}

/// What a backtest found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Backtest {
    /// Events replayed.
    pub events: u64,
    /// Alerts of the candidate pack.
    pub alerts: usize,
    /// Alerts of the current pack.
    pub baseline_alerts: usize,
    /// Candidate alerts per day (UTC).
    pub per_day: BTreeMap<String, usize>,
    /// Candidate alerts per identity.
    pub per_identity: BTreeMap<String, usize>,
    /// Candidate alerts per rule.
    pub per_rule: BTreeMap<String, usize>,
    /// Number of alerts only the candidate raises.
    pub added: usize,
    /// Number of alerts only the current pack raises.
    pub removed: usize,
    /// The first added alerts, by time.
    pub added_alerts: Vec<DiffAlert>,
    /// The first removed alerts, by time.
    pub removed_alerts: Vec<DiffAlert>,
}

/// Replays the archives with both packs (in one pass over them; `opts.state` is not used:
/// both packs start from empty state) and compares.
pub fn backtest(
    opts: &ReplayOptions,
    candidate: Arc<RulePack>,
    current: Arc<RulePack>,
    config: EngineConfig,
    diagnostics: &mut dyn Write,
) -> anyhow::Result<Backtest> {
    let mut engines = [Engine::new(candidate, config.clone()), Engine::new(current, config)];
    let mut alerts: [Vec<Alert>; 2] = Default::default();
    for_each_event(opts, diagnostics, &mut |event| {
        let [candidate, current] = &mut engines;
        alerts[1].extend(current.process(event.clone()));
        alerts[0].extend(candidate.process(event));
        Ok(())
    })?;
    for (engine, found) in engines.iter_mut().zip(&mut alerts) {
        found.extend(engine.finish());
        // Shadow-mode alerts never reach analysts, so they are not compared (as in replay).
        found.retain(|a| !a.shadow);
    }
    let [new_alerts, old_alerts] = &alerts;
    let old_ids: BTreeSet<&str> = old_alerts.iter().map(|a| a.id.0.as_str()).collect();
    let new_ids: BTreeSet<&str> = new_alerts.iter().map(|a| a.id.0.as_str()).collect();
    let count = |f: &dyn Fn(&Alert) -> String| {
        let mut m: BTreeMap<String, usize> = BTreeMap::new();
        for a in new_alerts {
            *m.entry(f(a)).or_default() += 1;
        }
        m
    };
    let per_day = count(&|a| a.time.format("%Y-%m-%d").to_string());
    let per_identity = count(&|a| a.identity.id.clone());
    let per_rule = count(&|a| a.rule_id.clone());
    let added: Vec<&Alert> = new_alerts.iter().filter(|a| !old_ids.contains(a.id.0.as_str())).collect();
    let removed: Vec<&Alert> = old_alerts.iter().filter(|a| !new_ids.contains(a.id.0.as_str())).collect();
    Ok(Backtest {
        events: engines[0].stats().events_total,
        alerts: new_alerts.len(),
        baseline_alerts: old_alerts.len(),
        per_day,
        per_identity,
        per_rule,
        added: added.len(),
        removed: removed.len(),
        added_alerts: added.iter().take(DIFF_SHOWN).map(|a| DiffAlert::of(a)).collect(),
        removed_alerts: removed.iter().take(DIFF_SHOWN).map(|a| DiffAlert::of(a)).collect(),
    })
}

fn counts_table(title: &str, counts: &BTreeMap<String, usize>) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic).set_width(120);
    t.set_header([title, "alerts"]);
    for (k, v) in counts {
        t.add_row([k.clone(), v.to_string()]);
    }
    t
}

/// Writes the report as tables.
pub fn write_table(b: &Backtest, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "backtest: {} events, {} alerts (current pack: {})", b.events, b.alerts, b.baseline_alerts)?;
    writeln!(out, "change: +{} added, -{} removed", b.added, b.removed)?;
    writeln!(out, "{}", counts_table("rule", &b.per_rule))?;
    writeln!(out, "{}", counts_table("day", &b.per_day))?;
    writeln!(out, "{}", counts_table("identity", &b.per_identity))?;
    for (sign, list) in [("+", &b.added_alerts), ("-", &b.removed_alerts)] {
        for a in list {
            writeln!(out, "{sign} {} {} {} {}", a.time, a.rule_id, a.identity, a.summary)?;
        }
    }
    Ok(())
}
