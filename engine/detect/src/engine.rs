//! The engine: event time, identity classification, enrichment, rule evaluation, bounded
//! per-group state, de-duplication and suppression.
//!
//! Replay and live streaming both call [`Engine::process`] with decoded events and
//! [`Engine::finish`] at the end of input. Events wait in a reorder buffer until the
//! watermark (latest event time − allowed lateness) passes them and are then evaluated in
//! (time, event id) order, so input shuffled within the lateness, split into any batches, or
//! read from any transport gives the same alerts. An event older than the watermark when it
//! arrives is late: it is counted and evaluated at once (a late `CreateUser` still alerts).

use crate::bounded::{BoundedLru, RecencyMap};
use crate::classify::{Classifier, Signals};
use crate::kinds::{self, Finding};
use crate::kinds::{sequence::Partials, threshold::WindowState};
use crate::state::{Baselines, DEFAULT_MAX_GROUPS, RuleState, StateStore, TransientState};
use crate::stats::EngineStats;
use crate::suppress::Suppression;
use chrono::{Datelike, Duration, Timelike};
use nhiwatch_core::alert::{AlertIdentity, Cited};
use nhiwatch_core::geo::{GeoInfo, GeoResolver, is_public_place};
use nhiwatch_core::{Alert, AlertId, Event, EventTime, FieldPath, OrderPrefix, ReorderBuffer};
use nhiwatch_rules::rule::ContextField;
use nhiwatch_rules::{Org, Rule, RuleKind, RulePack, Subject};
use serde_json::{Map, Value};
use smallvec::SmallVec;
use std::cmp::Ordering;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

/// Default allowed lateness: CloudTrail delivers events up to about 15 minutes late.
pub const DEFAULT_LATENESS_SECS: i64 = 15 * 60;

/// Events cited per alert; `count` still says how many there were.
pub const MAX_EVIDENCE: usize = 10;

/// GeoIP answers cached (addresses repeat: CI runners, NAT gateways).
const GEO_CACHE_ENTRIES: usize = 65_536;

/// The organisation's working hours, the off-hours fallback for identities still learning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusinessHours {
    /// Working days, Monday first.
    pub days: [bool; 7],
    /// First working hour (local).
    pub start_hour: u32,
    /// Hour work ends (local, exclusive).
    pub end_hour: u32,
    /// Local time minus UTC, in minutes.
    pub utc_offset_minutes: i32,
}

