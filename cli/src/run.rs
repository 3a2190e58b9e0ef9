//! `nhiwatch run`: live detection from Kafka through the same engine as `replay`.
//!
//! One engine per input partition, so a partition moves between instances with its state
//! (producers key records by identity, so each identity's history stays in one partition).
//!
//! Delivery is at least once, end to end:
//! 1. a message's records go through its partition's engine; alerts go to the sinks (the
//!    Kafka sink produces idempotently with `acks=all`, keyed by alert id);
//! 2. every `checkpoint_interval`, on revocation and on shutdown: wait until every alert and
//!    dead letter sent so far is acknowledged, then write each partition's checkpoint (engine
//!    snapshot, including events still waiting for the watermark, plus the next input offset)
//!    atomically, then commit those offsets to the group. Reading pauses only while the
//!    snapshots are taken; a background thread serializes and writes them (the interval's
//!    checkpoints), and the offsets are committed once they are on disk;
//! 3. on assignment a partition resumes from its checkpoint's offset with its state.
//!
//! A crash between two checkpoints replays the messages after the last one: the alerts they
//! raise again carry the same ids (recognisable duplicates), and nothing is lost. Offsets are
//! committed only after a checkpoint, and the checkpoint's offset wins over the group's.

use crate::config::{Config, SinkConfig, SinkKind};
use crate::metrics::{MessageCounts, Metrics};
use crate::pack::load_pack;
use anyhow::Context;
use nhiwatch_core::{Alert, EventTime};
use nhiwatch_decode::{DecodeOptions, decode_owned};
use nhiwatch_detect::snapshot::Snapshot;
use nhiwatch_detect::{Engine, EngineConfig};
use nhiwatch_kafka::{KafkaSettings, Outgoing, PartitionOwner, ReliableProducer, TopicPartition};
use nhiwatch_rules::RulePack;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, CommitMode, ConsumerContext};
use rdkafka::message::BorrowedMessage;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Checkpoint format name.
pub const CHECKPOINT_FORMAT: &str = "nhiwatch-checkpoint";
/// Current checkpoint version.
pub const CHECKPOINT_VERSION: u32 = 1;

/// How long a checkpoint waits for the brokers to acknowledge alerts before it gives up
/// (and is retried at the next interval; nothing is committed meanwhile).
const ACK_DEADLINE: Duration = Duration::from_secs(30);
/// How long shutdown keeps trying to deliver and checkpoint.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(120);

/// One partition's durable state.
#[derive(Debug, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Always [`CHECKPOINT_FORMAT`].
    pub format: String,
    /// [`CHECKPOINT_VERSION`] when written.
    pub version: u32,
    /// Input topic.
    pub topic: String,
    /// Input partition.
    pub partition: i32,
    /// The first offset not yet in `engine`.
    pub next_offset: i64,
    /// The engine's state after every message before `next_offset`.
    pub engine: Snapshot,
}

/// Where a partition's checkpoint lives.
pub fn checkpoint_path(state_dir: &Path, (topic, partition): &TopicPartition) -> PathBuf {
    state_dir.join(topic).join(partition.to_string()).join("checkpoint.json.gz")
}

/// Stop and reload requests from signals.
#[derive(Debug, Default)]
pub struct Flags {
    /// SIGTERM / SIGINT: finish, checkpoint, commit, exit.
    pub stop: AtomicBool,
    /// SIGHUP: reload the rule pack.
    pub reload: AtomicBool,
}

/// Counters printed when `run` ends.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    /// Records read.
    pub events: u64,
    /// Alerts delivered to analysts' sinks.
    pub alerts: u64,
    /// Messages dead-lettered.
    pub dead_lettered: u64,
}

/// The resolved `run` settings.
#[derive(Debug)]
pub struct RunSettings {
    /// `[kafka]`.
    pub kafka: KafkaSettings,
    /// Rule directories watched for changes (empty: the built-in pack).
    pub rule_dirs: Vec<PathBuf>,
    /// Engine settings.
    pub engine: EngineConfig,
    /// Checkpoints live here.
    pub state_dir: PathBuf,
    /// Checkpoint and commit this often.
    pub checkpoint_interval: Duration,
    /// Evaluate buffered events of a partition quiet this long.
    pub idle_flush: Duration,
    /// Alert sinks.
    pub sinks: Vec<SinkConfig>,
    /// Dead-letter topic.
    pub dead_letter: Option<String>,
    /// `/metrics` address.
    pub metrics_listen: Option<std::net::SocketAddr>,
}

