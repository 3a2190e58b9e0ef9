//! The product demo: three weeks of CloudTrail in a two-account organisation, with one attack.
//!
//! Three weeks from 2026-02-23T00:00Z (a Monday) to 2026-03-16T00:00Z, accounts
//! `111111111111` (prod) and `222222222222` (staging), in `us-east-1` but for the staging
//! servers in `us-west-2`. Two weeks of history come before the attack so that baselines
//! learning for 14 days are mature when it starts. Normal life:
//!
//! - IAM user `svc_ci_deployer` (long-lived key [`CI_USER_ACCESS_KEY_ID`]) deploys from GitHub
//!   runner addresses (140.82.112.0/20) on weekdays 08:00–18:00: STS, ECR, S3, CloudFormation,
//!   ECS. It never signs in to the console.
//! - Role `ci-deployer` is assumed through GitHub's OIDC provider (sessions
//!   `GitHubActions-<run id>`) by the same pipelines.
//! - Role `app-server` runs on EC2 instances (sessions `i-0…`) around the clock in both
//!   accounts: SQS polling, S3 reads, SSM parameters, about every 100 minutes per instance.
//! - Role `backup-runner`, assumed by a Lambda function every night at 01:00, snapshots three
//!   EBS volumes and shares them with the staging account (inside the organisation: benign).
//! - Role `provisioner` ([`PROVISIONER_ROLE_ARN`]), an onboarding bot on an EC2 instance
//!   (session `i-0…`, an AWS address), creates IAM user `new-hire-<n>` and its console
//!   password every Monday at 09:00: a machine creating users and login profiles, the known
//!   false positive of the demo.
//! - Alice and Bob use the SSO role `AWSReservedSSO_AdministratorAccess_0123456789abcdef` from
//!   the office (198.51.100.0/24) on weekdays (Bob in staging on Tuesday and Wednesday
//!   afternoons); in the last week they create three roles with narrow policies.
//! - AWS services (`config`, `autoscaling`, `ec2`, `lambda`, `AWS Internal`) act for the
//!   accounts.
//!
//! The attack (Saturday 2026-03-14 from [`ATTACKER_IP`]) uses the stolen key of
//! `svc_ci_deployer`: `GetCallerIdentity` at [`ATTACK_START`], a burst of 17 distinct read-only
//! discovery calls (one `organizations:DescribeOrganization` denied), then persistence (user
//! `backup-admin` with `AdministratorAccess`, an access key and a console password) and
//! exfiltration (an EBS snapshot shared with [`EXTERNAL_ACCOUNT`]). See [`ATTACK_TIMELINE`].
//!
//! Every part draws from its own forked generator, so lengthening one part leaves the others'
//! records as they were: the attack's records (times, ids, parameters) are the same as in the
//! one-week demo this one grew from.

use crate::agents;
use crate::calls::{
    assume_role, create_access_key, create_login_profile, create_snapshot, create_user, s3_object, share_snapshot,
    sqs_receive,
};
use crate::cloudtrail::{
    ApiCall, Caller, Federation, Role, aws_display_time, iam_user_identity, is_weekday, role_session_identity,
    second_of_day, web_identity_user, weekday, ymd,
};
use crate::rng::Rng;
use serde_json::{Value, json};

/// The production account.
pub const PROD_ACCOUNT: &str = "111111111111";
/// The staging account, in the same organisation (snapshot shares to it are benign).
pub const STAGING_ACCOUNT: &str = "222222222222";
/// The attacker's account, outside the organisation, that receives the stolen snapshot.
pub const EXTERNAL_ACCOUNT: &str = "999988887777";
/// First second of the demo (inclusive), a Monday.
pub const DEMO_START: &str = "2026-02-23T00:00:00Z";
/// End of the demo (exclusive).
pub const DEMO_END: &str = "2026-03-16T00:00:00Z";

/// The CI IAM user whose key is stolen.
pub const CI_USER_ARN: &str = "arn:aws:iam::111111111111:user/svc_ci_deployer";
/// The CI user's name.
pub const CI_USER_NAME: &str = "svc_ci_deployer";
/// The CI user's unique id (`principalId`).
pub const CI_USER_ID: &str = "AIDA5NWTQ7XKR3MZB2VHC";
/// The CI user's long-lived access key, used by CI and by the attacker.
pub const CI_USER_ACCESS_KEY_ID: &str = "AKIA5NWTQ7XKR2LMHV3D";
/// The role CI assumes through GitHub OIDC.
pub const CI_ROLE_ARN: &str = "arn:aws:iam::111111111111:role/ci-deployer";
/// The instance-profile role of the application servers (prod; staging has its own).
pub const APP_ROLE_ARN: &str = "arn:aws:iam::111111111111:role/app-server";
/// The onboarding bot's instance-profile role, which creates one IAM user every Monday.
pub const PROVISIONER_ROLE_ARN: &str = "arn:aws:iam::111111111111:role/provisioner";
/// The role of the nightly backup Lambda function.
pub const BACKUP_ROLE_ARN: &str = "arn:aws:iam::111111111111:role/backup-runner";
/// The SSO permission-set role the humans use (prod ARN).
pub const SSO_ROLE_ARN: &str =
    "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_0123456789abcdef";
/// GitHub's OIDC provider in the prod account.
pub const GITHUB_OIDC_PROVIDER_ARN: &str =
    "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com";

