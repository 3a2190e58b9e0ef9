//! Conformance on real attack detonations: the Stratus Red Team CloudTrail logs in
//! `../shared/corpus/stratus` go through the real decoder and engine with the default pack.
//!
//! Each in-scope technique has an explicit row below naming the rule and ATT&CK technique that
//! must alert; the other detonations only have to decode without a bad record. The logs are
//! anonymised upstream (random account per file, zero-padded IPs, a `stratus-red-team_…` user
//! agent), so every file gets its own engine with the default organisation (its own account
//! only), and one test re-runs the in-scope files with a neutral user agent to show that no
//! detection rests on that string.
//!
//! Not covered here: alerts on the out-of-scope files (they are attacks too, so an alert there
//! is not a false positive and is not asserted either way).

use nhiwatch_core::Alert;
use nhiwatch_decode::{DecodeOptions, decode_buffer};
use nhiwatch_detect::{Engine, EngineConfig};
use nhiwatch_rules::RulePack;
use nhiwatch_tests::{corpus_dir, load_pack};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

/// In-scope detonations: file → (ATT&CK technique, rule) pairs, each of which must alert.
const EXPECTED: &[(&str, &[(&str, &str)])] = &[
    ("aws.persistence.iam-create-admin-user.json", &[("T1136.003", "aws-iam-user-created-by-nhi")]),
    ("aws.persistence.iam-create-user-login-profile.json", &[("T1098", "aws-login-profile-for-another-user")]),
    ("aws.privilege-escalation.iam-update-user-login-profile.json", &[("T1098", "aws-login-profile-for-another-user")]),
    ("aws.persistence.iam-backdoor-user.json", &[("T1098.001", "aws-access-key-created-for-another-user")]),
    ("aws.persistence.iam-backdoor-role.json", &[("T1098.003", "aws-role-trust-opened-external")]),
    (
        "aws.persistence.iam-create-backdoor-role.json",
        &[("T1098.003", "aws-role-trust-opened-external"), ("T1098.003", "aws-admin-policy-attached")],
    ),
    ("aws.persistence.sts-federation-token.json", &[("T1098.001", "aws-federation-token-created")]),
    ("aws.exfiltration.ec2-share-ebs-snapshot.json", &[("T1537", "aws-snapshot-shared-external")]),
    ("aws.exfiltration.ec2-share-ami.json", &[("T1537", "aws-snapshot-shared-external")]),
    ("aws.exfiltration.rds-share-snapshot.json", &[("T1537", "aws-snapshot-shared-external")]),
    ("aws.defense-evasion.cloudtrail-stop.json", &[("T1562.008", "aws-cloudtrail-tampering")]),
    ("aws.defense-evasion.cloudtrail-delete.json", &[("T1562.008", "aws-cloudtrail-tampering")]),
    ("aws.defense-evasion.cloudtrail-event-selectors.json", &[("T1562.008", "aws-cloudtrail-tampering")]),
    ("aws.defense-evasion.vpc-remove-flow-logs.json", &[("T1562.008", "aws-flow-or-dns-logs-deleted")]),
    ("aws.defense-evasion.dns-delete-logs.json", &[("T1562.008", "aws-flow-or-dns-logs-deleted")]),
    // The detonation's LeaveOrganization is denied; the rule alerts on attempts (see its description).
    ("aws.defense-evasion.organizations-leave.json", &[("T1666", "aws-leave-organization")]),
    (
        "aws.credential-access.ec2-steal-instance-credentials.json",
        &[("T1552.005", "ec2-instance-credentials-used-elsewhere")],
    ),
];

/// Detonation logs in the corpus (`stratus/README` in the corpus: 35 files, 310 events).
const LOG_FILES: usize = 35;
const LOG_EVENTS: usize = 310;

fn stratus_dir() -> PathBuf {
    corpus_dir().join("stratus")
}

