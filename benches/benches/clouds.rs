//! GCP, Azure and Kubernetes audit logs on one core: decode-only and full-pack events/s per
//! source, on generated streams (default 300,000 events and 20,000 identities each).
//!
//! `cargo bench -p nhiwatch-benches --bench clouds`
//! (`NHIWATCH_BENCH_EVENTS` / `NHIWATCH_BENCH_IDENTITIES` change the size.)

use nhiwatch_benches::{env_count, measure, to_jsonl};
use nhiwatch_generator::{Cloud, OrgSpec, cloud_records};
use std::sync::Arc;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let events = env_count("NHIWATCH_BENCH_EVENTS", 300_000);
    let identities = env_count("NHIWATCH_BENCH_IDENTITIES", 20_000);
    let spec = OrgSpec { identities, events, seed: 7, days: 30, ..OrgSpec::default() };
    let pack = Arc::new(nhiwatch_cli::pack::load_pack(&[]).unwrap_or_default());
    println!(
        "{:<16} {:>9} {:>14} {:>14} {:>7} {:>7} {:>7}",
        "source", "events", "decode ev/s", "full ev/s", "alerts", "bad", "late"
    );
    for cloud in Cloud::ALL {
        let input = to_jsonl(cloud_records(cloud, &spec));
        let m = measure(input, &pack);
        println!(
            "{:<16} {:>9} {:>14.0} {:>14.0} {:>7} {:>7} {:>7}",
            cloud.source_name(),
            m.events,
            m.decode_rate,
            m.full_rate,
            m.alerts,
            m.bad,
            m.late
        );
    }
}
