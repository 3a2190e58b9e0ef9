//! `spike` state: a group's per-bucket totals (bytes, or events) on a log-scale histogram.
//!
//! Why a histogram: a percentile of the group's own past needs its distribution, and 96
//! half-octave counters (192 bytes) keep it for any history length, to within a factor of
//! √2 — ample for alerts that fire at several times the usual high.

use super::{Finding, time_text};
use crate::engine::MAX_EVIDENCE;
use nhiwatch_core::{Cited, Event, FieldValue};
use nhiwatch_rules::Spike;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

const BINS: usize = 96;

/// One group's volume history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpikeState {
    bucket: i64,
    current: f64,
    events: u64,
    alerted: bool,
    evidence: Vec<Cited>,
    active_buckets: u64,
    histogram: Vec<u16>,
}

impl Default for SpikeState {
    fn default() -> Self {
        Self {
            bucket: i64::MIN,
            current: 0.0,
            events: 0,
            alerted: false,
            evidence: Vec::new(),
            active_buckets: 0,
            histogram: vec![0; BINS],
        }
    }
}

fn bin(value: f64) -> usize {
    ((value.max(0.0) + 1.0).log2() * 2.0).floor().clamp(0.0, (BINS - 1) as f64) as usize
}

/// The upper edge of a bin (the conservative, higher estimate).
fn bin_top(bin: usize) -> f64 {
    2f64.powf((bin + 1) as f64 / 2.0) - 1.0
}

impl SpikeState {
    fn close_bucket(&mut self) {
        if self.current > 0.0 {
            let b = bin(self.current);
            if self.histogram[b] == u16::MAX {
                self.histogram.iter_mut().for_each(|c| *c /= 2);
            }
            self.histogram[b] += 1;
            self.active_buckets += 1;
        }
        self.current = 0.0;
        self.events = 0;
        self.alerted = false;
        self.evidence.clear();
    }

    fn percentile(&self, p: f64) -> f64 {
        let total: u64 = self.histogram.iter().map(|c| u64::from(*c)).sum();
        if total == 0 {
            return 0.0;
        }
        let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in self.histogram.iter().enumerate() {
            seen += u64::from(*c);
            if seen >= rank {
                return bin_top(i);
            }
        }
        bin_top(BINS - 1)
    }
}

fn amount(s: &Spike, event: &Event) -> f64 {
    let Some(field) = &s.sum else { return 1.0 };
    let mut total = 0.0;
    event.visit_field(field, &mut |v| {
        total += match v {
            FieldValue::Num(n) => n,
            FieldValue::Str(t) => t.trim().parse().unwrap_or(0.0),
            _ => 0.0,
        };
        false
    });
    total
}

/// Adds the event to its bucket; a finding the first time a bucket passes the limit.
pub fn observe(s: &Spike, st: &mut SpikeState, event: &Event) -> Option<Finding> {
    let len = s.bucket.num_seconds().max(1);
    let bucket = event.time.timestamp().div_euclid(len);
    if bucket > st.bucket {
        if st.bucket != i64::MIN {
            st.close_bucket();
        }
        st.bucket = bucket;
    } else if bucket < st.bucket {
        // A late event of a closed bucket: its volume is history now, not a spike.
        return None;
    }
    st.current += amount(s, event);
    st.events += 1;
    if st.alerted || st.active_buckets < s.min_buckets {
        return None;
    }
    let usual = st.percentile(s.percentile);
    // Evidence is kept only once the bucket is above the usual level: an ordinary hour, the
    // state of almost every identity, holds no copies of events.
    if st.current > usual && st.evidence.len() < MAX_EVIDENCE {
        st.evidence.push(Cited::from_event(event));
    }
    let limit = (usual * s.factor).max(s.floor);
    if st.current <= limit {
        return None;
    }
    st.alerted = true;
    let unit =
        if s.sum.is_some() { s.sum.as_ref().map(ToString::to_string).unwrap_or_default() } else { "events".into() };
    let bucket_start = chrono::DateTime::from_timestamp(bucket * len, 0).unwrap_or(event.time);
    let mut context = Map::new();
    context.insert("observed".into(), Value::from(st.current));
    context.insert(
        "baseline".into(),
        json!({
            "measure": unit,
            "bucket": nhiwatch_core::time::format_duration(s.bucket),
            "bucket_start": time_text(bucket_start),
            "expected_up_to": usual,
            "percentile": s.percentile,
            "active_buckets": st.active_buckets,
            "limit": limit,
            "factor": s.factor,
            "floor": s.floor,
        }),
    );
    let first = st.evidence.first().map(|e| e.event_id().to_string()).unwrap_or_default();
    Some(Finding {
        evidence: st.evidence.clone(),
        count: st.events,
        context,
        trigger_ids: vec![time_text(bucket_start), first],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_histogram() {
        let mut st = SpikeState::default();
        for v in [100.0, 120.0, 90.0, 110.0, 105.0] {
            st.current = v;
            st.close_bucket();
        }
        let p = st.percentile(99.0);
        assert!((100.0..=200.0).contains(&p), "{p}");
        assert_eq!(st.active_buckets, 5);
    }
}
