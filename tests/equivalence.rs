//! The same events give the same alerts (ids and order) whatever the transport or layout:
//! the S3 archive, JSON Lines, EventBridge envelopes, files listed in any order, and input
//! shuffled within the allowed lateness.

use nhiwatch_cli::config::Config;
use nhiwatch_cli::replay::{ReplayOptions, replay};
use nhiwatch_core::Alert;
use nhiwatch_tests::project_root;
use std::path::PathBuf;
use std::sync::Arc;

fn run(paths: Vec<PathBuf>) -> Vec<Alert> {
    let config = Config::load(&project_root().join("fixtures/demo/nhiwatch.toml")).expect("demo config");
    let pack = Arc::new(nhiwatch_cli::pack::load_pack(&[]).expect("built-in pack"));
    let opts = ReplayOptions { paths, ..ReplayOptions::default() };
    let report =
        replay(&opts, pack, config.engine_config().expect("engine config"), &mut std::io::sink()).expect("replay");
    assert_eq!(report.summary.bad_total(), 0);
    report.alerts
}

/// Everything but where the record was read from.
fn comparable(alerts: &[Alert]) -> Vec<String> {
    alerts
        .iter()
        .map(|a| {
            let mut v = serde_json::to_value(a).expect("json");
            if let Some(o) = v.as_object_mut() {
                o.remove("source");
            }
            for e in v["evidence"].as_array_mut().into_iter().flatten() {
                if let Some(o) = e.as_object_mut() {
                    o.remove("source");
                }
            }
            v.to_string()
        })
        .collect()
}

#[test]
fn s3_archive_jsonl_and_eventbridge_agree() {
    let archive = project_root().join("fixtures/demo");
    let baseline = run(vec![archive.clone()]);
    assert!(!baseline.is_empty());
    let records = nhiwatch_generator::demo_records();
    let dir = tempfile::tempdir().expect("tempdir");
    let jsonl = dir.path().join("demo.jsonl");
    nhiwatch_generator::write_jsonl(&jsonl, &records).expect("jsonl");
    let eventbridge = dir.path().join("demo-eventbridge.jsonl");
    nhiwatch_generator::write_eventbridge_jsonl(&eventbridge, &records).expect("eventbridge");
    assert_eq!(comparable(&run(vec![jsonl])), comparable(&baseline), "JSON Lines");
    assert_eq!(comparable(&run(vec![eventbridge])), comparable(&baseline), "EventBridge");

    // Files listed one by one, in reverse order.
    let mut files: Vec<PathBuf> = walk(&archive);
    files.reverse();
    assert_eq!(comparable(&run(files)), comparable(&baseline), "reversed file list");
}

#[test]
fn shuffled_within_lateness_gives_the_same_alerts() {
    let mut records = nhiwatch_generator::demo_records();
    let dir = tempfile::tempdir().expect("tempdir");
    let sorted = dir.path().join("sorted.jsonl");
    nhiwatch_generator::write_jsonl(&sorted, &records).expect("jsonl");
    // Reverse every run of 7 records: each moves by seconds to minutes, well inside 15 minutes.
    for chunk in records.chunks_mut(7) {
        chunk.reverse();
    }
    let shuffled = dir.path().join("shuffled.jsonl");
    nhiwatch_generator::write_jsonl(&shuffled, &records).expect("jsonl");
    let a = run(vec![sorted]);
    let b = run(vec![shuffled]);
    let ids = |v: &[Alert]| v.iter().map(|a| a.id.0.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&a), ids(&b));
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.to_string_lossy().ends_with(".json.gz") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Everything but where the record was read from and when the engine emitted it (the first
/// run ends at its last event, so alerts of its final minutes are emitted at that run's end).
fn content(alerts: &[Alert]) -> Vec<String> {
    comparable(alerts)
        .into_iter()
        .map(|s| {
            let mut v: serde_json::Value = serde_json::from_str(&s).expect("json");
            if let Some(o) = v.as_object_mut() {
                o.remove("detected_at");
            }
            v.to_string()
        })
        .collect()
}

fn replay_with_state(since: Option<&str>, until: Option<&str>, state: &std::path::Path) -> Vec<Alert> {
    use nhiwatch_cli::replay::parse_time_arg;
    let config = Config::load(&project_root().join("fixtures/demo/nhiwatch.toml")).expect("demo config");
    let pack = Arc::new(nhiwatch_cli::pack::load_pack(&[]).expect("built-in pack"));
    let opts = ReplayOptions {
        paths: vec![project_root().join("fixtures/demo")],
        since: since.map(|t| parse_time_arg(t).expect("time")),
        until: until.map(|t| parse_time_arg(t).expect("time")),
        state: Some(state.to_path_buf()),
        ..ReplayOptions::default()
    };
    replay(&opts, pack, config.engine_config().expect("engine config"), &mut std::io::sink()).expect("replay").alerts
}

#[test]
fn replay_in_two_parts_with_state_equals_one_replay() {
    let whole = run(vec![project_root().join("fixtures/demo")]);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut parts = replay_with_state(None, Some("2026-03-12"), dir.path());
    parts.extend(replay_with_state(Some("2026-03-12"), None, dir.path()));
    assert_eq!(content(&parts), content(&whole));
    assert!(!whole.is_empty());
}

#[test]
fn a_corrupt_state_is_an_error_not_a_reset() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(nhiwatch_cli::state::STATE_FILE), b"garbage").expect("write");
    let config = Config::load(&project_root().join("fixtures/demo/nhiwatch.toml")).expect("demo config");
    let pack = Arc::new(nhiwatch_cli::pack::load_pack(&[]).expect("built-in pack"));
    let opts = ReplayOptions {
        paths: vec![project_root().join("fixtures/demo")],
        state: Some(dir.path().to_path_buf()),
        ..ReplayOptions::default()
    };
    let err = replay(&opts, pack.clone(), config.engine_config().expect("config"), &mut std::io::sink())
        .expect_err("corrupt state");
    assert!(err.to_string().contains("--reset-state"), "{err}");
    let opts = ReplayOptions { reset_state: true, ..opts };
    replay(&opts, pack, config.engine_config().expect("config"), &mut std::io::sink()).expect("reset works");
}

