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
