//! `nhiwatch run` against a real Kafka-protocol broker (Tansu): the alerts of the live path
//! equal those of `replay`, and survive `kill -9`, a broker restart, garbage input, SIGTERM
//! and rule reloads.

use nhiwatch_tests::kafka::{Broker, Run, free_port, nhiwatch_binary, publish, run_config};
use nhiwatch_tests::project_root;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(120);
/// Consumer properties that read a few records per fetch.
const SLOW_FETCH: &str =
    "\"max.partition.fetch.bytes\" = 262144\n\"fetch.max.bytes\" = 262144\n\"message.max.bytes\" = 262144";
/// The demo archive is split here for the tests that stop something mid-stream.
const SPLIT: &str = "2026-03-13";

fn demo() -> String {
    fixture("demo")
}

fn fixture(name: &str) -> String {
    project_root().join("fixtures").join(name).display().to_string()
}

/// Alerts by id, without where their records were read from (a file for `replay`, a
/// partition and offset for `run`) and, when `ignore_detected_at`, without the watermark at
/// emission (an idle partition is flushed early, which moves it).
fn by_id(lines: impl Iterator<Item = String>, ignore_detected_at: bool) -> BTreeMap<String, Value> {
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut a: Value = serde_json::from_str(&l).expect("alert json");
            let obj = a.as_object_mut().expect("object");
            obj.remove("source");
            if ignore_detected_at {
                obj.remove("detected_at");
            }
            for e in obj.get_mut("evidence").and_then(Value::as_array_mut).expect("evidence") {
                e.as_object_mut().expect("evidence object").remove("source");
            }
            (a["id"].as_str().expect("id").to_string(), a)
        })
        .collect()
}

/// What `replay` says about the demo archive, with the same config.
fn replay_alerts(config: &Path, ignore_detected_at: bool) -> BTreeMap<String, Value> {
    replay_alerts_of(config, &demo(), ignore_detected_at)
}

/// What `replay` says about `path`, with the same config.
fn replay_alerts_of(config: &Path, path: &str, ignore_detected_at: bool) -> BTreeMap<String, Value> {
    let out =
        Command::new(nhiwatch_binary()).args(["replay", "--config"]).arg(config).arg(path).output().expect("replay");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let alerts = by_id(String::from_utf8_lossy(&out.stdout).lines().map(str::to_string), ignore_detected_at);
    assert!(alerts.len() >= 10, "the demo should raise alerts, got {}", alerts.len());
    alerts
}

fn alert_topic(broker: &Broker, ignore_detected_at: bool) -> (usize, BTreeMap<String, Value>) {
    let records = broker.read_all("alerts", 1, Duration::from_secs(3));
    for r in &records {
        let id = serde_json::from_str::<Value>(&r.payload).expect("alert json")["id"].as_str().map(str::to_string);
        assert_eq!(r.key, id, "alerts are keyed by alert id");
    }
    (records.len(), by_id(records.into_iter().map(|r| r.payload), ignore_detected_at))
}

fn setup(topic_partitions: u32) -> (Broker, tempfile::TempDir, u16) {
    let broker = Broker::start();
    broker.create_topic("cloudtrail", topic_partitions);
    broker.create_topic("alerts", 1);
    broker.create_topic("dlq", 1);
    (broker, tempfile::tempdir().expect("tempdir"), free_port())
}

fn events_in(run: &Run) -> f64 {
    run.metric("nhiwatch_events_in_total")
}

fn total_events() -> f64 {
    total_events_of(&demo())
}

/// Every good record under `path` (the summary of replay says how many).
fn total_events_of(path: &str) -> f64 {
    let out = Command::new(nhiwatch_binary()).args(["replay"]).arg(path).output().expect("replay");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().find(|l| l.trim_start().starts_with("events:")).expect("summary events line");
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("event count")
}

/// Waits until all `n` events are in and the alerts stop changing (idle flush done).
fn settle(run: &Run, n: f64) {
    run.wait_for("every record to be read", WAIT, |r| events_in(r) >= n);
    let mut last = -1.0;
    run.wait_for("alerts to settle", WAIT, |r| {
        std::thread::sleep(Duration::from_millis(3000));
        let now = r.metric("nhiwatch_alerts_total");
        let settled = now == last && r.metric("nhiwatch_checkpoints_total") > 0.0;
        last = now;
        settled
    });
}

