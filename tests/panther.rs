//! Panther's labelled CloudTrail rule tests (`../shared/corpus/panther/cloudtrail.jsonl`) as
//! true positives and true negatives for the rules of ours that detect the same thing (see
//! `nhiwatch_tests::panther` for how cases are prepared and judged). Panther rules outside our
//! families, and the non-S3 cases of Panther's generic "resource made public" rule, are not
//! used.

use nhiwatch_tests::load_pack;
use nhiwatch_tests::panther::{Disagreement, Mapping, Source, cases, check};
use serde_json::Value;
use std::sync::Arc;

/// Panther rule → our rule, optionally only for events of one `eventSource`.
const MAPPING: &[Mapping] = &[
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
const DISAGREEMENTS: &[Disagreement] = &[
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

/// CloudTrail's events: the time is `eventTime`; `only` names an `eventSource`.
const SOURCE: Source = Source {
    file: "cloudtrail.jsonl",
    time_fields: &["eventTime"],
    time_field: |_| "eventTime",
    selector: |event| event.get("eventSource").and_then(Value::as_str).unwrap_or_default().to_string(),
};

#[test]
fn panther_cases_agree_except_the_listed_disagreements() {
    let pack = Arc::new(load_pack().unwrap_or_else(|e| panic!("rule pack failed to load:\n{e}")));
    let cases = cases(&SOURCE, MAPPING);
    let (_, disagreements) = check(&SOURCE, MAPPING, DISAGREEMENTS, &cases, &pack);
    assert_eq!(disagreements, DISAGREEMENTS.len());
}

#[test]
fn panther_cases_used_are_counted() {
    let cases = cases(&SOURCE, MAPPING);
    let positives = cases.iter().filter(|c| c.expected).count();
    let injected = cases.iter().filter(|c| c.time_injected).count();
    // 53 cases of 19 Panther rules: 44 agreements, 9 listed disagreements. No mapped event
    // lacks eventTime today; the injection is for partial events added upstream later.
    assert_eq!((cases.len(), positives, injected), (53, 24, 0), "cases used, Panther positives, eventTime injected");
}