/// Where the attacker calls from.
pub const ATTACKER_IP: &str = "185.220.101.47";
/// The attacker's user agent.
pub const ATTACKER_USER_AGENT: &str = "aws-cli/2.9.0 Python/3.9.11 Linux/5.15.0 exe/x86_64.kali.2022 prompt/off";
/// First attack event (`sts:GetCallerIdentity`).
pub const ATTACK_START: &str = "2026-03-14T02:47:12Z";
/// The user the attacker creates for persistence.
pub const BACKDOOR_USER: &str = "backup-admin";
/// The unique id of the backdoor user.
pub const BACKDOOR_USER_ID: &str = "AIDAZ3QF7WLBK2XN5RMTE";
/// The access key the attacker creates for the backdoor user.
pub const BACKDOOR_ACCESS_KEY_ID: &str = "AKIAZ3QF7WLBQX7VMB3R";
/// The volume the attacker snapshots.
pub const ATTACK_VOLUME_ID: &str = "vol-0d4c1a9e7b3f2a618";
/// The snapshot the attacker shares with [`EXTERNAL_ACCOUNT`].
pub const ATTACK_SNAPSHOT_ID: &str = "snap-0f7e3b2a91c4d5e86";

/// The attack, step by step: (`eventTime`, `eventSource`, `eventName`, `errorCode`).
///
/// All from [`ATTACKER_IP`] with [`ATTACKER_USER_AGENT`], signed with
/// [`CI_USER_ACCESS_KEY_ID`], in account [`PROD_ACCOUNT`].
pub const ATTACK_TIMELINE: &[(&str, &str, &str, Option<&str>)] = &[
    ("2026-03-14T02:47:12Z", "sts.amazonaws.com", "GetCallerIdentity", None),
    ("2026-03-14T02:48:03Z", "iam.amazonaws.com", "GetUser", None),
    ("2026-03-14T02:48:31Z", "iam.amazonaws.com", "ListUsers", None),
    ("2026-03-14T02:48:55Z", "iam.amazonaws.com", "ListRoles", None),
    ("2026-03-14T02:49:20Z", "iam.amazonaws.com", "ListAttachedUserPolicies", None),
    ("2026-03-14T02:49:47Z", "iam.amazonaws.com", "ListPolicies", None),
    ("2026-03-14T02:50:14Z", "iam.amazonaws.com", "ListAccessKeys", None),
    ("2026-03-14T02:50:52Z", "iam.amazonaws.com", "GetAccountAuthorizationDetails", None),
    ("2026-03-14T02:51:36Z", "iam.amazonaws.com", "ListGroups", None),
    ("2026-03-14T02:52:09Z", "organizations.amazonaws.com", "DescribeOrganization", Some("AccessDenied")),
    ("2026-03-14T02:52:41Z", "s3.amazonaws.com", "ListBuckets", None),
    ("2026-03-14T02:53:18Z", "ec2.amazonaws.com", "DescribeRegions", None),
    ("2026-03-14T02:53:49Z", "ec2.amazonaws.com", "DescribeInstances", None),
    ("2026-03-14T02:54:22Z", "ec2.amazonaws.com", "DescribeVolumes", None),
    ("2026-03-14T02:54:58Z", "ec2.amazonaws.com", "DescribeSnapshots", None),
    ("2026-03-14T02:55:33Z", "ec2.amazonaws.com", "DescribeSecurityGroups", None),
    ("2026-03-14T02:56:10Z", "rds.amazonaws.com", "DescribeDBSnapshots", None),
    ("2026-03-14T02:56:47Z", "secretsmanager.amazonaws.com", "ListSecrets", None),
    ("2026-03-14T02:57:25Z", "lambda.amazonaws.com", "ListFunctions20150331", None),
    ("2026-03-14T03:04:18Z", "iam.amazonaws.com", "CreateUser", None),
    ("2026-03-14T03:04:51Z", "iam.amazonaws.com", "AttachUserPolicy", None),
    ("2026-03-14T03:05:20Z", "iam.amazonaws.com", "CreateAccessKey", None),
    ("2026-03-14T03:05:58Z", "iam.amazonaws.com", "CreateLoginProfile", None),
    ("2026-03-14T03:09:33Z", "ec2.amazonaws.com", "CreateSnapshot", None),
    ("2026-03-14T03:12:07Z", "ec2.amazonaws.com", "DescribeSnapshots", None),
    ("2026-03-14T03:14:46Z", "ec2.amazonaws.com", "ModifySnapshotAttribute", None),
];

/// Unix time of [`DEMO_START`].
const START: i64 = 1_771_804_800;
const DAY: i64 = 86_400;
const HOUR: i64 = 3600;
const DAYS: i64 = 21;
/// Unix time of [`ATTACK_START`].
const ATTACK_AT: i64 = 1_773_456_432;
/// The demo's seed: "NHIWATCH" in ASCII.
const SEED: u64 = 0x4E48_4957_4154_4348;
const REGION: &str = "us-east-1";
const ARTIFACT_BUCKET: &str = "northwind-artifacts";

