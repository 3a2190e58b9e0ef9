//! Rule kinds. One variant per kind; each kind's settings live beside it.
//!
//! - `match`: one event satisfies the condition.
//! - `threshold`: per group, the number of matching events (or of distinct values of a field)
//!   within a sliding window reaches a count, optionally only after a start event.
//!
//! Stateful baseline kinds (`new_value`, `off_hours`, `spike`, `impossible_travel`,
//! `sequence`, `dormant`) are added here as further variants.

use crate::condition::Condition;
use chrono::Duration;
use nhiwatch_core::FieldPath;

/// What a rule does with matching events.
#[derive(Debug, Clone)]
pub enum RuleKind {
    /// Alert on every matching event.
    Match,
    /// Alert when a group's count in a window reaches a threshold.
    Threshold(Threshold),
}

impl RuleKind {
    /// The kind's name as written in rule files.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Match => "match",
            Self::Threshold(_) => "threshold",
        }
    }
}

/// Threshold settings, compiled.
#[derive(Debug, Clone)]
pub struct Threshold {
    /// Group key fields.
    pub group_by: Vec<FieldPath>,
    /// Sliding window.
    pub window: Duration,
    /// Count to reach.
    pub count: u64,
    /// Count distinct values of this field instead of events.
    pub distinct: Option<FieldPath>,
    /// Count only after an event matching this, within the window, for the same group.
    pub after: Option<Condition>,
}

/// Names accepted for `kind`.
pub const KIND_NAMES: &[&str] = &["match", "threshold"];
