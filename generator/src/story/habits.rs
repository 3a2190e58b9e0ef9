//! Normal life in the story organisation: what each kind of identity does on one day, and the
//! session callers that the planted attacks reuse.
//!
//! Each (identity, day) draws from its own generator, and every session (an instance's
//! six-hour credentials, a Lambda invocation, a CI run) is derived from its identity and time
//! alone, so an attack can act with exactly the credentials its victim holds at that moment.
//!
//! Honest noise, on purpose: CI release days with three times the runs, an occasional hotfix run
//! in the evening, instances replaced every few days (new ids and addresses in the same
//! network), people working late or changing IAM roles, the onboarding bot's IAM writes and
//! the nightly snapshot shares inside the organisation.

use super::roster::{Kind, Member, aws_address, runner_address};
use super::{BACKUP_ACCOUNT, Clock, DAY, HOUR};
use crate::agents;
use crate::calls::{
    Routine, create_login_profile, create_snapshot, create_user, routine_call, s3_object, share_snapshot,
};
use crate::cloudtrail::{
    ApiCall, Caller, Federation, aws_display_time, iam_user_identity, is_weekday, role_session_identity, weekday, ymd,
};
use crate::rng::Rng;
use serde_json::{Value, json};

/// Seconds one set of instance-profile credentials lives.
const INSTANCE_SESSION_SECS: i64 = 6 * HOUR;

/// Records of one identity on one day: (event time, record). Times may run a few minutes past
/// the day's end (a run started just before midnight); the caller orders them.
pub(super) fn member_day(clock: &Clock, member: &Member, day: i64, out: &mut Vec<(i64, Value)>) {
    let mut rng = clock.rng("day", member.index, &[day]);
    let rng = &mut rng;
    match member.kind {
        Kind::CiKey => ci_key_day(clock, member, day, rng, out),
        Kind::CiOidc => ci_oidc_day(clock, member, day, rng, out),
        Kind::Cron => cron_day(clock, member, day, rng, out),
        Kind::Instance => instance_day(clock, member, day, rng, out),
        Kind::Etl => etl_day(clock, member, day, rng, out),
        Kind::Backup => backup_day(clock, member, day, rng, out),
        Kind::Provisioner => provisioner_day(clock, member, day, rng, out),
        Kind::Retired => retired_day(clock, member, day, rng, out),
        Kind::Human => human_day(clock, member, day, rng, out),
    }
}

fn push(out: &mut Vec<(i64, Value)>, time: i64, call: ApiCall<'_>, rng: &mut Rng) {
    out.push((time, call.build(rng)));
}

/// The IAM user `member` signing with its long-lived key from `ip`.
pub(super) fn user_caller(member: &Member, ip: &str, agent: &str) -> Caller {
    let identity = iam_user_identity(member.account, &member.name, &member.user_id, &member.access_key);
    Caller::new(identity, member.account, ip, agent)
}

/// The instance `slot` of an instance-profile role at `time`: instance id and address of the
/// instance alive then (instances are replaced every `lifetime_days`, phase-shifted per role)
/// and the six-hour credentials of that window.
pub(super) fn instance_caller(clock: &Clock, member: &Member, slot: u64, time: i64) -> Caller {
    let since = time - clock.start;
    let day = since.div_euclid(DAY);
    let generation = (day + member.index as i64 % member.lifetime_days) / member.lifetime_days;
    let mut host = clock.rng("instance", member.index, &[slot as i64, generation]);
    let instance = format!("i-0{}", host.hex(16));
    let ip = if member.kind == Kind::Provisioner {
        member.home_ip.clone()
    } else {
        aws_address(member.region, false, &mut host)
    };
    let window = since.div_euclid(INSTANCE_SESSION_SECS);
    let mut session = clock.rng("instance-session", member.index, &[slot as i64, generation, window]);
    let key = session.aws_id("ASIA", 16);
    let created = clock.start + window * INSTANCE_SESSION_SECS + session.range(5, 120);
    let role = member.role.as_ref().expect("instance kinds are built with a role (roster::new_member)");
    let identity = role_session_identity(role, &instance, &key, created.min(time), false, Federation::None);
    Caller::new(identity, member.account, &ip, member.agent)
}