/// The demo records, sorted by `eventTime` (ties keep the order in which the story emits
/// them). Always the same records: the function takes no seed.
pub fn demo_records() -> Vec<Value> {
    let root = Rng::new(SEED);
    let mut story = Story::default();
    ci_user_pipelines(&mut story, root.fork("ci-user"));
    oidc_pipelines(&mut story, root.fork("ci-oidc"));
    app_servers(&mut story, root.fork("app-server"));
    nightly_backups(&mut story, root.fork("backup"));
    provisioning(&mut story, root.fork("provisioner"));
    humans(&mut story, root.fork("humans"));
    aws_services(&mut story, root.fork("services"));
    attack(&mut story, root.fork("attack"));
    story.into_sorted()
}

/// Records collected in emission order with their times, sorted at the end.
#[derive(Debug, Default)]
struct Story {
    records: Vec<(i64, Value)>,
}

impl Story {
    fn push(&mut self, time: i64, call: ApiCall<'_>, rng: &mut Rng) {
        self.records.push((time, call.build(rng)));
    }

    fn into_sorted(mut self) -> Vec<Value> {
        // A stable sort keeps emission order among records of the same second.
        self.records.sort_by_key(|(time, _)| *time);
        self.records.into_iter().map(|(_, record)| record).collect()
    }
}

/// `START` + `day` days + the given clock time.
fn at(day: i64, hour: i64, minute: i64, second: i64) -> i64 {
    START + day * DAY + hour * HOUR + minute * 60 + second
}

/// A GitHub-hosted runner address in 140.82.112.0/20.
fn runner_ip(rng: &mut Rng) -> String {
    format!("140.82.{}.{}", 112 + rng.below(16), 1 + rng.below(254))
}

/// Start times of `count` pipeline runs on `day`, between 08:00 and `last_start`, sorted.
fn run_starts(rng: &mut Rng, day: i64, count: u64, last_start: (i64, i64)) -> Vec<i64> {
    let first = at(day, 8, 0, 0);
    let last = at(day, last_start.0, last_start.1, 0);
    let mut starts: Vec<i64> = (0..count).map(|_| rng.range(first, last)).collect();
    starts.sort_unstable();
    starts
}

fn ci_user() -> Value {
    iam_user_identity(PROD_ACCOUNT, CI_USER_NAME, CI_USER_ID, CI_USER_ACCESS_KEY_ID)
}

/// `svc_ci_deployer` pushing images and rolling ECS services, weekdays in office hours.
fn ci_user_pipelines(story: &mut Story, mut rng: Rng) {
    const SERVICES: [&str; 3] = ["api", "web", "worker"];
    for day in 0..DAYS {
        if !is_weekday(at(day, 12, 0, 0)) {
            continue;
        }
        let runs = rng.range(5, 8) as u64;
        for start in run_starts(&mut rng, day, runs, (17, 50)) {
            let ip = runner_ip(&mut rng);
            let service = *rng.pick(&SERVICES);
            let commit = rng.hex(7);
            let with_agent = |agent: &str| Caller::new(ci_user(), PROD_ACCOUNT, &ip, agent);
            let mut t = start;
            let caller = with_agent(&agents::aws_cli_command("sts.get-caller-identity"));
            story.push(t, ApiCall::new(&caller, t, "sts", "GetCallerIdentity"), &mut rng);
            t += rng.range(2, 6);
            let caller = with_agent(&agents::aws_cli_command("ecr.get-login-password"));
            let call =
                ApiCall::new(&caller, t, "ecr", "GetAuthorizationToken").response(json!({"authorizationData": [{
                    "proxyEndpoint": format!("https://{PROD_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"),
                    "expiresAt": aws_display_time(t + 12 * HOUR),
                }]}));
            story.push(t, call, &mut rng);
            let docker = with_agent(agents::DOCKER);
            let repository = format!("northwind/{service}");
            for _ in 0..rng.range(2, 4) {
                t += rng.range(1, 4);
                let call = ApiCall::new(&docker, t, "ecr", "BatchCheckLayerAvailability").request(json!({
                    "repositoryName": repository,
                    "registryId": PROD_ACCOUNT,
                    "layerDigests": [format!("sha256:{}", rng.hex(64))],
                }));
                story.push(t, call, &mut rng);
            }
            t += rng.range(20, 90);
            let digest = format!("sha256:{}", rng.hex(64));
            let call = ApiCall::new(&docker, t, "ecr", "PutImage")
                .request(json!({"repositoryName": repository, "imageTag": commit, "registryId": PROD_ACCOUNT}))
                .response(json!({"image": {
                    "registryId": PROD_ACCOUNT,
                    "repositoryName": repository,
                    "imageId": {"imageDigest": digest, "imageTag": commit},
                }}));
            story.push(t, call, &mut rng);
            let caller = with_agent(&agents::aws_cli_command("s3.cp"));
            for file in ["bundle.tar.gz", "manifest.json"].iter().take(rng.range(1, 2) as usize) {
                t += rng.range(3, 15);
                let key = format!("builds/{service}/{commit}/{file}");
                let call = s3_object(&caller, t, "PutObject", REGION, ARTIFACT_BUCKET, &key, None, &mut rng);
                story.push(t, call, &mut rng);
            }
            t += rng.range(2, 8);
            let stack = format!("northwind-{service}");
            let caller = with_agent(&agents::aws_cli_command("cloudformation.describe-stacks"));
            let call =
                ApiCall::new(&caller, t, "cloudformation", "DescribeStacks").request(json!({"stackName": stack}));
            story.push(t, call, &mut rng);
            if rng.chance(0.4) {
                t += rng.range(2, 6);
                let caller = with_agent(&agents::aws_cli_command("cloudformation.update-stack"));
                let call = ApiCall::new(&caller, t, "cloudformation", "UpdateStack")
                    .request(json!({
                        "stackName": stack,
                        "templateURL": format!(
                            "https://{ARTIFACT_BUCKET}.s3.amazonaws.com/builds/{service}/{commit}/stack.yaml"
                        ),
                        "capabilities": ["CAPABILITY_IAM"],
                    }))
                    .response(json!({"stackId": format!(
                        "arn:aws:cloudformation:us-east-1:{PROD_ACCOUNT}:stack/{stack}/{}",
                        rng.uuid()
                    )}));
                story.push(t, call, &mut rng);
            }
            t += rng.range(2, 10);
            let caller = with_agent(&agents::aws_cli_command("ecs.update-service"));
            let cluster = "northwind-prod";
            let call = ApiCall::new(&caller, t, "ecs", "UpdateService")
                .request(json!({"cluster": cluster, "service": service, "forceNewDeployment": true}))
                .response(json!({"service": {
                    "serviceName": service,
                    "clusterArn": format!("arn:aws:ecs:us-east-1:{PROD_ACCOUNT}:cluster/{cluster}"),
                    "status": "ACTIVE",
                    "desiredCount": 3,
                }}));
            story.push(t, call, &mut rng);
            let caller = with_agent(&agents::aws_cli_command("ecs.wait"));
            for _ in 0..rng.range(2, 4) {
                t += rng.range(15, 40);
                let call = ApiCall::new(&caller, t, "ecs", "DescribeServices")
                    .request(json!({"cluster": cluster, "services": [service]}));
                story.push(t, call, &mut rng);
            }
        }
    }
}

