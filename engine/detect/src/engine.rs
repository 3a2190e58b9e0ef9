//! The engine: event time, identity classification, rule evaluation, windows, de-duplication.
//!
//! Replay and live streaming both call [`Engine::process`] with decoded events and
//! [`Engine::finish`] at the end of input. Events wait in a reorder buffer until the
//! watermark (latest event time − allowed lateness) passes them and are then evaluated in
//! (time, event id) order, so input shuffled within the lateness, split into any batches, or
//! read from any transport gives the same alerts. An event older than the watermark when it
//! arrives is late: it is counted and evaluated at once (a late `CreateUser` still alerts).

use crate::classify::{Classifier, Signals};
use crate::stats::EngineStats;
use chrono::Duration;
use nhiwatch_core::alert::{AlertIdentity, Evidence};
use nhiwatch_core::{Alert, AlertId, Event, EventTime, FieldPath};
use nhiwatch_rules::{Org, Rule, RuleKind, RulePack, Subject, Threshold};
use serde_json::{Map, Value};
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;

/// Default allowed lateness: CloudTrail delivers events up to about 15 minutes late.
pub const DEFAULT_LATENESS_SECS: i64 = 15 * 60;

/// Events cited per alert; `count` still says how many there were.
pub const MAX_EVIDENCE: usize = 10;

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// How far behind the latest event time an event may arrive and still be ordered.
    pub lateness: Duration,
    /// The organisation (owned accounts).
    pub org: Org,
    /// Human / non-human classification.
    pub classifier: Classifier,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            lateness: Duration::seconds(DEFAULT_LATENESS_SECS),
            org: Org::default(),
            classifier: Classifier::with_defaults(),
        }
    }
}

/// An event waiting for the watermark, ordered by (time, event id, arrival).
#[derive(Debug)]
struct Pending {
    event: Event,
    seq: u64,
}

impl Pending {
    fn key(&self) -> (EventTime, &str, u64) {
        (self.event.time, self.event.event_id.as_str(), self.seq)
    }
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

/// What the engine remembers of one identity.
#[derive(Debug, Clone, Default)]
struct IdentityState {
    signals: Signals,
    /// The last verdict and the event facts it was made from.
    verdict: Option<(u8, bool, Arc<str>)>,
}

/// One group's sliding window for a threshold rule.
#[derive(Debug, Default)]
struct Window {
    /// Counted events: (time, distinct value or empty, evidence).
    events: VecDeque<(EventTime, String, Evidence)>,
    /// Counting is allowed until this time (threshold rules with `after`).
    armed_until: Option<EventTime>,
    /// Evidence of the start event.
    start: Option<Evidence>,
}

/// The detection engine.
#[derive(Debug)]
pub struct Engine {
    pack: Arc<RulePack>,
    config: EngineConfig,
    pending: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    max_time: Option<EventTime>,
    watermark: Option<EventTime>,
    identities: HashMap<String, IdentityState>,
    windows: HashMap<(usize, String), Window>,
    dedup: HashMap<(usize, String), EventTime>,
    stats: EngineStats,
    candidates: Vec<usize>,
}

impl Engine {
    /// An engine running `pack` with `config`.
    pub fn new(pack: Arc<RulePack>, config: EngineConfig) -> Self {
        let stats = EngineStats::for_pack(&pack);
        Self {
            pack,
            config,
            pending: BinaryHeap::new(),
            seq: 0,
            max_time: None,
            watermark: None,
            identities: HashMap::new(),
            windows: HashMap::new(),
            dedup: HashMap::new(),
            stats,
            candidates: Vec::new(),
        }
    }

    /// The current watermark (`None` before the first event).
    pub fn watermark(&self) -> Option<EventTime> {
        self.watermark
    }

    /// Counters so far.
    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// Takes one event; returns the alerts that became final.
    pub fn process(&mut self, event: Event) -> Vec<Alert> {
        let mut alerts = Vec::new();
        self.stats.events_total += 1;
        if self.watermark.is_some_and(|wm| event.time < wm) {
            self.stats.late_events_total += 1;
            self.evaluate(event, &mut alerts);
            return alerts;
        }
        if self.max_time.is_none_or(|m| event.time > m) {
            self.max_time = Some(event.time);
            self.watermark = Some(event.time - self.config.lateness);
        }
        self.seq += 1;
        self.pending.push(Reverse(Pending { event, seq: self.seq }));
        self.release(&mut alerts);
        alerts
    }

    /// Moves the watermark forward without an event (a live source that is idle) and returns
    /// the alerts that became final.
    pub fn advance_watermark(&mut self, to: EventTime) -> Vec<Alert> {
        let mut alerts = Vec::new();
        if self.watermark.is_none_or(|wm| to > wm) {
            self.watermark = Some(to);
            self.release(&mut alerts);
        }
        alerts
    }