/// A replay's alerts (in full, with where each record was read), summary (but its timings)
/// and diagnostics.
fn replay_on(threads: usize, paths: Vec<PathBuf>) -> (Vec<String>, String, String) {
    let config = Config::load(&project_root().join("fixtures/demo/nhiwatch.toml")).expect("demo config");
    let pack = Arc::new(nhiwatch_cli::pack::load_pack(&[]).expect("built-in pack"));
    let opts = ReplayOptions { paths, threads, ..ReplayOptions::default() };
    let mut diagnostics = Vec::new();
    let report = replay(&opts, pack, config.engine_config().expect("engine config"), &mut diagnostics).expect("replay");
    let alerts = report.alerts.iter().map(|a| serde_json::to_string(a).expect("json")).collect();
    let mut summary = Vec::new();
    report.summary.write_to(&mut summary).expect("summary");
    let summary = String::from_utf8_lossy(&summary).lines().filter(|l| !l.contains("elapsed:")).collect();
    (alerts, summary, String::from_utf8_lossy(&diagnostics).into_owned())
}

#[test]
fn decoding_on_several_threads_changes_nothing() {
    // A generated organisation, half as an S3 archive of many objects and half as one export
    // large enough to be decoded in stretches, with bad records among the good.
    let spec = nhiwatch_generator::OrgSpec { events: 24_000, identities: 1_500, days: 3, ..Default::default() };
    let records: Vec<serde_json::Value> = nhiwatch_generator::org_records(&spec).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive");
    let (to_archive, to_export): (Vec<_>, Vec<_>) = records.iter().enumerate().partition(|(i, _)| i % 2 == 0);
    let to_archive: Vec<serde_json::Value> = to_archive.into_iter().map(|(_, r)| r.clone()).collect();
    let objects = nhiwatch_generator::write_s3_archive(&archive, &to_archive).expect("archive");
    let mut export = Vec::new();
    for (i, (_, record)) in to_export.iter().enumerate() {
        serde_json::to_writer(&mut export, record).expect("json");
        export.push(b'\n');
        if i % 1_000 == 999 {
            export.extend_from_slice(b"not json\n\n{\"eventName\":\"ListUsers\"}\n");
        }
    }
    assert!(objects.len() > 100 && export.len() > 12 << 20, "{} objects, {} bytes", objects.len(), export.len());
    let export_path = dir.path().join("export.jsonl");
    std::fs::write(&export_path, &export).expect("export");

    let paths = vec![archive, export_path];
    let one = replay_on(1, paths.clone());
    assert!(!one.0.is_empty(), "the data alerts");
    assert!(one.2.contains("bad record"), "{}", one.2);
    assert_eq!(replay_on(4, paths), one);
}