/// GitHub Actions assuming `ci-deployer` through OIDC to publish the web front end.
fn oidc_pipelines(story: &mut Story, mut rng: Rng) {
    const REPOS: [&str; 2] = ["northwind/web", "northwind/platform"];
    let role = Role::new(PROD_ACCOUNT, "ci-deployer", "AROA5NWTQ7XKRG4HCIDPL");
    let mut run_id: u64 = 13_850_000_000;
    for day in 0..DAYS {
        if !is_weekday(at(day, 12, 0, 0)) {
            continue;
        }
        let runs = rng.range(4, 7) as u64;
        for start in run_starts(&mut rng, day, runs, (17, 52)) {
            run_id += 4_000 + rng.below(60_000);
            let session = format!("GitHubActions-{run_id}");
            let ip = runner_ip(&mut rng);
            let repo = *rng.pick(&REPOS);
            let subject = format!("repo:{repo}:ref:refs/heads/main");
            let key = rng.aws_id("ASIA", 16);
            let mut t = start;
            let federated = Caller::new(
                web_identity_user(
                    GITHUB_OIDC_PROVIDER_ARN,
                    "token.actions.githubusercontent.com",
                    "sts.amazonaws.com",
                    &subject,
                ),
                PROD_ACCOUNT,
                &ip,
                agents::GITHUB_CREDENTIALS,
            );
            let call =
                assume_role(&federated, t, &role, &session, &key, HOUR, Some((&subject, GITHUB_OIDC_PROVIDER_ARN)));
            story.push(t, call, &mut rng);
            let identity = role_session_identity(
                &role,
                &session,
                &key,
                t,
                false,
                Federation::WebIdentity(GITHUB_OIDC_PROVIDER_ARN),
            );
            let with_agent =
                |command: &str| Caller::new(identity.clone(), PROD_ACCOUNT, &ip, &agents::aws_cli_command(command));
            t += rng.range(2, 5);
            let caller = with_agent("sts.get-caller-identity");
            story.push(t, ApiCall::new(&caller, t, "sts", "GetCallerIdentity"), &mut rng);
            let caller = with_agent("s3.sync");
            for _ in 0..rng.range(1, 3) {
                t += rng.range(2, 20);
                let key = format!("web/{}/assets-{}.js", rng.hex(7), rng.hex(8));
                let call = s3_object(&caller, t, "PutObject", REGION, ARTIFACT_BUCKET, &key, None, &mut rng);
                story.push(t, call, &mut rng);
            }
            t += rng.range(2, 8);
            let caller = with_agent("cloudformation.describe-stacks");
            let call = ApiCall::new(&caller, t, "cloudformation", "DescribeStacks")
                .request(json!({"stackName": "northwind-web"}));
            story.push(t, call, &mut rng);
            t += rng.range(2, 8);
            let caller = with_agent("ecs.update-service");
            let call = ApiCall::new(&caller, t, "ecs", "UpdateService")
                .request(json!({"cluster": "northwind-prod", "service": "web", "forceNewDeployment": true}))
                .response(json!({"service": {"serviceName": "web", "status": "ACTIVE", "desiredCount": 2}}));
            story.push(t, call, &mut rng);
            let caller = with_agent("ecs.wait");
            for _ in 0..2 {
                t += rng.range(15, 40);
                let call = ApiCall::new(&caller, t, "ecs", "DescribeServices")
                    .request(json!({"cluster": "northwind-prod", "services": ["web"]}));
                story.push(t, call, &mut rng);
            }
        }
    }
}

