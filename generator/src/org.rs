//! A large synthetic organisation, for benchmarks and soak tests: many identities across about
//! twenty accounts, a realistic mix of workload and human activity, and a trickle of
//! attack-like events so that detection rules have work.
//!
//! Identity mix (by count): about 70 % roles (instance profiles 30 %, Lambda functions 20 %,
//! web identity 20 %: GitHub Actions OIDC and EKS service accounts), 20 % IAM users signing with
//! long-lived `AKIA` keys, 10 % people in IAM Identity Center (SSO) sessions. Each person gets a
//! permission-set role of their own so that every identity stays distinct whether a consumer
//! keys identities by role or by session.
//!
//! Records are produced lazily, already in event-time order, so a million of them stream in a
//! few seconds without being held in memory. Only calls made *by* these identities are
//! emitted: no `AWSService` or `WebIdentityUser` records, which would add identities beyond the
//! requested count.
//!
//! Attack-like events: one in every 20,000 (5 per 100k), rotating through `iam:CreateUser`,
//! `iam:CreateAccessKey` for another user, and `ec2:ModifySnapshotAttribute` sharing a
//! snapshot with an account outside the organisation.

use crate::agents;
use crate::calls::{Routine, Workload, create_access_key, create_snapshot, create_user, routine_call, share_snapshot};
use crate::cloudtrail::{ApiCall, Caller, Federation, Role, iam_user_identity, is_weekday, role_session_identity};
use crate::rng::{Rng, hash64};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// What synthetic organisation to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgSpec {
    /// Distinct identities (IAM roles and users) that act. All of them appear when
    /// `events >= identities`; otherwise `events` of them do.
    pub identities: usize,
    /// Records to produce, exactly.
    pub events: usize,
    /// Seed of every random choice: the same spec gives the same records, byte for byte.
    pub seed: u64,
    /// Event time of the first record (sub-second part ignored).
    pub start: DateTime<Utc>,
    /// Days the records are spread over, evenly (0 puts them all on `start`'s second).
    pub days: u32,
}

impl Default for OrgSpec {
    /// The benchmark size: 50,000 identities, 1,000,000 events over 7 days from
    /// 2026-03-09T00:00:00Z, seed 1.
    fn default() -> Self {
        Self {
            identities: 50_000,
            events: 1_000_000,
            seed: 1,
            start: DateTime::from_timestamp(1_773_014_400, 0).unwrap_or_default(),
            days: 7,
        }
    }
}

/// The records of `spec`, produced lazily in event-time order (`.collect()` for a `Vec`).
///
/// Setting up costs one pass over the identities; each record then costs a few microseconds
/// in release builds (about 4 s per million on a 2-core machine, dropping included).
pub fn org_records(spec: &OrgSpec) -> OrgRecords {
    OrgRecords::new(spec)
}

/// How many accounts the organisation has (fewer when there are fewer identities).
const ACCOUNTS: usize = 20;
/// One attack-like event every this many events.
const ATTACK_EVERY: usize = 20_000;
/// Accounts outside the organisation that attack-like snapshot shares go to.
const EXTERNAL_ACCOUNTS: [&str; 3] = ["999988887777", "444455556666", "731293847561"];
const REGIONS: [&str; 10] = [
    "us-east-1",
    "us-east-1",
    "us-east-1",
    "us-east-1",
    "us-east-1",
    "us-east-1",
    "us-west-2",
    "us-west-2",
    "eu-west-1",
    "ap-southeast-2",
];

/// How an identity gets its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// EC2 instance profile: sessions named after the instance id, six-hour credentials.
    InstanceProfile,
    /// Lambda execution role: sessions named after the function.
    Lambda,
    /// GitHub Actions through OIDC: `GitHubActions-<run id>` sessions.
    GitHubOidc,
    /// EKS service account through the cluster's OIDC provider (IRSA).
    EksIrsa,
    /// IAM user with a long-lived access key.
    ServiceUser,
    /// A person in an SSO session, weekdays 07:00–19:00 UTC only.
    Person,
}

impl Kind {
    /// Seconds one set of session credentials lives (and so one session's `creationDate`).
    fn session_secs(self) -> i64 {
        match self {
            Self::InstanceProfile => 6 * 3600,
            Self::Lambda | Self::GitHubOidc | Self::EksIrsa => 3600,
            Self::Person => 86_400,
            Self::ServiceUser => i64::MAX,
        }
    }
}