/// The Lambda invocation number `fire` (index into the schedule) of `day`: one session per
/// invocation, from an AWS address of the function's region.
pub(super) fn lambda_caller(clock: &Clock, member: &Member, day: i64, fire: usize) -> Caller {
    let nominal = clock.day_start(day) + member.schedule.get(fire).copied().unwrap_or(0);
    let mut session = clock.rng("lambda-session", member.index, &[day, fire as i64]);
    let key = session.aws_id("ASIA", 16);
    let ip = aws_address(member.region, true, &mut session);
    let name = match member.kind {
        Kind::Backup => format!("{}-{}", member.name, ymd(nominal)),
        _ => member.name.clone(),
    };
    let role = member.role.as_ref().expect("Lambda kinds are built with a role (roster::new_member)");
    let identity = role_session_identity(role, &name, &key, nominal, false, Federation::None);
    Caller::new(identity, member.account, &ip, member.agent)
}

/// One routine call of `action` by a workload; its S3 objects are partitioned by day.
fn routine<'a>(action: Routine, caller: &'a Caller, member: &'a Member, time: i64, rng: &mut Rng) -> ApiCall<'a> {
    routine_call(action, caller, time, member.workload(), |_| ymd(time), rng)
}

/// Sorted start times of `count` runs between `from_hour` and 15 minutes before `until_hour`.
fn run_starts(day_start: i64, count: i64, hours: (i64, i64), rng: &mut Rng) -> Vec<i64> {
    let (first, last) = (day_start + hours.0 * HOUR, day_start + hours.1 * HOUR - 15 * 60);
    let mut starts: Vec<i64> = (0..count).map(|_| rng.range(first, last)).collect();
    starts.sort_unstable();
    starts
}

/// Weekday runs, three times as many on a release day (6 %), and now and then (2 % of days) a
/// hotfix run in the evening.
fn ci_run_starts(clock: &Clock, member: &Member, day: i64, rng: &mut Rng) -> Vec<i64> {
    let day_start = clock.day_start(day);
    if !is_weekday(day_start) {
        return Vec::new();
    }
    let mut runs = rng.range(member.runs.0, member.runs.1);
    if rng.chance(0.06) {
        runs *= 3;
    }
    let mut starts = run_starts(day_start, runs, member.hours, rng);
    if rng.chance(0.02) {
        starts.push(day_start + member.hours.1 * HOUR + rng.range(0, 150 * 60));
    }
    starts
}

/// `svc_ci_…` building an image, uploading artifacts and rolling an ECS service.
fn ci_key_day(clock: &Clock, member: &Member, day: i64, rng: &mut Rng, out: &mut Vec<(i64, Value)>) {
    for start in ci_run_starts(clock, member, day, rng) {
        let ip = runner_address(rng);
        let with_agent = |agent: &str| user_caller(member, &ip, agent);
        let region = member.region;
        let commit = rng.hex(7);
        let mut t = start;
        let caller = with_agent(&agents::aws_cli_command("sts.get-caller-identity"));
        push(out, t, ApiCall::new(&caller, t, "sts", "GetCallerIdentity"), rng);
        t += rng.range(2, 6);
        let caller = with_agent(&agents::aws_cli_command("ecr.get-login-password"));
        push(out, t, ApiCall::new(&caller, t, "ecr", "GetAuthorizationToken").region(region), rng);
        let docker = with_agent(agents::DOCKER);
        for _ in 0..rng.range(1, 3) {
            t += rng.range(1, 4);
            let call = ApiCall::new(&docker, t, "ecr", "BatchCheckLayerAvailability")
                .region(region)
                .request(json!({"repositoryName": member.queue, "layerDigests": [format!("sha256:{}", rng.hex(64))]}));
            push(out, t, call, rng);
        }
        t += rng.range(20, 90);
        let call = ApiCall::new(&docker, t, "ecr", "PutImage")
            .region(region)
            .request(json!({"repositoryName": member.queue, "imageTag": commit, "registryId": member.account}));
        push(out, t, call, rng);
        let caller = with_agent(&agents::aws_cli_command("s3.cp"));
        for file in ["bundle.tar.gz", "manifest.json"].iter().take(rng.range(1, 2) as usize) {
            t += rng.range(3, 15);
            let key = format!("builds/{commit}/{file}");
            push(out, t, s3_object(&caller, t, "PutObject", region, &member.bucket, &key, None, rng), rng);
        }
        t += rng.range(2, 8);
        let caller = with_agent(&agents::aws_cli_command("ecs.update-service"));
        let call = ApiCall::new(&caller, t, "ecs", "UpdateService")
            .region(region)
            .request(json!({"cluster": "main", "service": member.queue, "forceNewDeployment": true}));
        push(out, t, call, rng);
        let caller = with_agent(&agents::aws_cli_command("ecs.wait"));
        for _ in 0..rng.range(1, 3) {
            t += rng.range(15, 40);
            let call = ApiCall::new(&caller, t, "ecs", "DescribeServices")
                .region(region)
                .request(json!({"cluster": "main", "services": [member.queue]}));
            push(out, t, call, rng);
        }
    }
}