impl RunSettings {
    /// Settings from a loaded config; `rules` on the command line win over `[rules] dirs`.
    pub fn from_config(config: &Config, rules: Vec<PathBuf>) -> anyhow::Result<Self> {
        let kafka = config.kafka.clone().context("the config has no [kafka] section (brokers, topics)")?;
        anyhow::ensure!(!kafka.topics.is_empty(), "[kafka] topics is empty");
        let rule_dirs = if rules.is_empty() { config.rules.dirs.iter().map(PathBuf::from).collect() } else { rules };
        let duration = |text: &Option<String>, default: &str, what: &str| -> anyhow::Result<Duration> {
            let d = nhiwatch_core::parse_duration(text.as_deref().unwrap_or(default)).context(what.to_string())?;
            d.to_std().context(what.to_string())
        };
        let mut sinks = config.alerts.sinks.clone();
        if sinks.is_empty() {
            sinks.push(SinkConfig { kind: SinkKind::Stdout, topic: None, path: None, shadow: false });
        }
        let metrics_listen = config
            .metrics
            .listen
            .as_deref()
            .map(|l| l.parse().with_context(|| format!("[metrics] listen '{l}' is not an address:port")))
            .transpose()?;
        Ok(Self {
            kafka,
            rule_dirs,
            engine: config.engine_config()?,
            state_dir: PathBuf::from(config.state.dir.as_deref().unwrap_or("nhiwatch-state")),
            checkpoint_interval: duration(&config.state.checkpoint_interval, "30s", "[state] checkpoint_interval")?,
            idle_flush: duration(&config.engine.idle_flush, "10s", "[engine] idle_flush")?,
            sinks,
            dead_letter: config.dead_letter.as_ref().map(|d| d.topic.clone()),
            metrics_listen,
        })
    }
}

/// Where alerts go.
enum Target {
    Kafka(String),
    File(std::io::BufWriter<std::fs::File>, PathBuf),
    Stdout,
}

struct Sinks {
    targets: Vec<(Target, bool)>,
    producer: Option<Arc<ReliableProducer>>,
}

impl Sinks {
    fn open(configs: &[SinkConfig], producer: Option<Arc<ReliableProducer>>) -> anyhow::Result<Self> {
        let mut targets = Vec::new();
        for c in configs {
            let target = match c.kind {
                SinkKind::Kafka => Target::Kafka(c.topic.clone().context("kafka sink without topic")?),
                SinkKind::Stdout => Target::Stdout,
                SinkKind::File => {
                    let path = PathBuf::from(c.path.clone().context("file sink without path")?);
                    let f = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&path)
                        .with_context(|| format!("opening alert file {}", path.display()))?;
                    Target::File(std::io::BufWriter::new(f), path)
                }
            };
            targets.push((target, c.shadow));
        }
        Ok(Self { targets, producer })
    }

    fn deliver(&mut self, alert: &Alert) -> anyhow::Result<()> {
        let line = serde_json::to_vec(alert)?;
        for (target, shadow_only) in &mut self.targets {
            if *shadow_only != alert.shadow {
                continue;
            }
            match target {
                Target::Kafka(topic) => {
                    let producer = self.producer.as_ref().context("kafka sink without a producer")?;
                    producer.send(Outgoing {
                        topic: topic.clone(),
                        key: Some(alert.id.0.as_bytes().to_vec()),
                        payload: line.clone(),
                        headers: vec![("nhiwatch.rule".to_string(), alert.rule_id.as_bytes().to_vec())],
                    });
                }
                Target::File(w, path) => {
                    w.write_all(&line)
                        .and_then(|()| w.write_all(b"\n"))
                        .with_context(|| format!("writing alerts to {}", path.display()))?;
                }
                Target::Stdout => {
                    let mut out = std::io::stdout().lock();
                    out.write_all(&line)?;
                    out.write_all(b"\n")?;
                    out.flush()?;
                }
            }
        }
        Ok(())
    }

    /// Everything handed over so far is durable: acknowledged by the brokers, on disk.
    fn flush(&mut self, deadline: Duration) -> anyhow::Result<()> {
        if let Some(p) = &self.producer {
            p.flush(deadline)?;
        }
        for (target, _) in &mut self.targets {
            if let Target::File(w, path) = target {
                w.flush()
                    .and_then(|()| w.get_ref().sync_data())
                    .with_context(|| format!("syncing {}", path.display()))?;
            }
        }
        Ok(())
    }
}

