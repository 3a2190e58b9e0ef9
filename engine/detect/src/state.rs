//! Bounded per-group state of the stateful rule kinds.
//!
//! Groups live in one map that remembers when each was last used, each holding the state of
//! every rule grouped that way, so a group's key is stored once however many rules watch it.
//! Baselines grouped by identity alone (most of them) are held by the engine with the identity
//! itself, so the lookup that classifies an event also finds them ([`Baselines`]). When a store
//! is full the least recently active groups are evicted and counted: a group's baselines start
//! over if it returns, which can only delay an alert (a fresh baseline is learning), never
//! invent one.

use crate::bounded::RecencyMap;
use crate::kinds::{
    dormant::DormantState, new_value::ValueSet, off_hours::HourProfile, sequence::Partials, spike::SpikeState,
    threshold::WindowState, travel::LastFix,
};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use std::ops::DerefMut;

/// Default cap on groups held (about 1–2 KiB each when idle).
pub const DEFAULT_MAX_GROUPS: usize = 1_000_000;

/// The baseline one rule keeps for one group (an identity, most often).
///
/// Large states are boxed so every entry costs only what its own kind needs (an enum is as
/// large as its largest variant).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RuleState {
    /// Values seen.
    NewValue(ValueSet),
    /// Day and hour activity.
    OffHours(Box<HourProfile>),
    /// Volume history.
    Spike(Box<SpikeState>),
    /// Last located event.
    Travel(Box<LastFix>),
    /// Last activity.
    Dormant(DormantState),
}

/// The state one threshold or sequence rule keeps for one group: short-lived (a window, an
/// hour), made and dropped by most events of an address-grouped sequence, so held in the
/// group's table slot itself: making one allocates nothing, and dropping one whose time is up
/// frees nothing scattered across the heap.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[expect(
    clippy::large_enum_variant,
    reason = "held in place on purpose: a sequence run made and dropped per event must not cost an allocation"
)]
pub enum TransientState {
    /// Sliding window of a threshold rule.
    Threshold(WindowState),
    /// Sequences in progress.
    Sequence(Partials),
}

/// What a group holds for one rule: its kind is checked against the rule's when a snapshot is
/// restored.
pub trait KindState {
    /// The rule kind this state belongs to (as written in rule files).
    fn kind_name(&self) -> &'static str;
}

impl KindState for TransientState {
    fn kind_name(&self) -> &'static str {
        match self {
            Self::Threshold(_) => "threshold",
            Self::Sequence(_) => "sequence",
        }
    }
}

impl RuleState {
    /// Asks the processor to start loading what evaluating this state will read first.
    pub(crate) fn warm(&self) {
        match self {
            Self::NewValue(s) => s.warm(),
            Self::OffHours(s) => crate::prefetch::value(&**s),
            Self::Spike(s) => crate::prefetch::value(&**s),
            Self::Travel(s) => crate::prefetch::value(&**s),
            Self::Dormant(_) => {}
        }
    }
}

impl KindState for RuleState {
    fn kind_name(&self) -> &'static str {
        match self {
            Self::NewValue(_) => "new_value",
            Self::OffHours(_) => "off_hours",
            Self::Spike(_) => "spike",
            Self::Travel(_) => "impossible_travel",
            Self::Dormant(_) => "dormant",
        }
    }
}

/// Every rule's state for one group, by rule index.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupState<S = RuleState> {
    /// (rule index, state), few entries; the first is stored inline (most groups other than
    /// identities are watched by one rule).
    pub rules: SmallVec<[(u16, S); 1]>,
    /// Event time the group was last touched (used to expire short-lived state).
    #[serde(default)]
    pub touched: Option<nhiwatch_core::EventTime>,
}

impl<S> Default for GroupState<S> {
    fn default() -> Self {
        Self { rules: SmallVec::new(), touched: None }
    }
}