impl BusinessHours {
    /// Parses `Mon-Fri 08-18` (days, then local hours) with a UTC offset like `+01:00`.
    pub fn parse(text: &str, utc_offset: &str) -> Result<Self, String> {
        const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let (days_text, hours_text) = text
            .trim()
            .split_once(' ')
            .ok_or_else(|| format!("business hours '{text}': write e.g. 'Mon-Fri 08-18'"))?;
        let day = |d: &str| {
            NAMES.iter().position(|n| n.eq_ignore_ascii_case(d.trim())).ok_or_else(|| format!("unknown day '{d}'"))
        };
        let mut days = [false; 7];
        for part in days_text.split(',') {
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (day(a)?, day(b)?);
                    let mut d = a;
                    loop {
                        days[d] = true;
                        if d == b {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                None => days[day(part)?] = true,
            }
        }
        let (s, e) =
            hours_text.trim().split_once('-').ok_or_else(|| format!("hours '{hours_text}': write e.g. 08-18"))?;
        let hour =
            |h: &str| h.trim().parse::<u32>().ok().filter(|h| *h <= 24).ok_or_else(|| format!("invalid hour '{h}'"));
        let (start_hour, end_hour) = (hour(s)?, hour(e)?);
        if start_hour >= end_hour {
            return Err(format!("business hours '{hours_text}' must start before they end"));
        }
        let offset = utc_offset.trim();
        let (sign, rest) = match offset.as_bytes().first() {
            Some(b'-') => (-1, &offset[1..]),
            Some(b'+') => (1, &offset[1..]),
            _ => (1, offset),
        };
        let (oh, om) = rest.split_once(':').unwrap_or((rest, "0"));
        let minutes = oh.parse::<i32>().ok().zip(om.parse::<i32>().ok()).map(|(h, m)| sign * (h * 60 + m));
        let utc_offset_minutes =
            minutes.filter(|m| m.abs() <= 14 * 60).ok_or_else(|| format!("invalid UTC offset '{utc_offset}'"))?;
        Ok(Self { days, start_hour, end_hour, utc_offset_minutes })
    }

    /// True when `t` falls in working hours.
    pub fn contains(&self, t: EventTime) -> bool {
        let local = t + Duration::minutes(i64::from(self.utc_offset_minutes));
        self.days[local.weekday().num_days_from_monday() as usize]
            && (self.start_hour..self.end_hour).contains(&local.hour())
    }
}

impl fmt::Display for BusinessHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let days: Vec<&str> = (0..7).filter(|d| self.days[*d]).map(|d| NAMES[d]).collect();
        let (h, m) = (self.utc_offset_minutes / 60, (self.utc_offset_minutes % 60).abs());
        write!(f, "{} {:02}–{:02} UTC{:+03}:{:02}", days.join(","), self.start_hour, self.end_hour, h, m)
    }
}

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// How far behind the latest event time an event may arrive and still be ordered.
    pub lateness: Duration,
    /// The organisation (owned accounts).
    pub org: Org,
    /// Human / non-human classification.
    pub classifier: Classifier,
    /// GeoIP databases (none: no geo fields, no travel).
    pub geo: Option<Arc<dyn GeoResolver>>,
    /// Working hours for the off-hours fallback.
    pub business_hours: Option<BusinessHours>,
    /// Groups (usually identities) whose baselines are kept; beyond it the least recently
    /// active is evicted and counted.
    pub max_groups: usize,
    /// Known-good behaviour silenced by configuration.
    pub suppressions: Vec<Suppression>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            lateness: Duration::seconds(DEFAULT_LATENESS_SECS),
            org: Org::default(),
            classifier: Classifier::with_defaults(),
            geo: None,
            business_hours: None,
            max_groups: DEFAULT_MAX_GROUPS,
            suppressions: Vec::new(),
        }
    }
}

/// An event waiting for the watermark, ordered by (time, event id, arrival).
///
/// The event is boxed and the order's leading parts are kept beside it, so the buffer moves
/// small entries and most comparisons read no event.
#[derive(Debug)]
pub(crate) struct Pending {
    prefix: OrderPrefix,
    pub(crate) seq: u64,
    pub(crate) event: Box<Event>,
    /// The identity's hash in the engine's identity map, computed once per event.
    identity_hash: u64,
}

impl Pending {
    pub(crate) fn new(event: Box<Event>, seq: u64, identity_hash: u64) -> Self {
        Self { prefix: OrderPrefix::of(&event), seq, event, identity_hash }
    }

    fn time(&self) -> EventTime {
        self.prefix.time()
    }
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
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
        self.prefix
            .cmp(&other.prefix)
            .then_with(|| self.event.event_id.cmp(&other.event.event_id))
            .then(self.seq.cmp(&other.seq))
    }
}

/// What the engine remembers of one identity for classification.
#[derive(Debug, Clone, Default)]
pub(crate) struct IdentityState {
    pub(crate) signals: Signals,
    /// The last verdict and the event facts it was made from. While one of the identity's
    /// events is evaluated, its reason is lent to the event (the two swap places), so an
    /// event costs no count on the reason, which is rarely in cache.
    pub(crate) verdict: Option<(u8, bool, Arc<str>)>,
    /// When each rule de-duplicated by identity alone last alerted on it: (rule index, time).
    /// Kept with the identity, so the lookup that classifies an event also finds these; the
    /// first two are held in the entry itself.
    pub(crate) dedup: IdentityDedup,
    /// Baselines of the rules grouped by identity alone: (rule index, state).
    pub(crate) rules: Vec<(u16, RuleState)>,
}

/// When rules de-duplicated by identity alone last alerted on one identity.
pub(crate) type IdentityDedup = SmallVec<[(u16, EventTime); 2]>;