/// A message's arrival, for the latency metric: its name as events cite it, its Kafka
/// timestamp and the latest event time it held.
type Arrival = (Arc<str>, Option<i64>, EventTime);

struct Part {
    tp: TopicPartition,
    engine: Engine,
    /// The next offset to read; `None` until the first message when there was no checkpoint.
    next_offset: Option<i64>,
    /// The offset the last checkpoint holds.
    checkpointed: Option<i64>,
    last_message: Instant,
    dirty: bool,
    arrivals: VecDeque<Arrival>,
}

/// Snapshots taken, to be written.
struct Prepared {
    items: Vec<(PathBuf, Checkpoint)>,
    started: Instant,
    paused: Duration,
}

/// What writing [`Prepared`] snapshots achieved.
struct Written {
    offsets: Vec<(TopicPartition, i64)>,
    failed: Vec<TopicPartition>,
    error: Option<String>,
    bytes: u64,
    seconds: f64,
    paused: Duration,
}

/// Writes snapshots (serializing and compressing is most of a checkpoint's cost).
fn write_checkpoints(prepared: Prepared) -> Written {
    let mut written = Written {
        offsets: Vec::new(),
        failed: Vec::new(),
        error: None,
        bytes: 0,
        seconds: 0.0,
        paused: prepared.paused,
    };
    for (path, cp) in prepared.items {
        let tp = (cp.topic.clone(), cp.partition);
        if written.error.is_some() {
            written.failed.push(tp);
            continue;
        }
        match crate::state::write_gz_json(&path, &cp) {
            Ok(n) => {
                written.bytes += n;
                written.offsets.push((tp, cp.next_offset));
            }
            Err(e) => {
                written.error = Some(format!("{e:#}"));
                written.failed.push(tp);
            }
        }
    }
    written.seconds = prepared.started.elapsed().as_secs_f64();
    written
}

/// The background checkpoint writer: one job at a time.
struct Writer {
    jobs: std::sync::mpsc::Sender<Prepared>,
    done: std::sync::mpsc::Receiver<Written>,
    busy: bool,
}

impl Writer {
    fn spawn() -> anyhow::Result<Self> {
        let (jobs, job_rx) = std::sync::mpsc::channel::<Prepared>();
        let (done_tx, done) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("checkpoint-writer".into())
            .spawn(move || {
                for job in job_rx {
                    if done_tx.send(write_checkpoints(job)).is_err() {
                        break;
                    }
                }
            })
            .context("starting the checkpoint writer")?;
        Ok(Self { jobs, done, busy: false })
    }
}

struct Inner {
    writer: Writer,
    pack: Arc<RulePack>,
    engine_config: EngineConfig,
    parts: Vec<Part>,
    sinks: Sinks,
    dead_letter: Option<String>,
    state_dir: PathBuf,
    idle_flush: Duration,
    decode: DecodeOptions,
    /// An error met inside a rebalance callback, reported by the run loop.
    fatal: Option<anyhow::Error>,
}

/// The partitions' engines, shared between the run loop and the rebalance callbacks.
struct Runner {
    inner: Mutex<Inner>,
    metrics: Arc<Metrics>,
}

impl Runner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl PartitionOwner for Runner {
    fn assigned(&self, partitions: &[TopicPartition]) -> Vec<Option<i64>> {
        let mut inner = self.lock();
        partitions
            .iter()
            .map(|tp| {
                self.metrics.partition_assigned();
                match inner.open(tp) {
                    Ok(offset) => offset,
                    Err(e) => {
                        inner.fatal.get_or_insert(e);
                        None
                    }
                }
            })
            .collect()
    }

