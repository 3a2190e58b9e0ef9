//! `sequence` state: runs in progress, each at a step with its captured values.

use super::Finding;
use crate::engine::MAX_EVIDENCE;
use nhiwatch_core::{Cited, CitedText, Event, EventTime, FieldPath, InlineText};
use nhiwatch_rules::{Sequence, Subject};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use smallvec::{SmallVec, smallvec};
use std::sync::Arc;

/// Runs kept per group; the oldest is dropped beyond it.
const MAX_RUNS: usize = 16;

/// Values captured so far: (variable, value); most sequences capture one.
type Vars = SmallVec<[(Arc<str>, Captured); 1]>;

/// Bytes of a captured value held in the run itself: most ARNs, addresses and user names.
const INLINE_VALUE: usize = 64;

/// A captured value, held in the run when it fits, so that starting a run (which most events
/// of a sequence grouped by address do) allocates one block less. Written as text.
type Captured = InlineText<INLINE_VALUE>;

/// The first value at `path` in `event`, as text; `None` when absent.
fn captured(event: &Event, path: &FieldPath) -> Option<Captured> {
    let mut value = Captured::default();
    event.with_field_text(path, |text| value.push_str(text)).then_some(value)
}

/// A run in progress. Most groups hold one run that has taken one step, so the first run, its
/// first value and its first cited event (text included) are stored inline: starting a run
/// allocates nothing when they fit.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Run {
    started: EventTime,
    next: usize,
    vars: Vars,
    evidence: SmallVec<[Cited<InlineText>; 1]>,
    /// [`first_hash`] of the values captured at the first step; 0 when not known (a run
    /// restored from a snapshot, which does not keep it).
    #[serde(skip)]
    first: u64,
}

/// Sequences in progress for one group.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Partials {
    runs: SmallVec<[Run; 1]>,
    /// Unordered sequences: the latest event of each step, while within the window.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    latest: Vec<Option<Cited>>,
}

impl Partials {
    /// True when no run is in progress.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty() && self.latest.iter().all(Option::is_none)
    }
}

fn finding(seq: &Sequence, evidence: Vec<Cited>, steps: Vec<Value>, vars: Map<String, Value>) -> Finding {
    let mut context = Map::new();
    context.insert("sequence".into(), Value::from(steps));
    context.insert("values".into(), Value::Object(vars));
    context.insert("within".into(), Value::from(nhiwatch_core::time::format_duration(seq.within)));
    let ids = evidence.iter().map(|e| e.event_id().to_string()).collect();
    Finding { count: evidence.len() as u64, evidence, context, trigger_ids: ids }
}

fn step_json<T: CitedText>(name: &str, e: &Cited<T>) -> Value {
    json!({"step": name, "action": e.action(), "event_id": e.event_id(), "time": super::time_text(e.time())})
}

/// Steps in any order (Sigma `temporal`): fires when every step has an event within the
/// window of the newest, citing the latest event of each step, then starts over.
fn observe_unordered(seq: &Sequence, st: &mut Partials, subject: &Subject<'_>) -> Option<Finding> {
    let event = subject.event;
    if st.latest.len() != seq.steps.len() {
        st.latest = vec![None; seq.steps.len()];
    }
    let mut matched = false;
    for (slot, step) in st.latest.iter_mut().zip(&seq.steps) {
        if step.condition.matches(subject) {
            *slot = Some(Cited::from_event(event));
            matched = true;
        }
    }
    for slot in &mut st.latest {
        if slot.as_ref().is_some_and(|e| event.time - e.time() > seq.within) {
            *slot = None;
        }
    }
    if !matched || st.latest.iter().any(Option::is_none) {
        return None;
    }
    let latest: Vec<(String, Cited)> =
        seq.steps.iter().zip(std::mem::take(&mut st.latest)).filter_map(|(s, e)| Some((s.name.clone(), e?))).collect();
    let steps = latest.iter().map(|(name, e)| step_json(name, e)).collect();
    let mut cited: Vec<Cited> = latest.into_iter().map(|(_, e)| e).collect();
    cited.sort_by(|a, b| (a.time(), a.event_id()).cmp(&(b.time(), b.event_id())));
    cited.dedup_by(|a, b| a.event_id() == b.event_id());
    Some(finding(seq, cited, steps, Map::new()))
}

/// Each step's condition on one event, tested at most once however many runs wait at it.
#[derive(Debug, Default)]
pub struct StepHits {
    tested: u64,
    hit: u64,
}

impl StepHits {
    /// Whether step `step` of `seq` matches the event of `subject`.
    pub fn matches(&mut self, seq: &Sequence, step: usize, subject: &Subject<'_>) -> bool {
        let Some(bit) = u32::try_from(step).ok().and_then(|s| 1u64.checked_shl(s)) else {
            return seq.steps[step].condition.matches(subject);
        };
        if self.tested & bit == 0 {
            self.tested |= bit;
            if seq.steps[step].condition.matches(subject) {
                self.hit |= bit;
            }
        }
        self.hit & bit != 0
    }
}

