//! Who works in the story organisation: the identity kinds, how many of each, and each
//! identity's fixed habits (account, region, networks, hours, schedules, resources).
//!
//! Everything here is decided once from the roster generator; what an identity does on a given
//! day is in `habits.rs`.

use super::{BACKUP_ACCOUNT, STORY_ACCOUNTS};
use crate::agents;
use crate::calls::{Routine, Workload};
use crate::cloudtrail::Role;
use crate::rng::Rng;

/// How an identity gets credentials and what its days look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// IAM user `svc_ci_…` with a long-lived key, deploying from GitHub runners on weekdays.
    CiKey,
    /// Role assumed by GitHub Actions through OIDC (`GitHubActions-<run id>` sessions).
    CiOidc,
    /// Lambda role invoked by a schedule at fixed times of day.
    Cron,
    /// EC2 instance-profile role polling queues and reading objects around the clock.
    Instance,
    /// Instance-profile role reading about 100 MB from S3 every hour.
    Etl,
    /// Lambda role snapshotting volumes nightly and sharing them with the backup account.
    Backup,
    /// Instance-profile onboarding bot creating IAM users every Monday.
    Provisioner,
    /// IAM user of a retired job: its key acts on the first day only.
    Retired,
    /// A person in an SSO session, weekdays in office hours.
    Human,
}

/// Percent of the identities of each non-human kind (at least one each). People take the
/// rest, about 30 %.
const SHARES: [(Kind, usize); 8] = [
    (Kind::CiKey, 12),
    (Kind::CiOidc, 8),
    (Kind::Cron, 14),
    (Kind::Instance, 30),
    (Kind::Etl, 2),
    (Kind::Backup, 3),
    (Kind::Provisioner, 0),
    (Kind::Retired, 0),
];

/// The fewest identities a story has: one of each kind.
pub(super) const MIN_IDENTITIES: usize = SHARES.len() + 1;

const INSTANCE_ACTIONS: [Routine; 8] = [
    Routine::SqsReceive,
    Routine::S3Get,
    Routine::SsmGetParameter,
    Routine::KmsDecrypt,
    Routine::GetSecretValue,
    Routine::SqsSend,
    Routine::PutMetricData,
    Routine::S3Put,
];
const CRON_ACTIONS: [Routine; 7] = [
    Routine::S3Get,
    Routine::S3Put,
    Routine::DynamoDescribeTable,
    Routine::SsmGetParameter,
    Routine::SqsSend,
    Routine::PutMetricData,
    Routine::GetSecretValue,
];

const WORKLOADS: [&str; 16] = [
    "api",
    "web",
    "worker",
    "ingest",
    "search",
    "billing",
    "reporting",
    "orders",
    "auth",
    "notifier",
    "media",
    "payments",
    "catalog",
    "analytics",
    "pricing",
    "inventory",
];
const FIRST_NAMES: [&str; 16] = [
    "ana", "ben", "chen", "dara", "eli", "fatima", "gus", "hana", "ivan", "jo", "kofi", "lena", "mia", "noor", "omar",
    "priya",
];

/// Where a person works: address prefix (a /24 of the test GeoIP data) and office hours (UTC).
#[derive(Debug, Clone, Copy)]
pub(super) struct Office {
    /// The first three octets, with the trailing dot.
    pub(super) prefix: &'static str,
    /// First hour of the working day, UTC.
    pub(super) from_hour: i64,
    /// Hour the working day ends, UTC.
    pub(super) until_hour: i64,
}

/// Frankfurt (1.0.0.0/24, DE), 08:00–18:00 local.
const FRANKFURT: Office = Office { prefix: "1.0.0.", from_hour: 7, until_hour: 17 };
/// New York (2.0.0.0/24, US), 08:00–17:00 local.
const NEW_YORK: Office = Office { prefix: "2.0.0.", from_hour: 13, until_hour: 22 };

