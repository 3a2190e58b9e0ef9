//! The demo's alerts and the multi-cloud fixtures' alerts, pinned exactly. Refresh with `NHIWATCH_BLESS=1 cargo test -p
//! nhiwatch-tests --test golden` and review the diff; never bless to go green.

use nhiwatch_cli::config::Config;
use nhiwatch_cli::output::{Format, write_alerts};
use nhiwatch_cli::replay::{ReplayOptions, replay};
use nhiwatch_tests::project_root;
use std::sync::Arc;

/// Replays `fixtures/<dir>` (paths relative to the test's working directory, the `tests`
/// package, so the golden file's source paths are the same on every machine) with its
/// configuration.
fn replay_fixture(dir: &str) -> nhiwatch_cli::replay::ReplayReport {
    let root = project_root();
    let config = Config::load(&root.join(format!("fixtures/{dir}/nhiwatch.toml"))).expect("fixture config");
    let pack = Arc::new(nhiwatch_cli::pack::load_pack(&[]).expect("built-in pack"));
    let opts = ReplayOptions { paths: vec![format!("../fixtures/{dir}").into()], ..ReplayOptions::default() };
    let report = replay(&opts, pack, config.engine_config().expect("engine config"), &mut std::io::sink())
        .expect("fixture replays");
    assert_eq!(report.summary.bad_total(), 0, "fixtures/{dir} has no bad records");
    report
}

/// Compares the alerts of `report` with `fixtures/golden/<name>` (or writes it when
/// `NHIWATCH_BLESS` is set).
fn assert_golden(report: &nhiwatch_cli::replay::ReplayReport, name: &str) {
    let mut actual = Vec::new();
    write_alerts(&report.alerts, Format::Json, &mut actual).expect("serialize");
    let actual = String::from_utf8(actual).expect("utf-8");
    let golden = project_root().join("fixtures/golden").join(name);
    if std::env::var_os("NHIWATCH_BLESS").is_some() {
        std::fs::create_dir_all(golden.parent().expect("has parent")).expect("mkdir");
        std::fs::write(&golden, &actual).expect("bless");
        return;
    }
    let expected = std::fs::read_to_string(&golden)
        .unwrap_or_else(|e| panic!("{}: {e} (create it with NHIWATCH_BLESS=1)", golden.display()));
    if expected != actual {
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (e, a))| e != a)
            .take(3)
            .map(|(i, (e, a))| format!("line {}:\n  expected {e}\n  actual   {a}", i + 1))
            .collect();
        panic!(
            "alerts differ from {} ({} expected lines, {} actual):\n{}",
            golden.display(),
            expected.lines().count(),
            actual.lines().count(),
            diff.join("\n")
        );
    }
}

#[test]
fn demo_alerts_match_the_golden_file() {
    assert_golden(&replay_fixture("demo"), "demo-alerts.jsonl");
}

#[test]
fn cloud_alerts_match_the_golden_file() {
    assert_golden(&replay_fixture("clouds"), "clouds-alerts.jsonl");
}