/// What an identity does. Each identity uses a few of the actions its kind allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// A workload's routine call, as in the story organisation.
    Routine(Routine),
    GetCallerIdentity,
    EcrAuth,
    EcrPutImage,
    EcsUpdateService,
    EcsDescribeServices,
    CfnDescribeStacks,
    EksDescribeCluster,
    Ec2DescribeInstances,
    Ec2DescribeSnapshots,
    Ec2CreateSnapshot,
    Route53ChangeRecords,
    IamListRoles,
    IamGetRole,
    S3ListBuckets,
    LookupEvents,
    RdsDescribeInstances,
    Ec2StartInstances,
    LogsFilter,
}

const INSTANCE_ACTIONS: &[Action] = &[
    Action::Routine(Routine::SqsReceive),
    Action::Routine(Routine::S3Get),
    Action::Routine(Routine::SsmGetParameter),
    Action::Routine(Routine::S3Put),
    Action::Routine(Routine::KmsDecrypt),
    Action::Routine(Routine::GetSecretValue),
    Action::Routine(Routine::SqsSend),
    Action::Routine(Routine::PutMetricData),
    Action::Routine(Routine::DynamoDescribeTable),
];
const LAMBDA_ACTIONS: &[Action] = &[
    Action::Routine(Routine::S3Get),
    Action::Routine(Routine::S3Put),
    Action::Routine(Routine::SqsSend),
    Action::Routine(Routine::KmsDecrypt),
    Action::Routine(Routine::GetSecretValue),
    Action::Routine(Routine::DynamoDescribeTable),
    Action::Ec2DescribeSnapshots,
    Action::Ec2CreateSnapshot,
    Action::Routine(Routine::SsmGetParameter),
];
const GITHUB_ACTIONS: &[Action] = &[
    Action::GetCallerIdentity,
    Action::EcrAuth,
    Action::EcrPutImage,
    Action::EcsUpdateService,
    Action::EcsDescribeServices,
    Action::CfnDescribeStacks,
    Action::Routine(Routine::S3Put),
];
const EKS_ACTIONS: &[Action] = &[
    Action::Routine(Routine::S3Get),
    Action::Routine(Routine::SqsReceive),
    Action::Routine(Routine::GetSecretValue),
    Action::EksDescribeCluster,
    Action::Routine(Routine::KmsDecrypt),
    Action::Routine(Routine::S3Put),
];
const USER_ACTIONS: &[Action] = &[
    Action::Routine(Routine::S3Put),
    Action::Routine(Routine::S3Get),
    Action::GetCallerIdentity,
    Action::Routine(Routine::PutMetricData),
    Action::EcrAuth,
    Action::Route53ChangeRecords,
    Action::Ec2DescribeInstances,
];
const PERSON_ACTIONS: &[Action] = &[
    Action::Ec2DescribeInstances,
    Action::LookupEvents,
    Action::IamListRoles,
    Action::S3ListBuckets,
    Action::CfnDescribeStacks,
    Action::LogsFilter,
    Action::IamGetRole,
    Action::RdsDescribeInstances,
    Action::EcsDescribeServices,
    Action::Ec2StartInstances,
];

const WORKLOADS: [&str; 16] = [
    "api",
    "web",
    "worker",
    "ingest",
    "etl",
    "search",
    "billing",
    "reporting",
    "orders",
    "auth",
    "notifier",
    "scheduler",
    "media",
    "payments",
    "catalog",
    "analytics",
];
const FIRST_NAMES: [&str; 12] =
    ["ana", "ben", "chen", "dara", "eli", "fatima", "gus", "hana", "ivan", "jo", "kofi", "lena"];

/// One identity of the organisation.
#[derive(Debug)]
struct Member {
    kind: Kind,
    /// Account id.
    account: String,
    region: &'static str,
    /// The role of role-based kinds and people; `None` for IAM users.
    role: Option<Role>,
    /// IAM user name, person's e-mail, Lambda function name or workload name.
    name: String,
    /// IAM user unique id (users only).
    user_id: String,
    /// IAM user access key (users only).
    access_key: String,
    agent: &'static str,
    actions: Vec<Action>,
    bucket: String,
    queue: String,
    /// The caller of the current session and the session window it belongs to.
    session: Option<(i64, Caller)>,
}

