//! `nhiwatch replay`: archives in, alerts out, through the same engine as live streaming.
//!
//! Inputs are discovered, read and decoded file by file; bad records are reported as they
//! are found (file, line or record, reason) and counted. Good events are merged in
//! (event time, event id, file, record) order, so alerts never depend on the order files are
//! listed or found, and fed to the engine.
//!
//! Memory: S3-layout archives stream (about an hour of events is held); exports without
//! delivery times in their names are held whole, so slice very large ones by time
//! (`--since` / `--until`).

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nhiwatch_core::{Alert, Event, EventTime, OrderPrefix, ReorderBuffer};
use nhiwatch_decode::{BadRecord, DecodeOptions};
use nhiwatch_detect::{Engine, EngineConfig, EngineStats};
use nhiwatch_file::{Input, decode_input, discover};
use nhiwatch_rules::RulePack;
use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// Bad records printed per file and reason before the rest are only counted.
const REPORTS_PER_FILE_AND_REASON: u64 = 20;

/// What to replay and how.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Files, directories, or `-`.
    pub paths: Vec<PathBuf>,
    /// Any bad record stops the run with an error.
    pub strict: bool,
    /// Only events at or after this time.
    pub since: Option<EventTime>,
    /// Only events before this time.
    pub until: Option<EventTime>,
    /// Decoder limits (its `threads` is set from `threads`).
    pub decode: DecodeOptions,
    /// Threads that read and decode inputs while the engine runs (0: one per core; 1: the
    /// calling thread only). Alerts are the same whatever the number.
    pub threads: usize,
    /// Show a progress bar (only drawn when stderr is a terminal).
    pub progress: bool,
    /// Load the engine's state from this directory first and save it there at the end.
    pub state: Option<PathBuf>,
    /// Ignore (and replace) a saved state.
    pub reset_state: bool,
}

/// Counters for the end-of-run summary.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Inputs read.
    pub files: u64,
    /// Good records decoded.
    pub events_decoded: u64,
    /// Good records decoded, by source (`cloudtrail`, `gcp_audit`, …).
    pub events_by_source: BTreeMap<&'static str, u64>,
    /// Events outside `--since` / `--until`.
    pub events_out_of_range: u64,
    /// Bad records by reason.
    pub bad_by_reason: BTreeMap<String, u64>,
    /// Repairs by kind.
    pub notes: BTreeMap<String, u64>,
    /// Engine counters.
    pub engine: EngineStats,
    /// Time spent reading and decoding, summed over the threads that do it.
    pub decode_time: Duration,
    /// Most events held at once while merging files (memory use of the merge).
    pub peak_buffered: u64,
    /// Size of the saved state, when `--state` was given.
    pub state_bytes: Option<u64>,
    /// Wall time of the whole run.
    pub elapsed: Duration,
}

impl Summary {
    /// Bad records in total.
    pub fn bad_total(&self) -> u64 {
        self.bad_by_reason.values().sum()
    }