/// True when the first step's captures of `event` are `vars` (compared in place: a caller
/// that keeps acting restarts its run on every event, and copying the values each time
/// would cost more than the rest of the step).
fn same_first_captures(seq: &Sequence, event: &Event, vars: &[(Arc<str>, Captured)]) -> bool {
    let capture = &seq.steps[0].capture;
    capture.len() == vars.len()
        && capture
            .iter()
            .zip(vars)
            .all(|((var, path), (name, value))| var == name && event.field_text_is(path, value.as_str()))
}

/// A fixed hash of the values the first step captures from `event` (never 0), so a caller
/// that keeps acting finds its own run among many by comparing numbers; `None` when a value is
/// absent (no run starts).
fn first_hash(seq: &Sequence, event: &Event) -> Option<u64> {
    let mut complete = true;
    let hash = super::fixed_hash(|h| {
        complete = seq.steps[0].capture.iter().all(|(_, path)| event.with_field_text(path, |text| h.text(text)));
    });
    complete.then_some(hash)
}

fn captures(seq: &Sequence, step: usize, event: &Event) -> Option<Vars> {
    seq.steps[step].capture.iter().map(|(var, path)| captured(event, path).map(|v| (Arc::clone(var), v))).collect()
}

/// Advances runs with the event, starts a new one when it matches the first step, and returns
/// a finding for a completed run. `hits` holds the step results already known for the event.
pub fn observe(seq: &Sequence, st: &mut Partials, subject: &Subject<'_>, hits: &mut StepHits) -> Option<Finding> {
    if !seq.ordered {
        return observe_unordered(seq, st, subject);
    }
    let event = subject.event;
    let since = event.time - seq.within;
    st.runs.retain(|r| r.started >= since);
    let mut completed = None;
    for (i, run) in st.runs.iter_mut().enumerate() {
        // The step's condition first: it reads normalized fields; required values may parse
        // raw ones.
        if !hits.matches(seq, run.next, subject) {
            continue;
        }
        let step = &seq.steps[run.next];
        let satisfied = step.require.iter().all(|(path, var)| {
            let want = run.vars.iter().find(|(v, _)| **v == **var).map(|(_, value)| value.as_str());
            want.is_some_and(|w| event.field_text_is(path, w))
        });
        if !satisfied {
            continue;
        }
        let Some(captured) = captures(seq, run.next, event) else { continue };
        run.vars.extend(captured);
        if run.evidence.len() < MAX_EVIDENCE {
            run.evidence.push(Cited::from_event(event));
        }
        run.next += 1;
        if run.next == seq.steps.len() && completed.is_none() {
            completed = Some(i);
        }
    }
    let finding = completed.map(|i| {
        let run = st.runs.remove(i);
        let steps: Vec<Value> = seq.steps.iter().zip(&run.evidence).map(|(s, e)| step_json(&s.name, e)).collect();
        let vars: Map<String, Value> = run.vars.iter().map(|(k, v)| (k.to_string(), Value::from(v.as_str()))).collect();
        finding(seq, run.evidence.iter().map(Cited::convert).collect(), steps, vars)
    });
    // Other runs completed by the same event are the same finding (one alert cites it).
    st.runs.retain(|r| r.next < seq.steps.len());
    if hits.matches(seq, 0, subject)
        && let Some(first) = first_hash(seq, event)
    {
        // A run that has only taken the first step with the same values is the same run, started
        // again: its window restarts now. Its cited event is renewed only when it is older than
        // half the window, so a caller that keeps acting does not copy every one of its events.
        let same = st
            .runs
            .iter_mut()
            .find(|r| r.next == 1 && (r.first == first || r.first == 0) && same_first_captures(seq, event, &r.vars));
        if let Some(same) = same {
            if event.time - same.started > seq.within / 2 {
                same.evidence = smallvec![Cited::from_event(event)];
            }
            same.started = event.time;
            same.first = first;
        } else if let Some(vars) = captures(seq, 0, event) {
            if st.runs.len() >= MAX_RUNS {
                st.runs.remove(0);
            }
            st.runs.push(Run {
                started: event.time,
                next: 1,
                vars,
                evidence: smallvec![Cited::from_event(event)],
                first,
            });
        }
    }
    finding
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured_values_are_written_as_text_whether_held_inline_or_not() {
        let long = format!("arn:aws:iam::111111111111:role/{}", "x".repeat(INLINE_VALUE));
        for text in ["arn:aws:iam::111111111111:user/alice", long.as_str()] {
            let value = Captured::new(text);
            let json = serde_json::to_string(&value).expect("serialises");
            assert_eq!(json, serde_json::to_string(text).expect("serialises"), "written as the text itself");
            let back: Captured = serde_json::from_str(&json).expect("reads back");
            assert_eq!(back.as_str(), text);
        }
    }
}
