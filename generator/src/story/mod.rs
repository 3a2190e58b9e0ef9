//! A month in a mid-sized organisation, with honest noise and a few planted attacks: the input
//! for measuring what a detector finds and what it flags by mistake.
//!
//! [`org_story`] returns the records ([`StoryRecords`], lazily, in event-time order) and the
//! [`PlantedAttack`]s hidden in them. Everything not listed as planted is normal life, so any
//! alert on it is a false positive.
//!
//! The organisation ([`StorySpec::identities`], default 300) works in four accounts
//! ([`STORY_ACCOUNTS`]: prod, staging, data and a backup vault). About 70 % of its identities
//! are non-human, each with stable habits and source networks taken from the test GeoIP data
//! (`fixtures/geoip/test-geo.csv`):
//!
//! | share | identity | habits | from |
//! |---|---|---|---|
//! | 12 % | IAM users `svc_ci_…` (long-lived keys) | CI runs on weekdays in a ten-hour window; release days with three times the runs; a rare evening hotfix | GitHub runners 140.82.112.0/20 |
//! | 8 % | roles `gha-…-deploy-…` (GitHub OIDC) | the same rhythm, one session per run | 140.82.112.0/20 |
//! | 14 % | Lambda roles `cron-…` | the same calls at the same minutes, daily, twice or four times a day | 44.192.0.0/11, 54.188.0.0/14 |
//! | 30 % | instance-profile roles `…-server-…` | polling around the clock; instances replaced every 4–14 days | 3.80.0.0/12, 54.188.0.0/14 |
//! | 2 % | instance-profile roles `etl-…` | about 100 MB of S3 reads every hour | 3.80.0.0/12 |
//! | 3 % | Lambda roles `backup-…` | nightly snapshots shared with the backup vault account (inside the organisation) | 44.192.0.0/11 |
//! | 1 | role `provisioner` | Mondays 09:00: `CreateUser`, `CreateLoginProfile`, `AddUserToGroup` for one to three new hires | 3.80.0.0/12 |
//! | 1 | IAM user `svc_legacy_export_…` | a retired job: one run on day 0, then silence | 3.80.0.0/12 |
//!
//! The other 30 % are people in SSO sessions (a permission-set role each, so every person is
//! an identity of their own) on weekdays in office hours: Frankfurt (1.0.0.0/24, 07–17 UTC) or
//! New York (2.0.0.0/24, 13–22 UTC), now and then working late or creating a role.
//!
//! Planted after day 20 (of 30; the last third of shorter stories), one of each, in time
//! order:
//!
//! 1. `leaked-ci-key` (day 21): a CI key used at 02:xx from 185.220.101.0/24: discovery,
//!    `CreateUser`, `AttachUserPolicy` `AdministratorAccess`, `CreateAccessKey`.
//! 2. `snapshot-shared-external` (day 23): a backup role shares an extra snapshot with
//!    [`EXTERNAL_ACCOUNT`].
//! 3. `s3-bulk-download` (day 25): an ETL role reads about 15 GB in an hour.
//! 4. `impossible-travel` (day 27): an instance's credentials used from Sydney (5.0.0.0/24)
//!    minutes after the instance called from its AWS address.
//! 5. `dormant-key-reactivated` (last day): the retired job's key, silent since day 0, used from
//!    185.220.101.0/24. Its silence reaches 30 days only in stories of 31 days or more.
//!
//! Only calls made *by* these identities are recorded (no `AWSService` or `WebIdentityUser`
//! records), so the distinct identities, keyed as the engine keys them (the role for sessions,
//! the user otherwise), are exactly [`StorySpec::identities`]. Records are generated a day at a
//! time, so memory holds about one day, not the month.

mod attacks;
mod habits;
mod roster;

use crate::rng::{Rng, hash64};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};

/// The organisation's accounts: prod, staging, data, and the backup vault that nightly
/// snapshots are shared with.
pub const STORY_ACCOUNTS: [&str; 4] = ["123456789012", "210987654321", "345678901234", "456789012345"];
/// The account outside the organisation that the planted snapshot share goes to.
pub const EXTERNAL_ACCOUNT: &str = "999988887777";
/// The backup vault account (the last of [`STORY_ACCOUNTS`]).
const BACKUP_ACCOUNT: &str = STORY_ACCOUNTS[3];

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// Which story to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorySpec {
    /// Distinct identities (at least 9, one of each kind; smaller values are raised to 9).
    pub identities: usize,
    /// Days of activity. Attacks are planted from day 21 when there are more than 21 days, in
    /// the last third otherwise.
    pub days: u32,
    /// Seed of every random choice: the same spec gives the same records, byte for byte.
    pub seed: u64,
    /// First day; the time of day is ignored (days start at 00:00 UTC).
    pub start: DateTime<Utc>,
}

