//! Snapshot and restore: an engine stopped at any point and restored from its snapshot (via
//! JSON) gives the same alerts as one uninterrupted run; bad snapshots are clear errors.

use chrono::Duration;
use nhiwatch_core::{Alert, EventTime, SourceOffset};
use nhiwatch_decode::decode_record;
use nhiwatch_detect::snapshot::{SNAPSHOT_VERSION, Snapshot};
use nhiwatch_detect::{Engine, EngineConfig};
use nhiwatch_rules::{AttackTable, RulePack};
use std::sync::Arc;

const TABLE: &str = "techniques:
  - {id: T1078.004, name: \"Valid Accounts: Cloud Accounts\", tactics: [Defense Evasion, Persistence, Privilege Escalation, Initial Access]}
";

fn rules() -> Vec<(String, String)> {
    let head = |id: &str| format!("id: {id}\ntitle: t\ndescription: d\nseverity: low\nattack: [T1078.004]\n");
    vec![
        (
            "a.yml".into(),
            format!(
                "{}kind: new_value\ncondition: {{field: identity.nhi, equals: true}}\nnew_value: {{fields: [action], learning: 3d, min_events: 10}}\n",
                head("new-action")
            ),
        ),
        (
            "b.yml".into(),
            format!(
                "{}kind: off_hours\ncondition: {{field: identity.nhi, equals: true}}\noff_hours: {{learning: 5d, min_events: 20}}\n",
                head("off-hours")
            ),
        ),
        (
            "c.yml".into(),
            format!(
                "{}kind: dormant\ncondition: {{field: identity.nhi, equals: true}}\ndormant: {{after: 4d}}\n",
                head("dormant")
            ),
        ),
        (
            "d.yml".into(),
            format!(
                "{}kind: threshold\ncondition: {{field: action, prefix: List}}\ngroup_by: [identity.id]\nwindow: 1d\nthreshold: {{count: 4}}\n",
                head("lists")
            ),
        ),
        // De-duplicated by identity (kept with the identity) and by identity and action.
        (
            "e.yml".into(),
            format!(
                "{}kind: match\ncondition: {{field: action, equals: ListBuckets}}\ndedup: {{window: 2d}}\n",
                head("bucket-lists")
            ),
        ),
        (
            "f.yml".into(),
            format!(
                "{}kind: match\ncondition: {{field: action, prefix: [List, Delete]}}\ndedup: {{window: 2d, by: [action]}}\n",
                head("lists-and-deletes")
            ),
        ),
        // A baseline of a group other than the identity (kept apart from the identities).
        (
            "g.yml".into(),
            format!(
                "{}kind: new_value\ncondition: {{field: identity.nhi, equals: true}}\ngroup_by: [identity.account]\nnew_value: {{fields: [identity.name, action], learning: 3d, min_events: 10}}\n",
                head("new-action-in-account")
            ),
        ),
    ]
}

fn pack(files: &[(String, String)]) -> Arc<RulePack> {
    let table = AttackTable::parse("attack.yml", TABLE).expect("table");
    Arc::new(RulePack::load(files, &table).unwrap_or_else(|e| panic!("{e}")))
}

fn history() -> Vec<String> {
    let t0: EventTime = "2026-03-02T08:00:00Z".parse().expect("time");
    let mut out = Vec::new();
    let actions = ["GetObject", "PutObject", "ListBuckets", "ListObjects", "DescribeInstances"];
    for i in 0..600i64 {
        // Three identities, working hours; svc_c pauses for a week in the middle.
        let who = ["svc_a", "svc_b", "svc_c"][(i % 3) as usize];
        if who == "svc_c" && (250..420).contains(&i) {
            continue;
        }
        // Thirty calls a day between 08:00 and 17:00.
        let t = t0 + Duration::days(i / 30) + Duration::minutes(i % 30 * 18);
        let action = if i % 97 == 0 { "DeleteBucket" } else { actions[(i % 5) as usize] };
        out.push(format!(
            r#"{{"eventTime":"{}","eventName":"{action}","eventID":"e{i:04}","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::1:user/{who}","userName":"{who}","accountId":"111111111111","accessKeyId":"AKIAAAAAAAAAAAAAAAAA"}}}}"#,
            t.format("%Y-%m-%dT%H:%M:%SZ")
        ));
    }
    // One call at night after the baselines are mature.
    out.push(
        r#"{"eventTime":"2026-03-21T03:00:00Z","eventName":"GetObject","eventID":"night","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/svc_a","userName":"svc_a","accessKeyId":"AKIAAAAAAAAAAAAAAAAA"}}"#
            .to_string(),
    );
    out.sort_by(|a, b| a[14..34].cmp(&b[14..34]));
    out
}

fn feed(engine: &mut Engine, records: &[String], from: usize) -> Vec<Alert> {
    let mut alerts = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let offset = SourceOffset { file: Arc::from("h"), line: None, record: (from + i) as u64 };
        alerts.extend(engine.process(decode_record(r, offset).expect("decodes").event));
    }
    alerts
}