/// One EC2 instance running the application with the `app-server` instance profile.
struct Instance {
    account: &'static str,
    region: &'static str,
    role: Role,
    id: &'static str,
    ip: &'static str,
    /// Mean seconds between polling cycles.
    cycle_secs: i64,
}

/// Application servers polling queues, reading objects and parameters around the clock (prod
/// in `us-east-1`, staging in `us-west-2`). Each instance-profile session lasts six hours and
/// begins with `ec2.amazonaws.com` assuming the role.
///
/// A cycle every 100 minutes on average keeps three weeks near 2 MB (every cycle is a file of
/// its own in the S3 layout) while no gap between cycles (at most 150 minutes) leaves three
/// hours in a row empty: an hour-of-week baseline of the role sees every hour.
fn app_servers(story: &mut Story, mut rng: Rng) {
    let prod_role = Role::new(PROD_ACCOUNT, "app-server", "AROA5NWTQ7XKRAPPSRV2Q");
    let staging_role = Role::new(STAGING_ACCOUNT, "app-server", "AROA6STGQ2LMNAPPSRV4K");
    let instances = [
        Instance {
            account: PROD_ACCOUNT,
            region: REGION,
            role: prod_role.clone(),
            id: "i-0a3f9c2e71b5d8406",
            ip: "3.80.17.201",
            cycle_secs: 100 * 60,
        },
        Instance {
            account: PROD_ACCOUNT,
            region: REGION,
            role: prod_role,
            id: "i-07d2e4b19c6fa3e58",
            ip: "3.80.142.9",
            cycle_secs: 100 * 60,
        },
        Instance {
            account: STAGING_ACCOUNT,
            region: "us-west-2",
            role: staging_role,
            id: "i-0e6b29d4f8a1c3570",
            ip: "54.188.41.17",
            cycle_secs: 100 * 60,
        },
    ];
    for instance in &instances {
        let env = if instance.account == PROD_ACCOUNT { "prod" } else { "staging" };
        let ec2 = Caller::service("ec2.amazonaws.com", instance.account);
        let mut window_start = START;
        while window_start < START + DAYS * DAY {
            let window_end = window_start + 6 * HOUR;
            let key = rng.aws_id("ASIA", 16);
            let issued = window_start + rng.range(0, 120);
            let call =
                assume_role(&ec2, issued, &instance.role, instance.id, &key, 6 * HOUR, None).region(instance.region);
            story.push(issued, call, &mut rng);
            let identity = role_session_identity(&instance.role, instance.id, &key, issued, false, Federation::None);
            let caller = Caller::new(identity, instance.account, instance.ip, agents::JAVA_SDK);
            let mut t = issued + rng.range(60, instance.cycle_secs);
            while t < window_end {
                let call =
                    sqs_receive(&caller, t, instance.region, instance.account, &format!("northwind-{env}-orders"));
                story.push(t, call, &mut rng);
                t += rng.range(1, 20);
                if rng.chance(0.35) {
                    let key = format!("catalog/{}.json", rng.pick(&["products", "prices", "feature-flags", "banners"]));
                    let bucket = format!("northwind-{env}-assets");
                    let call = s3_object(&caller, t, "GetObject", instance.region, &bucket, &key, None, &mut rng);
                    story.push(t, call, &mut rng);
                    t += rng.range(1, 5);
                }
                if rng.chance(0.15) {
                    let name =
                        format!("/northwind/{env}/{}", rng.pick(&["db-url", "api-keys/payments", "feature-config"]));
                    let call = ApiCall::new(&caller, t, "ssm", "GetParameter")
                        .region(instance.region)
                        .request(json!({"name": name, "withDecryption": true}));
                    story.push(t, call, &mut rng);
                }
                t += rng.range(instance.cycle_secs / 2, instance.cycle_secs * 3 / 2);
            }
            window_start = window_end;
        }
    }
}

/// The backup Lambda: every night at 01:00 it snapshots three volumes and shares each snapshot
/// with the staging account.
fn nightly_backups(story: &mut Story, mut rng: Rng) {
    const VOLUMES: [&str; 3] = ["vol-0b1e4f7a2c9d3e580", "vol-03c8d2e6f1a7b4d95", "vol-0f9a6b3c5e2d8174a"];
    let role = Role::new(PROD_ACCOUNT, "backup-runner", "AROA5NWTQ7XKRBKUPRN6W");
    let lambda = Caller::service("lambda.amazonaws.com", PROD_ACCOUNT);
    for day in 0..DAYS {
        let mut t = at(day, 1, 0, rng.range(2, 40));
        let session = format!("backup-runner-{}", ymd(t));
        let key = rng.aws_id("ASIA", 16);
        story.push(t, assume_role(&lambda, t, &role, &session, &key, HOUR, None), &mut rng);
        let identity = role_session_identity(&role, &session, &key, t, false, Federation::None);
        let ip = format!("44.202.{}.{}", rng.range(0, 255), rng.range(1, 254));
        let caller = Caller::new(identity, PROD_ACCOUNT, &ip, agents::LAMBDA_BOTO);
        let mut snapshots = Vec::new();
        for volume in VOLUMES {
            t += rng.range(1, 4);
            let snapshot = format!("snap-0{}", rng.hex(16));
            let description = format!("nightly backup {} {}", volume, ymd(t));
            let call = create_snapshot(&caller, t, REGION, volume, &snapshot, &description, &mut rng);
            story.push(t, call, &mut rng);
            snapshots.push(snapshot);
        }
        for _ in 0..rng.range(2, 4) {
            t += rng.range(120, 300);
            let call = ApiCall::new(&caller, t, "ec2", "DescribeSnapshots").request(json!({
                "snapshotSet": {"items": snapshots.iter().map(|s| json!({"snapshotId": s})).collect::<Vec<_>>()},
                "ownersSet": {"items": [{"owner": "self"}]},
            }));
            story.push(t, call, &mut rng);
        }
        for snapshot in &snapshots {
            t += rng.range(1, 5);
            story.push(t, share_snapshot(&caller, t, REGION, snapshot, STAGING_ACCOUNT, &mut rng), &mut rng);
        }
    }
}

