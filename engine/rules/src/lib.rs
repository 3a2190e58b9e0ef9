//! nhiwatch rules: the YAML schema detection engineers write, compiled once into matchers.
//!
//! This crate holds no state and does no I/O: it takes rule texts and returns a [`RulePack`],
//! or every problem found, each as `file:line:col: reason`. The engine (`nhiwatch-detect`)
//! evaluates the pack over events.

#![forbid(unsafe_code)]

pub mod attack;
pub mod condition;
pub mod error;
pub mod kind;
pub mod org;
pub mod pack;
pub mod pattern;
pub mod rule;
pub mod sigma;
pub mod spec;
pub mod template;
#[cfg(test)]
mod test_support;

pub use attack::AttackTable;
pub use condition::{Condition, Subject};
pub use error::{LoadError, PackError, RuleError};
pub use kind::{Dormant, ImpossibleTravel, NewValue, OffHours, RuleKind, Sequence, Spike, Step, Threshold};
pub use org::Org;
pub use pack::RulePack;
pub use rule::{Dedup, Rule, RuleTest};