/// Iterator over the records of an [`OrgSpec`]; see [`org_records`].
#[derive(Debug)]
pub struct OrgRecords {
    rng: Rng,
    members: Vec<Member>,
    /// Indices of members that may act at any hour (everyone but people).
    always_on: Vec<usize>,
    /// Indices of IAM users, whose keys attack-like events create.
    users: Vec<usize>,
    /// Coverage order: the i-th coverage event goes to `cover_order[i]`.
    cover_order: Vec<usize>,
    /// Activity rank: low ranks act more often.
    by_activity: Vec<usize>,
    /// People whose coverage event fell outside office hours, waiting for office hours.
    pending_people: Vec<usize>,
    start: i64,
    span_secs: u128,
    events: usize,
    cover_total: usize,
    covered: usize,
    attack_offset: usize,
    next: usize,
}

impl OrgRecords {
    fn new(spec: &OrgSpec) -> Self {
        let root = Rng::new(spec.seed);
        let mut rng = root.fork("org-accounts");
        let account_count = ACCOUNTS.min(spec.identities.max(1));
        let mut accounts: Vec<String> = Vec::with_capacity(account_count);
        while accounts.len() < account_count {
            let id = format!("{:012}", 100_000_000_000 + rng.below(800_000_000_000));
            if !accounts.contains(&id) && !EXTERNAL_ACCOUNTS.contains(&id.as_str()) {
                accounts.push(id);
            }
        }
        let mut rng = root.fork("org-members");
        let members: Vec<Member> = (0..spec.identities).map(|index| new_member(index, &accounts, &mut rng)).collect();
        let always_on = (0..members.len()).filter(|&i| members[i].kind != Kind::Person).collect();
        let users = (0..members.len()).filter(|&i| members[i].kind == Kind::ServiceUser).collect();
        // People are owed their record first, so a span ending at night or on a weekend does
        // not leave any of them waiting for office hours that never come.
        let mut cover_order = shuffled(members.len(), &mut rng);
        cover_order.sort_by_key(|&i| members[i].kind != Kind::Person);
        let by_activity = shuffled(members.len(), &mut rng);
        let attack_offset = rng.below(ATTACK_EVERY as u64) as usize;
        Self {
            rng: root.fork("org-events"),
            members,
            always_on,
            users,
            cover_order,
            by_activity,
            pending_people: Vec::new(),
            start: spec.start.timestamp(),
            span_secs: u128::from(spec.days) * 86_400,
            events: spec.events,
            cover_total: spec.identities.min(spec.events),
            covered: 0,
            attack_offset,
            next: 0,
        }
    }

    /// Event time of the `k`-th record: spread evenly over the span with jitter inside each
    /// record's own slice of it, so times never go backwards.
    fn time_of(&mut self, k: usize) -> i64 {
        if self.span_secs == 0 || self.events == 0 {
            return self.start;
        }
        let events = self.events as u128;
        let jitter = u128::from(self.rng.below(self.span_secs.min(u128::from(u64::MAX)) as u64));
        let offset = (k as u128 * self.span_secs + jitter) / events;
        self.start + offset as i64
    }

    /// Which member acts in the `k`-th record at `time`.
    ///
    /// Every member is owed one *coverage* record, scheduled evenly over the records; the rest
    /// go to members drawn by activity. People owed a record outside office hours wait for the
    /// next office-hours record. When only as many records remain as members are owed, each
    /// remaining record pays a debt, so all `min(identities, events)` members appear.
    fn choose_member(&mut self, k: usize, time: i64) -> usize {
        let office = is_office_hours(time);
        let remaining = self.events - k;
        let owed = (self.cover_total - self.covered) + self.pending_people.len();
        let forced = remaining <= owed;
        if let Some(member) = (office || forced).then(|| self.pending_people.pop()).flatten() {
            return member;
        }
        let scheduled = ((k + 1) * self.cover_total / self.events) > (k * self.cover_total / self.events);
        if (forced || scheduled) && self.covered < self.cover_total {
            let member = self.cover_order[self.covered];
            self.covered += 1;
            if office || forced || self.members[member].kind != Kind::Person {
                return member;
            }
            self.pending_people.push(member);
        }
        self.random_member(office)
    }

    /// A member drawn with a skew towards the low activity ranks (a few identities are busy,
    /// most are quiet).
    fn random_member(&mut self, office: bool) -> usize {
        let u = self.rng.unit();
        let skewed = u * u;
        if office || self.always_on.is_empty() {
            let rank = (skewed * self.by_activity.len() as f64) as usize;
            self.by_activity[rank.min(self.by_activity.len() - 1)]
        } else {
            let rank = (skewed * self.always_on.len() as f64) as usize;
            self.always_on[rank.min(self.always_on.len() - 1)]
        }
    }
}