impl Default for StorySpec {
    /// 300 identities, 30 days from Monday 2026-02-02, seed 1.
    fn default() -> Self {
        Self {
            identities: 300,
            days: 30,
            seed: 1,
            start: DateTime::from_timestamp(1_769_990_400, 0).unwrap_or_default(),
        }
    }
}

/// One attack hidden in a story: who, when, which records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlantedAttack {
    /// Short name: `leaked-ci-key`, `snapshot-shared-external`, `s3-bulk-download`,
    /// `impossible-travel` or `dormant-key-reactivated`.
    pub name: String,
    /// The ARN of the identity the attack acts as (the role for sessions, the IAM user
    /// otherwise), as the engine keys identities.
    pub identity: String,
    /// Event time of the attack's first record.
    pub start: DateTime<Utc>,
    /// `eventID`s of the attack's records, in time order.
    pub event_ids: Vec<String>,
    /// What happens, in one sentence.
    pub description: String,
}

/// Time and seed shared by everything that builds the story.
#[derive(Debug, Clone, Copy)]
struct Clock {
    /// Unix time of day 0, 00:00 UTC.
    start: i64,
    /// Days in the story.
    days: i64,
    /// The spec's seed.
    seed: u64,
}

impl Clock {
    fn day_start(&self, day: i64) -> i64 {
        self.start + day * DAY
    }

    /// A generator for one purpose (`label`) of one identity, further keyed by `parts` (a day,
    /// a session window...): the same arguments always give the same numbers.
    fn rng(&self, label: &str, index: usize, parts: &[i64]) -> Rng {
        let mut bytes = Vec::with_capacity(label.len() + 8 * (parts.len() + 1));
        bytes.extend_from_slice(label.as_bytes());
        bytes.extend_from_slice(&(index as u64).to_le_bytes());
        for part in parts {
            bytes.extend_from_slice(&part.to_le_bytes());
        }
        Rng::new(hash64(&bytes, self.seed))
    }
}

/// The story of `spec`: its records, in event-time order, and the attacks planted in them.
pub fn org_story(spec: &StorySpec) -> (StoryRecords, Vec<PlantedAttack>) {
    let start = spec.start.timestamp();
    let clock = Clock { start: start - start.rem_euclid(DAY), days: i64::from(spec.days), seed: spec.seed };
    let root = Rng::new(spec.seed);
    let members = roster::roster(spec.identities, &mut root.fork("story-roster"));
    let mut planted_records: BTreeMap<i64, Vec<(i64, Value)>> = BTreeMap::new();
    let mut planted = Vec::new();
    if clock.days > 0 {
        for (attack, records) in attacks::plant(&clock, &members, &root.fork("story-attacks")) {
            for (time, record) in records {
                planted_records.entry((time - clock.start).div_euclid(DAY)).or_default().push((time, record));
            }
            planted.push(attack);
        }
    }
    let records = StoryRecords {
        clock,
        members,
        planted: planted_records,
        day: 0,
        pending: Vec::new(),
        ready: VecDeque::new(),
        emitted: 0,
    };
    (records, planted)
}

/// The records of a story, in event-time order (ties in the order they were generated); see
/// [`org_story`].
#[derive(Debug)]
pub struct StoryRecords {
    clock: Clock,
    members: Vec<roster::Member>,
    /// Planted records by day.
    planted: BTreeMap<i64, Vec<(i64, Value)>>,
    /// Next day to generate.
    day: i64,
    /// Generated but not yet due: (time, generation order, record).
    pending: Vec<(i64, u64, Value)>,
    /// Due records, in order.
    ready: VecDeque<Value>,
    /// Records generated so far (the tie-breaker of equal times).
    emitted: u64,
}

impl StoryRecords {
    /// Generates day `self.day` and moves every record before its end to `ready`. Records of
    /// runs that spill past the story's last second are dropped, as a log window cuts them.
    fn generate_day(&mut self) {
        let day = self.day;
        self.day += 1;
        let mut fresh = Vec::new();
        for member in &self.members {
            habits::member_day(&self.clock, member, day, &mut fresh);
        }
        fresh.extend(self.planted.remove(&day).unwrap_or_default());
        for (time, record) in fresh {
            self.pending.push((time, self.emitted, record));
            self.emitted += 1;
        }
        self.pending.sort_by_key(|(time, order, _)| (*time, *order));
        let due_before = self.clock.day_start(day + 1);
        let due = self.pending.partition_point(|(time, _, _)| *time < due_before);
        self.ready.extend(self.pending.drain(..due).map(|(_, _, record)| record));
        if self.day >= self.clock.days {
            self.pending.clear();
        }
    }
}

impl Iterator for StoryRecords {
    type Item = Value;

    fn next(&mut self) -> Option<Value> {
        loop {
            if let Some(record) = self.ready.pop_front() {
                return Some(record);
            }
            if self.day >= self.clock.days {
                return None;
            }
            self.generate_day();
        }
    }
}