    /// Writes the human-readable summary.
    pub fn write_to(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        writeln!(out, "nhiwatch replay summary")?;
        writeln!(out, "  files:            {}", self.files)?;
        writeln!(
            out,
            "  events:           {} decoded, {} processed, {} outside --since/--until",
            self.events_decoded, self.engine.events_total, self.events_out_of_range
        )?;
        if self.events_by_source.len() > 1 {
            let parts: Vec<String> = self.events_by_source.iter().map(|(k, v)| format!("{k} {v}")).collect();
            writeln!(out, "  sources:          {}", parts.join(", "))?;
        }
        writeln!(out, "  bad records:      {}{}", self.bad_total(), by_key(&self.bad_by_reason))?;
        if !self.notes.is_empty() {
            writeln!(out, "  repaired:         {}", by_key(&self.notes).trim_start_matches(' '))?;
        }
        writeln!(out, "  late events:      {}", self.engine.late_events_total)?;
        writeln!(out, "  merge buffer:     at most {} events held", self.peak_buffered)?;
        writeln!(
            out,
            "  identities:       {} ({} non-human, {} human)",
            self.engine.identities_nhi + self.engine.identities_human,
            self.engine.identities_nhi,
            self.engine.identities_human
        )?;
        let severities: BTreeMap<String, u64> =
            self.engine.alerts_by_severity.iter().rev().map(|(k, v)| (k.to_string(), *v)).collect();
        writeln!(out, "  alerts:           {}{}", self.engine.alerts_total(), by_key(&severities))?;
        for (rule, n) in self.engine.alerts_by_rule.iter().filter(|(_, n)| **n > 0) {
            writeln!(out, "    {n:>6}  {rule}")?;
        }
        if self.engine.suppressed_total() > 0 {
            writeln!(
                out,
                "  suppressed:       {} (duplicates within a rule's dedup window)",
                self.engine.suppressed_total()
            )?;
        }
        let shadow: u64 = self.engine.shadow_by_rule.values().sum();
        if shadow > 0 {
            writeln!(out, "  shadow:           {shadow} alerts of shadow-mode rules (not delivered)")?;
            for (rule, n) in &self.engine.shadow_by_rule {
                writeln!(out, "    {n:>6}  {rule}")?;
            }
        }
        if self.engine.config_suppressed_total() > 0 {
            writeln!(out, "  silenced:         {} by [[suppress]]", self.engine.config_suppressed_total())?;
            for ((rule, reason), n) in &self.engine.config_suppressed {
                writeln!(out, "    {n:>6}  {rule} ({reason})")?;
            }
        }
        writeln!(
            out,
            "  baselines:        {} groups, {} evicted, {} values dropped",
            self.engine.groups_tracked, self.engine.state_evictions_total, self.engine.value_evictions_total
        )?;
        if let Some(bytes) = self.state_bytes {
            writeln!(out, "  state saved:      {bytes} bytes")?;
        }
        writeln!(
            out,
            "  elapsed:          {:.2}s ({:.0} events/s)",
            self.elapsed.as_secs_f64(),
            self.engine.events_total as f64 / secs
        )
    }
}

fn by_key(map: &BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    format!(" ({})", parts.join(", "))
}

/// The result of a replay.
#[derive(Debug)]
pub struct ReplayReport {
    /// Alerts for analysts, in emission order.
    pub alerts: Vec<Alert>,
    /// Alerts of shadow-mode rules, kept apart.
    pub shadow_alerts: Vec<Alert>,
    /// Counters.
    pub summary: Summary,
}