/// Every detonation log (`*.json`), sorted by name.
fn log_files() -> Vec<String> {
    let dir = stratus_dir();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

fn read_log(name: &str) -> Vec<u8> {
    let path = stratus_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What one detonation log produced.
struct Run {
    events: usize,
    bad: Vec<String>,
    alerts: Vec<Alert>,
}

impl Run {
    /// (rule, technique) pairs alerted.
    fn detections(&self) -> BTreeSet<(String, String)> {
        self.alerts
            .iter()
            .flat_map(|a| a.attack.iter().map(move |t| (a.rule_id.clone(), t.technique_id.clone())))
            .collect()
    }
}

/// Decodes `bytes` and runs them through a fresh engine with the default configuration.
fn run(name: &str, bytes: &[u8], pack: &Arc<RulePack>) -> Run {
    let decoded = decode_buffer(bytes, &Arc::from(name), &DecodeOptions::default());
    let mut engine = Engine::new(Arc::clone(pack), EngineConfig::default());
    let events = decoded.events.len();
    let mut alerts = Vec::new();
    for event in decoded.events {
        alerts.extend(engine.process(event));
    }
    alerts.extend(engine.finish());
    Run { events, bad: decoded.bad.iter().map(ToString::to_string).collect(), alerts }
}

fn default_pack() -> Arc<RulePack> {
    Arc::new(load_pack().unwrap_or_else(|e| panic!("rule pack failed to load:\n{e}")))
}

fn is_in_scope(name: &str) -> bool {
    EXPECTED.iter().any(|(file, _)| *file == name)
}

#[test]
fn every_in_scope_detonation_raises_its_technique() {
    let pack = default_pack();
    let mut failures = Vec::new();
    for (file, wanted) in EXPECTED {
        let result = run(file, &read_log(file), &pack);
        if !result.bad.is_empty() {
            failures.push(format!("{file}: bad records {:?}", result.bad));
        }
        let found = result.detections();
        for (technique, rule) in *wanted {
            if !found.contains(&(rule.to_string(), technique.to_string())) {
                failures.push(format!("{file}: no {rule} alert carrying {technique}; alerts: {found:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "Stratus detonations missed:\n{}", failures.join("\n"));
}

#[test]
fn every_detonation_log_decodes_without_bad_records() {
    let files = log_files();
    assert_eq!(files.len(), LOG_FILES, "detonation logs in {}: {files:?}", stratus_dir().display());
    for (file, _) in EXPECTED {
        assert!(files.iter().any(|f| f == file), "{file} is in the table but not in the corpus");
    }
    let pack = default_pack();
    let mut events = 0;
    let mut problems = Vec::new();
    for file in &files {
        let result = run(file, &read_log(file), &pack);
        events += result.events;
        if result.events == 0 {
            problems.push(format!("{file}: no events"));
        }
        if !result.bad.is_empty() {
            let scope = if is_in_scope(file) { "in scope" } else { "out of scope" };
            problems.push(format!("{file} ({scope}): bad records {:?}", result.bad));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(events, LOG_EVENTS, "events decoded from all detonation logs");
}

#[test]
fn detections_do_not_hinge_on_the_stratus_user_agent() {
    let pack = default_pack();
    for (file, _) in EXPECTED {
        let bytes = read_log(file);
        let mut records: Vec<serde_json::Value> =
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{file}: not a JSON array: {e}"));
        for record in &mut records {
            if let Some(object) = record.as_object_mut() {
                object.insert("userAgent".into(), "aws-cli/2.15.10 Python/3.11.6 Linux/6.5.0 exe/x86_64".into());
            }
        }
        let neutral = serde_json::to_vec(&records).unwrap_or_else(|e| panic!("{file}: {e}"));
        let original = run(file, &bytes, &pack).detections();
        let rewritten = run(file, &neutral, &pack).detections();
        assert_eq!(original, rewritten, "{file}: detections change with the user agent");
    }
}