#[test]
fn run_raises_the_same_alerts_as_replay() {
    let (broker, dir, port) = setup(1);
    let config = run_config(&broker, dir.path(), port, "", "");
    publish(&broker, "cloudtrail", &[&demo()]);
    let run = Run::start(&config, port, dir.path().join("run.log"));
    settle(&run, total_events());
    assert_eq!(run.terminate(), 0);
    let expected = replay_alerts(&config, false);
    let (delivered, got) = alert_topic(&broker, false);
    assert_eq!(delivered, expected.len(), "one message per alert, no duplicates in a clean run");
    assert_eq!(got.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>());
    for (id, alert) in &expected {
        assert_eq!(&got[id], alert, "alert {id} differs between run and replay");
    }
    // The file sink holds the same alerts.
    let file = std::fs::read_to_string(dir.path().join("alerts.jsonl")).expect("alert file");
    assert_eq!(by_id(file.lines().map(str::to_string), false), expected);
}

/// GCP, Azure and Kubernetes records mixed on one topic: the live path recognises each
/// record's source as replay does and raises the same alerts.
#[test]
fn other_clouds_from_kafka_raise_the_same_alerts_as_replay() {
    let (broker, dir, port) = setup(1);
    let config = run_config(&broker, dir.path(), port, "", "");
    let clouds = fixture("clouds");
    publish(&broker, "cloudtrail", &[&clouds]);
    let run = Run::start(&config, port, dir.path().join("run.log"));
    settle(&run, total_events_of(&clouds));
    assert_eq!(run.terminate(), 0);
    let expected = replay_alerts_of(&config, &clouds, false);
    let (delivered, got) = alert_topic(&broker, false);
    assert_eq!(delivered, expected.len());
    assert_eq!(got, expected);
    let rules: std::collections::BTreeSet<&str> = got.values().filter_map(|a| a["rule_id"].as_str()).collect();
    for rule in ["gcp-service-account-key-created", "azure-privileged-role-assigned", "k8s-exec-by-service-account"] {
        assert!(rules.contains(rule), "{rule} in {rules:?}");
    }
}

/// With several partitions each has its own engine and watermark: records keyed by identity
/// keep each identity's history together, so the same alerts are raised; only the watermark
/// at emission (`detected_at`) depends on what else shares the partition.
#[test]
fn partitions_keyed_by_identity_raise_the_same_alerts() {
    let (broker, dir, port) = setup(3);
    let config = run_config(&broker, dir.path(), port, "", "");
    publish(&broker, "cloudtrail", &[&demo()]);
    let run = Run::start(&config, port, dir.path().join("run.log"));
    settle(&run, total_events());
    let partitions_used =
        run.metrics().unwrap_or_default().lines().filter(|l| l.starts_with("nhiwatch_events_in_total{")).count();
    assert_eq!(partitions_used, 3, "the demo's identities spread over the partitions");
    assert_eq!(run.terminate(), 0);
    let expected = replay_alerts(&config, true);
    let (_, got) = alert_topic(&broker, true);
    assert_eq!(got, expected);
}

#[test]
fn kill_9_mid_stream_then_restart_loses_nothing() {
    let (broker, dir, port) = setup(1);
    // Small fetches make the stream take a few seconds, so the kill lands in the middle.
    let config = run_config(&broker, dir.path(), port, SLOW_FETCH, "");
    let total = total_events();
    publish(&broker, "cloudtrail", &[&demo(), "--until", SPLIT]);
    let run = Run::start(&config, port, dir.path().join("run.log"));
    run.wait_for("the first part", WAIT, |r| events_in(r) > 0.0 && r.metric("nhiwatch_checkpoints_total") > 0.0);
    let first = events_in(&run);
    publish(&broker, "cloudtrail", &[&demo(), "--since", SPLIT]);
    run.wait_for("the second part to start", WAIT, |r| events_in(r) > first);
    run.kill_hard();
    // The restart resumes from the last checkpoint: it reads every record after it, once.
    let resumed_at = checkpoint_offset(dir.path());
    assert!(resumed_at < total as u64, "killed before everything was checkpointed");
    let run = Run::start(&config, port, dir.path().join("run2.log"));
    run.wait_for("the rest of the stream to be checkpointed", WAIT, |_| checkpoint_offset(dir.path()) >= total as u64);
    settle(&run, total - resumed_at as f64);
    assert_eq!(events_in(&run), total - resumed_at as f64, "no record skipped, none read twice by the restart");
    assert_eq!(run.terminate(), 0);
    assert_eq!(checkpoint_offset(dir.path()), total as u64, "the final checkpoint covers every record");
    let expected = replay_alerts(&config, true);
    let (_, got) = alert_topic(&broker, true);
    let missing: Vec<&String> = expected.keys().filter(|id| !got.contains_key(*id)).collect();
    assert!(missing.is_empty(), "alerts lost after kill -9: {missing:?}");
    let extra: Vec<&String> = got.keys().filter(|id| !expected.contains_key(*id)).collect();
    assert!(extra.is_empty(), "alerts replay does not raise: {extra:?}");
    for (id, alert) in &expected {
        assert_eq!(&got[id], alert, "alert {id} differs");
    }
}

