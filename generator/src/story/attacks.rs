//! The attacks planted in the story, after day 20 of 30: their victims, times and records.
//!
//! Days (of 30): `leaked-ci-key` 21, `snapshot-shared-external` 23, `s3-bulk-download` 25,
//! `impossible-travel` 27, `dormant-key-reactivated` 29.
//!
//! Each attack is built before any normal record, from its own generator, with the session its
//! victim holds at that moment (see `habits.rs`), so the records look like the victim's own
//! but for what the attack changes: place, hour, volume or target.

use super::habits::{instance_caller, lambda_caller, user_caller};
use super::roster::{Kind, Member};
use super::{Clock, DAY, EXTERNAL_ACCOUNT, HOUR, PlantedAttack};
use crate::calls::{create_access_key, create_snapshot, create_user, s3_object, share_snapshot};
use crate::cloudtrail::{ApiCall, Caller, ymd};
use crate::rng::Rng;
use chrono::DateTime;
use serde_json::{Value, json};

/// The attacker's tooling (Kali's AWS CLI), as in the demo.
const KALI_CLI: &str = "aws-cli/2.9.0 Python/3.9.11 Linux/5.15.0 exe/x86_64.kali.2022 prompt/off";
/// A script on a workstation, using a found key.
const WINDOWS_BOTO: &str = "Boto3/1.26.90 Python/3.10.11 Windows/10 Botocore/1.29.90";
/// The AWS CLI on a laptop, with copied instance credentials.
const MAC_CLI: &str = "aws-cli/2.13.4 Python/3.11.4 Darwin/22.6.0 exe/x86_64 prompt/off";

/// An attack under construction: its records, with their times, in order.
struct Plan {
    records: Vec<(i64, Value)>,
}

impl Plan {
    fn push(&mut self, time: i64, call: ApiCall<'_>, rng: &mut Rng) {
        self.records.push((time, call.build(rng)));
    }

    /// The summary of the attack and its records.
    fn finish(self, name: &str, identity: String, description: String) -> (PlantedAttack, Vec<(i64, Value)>) {
        let start_secs = self.records.iter().map(|(t, _)| *t).min().unwrap_or(0);
        let event_ids = self
            .records
            .iter()
            .map(|(_, r)| r.get("eventID").and_then(Value::as_str).unwrap_or_default().to_owned())
            .collect();
        let attack = PlantedAttack {
            name: name.to_owned(),
            identity,
            start: DateTime::from_timestamp(start_secs, 0).unwrap_or_default(),
            event_ids,
            description,
        };
        (attack, self.records)
    }
}

/// The days of the attacks: four spread from day 21 (the last third of shorter stories) to
/// the day before last, and the dormant key on the last day, so that its silence is as long as
/// the story allows (30 days or more from 31 days on).
fn attack_days(days: i64) -> ([i64; 4], i64) {
    let first = if days > 21 { 21 } else { days * 2 / 3 };
    let last = (days - 1).max(0);
    let spread = (last - first).max(0);
    ([0, 1, 2, 3].map(|k| first + k * spread / 4), last)
}

/// All planted attacks with their records, in time order: `leaked-ci-key`,
/// `snapshot-shared-external`, `s3-bulk-download`, `impossible-travel`,
/// `dormant-key-reactivated`. An attack whose victim kind is missing is left out.
pub(super) fn plant(clock: &Clock, members: &[Member], root: &Rng) -> Vec<(PlantedAttack, Vec<(i64, Value)>)> {
    let first = |kind: Kind| members.iter().find(|m| m.kind == kind);
    let travel_victim =
        members.iter().find(|m| m.kind == Kind::Instance && m.region == "us-east-1").or_else(|| first(Kind::Instance));
    let (day, dormant_day) = attack_days(clock.days);
    let mut planted = Vec::new();
    if let Some(victim) = first(Kind::CiKey) {
        planted.push(leaked_ci_key(clock, victim, day[0], &mut root.fork("leaked-ci-key")));
    }
    if let Some(victim) = first(Kind::Backup) {
        planted.push(snapshot_shared_external(clock, victim, day[1], &mut root.fork("snapshot-external")));
    }
    if let Some(victim) = first(Kind::Etl) {
        planted.push(s3_bulk_download(clock, victim, day[2], &mut root.fork("s3-bulk")));
    }
    if let Some(victim) = travel_victim {
        planted.push(impossible_travel(clock, victim, day[3], &mut root.fork("impossible-travel")));
    }
    if let Some(victim) = first(Kind::Retired) {
        planted.push(dormant_key(clock, victim, dormant_day, &mut root.fork("dormant-key")));
    }
    planted
}

