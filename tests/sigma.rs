//! SigmaHQ conformance: every Sigma rule in ../shared/corpus/sigma either loads or is reported
//! unsupported with its reason; at least 95 % of the CloudTrail rules load; and the rules written
//! for a Stratus Red Team technique fire on its detonation log.

use nhiwatch_decode::{DecodeOptions, decode_buffer};
use nhiwatch_detect::{Engine, EngineConfig};
use nhiwatch_rules::RulePack;
use nhiwatch_tests::{attack_table, corpus_dir};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).flatten() {
        let p = entry.path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(p);
        }
    }
}

fn load(dir: &Path) -> (RulePack, usize) {
    let mut paths = Vec::new();
    yaml_files(dir, &mut paths);
    paths.sort();
    let files: Vec<(String, String)> = paths
        .iter()
        .map(|p| {
            (p.display().to_string(), std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        })
        .collect();
    let pack =
        RulePack::load(&files, &attack_table()).unwrap_or_else(|e| panic!("Sigma rules must not be invalid:\n{e}"));
    (pack, files.len())
}

#[test]
fn cloudtrail_rules_load_and_the_rest_are_reported_with_reasons() {
    let (pack, total) = load(&corpus_dir().join("sigma/rules/cloud/aws/cloudtrail"));
    assert_eq!(total, 57);
    let loaded = pack.len();
    let unsupported = pack.unsupported();
    assert_eq!(loaded + unsupported.len(), total, "every rule is loaded or reported");
    assert!(loaded * 100 >= total * 95, "{loaded} of {total} CloudTrail rules load: {unsupported:#?}");
    for rule in pack.rules() {
        assert!(rule.summary.render_is_attributed(), "{}: alerts must name the Sigma author", rule.id);
    }

    let (everything, all_total) = load(&corpus_dir().join("sigma"));
    assert_eq!(all_total, 223);
    assert_eq!(everything.len() + everything.unsupported().len(), all_total);
    for (file, reason) in everything.unsupported() {
        assert!(!reason.is_empty(), "{file}");
        if !file.contains("/aws/") {
            assert!(reason.contains("log source") || reason.contains("correlation"), "{file}: {reason}");
        }
    }
}

/// Stratus detonation → titles of SigmaHQ rules written for that technique.
const EXPECTED: &[(&str, &[&str])] = &[
    ("aws.defense-evasion.cloudtrail-stop.json", &["AWS CloudTrail Important Change"]),
    ("aws.defense-evasion.cloudtrail-delete.json", &["AWS CloudTrail Important Change"]),
    ("aws.defense-evasion.vpc-remove-flow-logs.json", &["AWS VPC Flow Logs Deleted"]),
    ("aws.persistence.iam-backdoor-user.json", &["AWS IAM Backdoor Users Keys"]),
    ("aws.exfiltration.ec2-share-ebs-snapshot.json", &["AWS Snapshot Backup Exfiltration"]),
    ("aws.initial-access.console-login-without-mfa.json", &["AWS Successful Console Login Without MFA"]),
    ("aws.privilege-escalation.iam-update-user-login-profile.json", &["AWS User Login Profile Was Modified"]),
    ("aws.exfiltration.ec2-security-group-open-port-22-ingress.json", &["Ingress/Egress Security Group Modification"]),
    ("aws.execution.ssm-send-command.json", &["Potential Malicious Usage of CloudTrail System Manager"]),
];

#[test]
fn sigma_rules_fire_on_the_stratus_detonations_they_were_written_for() {
    let (pack, _) = load(&corpus_dir().join("sigma/rules/cloud/aws/cloudtrail"));
    let pack = Arc::new(pack);
    for (file, titles) in EXPECTED {
        let path = corpus_dir().join("stratus").join(file);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let out = decode_buffer(&bytes, &Arc::from(*file), &DecodeOptions::default());
        let mut engine = Engine::new(Arc::clone(&pack), EngineConfig::default());
        let mut fired = BTreeSet::new();
        for e in out.events {
            fired.extend(engine.process(e).into_iter().map(|a| a.title));
        }
        fired.extend(engine.finish().into_iter().map(|a| a.title));
        for title in *titles {
            assert!(fired.contains(*title), "{file}: '{title}' did not fire; fired: {fired:?}");
        }
    }
}

/// Sigma `temporal` fires whatever the order of its rules' events; `temporal_ordered` only in
/// order; both only within the timespan and per group.
#[test]
fn temporal_correlations_fire_in_any_order_and_ordered_ones_only_in_order() {
    let rules = "title: Recon\nname: recon\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel: {eventName: ListUsers}\n  condition: sel\n---\ntitle: Backdoor\nname: backdoor\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel: {eventName: CreateUser}\n  condition: sel\n---\ntitle: Recon and backdoor, any order\nid: 6f0a3c52-0000-4000-8000-000000000001\ntags: [attack.t1136.003]\ncorrelation:\n  type: temporal\n  rules: [recon, backdoor]\n  group-by: [userIdentity.arn]\n  timespan: 10m\nlevel: high\n---\ntitle: Recon then backdoor\nid: 6f0a3c52-0000-4000-8000-000000000002\ntags: [attack.t1136.003]\ncorrelation:\n  type: temporal_ordered\n  rules: [recon, backdoor]\n  group-by: [userIdentity.arn]\n  timespan: 10m\nlevel: high\n";
    let pack = Arc::new(
        RulePack::load(&[("correlations.yml".to_string(), rules.to_string())], &attack_table())
            .unwrap_or_else(|e| panic!("{e}")),
    );
    assert!(pack.unsupported().is_empty(), "{:?}", pack.unsupported());
    let record = |id: &str, minute: u32, name: &str, user: &str| {
        format!(
            r#"{{"eventTime":"2026-03-14T02:{minute:02}:00Z","eventSource":"iam.amazonaws.com","eventName":"{name}","eventID":"{id}","recipientAccountId":"111111111111","sourceIPAddress":"203.0.113.9","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111111111111:user/{user}","userName":"{user}","accountId":"111111111111"}}}}"#
        )
    };
    let fired = |lines: &[String]| -> Vec<String> {
        let out = decode_buffer(lines.join("\n").as_bytes(), &Arc::from("t.jsonl"), &DecodeOptions::default());
        assert!(out.bad.is_empty(), "{:?}", out.bad);
        let mut engine = Engine::new(Arc::clone(&pack), EngineConfig::default());
        let mut alerts: Vec<_> = out.events.into_iter().flat_map(|e| engine.process(e)).collect();
        alerts.extend(engine.finish());
        // The base rules alert on their own too; only the correlations are checked here.
        let mut titles: Vec<String> = alerts.into_iter().map(|a| a.title).filter(|t| t.starts_with("Recon ")).collect();
        titles.sort();
        titles
    };
    // In order: both fire.
    assert_eq!(
        fired(&[record("a1", 0, "ListUsers", "ci"), record("a2", 5, "CreateUser", "ci")]),
        ["Recon and backdoor, any order", "Recon then backdoor"]
    );
    // Reversed: only the unordered one.
    assert_eq!(
        fired(&[record("b1", 0, "CreateUser", "ci"), record("b2", 5, "ListUsers", "ci")]),
        ["Recon and backdoor, any order"]
    );
    // Too far apart, or by different identities: neither.
    assert!(fired(&[record("c1", 0, "CreateUser", "ci"), record("c2", 20, "ListUsers", "ci")]).is_empty());
    assert!(fired(&[record("d1", 0, "ListUsers", "ci"), record("d2", 5, "CreateUser", "other")]).is_empty());
}