/// The state of `rule` among one group's `rules`, created by `make` when absent.
pub fn rule_state<S, R>(rules: &mut R, rule: u16, make: impl FnOnce() -> S) -> &mut S
where
    R: DerefMut<Target = [(u16, S)]> + Extend<(u16, S)>,
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
/// new group; keys as long as most (an address, an identity's ARN) are held in the table
/// itself, so making a group allocates nothing for the key and nothing for recency.
#[derive(Debug)]
pub struct StateStore<S = RuleState> {
    groups: RecencyMap<GroupState<S>>,
    /// [`RecencyMap::inserts_total`] at the last sweep of idle groups.
    swept_at: u64,
}

impl<S: Clone> StateStore<S> {
    /// A store holding at most `max_groups` groups.
    pub fn new(max_groups: usize) -> Self {
        Self { groups: RecencyMap::new(max_groups), swept_at: 0 }
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
    pub fn get_or_insert(&mut self, group: &str, rule: u16, make: impl FnOnce() -> S) -> &mut S {
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
        make: impl FnOnce() -> S,
        step: impl FnOnce(&mut S) -> (R, bool),
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
                self.groups.remove(group);
            }
        }
        Some(out)
    }

    /// Drops the groups untouched since `before` (short-lived state: windows and sequences
    /// whose time is up). The store is swept only once the groups made since the last sweep
    /// number at least half of those held, so a sweep's cost is paid for by the groups it
    /// can drop; until then idle state waits (every kind checks its own times, so state
    /// past its window never counts).
    pub fn expire(&mut self, before: nhiwatch_core::EventTime) -> usize {
        let made = self.groups.inserts_total - self.swept_at;
        if made == 0 || made < (self.groups.len() / 2) as u64 {
            return 0;
        }
        self.swept_at = self.groups.inserts_total;
        self.groups.retain(|g| g.touched.is_some_and(|t| t >= before))
    }

    /// Every group, least recently active first (the order to re-insert them in).
    pub fn export(&self) -> Vec<(String, GroupState<S>)> {
        self.groups.oldest_first().into_iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    /// Re-inserts exported groups (least recently active first).
    pub fn import(&mut self, groups: Vec<(String, GroupState<S>)>) {
        for (k, v) in groups {
            self.groups.put(&k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::dormant::DormantState;
    use nhiwatch_core::EventTime;

    fn at(minute: i64) -> EventTime {
        EventTime::default() + chrono::Duration::minutes(minute)
    }

    /// One group per minute, as a threshold or sequence would make them.
    fn touch(store: &mut StateStore, minute: i64) {
        let fresh = || RuleState::Dormant(DormantState::new(at(minute)));
        store.step(&format!("0\u{1f}10.0.0.{minute}"), 0, at(minute), true, fresh, |_| ((), true));
    }

    #[test]
    fn idle_groups_are_swept_once_enough_new_ones_came() {
        let mut store = StateStore::new(1_000);
        for minute in 0..10 {
            touch(&mut store, minute);
        }
        assert_eq!(store.expire(at(5)), 5, "ten new groups: the five idle since minute 5 go");
        assert_eq!(store.len(), 5);
        touch(&mut store, 10);
        assert_eq!(store.expire(at(9)), 0, "one new group among six: not yet");
        touch(&mut store, 11);
        touch(&mut store, 12);
        assert_eq!(store.expire(at(9)), 0, "three new among eight: not yet");
        touch(&mut store, 13);
        assert_eq!(store.expire(at(9)), 4, "four new among nine: minutes 5 to 8 go");
        assert_eq!(store.len(), 5);
        let kept: Vec<String> = store.export().into_iter().map(|(k, _)| k).collect();
        let minutes: Vec<String> = (9..14).map(|m| format!("0\u{1f}10.0.0.{m}")).collect();
        assert_eq!(kept, minutes, "least recently active first");
        // A state that says it is dead leaves, and its group with it.
        let fresh = || RuleState::Dormant(DormantState::new(at(14)));
        store.step("0\u{1f}10.0.0.9", 0, at(14), false, fresh, |_| ((), false));
        assert_eq!(store.len(), 4);
    }
}