/// An address of the attacker's relay network, 185.220.101.0/24 (NL in the test GeoIP data).
fn relay_address(rng: &mut Rng) -> String {
    format!("185.220.101.{}", 2 + rng.below(250))
}

/// The CI key used at night from a relay: discovery, then a backdoor user with
/// `AdministratorAccess` and an access key.
fn leaked_ci_key(clock: &Clock, victim: &Member, day: i64, rng: &mut Rng) -> (PlantedAttack, Vec<(i64, Value)>) {
    let ip = relay_address(rng);
    let caller = user_caller(victim, &ip, KALI_CLI);
    let mut plan = Plan { records: Vec::new() };
    let mut t = clock.day_start(day) + 2 * HOUR + rng.range(0, 50 * 60);
    plan.push(t, ApiCall::new(&caller, t, "sts", "GetCallerIdentity"), rng);
    let discovery: [(&str, &str, Value); 9] = [
        ("iam", "GetUser", json!({"userName": victim.name})),
        ("iam", "ListAttachedUserPolicies", json!({"userName": victim.name})),
        ("iam", "ListUsers", json!({"maxItems": 1000})),
        ("iam", "ListRoles", json!({"maxItems": 1000})),
        ("iam", "GetAccountAuthorizationDetails", json!({"filter": ["User", "Role", "Group"]})),
        ("s3", "ListBuckets", json!({"Host": "s3.amazonaws.com"})),
        ("ec2", "DescribeInstances", json!({"maxResults": 1000, "filterSet": {}})),
        ("ec2", "DescribeSnapshots", json!({"ownersSet": {"items": [{"owner": "self"}]}})),
        ("secretsmanager", "ListSecrets", json!({"maxResults": 100})),
    ];
    for (service, name, request) in discovery {
        t += rng.range(15, 50);
        plan.push(t, ApiCall::new(&caller, t, service, name).request(request), rng);
    }
    let user = "support-sync";
    t += rng.range(240, 600);
    plan.push(t, create_user(&caller, t, user, &rng.aws_id("AIDA", 17)), rng);
    t += rng.range(20, 45);
    let call = ApiCall::new(&caller, t, "iam", "AttachUserPolicy")
        .request(json!({"userName": user, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}));
    plan.push(t, call, rng);
    t += rng.range(20, 45);
    plan.push(t, create_access_key(&caller, t, user, &rng.aws_id("AKIA", 16)), rng);
    let description = format!(
        "CI key {} of {} used at night from {ip} (NL): 9 discovery calls, then CreateUser {user}, \
         AttachUserPolicy AdministratorAccess and CreateAccessKey for it",
        victim.access_key, victim.name
    );
    plan.finish("leaked-ci-key", victim.arn(), description)
}

/// The backup function, after its nightly run, snapshots a volume again and shares it with an
/// account outside the organisation.
fn snapshot_shared_external(
    clock: &Clock,
    victim: &Member,
    day: i64,
    rng: &mut Rng,
) -> (PlantedAttack, Vec<(i64, Value)>) {
    let caller = lambda_caller(clock, victim, day, 0);
    let mut plan = Plan { records: Vec::new() };
    let mut t = clock.day_start(day) + victim.schedule.first().copied().unwrap_or(0) + 25 * 60 + rng.range(0, 300);
    let volume = victim.volumes.first().cloned().unwrap_or_else(|| format!("vol-0{}", rng.hex(16)));
    let snapshot = format!("snap-0{}", rng.hex(16));
    let description = format!("copy {volume} {}", ymd(t));
    plan.push(t, create_snapshot(&caller, t, victim.region, &volume, &snapshot, &description, rng), rng);
    t += rng.range(240, 420);
    plan.push(t, share_snapshot(&caller, t, victim.region, &snapshot, EXTERNAL_ACCOUNT, rng), rng);
    let text = format!(
        "{} snapshots {volume} as {snapshot} after its nightly run and shares it with {EXTERNAL_ACCOUNT}, \
         outside the organisation (its nightly shares go to the backup account)",
        victim.name
    );
    plan.finish("snapshot-shared-external", victim.arn(), text)
}

