//! Helpers shared by nhiwatch's benchmark binaries: generated input, memory readings, and the
//! decode-only / full-pack measurement.

#![forbid(unsafe_code)]

use nhiwatch_decode::{DecodeOptions, decode_owned};
use nhiwatch_detect::{Engine, EngineConfig};
use nhiwatch_rules::RulePack;
use std::sync::Arc;
use std::time::Instant;

/// Decode-only and full-pack figures for one input.
#[derive(Debug, Clone, Copy)]
pub struct Throughput {
    /// Events decoded.
    pub events: usize,
    /// Records rejected by the decoder.
    pub bad: usize,
    /// Decode-only events per second.
    pub decode_rate: f64,
    /// Full pack (decode, order, evaluate) events per second.
    pub full_rate: f64,
    /// Alerts raised.
    pub alerts: usize,
    /// Identities seen.
    pub identities: u64,
    /// Events that arrived later than the allowed lateness (the input is in time order, so 0).
    pub late: u64,
}

/// Serializes records as JSON Lines.
pub fn to_jsonl(records: impl IntoIterator<Item = serde_json::Value>) -> Vec<u8> {
    let mut input = Vec::new();
    for r in records {
        serde_json::to_writer(&mut input, &r).unwrap_or_default();
        input.push(b'\n');
    }
    input
}

/// Times decoding `input` alone, then decoding and evaluating it with `pack` on one core, as
/// `replay` reads an archive: object by object (1,000 records each; the split is untimed, as
/// reading files is), each buffer handed over as a file read would be, the events of one
/// object released before the next is read.
pub fn measure(input: Vec<u8>, pack: &Arc<RulePack>) -> Throughput {
    let file: Arc<str> = Arc::from("bench.jsonl");
    let opts = DecodeOptions::default();
    let for_decode = split_lines(&input, 1_000);

    let (mut events, mut bad) = (0, 0);
    let t = Instant::now();
    for piece in for_decode {
        let decoded = decode_owned(piece, &file, &opts);
        events += decoded.events.len();
        bad += decoded.bad.len();
    }
    let decode_secs = t.elapsed().as_secs_f64();
    // Split after the first pass so only one copy of the input is held at a time.
    let for_full = split_lines(&input, 1_000);
    drop(input);

    let t = Instant::now();
    let mut engine = Engine::new(pack.clone(), EngineConfig::default());
    let mut alerts = 0usize;
    for piece in for_full {
        for e in decode_owned(piece, &file, &opts).events {
            alerts += engine.process(e).len();
        }
    }
    alerts += engine.finish().len();
    let full_secs = t.elapsed().as_secs_f64();
    let stats = engine.stats();
    Throughput {
        events,
        bad,
        decode_rate: events as f64 / decode_secs,
        full_rate: stats.events_total as f64 / full_secs,
        alerts,
        identities: stats.identities_nhi + stats.identities_human,
        late: stats.late_events_total,
    }
}

/// Peak resident memory of this process in KiB (`VmHWM`), where the OS reports it.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
}

/// Reads a count from the environment, with a default (lets CI smoke-run a bench quickly).
pub fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Splits JSON Lines into pieces of `per_piece` lines (the files an archive would hold).
pub fn split_lines(input: &[u8], per_piece: usize) -> Vec<Vec<u8>> {
    let mut pieces = Vec::new();
    let mut current = Vec::new();
    let mut lines = 0;
    for line in input.split_inclusive(|b| *b == b'\n') {
        current.extend_from_slice(line);
        lines += 1;
        if lines == per_piece {
            pieces.push(std::mem::take(&mut current));
            lines = 0;
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}
