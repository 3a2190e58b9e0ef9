//! Engine behaviour on a simulated event clock: ordering within the lateness, late events,
//! threshold windows (with and without a start event) and de-duplication.

use nhiwatch_core::{Alert, SourceOffset};
use nhiwatch_decode::decode_record;
use nhiwatch_detect::{Engine, EngineConfig};
use nhiwatch_rules::{AttackTable, RulePack};
use std::sync::Arc;

const TABLE: &str = "techniques:
  - {id: T1087.004, name: \"Account Discovery: Cloud Account\", tactics: [Discovery]}
  - {id: T1136.003, name: \"Create Account: Cloud Account\", tactics: [Persistence]}
";

fn pack(rule: &str) -> Arc<RulePack> {
    let table = AttackTable::parse("attack.yml", TABLE).expect("table");
    Arc::new(RulePack::load(&[("r.yml".into(), rule.into())], &table).expect("rule loads"))
}

const CREATE_USER: &str = "id: create-user
title: user created
description: d
severity: high
attack: [T1136.003]
kind: match
condition: {field: action, equals: CreateUser}
summary: \"{identity.name} created {requestParameters.userName}\"
";

const BURST: &str = "id: burst
title: discovery burst
description: d
severity: medium
attack: [T1087.004]
kind: threshold
condition: {field: action, prefix: [List, Describe]}
group_by: [identity.id]
window: 10m
threshold: {count: 3, distinct: action, after: {field: action, equals: GetCallerIdentity}}
";

fn record(id: &str, action: &str, minute: u32, second: u32) -> String {
    format!(
        r#"{{"eventTime":"2026-03-14T02:{minute:02}:{second:02}Z","eventName":"{action}","eventID":"{id}","recipientAccountId":"111111111111","requestParameters":{{"userName":"backup-admin"}},"userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111111111111:user/svc_ci","userName":"svc_ci","accessKeyId":"AKIAAAAAAAAAAAAAAAAA"}}}}"#
    )
}

fn run(pack: Arc<RulePack>, records: &[String]) -> (Vec<Alert>, Engine) {
    let mut engine = Engine::new(pack, EngineConfig::default());
    let mut alerts = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let offset = SourceOffset { file: Arc::from("t"), line: None, record: i as u64 };
        let event = decode_record(r, offset).expect("test record decodes").event;
        alerts.extend(engine.process(event));
    }
    alerts.extend(engine.finish());
    (alerts, engine)
}

#[test]
fn match_alerts_carry_identity_attack_and_summary() {
    let (alerts, _) = run(pack(CREATE_USER), &[record("e1", "CreateUser", 0, 0)]);
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(a.summary, "svc_ci created backup-admin");
    assert!(a.identity.nhi);
    assert!(a.identity.nhi_reason.contains("svc_*"), "{}", a.identity.nhi_reason);
    assert_eq!(a.attack[0].technique, "Create Account: Cloud Account");
    assert_eq!(a.context["matched"]["action"], "CreateUser");
}

#[test]
fn repeats_within_the_dedup_window_are_suppressed_and_counted() {
    let records: Vec<String> = (0..5).map(|i| record(&format!("e{i}"), "CreateUser", i * 10, 0)).collect();
    let (alerts, engine) = run(pack(CREATE_USER), &records);
    assert_eq!(alerts.len(), 1);
    assert_eq!(engine.stats().suppressed_total(), 4);
    let no_dedup = format!("{CREATE_USER}dedup: {{window: 0s}}\n");
    let (alerts, _) = run(pack(&no_dedup), &records);
    assert_eq!(alerts.len(), 5);
}

#[test]
fn threshold_counts_distinct_actions_only_after_the_start_event() {
    let discovery = ["ListUsers", "ListRoles", "DescribeInstances"];
    // Without GetCallerIdentity first: nothing.
    let before: Vec<String> =
        discovery.iter().enumerate().map(|(i, a)| record(&format!("d{i}"), a, 1, i as u32)).collect();
    assert!(run(pack(BURST), &before).0.is_empty());
    // After it, three distinct calls within the window: one alert citing the start event.
    let mut after = vec![record("gci", "GetCallerIdentity", 0, 0)];
    after.extend(before.iter().cloned());
    after.push(record("again", "ListUsers", 2, 0));
    let (alerts, _) = run(pack(BURST), &after);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].evidence[0].event_id(), "gci");
    assert_eq!(alerts[0].context["observed"], 3);
    // The same calls after the window closed: nothing.
    let late: Vec<String> = std::iter::once(record("gci", "GetCallerIdentity", 0, 0))
        .chain(discovery.iter().enumerate().map(|(i, a)| record(&format!("l{i}"), a, 30, i as u32)))
        .collect();
    assert!(run(pack(BURST), &late).0.is_empty());
}

#[test]
fn order_within_the_lateness_does_not_matter() {
    let mut records = vec![record("gci", "GetCallerIdentity", 0, 0)];
    for (i, a) in ["ListUsers", "ListRoles", "DescribeInstances", "ListBuckets"].iter().enumerate() {
        records.push(record(&format!("d{i}"), a, 1 + i as u32, 0));
    }
    let (sorted, _) = run(pack(BURST), &records);
    records.reverse();
    let (reversed, engine) = run(pack(BURST), &records);
    assert_eq!(engine.stats().late_events_total, 0);
    let ids = |v: &[Alert]| v.iter().map(|a| a.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&sorted), ids(&reversed));
    assert_eq!(sorted.len(), 1);
}

