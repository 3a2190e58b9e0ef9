//! `nhiwatch run` against a real Kafka-protocol broker (Tansu, started here):
//!
//! 1. throughput: the same topic read by a raw rdkafka consumer and by `nhiwatch run` with the
//!    full pack, in one run (target: run ≥ 0.8 × raw);
//! 2. event-to-alert latency: records published at a fixed rate with the current time as event
//!    time, one in a hundred raising an alert; p50/p99/p999 from the run's own histogram
//!    (`nhiwatch_event_to_alert_latency_seconds`, Kafka timestamp → hand-off to the sinks),
//!    with `lateness = "0s"` so the figure is the pipeline's own (a deployment adds its
//!    configured lateness, 15 minutes by default, unless a partition goes idle first).
//!
//! `cargo build --release -p nhiwatch && cargo bench -p nhiwatch-benches --bench kafka`
//! (`NHIWATCH_BENCH_EVENTS`, default 300,000; `NHIWATCH_BENCH_RATE`, default 2,000 records/s;
//! `NHIWATCH_BENCH_SECONDS`, default 20.) Needs the broker of `scripts/install-tansu.sh`.

use nhiwatch_benches::env_count;
use nhiwatch_generator::{OrgSpec, org_records};
use nhiwatch_tests::kafka::{Broker, Run, free_port, publish, run_config, sum_metric};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::io::Write;
use std::time::{Duration, Instant};

fn main() {
    let events = env_count("NHIWATCH_BENCH_EVENTS", 300_000);
    let rate = env_count("NHIWATCH_BENCH_RATE", 2_000);
    let seconds = env_count("NHIWATCH_BENCH_SECONDS", 20);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let broker = Broker::start();
    for t in ["cloudtrail", "alerts", "dlq", "live"] {
        broker.create_topic(t, 1);
    }

    // Input: a generated organisation, published keyed by identity.
    let spec = OrgSpec { identities: 5_000, events, seed: 11, ..OrgSpec::default() };
    let input = dir.path().join("org.jsonl");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&input).unwrap_or_else(|e| panic!("{e}")));
    for r in org_records(&spec) {
        serde_json::to_writer(&mut w, &r).unwrap_or_else(|e| panic!("{e}"));
        w.write_all(b"\n").unwrap_or_else(|e| panic!("{e}"));
    }
    drop(w);
    let t = Instant::now();
    publish(&broker, "cloudtrail", &[&input.display().to_string()]);
    let publish_secs = t.elapsed().as_secs_f64();
    println!("published {events} records in {publish_secs:.1}s = {:.0} records/s", events as f64 / publish_secs);

    // 1a. A raw consumer: read every message, touch its bytes.
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("group.id", "bench-raw")
        // As `nhiwatch run` sets it.
        .set("fetch.wait.max.ms", "100")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap_or_else(|e| panic!("consumer: {e}"));
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("cloudtrail", 0, Offset::Beginning).unwrap_or_else(|e| panic!("{e}"));
    consumer.assign(&tpl).unwrap_or_else(|e| panic!("assign: {e}"));
    let (mut n, mut bytes, mut first) = (0usize, 0usize, None);
    while n < events {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            first.get_or_insert_with(Instant::now);
            bytes += m.payload().map_or(0, <[u8]>::len);
            n += 1;
        }
    }
    let raw_secs = first.map_or(0.0, |f| f.elapsed().as_secs_f64());
    drop(consumer);
    let raw_rate = (events - 1) as f64 / raw_secs;
    println!(
        "raw rdkafka consumer: {n} messages ({:.0} MiB) in {raw_secs:.2}s = {raw_rate:.0} records/s",
        bytes as f64 / (1 << 20) as f64
    );

    // 1b. nhiwatch run, full pack, alerts to Kafka: first record read → last record read.
    let port = free_port();
    let config = run_config(&broker, dir.path(), port, "", "");
    // The deployment default, not the tests' 1s: a checkpoint snapshots every identity.
    let text = std::fs::read_to_string(&config)
        .unwrap_or_default()
        .replace("checkpoint_interval = \"1s\"", "checkpoint_interval = \"30s\"");
    std::fs::write(&config, text).unwrap_or_else(|e| panic!("{e}"));
    let run = Run::start(&config, port, dir.path().join("run.log"));
    let read = |r: &Run| r.metric("nhiwatch_events_in_total");
    run.wait_for("the first record", Duration::from_secs(120), |r| read(r) > 0.0);
    let (t0, n0) = (Instant::now(), read(&run));
    run.wait_for("every record", Duration::from_secs(1800), |r| read(r) >= events as f64);
    let run_secs = t0.elapsed().as_secs_f64();
    let run_rate = (events as f64 - n0) / run_secs;
    println!("nhiwatch run (full pack): {} records in {run_secs:.2}s = {run_rate:.0} records/s", events as f64 - n0);
    println!("run / raw: {:.2} (target >= 0.8)", run_rate / raw_rate);
    let alerts = run.metric("nhiwatch_alerts_total");
    println!("alerts: {alerts}");
    let _ = run.terminate();

    // 2. Latency at a fixed rate.
    let port = free_port();
    let live = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let config = run_config(&broker, live.path(), port, "", "");
    let text = std::fs::read_to_string(&config).unwrap_or_default();
    let text = text
        .replace("topics = [\"cloudtrail\"]", "topics = [\"live\"]")
        .replace("idle_flush = \"2s\"", "idle_flush = \"2s\"\nlateness = \"0s\"")
        .replace("group_id = \"nhiwatch\"", "group_id = \"nhiwatch-live\"")
        .replace("nhiwatch-test-1", "nhiwatch-live-1")
        .replace("checkpoint_interval = \"1s\"", "checkpoint_interval = \"30s\"");
    std::fs::write(&config, text).unwrap_or_else(|e| panic!("{e}"));
    let run = Run::start(&config, port, live.path().join("run.log"));
    run.wait_for("the partition", Duration::from_secs(120), |r| r.metric("nhiwatch_partitions_assigned_total") > 0.0);
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("linger.ms", "1")
        .create()
        .unwrap_or_else(|e| panic!("producer: {e}"));
    let total = rate * seconds;
    let started = Instant::now();
    for i in 0..total {
        let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let record = live_record(i);
        let key = record["userIdentity"]["arn"].as_str().unwrap_or_default().to_string();
        let payload = record.to_string();
        let mut msg = BaseRecord::<str, str>::to("live").key(&key).payload(&payload);
        while let Err((_, back)) = producer.send(msg) {
            msg = back;
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let _ = producer.flush(Duration::from_secs(30));
    let expected_alerts = (total / 100) as f64;
    run.wait_for("the alerts", Duration::from_secs(120), |r| r.metric("nhiwatch_alerts_total") >= expected_alerts);
    let text = run.metrics().unwrap_or_default();
    println!(
        "latency at {rate} records/s for {seconds}s ({} alerts): p50 {:.0} ms, p99 {:.0} ms, p999 {:.0} ms",
        sum_metric(&text, "nhiwatch_alerts_total"),
        quantile(&text, "0.5"),
        quantile(&text, "0.99"),
        quantile(&text, "0.999")
    );
    let _ = run.terminate();
}

fn quantile(metrics: &str, q: &str) -> f64 {
    let prefix = format!("nhiwatch_event_to_alert_latency_seconds{{quantile=\"{q}\"}} ");
    metrics.lines().find_map(|l| l.strip_prefix(&prefix)).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) * 1000.0
}

