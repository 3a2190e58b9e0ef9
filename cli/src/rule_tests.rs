//! `nhiwatch rules test`: runs every rule's embedded tests through the real decoder and engine,
//! prints results like a test runner and can write a JUnit report for CI systems.
//!
//! Rule tests geolocate with the test GeoIP database bundled in the binary (built from
//! `fixtures/geoip/test-geo.csv`), so baseline rules can be tested anywhere; `--geoip` replaces
//! it.

use nhiwatch_core::geo::GeoResolver;
use nhiwatch_detect::EngineConfig;
use nhiwatch_detect::testing::{TestOutcome, run_rule_tests};
use nhiwatch_rules::RulePack;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// The test GeoIP database the rule tests are written against.
static TEST_GEOIP: &[u8] = include_bytes!("../../fixtures/geoip/demo.mmdb");

/// Records shown for a failed test.
const RECORDS_SHOWN: usize = 5;

/// The bundled test GeoIP database.
pub fn test_geoip() -> anyhow::Result<Arc<dyn GeoResolver>> {
    Ok(Arc::new(nhiwatch_geo::MmdbResolver::from_bytes("test-geo.mmdb", TEST_GEOIP.to_vec())?))
}

/// Every rule's outcomes, in pack order: (rule file, outcome).
pub fn run_all(pack: &RulePack, geo: Arc<dyn GeoResolver>) -> Vec<(String, TestOutcome)> {
    let config = EngineConfig { geo: Some(geo), ..EngineConfig::default() };
    pack.rules().iter().flat_map(|r| run_rule_tests(r, &config).into_iter().map(|o| (r.file.clone(), o))).collect()
}

/// Prints the results; returns (passed, failed).
pub fn print_results(
    pack: &RulePack,
    outcomes: &[(String, TestOutcome)],
    out: &mut dyn Write,
) -> std::io::Result<(usize, usize)> {
    let (mut passed, mut failed) = (0, 0);
    let mut untested = Vec::new();
    for rule in pack.rules() {
        if rule.tests.is_empty() {
            untested.push(rule.id.as_str());
        }
    }
    for (file, o) in outcomes {
        if o.passed() {
            passed += 1;
            writeln!(out, "ok      {} :: {}", o.rule_id, o.test)?;
            continue;
        }
        failed += 1;
        writeln!(out, "FAILED  {} :: {}  ({file})", o.rule_id, o.test)?;
        writeln!(out, "    expected {} alert(s), got {}", o.expected, o.alerts.len())?;
        for a in &o.alerts {
            writeln!(out, "    alert  {} {} — {}", a.time.to_rfc3339(), a.identity.name, a.summary)?;
        }
        for e in &o.decode_errors {
            writeln!(out, "    record does not decode: {e}")?;
        }
        let rule = pack.rules().iter().find(|r| r.id == o.rule_id);
        let records = rule.and_then(|r| r.tests.iter().find(|t| t.name == o.test)).map(|t| t.records.as_slice());
        for (i, r) in records.unwrap_or_default().iter().take(RECORDS_SHOWN).enumerate() {
            let text = r.to_string();
            let shown: String = text.chars().take(240).collect();
            writeln!(out, "    event {i}: {shown}{}", if shown.len() < text.len() { " …" } else { "" })?;
        }
    }
    for id in &untested {
        writeln!(out, "warning: rule {id} has no tests")?;
    }
    writeln!(out)?;
    let verdict = if failed == 0 { "ok" } else { "FAILED" };
    writeln!(out, "rule tests: {verdict}. {passed} passed, {failed} failed ({} rules)", pack.len())?;
    Ok((passed, failed))
}

/// Writes a JUnit XML report: one suite per rule, one case per embedded test.
pub fn write_junit(outcomes: &[(String, TestOutcome)], path: &Path) -> anyhow::Result<()> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new("nhiwatch rule tests");
    let mut suites: Vec<TestSuite> = Vec::new();
    for (file, o) in outcomes {
        if suites.last().is_none_or(|s| s.name.as_str() != o.rule_id) {
            suites.push(TestSuite::new(o.rule_id.clone()));
        }
        let status = if o.passed() {
            TestCaseStatus::success()
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(format!("expected {} alert(s), got {}", o.expected, o.alerts.len()));
            let mut detail: Vec<String> = o.alerts.iter().map(|a| format!("alert: {}", a.summary)).collect();
            detail.extend(o.decode_errors.iter().map(|e| format!("record does not decode: {e}")));
            s.set_description(format!("{file}\n{}", detail.join("\n")));
            s
        };
        if let Some(suite) = suites.last_mut() {
            suite.add_test_case(TestCase::new(o.test.clone(), status));
        }
    }
    report.add_test_suites(suites);
    let file = std::fs::File::create(path)?;
    report.serialize(std::io::BufWriter::new(file))?;
    Ok(())
}
