//! The stateful rule kinds, one file each: the state a kind keeps for one group and how an
//! event updates it. Each `observe` returns a [`Finding`] when the event breaks the group's
//! normal; the engine turns findings into alerts (ids, identity, ATT&CK, de-duplication).

pub mod dormant;
pub mod new_value;
pub mod off_hours;
pub mod sequence;
pub mod spike;
pub mod threshold;
pub mod travel;

use nhiwatch_core::Cited;
use serde_json::{Map, Value};

/// What a stateful kind found.
#[derive(Debug, Clone, Default)]
pub struct Finding {
    /// Events cited (capped by the kind).
    pub evidence: Vec<Cited>,
    /// Events behind the finding.
    pub count: u64,
    /// What made it unusual, including `baseline` where the kind has one.
    pub context: Map<String, Value>,
    /// What the alert id hashes besides rule and identity (event ids, window start).
    pub trigger_ids: Vec<String>,
}

impl Finding {
    /// A finding about one event.
    pub(crate) fn single(evidence: Cited, context: Map<String, Value>) -> Self {
        let id = evidence.event_id().to_string();
        Self { evidence: vec![evidence], count: 1, context, trigger_ids: vec![id] }
    }
}

/// Formats an event time for context values.
pub(crate) fn time_text(t: nhiwatch_core::EventTime) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A hash of texts that is the same in every run, never 0 (0 marks a hash not computed yet,
/// as in state restored from a snapshot, which does not keep hashes). `feed` writes the texts
/// with [`FixedHash::text`].
pub(crate) fn fixed_hash(feed: impl FnOnce(&mut FixedHash)) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = FixedHash(foldhash::fast::FixedState::with_seed(0).build_hasher());
    feed(&mut h);
    h.0.finish().max(1)
}

/// The hasher [`fixed_hash`] hands to its caller.
pub(crate) struct FixedHash(foldhash::fast::FoldHasher<'static>);

impl FixedHash {
    /// Adds one text, ended so that ("ab", "c") and ("a", "bc") differ.
    pub(crate) fn text(&mut self, text: &str) {
        use std::hash::Hasher;
        self.0.write(text.as_bytes());
        self.0.write_u8(0xff);
    }
}