fn checkpoint_offset(state_parent: &Path) -> u64 {
    let path = state_parent.join("state/cloudtrail/0/checkpoint.json.gz");
    let f = std::fs::File::open(&path).expect("checkpoint written");
    let cp: Value = serde_json::from_reader(flate2::read::GzDecoder::new(f)).expect("checkpoint json");
    cp["next_offset"].as_u64().expect("next_offset")
}

#[test]
fn broker_restart_mid_stream_recovers_by_itself() {
    let (mut broker, dir, port) = setup(1);
    let config = run_config(&broker, dir.path(), port, "", "");
    publish(&broker, "cloudtrail", &[&demo(), "--until", SPLIT]);
    let run = Run::start(&config, port, dir.path().join("run.log"));
    run.wait_for("the first part", WAIT, |r| events_in(r) > 0.0);
    let mut last = -1.0;
    run.wait_for("the first part to be read", WAIT, |r| {
        std::thread::sleep(Duration::from_millis(1000));
        let now = events_in(r);
        let done = now == last;
        last = now;
        done
    });
    // Alerts raised while the broker is away (the idle flush) wait for it and are delivered.
    broker.stop();
    std::thread::sleep(Duration::from_secs(5));
    broker.restart();
    publish(&broker, "cloudtrail", &[&demo(), "--since", SPLIT]);
    settle(&run, total_events());
    assert_eq!(run.terminate(), 0);
    let expected = replay_alerts(&config, true);
    let (_, got) = alert_topic(&broker, true);
    assert_eq!(got.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "{}", broker.log());
    for (id, alert) in &expected {
        assert_eq!(&got[id], alert, "alert {id} differs");
    }
}

#[test]
fn garbage_is_dead_lettered_and_good_records_still_alert() {
    let (broker, dir, port) = setup(1);
    let config = run_config(&broker, dir.path(), port, "", "");
    let garbage: [&[u8]; 4] = [
        b"this is not json",
        br#"{"eventName":"ListUsers","eventSource":"iam.amazonaws.com"}"#,
        b"",
        br#"{"Records":[{"eventTime":"not a time","eventName":"GetObject"}]}"#,
    ];
    broker.produce("cloudtrail", &garbage[..2]);
    publish(&broker, "cloudtrail", &[&demo()]);
    broker.produce("cloudtrail", &garbage[2..]);
    let run = Run::start(&config, port, dir.path().join("run.log"));
    settle(&run, total_events());
    assert_eq!(run.metric("nhiwatch_dead_lettered_total"), 4.0);
    assert!(run.metric("nhiwatch_bad_records_total") >= 4.0);
    assert_eq!(run.terminate(), 0);
    let dead = broker.read_all("dlq", 1, Duration::from_secs(3));
    assert_eq!(dead.len(), 4, "{dead:?}");
    let total = total_events() as i64;
    let expected_offsets = [0, 1, total + 2, total + 3];
    for (record, (offset, payload)) in dead.iter().zip(expected_offsets.iter().zip(garbage)) {
        let header = |k: &str| record.headers.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        assert_eq!(header("nhiwatch.source.topic").as_deref(), Some("cloudtrail"));
        assert_eq!(header("nhiwatch.source.partition").as_deref(), Some("0"));
        assert_eq!(header("nhiwatch.source.offset"), Some(offset.to_string()));
        assert!(header("nhiwatch.error").is_some_and(|e| !e.is_empty()), "{record:?}");
        assert_eq!(record.payload.as_bytes(), payload, "the original message is kept");
    }
    let expected = replay_alerts(&config, false);
    let (_, got) = alert_topic(&broker, false);
    assert_eq!(got, expected, "the good records around the garbage alert as in replay");
}

