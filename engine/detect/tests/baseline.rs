//! The baseline kinds on a simulated event clock: a learning period then an anomaly gives
//! exactly the expected alert; the same history without the anomaly gives none; forgetting,
//! the learning fallback, de-duplication and suppression.

use chrono::Duration;
use nhiwatch_core::geo::{GeoInfo, GeoResolver};
use nhiwatch_core::{Alert, EventTime, SourceOffset};
use nhiwatch_decode::decode_record;
use nhiwatch_detect::suppress::Suppression;
use nhiwatch_detect::{BusinessHours, Engine, EngineConfig};
use nhiwatch_rules::{AttackTable, RulePack};
use std::net::IpAddr;
use std::sync::Arc;

const TABLE: &str = "techniques:
  - {id: T1078.004, name: \"Valid Accounts: Cloud Accounts\", tactics: [Defense Evasion, Persistence, Privilege Escalation, Initial Access]}
";

/// A tiny GeoIP: 1.0.0.x in Frankfurt (DE), 2.0.0.x in New York (US), 3.0.0.x in Sydney (AU).
#[derive(Debug)]
struct TestGeo;

impl GeoResolver for TestGeo {
    fn resolve(&self, ip: IpAddr) -> Option<GeoInfo> {
        let IpAddr::V4(v4) = ip else { return None };
        let (country, asn, location) = match v4.octets()[0] {
            1 => ("DE", 3320, (50.11, 8.68)),
            2 => ("US", 7018, (40.71, -74.01)),
            3 => ("AU", 1221, (-33.87, 151.21)),
            _ => return None,
        };
        Some(GeoInfo {
            country: Some(country.into()),
            city: None,
            asn: Some(asn),
            as_org: None,
            location: Some(location),
        })
    }
}

fn rule(kind_block: &str) -> Arc<RulePack> {
    let text = format!(
        "id: r\ntitle: t\ndescription: d\nseverity: medium\nattack: [T1078.004]\ncondition: {{field: identity.nhi, equals: true}}\n{kind_block}"
    );
    let table = AttackTable::parse("attack.yml", TABLE).expect("table");
    Arc::new(RulePack::load(&[("r.yml".into(), text)], &table).unwrap_or_else(|e| panic!("{e}")))
}

fn t0() -> EventTime {
    "2026-03-02T09:00:00Z".parse().expect("time")
}

/// A call by the CI key at `t` from `ip`.
fn call(id: usize, t: EventTime, ip: &str, action: &str, extra: &str) -> String {
    format!(
        r#"{{"eventTime":"{}","eventSource":"s3.amazonaws.com","eventName":"{action}","eventID":"e{id}","recipientAccountId":"111111111111","sourceIPAddress":"{ip}","userAgent":"aws-cli/2.15","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111111111111:user/svc_ci","userName":"svc_ci","accessKeyId":"AKIAAAAAAAAAAAAAAAAA"}}{extra}}}"#,
        t.format("%Y-%m-%dT%H:%M:%SZ")
    )
}

fn run_with(pack: Arc<RulePack>, config: EngineConfig, records: &[String]) -> (Vec<Alert>, Engine) {
    let mut engine = Engine::new(pack, config);
    let mut alerts = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let offset = SourceOffset { file: Arc::from("t"), line: None, record: i as u64 };
        alerts.extend(engine.process(decode_record(r, offset).expect("decodes").event));
    }
    alerts.extend(engine.finish());
    (alerts, engine)
}

fn geo_config() -> EngineConfig {
    EngineConfig { geo: Some(Arc::new(TestGeo)), ..EngineConfig::default() }
}

/// Weekdays 09:00–17:00, every hour, for `days` days from t0, from Frankfurt.
fn office_history(days: i64) -> Vec<String> {
    let mut out = Vec::new();
    for d in 0..days {
        let day = t0() + Duration::days(d);
        if day.format("%a").to_string().starts_with('S') {
            continue;
        }
        for h in 0..8 {
            out.push(call(out.len(), day + Duration::hours(h), "1.0.0.7", "GetObject", ""));
        }
    }
    out
}

const NEW_COUNTRY: &str = "kind: new_value\nnew_value: {fields: [geo.country], learning: 14d, min_events: 20}\n";

