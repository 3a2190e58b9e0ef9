//! `threshold` state: the events counted in a group's sliding window.

use super::Finding;
use crate::engine::MAX_EVIDENCE;
use nhiwatch_core::Cited;
use nhiwatch_core::{Event, EventTime};
use nhiwatch_rules::Threshold;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::VecDeque;

/// One group's window.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WindowState {
    /// Counted events: (time, distinct value or empty, evidence).
    events: VecDeque<(EventTime, String, Cited)>,
    /// Counting is allowed until this time (rules with `after`).
    armed_until: Option<EventTime>,
    /// The start event.
    start: Option<Cited>,
}

impl WindowState {
    /// True when nothing in the window is live at `now`.
    pub fn is_idle(&self, t: &Threshold, now: EventTime) -> bool {
        let live = self.events.back().is_some_and(|(time, _, _)| *time > now - t.window);
        let armed = self.armed_until.is_some_and(|until| until >= now);
        !live && !armed
    }
}

/// A start event (`after`) opens counting for the window.
pub fn arm(t: &Threshold, st: &mut WindowState, event: &Event) {
    st.armed_until = Some(event.time + t.window);
    st.start = Some(Cited::from_event(event));
    st.events.clear();
}

/// Counts a matching event; returns a finding when the count is reached (the window then
/// starts over).
pub fn observe(t: &Threshold, st: &mut WindowState, event: &Event) -> Option<Finding> {
    if t.after.is_some() && st.armed_until.is_none_or(|until| event.time > until) {
        return None;
    }
    let value = match &t.distinct {
        Some(d) => event.field_text(d).filter(|v| !v.is_empty())?,
        None => String::new(),
    };
    while st.events.front().is_some_and(|(time, _, _)| *time <= event.time - t.window) {
        st.events.pop_front();
    }
    if t.distinct.is_some() {
        // One entry per value (its latest event) keeps the window as small as the count.
        st.events.retain(|(_, v, _)| *v != value);
    }
    st.events.push_back((event.time, value, Cited::from_event(event)));
    let distinct_values = || {
        let mut values: Vec<&str> = st.events.iter().map(|(_, v, _)| v.as_str()).collect();
        values.sort_unstable();
        values.dedup();
        values.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let observed = match t.distinct {
        Some(_) => distinct_values().len() as u64,
        None => st.events.len() as u64,
    };
    if observed < t.count {
        return None;
    }
    let mut context = Map::new();
    context.insert("window".into(), Value::from(nhiwatch_core::time::format_duration(t.window)));
    context.insert("threshold".into(), Value::from(t.count));
    context.insert("observed".into(), Value::from(observed));
    if let Some(d) = &t.distinct {
        context.insert("counted".into(), Value::from(format!("distinct {d}")));
        context.insert("distinct_values".into(), Value::from(distinct_values()));
    }
    let mut finding = Finding::default();
    if t.after.is_some() {
        st.armed_until = None;
        if let Some(s) = st.start.take() {
            context.insert("after".into(), Value::from(format!("{} at {}", s.action(), super::time_text(s.time()))));
            finding.trigger_ids.push(s.event_id().to_string());
            finding.evidence.push(s);
        }
    }
    finding.count = st.events.len() as u64;
    for (_, _, ev) in st.events.drain(..) {
        finding.trigger_ids.push(ev.event_id().to_string());
        if finding.evidence.len() < MAX_EVIDENCE {
            finding.evidence.push(ev);
        }
    }
    finding.context = context;
    Some(finding)
}
