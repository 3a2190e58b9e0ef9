//! Replay throughput on one core: decode-only events/s and full-pack replay events/s, in one
//! run, on a generated organisation (default 1,000,000 events, 50,000 identities), then the
//! same records replayed end to end as a user would (`nhiwatch replay` of one export file).
//!
//! `cargo bench -p nhiwatch-benches --bench replay`
//! (`NHIWATCH_BENCH_EVENTS` / `NHIWATCH_BENCH_IDENTITIES` change the size.)

use nhiwatch_benches::{env_count, measure, peak_rss_kib, to_jsonl};
use nhiwatch_cli::replay::{ReplayOptions, replay};
use nhiwatch_detect::{Engine, EngineConfig};
use nhiwatch_generator::{OrgSpec, org_records};
use std::sync::Arc;
use std::time::Instant;

// The same allocator as the `nhiwatch` binary, so the figures are the product's, wrapped in a
// counter so the memory held by baselines is measured exactly (live bytes, not resident pages).
#[global_allocator]
static GLOBAL: cap::Cap<mimalloc::MiMalloc> = cap::Cap::new(mimalloc::MiMalloc, usize::MAX);

fn main() {
    let events = env_count("NHIWATCH_BENCH_EVENTS", 1_000_000);
    let identities = env_count("NHIWATCH_BENCH_IDENTITIES", 50_000);
    let spec = OrgSpec {
        identities,
        events,
        seed: 7,
        start: chrono::DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_default(),
        days: 30,
    };
    // Measured first, on a fresh heap, so freed buffers of the later phases cannot hide growth.
    let pack = Arc::new(nhiwatch_cli::pack::load_pack(&[]).unwrap_or_default());
    state_per_identity(&pack, identities);

    let t = Instant::now();
    let input = to_jsonl(org_records(&spec));
    println!(
        "generated {events} records ({:.1} MiB of JSON Lines) in {:.1}s",
        input.len() as f64 / (1 << 20) as f64,
        t.elapsed().as_secs_f64()
    );
    // The same records as an export on disk, for the end-to-end run below.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("a temporary directory: {e}"));
    let export = dir.path().join("export.jsonl");
    std::fs::write(&export, &input).unwrap_or_else(|e| panic!("writing {}: {e}", export.display()));
    let m = measure(input, &pack);
    println!("decode-only: {} events = {:.0} events/s", m.events, m.decode_rate);
    println!(
        "full pack ({} rules): {} events = {:.0} events/s, {} alerts, {} identities, {} late",
        pack.len(),
        m.events,
        m.full_rate,
        m.alerts,
        m.identities,
        m.late
    );
    println!("ratio full/decode: {:.2}", m.full_rate / m.decode_rate);
    // What a user runs: `nhiwatch replay export.jsonl`, reading the file, merging it into
    // replay order (an export without delivery times is held whole) and evaluating; decoding
    // on the calling thread only, then on one thread per core.
    for (threads, label) in [(1, "one thread"), (0, "decoding on every core")] {
        let opts = ReplayOptions { paths: vec![export.clone()], threads, ..ReplayOptions::default() };
        let mut diagnostics = std::io::sink();
        match replay(&opts, pack.clone(), EngineConfig::default(), &mut diagnostics) {
            Ok(report) => println!(
                "end to end, {label} (nhiwatch replay of the records as one JSON Lines export, file read included): {} events in {:.2}s = {:.0} events/s, {} alerts",
                report.summary.engine.events_total,
                report.summary.elapsed.as_secs_f64(),
                report.summary.engine.events_total as f64 / report.summary.elapsed.as_secs_f64().max(1e-9),
                report.alerts.len()
            ),
            Err(e) => println!("end to end, {label}: replay failed: {e:#}"),
        }
    }
    if let Some(kib) = peak_rss_kib() {
        println!("peak memory: {:.0} MiB", kib as f64 / 1024.0);
    }
}

/// Memory held per identity once its baselines exist: `identities` NHIs each make 20 calls
/// over three days (from two networks, two actions), then the heap bytes still allocated
/// (all the engine holds: classification, baselines, de-duplication) are divided by the
/// identities.
fn state_per_identity(pack: &Arc<nhiwatch_rules::RulePack>, identities: usize) {
    use nhiwatch_decode::decode_record;
    let before = GLOBAL.allocated();
    let mut engine = Engine::new(pack.clone(), EngineConfig::default());
    let start = chrono::DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z").map(|t| t.timestamp()).unwrap_or(0);
    for round in 0..20i64 {
        for i in 0..identities {
            let t = chrono::DateTime::from_timestamp(start + round * 13_000 + (i as i64 % 3600), 0).unwrap_or_default();
            let action = if round % 2 == 0 { "GetObject" } else { "PutObject" };
            let text = format!(
                r#"{{"eventTime":"{}","eventSource":"s3.amazonaws.com","eventName":"{action}","eventID":"{round}-{i}","recipientAccountId":"111111111111","sourceIPAddress":"52.94.{}.{}","userAgent":"aws-sdk-go/1.50","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111111111111:user/svc-{i}","userName":"svc-{i}","accessKeyId":"AKIAAAAAAAAAAAAAAAAA"}}}}"#,
                t.format("%Y-%m-%dT%H:%M:%SZ"),
                round % 2,
                i % 250
            );
            let offset = nhiwatch_core::SourceOffset { file: Arc::from("state"), line: None, record: 0 };
            if let Ok(d) = decode_record(&text, offset) {
                engine.process(d.event);
            }
        }
    }
    engine.finish();
    let live = GLOBAL.allocated().saturating_sub(before) as f64;
    println!(
        "state: {} identities, {} baseline groups: {:.0} bytes of engine state per identity",
        identities,
        engine.groups_tracked(),
        live / identities.max(1) as f64
    );
}