/// The onboarding bot: every Monday at 09:00 the `provisioner` instance creates the week's new
/// hire as IAM user `new-hire-<n>` with a console password to be reset at first sign-in.
///
/// Its instance-profile credentials come from `ec2.amazonaws.com` at the start of the six-hour
/// window, as for the application servers; the bot makes no other calls.
fn provisioning(story: &mut Story, mut rng: Rng) {
    let role = Role::new(PROD_ACCOUNT, "provisioner", "AROA5NWTQ7XKRPRVSNR8D");
    let ec2 = Caller::service("ec2.amazonaws.com", PROD_ACCOUNT);
    let instance = "i-0c5e8a1d3f7b92064";
    let mut hire = 0;
    for day in 0..DAYS {
        if weekday(at(day, 12, 0, 0)) != 0 {
            continue;
        }
        hire += 1;
        let issued = at(day, 6, 0, 0) + rng.range(0, 120);
        let key = rng.aws_id("ASIA", 16);
        story.push(issued, assume_role(&ec2, issued, &role, instance, &key, 6 * HOUR, None), &mut rng);
        let identity = role_session_identity(&role, instance, &key, issued, false, Federation::None);
        let caller = Caller::new(identity, PROD_ACCOUNT, "3.80.96.14", agents::BOTO);
        let user = format!("new-hire-{hire}");
        let mut t = at(day, 9, 0, rng.range(1, 20));
        let call = create_user(&caller, t, &user, &rng.aws_id("AIDA", 17))
            .request(json!({"userName": user, "tags": [{"key": "onboarding", "value": ymd(t)}]}));
        story.push(t, call, &mut rng);
        t += rng.range(1, 4);
        story.push(t, create_login_profile(&caller, t, &user, true), &mut rng);
    }
}

/// A person at a desk: SSO session name, address, browser.
struct Person {
    email: &'static str,
    ip: &'static str,
    browser: &'static str,
}