/// The detection engine.
#[derive(Debug)]
pub struct Engine {
    pub(crate) pack: Arc<RulePack>,
    pub(crate) config: EngineConfig,
    pub(crate) pending: ReorderBuffer<Pending>,
    pub(crate) seq: u64,
    pub(crate) max_time: Option<EventTime>,
    pub(crate) watermark: Option<EventTime>,
    pub(crate) identities: RecencyMap<IdentityState>,
    pub(crate) state: Baselines,
    /// Short-lived state (threshold windows, sequences in progress), expired by event time.
    pub(crate) transient: StateStore<TransientState>,
    /// The longest window of the short-lived kinds: their state is dropped once idle this long.
    transient_horizon: Duration,
    /// Alert times of rules de-duplicated by more than the identity: (rule index, key).
    pub(crate) dedup: BoundedLru<(u16, Box<str>), EventTime>,
    /// The current event's identity's [`IdentityState::dedup`], taken out for the event.
    identity_dedup: IdentityDedup,
    /// Where the current event's identity is held in `identities`.
    identity_at: usize,
    geo_cache: BoundedLru<IpAddr, Option<Arc<GeoInfo>>>,
    /// Group-key namespaces: rules with the same `group_by` share one.
    group_spaces: Vec<u16>,
    pub(crate) stats: EngineStats,
    candidates: Vec<usize>,
    /// Group keys of the event being evaluated, by namespace.
    key_cache: GroupKeys,
    /// Where a `new_value` rule's value is written for each event.
    value_scratch: String,
}

impl Engine {
    /// An engine running `pack` with `config`.
    pub fn new(pack: Arc<RulePack>, config: EngineConfig) -> Self {
        let stats = EngineStats::for_pack(&pack);
        let mut spaces: Vec<&[FieldPath]> = Vec::new();
        let group_spaces = pack
            .rules()
            .iter()
            .map(|r| {
                let i = spaces.iter().position(|g| *g == r.group_by.as_slice()).unwrap_or_else(|| {
                    spaces.push(&r.group_by);
                    spaces.len() - 1
                });
                i as u16
            })
            .collect();
        // Rules grouped by identity alone keep their baselines with the identity.
        let by_identity = [FieldPath::Builtin(nhiwatch_core::field::Builtin::IdentityId)];
        let identity_space = spaces.iter().position(|g| *g == by_identity.as_slice()).map(|i| i as u16);
        let max_groups = config.max_groups;
        let transient_horizon = pack
            .rules()
            .iter()
            .filter_map(|r| match &r.kind {
                RuleKind::Threshold(t) => Some(t.window),
                RuleKind::Sequence(s) => Some(s.within),
                _ => None,
            })
            .max()
            .unwrap_or_else(Duration::zero);
        Self {
            pack,
            config,
            pending: ReorderBuffer::default(),
            seq: 0,
            max_time: None,
            watermark: None,
            identities: RecencyMap::new(max_groups),
            state: Baselines { store: StateStore::new(max_groups), identity_space, current: Vec::new() },
            transient: StateStore::new(max_groups),
            transient_horizon,
            dedup: BoundedLru::new(max_groups),
            identity_dedup: IdentityDedup::new(),
            identity_at: 0,
            geo_cache: BoundedLru::new(GEO_CACHE_ENTRIES),
            group_spaces,
            stats,
            candidates: Vec::new(),
            key_cache: GroupKeys::default(),
            value_scratch: String::new(),
        }
    }

    /// The current watermark (`None` before the first event).
    pub fn watermark(&self) -> Option<EventTime> {
        self.watermark
    }

    /// The rule pack.
    pub fn pack(&self) -> &Arc<RulePack> {
        &self.pack
    }

    /// Counters so far.
    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// Groups with baseline state held now.
    pub fn groups_tracked(&self) -> usize {
        let with_identity = self.identities.values().filter(|s| !s.rules.is_empty()).count();
        with_identity + self.state.store.len() + self.transient.len()
    }

    /// Groups evicted because a store was full (an evicted identity's baselines go with it).
    pub(crate) fn state_evictions_total(&self) -> u64 {
        self.identities.evictions_total + self.state.store.evictions_total() + self.transient.evictions_total()
    }

