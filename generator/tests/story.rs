//! The story organisation: determinism, counts and mix, planted attacks where they are said to
//! be, and normal life that never looks like them.

use chrono::{DateTime, Datelike, Timelike, Utc};
use nhiwatch_generator::story::{EXTERNAL_ACCOUNT, STORY_ACCOUNTS};
use nhiwatch_generator::{PlantedAttack, StorySpec, org_story};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;

fn text<'a>(record: &'a Value, pointer: &str) -> &'a str {
    record.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

/// The identity as the engine keys it: the role for sessions, the user ARN for IAM users.
fn identity_key(record: &Value) -> &str {
    let issuer = text(record, "/userIdentity/sessionContext/sessionIssuer/arn");
    if issuer.is_empty() { text(record, "/userIdentity/arn") } else { issuer }
}

fn time_of(record: &Value) -> DateTime<Utc> {
    let text = text(record, "/eventTime");
    DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("eventTime {text}: {e}")).to_utc()
}

fn bytes_out(record: &Value) -> i64 {
    record.pointer("/additionalEventData/bytesTransferredOut").and_then(Value::as_i64).unwrap_or(0)
}

/// What one streaming pass over the default story found (the records themselves are too many
/// to keep: about 200,000).
#[derive(Debug, Default)]
struct Summary {
    records: usize,
    sorted: bool,
    first: String,
    last: String,
    /// Records per identity key.
    identities: BTreeMap<String, usize>,
    duplicate_ids: usize,
    /// Planted records by attack name, in stream order.
    planted: BTreeMap<String, Vec<Value>>,
    /// Normal-life records that break a rule of normal life.
    violations: Vec<String>,
    /// Per identity: the hour (Unix hours) with the most normal GetObject bytes, and the bytes.
    busiest_hour: HashMap<String, (i64, i64)>,
    /// Normal records of each identity: last event time.
    last_normal: HashMap<String, DateTime<Utc>>,
    /// Event names of the provisioning bot.
    provisioner_calls: BTreeSet<String>,
}

fn default_story() -> &'static (Summary, Vec<PlantedAttack>) {
    static STORY: OnceLock<(Summary, Vec<PlantedAttack>)> = OnceLock::new();
    STORY.get_or_init(|| {
        let (records, planted) = org_story(&StorySpec::default());
        let by_id: HashMap<String, String> =
            planted.iter().flat_map(|a| a.event_ids.iter().map(|id| (id.clone(), a.name.clone()))).collect();
        let mut summary = Summary { sorted: true, ..Summary::default() };
        let mut ids = HashSet::new();
        let mut hourly: HashMap<(String, i64), i64> = HashMap::new();
        for record in records {
            summary.records += 1;
            let time = text(&record, "/eventTime").to_owned();
            if time < summary.last {
                summary.sorted = false;
            }
            if summary.first.is_empty() {
                summary.first.clone_from(&time);
            }
            summary.last.clone_from(&time);
            let key = identity_key(&record).to_owned();
            *summary.identities.entry(key.clone()).or_default() += 1;
            if !ids.insert(text(&record, "/eventID").to_owned()) {
                summary.duplicate_ids += 1;
            }
            if let Some(name) = by_id.get(text(&record, "/eventID")) {
                summary.planted.entry(name.clone()).or_default().push(record);
                continue;
            }
            if let Some(problem) = abnormal(&record)
                && summary.violations.len() < 20
            {
                summary.violations.push(format!("{problem}: {record}"));
            }
            if text(&record, "/eventName") == "GetObject" {
                *hourly.entry((key.clone(), time_of(&record).timestamp() / 3600)).or_default() += bytes_out(&record);
            }
            if key.ends_with(":role/provisioner") {
                summary.provisioner_calls.insert(text(&record, "/eventName").to_owned());
            }
            summary.last_normal.insert(key, time_of(&record));
        }
        for ((key, hour), bytes) in hourly {
            let busiest = summary.busiest_hour.entry(key).or_insert((hour, 0));
            if bytes > busiest.1 {
                *busiest = (hour, bytes);
            }
        }
        (summary, planted)
    })
}

