//! Prometheus metrics of `nhiwatch run`, served as text on `/metrics`.
//!
//! Counters are kept here, fed by the run loop; the event-to-alert latency goes into an
//! `hdrhistogram` and is exposed as a summary (p50, p99, p999). The exposition text is
//! written here because the Prometheus client crates have no quantile summaries over an
//! HDR histogram; the format is the plain text format 0.0.4.

use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// A topic and partition.
pub type Partition = (String, i32);

/// Everything `/metrics` shows.
#[derive(Debug)]
pub struct Metrics {
    inner: Mutex<Data>,
}

#[derive(Debug)]
struct Data {
    events_in: BTreeMap<Partition, u64>,
    messages_skipped: u64,
    bad_records: BTreeMap<String, u64>,
    dead_lettered: u64,
    late_events: u64,
    alerts: BTreeMap<(String, String), u64>,
    shadow_alerts: BTreeMap<String, u64>,
    consumer_lag: BTreeMap<Partition, i64>,
    /// Milliseconds from the Kafka timestamp of the triggering record to the alert's hand-off
    /// to the sinks.
    latency_ms: Histogram<u64>,
    identities: BTreeMap<Partition, (u64, u64)>,
    evictions: BTreeMap<Partition, u64>,
    checkpoints: u64,
    checkpoint_failures: u64,
    checkpoint_seconds_last: f64,
    checkpoint_seconds_sum: f64,
    checkpoint_bytes_last: u64,
    partitions_assigned: u64,
    reloads: u64,
    reload_failures: u64,
}

impl Default for Metrics {
    fn default() -> Self {
        let latency_ms = Histogram::new_with_bounds(1, 3_600_000, 3)
            .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant digits is valid")));
        Self {
            inner: Mutex::new(Data {
                events_in: BTreeMap::new(),
                messages_skipped: 0,
                bad_records: BTreeMap::new(),
                dead_lettered: 0,
                late_events: 0,
                alerts: BTreeMap::new(),
                shadow_alerts: BTreeMap::new(),
                consumer_lag: BTreeMap::new(),
                latency_ms,
                identities: BTreeMap::new(),
                evictions: BTreeMap::new(),
                checkpoints: 0,
                checkpoint_failures: 0,
                checkpoint_seconds_last: 0.0,
                checkpoint_seconds_sum: 0.0,
                checkpoint_bytes_last: 0,
                partitions_assigned: 0,
                reloads: 0,
                reload_failures: 0,
            }),
        }
    }
}

