//! `threshold`: count (or count distinct values) per group in a sliding window.

use crate::condition::Condition;
use crate::error::{RuleError, at};
use crate::spec::{RuleSpec, ThresholdSpec};
use chrono::Duration;
use nhiwatch_core::{FieldPath, parse_duration};
use serde_saphyr::Spanned;

/// Threshold settings, compiled.
#[derive(Debug, Clone)]
pub struct Threshold {
    /// Sliding window.
    pub window: Duration,
    /// Count to reach.
    pub count: u64,
    /// Count distinct values of this field instead of events.
    pub distinct: Option<FieldPath>,
    /// Count only after an event matching this, within the window, for the same group.
    pub after: Option<Condition>,
}

impl Threshold {
    pub(crate) fn compile(spec: &RuleSpec, t: &Spanned<ThresholdSpec>) -> Result<Self, RuleError> {
        let loc = spec.kind.referenced;
        let window = spec.window.as_ref().ok_or_else(|| at(loc, "kind: threshold needs a 'window'"))?;
        if spec.group_by.is_empty() {
            return Err(at(loc, "kind: threshold needs 'group_by' (e.g. [identity.id])"));
        }
        let window_len = parse_duration(&window.value).map_err(|e| at(window.referenced, e.to_string()))?;
        if window_len <= Duration::zero() {
            return Err(at(window.referenced, "window must be longer than 0s"));
        }
        if t.value.count == 0 {
            return Err(at(t.referenced, "threshold count must be at least 1"));
        }
        Ok(Self {
            window: window_len,
            count: t.value.count,
            distinct: t
                .value
                .distinct
                .as_ref()
                .map(|d| FieldPath::parse(&d.value).map_err(|e| at(d.referenced, e)))
                .transpose()?,
            after: t.value.after.as_ref().map(Condition::compile).transpose()?,
        })
    }
}