#[test]
fn late_events_are_counted_and_still_evaluated() {
    let records = vec![record("new", "ListUsers", 59, 0), record("old", "CreateUser", 0, 0)];
    let (alerts, engine) = run(pack(CREATE_USER), &records);
    assert_eq!(engine.stats().late_events_total, 1);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].evidence[0].event_id(), "old");
}

#[test]
fn batches_do_not_change_alerts() {
    let records: Vec<String> = (0..40).map(|i| record(&format!("e{i}"), "CreateUser", i, 0)).collect();
    let rule = format!("{CREATE_USER}dedup: {{window: 5m}}\n");
    let (one, _) = run(pack(&rule), &records);
    // Many batches: the engine is fed the same events with watermark advances in between.
    let mut engine = Engine::new(pack(&rule), EngineConfig::default());
    let mut many = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let offset = SourceOffset { file: Arc::from("t"), line: None, record: i as u64 };
        many.extend(engine.process(decode_record(r, offset).expect("decodes").event));
        if i % 7 == 0
            && let Some(wm) = engine.watermark()
        {
            many.extend(engine.advance_watermark(wm));
        }
    }
    many.extend(engine.finish());
    assert_eq!(one.iter().map(|a| &a.id).collect::<Vec<_>>(), many.iter().map(|a| &a.id).collect::<Vec<_>>());
    assert_eq!(one.len(), 8);
}

#[test]
fn short_lived_state_expires_with_event_time() {
    let rule = "id: seq
title: t
description: d
severity: low
attack: [T1087.004]
kind: sequence
condition: {field: source_ip, exists: true}
group_by: [source_ip]
window: 10m
sequence:
  steps:
    - {name: a, condition: {field: action, equals: ListUsers}}
    - {name: b, condition: {field: action, equals: CreateUser}}
";
    let mut engine = Engine::new(pack(rule), EngineConfig::default());
    for i in 0..6000u32 {
        // One call a second, each from a new address, over 100 minutes.
        let t = chrono::DateTime::from_timestamp(1_773_000_000 + i64::from(i), 0).unwrap_or_default();
        let text = format!(
            r#"{{"eventTime":"{}","eventName":"ListUsers","eventID":"x{i}","sourceIPAddress":"52.{}.{}.{}","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::1:user/u","userName":"u"}}}}"#,
            t.format("%Y-%m-%dT%H:%M:%SZ"),
            i / 65536,
            (i / 256) % 256,
            i % 256
        );
        let offset = SourceOffset { file: Arc::from("t"), line: None, record: u64::from(i) };
        engine.process(decode_record(&text, offset).expect("decodes").event);
    }
    // Ten minutes of addresses (plus the lateness buffer and a sweep's slack) stay, not 6000.
    assert!(engine.groups_tracked() < 2000, "{} groups held", engine.groups_tracked());
}

#[test]
fn each_grouping_of_one_event_gets_its_own_key() {
    // Three windows on the same calls: by bucket (absent from some calls), by identity, and
    // by identity and bucket together. A call without a bucket counts only for the identity.
    let window = |id: &str, group_by: &str| {
        format!(
            "id: {id}
title: t
description: d
severity: low
attack: [T1087.004]
kind: threshold
condition: {{field: action, prefix: [List]}}
group_by: [{group_by}]
window: 10m
threshold: {{count: 2}}
dedup: {{window: 0s}}
"
        )
    };
    let files: Vec<(String, String)> = [
        ("by-bucket", "requestParameters.bucketName"),
        ("by-identity", "identity.id"),
        ("by-both", "identity.id, requestParameters.bucketName"),
    ]
    .iter()
    .map(|(id, g)| (format!("{id}.yml"), window(id, g)))
    .collect();
    let table = AttackTable::parse("attack.yml", TABLE).expect("table");
    let pack = Arc::new(RulePack::load(&files, &table).expect("rules load"));
    let call = |id: &str, second: u32, bucket: Option<&str>| {
        let params = bucket.map(|b| format!(r#","requestParameters":{{"bucketName":"{b}"}}"#)).unwrap_or_default();
        format!(
            r#"{{"eventTime":"2026-03-14T02:00:{second:02}Z","eventName":"ListObjects","eventID":"{id}","sourceIPAddress":"52.94.1.1"{params},"userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111111111111:user/svc_ci","userName":"svc_ci"}}}}"#
        )
    };
    let records =
        [call("a", 0, None), call("b", 1, Some("logs")), call("c", 2, Some("data")), call("d", 3, Some("logs"))];
    let (alerts, _) = run(pack, &records);
    let fired: Vec<(&str, Vec<&str>)> =
        alerts.iter().map(|a| (a.rule_id.as_str(), a.evidence.iter().map(|e| e.event_id()).collect())).collect();
    assert_eq!(
        fired,
        vec![
            ("by-identity", vec!["a", "b"]),
            ("by-bucket", vec!["b", "d"]),
            ("by-identity", vec!["c", "d"]),
            ("by-both", vec!["b", "d"])
        ]
    );
}