    /// Takes one event; returns the alerts that became final. A boxed event is buffered as
    /// it is (events are large: a caller that already holds one boxed saves a copy).
    pub fn process(&mut self, event: impl Into<Box<Event>>) -> Vec<Alert> {
        let mut event = event.into();
        let mut alerts = Vec::new();
        self.stats.events_total += 1;
        let hash = self.identities.hash(event.identity.key.as_str());
        if self.watermark.is_some_and(|wm| event.time < wm) {
            self.stats.late_events_total += 1;
            self.evaluate(&mut event, hash, &mut alerts);
            return alerts;
        }
        if self.max_time.is_none_or(|m| event.time > m) {
            self.max_time = Some(event.time);
            let wm = event.time - self.config.lateness;
            if self.watermark.is_none_or(|w| wm > w) {
                self.watermark = Some(wm);
            }
        }
        self.seq += 1;
        self.pending.push(Pending::new(event, self.seq, hash));
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

    /// A live source went quiet: evaluates everything buffered, as if the allowed lateness
    /// had passed (the watermark moves to the latest event time). Events that arrive later
    /// with earlier times are counted late and still evaluated.
    pub fn flush_idle(&mut self) -> Vec<Alert> {
        let mut alerts = Vec::new();
        if let Some(max) = self.max_time
            && self.watermark.is_none_or(|wm| max > wm)
        {
            self.watermark = Some(max);
        }
        while let Some(mut p) = self.pending.pop() {
            self.evaluate(&mut p.event, p.identity_hash, &mut alerts);
        }
        alerts
    }

    /// Events buffered until the watermark passes them.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// End of input: evaluates everything still buffered.
    pub fn finish(&mut self) -> Vec<Alert> {
        let alerts = self.flush_idle();
        self.refresh_gauges();
        alerts
    }

    fn release(&mut self, alerts: &mut Vec<Alert>) {
        let Some(wm) = self.watermark else { return };
        while self.pending.peek().is_some_and(|p| p.time() <= wm) {
            if let Some(mut p) = self.pending.pop() {
                self.warm_upcoming();
                self.evaluate(&mut p.event, p.identity_hash, alerts);
            }
        }
    }

    /// Asks the processor to load, while one event is evaluated, the identity state the next
    /// ones will read: the entry of the identity three events ahead, the list of baselines of
    /// the one two ahead (its entry was asked for one event ago) and the baselines of the next
    /// one. Each step reads only what the step before asked for.
    fn warm_upcoming(&self) {
        let mut upcoming = self.pending.upcoming().map(|p| p.identity_hash);
        let (next, second, third) = (upcoming.next(), upcoming.next(), upcoming.next());
        if let Some(hash) = third {
            self.identities.prefetch(hash);
        }
        if let Some(identity) = second.and_then(|h| self.identities.probable(h)) {
            crate::prefetch::slice(&identity.rules);
        }
        if let Some(identity) = next.and_then(|h| self.identities.probable(h)) {
            for (_, state) in &identity.rules {
                state.warm();
            }
        }
    }

    /// Brings the gauges in [`Engine::stats`] (identities by kind, groups tracked,
    /// evictions) up to date; counters are always current.
    pub fn refresh_gauges(&mut self) {
        self.stats.identities_nhi =
            self.identities.values().filter(|s| s.verdict.as_ref().is_some_and(|v| v.1)).count() as u64;
        self.stats.identities_human = self.identities.len() as u64 - self.stats.identities_nhi;
        self.stats.groups_tracked = self.groups_tracked() as u64;
        self.stats.state_evictions_total = self.state_evictions_total();
    }

    fn classify(&mut self, event: &mut Event, hash: u64) {
        let key = event.identity.key.as_str();
        let (at, state) = self.identities.get_or_insert_hashed(hash, key, IdentityState::default);
        self.identity_at = at;
        if event.action == "ConsoleLogin" && !state.signals.console_login {
            state.signals.console_login = true;
            state.verdict = None;
        }
        std::mem::swap(&mut self.identity_dedup, &mut state.dedup);
        std::mem::swap(&mut self.state.current, &mut state.rules);
        let bits = event.identity.signal_bits();
        let verdict = match &mut state.verdict {
            Some(v) if v.0 == bits => v,
            verdict => {
                let (nhi, reason) = self.config.classifier.classify(&event.identity, state.signals);
                verdict.insert((bits, nhi, Arc::from(reason)))
            }
        };
        event.identity.nhi = verdict.1;
        // Lent to the event until it is evaluated (see `IdentityState::verdict`).
        std::mem::swap(&mut event.identity.nhi_reason, &mut verdict.2);
    }

    /// Looks up where the source address is (public addresses only, cached).
    fn enrich(&mut self, event: &mut Event) {
        let Some(resolver) = &self.config.geo else { return };
        let Some(ip) = event.origin.ip().filter(|ip| is_public_place(*ip)) else { return };
        let geo = match self.geo_cache.get(&ip) {
            Some(hit) => hit.clone(),
            None => {
                let found = resolver.resolve(ip).map(Arc::new);
                self.geo_cache.put(ip, found.clone());
                found
            }
        };
        // A place the record itself gives (Entra sign-ins) stays when the databases know none.
        if geo.is_some() {
            event.geo = geo;
        }
    }

    /// Evaluates one event in place (events are large: moving one costs more than a rule).
    fn evaluate(&mut self, event: &mut Event, identity_hash: u64, alerts: &mut Vec<Alert>) {
        self.classify(event, identity_hash);
        self.enrich(event);
        self.evaluate_rules(event, alerts);
        // The identity's reason, de-duplication times and baselines go back to it.
        if let Some(state) = self.identities.at_mut(self.identity_at, event.identity.key.as_str()) {
            if let Some(verdict) = &mut state.verdict {
                std::mem::swap(&mut event.identity.nhi_reason, &mut verdict.2);
            }
            std::mem::swap(&mut self.identity_dedup, &mut state.dedup);
            std::mem::swap(&mut self.state.current, &mut state.rules);
        }
        self.identity_dedup.clear();
        self.state.current.clear();
        if self.stats.events_total.is_multiple_of(1024) {
            self.transient.expire(event.time - self.transient_horizon);
        }
    }

    /// Runs the candidate rules on a classified, enriched event.
    fn evaluate_rules(&mut self, event: &Event, alerts: &mut Vec<Alert>) {
        self.key_cache.clear();
        let mut candidates = std::mem::take(&mut self.candidates);
        self.pack.candidates(event.source, &event.action, &mut candidates);
        let pack = Arc::clone(&self.pack);
        for &index in &candidates {
            let rule = &pack.rules()[index];
            if let Some(finding) = self.observe(index, rule, event)
                && self.admit(index, rule, event)
            {
                // Built only once admitted: most findings of a noisy rule are duplicates.
                let alert = self.build_alert(rule, event, finding);
                if alert.shadow {
                    self.stats.count_shadow(&rule.id);
                } else {
                    self.stats.count_alert(&rule.id, rule.severity);
                }
                alerts.push(alert);
            }
        }
        self.candidates = candidates;
    }

    /// The group-key namespace of rule `index`.
    pub(crate) fn group_space(&self, index: usize) -> u16 {
        self.group_spaces[index]
    }

    /// Runs one rule on one event.
    fn observe(&mut self, index: usize, rule: &Rule, event: &Event) -> Option<Finding> {
        let subject = Subject { event, org: &self.config.org };
        let slot = index as u16;
        if let RuleKind::Threshold(t) = &rule.kind {
            let is_start = t.after.as_ref().is_some_and(|a| a.matches(&subject));
            let counts = !is_start && rule.condition.matches(&subject);
            if !is_start && !counts {
                return None;
            }
            let group = self.key_cache.key(self.group_spaces[index], event, rule)?;
            // A window waiting for its start event exists only once that event was seen.
            let create = is_start || t.after.is_none();
            let fresh = || TransientState::Threshold(WindowState::default());
            let now = event.time;
            return self
                .transient
                .step(group, slot, now, create, fresh, |st| {
                    let TransientState::Threshold(w) = st else { return (None, true) };
                    if is_start {
                        kinds::threshold::arm(t, w, event);
                        return (None, true);
                    }
                    let finding = kinds::threshold::observe(t, w, event);
                    (finding, !w.is_idle(t, now))
                })
                .flatten();
        }
        if matches!(rule.kind, RuleKind::Sequence(_)) {
            // Sequences see every event of the group: a step's own condition decides.
            let RuleKind::Sequence(seq) = &rule.kind else { return None };
            if !rule.condition.matches(&subject) {
                return None;
            }
            // An ordered run starts only at its first step; an unordered one at any step.
            let mut hits = kinds::sequence::StepHits::default();
            let starts = !seq.ordered || hits.matches(seq, 0, &subject);
            let group = self.key_cache.key(self.group_spaces[index], event, rule)?;
            let fresh = || TransientState::Sequence(Partials::default());
            return self
                .transient
                .step(group, slot, event.time, starts, fresh, |st| {
                    let TransientState::Sequence(p) = st else { return (None, true) };
                    let finding = kinds::sequence::observe(seq, p, &subject, &mut hits);
                    (finding, !p.is_empty())
                })
                .flatten();
        }
        if !rule.condition.matches(&subject) {
            return None;
        }
        let now = event.time;
        let space = self.group_spaces[index];
        let keys = &mut self.key_cache;
        // Called at most once; the key borrows the cache until the state is found.
        let group = move || {
            let keys = keys;
            keys.key(space, event, rule)
        };
        match &rule.kind {
            RuleKind::Match => Some(Finding::single(Cited::from_event(event), Map::new())),
            RuleKind::NewValue(nv) => {
                if !joined_values(event, &nv.fields, &mut self.value_scratch) {
                    return None;
                }
                let st = self
                    .state
                    .get_or_insert(space, slot, group, || RuleState::NewValue(kinds::new_value::ValueSet::new(now)))?;
                let RuleState::NewValue(set) = st else { return None };
                let before = set.evicted;
                let may_alert = nv.alert_when.as_ref().is_none_or(|c| c.matches(&subject));
                let finding = kinds::new_value::observe(nv, set, &self.value_scratch, event, may_alert);
                self.stats.value_evictions_total += set.evicted - before;
                finding
            }
            RuleKind::OffHours(oh) => {
                let business = self.config.business_hours;
                let st = self.state.get_or_insert(space, slot, group, || {
                    RuleState::OffHours(Box::new(kinds::off_hours::HourProfile::new(now)))
                })?;
                let RuleState::OffHours(p) = st else { return None };
                kinds::off_hours::observe(oh, p, event, business.as_ref())
            }
            RuleKind::Spike(s) => {
                let st = self.state.get_or_insert(space, slot, group, || RuleState::Spike(Box::default()))?;
                let RuleState::Spike(p) = st else { return None };
                kinds::spike::observe(s, p, event)
            }
            RuleKind::ImpossibleTravel(t) => {
                event.geo.as_ref()?.location?;
                let st = self.state.get_or_insert(space, slot, group, || RuleState::Travel(Box::default()))?;
                let RuleState::Travel(p) = st else { return None };
                kinds::travel::observe(t, p, event)
            }
            RuleKind::Dormant(d) => {
                let st = self
                    .state
                    .get_or_insert(space, slot, group, || RuleState::Dormant(kinds::dormant::DormantState::new(now)))?;
                let RuleState::Dormant(p) = st else { return None };
                kinds::dormant::observe(d, p, event)
            }
            RuleKind::Threshold(_) | RuleKind::Sequence(_) => None,
        }
    }

    fn build_alert(&self, rule: &Rule, event: &Event, finding: Finding) -> Alert {
        let Finding { evidence, count, mut context, trigger_ids } = finding;
        let matched = matched_fields(event, &rule.context_fields);
        if !matched.is_empty() {
            context.insert("matched".into(), Value::Object(matched));
        }
        if let Some(g) = &event.geo {
            context.insert("geo".into(), serde_json::to_value(g.as_ref()).unwrap_or(Value::Null));
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
                kind: id.kind.as_str(),
                nhi: id.nhi,
                nhi_reason: Arc::clone(&id.nhi_reason),
                account: id.account.to_string(),
                account_name: self.config.org.account_name(&id.account).map(str::to_string),
                name: id.name.clone(),
                access_key_id: id.access_key_id.as_deref().map(str::to_string),
                via: id.via.clone(),
            },
            attack: std::sync::Arc::clone(&rule.attack),
            summary,
            context,
            evidence,
            count,
            source: event.offset.clone(),
            shadow: rule.mode == nhiwatch_rules::spec::Mode::Shadow,
        }
    }

