//! Engine snapshots: everything the engine has learned, to resume later with no gap.
//!
//! A snapshot holds the watermark, identity classification facts, every group's baseline and
//! window state, the de-duplication memory and the events still waiting in the reorder
//! buffer (as their original records, decoded again on restore). Rule state is keyed by rule
//! id, so a pack that gained, lost or changed rules restores what still applies: state of a
//! removed rule, or of a rule whose kind changed, is dropped.
//!
//! The format is versioned; an unknown version or a corrupt snapshot is an error, never a
//! silent reset. Writing it to disk is the caller's business.

use crate::bounded::RecencyMap;
use crate::engine::{Engine, EngineConfig, IdentityState, Pending};
use crate::state::{GroupState, KindState, TransientState};
use nhiwatch_core::{EventTime, FieldPath, SourceOffset};
use nhiwatch_decode::decode_record;
use nhiwatch_rules::RulePack;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use std::collections::HashMap;
use std::sync::Arc;

/// Snapshot format name.
pub const SNAPSHOT_FORMAT: &str = "nhiwatch-state";
/// Current snapshot version.
pub const SNAPSHOT_VERSION: u32 = 1;

/// A snapshot that cannot be restored.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Not a snapshot of this product.
    #[error("not an nhiwatch state snapshot (format '{0}')")]
    Format(String),
    /// Written by an incompatible version.
    #[error("snapshot version {found} is not supported (this build reads version {SNAPSHOT_VERSION})")]
    Version {
        /// Version in the file.
        found: u32,
    },
    /// A buffered record no longer decodes.
    #[error("buffered record {offset} in the snapshot does not decode: {reason}")]
    Record {
        /// Where it came from.
        offset: String,
        /// Why.
        reason: String,
    },
}

/// A buffered event, kept as its record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingRecord {
    /// The original record text.
    pub raw: String,
    /// Where it was read from.
    pub offset: SourceOffset,
}

/// Everything the engine has learned.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    /// Always [`SNAPSHOT_FORMAT`].
    pub format: String,
    /// [`SNAPSHOT_VERSION`] when written.
    pub version: u32,
    /// Rule ids by the index used in `groups` and `dedup`.
    pub rules: Vec<String>,
    /// Group-key namespaces: the `group_by` fields of each, by namespace index.
    pub group_spaces: Vec<String>,
    /// Latest event time seen.
    pub max_time: Option<EventTime>,
    /// Watermark.
    pub watermark: Option<EventTime>,
    /// Arrival counter of the reorder buffer.
    pub seq: u64,
    /// Identities (least recently active first) and whether each signed in to the console.
    pub identities: Vec<(String, bool)>,
    /// Baseline state per group (least recently active first).
    pub groups: Vec<(String, GroupState)>,
    /// Threshold windows and sequences in progress per group (least recently active first).
    pub transient_groups: Vec<(String, GroupState<TransientState>)>,
    /// Last alert time per (rule index, de-duplication key).
    pub dedup: Vec<(u16, String, EventTime)>,
    /// Events waiting for the watermark.
    pub pending: Vec<PendingRecord>,
    /// Groups evicted so far.
    pub state_evictions_total: u64,
}

fn space_name(group_by: &[FieldPath]) -> String {
    group_by.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

/// The entry of restored identity `key`; one the snapshot did not list is added as the most
/// recently active, and listed ones keep the order they were restored in.
fn restored_identity<'a>(identities: &'a mut RecencyMap<IdentityState>, key: &str) -> Option<&'a mut IdentityState> {
    if !identities.contains(key) {
        identities.put(key, IdentityState::default());
    }
    identities.peek_mut(key)
}

/// How a snapshot's rule indices and group namespaces map onto the restoring engine's.
struct Remap<'a> {
    /// Old rule index → new index, when the rule still exists.
    rule_map: &'a [Option<u16>],
    /// Old namespace → new namespace, by the group_by fields it stands for.
    space_map: &'a [Option<u16>],
    pack: &'a RulePack,
}

impl Remap<'_> {
    /// The groups under their new keys, each holding the state of the rules that still exist
    /// with the same kind; groups left with none are dropped.
    fn groups<S: KindState>(&self, groups: Vec<(String, GroupState<S>)>) -> Vec<(String, GroupState<S>)> {
        let mut out = Vec::with_capacity(groups.len());
        for (key, group) in groups {
            let Some((ns, rest)) = key.split_once('\u{1f}') else { continue };
            let Some(Some(new_ns)) = ns.parse::<usize>().ok().and_then(|n| self.space_map.get(n)) else { continue };
            let rules: SmallVec<[(u16, S); 1]> = group
                .rules
                .into_iter()
                .filter_map(|(old, state)| {
                    let new = (*self.rule_map.get(old as usize)?)?;
                    let kind = self.pack.rules()[new as usize].kind.name();
                    (state.kind_name() == kind).then_some((new, state))
                })
                .collect();
            if !rules.is_empty() {
                out.push((format!("{new_ns}\u{1f}{rest}"), GroupState { rules, touched: group.touched }));
            }
        }
        out
    }
}

