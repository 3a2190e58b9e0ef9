//! `new_value` state: the values a group has used, with first and last sight.

use super::{Finding, time_text};
use compact_str::CompactString;
use nhiwatch_core::Cited;
use nhiwatch_core::{Event, EventTime};
use nhiwatch_rules::NewValue;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Values shown in an alert's baseline.
const BASELINE_VALUES_SHOWN: usize = 10;

/// One value and when it was seen. Most values (a country, an ASN, `s3:GetObject`) are short
/// and held inline, so confirming a hash match reads no other memory.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Seen {
    value: CompactString,
    /// [`value_hash`] of the value, compared first so a lookup reads few values (0: not known
    /// yet, as after a snapshot is restored).
    #[serde(skip)]
    hash: u64,
    first: EventTime,
    last: EventTime,
}

/// The values of one group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ValueSet {
    created: EventTime,
    events: u64,
    values: Vec<Seen>,
    /// Values dropped because the group had `max_values` already.
    pub evicted: u64,
    /// No value was last seen before this: until `forget` reaches it, nothing is forgotten
    /// and the values need no sweep. Not written to snapshots: a restored set sweeps once.
    #[serde(skip, default = "no_bound")]
    oldest_last: EventTime,
}

fn no_bound() -> EventTime {
    EventTime::MIN_UTC
}

impl ValueSet {
    /// An empty baseline starting at `now`.
    pub fn new(now: EventTime) -> Self {
        Self { created: now, events: 0, values: Vec::new(), evicted: 0, oldest_last: now }
    }

    /// Asks the processor to start loading the values a lookup compares first.
    pub(crate) fn warm(&self) {
        crate::prefetch::slice(&self.values);
    }
}

/// A fixed hash of a value (never 0, which marks a hash not computed yet).
fn value_hash(value: &str) -> u64 {
    super::fixed_hash(|h| h.text(value))
}

/// Observes `value` for the group; a finding when it is new and the baseline is mature.
pub fn observe(nv: &NewValue, st: &mut ValueSet, value: &str, event: &Event, may_alert: bool) -> Option<Finding> {
    let now = event.time;
    let since = now - nv.forget;
    if st.oldest_last < since {
        st.values.retain(|s| s.last >= since);
        st.oldest_last = st.values.iter().map(|s| s.last).min().unwrap_or(now);
    }
    st.events += 1;
    let hash = value_hash(value);
    if let Some(seen) = st.values.iter_mut().find(|s| (s.hash == hash || s.hash == 0) && s.value == value) {
        seen.last = seen.last.max(now);
        seen.hash = hash;
        return None;
    }
    let learned = may_alert && now - st.created >= nv.learning && st.events > nv.min_events;
    let finding = learned.then(|| {
        let mut known: Vec<&Seen> = st.values.iter().collect();
        known.sort_by(|a, b| b.last.cmp(&a.last).then_with(|| a.value.cmp(&b.value)));
        let shown: Vec<Value> = known
            .iter()
            .take(BASELINE_VALUES_SHOWN)
            .map(|s| json!({"value": &*s.value, "first_seen": time_text(s.first), "last_seen": time_text(s.last)}))
            .collect();
        let fields: Vec<String> = nv.fields.iter().map(ToString::to_string).collect();
        let mut context = Map::new();
        context.insert("new_value".into(), Value::from(value));
        context.insert(
            "baseline".into(),
            json!({
                "fields": fields,
                "known_values": known.len(),
                "values": shown,
                "observed_since": time_text(st.created),
                "events": st.events - 1,
                "forget_after": nhiwatch_core::time::format_duration(nv.forget),
            }),
        );
        Finding::single(Cited::from_event(event), context)
    });
    if st.values.len() >= nv.max_values
        && let Some(oldest) = st.values.iter().enumerate().min_by_key(|(_, s)| s.last).map(|(i, _)| i)
    {
        st.values.swap_remove(oldest);
        st.evicted += 1;
    }
    st.values.push(Seen { value: value.into(), hash, first: now, last: now });
    st.oldest_last = st.oldest_last.min(now);
    finding
}
