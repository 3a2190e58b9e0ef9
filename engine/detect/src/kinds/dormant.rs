//! `dormant` state: when the group was last active.

use super::{Finding, time_text};
use nhiwatch_core::Cited;
use nhiwatch_core::{Event, EventTime};
use nhiwatch_rules::Dormant;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Last activity of one group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DormantState {
    first_seen: EventTime,
    last_seen: EventTime,
}

impl DormantState {
    /// First sight at `now`.
    pub fn new(now: EventTime) -> Self {
        Self { first_seen: now, last_seen: now }
    }
}

/// A finding when the group was silent for at least `after`.
pub fn observe(d: &Dormant, st: &mut DormantState, event: &Event) -> Option<Finding> {
    let silent = event.time - st.last_seen;
    let previous = st.last_seen;
    st.last_seen = st.last_seen.max(event.time);
    if silent < d.after {
        return None;
    }
    let mut context = Map::new();
    context.insert(
        "baseline".into(),
        json!({
            "first_seen": time_text(st.first_seen),
            "last_seen": time_text(previous),
            "dormant_days": silent.num_hours() as f64 / 24.0,
            "dormant_after": nhiwatch_core::time::format_duration(d.after),
        }),
    );
    context.insert("reactivated_at".into(), Value::from(time_text(event.time)));
    Some(Finding::single(Cited::from_event(event), context))
}