#[test]
fn new_country_after_learning_alerts_once_with_its_baseline() {
    let mut records = office_history(21);
    let plain = run_with(rule(NEW_COUNTRY), geo_config(), &records).0;
    assert!(plain.is_empty(), "history alone: {plain:#?}");
    let when = t0() + Duration::days(21) + Duration::hours(1);
    records.push(call(9000, when, "3.0.0.9", "GetObject", ""));
    records.push(call(9001, when + Duration::minutes(5), "3.0.0.9", "GetObject", ""));
    let alerts = run_with(rule(NEW_COUNTRY), geo_config(), &records).0;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let baseline = &alerts[0].context["baseline"];
    assert_eq!(alerts[0].context["new_value"], "AU");
    assert_eq!(baseline["values"][0]["value"], "DE");
    assert_eq!(baseline["observed_since"], "2026-03-02T09:00:00Z");
}

#[test]
fn new_values_while_learning_do_not_alert_and_old_values_are_forgotten() {
    // Day 2 from the US is part of learning.
    let mut records = office_history(3);
    records.push(call(8000, t0() + Duration::days(2) + Duration::hours(3), "2.0.0.1", "GetObject", ""));
    assert!(run_with(rule(NEW_COUNTRY), geo_config(), &records).0.is_empty());
    // Forget: US last seen on day 2; back from the US 40 days later with a mature baseline.
    let mut records = office_history(45);
    records.insert(0, call(8000, t0() - Duration::hours(1), "2.0.0.1", "GetObject", ""));
    records.push(call(8001, t0() + Duration::days(45), "2.0.0.1", "GetObject", ""));
    let alerts = run_with(rule(NEW_COUNTRY), geo_config(), &records).0;
    assert_eq!(alerts.len(), 1, "US forgotten after 30 days: {alerts:#?}");
}

#[test]
fn a_restored_value_baseline_remembers_and_forgets_as_before() {
    // US seen before the history, forgotten by day 45; DE known throughout; AU new.
    let mut records = office_history(45);
    records.insert(0, call(8000, t0() - Duration::hours(1), "2.0.0.1", "GetObject", ""));
    let end = t0() + Duration::days(45);
    records.push(call(8001, end, "2.0.0.1", "GetObject", ""));
    records.push(call(8002, end + Duration::hours(1), "1.0.0.7", "GetObject", ""));
    records.push(call(8003, end + Duration::hours(2), "3.0.0.9", "GetObject", ""));
    let ids = |alerts: &[Alert]| alerts.iter().map(|a| a.id.0.clone()).collect::<Vec<_>>();
    let whole = run_with(rule(NEW_COUNTRY), geo_config(), &records).0;
    assert_eq!(whole.len(), 2, "the forgotten US and the new AU: {whole:#?}");
    for split in [1, records.len() / 2, records.len() - 3] {
        let (mut alerts, first) = run_with(rule(NEW_COUNTRY), geo_config(), &records[..split]);
        let json = serde_json::to_string(&first.snapshot()).expect("serialize");
        let snapshot = serde_json::from_str(&json).expect("deserialize");
        let mut second = Engine::restore(rule(NEW_COUNTRY), geo_config(), snapshot).expect("restore");
        for (i, r) in records[split..].iter().enumerate() {
            let offset = SourceOffset { file: Arc::from("t"), line: None, record: (split + i) as u64 };
            alerts.extend(second.process(decode_record(r, offset).expect("decodes").event));
        }
        alerts.extend(second.finish());
        assert_eq!(ids(&alerts), ids(&whole), "restored after {split} records");
    }
}

#[test]
fn off_hours_use_of_an_identity_alerts_with_its_usual_hours() {
    let block = "kind: off_hours\noff_hours: {threshold: 0.1, learning: 14d, min_events: 50}\n";
    let mut records = office_history(21);
    assert!(run_with(rule(block), EngineConfig::default(), &records).0.is_empty());
    // Saturday 02:47 UTC.
    records.push(call(9000, "2026-03-28T02:47:00Z".parse().expect("time"), "1.0.0.7", "ListUsers", ""));
    let alerts = run_with(rule(block), EngineConfig::default(), &records).0;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].context["baseline"]["usual_hours"], "Mon–Fri, 09–17 UTC");
    assert_eq!(alerts[0].context["hour"], "Sat 02:00 UTC");
}

