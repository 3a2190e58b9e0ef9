//! Hunting over history with the real binary: `archive` (resumable, bad records reported),
//! `query` (pinned results over the demo), `inventory` from Parquet, and `baseline build`
//! followed by `replay --state` giving the alerts of one replay.

use nhiwatch_tests::kafka::nhiwatch_binary;
use nhiwatch_tests::project_root;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

fn nhiwatch(args: &[&str]) -> Output {
    let out = Command::new(nhiwatch_binary()).current_dir(project_root()).args(args).output().expect("nhiwatch runs");
    assert!(out.status.success(), "nhiwatch {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn archive_demo(dir: &Path) -> String {
    let out = dir.join("archive");
    let out_s = out.display().to_string();
    nhiwatch(&["archive", "--out", &out_s, "fixtures/demo"]);
    out_s
}

fn query_json(archive: &str, extra: &[&str], sql: &str) -> Vec<Value> {
    let mut args = vec!["query", "--format", "json", "--events", archive];
    args.extend_from_slice(extra);
    args.push(sql);
    let out = nhiwatch(&args);
    text(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("json row")).collect()
}

#[test]
fn archive_is_resumable_and_query_results_are_pinned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = archive_demo(dir.path());
    let again = nhiwatch(&["archive", "--out", &archive, "fixtures/demo"]);
    let stderr = text(&again.stderr);
    assert!(stderr.contains("archived 0 events from 0 inputs"), "a second run adds nothing: {stderr}");
    assert!(stderr.contains("4930 events in the archive"), "{stderr}");

    let rows = query_json(&archive, &[], "SELECT count(*) AS n FROM events");
    assert_eq!(rows[0]["n"], 4930);
    let rows = query_json(&archive, &[], "SELECT account, count(*) AS n FROM events GROUP BY account ORDER BY account");
    let by_account: BTreeMap<String, i64> = rows
        .iter()
        .map(|r| (r["account"].as_str().expect("account").to_string(), r["n"].as_i64().expect("n")))
        .collect();
    assert_eq!(by_account.values().sum::<i64>(), 4930);
    assert_eq!(by_account.keys().collect::<Vec<_>>(), ["111111111111", "222222222222"]);
    // What the leaked CI key did on the night of the attack, in order.
    let rows = query_json(
        &archive,
        &["--geoip", "fixtures/geoip/demo.mmdb"],
        "SELECT time, action, source_ip, geo_country(source_ip) AS country FROM events \
         WHERE identity_name = 'svc_ci_deployer' AND date = '2026-03-14' ORDER BY time, event_id",
    );
    assert!(rows.len() >= 5, "{rows:?}");
    assert!(rows.iter().any(|r| r["action"] == "CreateUser"), "{rows:?}");
    assert!(rows.iter().any(|r| r["country"] == "NL"), "the attacker's address resolves: {rows:?}");
    // First-seen actions per identity.
    let rows = query_json(
        &archive,
        &[],
        "SELECT identity_name, action, min(time) AS first_seen FROM events GROUP BY identity_name, action \
         HAVING min(time) >= '2026-03-14T00:00:00Z' ORDER BY first_seen, identity_name, action",
    );
    assert!(rows.iter().any(|r| r["identity_name"] == "svc_ci_deployer" && r["action"] == "CreateUser"), "{rows:?}");
}

#[test]
fn alerts_and_events_join_in_sql() {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = archive_demo(dir.path());
    let alerts = dir.path().join("alerts.jsonl").display().to_string();
    nhiwatch(&["replay", "--config", "fixtures/demo/nhiwatch.toml", "--output", &alerts, "fixtures/demo"]);
    let rows = query_json(
        &archive,
        &["--alerts", &alerts],
        "SELECT a.rule_id, count(e.event_id) AS events_that_hour FROM alerts a JOIN events e \
         ON e.identity = a.identity.id AND e.time BETWEEN CAST(a.time AS TIMESTAMP) - INTERVAL '1 hour' AND CAST(a.time AS TIMESTAMP) \
         WHERE a.rule_id = 'aws-snapshot-shared-external' GROUP BY a.rule_id",
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0]["events_that_hour"].as_i64().expect("count") >= 1, "{rows:?}");
    // Bad SQL is a clear error, not a panic.
    let out = Command::new(nhiwatch_binary())
        .current_dir(project_root())
        .args(["query", "--events", &archive, "SELECT nope FROM events"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("nope"), "{}", text(&out.stderr));
}

#[test]
fn inventory_from_parquet_equals_inventory_from_the_archive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = archive_demo(dir.path());
    let config = "fixtures/demo/nhiwatch.toml";
    let from_files = nhiwatch(&["inventory", "--config", config, "--format", "json", "fixtures/demo"]);
    let from_parquet = nhiwatch(&["inventory", "--config", config, "--format", "json", &archive]);
    let a: Value = serde_json::from_slice(&from_files.stdout).expect("json");
    let b: Value = serde_json::from_slice(&from_parquet.stdout).expect("json");
    assert!(a.as_array().is_some_and(|rows| rows.len() >= 10), "{a}");
    assert_eq!(a, b);
}