    fn revoked(&self, partitions: &[TopicPartition]) -> Vec<(TopicPartition, i64)> {
        let mut inner = self.lock();
        let offsets = match inner.checkpoint(Some(partitions), &self.metrics, ACK_DEADLINE) {
            Ok(offsets) => offsets,
            Err(e) => {
                // The next owner resumes from the previous checkpoint and raises the same
                // alerts again: duplicates, never loss.
                tracing::warn!(error = %format!("{e:#}"), "revoked partitions leave without a new checkpoint");
                inner
                    .parts
                    .iter()
                    .filter(|p| partitions.contains(&p.tp))
                    .filter_map(|p| Some((p.tp.clone(), p.checkpointed?)))
                    .collect()
            }
        };
        inner.parts.retain(|p| !partitions.contains(&p.tp));
        for tp in partitions {
            self.metrics.partition_gone(tp);
        }
        offsets
    }

    fn lag(&self, partition: &TopicPartition, lag: i64) {
        self.metrics.lag(partition, lag);
    }
}

impl Inner {
    /// Takes on a partition: its checkpoint when there is one. Returns the offset to resume
    /// from.
    fn open(&mut self, tp: &TopicPartition) -> anyhow::Result<Option<i64>> {
        self.parts.retain(|p| &p.tp != tp);
        let path = checkpoint_path(&self.state_dir, tp);
        let checkpoint: Option<Checkpoint> =
            crate::state::read_gz_json(&path, "move it away to start this partition over")?;
        let (engine, offset) = match checkpoint {
            Some(cp) => {
                anyhow::ensure!(
                    cp.format == CHECKPOINT_FORMAT && cp.version == CHECKPOINT_VERSION,
                    "checkpoint {} has format {} version {} (this build reads {CHECKPOINT_FORMAT} {CHECKPOINT_VERSION})",
                    path.display(),
                    cp.format,
                    cp.version
                );
                let engine = Engine::restore(Arc::clone(&self.pack), self.engine_config.clone(), cp.engine)
                    .map_err(|e| anyhow::anyhow!("checkpoint {}: {e}", path.display()))?;
                tracing::info!(topic = tp.0, partition = tp.1, offset = cp.next_offset, "resuming from checkpoint");
                (engine, Some(cp.next_offset))
            }
            None => {
                tracing::info!(topic = tp.0, partition = tp.1, "no checkpoint: starting with empty state");
                (Engine::new(Arc::clone(&self.pack), self.engine_config.clone()), None)
            }
        };
        self.parts.push(Part {
            tp: tp.clone(),
            engine,
            next_offset: offset,
            checkpointed: offset,
            last_message: Instant::now(),
            dirty: false,
            arrivals: VecDeque::new(),
        });
        Ok(offset)
    }

    fn handle(&mut self, message: &BorrowedMessage<'_>, metrics: &Metrics) -> anyhow::Result<()> {
        let (topic, partition, offset) = (message.topic(), message.partition(), message.offset());
        let Some(i) = self.parts.iter().position(|p| p.tp.0 == topic && p.tp.1 == partition) else {
            return Ok(()); // fetched before a rebalance took the partition away
        };
        let part = &mut self.parts[i];
        if part.next_offset.is_some_and(|next| offset < next) {
            metrics.skipped();
            return Ok(());
        }
        part.next_offset = Some(offset + 1);
        part.last_message = Instant::now();
        part.dirty = true;
        let payload = message.payload().unwrap_or_default();
        let name: Arc<str> = format!("{topic}[{partition}]@{offset}").into();
        let out = decode_owned(payload.to_vec(), &name, &self.decode);
        let mut error = None;
        if payload.is_empty() {
            error = Some(format!("{name}: empty message"));
            metrics.bad_record("empty message");
        }
        for bad in &out.bad {
            metrics.bad_record(bad.reason.as_str());
            tracing::warn!(offset = %name, "bad record: {bad}");
            error.get_or_insert_with(|| bad.to_string());
        }
        let part = &mut self.parts[i];
        let mut late = 0;
        let mut alerts = Vec::new();
        let newest = out.events.iter().map(|e| e.time).max();
        if let Some(newest) = newest {
            part.arrivals.push_back((Arc::clone(&name), message.timestamp().to_millis(), newest));
        }
        let events = out.events.len() as u64;
        for event in out.events {
            late += u64::from(part.engine.watermark().is_some_and(|wm| event.time < wm));
            alerts.extend(part.engine.process(event));
        }
        metrics.message(&part.tp, MessageCounts { events, late });
        if let Some(error) = error {
            let bad = out.bad.len().max(1);
            self.dead_letter(message, payload, &error, bad, metrics);
        }
        self.emit(i, alerts, metrics)
    }

