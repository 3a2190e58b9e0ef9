//! SigmaHQ's CloudTrail rules over the same generated events with nhiwatch and with the `rsigma`
//! crates (a Rust streaming Sigma engine; 0.15, the newest release that builds with this
//! toolchain), in one run: events/s of each, JSON parsing included.
//!
//! `cargo bench -p nhiwatch-benches --bench sigma` (needs ../shared/corpus beside the project;
//! `NHIWATCH_BENCH_EVENTS` changes the size, default 1,000,000).

use nhiwatch_benches::env_count;
use nhiwatch_decode::{DecodeOptions, decode_owned};
use nhiwatch_detect::{Engine, EngineConfig};
use nhiwatch_generator::{OrgSpec, org_records};
use nhiwatch_rules::{AttackTable, RulePack};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/sigma/rules/cloud/aws/cloudtrail");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("the SigmaHQ rules are expected at {}", dir.display());
        std::process::exit(1);
    };
    let mut files: Vec<(String, String)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .filter_map(|p| Some((p.display().to_string(), std::fs::read_to_string(&p).ok()?)))
        .collect();
    files.sort();
    let events = env_count("NHIWATCH_BENCH_EVENTS", 1_000_000);
    let spec = OrgSpec { events, identities: 50_000, ..OrgSpec::default() };
    let mut input = Vec::with_capacity(events * 1500);
    for r in org_records(&spec) {
        serde_json::to_writer(&mut input, &r).unwrap_or_default();
        input.push(b'\n');
    }
    println!(
        "{} SigmaHQ CloudTrail rules, {events} generated events ({:.0} MiB)",
        files.len(),
        input.len() as f64 / 1048576.0
    );

    // nhiwatch: decode and evaluate.
    let table = AttackTable::parse("attack.yml", "techniques: []\n").unwrap_or_default();
    let pack = match RulePack::load(&files, &table) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    // The input as files of 1,000 records, as replay reads an archive object by object (the
    // split is untimed, as reading files is for rsigma's lines below).
    let files_in: Vec<Vec<u8>> = nhiwatch_benches::split_lines(&input, 1_000);
    let name: Arc<str> = Arc::from("bench.jsonl");
    let t = Instant::now();
    let mut engine = Engine::new(Arc::clone(&pack), EngineConfig::default());
    let mut ours = 0usize;
    for file in files_in {
        for e in decode_owned(file, &name, &DecodeOptions::default()).events {
            ours += engine.process(e).len();
        }
    }
    ours += engine.finish().len();
    let ours_rate = events as f64 / t.elapsed().as_secs_f64();
    println!("nhiwatch: {} rules, {ours} alerts, {ours_rate:.0} events/s", pack.len());

    // rsigma: parse each line to JSON and evaluate.
    let mut rs = rsigma_eval::Engine::new();
    let mut loaded = 0;
    for (_, text) in &files {
        if let Ok(collection) = rsigma_parser::parse_sigma_yaml(text)
            && rs.add_collection(&collection).is_ok()
        {
            loaded += 1;
        }
    }
    let t = Instant::now();
    let mut theirs = 0usize;
    for line in input.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(line) {
            theirs += rs.evaluate(&rsigma_eval::JsonEvent::borrow(&value)).len();
        }
    }
    let theirs_rate = events as f64 / t.elapsed().as_secs_f64();
    println!("rsigma:   {loaded} rules, {theirs} matches, {theirs_rate:.0} events/s");
    println!("nhiwatch / rsigma: {:.2}", ours_rate / theirs_rate);
}