/// Why a normal-life record would look like an attack, if it does.
fn abnormal(record: &Value) -> Option<&'static str> {
    let ip = text(record, "/sourceIPAddress");
    if ip.starts_with("185.220.101.") || ip.starts_with("5.0.0.") {
        return Some("attacker network");
    }
    let key = identity_key(record);
    let name = text(record, "/eventName");
    if name == "ModifySnapshotAttribute"
        && !STORY_ACCOUNTS.contains(&text(record, "/requestParameters/createVolumePermission/add/items/0/userId"))
    {
        return Some("snapshot shared outside the organisation");
    }
    if ["CreateUser", "CreateLoginProfile", "AddUserToGroup"].contains(&name) && !key.ends_with(":role/provisioner") {
        return Some("user created by someone else than the provisioning bot");
    }
    if ["CreateAccessKey", "AttachUserPolicy"].contains(&name) {
        return Some("user empowered");
    }
    let third: u32 = ip.split('.').nth(2).and_then(|o| o.parse().ok()).unwrap_or(0);
    let runner = ip.starts_with("140.82.") && (112..128).contains(&third);
    if key.contains(":user/svc_ci_") {
        let time = time_of(record);
        if !runner || time.weekday().num_days_from_monday() >= 5 || !(7..22).contains(&time.hour()) {
            return Some("CI key off its runners, days or hours");
        }
    }
    if key.contains("AWSReservedSSO_") && !(ip.starts_with("1.0.0.") || ip.starts_with("2.0.0.")) {
        return Some("person outside the offices");
    }
    None
}

#[test]
fn story_is_deterministic_per_seed() {
    let spec = StorySpec { identities: 40, days: 24, ..StorySpec::default() };
    let (a, planted_a) = org_story(&spec);
    let (b, planted_b) = org_story(&spec);
    let a: Vec<Value> = a.collect();
    assert_eq!(a, b.collect::<Vec<Value>>());
    assert_eq!(planted_a, planted_b);
    let (c, planted_c) = org_story(&StorySpec { seed: 2, ..spec });
    assert_ne!(a, c.collect::<Vec<Value>>());
    assert_ne!(planted_a, planted_c);
}

#[test]
fn story_has_the_requested_identities_and_mix() {
    let (summary, _) = default_story();
    assert!((200_000..=260_000).contains(&summary.records), "{} records", summary.records);
    assert!(summary.sorted, "records are not in event-time order");
    assert_eq!(summary.duplicate_ids, 0);
    assert!(summary.first.as_str() >= "2026-02-02T00:00:00Z", "{}", summary.first);
    assert!(summary.last.as_str() < "2026-03-04T00:00:00Z", "{}", summary.last);
    assert_eq!(summary.identities.len(), 300);
    let people = summary.identities.keys().filter(|k| k.contains("AWSReservedSSO_")).count();
    assert!((85..=95).contains(&people), "{people} people");
    let count = |part: &str| summary.identities.keys().filter(|k| k.contains(part)).count();
    assert_eq!(count(":user/svc_ci_"), 36);
    assert_eq!(count(":role/gha-"), 24);
    assert_eq!(count(":role/cron-"), 42);
    assert_eq!(count("-server-"), 90);
    assert_eq!(count(":role/etl-"), 6);
    assert_eq!(count(":role/backup-"), 9);
    assert_eq!(count(":role/provisioner"), 1);
    assert_eq!(count(":user/svc_legacy_export_"), 1);
    let accounts: BTreeSet<&str> = summary.identities.keys().filter_map(|k| k.split(':').nth(4)).collect();
    assert_eq!(accounts, STORY_ACCOUNTS[..3].iter().copied().collect());
}

#[test]
fn normal_life_never_looks_like_an_attack() {
    let (summary, _) = default_story();
    assert!(summary.violations.is_empty(), "{:#?}", summary.violations);
    let expected: BTreeSet<String> =
        ["ListUsers", "CreateUser", "CreateLoginProfile", "AddUserToGroup"].map(String::from).into();
    assert_eq!(summary.provisioner_calls, expected);
}

