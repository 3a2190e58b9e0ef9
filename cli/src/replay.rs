//! `nhiwatch replay`: archives in, alerts out, through the same engine as live streaming.
//!
//! Inputs are discovered, read and decoded file by file; bad records are reported as they
//! are found (file, line or record, reason) and counted. The good events of all files are then
//! ordered by (event time, event id, file, record), so alerts never depend on the order files
//! are listed or found, and fed to the engine.
//!
//! Memory: replay holds the decoded events of one invocation. For archives larger than memory,
//! replay them in time slices (`--since` / `--until`).

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nhiwatch_core::{Alert, Event, EventTime};
use nhiwatch_decode::{BadRecord, DecodeOptions};
use nhiwatch_detect::{Engine, EngineConfig, EngineStats};
use nhiwatch_file::{decode_input, discover};
use nhiwatch_rules::RulePack;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
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
    /// Decoder limits.
    pub decode: DecodeOptions,
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
    /// Events outside `--since` / `--until`.
    pub events_out_of_range: u64,
    /// Bad records by reason.
    pub bad_by_reason: BTreeMap<String, u64>,
    /// Repairs by kind.
    pub notes: BTreeMap<String, u64>,
    /// Engine counters.
    pub engine: EngineStats,
    /// Time spent decoding.
    pub decode_time: Duration,
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
        writeln!(out, "  bad records:      {}{}", self.bad_total(), by_key(&self.bad_by_reason))?;
        if !self.notes.is_empty() {
            writeln!(out, "  repaired:         {}", by_key(&self.notes).trim_start_matches(' '))?;
        }
        writeln!(out, "  late events:      {}", self.engine.late_events_total)?;
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
    /// Alerts in emission order.
    pub alerts: Vec<Alert>,
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
struct BadReporter<'a> {
    out: &'a mut dyn Write,
    per_key: BTreeMap<(String, String), u64>,
}

impl BadReporter<'_> {
    fn report(&mut self, bad: &BadRecord) -> std::io::Result<()> {
        let n = self.per_key.entry((bad.offset.file.to_string(), bad.reason.to_string())).or_default();
        *n += 1;
        if *n <= REPORTS_PER_FILE_AND_REASON {
            writeln!(self.out, "bad record: {bad}")?;
        }
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
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

/// Replays `opts.paths` through `pack`. Diagnostics (bad records, repairs) go to `diagnostics`.
pub fn replay(
    opts: &ReplayOptions,
    pack: Arc<RulePack>,
    config: EngineConfig,
    diagnostics: &mut dyn Write,
) -> anyhow::Result<ReplayReport> {
    let started = Instant::now();
    let inputs = discover(&opts.paths)?;
    let mut summary = Summary { files: inputs.len() as u64, ..Summary::default() };
    let mut events: Vec<Event> = Vec::new();
    let bar = progress_bar(opts.progress, inputs.len() as u64, "decoding");
    let mut reporter = BadReporter { out: diagnostics, per_key: BTreeMap::new() };
    for input in &inputs {
        let out = decode_input(input, &opts.decode);
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
                writeln!(
                    reporter.out,
                    "note: {}: {n} records with {} (first at {first})",
                    input.name(),
                    note.as_str()
                )?;
            }
        }
        summary.events_decoded += out.events.len() as u64;
        for e in out.events {
            let in_range = opts.since.is_none_or(|s| e.time >= s) && opts.until.is_none_or(|u| e.time < u);
            if in_range {
                events.push(e);
            } else {
                summary.events_out_of_range += 1;
            }
        }
        bar.inc(1);
    }
    reporter.finish()?;
    bar.finish_and_clear();
    summary.decode_time = started.elapsed();

    // Order by (time, event id, file, record), sorting indices: events are large to move.
    let mut order: Vec<u32> = (0..events.len() as u32).collect();
    order.sort_unstable_by(|&x, &y| {
        let (a, b) = (&events[x as usize], &events[y as usize]);
        (a.time, &a.event_id, &a.offset.file, a.offset.record).cmp(&(
            b.time,
            &b.event_id,
            &b.offset.file,
            b.offset.record,
        ))
    });
    let mut slots: Vec<Option<Event>> = events.into_iter().map(Some).collect();
    let bar = progress_bar(opts.progress, order.len() as u64, "detecting");
    let mut engine = match &opts.state {
        Some(dir) if !opts.reset_state => match crate::state::load(dir)? {
            Some(snapshot) => Engine::restore(pack, config, snapshot)
                .map_err(|e| anyhow::anyhow!("state {}: {e}; run with --reset-state to start over", dir.display()))?,
            None => Engine::new(pack, config),
        },
        _ => Engine::new(pack, config),
    };
    let mut alerts = Vec::new();
    for (i, e) in order.iter().filter_map(|&k| slots[k as usize].take()).enumerate() {
        alerts.extend(engine.process(e));
        if i % 65_536 == 0 {
            bar.set_position(i as u64);
        }
    }
    alerts.extend(engine.finish());
    bar.finish_and_clear();
    if let Some(dir) = &opts.state {
        summary.state_bytes = Some(crate::state::save(dir, &engine.snapshot())?);
    }
    summary.engine = engine.stats().clone();
    summary.elapsed = started.elapsed();
    Ok(ReplayReport { alerts, summary })
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