impl Engine {
    /// Every baseline group, least recently active first, as the snapshot writes them: those
    /// held with `identities` (least recently active first) under their namespace's key like
    /// any other group.
    fn baseline_groups(&self, identities: &[(&str, &IdentityState)]) -> Vec<(String, GroupState)> {
        let mut groups = self.state.store.export();
        if let Some(ns) = self.state.identity_space {
            groups.extend(identities.iter().filter(|(_, s)| !s.rules.is_empty()).map(|(k, s)| {
                (format!("{ns}\u{1f}{k}"), GroupState { rules: s.rules.iter().cloned().collect(), touched: None })
            }));
        }
        groups
    }

    /// Captures the engine's state.
    pub fn snapshot(&self) -> Snapshot {
        let rules = self.pack.rules().iter().map(|r| r.id.clone()).collect();
        let mut group_spaces: Vec<String> = Vec::new();
        for (i, rule) in self.pack.rules().iter().enumerate() {
            let ns = self.group_space(i) as usize;
            if group_spaces.len() <= ns {
                group_spaces.resize(ns + 1, String::new());
            }
            group_spaces[ns] = space_name(&rule.group_by);
        }
        let mut pending: Vec<&Pending> = self.pending.iter().collect();
        pending.sort();
        let identities = self.identities.oldest_first();
        Snapshot {
            format: SNAPSHOT_FORMAT.to_string(),
            version: SNAPSHOT_VERSION,
            rules,
            group_spaces,
            max_time: self.max_time,
            watermark: self.watermark,
            seq: self.seq,
            identities: identities.iter().map(|(k, s)| (k.to_string(), s.signals.console_login)).collect(),
            groups: self.baseline_groups(&identities),
            transient_groups: self.transient.export(),
            dedup: self
                .dedup
                .iter()
                .rev()
                .map(|((r, k), t)| (*r, k.to_string(), *t))
                .chain(identities.iter().flat_map(|(k, s)| s.dedup.iter().map(move |(r, t)| (*r, k.to_string(), *t))))
                .collect(),
            pending: pending
                .into_iter()
                .map(|p| PendingRecord { raw: p.event.raw.text().to_string(), offset: p.event.offset.clone() })
                .collect(),
            state_evictions_total: self.state_evictions_total(),
        }
    }

    /// An engine running `pack` that continues from `snapshot`.
    pub fn restore(pack: Arc<RulePack>, config: EngineConfig, snapshot: Snapshot) -> Result<Self, SnapshotError> {
        if snapshot.format != SNAPSHOT_FORMAT {
            return Err(SnapshotError::Format(snapshot.format));
        }
        if snapshot.version != SNAPSHOT_VERSION {
            return Err(SnapshotError::Version { found: snapshot.version });
        }
        let mut engine = Engine::new(pack, config);
        let by_id: HashMap<&str, usize> =
            engine.pack.rules().iter().enumerate().map(|(i, r)| (r.id.as_str(), i)).collect();
        // Old rule index → new index, when the rule still exists.
        let rule_map: Vec<Option<u16>> =
            snapshot.rules.iter().map(|id| by_id.get(id.as_str()).map(|i| *i as u16)).collect();
        // Old namespace → new namespace, by the group_by fields it stands for.
        let mut new_spaces: HashMap<String, u16> = HashMap::new();
        for (i, rule) in engine.pack.rules().iter().enumerate() {
            new_spaces.insert(space_name(&rule.group_by), engine.group_space(i));
        }
        let space_map: Vec<Option<u16>> = snapshot.group_spaces.iter().map(|s| new_spaces.get(s).copied()).collect();
        let remap = Remap { rule_map: &rule_map, space_map: &space_map, pack: &engine.pack };
        for (key, console_login) in snapshot.identities {
            let mut s = IdentityState::default();
            s.signals.console_login = console_login;
            engine.identities.put(&key, s);
        }
        // Baselines of rules grouped by identity alone go back to their identity.
        let held = engine.state.identity_space.map(|ns| format!("{ns}\u{1f}"));
        let mut groups = Vec::new();
        for (key, group) in remap.groups(snapshot.groups) {
            match held.as_deref().and_then(|p| key.strip_prefix(p)) {
                Some(identity) => {
                    if let Some(s) = restored_identity(&mut engine.identities, identity) {
                        s.rules = group.rules.into_vec();
                    }
                }
                None => groups.push((key, group)),
            }
        }
        engine.state.store.import(groups);
        engine.transient.import(remap.groups(snapshot.transient_groups));
        engine.state.store.set_evictions_total(snapshot.state_evictions_total);
        for (old, key, t) in snapshot.dedup {
            if let Some(Some(new)) = rule_map.get(old as usize) {
                let by_identity = engine.pack.rules()[usize::from(*new)].dedup.by.is_empty() && !key.contains('\u{1f}');
                if by_identity {
                    if let Some(s) = restored_identity(&mut engine.identities, &key) {
                        s.dedup.push((*new, t));
                    }
                } else {
                    engine.dedup.put((*new, key.into_boxed_str()), t);
                }
            }
        }
        engine.max_time = snapshot.max_time;
        engine.watermark = snapshot.watermark;
        engine.seq = snapshot.seq;
        for p in snapshot.pending {
            let decoded = decode_record(&p.raw, p.offset.clone())
                .map_err(|e| SnapshotError::Record { offset: p.offset.to_string(), reason: e.detail })?;
            engine.seq += 1;
            let hash = engine.identities.hash(decoded.event.identity.key.as_str());
            engine.pending.push(Pending::new(Box::new(decoded.event), engine.seq, hash));
        }
        Ok(engine)
    }
}