#[test]
fn young_identities_fall_back_to_business_hours() {
    let block = "kind: off_hours\n";
    let records = vec![
        call(1, "2026-03-02T10:00:00Z".parse().expect("t"), "1.0.0.7", "ListUsers", ""),
        call(2, "2026-03-03T23:30:00Z".parse().expect("t"), "1.0.0.7", "ListUsers", ""),
    ];
    assert!(run_with(rule(block), EngineConfig::default(), &records).0.is_empty(), "no fallback configured");
    let config = EngineConfig {
        business_hours: Some(BusinessHours::parse("Mon-Fri 08-18", "+00:00").expect("valid")),
        ..EngineConfig::default()
    };
    let alerts = run_with(rule(block), config, &records).0;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].context["baseline"]["learning"], true);
}

#[test]
fn bulk_download_far_above_the_identity_history_alerts_once() {
    let block = "kind: spike\nspike: {sum: additionalEventData.bytesTransferredOut, bucket: 1h, percentile: 99, factor: 3, floor: 1000000, min_buckets: 24}\n";
    let bytes = |n: u64| format!(r#","eventCategory":"Data","additionalEventData":{{"bytesTransferredOut":{n}}}"#);
    let mut records = Vec::new();
    for h in 0..48 {
        records.push(call(h, t0() + Duration::hours(h as i64), "1.0.0.7", "GetObject", &bytes(200_000)));
    }
    assert!(run_with(rule(block), EngineConfig::default(), &records).0.is_empty());
    let base = t0() + Duration::hours(49);
    for i in 0..20 {
        records.push(call(100 + i, base + Duration::minutes(i as i64), "1.0.0.7", "GetObject", &bytes(50_000_000)));
    }
    let alerts = run_with(rule(block), EngineConfig::default(), &records).0;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let b = &alerts[0].context["baseline"];
    assert!(b["expected_up_to"].as_f64().expect("number") < 400_000.0, "{b}");
    assert_eq!(b["active_buckets"], 48);
}

#[test]
fn impossible_travel_needs_distance_and_speed() {
    let block = "kind: impossible_travel\n";
    let near_in_time = vec![
        call(1, t0(), "1.0.0.7", "GetObject", ""),
        call(2, t0() + Duration::minutes(30), "2.0.0.1", "GetObject", ""),
    ];
    let alerts = run_with(rule(block), geo_config(), &near_in_time).0;
    assert_eq!(alerts.len(), 1, "Frankfurt to New York in 30 minutes");
    assert_eq!(alerts[0].context["travel"]["distance_km"], 6203.0);
    let plausible =
        vec![call(1, t0(), "1.0.0.7", "GetObject", ""), call(2, t0() + Duration::hours(9), "2.0.0.1", "GetObject", "")];
    assert!(run_with(rule(block), geo_config(), &plausible).0.is_empty(), "a flight's worth of time");
    assert!(run_with(rule(block), EngineConfig::default(), &near_in_time).0.is_empty(), "no GeoIP, no travel");
}

#[test]
fn dormant_identity_reactivated() {
    let block = "kind: dormant\ndormant: {after: 30d}\n";
    let records = vec![
        call(1, t0(), "1.0.0.7", "GetObject", ""),
        call(2, t0() + Duration::days(10), "1.0.0.7", "GetObject", ""),
        call(3, t0() + Duration::days(45), "1.0.0.7", "GetObject", ""),
    ];
    let alerts = run_with(rule(block), EngineConfig::default(), &records).0;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].evidence[0].event_id(), "e3");
    assert_eq!(alerts[0].context["baseline"]["dormant_days"], 35.0);
}

const BACKDOOR: &str = "kind: sequence
window: 1h
sequence:
  steps:
    - {name: user created, condition: {field: action, equals: CreateUser}, capture: {user: requestParameters.userName}}
    - {name: policy attached, condition: {field: action, in: [AttachUserPolicy, PutUserPolicy]}, match: {requestParameters.userName: user}}
    - {name: key created, condition: {field: action, equals: CreateAccessKey}, match: {requestParameters.userName: user}}
";