impl Iterator for OrgRecords {
    type Item = Value;

    fn next(&mut self) -> Option<Value> {
        if self.next >= self.events || self.members.is_empty() {
            return None;
        }
        let k = self.next;
        self.next += 1;
        let time = self.time_of(k);
        let index = self.choose_member(k, time);
        let attack = k % ATTACK_EVERY == self.attack_offset;
        let mut rng = self.rng.clone();
        let kind = self.members[index].kind;
        let session_secs = kind.session_secs();
        let window = (time - self.start) / session_secs;
        // Users and people keep one session for long, so theirs is built once and cloned into
        // each record. Workload sessions turn over within a few records, so theirs is built
        // for every record and moved into it: cheaper than build, clone and drop.
        let fresh = match kind {
            Kind::ServiceUser | Kind::Person => None,
            _ => {
                let window_start = self.start + window * session_secs;
                let member = &self.members[index];
                Some(session_caller(member, index, window, window_start))
            }
        };
        let mut new_session = false;
        if fresh.is_none() && self.members[index].session.as_ref().is_none_or(|(w, _)| *w != window) {
            new_session = true;
            let caller = session_caller(&self.members[index], index, window, time);
            self.members[index].session = Some((window, caller));
        }
        let member = &self.members[index];
        let owned;
        let (caller, identity) = match fresh {
            Some(mut caller) => {
                let identity = std::mem::take(&mut caller.identity);
                owned = caller;
                (&owned, Some(identity))
            }
            None => (&member.session.as_ref()?.1, None),
        };
        let call = if attack {
            let victim = match self.users.len() {
                0 => "deploy-bot".to_owned(),
                n => self.members[self.users[rng.below(n as u64) as usize]].name.clone(),
            };
            attack_call(k / ATTACK_EVERY, caller, member, time, &victim, &mut rng)
        } else if new_session && kind == Kind::Person {
            ApiCall::new(caller, time, "signin", "ConsoleLogin")
                .response(json!({"ConsoleLogin": "Success"}))
                .additional(json!({"MobileVersion": "No", "MFAUsed": "No"}))
        } else {
            let action = {
                let u = rng.unit();
                member.actions[((u * u) * member.actions.len() as f64) as usize % member.actions.len()]
            };
            let mut call = normal_call(action, caller, member, time, &mut rng);
            if action_is_read(action) && rng.chance(0.004) {
                let who = identity.as_ref().unwrap_or(&caller.identity);
                let text = format!(
                    "User: {} is not authorized to perform this operation",
                    who.get("arn").and_then(Value::as_str).unwrap_or_default()
                );
                call = call.error("AccessDenied", text);
            }
            call
        };
        let record = match identity {
            Some(identity) => call.identity(identity).build(&mut rng),
            None => call.build(&mut rng),
        };
        self.rng = rng;
        Some(record)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = if self.members.is_empty() { 0 } else { self.events - self.next };
        (left, Some(left))
    }
}

impl ExactSizeIterator for OrgRecords {}

/// Weekdays 07:00–19:00 UTC, when people act.
fn is_office_hours(time: i64) -> bool {
    let hour = time.rem_euclid(86_400) / 3600;
    is_weekday(time) && (7..19).contains(&hour)
}

/// `0..n` in a random order (Fisher–Yates).
fn shuffled(n: usize, rng: &mut Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    order
}