    fn dead_letter(
        &mut self,
        message: &BorrowedMessage<'_>,
        payload: &[u8],
        error: &str,
        bad: usize,
        metrics: &Metrics,
    ) {
        metrics.dead_lettered();
        let (Some(topic), Some(producer)) = (&self.dead_letter, &self.sinks.producer) else {
            tracing::error!(
                topic = message.topic(),
                partition = message.partition(),
                offset = message.offset(),
                error,
                "bad message dropped: no [dead_letter] topic configured"
            );
            return;
        };
        let headers = [
            ("nhiwatch.source.topic", message.topic().to_string()),
            ("nhiwatch.source.partition", message.partition().to_string()),
            ("nhiwatch.source.offset", message.offset().to_string()),
            ("nhiwatch.error", error.to_string()),
            ("nhiwatch.bad_records", bad.to_string()),
        ];
        producer.send(Outgoing {
            topic: topic.clone(),
            key: message.key().map(<[u8]>::to_vec),
            payload: payload.to_vec(),
            headers: headers.into_iter().map(|(k, v)| (k.to_string(), v.into_bytes())).collect(),
        });
    }

    fn emit(&mut self, i: usize, alerts: Vec<Alert>, metrics: &Metrics) -> anyhow::Result<()> {
        let part = &mut self.parts[i];
        let now_ms = chrono::Utc::now().timestamp_millis();
        for alert in &alerts {
            let sent = part.arrivals.iter().rev().find(|a| a.0 == alert.source.file).and_then(|a| a.1);
            let latency = sent.map(|t| u64::try_from(now_ms - t).unwrap_or(0));
            metrics.alert(&alert.rule_id, &alert.severity.to_string(), alert.shadow, latency);
        }
        // Messages whose every event is behind the watermark have been evaluated.
        if let Some(wm) = part.engine.watermark() {
            while part.arrivals.front().is_some_and(|a| a.2 < wm) {
                part.arrivals.pop_front();
            }
        }
        for alert in &alerts {
            self.sinks.deliver(alert)?;
        }
        Ok(())
    }

    /// Evaluates the buffered events of partitions quiet for `idle_flush`.
    fn flush_idle(&mut self, metrics: &Metrics) -> anyhow::Result<()> {
        for i in 0..self.parts.len() {
            let part = &mut self.parts[i];
            if part.engine.pending_len() > 0 && part.last_message.elapsed() >= self.idle_flush {
                let alerts = part.engine.flush_idle();
                part.dirty = true;
                self.emit(i, alerts, metrics)?;
            }
        }
        Ok(())
    }

    /// Makes alerts durable, then takes snapshots of the `which` (all when `None`) partitions
    /// that changed. Consumption pauses only for this; writing happens in [`write_checkpoints`].
    fn prepare_checkpoint(
        &mut self,
        which: Option<&[TopicPartition]>,
        metrics: &Metrics,
        deadline: Duration,
    ) -> anyhow::Result<Prepared> {
        let started = Instant::now();
        if let Err(e) = self.sinks.flush(deadline) {
            metrics.checkpoint(false, 0.0, 0);
            return Err(e.context("alerts not yet acknowledged; checkpoint postponed"));
        }
        let mut items = Vec::new();
        for part in self.parts.iter_mut().filter(|p| which.is_none_or(|w| w.contains(&p.tp))) {
            if part.dirty
                && let Some(next) = part.next_offset
            {
                let cp = Checkpoint {
                    format: CHECKPOINT_FORMAT.to_string(),
                    version: CHECKPOINT_VERSION,
                    topic: part.tp.0.clone(),
                    partition: part.tp.1,
                    next_offset: next,
                    engine: part.engine.snapshot(),
                };
                items.push((checkpoint_path(&self.state_dir, &part.tp), cp));
                part.dirty = false;
            }
            part.engine.refresh_gauges();
            let s = part.engine.stats();
            metrics.engine_gauges(&part.tp, s.identities_nhi, s.identities_human, s.state_evictions_total);
        }
        Ok(Prepared { items, started, paused: started.elapsed() })
    }