/// Record `i` of the live stream: routine reads by 500 roles, and every hundredth record a
/// service user stopping a trail (a different user each time, so no alert is de-duplicated).
fn live_record(i: usize) -> serde_json::Value {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    if i % 100 == 99 {
        let user = format!("svc-deployer-{i}");
        serde_json::json!({
            "eventVersion": "1.09", "eventTime": now, "eventSource": "cloudtrail.amazonaws.com",
            "eventName": "StopLogging", "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9",
            "userAgent": "aws-cli/2.15.10", "eventID": format!("live-{i}"), "readOnly": false,
            "recipientAccountId": "111111111111", "eventType": "AwsApiCall",
            "requestParameters": {"name": "org-trail"},
            "userIdentity": {"type": "IAMUser", "principalId": format!("AIDA{i}"),
                "arn": format!("arn:aws:iam::111111111111:user/{user}"), "accountId": "111111111111",
                "accessKeyId": "AKIAAAAAAAAAAAAAAAAA", "userName": user}
        })
    } else {
        let role = format!("app-{}", i % 500);
        serde_json::json!({
            "eventVersion": "1.09", "eventTime": now, "eventSource": "ec2.amazonaws.com",
            "eventName": "DescribeInstances", "awsRegion": "us-east-1", "sourceIPAddress": "10.0.1.7",
            "userAgent": "aws-sdk-go-v2/1.30.0", "eventID": format!("live-{i}"), "readOnly": true,
            "recipientAccountId": "111111111111", "eventType": "AwsApiCall",
            "userIdentity": {"type": "AssumedRole", "principalId": format!("AROA{role}:i-0abc"),
                "arn": format!("arn:aws:sts::111111111111:assumed-role/{role}/i-0abc"), "accountId": "111111111111",
                "accessKeyId": "ASIAAAAAAAAAAAAAAAAA",
                "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": format!("AROA{role}"),
                    "arn": format!("arn:aws:iam::111111111111:role/{role}"), "accountId": "111111111111", "userName": role}}}
        })
    }
}