fn new_member(index: usize, accounts: &[String], rng: &mut Rng) -> Member {
    let kind = match rng.below(100) {
        0..=29 => Kind::InstanceProfile,
        30..=49 => Kind::Lambda,
        50..=59 => Kind::GitHubOidc,
        60..=69 => Kind::EksIrsa,
        70..=89 => Kind::ServiceUser,
        _ => Kind::Person,
    };
    // A few accounts (production) hold most identities.
    let account = {
        let u = rng.unit();
        let index = (u * u * accounts.len() as f64) as usize;
        accounts[index.min(accounts.len() - 1)].clone()
    };
    let workload = *rng.pick(&WORKLOADS);
    let (name, agent, actions): (String, &'static str, &[Action]) = match kind {
        Kind::InstanceProfile => (format!("{workload}-{index}"), agents::JAVA_SDK, INSTANCE_ACTIONS),
        Kind::Lambda => (format!("{workload}-fn-{index}"), agents::LAMBDA_BOTO, LAMBDA_ACTIONS),
        Kind::GitHubOidc => (format!("gha-{workload}-deploy-{index}"), agents::AWS_CLI_S3_CP, GITHUB_ACTIONS),
        Kind::EksIrsa => (format!("eks-{workload}-{index}"), agents::GO_SDK, EKS_ACTIONS),
        Kind::ServiceUser => {
            let agent = *rng.pick(&[agents::AWS_CLI_S3_CP, agents::BOTO, agents::TERRAFORM]);
            (format!("svc_{workload}_{index}"), agent, USER_ACTIONS)
        }
        Kind::Person => {
            let first = rng.pick(&FIRST_NAMES);
            (format!("{first}.{index}@example.com"), *rng.pick(&agents::BROWSERS), PERSON_ACTIONS)
        }
    };
    let wanted = rng.range(2, 6) as usize;
    let mut chosen: Vec<Action> = Vec::with_capacity(wanted);
    for _ in 0..wanted * 3 {
        let action = *rng.pick(actions);
        if !chosen.contains(&action) {
            chosen.push(action);
        }
        if chosen.len() == wanted {
            break;
        }
    }
    let role = match kind {
        Kind::ServiceUser => None,
        Kind::Person => Some(Role::random_sso(&account, rng)),
        Kind::InstanceProfile | Kind::Lambda | Kind::GitHubOidc | Kind::EksIrsa => {
            Some(Role::new(&account, &format!("{name}-role"), &rng.aws_id("AROA", 17)))
        }
    };
    let region = *rng.pick(&REGIONS);
    Member {
        kind,
        account,
        region,
        role,
        user_id: rng.aws_id("AIDA", 17),
        access_key: rng.aws_id("AKIA", 16),
        bucket: format!("{workload}-{}-{}", rng.hex(6), if kind == Kind::Person { "console" } else { "data" }),
        queue: format!("{workload}-{}", rng.pick(&["jobs", "events", "orders", "ingest"])),
        name,
        agent,
        actions: chosen,
        session: None,
    }
}

/// The caller of `member`'s session number `window` (a new instance-profile, Lambda, CI,
/// EKS or console session). `since` is when the session began: the window's start for
/// workloads, the first record of the day for people.
fn session_caller(member: &Member, index: usize, window: i64, since: i64) -> Caller {
    let seed = hash64(&window.to_le_bytes(), index as u64);
    let account = &member.account;
    let Some(role) = &member.role else {
        let identity = iam_user_identity(account, &member.name, &member.user_id, &member.access_key);
        let ip = match seed % 3 {
            0 => format!("203.0.113.{}", 1 + index % 250),
            _ => aws_ip(index as u64),
        };
        return Caller::new(identity, account, &ip, member.agent);
    };
    let key = Rng::new(seed).aws_id("ASIA", 16);
    let created = if member.kind == Kind::Person { since } else { since - (seed % 600) as i64 };
    let (session, ip, federation) = match member.kind {
        Kind::InstanceProfile => {
            let instance = hash64(member.name.as_bytes(), (window % 3) as u64);
            (format!("i-0{instance:016x}"), aws_ip(instance), None)
        }
        Kind::Lambda => (member.name.clone(), aws_ip(seed), None),
        Kind::GitHubOidc => (
            format!("GitHubActions-{}", 13_000_000_000 + seed % 1_000_000_000),
            format!("140.82.{}.{}", 112 + seed % 16, 1 + (seed >> 8) % 254),
            Some(format!("arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com")),
        ),
        Kind::EksIrsa => (
            format!("botocore-session-{}", 1_700_000_000 + seed % 100_000_000),
            aws_ip(hash64(member.name.as_bytes(), 7)),
            Some(format!(
                "arn:aws:iam::{account}:oidc-provider/oidc.eks.{}.amazonaws.com/id/{:016X}{:016X}",
                member.region,
                hash64(account.as_bytes(), 1),
                hash64(account.as_bytes(), 2)
            )),
        ),
        Kind::Person | Kind::ServiceUser => (member.name.clone(), format!("198.51.100.{}", 1 + index % 250), None),
    };
    let federation = match &federation {
        Some(provider) => Federation::WebIdentity(provider),
        None => Federation::None,
    };
    let identity = role_session_identity(role, &session, &key, created, false, federation);
    let mut caller = Caller::new(identity, account, &ip, member.agent);
    caller.console = member.kind == Kind::Person;
    caller
}

/// A public address in an EC2 range (3.80.0.0/12), derived from `seed`.
fn aws_ip(seed: u64) -> String {
    format!("3.{}.{}.{}", 80 + seed % 16, (seed >> 8) % 256, 1 + (seed >> 16) % 254)
}