    /// Records what a write achieved; returns the offsets to commit (every partition's
    /// latest checkpoint, among `which`).
    fn apply_written(
        &mut self,
        written: Written,
        which: Option<&[TopicPartition]>,
        metrics: &Metrics,
    ) -> anyhow::Result<Vec<(TopicPartition, i64)>> {
        for (tp, offset) in &written.offsets {
            if let Some(part) = self.parts.iter_mut().find(|p| &p.tp == tp) {
                part.checkpointed = Some(*offset);
            }
        }
        if let Some(error) = written.error {
            for tp in &written.failed {
                if let Some(part) = self.parts.iter_mut().find(|p| &p.tp == tp) {
                    part.dirty = true;
                }
            }
            metrics.checkpoint(false, 0.0, 0);
            anyhow::bail!("writing checkpoints: {error}");
        }
        // Only files written count: a round with no changed partition writes nothing.
        if !written.offsets.is_empty() {
            metrics.checkpoint(true, written.seconds, written.bytes);
        }
        tracing::debug!(
            paused_ms = written.paused.as_millis() as u64,
            seconds = written.seconds,
            bytes = written.bytes,
            "checkpoint written"
        );
        Ok(self
            .parts
            .iter()
            .filter(|p| which.is_none_or(|w| w.contains(&p.tp)))
            .filter_map(|p| Some((p.tp.clone(), p.checkpointed?)))
            .collect())
    }

    /// Records a checkpoint written in the background: waits for it when `wait`, else only
    /// takes one that has finished. Returns the offsets to commit.
    fn take_written(&mut self, wait: bool, metrics: &Metrics) -> Option<Vec<(TopicPartition, i64)>> {
        if !self.writer.busy {
            return None;
        }
        let written = if wait { self.writer.done.recv().ok()? } else { self.writer.done.try_recv().ok()? };
        self.writer.busy = false;
        match self.apply_written(written, None, metrics) {
            Ok(offsets) => Some(offsets),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "checkpoint failed; retried at the next interval");
                None
            }
        }
    }

    /// Starts a checkpoint of every changed partition; the files are written by the
    /// background writer and the offsets committed when [`Inner::take_written`] sees it done.
    fn checkpoint_in_background(&mut self, metrics: &Metrics) -> anyhow::Result<()> {
        if self.writer.busy {
            return Ok(());
        }
        let prepared = self.prepare_checkpoint(None, metrics, ACK_DEADLINE)?;
        self.writer.jobs.send(prepared).map_err(|_| anyhow::anyhow!("the checkpoint writer stopped"))?;
        self.writer.busy = true;
        Ok(())
    }

    /// Delivers, snapshots and writes the checkpoints of `which` now (revocation, shutdown).
    /// Returns the offsets to commit.
    fn checkpoint(
        &mut self,
        which: Option<&[TopicPartition]>,
        metrics: &Metrics,
        deadline: Duration,
    ) -> anyhow::Result<Vec<(TopicPartition, i64)>> {
        self.take_written(true, metrics);
        let prepared = self.prepare_checkpoint(which, metrics, deadline)?;
        let written = write_checkpoints(prepared);
        self.apply_written(written, which, metrics)
    }

    /// Runs `pack` from now on, keeping every partition's state for the rules it still has.
    fn reload(&mut self, pack: Arc<RulePack>) -> anyhow::Result<()> {
        let mut engines = Vec::with_capacity(self.parts.len());
        for part in &self.parts {
            let engine = Engine::restore(Arc::clone(&pack), self.engine_config.clone(), part.engine.snapshot())
                .map_err(|e| anyhow::anyhow!("carrying state over to the new pack: {e}"))?;
            engines.push(engine);
        }
        for (part, engine) in self.parts.iter_mut().zip(engines) {
            part.engine = engine;
            part.dirty = true;
        }
        self.pack = pack;
        Ok(())
    }
}