/// One identity of the organisation and its habits.
#[derive(Debug)]
pub(super) struct Member {
    pub(super) kind: Kind,
    /// Position in the roster; part of every name, so names never collide.
    pub(super) index: usize,
    pub(super) account: &'static str,
    pub(super) region: &'static str,
    /// IAM user name, role name or (people) e-mail, the session name.
    pub(super) name: String,
    /// The role of role-based kinds and people; `None` for IAM users.
    pub(super) role: Option<Role>,
    /// IAM user unique id and access key (users only, empty otherwise).
    pub(super) user_id: String,
    pub(super) access_key: String,
    pub(super) agent: &'static str,
    /// CI: window of run starts (hours, UTC) and runs per weekday (inclusive range).
    pub(super) hours: (i64, i64),
    pub(super) runs: (i64, i64),
    /// Cron, backup, ETL: seconds of the day the schedule fires.
    pub(super) schedule: Vec<i64>,
    /// Instances: mean seconds between polling cycles, instance count, days an instance lives.
    pub(super) cycle_secs: i64,
    pub(super) instances: u64,
    pub(super) lifetime_days: i64,
    pub(super) actions: Vec<Routine>,
    pub(super) bucket: String,
    pub(super) queue: String,
    /// Backup: the volumes snapshotted each night.
    pub(super) volumes: Vec<String>,
    /// People: their office; others: unused.
    pub(super) office: Office,
    /// A fixed source address (people, the provisioning bot, the retired job's host).
    pub(super) home_ip: String,
}

impl Member {
    /// The identity's ARN as the engine keys it: the role for sessions, the user otherwise.
    pub(super) fn arn(&self) -> String {
        match &self.role {
            Some(role) => role.arn().to_owned(),
            None => format!("arn:aws:iam::{}:user/{}", self.account, self.name),
        }
    }

    /// What its routine calls touch.
    pub(super) fn workload(&self) -> Workload<'_> {
        Workload { region: self.region, account: self.account, bucket: &self.bucket, queue: &self.queue }
    }
}

/// How many identities of each kind a story of `identities` has, in roster order.
pub(super) fn kind_counts(identities: usize) -> Vec<(Kind, usize)> {
    let identities = identities.max(MIN_IDENTITIES);
    let mut counts: Vec<(Kind, usize)> =
        SHARES.iter().map(|&(kind, percent)| (kind, (identities * percent / 100).max(1))).collect();
    // Small stories: one of each kind at least rounds up; take the excess from the largest.
    while counts.iter().map(|(_, n)| n).sum::<usize>() >= identities {
        let Some(largest) = counts.iter_mut().filter(|(_, n)| *n > 1).max_by_key(|(_, n)| *n) else { break };
        largest.1 -= 1;
    }
    let machines: usize = counts.iter().map(|(_, n)| n).sum();
    counts.push((Kind::Human, identities.saturating_sub(machines).max(1)));
    counts
}

/// The whole roster, deterministic from `rng`.
pub(super) fn roster(identities: usize, rng: &mut Rng) -> Vec<Member> {
    let mut members = Vec::new();
    for (kind, count) in kind_counts(identities) {
        for _ in 0..count {
            let index = members.len();
            members.push(new_member(kind, index, count, rng));
        }
    }
    members
}

/// An address in `a.b.0.0/<prefix>` drawn from `rng`: EC2 and Lambda in us-east-1
/// (3.80.0.0/12, 44.192.0.0/11), us-west-2 (54.188.0.0/14), GitHub runners (140.82.112.0/20).
pub(super) fn aws_address(region: &str, lambda: bool, rng: &mut Rng) -> String {
    let host = 1 + rng.below(254);
    match (region, lambda) {
        ("us-west-2", _) => format!("54.{}.{}.{host}", 188 + rng.below(4), rng.below(256)),
        (_, true) => format!("44.{}.{}.{host}", 192 + rng.below(32), rng.below(256)),
        (_, false) => format!("3.{}.{}.{host}", 80 + rng.below(16), rng.below(256)),
    }
}

/// A GitHub-hosted runner address in 140.82.112.0/20.
pub(super) fn runner_address(rng: &mut Rng) -> String {
    format!("140.82.{}.{}", 112 + rng.below(16), 1 + rng.below(254))
}