/// Read-only console calls: (service, event name, request parameters).
const CONSOLE_READS: [(&str, &str, &str); 16] = [
    ("ec2", "DescribeInstances", r#"{"maxResults":1000}"#),
    ("ec2", "DescribeSecurityGroups", r#"{"maxResults":1000}"#),
    ("ec2", "DescribeVpcs", r#"{"maxResults":1000}"#),
    ("s3", "ListBuckets", r#"{"Host":"s3.us-east-1.amazonaws.com"}"#),
    ("iam", "ListRoles", r#"{"maxItems":1000}"#),
    ("iam", "GetRole", r#"{"roleName":"app-server"}"#),
    ("iam", "ListAttachedRolePolicies", r#"{"roleName":"ci-deployer"}"#),
    ("cloudtrail", "LookupEvents", r#"{"maxResults":50}"#),
    ("logs", "DescribeLogGroups", r#"{"limit":50}"#),
    ("ecs", "ListClusters", "null"),
    ("ecs", "DescribeServices", r#"{"cluster":"northwind-prod","services":["api","web","worker"]}"#),
    ("cloudformation", "DescribeStacks", "null"),
    ("rds", "DescribeDBInstances", r#"{"maxRecords":100}"#),
    ("lambda", "ListFunctions20150331", r#"{"maxItems":50}"#),
    ("monitoring", "DescribeAlarms", r#"{"maxRecords":100}"#),
    ("sqs", "ListQueues", "null"),
];

/// Alice and Bob on the console through IAM Identity Center, weekdays in office hours.
fn humans(story: &mut Story, mut rng: Rng) {
    let people = [
        Person { email: "alice@northwind.example", ip: "198.51.100.23", browser: agents::CHROME_MAC },
        Person { email: "bob@northwind.example", ip: "198.51.100.57", browser: agents::FIREFOX_LINUX },
    ];
    let sso_role = |account: &str, principal_id: &str| {
        let name = "AWSReservedSSO_AdministratorAccess_0123456789abcdef";
        Role::with_path(account, "/aws-reserved/sso.amazonaws.com/", name, principal_id)
    };
    let prod = sso_role(PROD_ACCOUNT, "AROA5NWTQ7XKRSSOADM3F");
    let staging = sso_role(STAGING_ACCOUNT, "AROA6STGQ2LMNSSOADM7J");
    for day in 0..DAYS {
        if !is_weekday(at(day, 12, 0, 0)) {
            continue;
        }
        for (index, person) in people.iter().enumerate() {
            let has_change = ROLE_CHANGES.iter().any(|c| c.0 == person.email && c.2 == day);
            if rng.chance(0.1) && !has_change {
                continue; // a day off
            }
            // Bob spends Tuesday and Wednesday afternoons in staging.
            let mut accounts = vec![(&prod, at(day, 8, 30, 0), at(day, 17, 30, 0))];
            if index == 1 && matches!(weekday(at(day, 12, 0, 0)), 1 | 2) {
                accounts = vec![
                    (&prod, at(day, 8, 30, 0), at(day, 12, 30, 0)),
                    (&staging, at(day, 13, 30, 0), at(day, 17, 30, 0)),
                ];
            }
            for (role, from, until) in accounts {
                let login = from + rng.range(0, 75 * 60);
                let key = rng.aws_id("ASIA", 16);
                let identity = role_session_identity(role, person.email, &key, login, false, Federation::None);
                let mut caller = Caller::new(identity, &role.account, person.ip, person.browser);
                let call = ApiCall::new(&caller, login, "signin", "ConsoleLogin")
                    .response(json!({"ConsoleLogin": "Success"}))
                    .additional(json!({
                        "LoginTo": "https://console.aws.amazon.com/console/home?region=us-east-1",
                        "MobileVersion": "No",
                        "MFAUsed": "No",
                    }));
                story.push(login, call, &mut rng);
                caller.console = true;
                let clusters = rng.range(3, 6);
                let mut starts: Vec<i64> = (0..clusters).map(|_| rng.range(login + 300, until)).collect();
                starts.sort_unstable();
                for start in starts {
                    let mut t = start;
                    for _ in 0..rng.range(2, 5) {
                        let (service, name, request) = *rng.pick(&CONSOLE_READS);
                        let request: Value = serde_json::from_str(request).unwrap_or(Value::Null);
                        story.push(t, ApiCall::new(&caller, t, service, name).request(request), &mut rng);
                        t += rng.range(5, 90);
                    }
                }
                role_changes(story, &mut rng, &caller, role, person, day);
            }
        }
    }
}

/// The humans' IAM writes: (person, account, day of the demo from 0, hour, minute, role
/// created, managed policy attached). Days 15–17 are Tuesday to Thursday of the last week.
const ROLE_CHANGES: [(&str, &str, i64, i64, i64, &str, &str); 3] = [
    (
        "alice@northwind.example",
        PROD_ACCOUNT,
        15,
        14,
        12,
        "reporting-lambda",
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    ),
    (
        "bob@northwind.example",
        STAGING_ACCOUNT,
        16,
        15,
        20,
        "staging-qa-reader",
        "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
    ),
    (
        "bob@northwind.example",
        PROD_ACCOUNT,
        17,
        10,
        41,
        "metrics-exporter",
        "arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess",
    ),
];

/// The demo's only IAM writes by humans: narrow roles for new workloads.
fn role_changes(story: &mut Story, rng: &mut Rng, caller: &Caller, role: &Role, person: &Person, day: i64) {
    for (email, account, on_day, hour, minute, new_role, policy) in ROLE_CHANGES {
        if email != person.email || account != role.account || on_day != day {
            continue;
        }
        let mut t = at(day, hour, minute, rng.range(0, 59));
        let principal = if new_role == "reporting-lambda" { "lambda.amazonaws.com" } else { "ec2.amazonaws.com" };
        let trust = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{principal}"}},"Action":"sts:AssumeRole"}}]}}"#
        );
        let role_id = rng.aws_id("AROA", 17);
        let call = ApiCall::new(caller, t, "iam", "CreateRole")
            .request(json!({
                "roleName": new_role,
                "assumeRolePolicyDocument": trust,
                "description": format!("Created by {email}"),
            }))
            .response(json!({"role": {
                "path": "/",
                "roleName": new_role,
                "roleId": role_id,
                "arn": format!("arn:aws:iam::{account}:role/{new_role}"),
                "createDate": aws_display_time(t),
                "assumeRolePolicyDocument": trust,
            }}));
        story.push(t, call, rng);
        t += rng.range(20, 70);
        let call = ApiCall::new(caller, t, "iam", "AttachRolePolicy")
            .request(json!({"roleName": new_role, "policyArn": policy}));
        story.push(t, call, rng);
    }
}

/// AWS services acting for the accounts: AWS Config (every three hours) and Auto Scaling
/// assuming their service-linked roles, and KMS decrypts made on the accounts' behalf
/// (`AWS Internal`).
fn aws_services(story: &mut Story, mut rng: Rng) {
    for (account, config_role_id, autoscaling_role_id) in [
        (PROD_ACCOUNT, "AROA5NWTQ7XKRCNFGSLR4", "AROA5NWTQ7XKRASGSLR5M"),
        (STAGING_ACCOUNT, "AROA6STGQ2LMNCNFGSLR2", "AROA6STGQ2LMNASGSLR7P"),
    ] {
        let config_role = Role::with_path(
            account,
            "/aws-service-role/config.amazonaws.com/",
            "AWSServiceRoleForConfig",
            config_role_id,
        );
        let autoscaling_role = Role::with_path(
            account,
            "/aws-service-role/autoscaling.amazonaws.com/",
            "AWSServiceRoleForAutoScaling",
            autoscaling_role_id,
        );
        let config = Caller::service("config.amazonaws.com", account);
        let autoscaling = Caller::service("autoscaling.amazonaws.com", account);
        let internal = Caller::service("AWS Internal", account);
        for hour in (0..DAYS * 24).step_by(3) {
            let t = START + hour * HOUR + rng.range(60, 600);
            let key = rng.aws_id("ASIA", 16);
            story.push(t, assume_role(&config, t, &config_role, "AWSConfig-Describe", &key, HOUR, None), &mut rng);
        }
        for day in 0..DAYS {
            for _ in 0..rng.range(2, 4) {
                let t = at(day, 0, 0, 0) + rng.range(0, DAY - 1);
                let key = rng.aws_id("ASIA", 16);
                story.push(
                    t,
                    assume_role(&autoscaling, t, &autoscaling_role, "AutoScaling", &key, HOUR, None),
                    &mut rng,
                );
            }
            if account == PROD_ACCOUNT {
                for _ in 0..rng.range(1, 3) {
                    let t = at(day, 0, 0, 0) + rng.range(0, DAY - 1);
                    let key_id = format!("arn:aws:kms:us-east-1:{account}:key/{}", rng.uuid());
                    let call = ApiCall::new(&internal, t, "kms", "Decrypt")
                        .request(json!({
                            "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                            "keyId": key_id,
                            "encryptionContext": {"aws:s3:arn": "arn:aws:s3:::northwind-prod-assets"},
                        }))
                        .resources(json!([{"accountId": account, "type": "AWS::KMS::Key", "ARN": key_id}]));
                    story.push(t, call, &mut rng);
                }
            }
        }
    }
}

/// The attack from [`ATTACK_TIMELINE`], with its request and response parameters.
fn attack(story: &mut Story, mut rng: Rng) {
    let caller = Caller::new(ci_user(), PROD_ACCOUNT, ATTACKER_IP, ATTACKER_USER_AGENT);
    for &(time, source, name, error) in ATTACK_TIMELINE {
        let t = parse_timeline_time(time);
        let service = source.trim_end_matches(".amazonaws.com");
        let mut call = ApiCall::new(&caller, t, service, name);
        call = match name {
            "GetUser" => call.request(json!({"userName": CI_USER_NAME})),
            "ListAttachedUserPolicies" | "ListAccessKeys" => call.request(json!({"userName": CI_USER_NAME})),
            "ListUsers" | "ListRoles" | "ListGroups" => call.request(json!({"maxItems": 1000})),
            "ListPolicies" => call.request(json!({"scope": "Local", "onlyAttached": false})),
            "GetAccountAuthorizationDetails" => {
                call.request(json!({"filter": ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"]}))
            }
            "ListBuckets" => call.request(json!({"Host": "s3.amazonaws.com"})),
            "DescribeRegions" => call.request(json!({"regionSet": {}, "allRegions": true})),
            "DescribeInstances" | "DescribeVolumes" | "DescribeSecurityGroups" => {
                call.request(json!({"maxResults": 1000, "filterSet": {}}))
            }
            "DescribeSnapshots" => call.request(json!({"ownersSet": {"items": [{"owner": "self"}]}, "filterSet": {}})),
            "DescribeDBSnapshots" => call.request(json!({"includeShared": false, "includePublic": false})),
            "ListSecrets" => call.request(json!({"maxResults": 100})),
            "ListFunctions20150331" => call.request(json!({"maxItems": 50})),
            "DescribeOrganization" => call,
            "CreateUser" => create_user(&caller, t, BACKDOOR_USER, BACKDOOR_USER_ID),
            "AttachUserPolicy" => call.request(json!({
                "userName": BACKDOOR_USER,
                "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess",
            })),
            "CreateAccessKey" => create_access_key(&caller, t, BACKDOOR_USER, BACKDOOR_ACCESS_KEY_ID),
            "CreateLoginProfile" => create_login_profile(&caller, t, BACKDOOR_USER, false),
            "CreateSnapshot" => {
                create_snapshot(&caller, t, REGION, ATTACK_VOLUME_ID, ATTACK_SNAPSHOT_ID, "backup", &mut rng)
            }
            "ModifySnapshotAttribute" => {
                share_snapshot(&caller, t, REGION, ATTACK_SNAPSHOT_ID, EXTERNAL_ACCOUNT, &mut rng)
            }
            _ => call,
        };
        if let Some(code) = error {
            let action = format!("{service}:{name}");
            call = call.error(
                code,
                format!(
                    "User: {CI_USER_ARN} is not authorized to perform: {action} \
                     because no identity-based policy allows the {action} action"
                ),
            );
        }
        story.push(t, call, &mut rng);
    }
}

/// Seconds of a `2026-03-14T02:47:12Z` timeline entry, counted from [`ATTACK_START`] so no
/// calendar parsing (and no failure path) is needed: the timeline only spans that morning.
fn parse_timeline_time(text: &str) -> i64 {
    let field =
        |range: std::ops::Range<usize>| -> i64 { text.get(range).and_then(|digits| digits.parse().ok()).unwrap_or(0) };
    let day_start = ATTACK_AT - second_of_day(ATTACK_AT);
    day_start + field(11..13) * HOUR + field(14..16) * 60 + field(17..19)
}