fn ids(alerts: &[Alert]) -> Vec<String> {
    alerts.iter().map(|a| format!("{} {} {}", a.id.0, a.rule_id, a.time)).collect()
}

#[test]
fn a_restored_engine_continues_exactly() {
    let records = history();
    let mut one = Engine::new(pack(&rules()), EngineConfig::default());
    let mut whole = feed(&mut one, &records, 0);
    whole.extend(one.finish());
    assert!(whole.len() >= 4, "the history has something to find: {}", whole.len());
    let kinds: std::collections::BTreeSet<&str> = whole.iter().map(|a| a.rule_id.as_str()).collect();
    assert_eq!(kinds.len(), 7, "every rule fires: {kinds:?}");
    let deduplicated = |rule: &str| whole.iter().filter(|a| a.rule_id == rule).count();
    // 20 days, three identities: an alert every other day at most, not one per call.
    assert!((3..=33).contains(&deduplicated("bucket-lists")), "{}", deduplicated("bucket-lists"));
    assert!((6..=66).contains(&deduplicated("lists-and-deletes")), "{}", deduplicated("lists-and-deletes"));
    for split in [1, 77, 250, 421, records.len() - 1] {
        let mut first = Engine::new(pack(&rules()), EngineConfig::default());
        let mut alerts = feed(&mut first, &records[..split], 0);
        let snapshot = first.snapshot();
        // Baselines held with their identity are written like any other group (once the
        // first events have left the reorder buffer).
        let keys: Vec<&str> = snapshot.groups.iter().map(|(k, _)| k.as_str()).collect();
        if split > 1 {
            assert!(keys.iter().any(|k| k.ends_with("\u{1f}arn:aws:iam::1:user/svc_a")), "split {split}: {keys:?}");
            assert!(keys.iter().any(|k| k.ends_with("\u{1f}111111111111")), "split at {split}: {keys:?}");
        }
        let json = serde_json::to_string(&snapshot).expect("serialize");
        let snapshot: Snapshot = serde_json::from_str(&json).expect("deserialize");
        let mut second = Engine::restore(pack(&rules()), EngineConfig::default(), snapshot).expect("restore");
        alerts.extend(feed(&mut second, &records[split..], split));
        alerts.extend(second.finish());
        assert_eq!(ids(&alerts), ids(&whole), "split at {split}");
    }
}

#[test]
fn changed_packs_keep_the_state_of_unchanged_rules() {
    let records = history();
    let mut first = Engine::new(pack(&rules()), EngineConfig::default());
    feed(&mut first, &records[..300], 0);
    let snapshot = first.snapshot();
    // Drop two rules and reorder: the dormant rule keeps its memory of svc_c.
    let mut files = rules();
    files.remove(0);
    files.remove(0);
    files.reverse();
    let mut second = Engine::restore(pack(&files), EngineConfig::default(), snapshot).expect("restore");
    let mut alerts = feed(&mut second, &records[300..], 300);
    alerts.extend(second.finish());
    assert!(alerts.iter().any(|a| a.rule_id == "dormant"), "{:?}", ids(&alerts));
}

#[test]
fn incompatible_snapshots_are_errors() {
    let engine = Engine::new(pack(&rules()), EngineConfig::default());
    let mut s = engine.snapshot();
    s.version = SNAPSHOT_VERSION + 1;
    let err = Engine::restore(pack(&rules()), EngineConfig::default(), s).expect_err("newer version");
    assert!(err.to_string().contains("not supported"), "{err}");
    let mut s = engine.snapshot();
    s.format = "something-else".into();
    assert!(Engine::restore(pack(&rules()), EngineConfig::default(), s).is_err());
}