    /// End of input: evaluates everything still buffered.
    pub fn finish(&mut self) -> Vec<Alert> {
        let mut alerts = Vec::new();
        if let Some(max) = self.max_time
            && self.watermark.is_none_or(|wm| max > wm)
        {
            self.watermark = Some(max);
        }
        while let Some(Reverse(p)) = self.pending.pop() {
            self.evaluate(p.event, &mut alerts);
        }
        self.finalize_stats();
        alerts
    }

    fn release(&mut self, alerts: &mut Vec<Alert>) {
        let Some(wm) = self.watermark else { return };
        while self.pending.peek().is_some_and(|Reverse(p)| p.event.time <= wm) {
            if let Some(Reverse(p)) = self.pending.pop() {
                self.evaluate(p.event, alerts);
            }
        }
    }

    fn finalize_stats(&mut self) {
        self.stats.identities_nhi =
            self.identities.values().filter(|s| s.verdict.as_ref().is_some_and(|v| v.1)).count() as u64;
        self.stats.identities_human = self.identities.len() as u64 - self.stats.identities_nhi;
    }

    fn classify(&mut self, event: &mut Event) {
        let key = event.identity.key.as_str();
        if !self.identities.contains_key(key) {
            self.identities.insert(key.to_string(), IdentityState::default());
        }
        let Some(state) = self.identities.get_mut(key) else { return };
        if event.action == "ConsoleLogin" && !state.signals.console_login {
            state.signals.console_login = true;
            state.verdict = None;
        }
        let bits = event.identity.signal_bits();
        let (nhi, reason) = match &state.verdict {
            Some((b, nhi, reason)) if *b == bits => (*nhi, Arc::clone(reason)),
            _ => {
                let (nhi, reason) = self.config.classifier.classify(&event.identity, state.signals);
                let reason: Arc<str> = Arc::from(reason);
                state.verdict = Some((bits, nhi, Arc::clone(&reason)));
                (nhi, reason)
            }
        };
        event.identity.nhi = nhi;
        event.identity.nhi_reason = reason;
    }

    fn evaluate(&mut self, mut event: Event, alerts: &mut Vec<Alert>) {
        self.classify(&mut event);
        let mut candidates = std::mem::take(&mut self.candidates);
        self.pack.candidates(&event.action, &mut candidates);
        let pack = Arc::clone(&self.pack);
        for &index in &candidates {
            let rule = &pack.rules()[index];
            let subject = Subject { event: &event, org: &self.config.org };
            match &rule.kind {
                RuleKind::Match => {
                    if rule.condition.matches(&subject) {
                        let alert =
                            self.build_alert(rule, &event, vec![Evidence::from_event(&event)], 1, Map::new(), &[]);
                        self.emit(index, rule, &event, alert, alerts);
                    }
                }
                RuleKind::Threshold(t) => self.threshold(index, rule, t, &event, alerts),
            }
        }
        self.candidates = candidates;
        self.expire_windows(event.time);
    }

    fn threshold(&mut self, index: usize, rule: &Rule, t: &Threshold, event: &Event, alerts: &mut Vec<Alert>) {
        let subject = Subject { event, org: &self.config.org };
        if let Some(after) = &t.after
            && after.matches(&subject)
        {
            let group = group_key(event, &t.group_by);
            let w = self.windows.entry((index, group)).or_default();
            w.armed_until = Some(event.time + t.window);
            w.start = Some(Evidence::from_event(event));
            w.events.clear();
            return;
        }
        if !rule.condition.matches(&subject) {
            return;
        }
        let key = (index, group_key(event, &t.group_by));
        let Some(w) = (match t.after {
            Some(_) => self.windows.get_mut(&key),
            None => Some(self.windows.entry(key.clone()).or_default()),
        }) else {
            return;
        };
        if t.after.is_some() && w.armed_until.is_none_or(|until| event.time > until) {
            return;
        }
        let value = t.distinct.as_ref().and_then(|d| event.field_text(d)).unwrap_or_default();
        if t.distinct.is_some() && value.is_empty() {
            return;
        }
        while w.events.front().is_some_and(|(time, _, _)| *time <= event.time - t.window) {
            w.events.pop_front();
        }
        w.events.push_back((event.time, value, Evidence::from_event(event)));
        let observed = match t.distinct {
            Some(_) => {
                let mut values: Vec<&str> = w.events.iter().map(|(_, v, _)| v.as_str()).collect();
                values.sort_unstable();
                values.dedup();
                values.len() as u64
            }
            None => w.events.len() as u64,
        };
        if observed < t.count {
            return;
        }
        let drained: Vec<(EventTime, String, Evidence)> = w.events.drain(..).collect();
        let start = if t.after.is_some() { w.start.take() } else { None };
        if t.after.is_some() {
            w.armed_until = None;
        }
        let mut context = Map::new();
        context.insert("window".into(), Value::from(nhiwatch_core::time::format_duration(t.window)));
        context.insert("threshold".into(), Value::from(t.count));
        context.insert("observed".into(), Value::from(observed));
        if let Some(d) = &t.distinct {
            let mut values: Vec<&str> = drained.iter().map(|(_, v, _)| v.as_str()).collect();
            values.sort_unstable();
            values.dedup();
            context.insert("counted".into(), Value::from(format!("distinct {d}")));
            context.insert("distinct_values".into(), Value::from(values));
        }
        let mut ids: Vec<String> = Vec::new();
        let mut evidence: Vec<Evidence> = Vec::new();
        if let Some(s) = start {
            context.insert("after".into(), Value::from(format!("{} at {}", s.action, s.time.to_rfc3339())));
            ids.push(s.event_id.clone());
            evidence.push(s);
        }
        let count = drained.len() as u64;
        for (_, _, ev) in drained {
            ids.push(ev.event_id.clone());
            if evidence.len() < MAX_EVIDENCE {
                evidence.push(ev);
            }
        }
        let alert = self.build_alert(rule, event, evidence, count, context, &ids);
        self.emit(index, rule, event, alert, alerts);
    }