/// The retired export job's key, silent since its last run on day 0, used again from a relay.
fn dormant_key(clock: &Clock, victim: &Member, day: i64, rng: &mut Rng) -> (PlantedAttack, Vec<(i64, Value)>) {
    let ip = relay_address(rng);
    let caller = user_caller(victim, &ip, WINDOWS_BOTO);
    let mut plan = Plan { records: Vec::new() };
    let mut t = clock.day_start(day) + 14 * HOUR + rng.range(0, 3600);
    plan.push(t, ApiCall::new(&caller, t, "sts", "GetCallerIdentity"), rng);
    t += rng.range(5, 30);
    plan.push(t, ApiCall::new(&caller, t, "s3", "ListBuckets").request(json!({"Host": "s3.amazonaws.com"})), rng);
    for part in 0..4 {
        t += rng.range(3, 20);
        let key = format!("exports/archive/part-{part}.csv.gz");
        plan.push(t, s3_object(&caller, t, "GetObject", victim.region, &victim.bucket, &key, None, rng), rng);
    }
    let silent_days = (t - clock.day_start(0)) / DAY;
    let text = format!(
        "key {} of retired job {}, last used on day 0, used again after {silent_days} days from {ip}",
        victim.access_key, victim.name
    );
    plan.finish("dormant-key-reactivated", victim.arn(), text)
}

/// The ETL role, which reads about 100 MB an hour, reads about 15 GB within the hour.
fn s3_bulk_download(clock: &Clock, victim: &Member, day: i64, rng: &mut Rng) -> (PlantedAttack, Vec<(i64, Value)>) {
    let mut plan = Plan { records: Vec::new() };
    let mut t = clock.day_start(day) + 3 * HOUR + 30 * 60 + rng.range(0, 300);
    let mut total: i64 = 0;
    for part in 0..60 {
        let caller: Caller = instance_caller(clock, victim, 0, t);
        let bytes = rng.range(150_000_000, 350_000_000);
        total += bytes;
        let key = format!("warehouse/customers/full/part-{part:04}.parquet");
        plan.push(t, s3_object(&caller, t, "GetObject", victim.region, &victim.bucket, &key, Some(bytes), rng), rng);
        t += rng.range(15, 45);
    }
    let text = format!(
        "{} reads 60 objects, {:.1} GB, from {} within the hour; its usual hour is about 100 MB",
        victim.name,
        total as f64 / 1e9,
        victim.bucket
    );
    plan.finish("s3-bulk-download", victim.arn(), text)
}

/// An instance's credentials used from Sydney (5.0.0.0/24) minutes after the instance called
/// from its AWS address. The first listed event is the instance's own call (the pair's first
/// leg); the rest come from Sydney.
fn impossible_travel(clock: &Clock, victim: &Member, day: i64, rng: &mut Rng) -> (PlantedAttack, Vec<(i64, Value)>) {
    let mut plan = Plan { records: Vec::new() };
    let mut t = clock.day_start(day) + 11 * HOUR + rng.range(0, 3600);
    let home = instance_caller(clock, victim, 0, t);
    let key = format!("{}/{}/{}.json", victim.queue, ymd(t), rng.hex(12));
    plan.push(t, s3_object(&home, t, "GetObject", victim.region, &victim.bucket, &key, None, rng), rng);
    let far_ip = format!("5.0.0.{}", 2 + rng.below(250));
    let far = Caller::new(home.identity.clone(), victim.account, &far_ip, MAC_CLI);
    t += rng.range(300, 540);
    plan.push(t, ApiCall::new(&far, t, "sts", "GetCallerIdentity"), rng);
    t += rng.range(10, 40);
    plan.push(t, ApiCall::new(&far, t, "s3", "ListBuckets").request(json!({"Host": "s3.amazonaws.com"})), rng);
    for _ in 0..2 {
        t += rng.range(5, 30);
        let key = format!("{}/{}.json", victim.queue, rng.hex(12));
        plan.push(t, s3_object(&far, t, "GetObject", victim.region, &victim.bucket, &key, None, rng), rng);
    }
    let home_ip = home.ip.clone();
    let text = format!(
        "instance credentials of {} used from Sydney ({far_ip}) minutes after the instance called from {home_ip} \
         ({}); the first event is the instance's own",
        victim.name, victim.region
    );
    plan.finish("impossible-travel", victim.arn(), text)
}
