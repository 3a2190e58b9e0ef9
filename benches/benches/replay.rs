//! Replay throughput on one core: decode-only events/s and full-pack replay events/s, in one
//! run, on a generated organisation (default 1,000,000 events, 50,000 identities).
//!
//! `cargo bench -p nhiwatch-benches --bench replay`
//! (`NHIWATCH_BENCH_EVENTS` / `NHIWATCH_BENCH_IDENTITIES` change the size.)

use nhiwatch_benches::{env_count, peak_rss_kib};
use nhiwatch_decode::{DecodeOptions, decode_owned};
use nhiwatch_detect::{Engine, EngineConfig};
use nhiwatch_generator::{OrgSpec, org_records};
use std::sync::Arc;
use std::time::Instant;

// The same allocator as the `nhiwatch` binary, so the figures are the product's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    let t = Instant::now();
    let mut input = Vec::with_capacity(events * 900);
    for r in org_records(&spec) {
        serde_json::to_writer(&mut input, &r).unwrap_or_default();
        input.push(b'\n');
    }
    println!(
        "generated {events} records ({:.1} MiB of JSON Lines) in {:.1}s",
        input.len() as f64 / (1 << 20) as f64,
        t.elapsed().as_secs_f64()
    );
    let file: Arc<str> = Arc::from("bench.jsonl");
    let opts = DecodeOptions::default();

    // Decode only (the buffer is handed over as a file read would be; the copy is untimed).
    let owned = input.clone();
    let t = Instant::now();
    let decoded = decode_owned(owned, &file, &opts);
    let decode_secs = t.elapsed().as_secs_f64();
    let decoded_n = decoded.events.len();
    drop(decoded);
    let decode_rate = decoded_n as f64 / decode_secs;
    println!("decode-only: {decoded_n} events in {decode_secs:.2}s = {decode_rate:.0} events/s");

    // Full pack: decode, order, evaluate.
    let pack = Arc::new(nhiwatch_cli::pack::load_pack(&[]).unwrap_or_default());
    let t = Instant::now();
    let mut decoded = decode_owned(input, &file, &opts);
    decoded.events.sort_by(|a, b| (a.time, &a.event_id).cmp(&(b.time, &b.event_id)));
    let mut engine = Engine::new(pack.clone(), EngineConfig::default());
    let mut alerts = 0usize;
    for e in decoded.events {
        alerts += engine.process(e).len();
    }
    alerts += engine.finish().len();
    let full_secs = t.elapsed().as_secs_f64();
    let stats = engine.stats();
    let full_rate = stats.events_total as f64 / full_secs;
    println!(
        "full pack ({} rules): {} events in {full_secs:.2}s = {full_rate:.0} events/s, {alerts} alerts, {} identities",
        pack.len(),
        stats.events_total,
        stats.identities_nhi + stats.identities_human
    );
    println!("ratio full/decode: {:.2}", full_rate / decode_rate);
    if let Some(kib) = peak_rss_kib() {
        println!("peak memory: {:.0} MiB", kib as f64 / 1024.0);
    }
}