    /// Whether a finding of `rule` on `event` becomes an alert: not silenced by a configured
    /// suppression, not a duplicate within the rule's dedup window (both counted).
    fn admit(&mut self, index: usize, rule: &Rule, event: &Event) -> bool {
        if let Some(s) =
            self.config.suppressions.iter().find(|s| s.applies(&rule.id, &event.identity.key.0, event.time))
        {
            let reason = s.reason.clone();
            self.stats.count_config_suppressed(&rule.id, &reason);
            return false;
        }
        if rule.dedup.window <= Duration::zero() {
            return true;
        }
        let repeats = |last: EventTime| event.time >= last && event.time - last < rule.dedup.window;
        if rule.dedup.by.is_empty() {
            let slot = index as u16;
            let entries = &mut self.identity_dedup;
            if let Some(last) = entries.iter_mut().find(|(r, _)| *r == slot).map(|(_, t)| t) {
                if repeats(*last) {
                    self.stats.count_suppressed(&rule.id);
                    return false;
                }
                *last = event.time;
            } else {
                // Times whose window has passed are dropped as new ones come.
                let rules = self.pack.rules();
                entries.retain(|(r, t)| rules.get(usize::from(*r)).is_some_and(|x| event.time - *t < x.dedup.window));
                entries.push((slot, event.time));
            }
        } else {
            let mut key = event.identity.key.0.clone();
            for f in &rule.dedup.by {
                key.push('\u{1f}');
                event.write_field_text(f, &mut key);
            }
            let slot = (index as u16, key.into_boxed_str());
            if self.dedup.get(&slot).is_some_and(|last| repeats(*last)) {
                self.stats.count_suppressed(&rule.id);
                return false;
            }
            self.dedup.put(slot, event.time);
        }
        true
    }
}