/// GitHub Actions publishing a front end through an OIDC role session per run.
fn ci_oidc_day(clock: &Clock, member: &Member, day: i64, rng: &mut Rng, out: &mut Vec<(i64, Value)>) {
    let role = member.role.as_ref().expect("CI OIDC members are built with a role (roster::new_member)");
    let provider = format!("arn:aws:iam::{}:oidc-provider/token.actions.githubusercontent.com", member.account);
    for start in ci_run_starts(clock, member, day, rng) {
        let session = format!("GitHubActions-{}", 13_000_000_000 + rng.below(1_000_000_000));
        let key = rng.aws_id("ASIA", 16);
        let ip = runner_address(rng);
        let identity = role_session_identity(role, &session, &key, start, false, Federation::WebIdentity(&provider));
        let with_agent =
            |command: &str| Caller::new(identity.clone(), member.account, &ip, &agents::aws_cli_command(command));
        let mut t = start + rng.range(1, 4);
        let caller = with_agent("sts.get-caller-identity");
        push(out, t, ApiCall::new(&caller, t, "sts", "GetCallerIdentity"), rng);
        let caller = with_agent("s3.sync");
        for _ in 0..rng.range(1, 3) {
            t += rng.range(2, 20);
            let key = format!("web/{}/assets-{}.js", rng.hex(7), rng.hex(8));
            push(out, t, s3_object(&caller, t, "PutObject", member.region, &member.bucket, &key, None, rng), rng);
        }
        t += rng.range(2, 8);
        let caller = with_agent("cloudformation.describe-stacks");
        let call = ApiCall::new(&caller, t, "cloudformation", "DescribeStacks")
            .region(member.region)
            .request(json!({"stackName": member.queue}));
        push(out, t, call, rng);
    }
}

/// A scheduled Lambda function: the same few calls at the same minutes every day.
fn cron_day(clock: &Clock, member: &Member, day: i64, rng: &mut Rng, out: &mut Vec<(i64, Value)>) {
    for fire in 0..member.schedule.len() {
        let caller = lambda_caller(clock, member, day, fire);
        let mut t = clock.day_start(day) + member.schedule[fire] + rng.range(0, 20);
        for &action in &member.actions {
            push(out, t, routine(action, &caller, member, t, rng), rng);
            t += rng.range(0, 3);
        }
    }
}

/// Application instances polling around the clock, each cycle the role's main call and now and
/// then another one.
fn instance_day(clock: &Clock, member: &Member, day: i64, rng: &mut Rng, out: &mut Vec<(i64, Value)>) {
    let day_start = clock.day_start(day);
    for slot in 0..member.instances {
        let mut t = day_start + rng.range(0, member.cycle_secs);
        let mut current: Option<(i64, Caller)> = None;
        while t < day_start + DAY {
            let window = (t - clock.start).div_euclid(INSTANCE_SESSION_SECS);
            if current.as_ref().is_none_or(|(w, _)| *w != window) {
                current = Some((window, instance_caller(clock, member, slot, t)));
            }
            let Some((_, caller)) = &current else { break };
            push(out, t, routine(member.actions[0], caller, member, t, rng), rng);
            if member.actions.len() > 1 && rng.chance(0.5) {
                t += rng.range(1, 10);
                let action = member.actions[1 + rng.below(member.actions.len() as u64 - 1) as usize];
                push(out, t, routine(action, caller, member, t, rng), rng);
            }
            t += rng.range(member.cycle_secs / 2, member.cycle_secs * 3 / 2);
        }
    }
}

