//! Configured suppressions (`[[suppress]]`): known-good behaviour silenced on purpose, with a
//! reason and an optional expiry, counted in the summary so nothing disappears unseen.

use globset::{GlobBuilder, GlobMatcher};
use nhiwatch_core::EventTime;

/// One suppression.
#[derive(Debug, Clone)]
pub struct Suppression {
    /// Rule id (`*` for every rule).
    pub rule: String,
    /// Identity-key glob.
    identity: GlobMatcher,
    /// The glob as written.
    pub identity_pattern: String,
    /// Event time after which the suppression no longer applies.
    pub until: Option<EventTime>,
    /// Why (shown in the summary).
    pub reason: String,
}

impl Suppression {
    /// Builds a suppression; fails on an invalid glob.
    pub fn new(rule: &str, identity: &str, until: Option<EventTime>, reason: &str) -> Result<Self, globset::Error> {
        let glob = GlobBuilder::new(identity).literal_separator(false).build()?.compile_matcher();
        Ok(Self {
            rule: rule.to_string(),
            identity: glob,
            identity_pattern: identity.to_string(),
            until,
            reason: reason.to_string(),
        })
    }

    /// True when it silences `rule` for `identity` at `time`.
    pub fn applies(&self, rule: &str, identity: &str, time: EventTime) -> bool {
        (self.rule == "*" || self.rule == rule)
            && self.until.is_none_or(|u| time < u)
            && self.identity.is_match(identity)
    }
}
