//! Broken rules fail at load with `file:line:col: reason`.

use nhiwatch_rules::{AttackTable, RulePack};

const TABLE: &str =
    "techniques:\n  - {id: T1136.003, name: \"Create Account: Cloud Account\", tactics: [Persistence]}\n";

fn load(text: &str) -> Result<RulePack, String> {
    let table = AttackTable::parse("attack.yml", TABLE).map_err(|e| e.to_string())?;
    RulePack::load(&[("rules/aws/x.yml".to_string(), text.to_string())], &table).map_err(|e| e.to_string())
}

const GOOD: &str = "id: x
title: t
description: d
severity: high
attack: [T1136.003]
kind: match
condition:
  all:
    - {field: action, equals: CreateUser}
    - {field: identity.nhi, equals: true}
";

#[test]
fn a_good_rule_loads_and_is_indexed_by_action() {
    let pack = load(GOOD).expect("loads");
    let mut out = Vec::new();
    pack.candidates(nhiwatch_core::SourceKind::CloudTrail, "CreateUser", &mut out);
    assert_eq!(out, [0]);
    pack.candidates(nhiwatch_core::SourceKind::CloudTrail, "ListUsers", &mut out);
    assert!(out.is_empty());
}

#[test]
fn rules_for_any_action_are_tried_only_on_the_sources_their_condition_allows() {
    use nhiwatch_core::SourceKind;
    let rule = |id: &str, condition: &str| {
        GOOD.replace("id: x", &format!("id: {id}")).replace(
            "  all:\n    - {field: action, equals: CreateUser}\n    - {field: identity.nhi, equals: true}\n",
            condition,
        )
    };
    let files: Vec<(String, String)> = [
        rule("gcp", "  all:\n    - {field: source, equals: gcp_audit}\n    - {field: outcome, equals: success}\n"),
        rule("any-source", "  {field: identity.nhi, equals: true}\n"),
        rule("k8s-or-gcp", "  any:\n    - {field: source, equals: K8S_AUDIT, case_insensitive: true}\n    - {field: source, in: [gcp_audit]}\n"),
        rule("not-gcp", "  not: {field: source, equals: gcp_audit}\n"),
        rule("gcp-or-anything", "  any:\n    - {field: source, equals: gcp_audit}\n    - {field: identity.nhi, equals: true}\n"),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, text)| (format!("rules/r{i}.yml"), text))
    .collect();
    let table = AttackTable::parse("attack.yml", TABLE).expect("table");
    let pack = RulePack::load(&files, &table).expect("loads");
    let mut out = Vec::new();
    let mut ids = |source| {
        pack.candidates(source, "AnyAction", &mut out);
        out.iter().map(|i| pack.rules()[*i].id.clone()).collect::<Vec<_>>()
    };
    assert_eq!(ids(SourceKind::CloudTrail), ["any-source", "not-gcp", "gcp-or-anything"]);
    assert_eq!(ids(SourceKind::GcpAudit), ["gcp", "any-source", "k8s-or-gcp", "not-gcp", "gcp-or-anything"]);
    assert_eq!(ids(SourceKind::K8sAudit), ["any-source", "k8s-or-gcp", "not-gcp", "gcp-or-anything"]);
    for (i, kind) in SourceKind::ALL.iter().enumerate() {
        assert_eq!(*kind as usize, i, "ALL is in declaration order");
    }
}

fn expect_error(text: &str, want: &str) {
    let err = load(text).expect_err("must fail");
    assert!(err.contains(want), "wanted '{want}' in: {err}");
    assert!(err.starts_with("rules/aws/x.yml:"), "{err}");
}

#[test]
fn unknown_fields_are_errors_with_their_position() {
    expect_error(&format!("{GOOD}treshold: 3\n"), "rules/aws/x.yml:11:1");
    expect_error(&GOOD.replace("equals: CreateUser", "equal: CreateUser"), "equal");
}