#[test]
fn planted_attacks_are_present_and_after_day_twenty() {
    let (summary, planted) = default_story();
    let names: Vec<&str> = planted.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "leaked-ci-key",
            "snapshot-shared-external",
            "s3-bulk-download",
            "impossible-travel",
            "dormant-key-reactivated",
        ]
    );
    let day_21 = DateTime::parse_from_rfc3339("2026-02-23T00:00:00Z").expect("constant").to_utc();
    for attack in planted {
        let records = &summary.planted[&attack.name];
        let ids: Vec<&str> = records.iter().map(|r| text(r, "/eventID")).collect();
        assert_eq!(ids, attack.event_ids, "{}", attack.name);
        assert!(records.iter().all(|r| identity_key(r) == attack.identity), "{}", attack.name);
        assert_eq!(time_of(&records[0]), attack.start);
        assert!(attack.start >= day_21, "{} at {}", attack.name, attack.start);
        assert!(summary.identities.contains_key(&attack.identity));
    }
    let attack = |name: &str| planted.iter().find(|a| a.name == name).expect("planted");
    let records = |name: &str| &summary.planted[name];

    let leaked = records("leaked-ci-key");
    assert!(attack("leaked-ci-key").identity.contains(":user/svc_ci_"));
    assert!(leaked.iter().all(|r| text(r, "/sourceIPAddress").starts_with("185.220.101.")));
    assert!(leaked.iter().all(|r| time_of(r).hour() < 5), "at night");
    let steps: Vec<&str> = leaked.iter().map(|r| text(r, "/eventName")).collect();
    assert!(steps.ends_with(&["CreateUser", "AttachUserPolicy", "CreateAccessKey"]), "{steps:?}");
    assert!(steps.len() >= 10);
    let admin = &leaked[leaked.len() - 2];
    assert_eq!(text(admin, "/requestParameters/policyArn"), "arn:aws:iam::aws:policy/AdministratorAccess");

    let share = records("snapshot-shared-external").last().expect("records");
    assert_eq!(text(share, "/eventName"), "ModifySnapshotAttribute");
    assert_eq!(text(share, "/requestParameters/createVolumePermission/add/items/0/userId"), EXTERNAL_ACCOUNT);

    let dormant = attack("dormant-key-reactivated");
    let last_normal = summary.last_normal[&dormant.identity];
    assert!(last_normal < DateTime::parse_from_rfc3339("2026-02-03T00:00:00Z").expect("constant").to_utc());
    assert!((dormant.start - last_normal).num_days() >= 29, "silent since {last_normal}");
    let starts: Vec<DateTime<Utc>> = planted.iter().map(|a| a.start).collect();
    assert!(starts.windows(2).all(|w| w[0] < w[1]), "attacks out of time order: {starts:?}");

    let bulk = records("s3-bulk-download");
    let first = time_of(&bulk[0]);
    let in_hour: i64 = bulk.iter().filter(|r| time_of(r) < first + chrono::Duration::hours(1)).map(bytes_out).sum();
    assert!(in_hour > 10_000_000_000, "{in_hour} bytes in the hour");
    let (_, usual) = summary.busiest_hour[&attack("s3-bulk-download").identity];
    assert!((60_000_000..=160_000_000).contains(&usual), "busiest normal hour {usual} bytes");

    let travel = records("impossible-travel");
    let home = &travel[0];
    let away = &travel[1];
    assert!(!text(home, "/sourceIPAddress").starts_with("5.0.0."));
    assert!(travel[1..].iter().all(|r| text(r, "/sourceIPAddress").starts_with("5.0.0.")));
    assert_eq!(text(home, "/userIdentity/accessKeyId"), text(away, "/userIdentity/accessKeyId"));
    assert!((time_of(away) - time_of(home)).num_minutes() < 10);
}

#[test]
fn planted_json_round_trips() {
    let (_, planted) = default_story();
    let text = serde_json::to_string(planted).expect("serializes");
    let back: Vec<PlantedAttack> = serde_json::from_str(&text).expect("deserializes");
    assert_eq!(&back, planted);
    assert!(text.contains(r#""start":"2026-02-23T"#), "{text}");
}

#[test]
fn short_and_tiny_stories_still_plant_and_cover() {
    let spec = StorySpec { identities: 3, days: 7, ..StorySpec::default() };
    let (records, planted) = org_story(&spec);
    let records: Vec<Value> = records.collect();
    let keys: BTreeSet<&str> = records.iter().map(identity_key).collect();
    assert_eq!(keys.len(), 9, "raised to one identity of each kind: {keys:?}");
    assert_eq!(planted.len(), 5);
    let ids: HashSet<&str> = records.iter().map(|r| text(r, "/eventID")).collect();
    assert!(planted.iter().flat_map(|a| &a.event_ids).all(|id| ids.contains(id.as_str())));
    assert!(records.iter().all(|r| text(r, "/eventTime") < "2026-02-09T00:00:00Z"));
    let (none, planted) = org_story(&StorySpec { days: 0, ..spec });
    assert_eq!(none.count(), 0);
    assert!(planted.is_empty());
}
