//! Rule kinds. One variant per kind; each kind's compiled settings live in its own file.
//!
//! - `match`: one event satisfies the condition.
//! - `threshold`: per group, the number of matching events (or of distinct values of a field)
//!   within a sliding window reaches a count, optionally only after a start event.
//! - `new_value`: a value never seen for the group, once the group has a baseline.
//! - `off_hours`: an event in an hour of the week the group rarely acts in.
//! - `spike`: a per-bucket sum or count far above the group's own history.
//! - `impossible_travel`: two located events too far apart for the time between them.
//! - `sequence`: ordered steps within a window, with values carried between steps.
//! - `dormant`: a group unseen for a long time becomes active again.

mod baseline;
mod sequence;
mod threshold;

pub use baseline::{Dormant, ImpossibleTravel, NewValue, OffHours, Spike};
pub use sequence::{Sequence, Step};
pub use threshold::Threshold;

use crate::error::{RuleError, at};
use crate::spec::RuleSpec;
use chrono::Duration;
use nhiwatch_core::parse_duration;
use serde_saphyr::Spanned;

/// What a rule does with matching events.
#[derive(Debug, Clone)]
pub enum RuleKind {
    /// Alert on every matching event.
    Match,
    /// Alert when a group's count in a window reaches a threshold.
    Threshold(Threshold),
    /// Alert on a value new to the group.
    NewValue(NewValue),
    /// Alert on activity in the group's unusual hours.
    OffHours(OffHours),
    /// Alert on a volume far above the group's history.
    Spike(Spike),
    /// Alert on impossible travel.
    ImpossibleTravel(ImpossibleTravel),
    /// Alert on an ordered sequence.
    Sequence(Sequence),
    /// Alert when a dormant group acts again.
    Dormant(Dormant),
}

/// Names accepted for `kind`.
pub const KIND_NAMES: &[&str] =
    &["match", "threshold", "new_value", "off_hours", "spike", "impossible_travel", "sequence", "dormant"];

impl RuleKind {
    /// The kind's name as written in rule files.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Match => "match",
            Self::Threshold(_) => "threshold",
            Self::NewValue(_) => "new_value",
            Self::OffHours(_) => "off_hours",
            Self::Spike(_) => "spike",
            Self::ImpossibleTravel(_) => "impossible_travel",
            Self::Sequence(_) => "sequence",
            Self::Dormant(_) => "dormant",
        }
    }

    /// True for kinds that keep state per group.
    pub fn is_stateful(&self) -> bool {
        !matches!(self, Self::Match)
    }

    /// Compiles the kind named by `spec.kind` with its settings block.
    pub(crate) fn compile(spec: &RuleSpec) -> Result<Self, RuleError> {
        let name = spec.kind.value.as_str();
        let loc = spec.kind.referenced;
        if !KIND_NAMES.contains(&name) {
            return Err(at(loc, format!("unknown kind '{name}' (known: {})", KIND_NAMES.join(", "))));
        }
        // A settings block of another kind is a mistake worth stopping for.
        let blocks = [
            ("threshold", spec.threshold.as_ref().map(|s| s.referenced)),
            ("new_value", spec.new_value.as_ref().map(|s| s.referenced)),
            ("off_hours", spec.off_hours.as_ref().map(|s| s.referenced)),
            ("spike", spec.spike.as_ref().map(|s| s.referenced)),
            ("impossible_travel", spec.impossible_travel.as_ref().map(|s| s.referenced)),
            ("sequence", spec.sequence.as_ref().map(|s| s.referenced)),
            ("dormant", spec.dormant.as_ref().map(|s| s.referenced)),
        ];
        for (block, block_loc) in blocks {
            if let Some(l) = block_loc
                && block != name
            {
                return Err(at(l, format!("'{block}' is only valid with kind: {block}")));
            }
        }
        let uses_window = matches!(name, "threshold" | "sequence");
        if let Some(w) = &spec.window
            && !uses_window
        {
            return Err(at(w.referenced, "'window' is only valid with kind: threshold or sequence"));
        }
        if name == "match"
            && let Some(g) = spec.group_by.first()
        {
            return Err(at(g.referenced, "'group_by' is not valid with kind: match (it keeps no state)"));
        }
        let missing = || at(loc, format!("kind: {name} needs a '{name}' block"));
        Ok(match name {
            "match" => Self::Match,
            "threshold" => Self::Threshold(Threshold::compile(spec, spec.threshold.as_ref().ok_or_else(missing)?)?),
            "new_value" => Self::NewValue(NewValue::compile(spec.new_value.as_ref().ok_or_else(missing)?)?),
            "off_hours" => Self::OffHours(OffHours::compile(spec.off_hours.as_ref())?),
            "spike" => Self::Spike(Spike::compile(spec.spike.as_ref())?),
            "impossible_travel" => Self::ImpossibleTravel(ImpossibleTravel::compile(spec.impossible_travel.as_ref())?),
            "sequence" => Self::Sequence(Sequence::compile(spec.sequence.as_ref().ok_or_else(missing)?, spec)?),
            _ => Self::Dormant(Dormant::compile(spec.dormant.as_ref())?),
        })
    }
}

/// Reads an optional duration with a default.
pub(crate) fn duration_or(text: Option<&Spanned<String>>, default: Duration) -> Result<Duration, RuleError> {
    match text {
        Some(t) => {
            let d = parse_duration(&t.value).map_err(|e| at(t.referenced, e.to_string()))?;
            if d <= Duration::zero() {
                return Err(at(t.referenced, "duration must be longer than 0s"));
            }
            Ok(d)
        }
        None => Ok(default),
    }
}
