//! The default rule pack: it loads, every rule has passing true-positive and true-negative
//! tests, and every ATT&CK id, name and tactic matches MITRE's enterprise tables.

use nhiwatch_detect::EngineConfig;
use nhiwatch_detect::testing::run_rule_tests;
use nhiwatch_tests::{attack_dir, attack_table, load_pack, test_geo};
use std::collections::BTreeMap;

#[test]
fn pack_loads_and_every_embedded_test_passes() {
    let pack = load_pack().unwrap_or_else(|e| panic!("rule pack failed to load:\n{e}"));
    let mut failures = Vec::new();
    // Rule tests run with the test GeoIP database, so geolocated baselines can be tested.
    let config = EngineConfig { geo: Some(test_geo()), ..EngineConfig::default() };
    for rule in pack.rules() {
        let positives = rule.tests.iter().filter(|t| t.expect > 0).count();
        let negatives = rule.tests.iter().filter(|t| t.expect == 0).count();
        if positives == 0 || negatives == 0 {
            failures.push(format!("{}: needs a true-positive and a true-negative test", rule.id));
        }
        for outcome in run_rule_tests(rule, &config) {
            if !outcome.passed() {
                failures.push(format!(
                    "{} / {}: expected {} alerts, got {} {:?}",
                    outcome.rule_id,
                    outcome.test,
                    outcome.expected,
                    outcome.alerts.len(),
                    outcome.decode_errors
                ));
            }
        }
    }
    assert!(failures.is_empty(), "rule test failures:\n{}", failures.join("\n"));
    assert!(pack.len() >= 12, "the default pack has {} rules", pack.len());
}

fn read_csv(name: &str) -> Vec<Vec<String>> {
    let path = attack_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().skip(1).map(split_csv_line).collect()
}

/// Splits one CSV line, honouring double-quoted fields.
fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

#[test]
fn attack_table_matches_mitre() {
    let techniques: BTreeMap<String, (String, Vec<String>)> = read_csv("enterprise-techniques.csv")
        .into_iter()
        .map(|r| (r[0].clone(), (r[2].clone(), r[4].split(';').map(str::to_string).collect())))
        .collect();
    let tactics: Vec<String> = read_csv("enterprise-tactics.csv").into_iter().map(|r| r[1].clone()).collect();
    let table = attack_table();
    let mut problems = Vec::new();
    for t in table.iter() {
        match techniques.get(&t.technique_id) {
            None => problems.push(format!("{} is not an ATT&CK enterprise technique", t.technique_id)),
            Some((name, mitre_tactics)) => {
                if &t.technique != name {
                    problems.push(format!("{}: name '{}' should be '{}'", t.technique_id, t.technique, name));
                }
                if &t.tactics != mitre_tactics {
                    problems.push(format!("{}: tactics {:?} should be {:?}", t.technique_id, t.tactics, mitre_tactics));
                }
            }
        }
        for tactic in &t.tactics {
            if !tactics.contains(tactic) {
                problems.push(format!("{}: unknown tactic '{tactic}'", t.technique_id));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let pack = load_pack().unwrap_or_else(|e| panic!("{e}"));
    for rule in pack.rules() {
        for a in rule.attack.iter() {
            assert!(techniques.contains_key(&a.technique_id), "{}: {}", rule.id, a.technique_id);
        }
    }
}
