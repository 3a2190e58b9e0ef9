//! Hunting at scale: archive a generated organisation (default 10,000,000 events, 50,000
//! identities) into Parquet, then time typical hunting queries over it.
//!
//! `cargo bench -p nhiwatch-benches --bench hunt`
//! (`NHIWATCH_BENCH_EVENTS` changes the size; `NHIWATCH_BENCH_DIR` keeps the archive there.)

use nhiwatch_benches::env_count;
use nhiwatch_decode::{DecodeOptions, decode_owned};
use nhiwatch_generator::{OrgSpec, org_records};
use nhiwatch_hunt::{ArchiveWriter, QueryOptions, run_query};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CHUNK: usize = 250_000;

fn main() {
    let events = env_count("NHIWATCH_BENCH_EVENTS", 10_000_000);
    let temp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let root = std::env::var_os("NHIWATCH_BENCH_DIR").map_or_else(|| temp.path().join("archive"), Into::into);
    let spec = OrgSpec { events, identities: 50_000, days: 30, ..OrgSpec::default() };
    let mut writer = ArchiveWriter::open(&root).unwrap_or_else(|e| panic!("{e}"));
    let (mut archive_time, mut json_bytes, mut written, mut sample_identity) = (Duration::ZERO, 0usize, 0usize, None);
    let mut sample_bucket: Option<String> = None;
    let mut records = org_records(&spec);
    let name: Arc<str> = Arc::from("bench.jsonl");
    let mut chunk_no = 0;
    loop {
        let mut input = Vec::with_capacity(CHUNK * 1500);
        let mut n = 0;
        for r in records.by_ref().take(CHUNK) {
            serde_json::to_writer(&mut input, &r).unwrap_or_default();
            input.push(b'\n');
            n += 1;
        }
        if n == 0 {
            break;
        }
        json_bytes += input.len();
        let t = Instant::now();
        let decoded = decode_owned(input, &name, &DecodeOptions::default());
        if sample_identity.is_none() {
            sample_identity = decoded.events.get(n / 2).map(|e| e.identity.key.as_str().to_string());
            sample_bucket = decoded.events.iter().filter(|e| e.service == "s3.amazonaws.com").find_map(|e| {
                let params: serde_json::Value = serde_json::from_str(e.raw.top_level("requestParameters")?).ok()?;
                params.get("bucketName")?.as_str().map(str::to_string)
            });
        }
        writer
            .write_batch(&[(format!("chunk-{chunk_no}"), String::new())], &decoded.events)
            .unwrap_or_else(|e| panic!("{e}"));
        archive_time += t.elapsed();
        written += decoded.events.len();
        chunk_no += 1;
    }
    let parquet_bytes: u64 = nhiwatch_hunt::read::archive_files(&root)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let millions = written as f64 / 1e6;
    println!(
        "archive: {written} events ({:.0} MiB of JSON) in {:.1}s = {:.0} events/s; Parquet {:.0} MiB = {:.1} MiB per million events ({:.1}x smaller than JSON)",
        json_bytes as f64 / 1048576.0,
        archive_time.as_secs_f64(),
        written as f64 / archive_time.as_secs_f64(),
        parquet_bytes as f64 / 1048576.0,
        parquet_bytes as f64 / 1048576.0 / millions,
        json_bytes as f64 / parquet_bytes.max(1) as f64
    );
    let identity = sample_identity.unwrap_or_default();
    let opts = QueryOptions { events: Some(root.clone()), ..QueryOptions::default() };
    let queries = [
        ("events per day", "SELECT date, count(*) FROM events GROUP BY date ORDER BY date".to_string()),
        (
            "everything one identity did",
            format!("SELECT time, action, source_ip FROM events WHERE identity = '{identity}' ORDER BY time"),
        ),
        (
            "identities that touched a bucket",
            format!(
                "SELECT identity, count(*) FROM events WHERE service = 's3.amazonaws.com' AND request_parameters LIKE '%\"bucketName\":\"{}\"%' GROUP BY identity ORDER BY 2 DESC LIMIT 20",
                sample_bucket.unwrap_or_default()
            ),
        ),
        (
            "first-seen actions per identity",
            "SELECT count(*) FROM (SELECT identity, action, min(time) AS first FROM events GROUP BY identity, action) WHERE first >= '2026-03-30T00:00:00Z'".to_string(),
        ),
    ];
    for (what, sql) in queries {
        let t = Instant::now();
        let batches = run_query(&sql, &opts).unwrap_or_else(|e| panic!("{what}: {e}"));
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        println!("query {what}: {rows} rows in {:.2}s", t.elapsed().as_secs_f64());
    }
}