#[test]
fn sigterm_checkpoints_commits_and_a_restart_reprocesses_nothing() {
    let (broker, dir, port) = setup(1);
    let config = run_config(&broker, dir.path(), port, "", "");
    publish(&broker, "cloudtrail", &[&demo()]);
    let total = total_events();
    let run = Run::start(&config, port, dir.path().join("run.log"));
    run.wait_for("every record", WAIT, |r| events_in(r) >= total);
    let code = run.terminate();
    assert_eq!(code, 0, "SIGTERM is a clean stop");
    assert_eq!(broker.committed("nhiwatch", "cloudtrail"), Some(total as i64), "offsets committed on the way out");
    assert_eq!(checkpoint_offset(dir.path()), total as u64);
    let run = Run::start(&config, port, dir.path().join("run2.log"));
    run.wait_for("the restart to take its partition", WAIT, |r| r.metric("nhiwatch_partitions_assigned_total") > 0.0);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(events_in(&run), 0.0, "nothing before the checkpoint is read again");
    assert_eq!(run.metric("nhiwatch_messages_skipped_total"), 0.0);
    // Events still buffered at the stop were in the checkpoint: they alert after the restart.
    settle(&run, 0.0);
    assert_eq!(run.terminate(), 0);
    let expected = replay_alerts(&config, true);
    let (_, got) = alert_topic(&broker, true);
    assert_eq!(got, expected);
}

#[test]
fn rule_changes_reload_without_losing_state_and_bad_packs_are_rejected() {
    let (broker, dir, port) = setup(1);
    let rules = dir.path().join("rules");
    copy_dir(&project_root().join("rules"), &rules);
    let config = run_config(&broker, dir.path(), port, "", &format!("[rules]\ndirs = [\"{}\"]\n", rules.display()));
    publish(&broker, "cloudtrail", &[&demo(), "--until", SPLIT]);
    let run = Run::start(&config, port, dir.path().join("run.log"));
    run.wait_for("the first part", WAIT, |r| events_in(r) > 0.0 && r.metric("nhiwatch_checkpoints_total") > 0.0);
    // An invalid change is rejected; the old pack keeps running.
    std::fs::write(rules.join("nhi/broken.yml"), "id: broken\ntitle: [unclosed\n").expect("write");
    run.hangup();
    run.wait_for("the bad pack to be rejected", WAIT, |r| r.metric("nhiwatch_rule_reload_failures_total") >= 1.0);
    std::fs::remove_file(rules.join("nhi/broken.yml")).expect("remove");
    // A valid change (a new rule) is applied; the baselines learned so far are kept.
    std::fs::write(rules.join("aws/watch-caller-identity.yml"), NEW_RULE).expect("write");
    run.wait_for("the new rule to load", WAIT, |r| r.metric("nhiwatch_rule_reloads_total") >= 1.0);
    publish(&broker, "cloudtrail", &[&demo(), "--since", SPLIT]);
    settle(&run, total_events());
    assert_eq!(run.terminate(), 0);
    let (_, got) = alert_topic(&broker, true);
    let rules_fired: std::collections::BTreeSet<&str> = got.values().filter_map(|a| a["rule_id"].as_str()).collect();
    assert!(rules_fired.contains("test-caller-identity-check"), "the reloaded rule alerts: {rules_fired:?}");
    // Baseline rules need what was learned before the reload: their alerts match replay's.
    let expected = replay_alerts(&project_root().join("fixtures/demo/nhiwatch.toml"), true);
    for (id, alert) in expected.iter().filter(|(_, a)| a["rule_id"].as_str().is_some_and(|r| r.starts_with("nhi-new-")))
    {
        assert_eq!(
            got.get(id).map(|a| &a["rule_id"]),
            Some(&alert["rule_id"]),
            "baseline alert {id} lost by the reload"
        );
    }
}

const NEW_RULE: &str = r#"id: test-caller-identity-check
title: A non-human identity checks who it is
description: Added while running, to prove rule reload.
severity: low
attack: [T1087.004]
kind: match
condition:
  all:
    - {field: action, equals: GetCallerIdentity}
    - {field: identity.nhi, equals: true}
summary: "{identity.name} called GetCallerIdentity"
"#;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[test]
fn sigterm_with_the_brokers_away_still_checkpoints_and_exits() {
    let (mut broker, dir, port) = setup(1);
    let config = run_config(&broker, dir.path(), port, "", "");
    publish(&broker, "cloudtrail", &[&demo()]);
    let total = total_events();
    let run = Run::start(&config, port, dir.path().join("run.log"));
    run.wait_for("every record", WAIT, |r| events_in(r) >= total);
    broker.stop();
    let stopping = std::time::Instant::now();
    assert_eq!(run.terminate(), 0, "the checkpoint is written, so the stop is clean");
    assert!(
        stopping.elapsed() < Duration::from_secs(45),
        "stopping waited {:?} for absent brokers",
        stopping.elapsed()
    );
    assert_eq!(checkpoint_offset(dir.path()), total as u64, "everything read is in the checkpoint");
}