/// Writes the first value of each of `fields` into `out`, joined by ` / `; false when one is
/// absent or empty.
fn joined_values(event: &Event, fields: &[FieldPath], out: &mut String) -> bool {
    out.clear();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push_str(" / ");
        }
        let start = out.len();
        event.write_field_text(f, out);
        if out.len() == start {
            return false;
        }
    }
    true
}

/// The group keys of one event, built once per namespace (rules grouped by the same fields
/// share them) and kept until the next event. They are written into one buffer that is
/// reused from event to event: a store copies a key only when it makes a new group.
#[derive(Debug, Default)]
struct GroupKeys {
    /// (namespace, where its key is in `texts`, or `None` when a grouping field is absent).
    cache: Vec<(u16, Option<(usize, usize)>)>,
    texts: String,
}

impl GroupKeys {
    fn clear(&mut self) {
        self.cache.clear();
        self.texts.clear();
    }

    /// The group key of `rule` (namespace `space`) for `event`; `None` when a grouping field
    /// is absent.
    fn key(&mut self, space: u16, event: &Event, rule: &Rule) -> Option<&str> {
        let span = match self.cache.iter().find(|(s, _)| *s == space) {
            Some((_, span)) => *span,
            None => {
                let start = self.texts.len();
                self.texts.push_str(itoa::Buffer::new().format(space));
                let mut complete = true;
                for f in &rule.group_by {
                    self.texts.push('\u{1f}');
                    complete &= event.write_field_text(f, &mut self.texts);
                }
                let span = complete.then_some((start, self.texts.len()));
                if !complete {
                    self.texts.truncate(start);
                }
                self.cache.push((space, span));
                span
            }
        };
        span.and_then(|(start, end)| self.texts.get(start..end))
    }
}

