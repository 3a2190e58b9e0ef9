//! The demo's alerts, pinned exactly. Refresh with `NHIWATCH_BLESS=1 cargo test -p
//! nhiwatch-tests --test golden` and review the diff; never bless to go green.

use nhiwatch_cli::config::Config;
use nhiwatch_cli::output::{Format, write_alerts};
use nhiwatch_cli::replay::{ReplayOptions, replay};
use nhiwatch_tests::project_root;
use std::sync::Arc;

#[test]
fn demo_alerts_match_the_golden_file() {
    // Relative to the test's working directory (the `tests` package), so the golden file's
    // source paths are the same on every machine.
    let root = project_root();
    let config = Config::load(&root.join("fixtures/demo/nhiwatch.toml")).expect("demo config");
    let pack = Arc::new(nhiwatch_cli::pack::load_pack(&[]).expect("built-in pack"));
    let opts = ReplayOptions { paths: vec!["../fixtures/demo".into()], ..ReplayOptions::default() };
    let report = replay(&opts, pack, config.engine_config().expect("engine config"), &mut std::io::sink())
        .expect("demo replays");
    assert_eq!(report.summary.bad_total(), 0, "the demo archive has no bad records");
    let mut actual = Vec::new();
    write_alerts(&report.alerts, Format::Json, &mut actual).expect("serialize");
    let actual = String::from_utf8(actual).expect("utf-8");
    let golden = root.join("fixtures/golden/demo-alerts.jsonl");
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
            "demo alerts differ from {} ({} expected lines, {} actual):\n{}",
            golden.display(),
            expected.lines().count(),
            actual.lines().count(),
            diff.join("\n")
        );
    }
}

#[test]
fn demo_tells_the_leaked_key_story() {
    let root = project_root();
    let config = Config::load(&root.join("fixtures/demo/nhiwatch.toml")).expect("demo config");
    let pack = Arc::new(nhiwatch_cli::pack::load_pack(&[]).expect("built-in pack"));
    let opts = ReplayOptions { paths: vec![root.join("fixtures/demo")], ..ReplayOptions::default() };
    let report = replay(&opts, pack, config.engine_config().expect("engine config"), &mut std::io::sink())
        .expect("demo replays");
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
