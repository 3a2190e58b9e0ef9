//! `sequence`: ordered steps by one group within the rule's window, with values captured in
//! one step and required in later ones (`CreateUser` u → policy on u → key for u).

use crate::condition::Condition;
use crate::error::{RuleError, at};
use crate::spec::{RuleSpec, SequenceSpec};
use chrono::Duration;
use nhiwatch_core::{FieldPath, parse_duration};
use serde_saphyr::Spanned;

/// One compiled step.
#[derive(Debug, Clone)]
pub struct Step {
    /// Name shown in alerts.
    pub name: String,
    /// Which events complete it.
    pub condition: Condition,
    /// Variables captured: (name, field). Names are shared with the runs that hold a value.
    pub capture: Vec<(std::sync::Arc<str>, FieldPath)>,
    /// Constraints: (field, variable name).
    pub require: Vec<(FieldPath, String)>,
}

/// Sequence settings.
#[derive(Debug, Clone)]
pub struct Sequence {
    /// Steps in order (at least two).
    pub steps: Vec<Step>,
    /// Time limit from the first step to the last.
    pub within: Duration,
    /// False: the steps may happen in any order (Sigma `temporal` correlations).
    pub ordered: bool,
}

impl Sequence {
    pub(crate) fn compile(s: &Spanned<SequenceSpec>, rule: &RuleSpec) -> Result<Self, RuleError> {
        let loc = s.referenced;
        if s.value.steps.len() < 2 {
            return Err(at(loc, "a sequence needs at least two steps"));
        }
        let window = rule.window.as_ref().ok_or_else(|| at(rule.kind.referenced, "kind: sequence needs a 'window'"))?;
        let within = parse_duration(&window.value).map_err(|e| at(window.referenced, e.to_string()))?;
        if within <= Duration::zero() {
            return Err(at(window.referenced, "window must be longer than 0s"));
        }
        let mut known: Vec<String> = Vec::new();
        let mut steps = Vec::new();
        for step in &s.value.steps {
            let st = &step.value;
            let mut require = Vec::new();
            for (field, var) in &st.match_ {
                if !known.contains(&var.value) {
                    return Err(at(
                        var.referenced,
                        format!("variable '{}' is not captured by an earlier step", var.value),
                    ));
                }
                let path = FieldPath::parse(field).map_err(|e| at(var.referenced, e))?;
                require.push((path, var.value.clone()));
            }
            let mut capture = Vec::new();
            for (var, field) in &st.capture {
                let path = FieldPath::parse(&field.value).map_err(|e| at(field.referenced, e))?;
                capture.push((std::sync::Arc::from(var.as_str()), path));
                known.push(var.clone());
            }
            steps.push(Step { name: st.name.clone(), condition: Condition::compile(&st.condition)?, capture, require });
        }
        Ok(Self { steps, within, ordered: true })
    }
}
