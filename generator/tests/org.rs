//! The synthetic organisation: exact counts, distinct identities, order, determinism.

use nhiwatch_generator::{OrgSpec, org_records};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn spec(identities: usize, events: usize, seed: u64) -> OrgSpec {
    OrgSpec { identities, events, seed, days: 3, ..OrgSpec::default() }
}

/// The identity as the engine keys it: the role for sessions, the user ARN for IAM users.
fn identity_key(record: &Value) -> String {
    let identity = &record["userIdentity"];
    let issuer = identity.pointer("/sessionContext/sessionIssuer/arn").and_then(Value::as_str);
    let arn = identity.get("arn").and_then(Value::as_str);
    issuer.or(arn).unwrap_or_default().to_owned()
}

fn text<'a>(record: &'a Value, pointer: &str) -> &'a str {
    record.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

#[test]
fn org_yields_requested_counts_and_identities() {
    let spec = spec(800, 40_000, 7);
    let records: Vec<Value> = org_records(&spec).collect();
    assert_eq!(records.len(), 40_000);
    assert_eq!(org_records(&spec).len(), 40_000);
    let keys: BTreeSet<String> = records.iter().map(identity_key).collect();
    assert!(keys.iter().all(|k| !k.is_empty()));
    assert_eq!(keys.len(), 800);
    let accounts: BTreeSet<&str> = records.iter().map(|r| text(r, "/recipientAccountId")).collect();
    assert_eq!(accounts.len(), 20);
    let times: Vec<&str> = records.iter().map(|r| text(r, "/eventTime")).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert!(times[0] >= "2026-03-09T00:00:00Z" && times[times.len() - 1] < "2026-03-12T00:00:00Z");
}

#[test]
fn org_mixes_identity_kinds_and_keeps_people_in_office_hours() {
    let records: Vec<Value> = org_records(&spec(2_000, 50_000, 3)).collect();
    let mut kinds: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for record in &records {
        let kind = if text(record, "/userIdentity/type") == "IAMUser" {
            "user"
        } else if identity_key(record).contains("AWSReservedSSO_") {
            let time = text(record, "/eventTime");
            let hour: u32 = time[11..13].parse().unwrap_or(99);
            assert!((7..19).contains(&hour), "person active at {time}");
            assert!(!time.starts_with("2026-03-14") && !time.starts_with("2026-03-15"));
            "person"
        } else {
            "role"
        };
        kinds.entry(kind).or_default().insert(identity_key(record));
    }
    let share = |kind: &str| kinds.get(kind).map_or(0, BTreeSet::len) as f64 / 2_000.0;
    assert!((0.62..0.78).contains(&share("role")), "roles {}", share("role"));
    assert!((0.15..0.25).contains(&share("user")), "users {}", share("user"));
    assert!((0.06..0.14).contains(&share("person")), "people {}", share("person"));
    let web = records
        .iter()
        .filter(|r| r.pointer("/userIdentity/sessionContext/webIdFederationData/federatedProvider").is_some())
        .count();
    assert!(web > 0);
}

#[test]
fn org_has_about_five_attack_like_events_per_hundred_thousand() {
    let records: Vec<Value> = org_records(&spec(1_000, 100_000, 11)).collect();
    let attacks: Vec<&Value> = records
        .iter()
        .filter(|r| {
            let name = text(r, "/eventName");
            name == "CreateUser"
                || name == "CreateAccessKey"
                || (name == "ModifySnapshotAttribute"
                    && text(r, "/requestParameters/createVolumePermission/add/items/0/userId")
                        != text(r, "/recipientAccountId"))
        })
        .collect();
    assert_eq!(attacks.len(), 5);
    let names: BTreeSet<&str> = attacks.iter().map(|r| text(r, "/eventName")).collect();
    assert_eq!(names.len(), 3);
}

#[test]
fn org_is_deterministic_per_seed() {
    let a: Vec<Value> = org_records(&spec(300, 5_000, 42)).collect();
    let b: Vec<Value> = org_records(&spec(300, 5_000, 42)).collect();
    let c: Vec<Value> = org_records(&spec(300, 5_000, 43)).collect();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn org_edge_sizes() {
    let few: Vec<Value> = org_records(&spec(500, 120, 1)).collect();
    assert_eq!(few.len(), 120);
    assert_eq!(few.iter().map(identity_key).collect::<BTreeSet<_>>().len(), 120);
    assert_eq!(org_records(&spec(10, 0, 1)).count(), 0);
    assert_eq!(org_records(&spec(0, 10, 1)).count(), 0);
    let instant: Vec<Value> = org_records(&OrgSpec { days: 0, ..spec(5, 50, 1) }).collect();
    assert!(instant.iter().all(|r| text(r, "/eventTime") == "2026-03-09T00:00:00Z"));
}