#[test]
fn archive_keeps_good_records_around_bad_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("mixed.jsonl");
    let good = r#"{"eventTime":"2026-03-14T02:50:00Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers","eventID":"g-NUMBER","recipientAccountId":"111111111111","sourceIPAddress":"203.0.113.9","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111111111111:user/svc_ci_deployer","userName":"svc_ci_deployer","accountId":"111111111111"}}"#;
    std::fs::write(&input, format!("{}\nnot json\n{}\n", good.replace("NUMBER", "1"), good.replace("NUMBER", "2")))
        .expect("write");
    let archive = dir.path().join("archive").display().to_string();
    let out = nhiwatch(&["archive", "--out", &archive, &input.display().to_string()]);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("mixed.jsonl:2: invalid_json"), "{stderr}");
    assert!(stderr.contains("archived 2 events"), "{stderr}");
    let rows = query_json(&archive, &[], "SELECT event_id FROM events ORDER BY event_id");
    assert_eq!(rows.iter().map(|r| r["event_id"].as_str().unwrap_or_default()).collect::<Vec<_>>(), ["g-1", "g-2"]);
}

/// Alerts by id without `detected_at` (the watermark at emission moves at the split).
fn alerts_by_id(text: &str) -> BTreeMap<String, Value> {
    text.lines()
        .map(|l| {
            let mut a: Value = serde_json::from_str(l).expect("alert");
            a.as_object_mut().expect("object").remove("detected_at");
            (a["id"].as_str().expect("id").to_string(), a)
        })
        .collect()
}

#[test]
fn baseline_build_then_replay_equals_one_replay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state").display().to_string();
    let config = "fixtures/demo/nhiwatch.toml";
    let split = "2026-03-10";
    nhiwatch(&[
        "baseline",
        "build",
        "--config",
        config,
        "--from",
        "fixtures/demo",
        "--until",
        split,
        "--state",
        &state,
    ]);
    let later = nhiwatch(&["replay", "--config", config, "--state", &state, "--since", split, "fixtures/demo"]);
    let whole = nhiwatch(&["replay", "--config", config, "fixtures/demo"]);
    let later = alerts_by_id(&text(&later.stdout));
    let whole: BTreeMap<String, Value> = alerts_by_id(&text(&whole.stdout))
        .into_iter()
        .filter(|(_, a)| a["time"].as_str().is_some_and(|t| t >= split))
        .collect();
    assert!(whole.len() >= 5, "the later days hold the attack: {}", whole.len());
    assert_eq!(later, whole, "a mature state gives the alerts one replay gives");
    // Without the baseline, the later days alone miss what needs history (new country, …).
    let cold = nhiwatch(&["replay", "--config", config, "--since", split, "fixtures/demo"]);
    assert_ne!(alerts_by_id(&text(&cold.stdout)), whole);
}

/// Every file under `dir`, by path relative to it, with its bytes.
fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let rel = path.strip_prefix(dir).expect("under dir").display().to_string();
                files.insert(rel, std::fs::read(&path).expect("read file"));
            }
        }
    }
    files
}

#[test]
fn an_archive_is_the_same_whatever_the_threads_that_decode() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Inputs with bad records, reported in the order the inputs are found.
    let broken = dir.path().join("broken");
    std::fs::create_dir(&broken).expect("mkdir");
    for i in 0..12 {
        let text = format!("{{\"eventName\":\"ListUsers\",\"eventID\":\"no-time-{i}\"}}\nnot json in input {i}\n");
        std::fs::write(broken.join(format!("export-{i:02}.jsonl")), text).expect("write");
    }
    let broken_s = broken.display().to_string();
    let mut runs = Vec::new();
    for threads in ["1", "4"] {
        let out = dir.path().join(format!("archive-{threads}"));
        let out_s = out.display().to_string();
        let run = nhiwatch(&[
            "archive",
            "--threads",
            threads,
            "--out",
            &out_s,
            &broken_s,
            "fixtures/demo",
            "fixtures/clouds",
        ]);
        let stderr = text(&run.stderr);
        assert!(stderr.contains("5889 events in the archive"), "{stderr}");
        // All but the elapsed time and the archive's own path.
        let report: Vec<String> = stderr
            .lines()
            .map(|l| l.replace(&out_s, "ARCHIVE"))
            .map(|l| l.split(") in ").next().unwrap_or_default().to_string())
            .collect();
        runs.push((files_under(&out), report));
    }
    assert!(runs[0].0.len() > 100, "{} files", runs[0].0.len());
    assert_eq!(runs[0].1.iter().filter(|l| l.starts_with("bad record")).count(), 24, "{:?}", runs[0].1);
    assert_eq!(runs[0], runs[1]);
}
