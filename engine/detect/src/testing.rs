//! Runs a rule's embedded tests: each test's records go through the real decoder and engine
//! with only that rule loaded, and the number of alerts it raises is compared.

use crate::engine::{Engine, EngineConfig};
use nhiwatch_core::{Alert, SourceOffset};
use nhiwatch_decode::decode_record;
use nhiwatch_rules::{Org, Rule, RulePack, RuleTest};
use std::sync::Arc;

/// The result of one embedded test.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    /// Rule id.
    pub rule_id: String,
    /// Test name.
    pub test: String,
    /// Alerts expected.
    pub expected: u64,
    /// Alerts raised.
    pub alerts: Vec<Alert>,
    /// Records the decoder rejected (a test with any is a broken test).
    pub decode_errors: Vec<String>,
}

impl TestOutcome {
    /// True when the count matches and every record decoded.
    pub fn passed(&self) -> bool {
        self.decode_errors.is_empty() && self.alerts.len() as u64 == self.expected
    }
}

/// Runs every embedded test of `rule`.
pub fn run_rule_tests(rule: &Rule, base: &EngineConfig) -> Vec<TestOutcome> {
    rule.tests.iter().map(|t| run_rule_test(rule, t, base)).collect()
}

/// Runs one embedded test.
pub fn run_rule_test(rule: &Rule, test: &RuleTest, base: &EngineConfig) -> TestOutcome {
    let pack = Arc::new(RulePack::from_rules(vec![rule.clone()]));
    let mut config = base.clone();
    config.org = Org::new(None, test.org_accounts.iter().cloned());
    let mut engine = Engine::new(pack, config);
    let file: Arc<str> = Arc::from(format!("{}#{}", rule.file, test.name));
    let mut alerts = Vec::new();
    let mut decode_errors = Vec::new();
    for (i, record) in test.records.iter().enumerate() {
        let text = record.to_string();
        let offset = SourceOffset { file: file.clone(), line: Some(test.line), record: i as u64 };
        match decode_record(&text, offset) {
            Ok(d) => alerts.extend(engine.process(d.event)),
            Err(e) => decode_errors.push(format!("event {i}: {}: {}", e.reason, e.detail)),
        }
    }
    alerts.extend(engine.finish());
    alerts.retain(|a| a.rule_id == rule.id);
    TestOutcome { rule_id: rule.id.clone(), test: test.name.clone(), expected: test.expect, alerts, decode_errors }
}