#[test]
fn clouds_tell_the_same_story_in_every_source() {
    let report = replay_fixture("clouds");
    let of = |rule: &str| report.alerts.iter().filter(|a| a.rule_id == rule).collect::<Vec<_>>();
    // The stolen workload credential shows up at night from a new country and network, in each
    // cloud: the GCP service account, the Azure service principal, the Kubernetes token.
    for rule in ["nhi-new-country", "nhi-new-asn", "nhi-off-hours"] {
        let mut who: Vec<&str> = of(rule).iter().map(|a| a.identity.kind).collect();
        who.sort_unstable();
        assert_eq!(who, ["KubernetesServiceAccount", "ServiceAccount", "ServicePrincipal"], "{rule}");
        assert!(of(rule).iter().all(|a| a.time.to_rfc3339().starts_with("2026-03-21T02:47:12")), "{rule}");
    }
    // Then persistence and exfiltration, one alert each, with the technique on every alert.
    for (rule, technique) in [
        ("gcp-service-account-created-by-nhi", "T1136.003"),
        ("gcp-service-account-key-created", "T1098.001"),
        ("gcp-iam-binding-external-or-owner", "T1098.003"),
        ("gcp-disk-image-snapshot-shared-external", "T1537"),
        ("gcs-bulk-download-spike", "T1530"),
        ("azure-principal-created-by-nhi", "T1136.003"),
        ("azure-sp-credentials-added", "T1098.001"),
        ("azure-privileged-role-assigned", "T1098.003"),
        ("azure-disk-snapshot-sas-export", "T1537"),
        ("azure-storage-shared-external", "T1537"),
        ("k8s-service-account-token-created", "T1528"),
        ("k8s-cluster-admin-bound-to-service-account", "T1098.006"),
        ("k8s-exec-by-service-account", "T1609"),
        ("k8s-secrets-listed-first-time", "T1552.007"),
    ] {
        let alerts = of(rule);
        assert_eq!(alerts.len(), 1, "{rule}: {alerts:#?}");
        assert!(alerts[0].attack.iter().any(|t| t.technique_id == technique), "{rule}");
        assert!(alerts[0].identity.nhi, "{rule}");
    }
    // The people in the fixtures (a service account created in the console, a debugging
    // exec) raise nothing.
    assert!(report.alerts.iter().all(|a| a.identity.nhi));
    assert_eq!(report.alerts.len(), 23);
    let sources: Vec<(&str, u64)> = report.summary.events_by_source.iter().map(|(k, v)| (*k, *v)).collect();
    assert_eq!(
        sources,
        [("azure_activity", 124), ("azure_audit", 3), ("azure_signin", 61), ("gcp_audit", 646), ("k8s_audit", 125)]
    );
}

#[test]
fn demo_tells_the_leaked_key_story() {
    let report = replay_fixture("demo");
    let of = |rule: &str| report.alerts.iter().filter(|a| a.rule_id == rule).collect::<Vec<_>>();
    // The leaked key first shows up at night, from a new country and network...
    for rule in ["nhi-new-country", "nhi-new-asn", "nhi-off-hours"] {
        let alerts = of(rule);
        assert_eq!(alerts.len(), 1, "{rule}: {alerts:#?}");
        assert_eq!(alerts[0].time.to_rfc3339(), "2026-03-14T02:47:12+00:00", "{rule}");
    }
    assert_eq!(of("nhi-new-country")[0].context["new_value"], "NL");
    let usual = of("nhi-off-hours")[0].context["baseline"]["usual_hours"].as_str().unwrap_or_default().to_string();
    assert_eq!(usual, "Mon–Fri, 08–18 UTC");
    // ...then enumerates, plants a backdoor admin and shares a snapshot with an outsider.
    for rule in [
        "aws-discovery-burst-after-caller-identity",
        "aws-iam-user-created-by-nhi",
        "aws-admin-policy-attached",
        "aws-access-key-created-for-another-user",
        "aws-login-profile-for-another-user",
        "iam-backdoor-user-sequence",
        "aws-snapshot-shared-external",
    ] {
        let alerts = of(rule);
        assert_eq!(alerts.len(), 1, "{rule}: {alerts:#?}");
    }
    // Every alert is about the leaked key: the nightly in-org backups, the CI role, the app
    // servers and the people raise nothing, and the onboarding bot is silenced by the config.
    for a in &report.alerts {
        assert_eq!(a.identity.name, "svc_ci_deployer", "{} on {}", a.rule_id, a.identity.id);
        assert!(a.identity.nhi);
    }
    assert_eq!(report.summary.engine.config_suppressed_total(), 6);
    // The S3 layout streams: three weeks of events are never all held at once.
    assert!(
        report.summary.peak_buffered * 10 < report.summary.events_decoded,
        "held {} of {} events",
        report.summary.peak_buffered,
        report.summary.events_decoded
    );
    let share = &of("aws-snapshot-shared-external")[0];
    assert!(serde_json::to_string(&share.context).expect("json").contains("999988887777"));
}