/// A fingerprint of the rule files (paths, sizes, modification times), to notice edits.
fn rules_fingerprint(dirs: &[PathBuf]) -> Vec<(PathBuf, u64, Option<std::time::SystemTime>)> {
    let mut files: Vec<_> = dirs
        .iter()
        .flat_map(|d| walkdir::WalkDir::new(d).into_iter().filter_map(Result::ok))
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            Some((e.into_path(), m.len(), m.modified().ok()))
        })
        .collect();
    files.sort();
    files
}

/// Runs until SIGTERM / SIGINT (or `flags.stop`).
pub fn run(settings: RunSettings, flags: Arc<Flags>, metrics: Arc<Metrics>) -> anyhow::Result<RunSummary> {
    let pack = Arc::new(load_pack(&settings.rule_dirs)?);
    for (file, reason) in pack.unsupported() {
        tracing::warn!(file, reason, "rule not loaded: unsupported Sigma rule");
    }
    let needs_producer = settings.dead_letter.is_some() || settings.sinks.iter().any(|s| s.kind == SinkKind::Kafka);
    let producer = match needs_producer {
        true => Some(Arc::new(ReliableProducer::new(&settings.kafka.producer_config())?)),
        false => None,
    };
    std::fs::create_dir_all(&settings.state_dir)
        .with_context(|| format!("creating state directory {}", settings.state_dir.display()))?;
    let runner = Arc::new(Runner {
        inner: Mutex::new(Inner {
            writer: Writer::spawn()?,
            pack,
            engine_config: settings.engine.clone(),
            parts: Vec::new(),
            sinks: Sinks::open(&settings.sinks, producer)?,
            dead_letter: settings.dead_letter.clone(),
            state_dir: settings.state_dir.clone(),
            idle_flush: settings.idle_flush,
            decode: DecodeOptions::default(),
            fatal: None,
        }),
        metrics: Arc::clone(&metrics),
    });
    let mut closing = Closing {
        consumer: Some(nhiwatch_kafka::group::subscribe(&settings.kafka, Arc::clone(&runner))?),
        commit: Vec::new(),
    };
    let Some(consumer) = closing.consumer.as_ref() else { anyhow::bail!("the consumer is gone") };
    tracing::info!(
        brokers = settings.kafka.brokers,
        group = settings.kafka.group_id,
        topics = ?settings.kafka.topics,
        state = %settings.state_dir.display(),
        "consuming"
    );
    let mut last_checkpoint = Instant::now();
    let mut last_tick = Instant::now();
    let mut last_rules_check = Instant::now();
    let mut fingerprint = rules_fingerprint(&settings.rule_dirs);
    while !flags.stop.load(Ordering::Relaxed) {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => runner.lock().handle(&message, &metrics)?,
            Some(Err(e)) => tracing::warn!(error = %e, "kafka consumer error (retrying)"),
            None => {}
        }
        if let Some(e) = runner.lock().fatal.take() {
            return Err(e);
        }
        if last_tick.elapsed() >= Duration::from_millis(250) {
            last_tick = Instant::now();
            runner.lock().flush_idle(&metrics)?;
        }
        let written = runner.lock().take_written(false, &metrics);
        if let Some(offsets) = written
            && let Err(e) = nhiwatch_kafka::group::commit(consumer, &offsets, CommitMode::Async)
        {
            tracing::warn!(error = %e, "committing offsets failed (the checkpoints hold them)");
        }
        if last_checkpoint.elapsed() >= settings.checkpoint_interval {
            last_checkpoint = Instant::now();
            if let Err(e) = runner.lock().checkpoint_in_background(&metrics) {
                tracing::warn!(error = %format!("{e:#}"), "checkpoint postponed");
            }
        }
        let rules_changed = !settings.rule_dirs.is_empty() && last_rules_check.elapsed() >= Duration::from_secs(2) && {
            last_rules_check = Instant::now();
            let now = rules_fingerprint(&settings.rule_dirs);
            let changed = now != fingerprint;
            fingerprint = now;
            changed
        };
        if flags.reload.swap(false, Ordering::Relaxed) || rules_changed {
            reload(&runner, &settings.rule_dirs, &metrics);
        }
    }
    tracing::info!("stopping: delivering alerts, checkpointing, committing");
    let started = Instant::now();
    let offsets = loop {
        let result = runner.lock().checkpoint(None, &metrics, ACK_DEADLINE);
        match result {
            Ok(offsets) => break offsets,
            Err(e) if started.elapsed() < SHUTDOWN_DEADLINE => {
                tracing::warn!(error = %format!("{e:#}"), "final checkpoint postponed; retrying");
                std::thread::sleep(Duration::from_secs(1));
            }
            Err(e) => {
                return Err(e.context("stopping without a final checkpoint: the alerts since the last one will be raised again on restart"));
            }
        }
    };
    closing.commit = offsets;
    drop(closing);
    Ok(RunSummary {
        events: metrics.events_total(),
        alerts: metrics.alerts_total(),
        dead_lettered: metrics.dead_lettered_total(),
    })
}

