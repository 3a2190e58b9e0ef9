//! Panther's labelled CloudTrail rule tests (`../shared/corpus/panther/cloudtrail.jsonl`) as
//! true positives and true negatives for the rules of ours that detect the same thing.
//!
//! Each Panther rule in one of our families is mapped to our rule below. A case with
//! `expected: true` must raise our rule's alert and one with `expected: false` must not,
//! except the cases in [`DISAGREEMENTS`], where our rule deliberately decides otherwise (the
//! reason is given; the test also fails if such a case starts to agree, so the table stays
//! true). Panther rules outside our families, and the non-S3 cases of Panther's generic
//! "resource made public" rule, are not used.
//!
//! Preparation of each event: the Panther enrichment fields (`p_*`) are stripped; an event
//! without `eventTime` gets [`DEFAULT_EVENT_TIME`] (the engine runs on event time and drops
//! untimed events; Panther's partial test events often omit it). Every case runs alone in a
//! fresh engine with the default configuration: the organisation is the event's own account.

use nhiwatch_core::SourceOffset;
use nhiwatch_decode::decode_record;
use nhiwatch_detect::{Engine, EngineConfig};
use nhiwatch_rules::RulePack;
use nhiwatch_tests::{corpus_dir, load_pack};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Panther rule → our rule, optionally only for events of one `eventSource`.
const MAPPING: &[(&str, &str, Option<&str>)] = &[
    ("AWS.IAM.CreateUser", "aws-iam-user-created-by-nhi", None),
    ("AWS.IAM.Backdoor.User.Keys", "aws-access-key-created-for-another-user", None),
    ("AWS.CloudTrail.LoginProfileCreatedOrModified", "aws-login-profile-for-another-user", None),
    ("AWS.User.Login.Profile.Modified", "aws-login-profile-for-another-user", None),
    ("AWS.IAM.AttachAdminUserPolicy", "aws-admin-policy-attached", None),
    ("AWS.IAM.AttachAdminRolePolicy", "aws-admin-policy-attached", None),
    ("AWS.CloudTrail.SnapshotMadePublic", "aws-snapshot-shared-external", None),
    ("AWS.CloudTrail.AMIModifiedForPublicAccess", "aws-snapshot-shared-external", None),
    ("AWS.RDS.SnapshotShared", "aws-snapshot-shared-external", None),
    ("AWS.S3.BucketPolicyModified", "aws-s3-bucket-shared-external", None),
    // A generic rule over many resource policies; only its S3 cases are in our family.
    ("AWS.CloudTrail.ResourceMadePublic", "aws-s3-bucket-shared-external", Some("s3.amazonaws.com")),
    ("AWS.IAM.BackdoorRole", "aws-role-trust-opened-external", None),
    ("AWS.CloudTrail.Stopped", "aws-cloudtrail-tampering", None),
    ("AWS.CloudTrail.EventSelectorsDisabled", "aws-cloudtrail-tampering", None),
    ("AWS.CloudTrail.SecurityConfigurationChange", "aws-cloudtrail-tampering", None),
    ("AWS.VPCFlow.LogsDeleted", "aws-flow-or-dns-logs-deleted", None),
    ("AWS.CloudTrail.DNSLogsDeleted", "aws-flow-or-dns-logs-deleted", None),
    ("AWS.CloudTrail.AttemptToLeaveOrg", "aws-leave-organization", None),
    ("AWS.CloudTrail.Account.Discovery", "aws-discovery-burst-after-caller-identity", None),
];

/// Cases where our verdict deliberately differs from Panther's: (Panther rule, test, why).
const DISAGREEMENTS: &[(&str, &str, &str)] = &[
    (
        "AWS.IAM.CreateUser",
        "IAM User Created",
        "ours is NHI-only: the caller is a plain role session (no instance profile, OIDC, service \
         or name signal), classified human",
    ),
    (
        "AWS.CloudTrail.LoginProfileCreatedOrModified",
        "ChangeOwnPassword",
        "the caller is role IAM, not IAM user alice: a session name is chosen by whoever assumes \
         the role, so matching it to the target user would let an attacker silence the rule",
    ),
    (
        "AWS.User.Login.Profile.Modified",
        "ChangeOwnPassword",
        "same event as LoginProfileCreatedOrModified / ChangeOwnPassword: a role session is not \
         the IAM user it names",
    ),
    (
        "AWS.User.Login.Profile.Modified",
        "User changed password for other reset required",
        "passwordResetRequired does not stop a takeover: whoever set the password signs in with \
         it and picks the new one",
    ),
    (
        "AWS.S3.BucketPolicyModified",
        "S3 Bucket Policy Modified",
        "Panther alerts on every bucket ACL or policy change; ours only when the change opens the \
         bucket outside the organisation, and a 'private' canned ACL closes it",
    ),
    (
        "AWS.CloudTrail.ResourceMadePublic",
        "All Restrictive Conditions Types (Should Not Alert)",
        "Principal '*' limited by aws:PrincipalOrgID/SourceVpc/SourceIp conditions: the engine \
         cannot tie a statement's Principal to its own Condition, so the rule over-approximates \
         and shows the conditions in the alert context",
    ),
    (
        "AWS.CloudTrail.Account.Discovery",
        "DescribeAccount",
        "one read is what workloads do all day; ours needs GetCallerIdentity followed by 10 \
         distinct discovery calls by the identity within 30 minutes",
    ),
    (
        "AWS.CloudTrail.Account.Discovery",
        "GetAlternateContact",
        "a single discovery call; ours is a threshold after GetCallerIdentity",
    ),
    (
        "AWS.CloudTrail.Account.Discovery",
        "GetContactInformation",
        "a single discovery call; ours is a threshold after GetCallerIdentity",
    ),
];