fn new_member(kind: Kind, index: usize, of_kind: usize, rng: &mut Rng) -> Member {
    // Most identities live in production; backups never live in the vault they copy to.
    let account = match (kind, rng.below(10)) {
        (Kind::Provisioner | Kind::Retired, _) | (_, 0..=5) => STORY_ACCOUNTS[0],
        (_, 6..=7) => STORY_ACCOUNTS[1],
        _ => STORY_ACCOUNTS[2],
    };
    debug_assert_ne!(account, BACKUP_ACCOUNT);
    let region = match kind {
        Kind::Instance | Kind::Cron if rng.chance(0.25) => "us-west-2",
        _ => "us-east-1",
    };
    let workload = *rng.pick(&WORKLOADS);
    let mut member = Member {
        kind,
        index,
        account,
        region,
        name: String::new(),
        role: None,
        user_id: String::new(),
        access_key: String::new(),
        agent: agents::BOTO,
        hours: (8, 18),
        runs: (1, 3),
        schedule: Vec::new(),
        cycle_secs: 3600,
        instances: 1,
        lifetime_days: 30,
        actions: Vec::new(),
        bucket: format!("{workload}-{}-{}", rng.hex(6), account),
        queue: format!("{workload}-{}", rng.pick(&["jobs", "events", "orders", "ingest"])),
        volumes: Vec::new(),
        office: NEW_YORK,
        home_ip: String::new(),
    };
    let role = |name: &str, rng: &mut Rng| Some(Role::new(account, name, &rng.aws_id("AROA", 17)));
    match kind {
        Kind::CiKey | Kind::Retired => {
            member.name = if kind == Kind::CiKey {
                format!("svc_ci_{workload}_{index}")
            } else {
                format!("svc_legacy_export_{index}")
            };
            member.user_id = rng.aws_id("AIDA", 17);
            member.access_key = rng.aws_id("AKIA", 16);
            member.agent = agents::AWS_CLI;
            let from = rng.range(7, 9);
            member.hours = (from, from + 10);
            let low = rng.range(1, 4);
            member.runs = (low, low + rng.range(1, 4));
            member.home_ip = aws_address("us-east-1", false, rng);
        }
        Kind::CiOidc => {
            member.name = format!("gha-{workload}-deploy-{index}");
            member.role = role(&member.name, rng);
            member.agent = agents::AWS_CLI;
            let from = rng.range(7, 10);
            member.hours = (from, from + rng.range(8, 10));
            let low = rng.range(1, 3);
            member.runs = (low, low + rng.range(1, 3));
        }
        Kind::Cron => {
            member.name = format!("cron-{workload}-{index}");
            member.role = role(&member.name, rng);
            member.agent = agents::LAMBDA_BOTO;
            let minute = rng.range(0, 11) * 5;
            let first = rng.range(0, 23);
            let every = *rng.pick(&[24, 24, 24, 12, 12, 6]);
            member.schedule = (0..24 / every).map(|k| ((first + k * every) % 24) * 3600 + minute * 60).collect();
            member.schedule.sort_unstable();
            member.actions = pick_actions(&CRON_ACTIONS, rng.range(2, 4) as usize, rng);
        }
        Kind::Instance => {
            member.name = format!("{workload}-server-{index}");
            member.role = role(&member.name, rng);
            member.agent = *rng.pick(&[agents::JAVA_SDK, agents::GO_SDK, agents::BOTO]);
            member.cycle_secs = rng.range(40, 100) * 60;
            member.instances = 1 + rng.below(2);
            member.lifetime_days = rng.range(4, 15);
            member.actions = pick_actions(&INSTANCE_ACTIONS, rng.range(2, 5) as usize, rng);
        }
        Kind::Etl => {
            member.name = format!("etl-{workload}-{index}");
            member.role = role(&member.name, rng);
            member.agent = agents::JAVA_SDK;
            member.schedule = vec![rng.range(0, 59) * 60];
            member.lifetime_days = 30;
        }
        Kind::Backup => {
            member.name = format!("backup-{workload}-{index}");
            member.role = role(&member.name, rng);
            member.agent = agents::LAMBDA_BOTO;
            member.schedule = vec![rng.range(0, 3) * 3600 + rng.range(0, 11) * 300];
            member.volumes = (0..rng.range(1, 3)).map(|_| format!("vol-0{}", rng.hex(16))).collect();
        }
        Kind::Provisioner => {
            member.name = if of_kind == 1 { "provisioner".to_owned() } else { format!("provisioner-{index}") };
            member.role = role(&member.name, rng);
            member.home_ip = aws_address("us-east-1", false, rng);
        }
        Kind::Human => {
            member.office = if rng.chance(0.4) { FRANKFURT } else { NEW_YORK };
            member.name = format!("{}.{index}@example.com", rng.pick(&FIRST_NAMES));
            member.role = Some(Role::random_sso(account, rng));
            member.agent = *rng.pick(&agents::BROWSERS);
            member.home_ip = format!("{}{}", member.office.prefix, 1 + rng.below(254));
        }
    }
    member
}

/// `count` distinct actions from `table`, the first one always included.
fn pick_actions(table: &[Routine], count: usize, rng: &mut Rng) -> Vec<Routine> {
    let mut chosen = vec![table[0]];
    for _ in 0..count * 4 {
        if chosen.len() >= count {
            break;
        }
        let action = *rng.pick(table);
        if !chosen.contains(&action) {
            chosen.push(action);
        }
    }
    chosen
}