/// The ETL job: at the same minute of every hour it reads four to six objects of 15–25 MB
/// (about 100 MB an hour) and writes one result.
fn etl_day(clock: &Clock, member: &Member, day: i64, rng: &mut Rng, out: &mut Vec<(i64, Value)>) {
    let minute = member.schedule.first().copied().unwrap_or(0);
    for hour in 0..24 {
        let mut t = clock.day_start(day) + hour * HOUR + minute + rng.range(0, 30);
        let caller = instance_caller(clock, member, 0, t);
        for part in 0..rng.range(4, 6) {
            let key = format!("raw/{}/{hour:02}/part-{part:04}.parquet", ymd(t));
            let bytes = rng.range(15_000_000, 25_000_000);
            push(
                out,
                t,
                s3_object(&caller, t, "GetObject", member.region, &member.bucket, &key, Some(bytes), rng),
                rng,
            );
            t += rng.range(2, 9);
        }
        t += rng.range(20, 90);
        let key = format!("curated/{}/{hour:02}/summary.parquet", ymd(t));
        let bytes = rng.range(2_000_000, 8_000_000);
        push(out, t, s3_object(&caller, t, "PutObject", member.region, &member.bucket, &key, Some(bytes), rng), rng);
    }
}

/// The nightly backup: snapshot each volume, wait, share each snapshot with the backup vault
/// account (inside the organisation).
fn backup_day(clock: &Clock, member: &Member, day: i64, rng: &mut Rng, out: &mut Vec<(i64, Value)>) {
    let caller = lambda_caller(clock, member, day, 0);
    let region = member.region;
    let mut t = clock.day_start(day) + member.schedule.first().copied().unwrap_or(0) + rng.range(2, 40);
    let mut snapshots = Vec::new();
    for volume in &member.volumes {
        t += rng.range(1, 4);
        let snapshot = format!("snap-0{}", rng.hex(16));
        let description = format!("nightly backup {volume} {}", ymd(t));
        push(out, t, create_snapshot(&caller, t, region, volume, &snapshot, &description, rng), rng);
        snapshots.push(snapshot);
    }
    for _ in 0..rng.range(1, 2) {
        t += rng.range(120, 300);
        let call = ApiCall::new(&caller, t, "ec2", "DescribeSnapshots").region(region).request(json!({
            "snapshotSet": {"items": snapshots.iter().map(|s| json!({"snapshotId": s})).collect::<Vec<_>>()},
        }));
        push(out, t, call, rng);
    }
    for snapshot in &snapshots {
        t += rng.range(1, 5);
        push(out, t, share_snapshot(&caller, t, region, snapshot, BACKUP_ACCOUNT, rng), rng);
    }
}

/// New hires starting in week `week` of the story (one to three).
fn hires_in_week(clock: &Clock, member: &Member, week: i64) -> i64 {
    clock.rng("hires", member.index, &[week]).range(1, 3)
}

/// The onboarding bot: Mondays at 09:00 it lists users, then creates each new hire with a
/// console password (reset at first sign-in) and puts them in the `engineering` group.
fn provisioner_day(clock: &Clock, member: &Member, day: i64, rng: &mut Rng, out: &mut Vec<(i64, Value)>) {
    let day_start = clock.day_start(day);
    if weekday(day_start) != 0 {
        return;
    }
    let week = day / 7;
    let earlier: i64 = (0..week).map(|w| hires_in_week(clock, member, w)).sum();
    let mut t = day_start + 9 * HOUR + rng.range(1, 30);
    let caller = instance_caller(clock, member, 0, t);
    push(out, t, ApiCall::new(&caller, t, "iam", "ListUsers").request(json!({"maxItems": 1000})), rng);
    for hire in 0..hires_in_week(clock, member, week) {
        let user = format!("new-hire-{}", earlier + hire + 1);
        t += rng.range(1, 4);
        push(out, t, create_user(&caller, t, &user, &rng.aws_id("AIDA", 17)), rng);
        t += rng.range(1, 3);
        push(out, t, create_login_profile(&caller, t, &user, true), rng);
        t += rng.range(1, 3);
        let call = ApiCall::new(&caller, t, "iam", "AddUserToGroup")
            .request(json!({"groupName": "engineering", "userName": user}));
        push(out, t, call, rng);
    }
}

