//! `nhiwatch archive`: archives (every supported source) into a Parquet archive of the
//! normalized event model, for `nhiwatch query` and `inventory`.
//!
//! Inputs are read and decoded on one thread per core a few inputs ahead (as `replay` does),
//! with the same bad-record reporting, and written in batches in the order they were found; the archive's manifest records which inputs it holds, so a second run (or one
//! after an interruption) only adds what is new.

use crate::replay::{BadReporter, in_order_on_threads, threads_for};
use nhiwatch_decode::DecodeOptions;
use nhiwatch_file::{Input, decode_input, discover};
use nhiwatch_hunt::ArchiveWriter;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Events per batch (one Parquet file per day and account per batch).
const BATCH_EVENTS: usize = 250_000;

/// What an archive run did.
#[derive(Debug, Default, Clone)]
pub struct ArchiveSummary {
    /// Inputs read.
    pub inputs: u64,
    /// Inputs already in the archive.
    pub skipped: u64,
    /// Events written.
    pub events: u64,
    /// Bad records by reason.
    pub bad_by_reason: BTreeMap<String, u64>,
    /// Parquet files written.
    pub files: u64,
    /// Events in the archive now.
    pub total_events: u64,
}

fn fingerprint(input: &Input) -> Option<String> {
    let Input::File(path) = input else { return None };
    let meta = std::fs::metadata(path).ok()?;
    let modified = meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(format!("{}:{}", meta.len(), modified.as_nanos()))
}

/// Archives `paths` into `out`, decoding on `threads` threads (0: one per core; the archive
/// is the same whatever the number). With `strict`, any bad record stops the run.
pub fn archive(
    paths: &[PathBuf],
    out: &Path,
    strict: bool,
    threads: usize,
    diagnostics: &mut dyn Write,
) -> anyhow::Result<ArchiveSummary> {
    let mut writer = ArchiveWriter::open(out)?;
    let mut summary = ArchiveSummary::default();
    let mut reporter = BadReporter::new(diagnostics);
    let mut batch = Vec::new();
    let mut batch_inputs: Vec<(String, String)> = Vec::new();
    let mut inputs = Vec::new();
    for input in discover(paths)? {
        let name = input.name();
        // Standard input has no fingerprint: it is always archived.
        let print = fingerprint(&input);
        if print.as_deref().is_some_and(|p| writer.holds(&name, p)) {
            summary.skipped += 1;
            continue;
        }
        inputs.push((input, name, print));
    }
    let threads = threads_for(threads);
    let opts = DecodeOptions { threads, ..DecodeOptions::default() };
    let decode = |(input, _, _): &(Input, String, Option<String>)| decode_input(input, &opts);
    in_order_on_threads(&inputs, threads, &decode, &mut |(_, name, print), decoded| {
        summary.inputs += 1;
        for bad in &decoded.bad {
            anyhow::ensure!(!strict, "bad record (--strict): {bad}");
            reporter.report(bad)?;
            *summary.bad_by_reason.entry(bad.reason.to_string()).or_default() += 1;
        }
        batch.extend(decoded.events);
        batch_inputs.push((name.clone(), print.clone().unwrap_or_default()));
        if batch.len() >= BATCH_EVENTS {
            summary.events += batch.len() as u64;
            summary.files += writer.write_batch(&batch_inputs, &batch)?.len() as u64;
            batch.clear();
            batch_inputs.clear();
        }
        Ok(())
    })?;
    if !batch_inputs.is_empty() {
        summary.events += batch.len() as u64;
        summary.files += writer.write_batch(&batch_inputs, &batch)?.len() as u64;
    }
    reporter.finish()?;
    summary.total_events = writer.manifest().events;
    Ok(summary)
}