fn iam(id: usize, minutes: i64, action: &str, user: &str) -> String {
    call(
        id,
        t0() + Duration::minutes(minutes),
        "1.0.0.7",
        action,
        &format!(r#","requestParameters":{{"userName":"{user}"}}"#),
    )
}

fn evidence_ids(alert: &Alert) -> Vec<&str> {
    alert.evidence.iter().map(|e| e.event_id()).collect()
}

#[test]
fn sequence_carries_values_between_steps() {
    let chain = vec![
        iam(1, 0, "CreateUser", "backup-admin"),
        iam(2, 1, "CreateUser", "decoy"),
        iam(3, 2, "AttachUserPolicy", "backup-admin"),
        iam(4, 3, "CreateAccessKey", "decoy"),
        iam(5, 4, "CreateAccessKey", "backup-admin"),
    ];
    let alerts = run_with(rule(BACKDOOR), EngineConfig::default(), &chain).0;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].context["values"]["user"], "backup-admin");
    assert_eq!(evidence_ids(&alerts[0]), ["e1", "e3", "e5"]);
    // Too slow: the key comes after the window.
    let slow =
        vec![iam(1, 0, "CreateUser", "u"), iam(2, 5, "AttachUserPolicy", "u"), iam(3, 90, "CreateAccessKey", "u")];
    assert!(run_with(rule(BACKDOOR), EngineConfig::default(), &slow).0.is_empty());
}

#[test]
fn a_full_sequence_group_makes_way_for_new_runs() {
    // 18 users created: the group holds the 16 newest runs, the two oldest made way.
    // The newest, u17, takes over the buffers of a run that made way.
    let mut chain: Vec<String> = (0..18).map(|i| iam(i, i as i64, "CreateUser", &format!("u{i}"))).collect();
    chain.extend([
        iam(100, 20, "AttachUserPolicy", "u17"),
        iam(101, 21, "CreateAccessKey", "u17"),
        iam(102, 22, "AttachUserPolicy", "u1"),
        iam(103, 23, "CreateAccessKey", "u1"),
    ]);
    let alerts = run_with(rule(BACKDOOR), EngineConfig::default(), &chain).0;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].context["values"]["user"], "u17");
    assert_eq!(evidence_ids(&alerts[0]), ["e17", "e100", "e101"]);
}

#[test]
fn dedup_and_configured_suppression_are_counted() {
    let block = "kind: impossible_travel\ndedup: {window: 6h}\n";
    let hops = vec![
        call(1, t0(), "1.0.0.7", "GetObject", ""),
        call(2, t0() + Duration::minutes(10), "2.0.0.1", "GetObject", ""),
        call(3, t0() + Duration::minutes(20), "3.0.0.1", "GetObject", ""),
    ];
    let (alerts, engine) = run_with(rule(block), geo_config(), &hops);
    assert_eq!(alerts.len(), 1);
    assert_eq!(engine.stats().suppressed_total(), 1);
    let mut config = geo_config();
    config.suppressions =
        vec![Suppression::new("r", "arn:aws:iam::*:user/svc_ci", None, "VPN egress in three regions").expect("glob")];
    let (alerts, engine) = run_with(rule(block), config, &hops);
    assert!(alerts.is_empty());
    assert_eq!(engine.stats().config_suppressed_total(), 2, "both findings are silenced");
    // Expired suppressions no longer apply.
    let mut config = geo_config();
    config.suppressions = vec![Suppression::new("r", "*", Some(t0()), "expired").expect("glob")];
    assert_eq!(run_with(rule(block), config, &hops).0.len(), 1);
}

#[test]
fn state_is_bounded_and_evictions_are_counted() {
    let config = EngineConfig { max_groups: 10, ..EngineConfig::default() };
    let records: Vec<String> = (0..50)
        .map(|i| {
            format!(
                r#"{{"eventTime":"2026-03-02T09:{:02}:00Z","eventName":"GetObject","eventID":"x{i}","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::1:user/svc_{i}","userName":"svc_{i}","accessKeyId":"AKIAAAAAAAAAAAAAAAAA"}}}}"#,
                i % 60
            )
        })
        .collect();
    let (_, engine) = run_with(rule("kind: dormant\n"), config, &records);
    assert_eq!(engine.groups_tracked(), 10);
    assert_eq!(engine.stats().state_evictions_total, 40);
}