/// The retired export job's last run, on the first day: its key is never used again (until the
/// planted attack).
fn retired_day(clock: &Clock, member: &Member, day: i64, rng: &mut Rng, out: &mut Vec<(i64, Value)>) {
    if day != 0 {
        return;
    }
    let caller = user_caller(member, &member.home_ip, agents::BOTO);
    let mut t = clock.day_start(day) + 3 * HOUR + rng.range(0, 600);
    push(out, t, ApiCall::new(&caller, t, "sts", "GetCallerIdentity"), rng);
    for part in 0..3 {
        t += rng.range(1, 5);
        let key = format!("exports/{}/part-{part}.csv.gz", ymd(t));
        push(out, t, s3_object(&caller, t, "GetObject", member.region, &member.bucket, &key, None, rng), rng);
    }
    t += rng.range(5, 30);
    let key = format!("exports/{}/done.json", ymd(t));
    push(out, t, s3_object(&caller, t, "PutObject", member.region, &member.bucket, &key, None, rng), rng);
}

/// Read-only console calls: (service, event name).
const CONSOLE_READS: [(&str, &str); 14] = [
    ("ec2", "DescribeInstances"),
    ("ec2", "DescribeSecurityGroups"),
    ("ec2", "DescribeVpcs"),
    ("s3", "ListBuckets"),
    ("iam", "ListRoles"),
    ("iam", "GetRole"),
    ("cloudtrail", "LookupEvents"),
    ("logs", "DescribeLogGroups"),
    ("logs", "FilterLogEvents"),
    ("ecs", "DescribeServices"),
    ("cloudformation", "DescribeStacks"),
    ("rds", "DescribeDBInstances"),
    ("lambda", "ListFunctions20150331"),
    ("monitoring", "DescribeAlarms"),
];

/// A person on the console: weekdays in their office's hours (10 % of days off, 5 % working
/// late), a few clusters of reads, and rarely a change (a role for a new workload, an instance
/// started).
fn human_day(clock: &Clock, member: &Member, day: i64, rng: &mut Rng, out: &mut Vec<(i64, Value)>) {
    let day_start = clock.day_start(day);
    if !is_weekday(day_start) || rng.chance(0.1) {
        return;
    }
    let role = member.role.as_ref().expect("people are built with an SSO role (roster::new_member)");
    let office = member.office;
    let login = day_start + office.from_hour * HOUR + rng.range(0, 90 * 60);
    let late = if rng.chance(0.05) { rng.range(HOUR, 3 * HOUR) } else { 0 };
    let until = day_start + office.until_hour * HOUR + late;
    let key = rng.aws_id("ASIA", 16);
    let identity = role_session_identity(role, &member.name, &key, login, false, Federation::None);
    let mut caller = Caller::new(identity, member.account, &member.home_ip, member.agent);
    let call = ApiCall::new(&caller, login, "signin", "ConsoleLogin")
        .response(json!({"ConsoleLogin": "Success"}))
        .additional(json!({"MobileVersion": "No", "MFAUsed": "Yes"}));
    push(out, login, call, rng);
    caller.console = true;
    let mut starts: Vec<i64> = (0..rng.range(2, 6)).map(|_| rng.range(login + 300, until)).collect();
    starts.sort_unstable();
    for start in starts {
        let mut t = start;
        for _ in 0..rng.range(2, 5) {
            let (service, name) = *rng.pick(&CONSOLE_READS);
            push(out, t, ApiCall::new(&caller, t, service, name), rng);
            t += rng.range(5, 90);
        }
    }
    if rng.chance(0.03) {
        let t = rng.range(login + 600, until);
        let new_role = format!("{}-{}", member.queue, rng.hex(4));
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let call = ApiCall::new(&caller, t, "iam", "CreateRole")
            .request(json!({"roleName": new_role, "assumeRolePolicyDocument": trust}))
            .response(json!({"role": {
                "path": "/",
                "roleName": new_role,
                "roleId": rng.aws_id("AROA", 17),
                "arn": format!("arn:aws:iam::{}:role/{new_role}", member.account),
                "createDate": aws_display_time(t),
            }}));
        push(out, t, call, rng);
        let t = t + rng.range(20, 90);
        let call = ApiCall::new(&caller, t, "iam", "AttachRolePolicy").request(json!({
            "roleName": new_role,
            "policyArn": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        }));
        push(out, t, call, rng);
    } else if rng.chance(0.04) {
        let t = rng.range(login + 600, until);
        let call = ApiCall::new(&caller, t, "ec2", "StartInstances").request(json!({
            "instancesSet": {"items": [{"instanceId": format!("i-0{}", rng.hex(16))}]},
        }));
        push(out, t, call, rng);
    }
}