fn action_is_read(action: Action) -> bool {
    !matches!(
        action,
        Action::Routine(Routine::S3Put | Routine::SqsSend | Routine::PutMetricData)
            | Action::EcrPutImage
            | Action::EcsUpdateService
            | Action::Ec2CreateSnapshot
            | Action::Route53ChangeRecords
            | Action::Ec2StartInstances
    )
}

/// One ordinary call of `action` by `member`.
fn normal_call<'a>(action: Action, caller: &'a Caller, member: &'a Member, time: i64, rng: &mut Rng) -> ApiCall<'a> {
    let region = member.region;
    let account = &member.account;
    let call = |service: &'a str, name: &'a str| ApiCall::new(caller, time, service, name).region(region);
    match action {
        Action::Routine(routine) => {
            let workload = Workload { region, account, bucket: &member.bucket, queue: &member.queue };
            routine_call(routine, caller, time, workload, |rng| rng.below(10_000).to_string(), rng)
        }
        Action::GetCallerIdentity => call("sts", "GetCallerIdentity"),
        Action::EcrAuth => call("ecr", "GetAuthorizationToken"),
        Action::EcrPutImage => call("ecr", "PutImage").request(json!({
            "repositoryName": member.queue, "imageTag": rng.hex(7), "registryId": account,
        })),
        Action::EcsUpdateService => call("ecs", "UpdateService").request(json!({
            "cluster": "main", "service": member.queue, "forceNewDeployment": true,
        })),
        Action::EcsDescribeServices => {
            call("ecs", "DescribeServices").request(json!({"cluster": "main", "services": [member.queue]}))
        }
        Action::CfnDescribeStacks => {
            call("cloudformation", "DescribeStacks").request(json!({"stackName": member.queue}))
        }
        Action::EksDescribeCluster => call("eks", "DescribeCluster").request(json!({"name": "main"})),
        Action::Ec2DescribeInstances => {
            call("ec2", "DescribeInstances").request(json!({"maxResults": 1000, "filterSet": {}}))
        }
        Action::Ec2DescribeSnapshots => {
            call("ec2", "DescribeSnapshots").request(json!({"ownersSet": {"items": [{"owner": "self"}]}}))
        }
        Action::Ec2CreateSnapshot => {
            let volume = format!("vol-0{}", rng.hex(16));
            let snapshot = format!("snap-0{}", rng.hex(16));
            create_snapshot(caller, time, region, &volume, &snapshot, "scheduled backup", rng)
        }
        Action::Route53ChangeRecords => call("route53", "ChangeResourceRecordSets").request(json!({
            "hostedZoneId": format!("Z{}", rng.upper_hex(13)),
            "changeBatch": {"changes": [{"action": "UPSERT"}]},
        })),
        Action::IamListRoles => call("iam", "ListRoles").request(json!({"maxItems": 1000})),
        Action::IamGetRole => call("iam", "GetRole").request(json!({"roleName": member.queue})),
        Action::S3ListBuckets => {
            call("s3", "ListBuckets").request(json!({"Host": format!("s3.{region}.amazonaws.com")}))
        }
        Action::LookupEvents => call("cloudtrail", "LookupEvents").request(json!({"maxResults": 50})),
        Action::RdsDescribeInstances => call("rds", "DescribeDBInstances").request(json!({"maxRecords": 100})),
        Action::Ec2StartInstances => call("ec2", "StartInstances").request(json!({
            "instancesSet": {"items": [{"instanceId": format!("i-0{}", rng.hex(16))}]},
        })),
        Action::LogsFilter => {
            call("logs", "FilterLogEvents").request(json!({"logGroupName": format!("/aws/{}", member.queue)}))
        }
    }
}

/// The `round`-th attack-like call, rotating through the three kinds.
fn attack_call<'a>(
    round: usize,
    caller: &'a Caller,
    member: &'a Member,
    time: i64,
    victim: &str,
    rng: &mut Rng,
) -> ApiCall<'a> {
    match round % 3 {
        0 => {
            let user = format!("svc-{}", rng.hex(6));
            create_user(caller, time, &user, &rng.aws_id("AIDA", 17))
        }
        1 => create_access_key(caller, time, victim, &rng.aws_id("AKIA", 16)),
        _ => {
            let snapshot = format!("snap-0{}", rng.hex(16));
            let external = *rng.pick(&EXTERNAL_ACCOUNTS);
            share_snapshot(caller, time, member.region, &snapshot, external, rng)
        }
    }
}