fn progress_bar(enabled: bool, len: u64, what: &str) -> ProgressBar {
    let target = if enabled { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    let style = ProgressStyle::with_template("{spinner} {msg:10} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(what.to_string());
    bar
}

/// Reports bad records, capped per file and reason.
pub(crate) struct BadReporter<'a> {
    pub(crate) out: &'a mut dyn Write,
    per_key: BTreeMap<(String, String), u64>,
}

impl<'a> BadReporter<'a> {
    pub(crate) fn new(out: &'a mut dyn Write) -> Self {
        Self { out, per_key: BTreeMap::new() }
    }

    pub(crate) fn report(&mut self, bad: &BadRecord) -> std::io::Result<()> {
        let n = self.per_key.entry((bad.offset.file.to_string(), bad.reason.to_string())).or_default();
        *n += 1;
        if *n <= REPORTS_PER_FILE_AND_REASON {
            writeln!(self.out, "bad record: {bad}")?;
        }
        Ok(())
    }

    pub(crate) fn finish(&mut self) -> std::io::Result<()> {
        for ((file, reason), n) in &self.per_key {
            if *n > REPORTS_PER_FILE_AND_REASON {
                writeln!(
                    self.out,
                    "bad record: {file}: {} more {reason} records not shown",
                    n - REPORTS_PER_FILE_AND_REASON
                )?;
            }
        }
        Ok(())
    }
}

/// How long before a delivery file's time its events may lie and still be merged in order.
/// CloudTrail delivers within about 15 minutes; an hour leaves room for stragglers.
const MERGE_MARGIN_SECS: i64 = 3600;

/// The delivery time CloudTrail writes into an S3 object's name
/// (`…_CloudTrail_us-east-1_20260314T0245Z_….json.gz`), if the name has one.
pub fn delivery_time(input: &Input) -> Option<EventTime> {
    let Input::File(path) = input else { return None };
    let name = path.file_name()?.to_str()?;
    name.split('_').find_map(|part| {
        let token = part.split('.').next()?;
        let is_stamp = token.len() == 14 && token.as_bytes()[8] == b'T' && token.ends_with('Z');
        is_stamp
            .then(|| chrono::NaiveDateTime::parse_from_str(token, "%Y%m%dT%H%MZ").ok())
            .flatten()
            .map(|t| t.and_utc())
    })
}

/// Where events come from: an input of the file connector, or a Parquet archive file.
enum Source<'a> {
    Input(&'a Input),
    Parquet(&'a std::path::Path),
}

/// An event in replay order: (time, event id, file, record). The event is boxed and the
/// order's leading parts are kept beside it, so merging moves small entries and most
/// comparisons read no event.
struct Ordered {
    prefix: OrderPrefix,
    event: Box<Event>,
}

impl Ordered {
    fn new(event: Box<Event>) -> Self {
        Self { prefix: OrderPrefix::of(&event), event }
    }

    fn rest(&self) -> (&str, &str, u64) {
        (&self.event.event_id, &self.event.offset.file, self.event.offset.record)
    }
}
impl PartialEq for Ordered {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for Ordered {}
impl PartialOrd for Ordered {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ordered {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.prefix.cmp(&other.prefix).then_with(|| self.rest().cmp(&other.rest()))
    }
}

/// Events waiting to be handed on in replay order. Exports (read first, held whole) and S3
/// objects (read in delivery order, streamed) are mostly in time order already, so most events
/// join the buffer's queue and only the rest wait in its heap.
#[derive(Default)]
struct Merge(ReorderBuffer<Ordered>);

impl Merge {
    fn push(&mut self, event: Box<Event>) {
        self.0.push(Ordered::new(event));
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    /// The earliest event held, if it is before `horizon` (`None`: any).
    fn pop_before(&mut self, horizon: Option<EventTime>) -> Option<Box<Event>> {
        if horizon.is_some_and(|h| self.0.peek().is_some_and(|first| first.prefix.time() >= h)) {
            return None;
        }
        self.0.pop().map(|o| o.event)
    }
}

/// Replays `opts.paths` through `pack`. Diagnostics (bad records, repairs) go to `diagnostics`.
///
/// Files whose names carry a CloudTrail delivery time (the S3 layout) are read in that order
/// and merged as a stream: events are handed to the engine once no later file can hold an
/// earlier one (an hour before the next file's time), so memory holds about an hour of events
/// rather than the archive. Other inputs are read first and merged into the same order.
pub fn replay(
    opts: &ReplayOptions,
    pack: Arc<RulePack>,
    config: EngineConfig,
    diagnostics: &mut dyn Write,
) -> anyhow::Result<ReplayReport> {
    replay_observed(opts, pack, config, diagnostics, &mut |_| {})
}

/// [`replay`], also showing every event, in replay order, to `observe` (inventories, hunts).
pub fn replay_observed(
    opts: &ReplayOptions,
    pack: Arc<RulePack>,
    config: EngineConfig,
    diagnostics: &mut dyn Write,
    observe: &mut dyn FnMut(&Event),
) -> anyhow::Result<ReplayReport> {
    let started = Instant::now();
    let mut engine = match &opts.state {
        Some(dir) if !opts.reset_state => match crate::state::load(dir)? {
            Some(snapshot) => Engine::restore(pack, config, snapshot)
                .map_err(|e| anyhow::anyhow!("state {}: {e}; run with --reset-state to start over", dir.display()))?,
            None => Engine::new(pack, config),
        },
        _ => Engine::new(pack, config),
    };
    let mut alerts = Vec::new();
    let mut summary = for_each_event(opts, diagnostics, &mut |event| {
        observe(&event);
        alerts.extend(engine.process(event));
        Ok(())
    })?;
    alerts.extend(engine.finish());
    if let Some(dir) = &opts.state {
        summary.state_bytes = Some(crate::state::save(dir, &engine.snapshot())?);
    }
    summary.engine = engine.stats().clone();
    summary.elapsed = started.elapsed();
    let (shadow_alerts, alerts): (Vec<Alert>, Vec<Alert>) = alerts.into_iter().partition(|a| a.shadow);
    Ok(ReplayReport { alerts, shadow_alerts, summary })
}

/// Reads `opts.paths` and hands every good event within `--since` / `--until` to `each`, in
/// replay order (event time, event id, file, record); bad records are reported to
/// `diagnostics` and counted. Returns the input side of the summary.
///
/// Files whose names carry a CloudTrail delivery time (the S3 layout) are read in that order
/// and merged as a stream: events are handed on once no later file can hold an earlier one
/// (an hour before the next file's time), so memory holds about an hour of events rather
/// than the archive. Other inputs are read first and merged into the same order.
pub fn for_each_event(
    opts: &ReplayOptions,
    diagnostics: &mut dyn Write,
    each: &mut dyn FnMut(Box<Event>) -> anyhow::Result<()>,
) -> anyhow::Result<Summary> {
    // Parquet archives (`nhiwatch archive`) are read whole, first; other paths are discovered.
    let (archives, others): (Vec<PathBuf>, Vec<PathBuf>) =
        opts.paths.iter().cloned().partition(|p| nhiwatch_hunt::is_archive(p));
    let mut parquet = Vec::new();
    for dir in &archives {
        parquet.extend(nhiwatch_hunt::read::archive_files(dir)?);
    }
    let mut inputs: Vec<(Option<EventTime>, Input)> = if others.is_empty() {
        Vec::new()
    } else {
        discover(&others)?.into_iter().map(|i| (delivery_time(&i), i)).collect()
    };
    // Inputs without a delivery time first, then by delivery time, then by name.
    inputs.sort_by(|a, b| (a.0.is_some(), a.0, &a.1).cmp(&(b.0.is_some(), b.0, &b.1)));
    let mut summary = Summary { files: (inputs.len() + parquet.len()) as u64, ..Summary::default() };
    let bar = progress_bar(opts.progress, summary.files, "reading");
    let mut reporter = BadReporter::new(diagnostics);
    let mut pending = Merge::default();
    let sources: Vec<(Option<EventTime>, Source<'_>)> = parquet
        .iter()
        .map(|p| (None, Source::Parquet(p)))
        .chain(inputs.iter().map(|(t, i)| (*t, Source::Input(i))))
        .collect();
    let threads = threads_for(opts.threads);
    let decode_opts = DecodeOptions { threads, ..opts.decode };
    let read = |(_, source): &(Option<EventTime>, Source<'_>)| {
        let started = Instant::now();
        let out = match source {
            Source::Input(input) => Ok(decode_input(input, &decode_opts)),
            Source::Parquet(path) => nhiwatch_hunt::read::read_file(path, &decode_opts),
        };
        (out, started.elapsed())
    };
    in_order_on_threads(&sources, threads, &read, &mut |(delivered, source), (out, took)| {
        if let Some(at) = delivered {
            let horizon = *at - chrono::Duration::seconds(MERGE_MARGIN_SECS);
            while let Some(event) = pending.pop_before(Some(horizon)) {
                each(event)?;
            }
        }
        summary.decode_time += took;
        let out = out?;
        let name = match source {
            Source::Input(input) => input.name(),
            Source::Parquet(path) => path.display().to_string(),
        };
        for bad in &out.bad {
            if opts.strict {
                anyhow::bail!("bad record (--strict): {bad}");
            }
            reporter.report(bad)?;
            *summary.bad_by_reason.entry(bad.reason.to_string()).or_default() += 1;
        }
        for (note, n) in &out.notes {
            *summary.notes.entry(note.as_str().to_string()).or_default() += n;
            if let Some(first) = out.first_note.get(note) {
                writeln!(reporter.out, "note: {name}: {n} records with {} (first at {first})", note.as_str())?;
            }
        }
        summary.events_decoded += out.events.len() as u64;
        for e in out.events {
            *summary.events_by_source.entry(e.source.as_str()).or_default() += 1;
            let in_range = opts.since.is_none_or(|s| e.time >= s) && opts.until.is_none_or(|u| e.time < u);
            if in_range {
                pending.push(e);
                summary.peak_buffered = summary.peak_buffered.max(pending.len() as u64);
            } else {
                summary.events_out_of_range += 1;
            }
        }
        bar.inc(1);
        Ok(())
    })?;
    reporter.finish()?;
    while let Some(event) = pending.pop_before(None) {
        each(event)?;
    }
    bar.finish_and_clear();
    Ok(summary)
}

/// The threads to decode on for a `--threads` value (0: one per core).
pub(crate) fn threads_for(requested: usize) -> usize {
    match requested {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    }
}

/// Runs `work` on each of `items` on `workers` threads, at most a few items ahead of the one
/// being handed on, and hands the results to `each` in the order of `items`: what one thread
/// would do, in the same order, while `each` runs beside the work. Stops at the first error
/// of `each`.
pub(crate) fn in_order_on_threads<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    work: &(dyn Fn(&T) -> R + Sync),
    each: &mut dyn FnMut(&T, R) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    if workers <= 1 {
        return items.iter().try_for_each(|item| each(item, work(item)));
    }
    let ahead = workers * 4;
    let (jobs, queue) = mpsc::channel::<(&T, mpsc::SyncSender<R>)>();
    let queue = Mutex::new(queue);
    std::thread::scope(|scope| {
        // Owned here, so the queue closes when this returns, early or not.
        let jobs = jobs;
        for _ in 0..workers {
            scope.spawn(|| {
                // Ends when the queue closes: every item was handed out, or `each` failed.
                while let Ok((item, done)) = queue.lock().map_err(drop).and_then(|q| q.recv().map_err(drop)) {
                    // No one waits for the result only when the run already stopped.
                    let _ = done.send(work(item));
                }
            });
        }
        let mut waiting = VecDeque::with_capacity(ahead);
        let mut next = items.iter();
        loop {
            while waiting.len() < ahead
                && let Some(item) = next.next()
            {
                let (done, result) = mpsc::sync_channel(1);
                jobs.send((item, done)).map_err(|_| anyhow::anyhow!("the decoding threads stopped"))?;
                waiting.push_back((item, result));
            }
            let Some((item, result)) = waiting.pop_front() else { break };
            let r = result.recv().map_err(|_| anyhow::anyhow!("a decoding thread stopped"))?;
            each(item, r)?;
        }
        Ok(())
    })
}

/// Parses `--since` / `--until`: RFC 3339 or a date (`2026-03-14`, midnight UTC).
pub fn parse_time_arg(text: &str) -> anyhow::Result<EventTime> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .with_context(|| format!("'{text}' is not an RFC 3339 time or a YYYY-MM-DD date"))?;
    date.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).context("invalid date")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_times_are_read_from_s3_object_names() {
        let at = |name: &str| delivery_time(&Input::File(std::path::PathBuf::from(name)));
        assert_eq!(
            at(
                "AWSLogs/1/CloudTrail/us-east-1/2026/03/14/111111111111_CloudTrail_us-east-1_20260314T0245Z_xGgki6qyXBaRhRbe.json.gz"
            ),
            Some("2026-03-14T02:45:00Z".parse().expect("time"))
        );
        assert_eq!(at("export.jsonl"), None);
        assert_eq!(at("a_20261399T9999Z_b.json"), None);
        assert_eq!(delivery_time(&Input::Stdin), None);
    }

    fn event(time: &str, id: &str, file: &str) -> Box<Event> {
        let text = format!(
            r#"{{"eventTime":"{time}","eventName":"GetObject","eventSource":"s3.amazonaws.com","eventID":"{id}","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::1:user/a"}}}}"#
        );
        let offset = nhiwatch_core::SourceOffset { file: Arc::from(file), line: Some(1), record: 0 };
        Box::new(nhiwatch_decode::decode_record(&text, offset).expect("valid record").event)
    }

    #[test]
    fn the_merge_hands_events_on_in_replay_order_across_held_and_streamed_inputs() {
        let mut merge = Merge::default();
        // An export out of order, and ids that share their first 16 bytes.
        merge.push(event("2026-03-14T10:00:00Z", "export-record-000002", "export.jsonl"));
        merge.push(event("2026-03-14T09:00:00Z", "z", "export.jsonl"));
        merge.push(event("2026-03-14T10:00:00Z", "export-record-000001", "export.jsonl"));
        merge.push(event("2026-03-14T10:00:00Z", "export-record-000001", "a.jsonl"));
        // Objects read in delivery order.
        merge.push(event("2026-03-14T09:30:00Z", "s3-b", "object-1"));
        merge.push(event("2026-03-14T11:00:00Z", "s3-c", "object-2"));
        assert_eq!(merge.len(), 6);
        let horizon = "2026-03-14T10:30:00Z".parse().ok();
        let mut order = Vec::new();
        while let Some(e) = merge.pop_before(horizon) {
            order.push(format!("{} {}", e.event_id, e.offset.file));
        }
        assert_eq!(
            order,
            [
                "z export.jsonl",
                "s3-b object-1",
                "export-record-000001 a.jsonl",
                "export-record-000001 export.jsonl",
                "export-record-000002 export.jsonl"
            ]
        );
        merge.push(event("2026-03-14T10:45:00Z", "late-export", "other.jsonl"));
        let rest: Vec<String> = std::iter::from_fn(|| merge.pop_before(None)).map(|e| e.event_id.clone()).collect();
        assert_eq!(rest, ["late-export", "s3-c"]);
        assert_eq!(merge.len(), 0);
    }
}