    fn expire_windows(&mut self, now: EventTime) {
        // Cheap amortised sweep: only when the map has grown, drop windows with nothing live.
        if self.windows.len() < 4096 || !self.stats.events_total.is_multiple_of(4096) {
            return;
        }
        let pack = Arc::clone(&self.pack);
        self.windows.retain(|(index, _), w| {
            let RuleKind::Threshold(t) = &pack.rules()[*index].kind else {
                return false;
            };
            let live_events = w.events.back().is_some_and(|(time, _, _)| *time > now - t.window);
            let armed = w.armed_until.is_some_and(|until| until >= now);
            live_events || armed
        });
    }

    fn build_alert(
        &self,
        rule: &Rule,
        event: &Event,
        evidence: Vec<Evidence>,
        count: u64,
        mut context: Map<String, Value>,
        trigger_ids: &[String],
    ) -> Alert {
        let matched = matched_fields(event, &rule.context_fields);
        if !matched.is_empty() {
            context.insert("matched".into(), Value::Object(matched));
        }
        let id = &event.identity;
        let ids: Vec<&str> = if trigger_ids.is_empty() {
            vec![event.event_id.as_str()]
        } else {
            trigger_ids.iter().map(String::as_str).collect()
        };
        let summary = if rule.summary.is_empty() {
            format!("{}: {} ({}) called {}", rule.title, id.name, id.kind.as_str(), event.action)
        } else {
            rule.summary.render(event)
        };
        Alert {
            id: AlertId::from_content(&rule.id, id.key.as_str(), &ids),
            rule_id: rule.id.clone(),
            title: rule.title.clone(),
            severity: rule.severity,
            time: event.time,
            detected_at: self.watermark.unwrap_or(event.time).max(event.time - self.config.lateness),
            identity: AlertIdentity {
                id: id.key.0.clone(),
                kind: id.kind.as_str().to_string(),
                nhi: id.nhi,
                nhi_reason: id.nhi_reason.to_string(),
                account: id.account.clone(),
                account_name: self.config.org.account_name(&id.account).map(str::to_string),
                name: id.name.clone(),
                access_key_id: id.access_key_id.clone(),
            },
            attack: rule.attack.clone(),
            summary,
            context,
            evidence,
            count,
            source: event.offset.clone(),
        }
    }

    fn emit(&mut self, index: usize, rule: &Rule, event: &Event, alert: Alert, alerts: &mut Vec<Alert>) {
        if rule.dedup.window > Duration::zero() {
            let mut key = event.identity.key.0.clone();
            for f in &rule.dedup.by {
                key.push('\u{1f}');
                key.push_str(&event.field_text(f).unwrap_or_default());
            }
            let slot = (index, key);
            if let Some(last) = self.dedup.get(&slot)
                && event.time >= *last
                && event.time - *last < rule.dedup.window
            {
                self.stats.count_suppressed(&rule.id);
                return;
            }
            self.dedup.insert(slot, event.time);
        }
        self.stats.count_alert(&rule.id, rule.severity);
        alerts.push(alert);
    }
}

fn group_key(event: &Event, fields: &[FieldPath]) -> String {
    let mut key = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            key.push('\u{1f}');
        }
        key.push_str(&event.field_text(f).unwrap_or_default());
    }
    key
}

/// The values the rule looked at, for the analyst: `{field: value or [values]}`.
fn matched_fields(event: &Event, fields: &[FieldPath]) -> Map<String, Value> {
    let mut out = Map::new();
    for f in fields {
        let mut values: Vec<Value> = Vec::new();
        event.visit_field(f, &mut |v| {
            let value = match v {
                nhiwatch_core::FieldValue::Str(s) => Value::from(s),
                nhiwatch_core::FieldValue::Num(n) => serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
                nhiwatch_core::FieldValue::Bool(b) => Value::from(b),
                nhiwatch_core::FieldValue::Null => Value::Null,
            };
            if !values.contains(&value) {
                values.push(value);
            }
            values.len() >= MAX_EVIDENCE
        });
        match values.len() {
            0 => {}
            1 => {
                out.insert(f.to_string(), values.remove(0));
            }
            _ => {
                out.insert(f.to_string(), Value::Array(values));
            }
        }
    }
    out
}