#[test]
fn semantic_errors_point_at_the_node() {
    expect_error(&GOOD.replace("equals: CreateUser", "regex: \"(\""), "invalid regex");
    expect_error(
        &GOOD.replace("{field: action, equals: CreateUser}", "{field: source_ip, cidr: 10.0.0.0/33}"),
        "invalid CIDR",
    );
    expect_error(&GOOD.replace("T1136.003", "T9999"), "not in the project's ATT&CK table");
    expect_error(&GOOD.replace("kind: match", "kind: sequence_of_things"), "unknown kind");
    expect_error(
        &GOOD.replace("{field: action, equals: CreateUser}", "{field: action, equals: CreateUser, prefix: C}"),
        "exactly one operator",
    );
    expect_error(&GOOD.replace("{field: action, equals: CreateUser}", "{equals: CreateUser}"), "needs a 'field'");
    expect_error(&format!("{GOOD}window: 10m\n"), "only valid with kind: threshold");
    expect_error(&GOOD.replace("kind: match", "kind: threshold"), "needs a 'threshold' block");
    expect_error(&format!("{GOOD}summary: \"{{identity.name\"\n"), "unclosed");
    let err = load(&GOOD.replace("{field: action, equals: CreateUser}", "{field: source_ip, cidr: 10.0.0.0/33}"))
        .expect_err("fails");
    assert!(err.contains(":9:"), "points at line 9: {err}");
}

#[test]
fn duplicate_ids_are_errors() {
    let table = AttackTable::parse("attack.yml", TABLE).expect("table");
    let files = vec![("a.yml".to_string(), GOOD.to_string()), ("b.yml".to_string(), GOOD.to_string())];
    let err = RulePack::load(&files, &table).expect_err("duplicate").to_string();
    assert!(err.contains("duplicate rule id 'x' (also in a.yml)"), "{err}");
}

#[test]
fn messages_are_one_line_without_repeated_positions() {
    let err = load(&format!("{GOOD}treshold: 3\n")).expect_err("fails");
    assert!(err.starts_with("rules/aws/x.yml:11:1: unknown field `treshold`"), "{err}");
    assert!(!err.contains("at line"), "{err}");
    let err = load(&GOOD.replace("equals: CreateUser", "regex: \"(\"")).expect_err("fails");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn baseline_kinds_validate_their_blocks() {
    let base = "id: x\ntitle: t\ndescription: d\nseverity: low\nattack: [T1136.003]\ncondition: {field: identity.nhi, equals: true}\n";
    expect_error(&format!("{base}kind: new_value\n"), "needs a 'new_value' block");
    expect_error(&format!("{base}kind: new_value\nnew_value: {{fields: []}}\n"), "at least one field");
    expect_error(&format!("{base}kind: dormant\nnew_value: {{fields: [action]}}\n"), "only valid with kind: new_value");
    expect_error(&format!("{base}kind: dormant\ndormant: {{after: soon}}\n"), "invalid duration");
    expect_error(&format!("{base}kind: spike\nspike: {{factor: 0.5}}\n"), "factor");
    expect_error(&format!("{base}kind: off_hours\noff_hours: {{threshold: 2}}\n"), "threshold");
    let seq = "kind: sequence\nwindow: 1h\nsequence:\n  steps:\n    - {name: a, condition: {field: action, equals: CreateUser}}\n    - {name: b, condition: {field: action, equals: CreateAccessKey}, match: {requestParameters.userName: user}}\n";
    expect_error(&format!("{base}{seq}"), "variable 'user' is not captured");
    let ok = "kind: sequence\nwindow: 1h\nsequence:\n  steps:\n    - {name: a, condition: {field: action, equals: CreateUser}, capture: {user: requestParameters.userName}}\n    - {name: b, condition: {field: action, equals: CreateAccessKey}, match: {requestParameters.userName: user}}\n";
    load(&format!("{base}{ok}")).expect("a valid sequence loads");
    expect_error(&format!("{base}kind: match\ngroup_by: [identity.id]\n"), "not valid with kind: match");
}