/// A counter update, applied under one lock.
#[derive(Debug, Clone, Copy, Default)]
pub struct MessageCounts {
    /// Good records decoded from the message.
    pub events: u64,
    /// Records older than the watermark.
    pub late: u64,
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Data) -> R) -> R {
        let mut guard = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }

    /// One message read from `partition`.
    pub fn message(&self, partition: &Partition, counts: MessageCounts) {
        self.with(|d| {
            match d.events_in.get_mut(partition) {
                Some(n) => *n += counts.events,
                None => {
                    d.events_in.insert(partition.clone(), counts.events);
                }
            }
            d.late_events += counts.late;
        });
    }

    /// A message below the partition's checkpoint offset, already in its state.
    pub fn skipped(&self) {
        self.with(|d| d.messages_skipped += 1);
    }

    /// A bad record, by reason.
    pub fn bad_record(&self, reason: &str) {
        self.with(|d| *d.bad_records.entry(reason.to_string()).or_default() += 1);
    }

    /// A message sent to the dead-letter topic.
    pub fn dead_lettered(&self) {
        self.with(|d| d.dead_lettered += 1);
    }

    /// An alert handed to the sinks, `latency_ms` after its record reached Kafka.
    pub fn alert(&self, rule: &str, severity: &str, shadow: bool, latency_ms: Option<u64>) {
        self.with(|d| {
            if shadow {
                *d.shadow_alerts.entry(rule.to_string()).or_default() += 1;
            } else {
                *d.alerts.entry((rule.to_string(), severity.to_string())).or_default() += 1;
            }
            if let Some(ms) = latency_ms {
                d.latency_ms.saturating_record(ms.max(1));
            }
        });
    }

    /// Consumer lag of a partition.
    pub fn lag(&self, partition: &Partition, lag: i64) {
        self.with(|d| {
            d.consumer_lag.insert(partition.clone(), lag);
        });
    }

    /// Identities (non-human, human) and evictions of a partition's engine.
    pub fn engine_gauges(&self, partition: &Partition, nhi: u64, human: u64, evictions: u64) {
        self.with(|d| {
            d.identities.insert(partition.clone(), (nhi, human));
            d.evictions.insert(partition.clone(), evictions);
        });
    }

    /// A partition left this instance.
    pub fn partition_gone(&self, partition: &Partition) {
        self.with(|d| {
            d.identities.remove(partition);
            d.consumer_lag.remove(partition);
        });
    }

    /// A partition was assigned.
    pub fn partition_assigned(&self) {
        self.with(|d| d.partitions_assigned += 1);
    }

    /// A checkpoint was written (or failed).
    pub fn checkpoint(&self, ok: bool, seconds: f64, bytes: u64) {
        self.with(|d| {
            if ok {
                d.checkpoints += 1;
                d.checkpoint_seconds_last = seconds;
                d.checkpoint_seconds_sum += seconds;
                if bytes > 0 {
                    d.checkpoint_bytes_last = bytes;
                }
            } else {
                d.checkpoint_failures += 1;
            }
        });
    }

    /// A rule reload was applied (or rejected).
    pub fn reload(&self, ok: bool) {
        self.with(|d| if ok { d.reloads += 1 } else { d.reload_failures += 1 });
    }

    /// Records read so far, all partitions.
    pub fn events_total(&self) -> u64 {
        self.with(|d| d.events_in.values().sum())
    }

    /// Alerts handed to analysts' sinks so far.
    pub fn alerts_total(&self) -> u64 {
        self.with(|d| d.alerts.values().sum())
    }

    /// Messages dead-lettered so far.
    pub fn dead_lettered_total(&self) -> u64 {
        self.with(|d| d.dead_lettered)
    }

    /// Latency quantiles in milliseconds (p50, p99, p999), when any alert was timed.
    pub fn latency_quantiles_ms(&self) -> Option<(u64, u64, u64)> {
        self.with(|d| {
            (!d.latency_ms.is_empty()).then(|| {
                (
                    d.latency_ms.value_at_quantile(0.5),
                    d.latency_ms.value_at_quantile(0.99),
                    d.latency_ms.value_at_quantile(0.999),
                )
            })
        })
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        self.with(|d| {
            let mut out = String::new();
            let part = |(t, p): &Partition| format!("topic=\"{}\",partition=\"{p}\"", escape(t));
            family(&mut out, "nhiwatch_events_in_total", "counter", "Audit records read, per input partition.");
            for (p, n) in &d.events_in {
                let _ = writeln!(out, "nhiwatch_events_in_total{{{}}} {n}", part(p));
            }
            single(
                &mut out,
                "nhiwatch_messages_skipped_total",
                "counter",
                "Messages below a partition's checkpoint offset (already in its state).",
                d.messages_skipped,
            );
            family(&mut out, "nhiwatch_bad_records_total", "counter", "Records that could not be decoded, by reason.");
            for (reason, n) in &d.bad_records {
                let _ = writeln!(out, "nhiwatch_bad_records_total{{reason=\"{}\"}} {n}", escape(reason));
            }
            single(
                &mut out,
                "nhiwatch_dead_lettered_total",
                "counter",
                "Messages sent to the dead-letter topic.",
                d.dead_lettered,
            );
            single(
                &mut out,
                "nhiwatch_late_events_total",
                "counter",
                "Events older than the watermark on arrival (still evaluated).",
                d.late_events,
            );
            family(
                &mut out,
                "nhiwatch_alerts_total",
                "counter",
                "Alerts delivered to analysts' sinks, by rule and severity.",
            );
            for ((rule, severity), n) in &d.alerts {
                let _ = writeln!(
                    out,
                    "nhiwatch_alerts_total{{rule=\"{}\",severity=\"{}\"}} {n}",
                    escape(rule),
                    escape(severity)
                );
            }
            family(&mut out, "nhiwatch_shadow_alerts_total", "counter", "Alerts of shadow-mode rules, by rule.");
            for (rule, n) in &d.shadow_alerts {
                let _ = writeln!(out, "nhiwatch_shadow_alerts_total{{rule=\"{}\"}} {n}", escape(rule));
            }
            family(&mut out, "nhiwatch_consumer_lag", "gauge", "Messages behind the end of each partition.");
            for (p, n) in &d.consumer_lag {
                let _ = writeln!(out, "nhiwatch_consumer_lag{{{}}} {n}", part(p));
            }
            family(
                &mut out,
                "nhiwatch_event_to_alert_latency_seconds",
                "summary",
                "From the Kafka timestamp of the triggering record to the alert's hand-off to the sinks.",
            );
            for q in [0.5, 0.99, 0.999] {
                let v = if d.latency_ms.is_empty() { 0.0 } else { d.latency_ms.value_at_quantile(q) as f64 / 1000.0 };
                let _ = writeln!(out, "nhiwatch_event_to_alert_latency_seconds{{quantile=\"{q}\"}} {v}");
            }
            let sum: f64 = d
                .latency_ms
                .iter_recorded()
                .map(|v| v.value_iterated_to() as f64 * v.count_at_value() as f64)
                .sum::<f64>()
                / 1000.0;
            let _ = writeln!(out, "nhiwatch_event_to_alert_latency_seconds_sum {sum}");
            let _ = writeln!(out, "nhiwatch_event_to_alert_latency_seconds_count {}", d.latency_ms.len());
            family(&mut out, "nhiwatch_identities_tracked", "gauge", "Identities with state, per partition and kind.");
            for (p, (nhi, human)) in &d.identities {
                let _ = writeln!(out, "nhiwatch_identities_tracked{{{},kind=\"nhi\"}} {nhi}", part(p));
                let _ = writeln!(out, "nhiwatch_identities_tracked{{{},kind=\"human\"}} {human}", part(p));
            }
            family(
                &mut out,
                "nhiwatch_state_evictions_total",
                "counter",
                "Groups evicted from bounded state (their baselines start over), per partition.",
            );
            for (p, n) in &d.evictions {
                let _ = writeln!(out, "nhiwatch_state_evictions_total{{{}}} {n}", part(p));
            }
            single(&mut out, "nhiwatch_checkpoints_total", "counter", "Checkpoints written.", d.checkpoints);
            single(
                &mut out,
                "nhiwatch_checkpoint_failures_total",
                "counter",
                "Checkpoints not written (alerts unacknowledged or disk error); retried.",
                d.checkpoint_failures,
            );
            family(
                &mut out,
                "nhiwatch_checkpoint_duration_seconds",
                "gauge",
                "Duration of the last checkpoint (deliver, snapshot, write).",
            );
            let _ = writeln!(out, "nhiwatch_checkpoint_duration_seconds {}", d.checkpoint_seconds_last);
            family(&mut out, "nhiwatch_checkpoint_duration_seconds_sum", "counter", "Time spent checkpointing.");
            let _ = writeln!(out, "nhiwatch_checkpoint_duration_seconds_sum {}", d.checkpoint_seconds_sum);
            single(
                &mut out,
                "nhiwatch_checkpoint_bytes",
                "gauge",
                "Bytes written by the last checkpoint that wrote any, all partitions.",
                d.checkpoint_bytes_last,
            );
            single(
                &mut out,
                "nhiwatch_partitions_assigned_total",
                "counter",
                "Partitions assigned to this instance.",
                d.partitions_assigned,
            );
            single(&mut out, "nhiwatch_rule_reloads_total", "counter", "Rule packs reloaded.", d.reloads);
            single(
                &mut out,
                "nhiwatch_rule_reload_failures_total",
                "counter",
                "Rule packs rejected on reload (the old pack kept running).",
                d.reload_failures,
            );
            out
        })
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn single(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    family(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

/// Escapes a label value (backslash, double quote, newline).
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Serves `/metrics` on `listener` until the runtime stops.
pub async fn serve(listener: tokio::net::TcpListener, metrics: std::sync::Arc<Metrics>) -> std::io::Result<()> {
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let metrics = std::sync::Arc::clone(&metrics);
            async move { ([("content-type", "text/plain; version=0.0.4")], metrics.render()) }
        }),
    );
    axum::serve(listener, app).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_every_family_and_escapes_labels() {
        let m = Metrics::default();
        let p = ("cloudtrail".to_string(), 0);
        m.message(&p, MessageCounts { events: 3, late: 1 });
        m.bad_record("not \"json\"");
        m.alert("aws-root-activity", "high", false, Some(120));
        m.alert("aws-root-activity", "high", false, Some(80));
        m.lag(&p, 42);
        let text = m.render();
        assert!(text.contains("nhiwatch_events_in_total{topic=\"cloudtrail\",partition=\"0\"} 3"), "{text}");
        assert!(text.contains("nhiwatch_bad_records_total{reason=\"not \\\"json\\\"\"} 1"), "{text}");
        assert!(text.contains("nhiwatch_alerts_total{rule=\"aws-root-activity\",severity=\"high\"} 2"), "{text}");
        assert!(text.contains("nhiwatch_consumer_lag{topic=\"cloudtrail\",partition=\"0\"} 42"), "{text}");
        assert!(text.contains("nhiwatch_late_events_total 1"), "{text}");
        assert!(text.contains("nhiwatch_event_to_alert_latency_seconds_count 2"), "{text}");
        let (p50, p99, _) = m.latency_quantiles_ms().expect("timed");
        assert!((80..=120).contains(&p50) && p99 >= p50, "{p50} {p99}");
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().expect("value");
            assert!(value.parse::<f64>().is_ok(), "not a sample line: {line}");
        }
    }
}
