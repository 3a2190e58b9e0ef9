//! Bounded per-group state of the stateful rule kinds.
//!
//! Groups live in one LRU, each holding the state of every rule grouped that way, so a group's
//! key is stored once however many rules watch it. Baselines grouped by identity alone (most
//! of them) are held by the engine with the identity itself, so the lookup that classifies an
//! event also finds them ([`Baselines`]). When a store is full the least recently active groups
//! are evicted and counted: a group's baselines start over if it returns, which can only delay
//! an alert (a fresh baseline is learning), never invent one.

use crate::bounded::BoundedLru;
use crate::kinds::{
    dormant::DormantState, new_value::ValueSet, off_hours::HourProfile, sequence::Partials, spike::SpikeState,
    threshold::WindowState, travel::LastFix,
};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use std::ops::DerefMut;

/// Default cap on groups held (about 1–2 KiB each when idle).
pub const DEFAULT_MAX_GROUPS: usize = 1_000_000;

/// The state one rule keeps for one group.
#[derive(Debug, Clone, Serialize, Deserialize)]
///
/// Large states are boxed so every entry costs only what its own kind needs (an enum is as
/// large as its largest variant).
pub enum RuleState {
    /// Sliding window of a threshold rule.
    Threshold(Box<WindowState>),
    /// Values seen.
    NewValue(ValueSet),
    /// Day and hour activity.
    OffHours(Box<HourProfile>),
    /// Volume history.
    Spike(Box<SpikeState>),
    /// Last located event.
    Travel(Box<LastFix>),
    /// Sequences in progress.
    Sequence(Box<Partials>),
    /// Last activity.
    Dormant(DormantState),
}

impl RuleState {
    /// The rule kind this state belongs to (as written in rule files).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Threshold(_) => "threshold",
            Self::NewValue(_) => "new_value",
            Self::OffHours(_) => "off_hours",
            Self::Spike(_) => "spike",
            Self::Travel(_) => "impossible_travel",
            Self::Sequence(_) => "sequence",
            Self::Dormant(_) => "dormant",
        }
    }
}

/// Every rule's state for one group, by rule index.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GroupState {
    /// (rule index, state), few entries; the first is stored inline (most groups other than
    /// identities are watched by one rule).
    pub rules: SmallVec<[(u16, RuleState); 1]>,
    /// Event time the group was last touched (used to expire short-lived state).
    #[serde(default)]
    pub touched: Option<nhiwatch_core::EventTime>,
}

/// The state of `rule` among one group's `rules`, created by `make` when absent.
pub fn rule_state<R>(rules: &mut R, rule: u16, make: impl FnOnce() -> RuleState) -> &mut RuleState
where
    R: DerefMut<Target = [(u16, RuleState)]> + Extend<(u16, RuleState)>,
{
    let pos = match rules.iter().position(|(r, _)| *r == rule) {
        Some(p) => p,
        None => {
            rules.extend(std::iter::once((rule, make())));
            rules.len() - 1
        }
    };
    &mut rules[pos].1
}

/// Long-lived baseline state: the identity-grouped rules of the identity being evaluated
/// (taken out of its entry for the event, put back after it) and every other group in a store.
#[derive(Debug)]
pub struct Baselines {
    /// Groups other than single identities.
    pub store: StateStore,
    /// The namespace of rules grouped by `identity.id` alone, if any rule is.
    pub identity_space: Option<u16>,
    /// Those rules' state for the current event's identity.
    pub current: Vec<(u16, RuleState)>,
}

impl Baselines {
    /// The state of `rule` (namespace `space`) for the current event's group, created by
    /// `make` when absent; `group` gives the group key of other namespaces (`None`: a grouping
    /// field is absent, no state).
    pub fn get_or_insert<'k>(
        &mut self,
        space: u16,
        rule: u16,
        group: impl FnOnce() -> Option<&'k str>,
        make: impl FnOnce() -> RuleState,
    ) -> Option<&mut RuleState> {
        if self.identity_space == Some(space) {
            return Some(rule_state(&mut self.current, rule, make));
        }
        Some(self.store.get_or_insert(group()?, rule, make))
    }
}

/// The bounded store. It is looked up with the event's group key and copies it only to make a
/// new group.
#[derive(Debug)]
pub struct StateStore {
    groups: BoundedLru<String, GroupState>,
}

impl StateStore {
    /// A store holding at most `max_groups` groups.
    pub fn new(max_groups: usize) -> Self {
        Self { groups: BoundedLru::new(max_groups) }
    }

    /// Groups held.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The state of `rule` for `group`, created by `make` when absent. Marks the group active.
    pub fn get_or_insert(&mut self, group: &str, rule: u16, make: impl FnOnce() -> RuleState) -> &mut RuleState {
        rule_state(&mut self.groups.get_or_insert_mut(group, GroupState::default).rules, rule, make)
    }

    /// Groups evicted because the store was full.
    pub fn evictions_total(&self) -> u64 {
        self.groups.evictions_total
    }

    /// Sets the eviction count (restoring a snapshot).
    pub fn set_evictions_total(&mut self, n: u64) {
        self.groups.evictions_total = n;
    }

    /// Runs `step` on the state of `rule` for `group` at event time `now`, in one lookup of
    /// the group. The state is made by `make` when absent if `create`; otherwise an absent state
    /// is left absent (`None`). `step` says whether the state is still live: a live group is
    /// marked active, a dead state is dropped (and its group once no rule holds state for it).
    pub fn step<R>(
        &mut self,
        group: &str,
        rule: u16,
        now: nhiwatch_core::EventTime,
        create: bool,
        make: impl FnOnce() -> RuleState,
        step: impl FnOnce(&mut RuleState) -> (R, bool),
    ) -> Option<R> {
        let g = if create {
            self.groups.get_or_insert_mut(group, GroupState::default)
        } else {
            self.groups.get_mut(group)?
        };
        let state = if create {
            rule_state(&mut g.rules, rule, make)
        } else {
            g.rules.iter_mut().find(|(r, _)| *r == rule).map(|(_, s)| s)?
        };
        let (out, live) = step(state);
        if live {
            g.touched = Some(g.touched.map_or(now, |t| t.max(now)));
        } else {
            g.rules.retain(|(r, _)| *r != rule);
            if g.rules.is_empty() {
                self.groups.pop(group);
            }
        }
        Some(out)
    }

    /// Drops the least recently active groups untouched since `before` (short-lived state:
    /// windows and sequences whose time is up). Stops at the first group still live, so the
    /// cost is proportional to what expired.
    pub fn expire(&mut self, before: nhiwatch_core::EventTime) -> usize {
        let mut dropped = 0;
        while let Some((_, g)) = self.groups.peek_oldest() {
            if g.touched.is_some_and(|t| t >= before) {
                break;
            }
            self.groups.pop_oldest();
            dropped += 1;
        }
        dropped
    }

    /// Every group, least recently active first (the order to re-insert them in).
    pub fn export(&self) -> Vec<(String, GroupState)> {
        self.groups.iter().rev().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Re-inserts exported groups (least recently active first).
    pub fn import(&mut self, groups: Vec<(String, GroupState)>) {
        for (k, v) in groups {
            self.groups.put(k, v);
        }
    }
}