/// `eventTime` given to events that have none (the test epoch of embedded rule tests).
const DEFAULT_EVENT_TIME: &str = "2026-01-05T10:00:00Z";

/// One Panther test case, prepared.
struct Case {
    line: usize,
    panther_rule: String,
    test: String,
    expected: bool,
    ours: &'static str,
    record: String,
    time_injected: bool,
}

/// Reads the mapped cases of `cloudtrail.jsonl`.
fn cases() -> Vec<Case> {
    let path = corpus_dir().join("panther/cloudtrail.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let row: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1));
        let field = |name: &str| row.get(name).and_then(Value::as_str).unwrap_or_default().to_string();
        let panther_rule = field("rule_id");
        let Some(mut event) = row.get("event").and_then(Value::as_object).cloned() else {
            panic!("{}:{}: no event object", path.display(), i + 1);
        };
        let source = event.get("eventSource").and_then(Value::as_str).unwrap_or_default().to_string();
        let Some((_, ours, _)) =
            MAPPING.iter().find(|(rule, _, only)| *rule == panther_rule && only.is_none_or(|s| s == source))
        else {
            continue;
        };
        event.retain(|key, _| !key.starts_with("p_"));
        let time_injected = !event.contains_key("eventTime");
        if time_injected {
            event.insert("eventTime".into(), DEFAULT_EVENT_TIME.into());
        }
        out.push(Case {
            line: i + 1,
            test: field("test"),
            expected: row.get("expected").and_then(Value::as_bool).unwrap_or_else(|| {
                panic!("{}:{}: 'expected' is not a boolean", path.display(), i + 1);
            }),
            panther_rule,
            ours,
            record: Value::Object(event).to_string(),
            time_injected,
        });
    }
    out
}

/// True when our rule alerts on the case (alone, in a fresh engine).
fn our_verdict(case: &Case, pack: &Arc<RulePack>) -> Result<bool, String> {
    let offset = SourceOffset { file: Arc::from("panther/cloudtrail.jsonl"), line: Some(case.line as u64), record: 0 };
    let decoded = decode_record(&case.record, offset).map_err(|e| format!("{}: {}", e.reason, e.detail))?;
    let mut engine = Engine::new(Arc::clone(pack), EngineConfig::default());
    let mut alerts = engine.process(decoded.event);
    alerts.extend(engine.finish());
    Ok(alerts.iter().any(|a| a.rule_id == case.ours))
}

fn disagreement(case: &Case) -> Option<&'static str> {
    DISAGREEMENTS
        .iter()
        .find(|(rule, test, _)| *rule == case.panther_rule && *test == case.test)
        .map(|(_, _, why)| *why)
}

#[test]
fn panther_cases_agree_except_the_listed_disagreements() {
    let pack = Arc::new(load_pack().unwrap_or_else(|e| panic!("rule pack failed to load:\n{e}")));
    let ours: BTreeSet<&str> = pack.rules().iter().map(|r| r.id.as_str()).collect();
    for (panther, rule, _) in MAPPING {
        assert!(ours.contains(rule), "{panther} is mapped to {rule}, which is not in the pack");
    }
    let cases = cases();
    let mut failures = Vec::new();
    let (mut agreements, mut disagreements) = (0, 0);
    for case in &cases {
        let verdict = match our_verdict(case, &pack) {
            Ok(v) => v,
            Err(e) => {
                failures
                    .push(format!("line {} {} / {}: does not decode: {e}", case.line, case.panther_rule, case.test));
                continue;
            }
        };
        let label = format!(
            "line {} {} / {} (Panther {}, {} {})",
            case.line,
            case.panther_rule,
            case.test,
            case.expected,
            case.ours,
            if verdict { "alerts" } else { "is silent" }
        );
        match (verdict == case.expected, disagreement(case)) {
            (true, None) => agreements += 1,
            (false, Some(_)) => disagreements += 1,
            (false, None) => failures.push(format!("{label}: unexpected disagreement")),
            (true, Some(why)) => failures.push(format!("{label}: listed as a disagreement ({why}) but agrees")),
        }
    }
    for (rule, test, _) in DISAGREEMENTS {
        if !cases.iter().any(|c| c.panther_rule == *rule && c.test == *test) {
            failures.push(format!("disagreement {rule} / {test} names no mapped case"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for (panther, _, _) in MAPPING {
        assert!(cases.iter().any(|c| c.panther_rule == *panther), "no cases for {panther}");
    }
    assert_eq!(agreements + disagreements, cases.len());
    assert_eq!(disagreements, DISAGREEMENTS.len());
}

#[test]
fn panther_cases_used_are_counted() {
    let cases = cases();
    let positives = cases.iter().filter(|c| c.expected).count();
    let injected = cases.iter().filter(|c| c.time_injected).count();
    // 53 cases of 19 Panther rules: 44 agreements, 9 listed disagreements. No mapped event
    // lacks eventTime today; the injection is for partial events added upstream later.
    assert_eq!((cases.len(), positives, injected), (53, 24, 0), "cases used, Panther positives, eventTime injected");
}