/// How long stopping waits for the final commit and the group's goodbye.
const CLOSE_DEADLINE: Duration = Duration::from_secs(15);

/// Commits the final offsets and closes the consumer (leaving the group) on another thread,
/// waiting at most [`CLOSE_DEADLINE`]: with the brokers away librdkafka would wait for them
/// indefinitely, and the checkpoints already hold the offsets. Runs on every way out of `run`.
struct Closing<C: ConsumerContext + 'static> {
    consumer: Option<BaseConsumer<C>>,
    commit: Vec<(TopicPartition, i64)>,
}

impl<C: ConsumerContext + 'static> Drop for Closing<C> {
    fn drop(&mut self) {
        let Some(consumer) = self.consumer.take() else { return };
        let commit = std::mem::take(&mut self.commit);
        let (done, finished) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new().name("kafka-close".into()).spawn(move || {
            if let Err(e) = nhiwatch_kafka::group::commit(&consumer, &commit, CommitMode::Sync) {
                tracing::warn!(error = %e, "committing final offsets failed (the checkpoints hold them)");
            }
            drop(consumer);
            let _ = done.send(());
        });
        if spawned.is_err() || finished.recv_timeout(CLOSE_DEADLINE).is_err() {
            tracing::warn!(
                "the brokers did not answer: stopping without a clean goodbye to the group (the checkpoints hold the offsets)"
            );
        }
    }
}

fn reload(runner: &Runner, dirs: &[PathBuf], metrics: &Metrics) {
    let result = load_pack(dirs).and_then(|pack| {
        let n = pack.rules().len();
        runner.lock().reload(Arc::new(pack))?;
        Ok(n)
    });
    match result {
        Ok(n) => {
            metrics.reload(true);
            tracing::info!(rules = n, "rule pack reloaded");
        }
        Err(e) => {
            metrics.reload(false);
            tracing::error!(error = %format!("{e:#}"), "rule pack rejected; the running pack stays");
        }
    }
}

/// Publishes archives (replay order, bad records reported) to `topic`, one record per
/// message keyed by identity, so each identity's events stay in one partition and in order.
/// Returns the number of records published.
pub fn publish(
    opts: &crate::replay::ReplayOptions,
    settings: &KafkaSettings,
    topic: &str,
    diagnostics: &mut dyn Write,
) -> anyhow::Result<(u64, crate::replay::Summary)> {
    let producer = ReliableProducer::new(&settings.producer_config())?;
    let mut n = 0;
    let summary = crate::replay::for_each_event(opts, diagnostics, &mut |event| {
        producer.send(Outgoing {
            topic: topic.to_string(),
            key: Some(event.identity.key.as_str().as_bytes().to_vec()),
            payload: event.raw.text().as_bytes().to_vec(),
            headers: Vec::new(),
        });
        n += 1;
        Ok(())
    })?;
    producer.flush(Duration::from_secs(300))?;
    Ok((n, summary))
}
