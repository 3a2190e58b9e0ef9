//! The real `nhiwatch` binary: exit codes, output files and formats, error messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn nhiwatch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nhiwatch")).args(args).output().expect("nhiwatch runs")
}

/// Runs the binary from the project root, as the README's commands are.
fn nhiwatch_in_root(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nhiwatch")).current_dir(root()).args(args).output().expect("nhiwatch runs")
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const RECORD: &str = r#"{"eventTime":"2026-03-14T02:50:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","eventID":"stop-1","recipientAccountId":"111111111111","sourceIPAddress":"203.0.113.9","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111111111111:user/svc_ci_deployer","userName":"svc_ci_deployer","accountId":"111111111111","accessKeyId":"AKIAAAAAAAAAAAAAAAAA"}}"#;

#[test]
fn replay_writes_json_lines_and_a_summary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("events.jsonl");
    std::fs::write(&input, format!("{RECORD}\nnot json\n")).expect("write");
    let out_file = dir.path().join("alerts.jsonl");
    let out = nhiwatch(&["replay", "--output", out_file.to_str().expect("utf-8"), input.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let alerts = std::fs::read_to_string(&out_file).expect("alerts written");
    let first: serde_json::Value = serde_json::from_str(alerts.lines().next().expect("one alert")).expect("json");
    assert_eq!(first["rule_id"], "aws-cloudtrail-tampering");
    assert_eq!(first["attack"][0]["technique_id"], "T1562.008");
    assert_eq!(first["identity"]["nhi"], true);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("events.jsonl:2: invalid_json"), "{stderr}");
    assert!(stderr.contains("bad records:      1 (invalid_json: 1)"), "{stderr}");
    assert!(stderr.contains("aws-cloudtrail-tampering"), "{stderr}");
}

#[test]
fn table_format_is_readable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("events.json");
    std::fs::write(&input, format!("[{RECORD}]")).expect("write");
    let out = nhiwatch(&["replay", "--format", "table", input.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for needle in ["severity", "svc_ci_deployer", "T1562.008", "NHI"] {
        assert!(stdout.contains(needle), "{needle} missing in:\n{stdout}");
    }
}

#[test]
fn stdin_is_read_with_a_dash() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_nhiwatch"))
        .args(["replay", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child.stdin.take().expect("stdin").write_all(RECORD.as_bytes()).expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    assert_eq!(text(&out.stdout).lines().count(), 1);
}

#[test]
fn unusable_invocations_exit_non_zero_with_a_reason() {
    let out = nhiwatch(&["replay", "/nonexistent/trail"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("/nonexistent/trail: no such file or directory"), "{}", text(&out.stderr));

    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[org]\naccountz = []\n").expect("write");
    let input = dir.path().join("e.json");
    std::fs::write(&input, RECORD).expect("write");
    let out = nhiwatch(&["replay", "--config", config.to_str().expect("utf-8"), input.to_str().expect("utf-8")]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("accountz"), "{}", text(&out.stderr));

    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).expect("mkdir");
    std::fs::write(rules.join("broken.yml"), "id: x\ntitle: t\ndescription: d\nseverity: loud\n").expect("write");
    let out = nhiwatch(&["replay", "--rules", rules.to_str().expect("utf-8"), input.to_str().expect("utf-8")]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("broken.yml:4:"), "{stderr}");

    let out = nhiwatch(&["replay", "--strict", root().join("cli/tests/cli.rs").to_str().expect("utf-8")]);
    assert!(!out.status.success(), "a Rust file is not CloudTrail: strict mode fails");
}

#[test]
fn rules_test_reports_like_a_test_runner_and_fails_on_a_failed_test() {
    let dir = tempfile::tempdir().expect("tempdir");
    let junit = dir.path().join("rules.xml");
    let fixtures = root().join("fixtures/rules-test");
    let out = nhiwatch_in_root(&["rules", "test", "--junit", junit.to_str().expect("utf-8"), "fixtures/rules-test"]);
    assert_eq!(out.status.code(), Some(1), "a failed rule test fails the run");
    let stdout = text(&out.stdout);
    let golden = root().join("fixtures/golden/rules-test.txt");
    if std::env::var_os("NHIWATCH_BLESS").is_some() {
        std::fs::write(&golden, &stdout).expect("bless");
    }
    let expected = std::fs::read_to_string(&golden).expect("golden output (NHIWATCH_BLESS=1 creates it)");
    assert_eq!(stdout, expected);
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    assert!(xml.contains("<failure") && xml.contains("expected 1 alert(s), got 0"), "{xml}");
    assert!(fixtures.is_dir());

    let out = nhiwatch(&["rules", "test"]);
    assert!(out.status.success(), "the built-in pack passes its own tests:\n{}", text(&out.stdout));
    assert!(text(&out.stdout).contains(" passed, 0 failed"));
}

#[test]
fn the_committed_rule_catalogue_is_up_to_date() {
    let out = nhiwatch(&["rules", "docs"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let path = root().join("docs/rules.md");
    if std::env::var_os("NHIWATCH_BLESS").is_some() {
        std::fs::write(&path, &out.stdout).expect("bless");
    }
    let committed = std::fs::read_to_string(&path).expect("docs/rules.md");
    assert!(
        text(&out.stdout) == committed,
        "docs/rules.md is stale: run `nhiwatch rules docs -o docs/rules.md` (or NHIWATCH_BLESS=1 cargo test)"
    );
    for id in ["aws-iam-user-created-by-nhi", "nhi-off-hours", "T1552.005"] {
        assert!(committed.contains(id), "{id}");
    }
}

#[test]
fn rules_lint_finds_every_kind_of_mistake() {
    let out = nhiwatch_in_root(&["rules", "lint", "fixtures/rules-lint"]);
    assert_eq!(out.status.code(), Some(1), "errors fail the run");
    let stdout = text(&out.stdout);
    let golden = root().join("fixtures/golden/rules-lint.txt");
    if std::env::var_os("NHIWATCH_BLESS").is_some() {
        std::fs::write(&golden, &stdout).expect("bless");
    }
    assert_eq!(stdout, std::fs::read_to_string(&golden).expect("golden output (NHIWATCH_BLESS=1 creates it)"));

    let out = nhiwatch_in_root(&["rules", "lint", "--format", "json", "fixtures/rules-lint"]);
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(findings.as_array().map(Vec::len), Some(7));

    let out = nhiwatch(&["rules", "lint"]);
    assert!(out.status.success(), "the built-in pack lints clean:\n{}", text(&out.stdout));
}

#[test]
fn shadow_rules_are_counted_and_kept_apart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).expect("mkdir");
    std::fs::write(
        rules.join("trial.yml"),
        "id: trial-stop-logging\ntitle: t\ndescription: d\nseverity: high\nattack: [T1562.008]\nkind: match\nmode: shadow\ncondition: {field: action, equals: StopLogging}\n",
    )
    .expect("write");
    let input = dir.path().join("e.json");
    std::fs::write(&input, RECORD).expect("write");
    let shadow = dir.path().join("shadow.jsonl");
    let out = nhiwatch(&[
        "replay",
        "--rules",
        rules.to_str().expect("utf-8"),
        "--shadow-output",
        shadow.to_str().expect("utf-8"),
        input.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).is_empty(), "shadow alerts never reach the analysts' output");
    let kept = std::fs::read_to_string(&shadow).expect("shadow output");
    let alert: serde_json::Value = serde_json::from_str(kept.lines().next().expect("one")).expect("json");
    assert_eq!(alert["shadow"], true);
    assert_eq!(alert["rule_id"], "trial-stop-logging");
    assert!(text(&out.stderr).contains("shadow:           1 alerts"), "{}", text(&out.stderr));
}

#[test]
fn backtest_compares_a_changed_rule_with_the_current_one() {
    let out = nhiwatch_in_root(&[
        "backtest",
        "--format",
        "json",
        "--config",
        "fixtures/demo/nhiwatch.toml",
        "--rules",
        "fixtures/backtest",
        "--baseline-rules",
        "rules/aws/aws-discovery-burst-after-caller-identity.yml",
        "fixtures/demo",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let golden = root().join("fixtures/golden/backtest.json");
    if std::env::var_os("NHIWATCH_BLESS").is_some() {
        std::fs::write(&golden, &stdout).expect("bless");
    }
    assert_eq!(stdout, std::fs::read_to_string(&golden).expect("golden output (NHIWATCH_BLESS=1 creates it)"));
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(report["baseline_alerts"], 1, "the shipped rule alerts once: the attack");
    assert!(report["added"].as_u64().unwrap_or(0) > 50, "the trial threshold alerts on every pipeline run");
}

#[test]
fn inventory_lists_every_identity_with_its_footprint() {
    let out = nhiwatch_in_root(&[
        "inventory",
        "--format",
        "json",
        "--config",
        "fixtures/demo/nhiwatch.toml",
        "fixtures/demo",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    let row = |name: &str| rows.iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("{name} missing"));
    let key = row("svc_ci_deployer");
    assert_eq!(key["nhi"], true);
    assert_eq!(key["countries"], serde_json::json!(["NL", "US"]));
    assert_eq!(key["access_keys"], serde_json::json!(["AKIA5NWTQ7XKR2LMHV3D"]));
    assert!(key["sensitive_actions"].as_array().is_some_and(|a| a.contains(&serde_json::json!("CreateUser"))));
    assert_eq!(key["alerts"], 14);
    assert!(rows.iter().any(|r| r["nhi"] == false && r["nhi_reason"] == "SSO/SAML federated session"));
    assert_eq!(row("provisioner")["usual_hours"], "Mon, 09–10 UTC");

    let out = nhiwatch_in_root(&["inventory", "--format", "csv", "fixtures/demo"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    assert!(csv.starts_with("id,type,name,account,nhi,nhi_reason"), "{csv}");
    assert_eq!(csv.lines().count(), rows.len() + 1);
}

#[test]
fn inventory_covers_the_other_clouds_workload_identities() {
    let out = nhiwatch_in_root(&[
        "inventory",
        "--format",
        "json",
        "--config",
        "fixtures/clouds/nhiwatch.toml",
        "fixtures/clouds",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    let row = |id: &str| rows.iter().find(|r| r["id"] == id).unwrap_or_else(|| panic!("{id} missing"));
    let sensitive = |id: &str| row(id)["sensitive_actions"].clone();
    let gcp = "svc-ci-deployer@prod-app-123.iam.gserviceaccount.com";
    assert_eq!(row(gcp)["type"], "ServiceAccount");
    assert_eq!(row(gcp)["access_keys"], serde_json::json!(["4c1e2a9b7d3f"]));
    assert_eq!(row(gcp)["countries"], serde_json::json!(["NL", "US"]));
    assert_eq!(
        sensitive(gcp),
        serde_json::json!([
            "SetIamPolicy",
            "google.iam.admin.v1.CreateServiceAccount",
            "google.iam.admin.v1.CreateServiceAccountKey"
        ])
    );
    let sp = "azure-sp:0e9d8c7b-6a5f-4e3d-2c1b-0a9f8e7d6c5b";
    assert_eq!(row(sp)["type"], "ServicePrincipal");
    assert!(
        sensitive(sp).as_array().is_some_and(|a| a.contains(&serde_json::json!("Add service principal credentials")))
    );
    let k8s = "k8s:system:serviceaccount:ci:deployer";
    assert_eq!(
        sensitive(k8s),
        serde_json::json!([
            "clusterrolebindings:create",
            "pods/exec:create",
            "secrets:list",
            "serviceaccounts/token:create"
        ])
    );
    assert!(rows.iter().filter(|r| r["nhi"] == true).count() == 3, "{rows:#?}");
}