/// The values the rule looked at, for the analyst: `{field: value or [values]}`.
fn matched_fields(event: &Event, fields: &[ContextField]) -> Map<String, Value> {
    let mut out = Map::new();
    for f in fields {
        let mut values: Vec<Value> = Vec::new();
        event.visit_field(&f.path, &mut |v| {
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
                out.insert(f.name.clone(), values.remove(0));
            }
            _ => {
                out.insert(f.name.clone(), Value::Array(values));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_hours_parse_and_apply_the_offset() {
        let b = BusinessHours::parse("Mon-Fri 08-18", "+01:00").expect("valid");
        let t = |s: &str| s.parse::<EventTime>().expect("time");
        assert!(b.contains(t("2026-03-13T07:30:00Z")), "Friday 08:30 local");
        assert!(!b.contains(t("2026-03-13T17:30:00Z")), "Friday 18:30 local");
        assert!(!b.contains(t("2026-03-14T10:00:00Z")), "Saturday");
        assert_eq!(b.to_string(), "Mon,Tue,Wed,Thu,Fri 08–18 UTC+01:00");
        assert!(BusinessHours::parse("Mon-Fri 18-08", "+00:00").is_err());
        assert!(BusinessHours::parse("Funday 08-18", "+00:00").is_err());
    }
}
