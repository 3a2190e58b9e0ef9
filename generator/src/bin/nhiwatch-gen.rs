//! `nhiwatch-gen`: writes the demo archive or a synthetic organisation to disk.
//!
//! ```text
//! nhiwatch-gen demo --out fixtures/demo
//! nhiwatch-gen org --identities 50000 --events 1000000 --days 7 --seed 1 --out /tmp/org --format jsonl
//! ```
//!
//! All the generation lives in the `nhiwatch_generator` library; this file only parses flags
//! and picks a writer.

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use nhiwatch_generator::{
    OrgSpec, demo_records, org_records, write_eventbridge_jsonl, write_jsonl, write_s3_archive,
    write_s3_archive_ordered,
};
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Deterministic generator of AWS CloudTrail records for nhiwatch.
#[derive(Debug, Parser)]
#[command(name = "nhiwatch-gen", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The product demo: one week, two accounts, one attack on 2026-03-14.
    ///
    /// With the s3 format, `<OUT>/AWSLogs` is deleted first so no stale file survives a
    /// regeneration.
    Demo {
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Output layout.
        #[arg(long, value_enum, default_value_t = Format::S3)]
        format: Format,
    },
    /// A large synthetic organisation, for benchmarks.
    Org {
        /// Distinct identities.
        #[arg(long, default_value_t = 50_000)]
        identities: usize,
        /// Records to generate.
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        /// Days the records span.
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// Seed: the same flags give the same bytes.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// First event time (RFC 3339).
        #[arg(long, default_value = "2026-03-09T00:00:00Z")]
        start: DateTime<Utc>,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Output layout.
        #[arg(long, value_enum, default_value_t = Format::S3)]
        format: Format,
    },
}

/// Output layouts.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    /// `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz`, as CloudTrail delivers.
    S3,
    /// `cloudtrail.jsonl`, one record per line.
    Jsonl,
    /// `eventbridge.jsonl`, one EventBridge envelope per line.
    Eventbridge,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let started = Instant::now();
    let result = match cli.command {
        Command::Demo { out, format } => run_demo(&out, format),
        Command::Org { identities, events, days, seed, start, out, format } => {
            let spec = OrgSpec { identities, events, seed, start, days };
            run_org(&spec, &out, format)
        }
    };
    match result {
        Ok(summary) => {
            eprintln!("{summary} in {:.2}s", started.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("nhiwatch-gen: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run_demo(out: &Path, format: Format) -> io::Result<String> {
    let records = demo_records();
    match format {
        Format::S3 => {
            let logs = out.join("AWSLogs");
            if logs.exists() {
                std::fs::remove_dir_all(&logs)?;
            }
            let files = write_s3_archive(out, &records)?;
            Ok(format!("wrote {} records to {} files under {}", records.len(), files.len(), logs.display()))
        }
        Format::Jsonl | Format::Eventbridge => write_lines(out, format, &records),
    }
}

fn run_org(spec: &OrgSpec, out: &Path, format: Format) -> io::Result<String> {
    match format {
        Format::S3 => {
            let files = write_s3_archive_ordered(out, org_records(spec))?;
            Ok(format!(
                "wrote {} records to {} files under {}",
                spec.events,
                files.len(),
                out.join("AWSLogs").display()
            ))
        }
        Format::Jsonl | Format::Eventbridge => write_lines(out, format, org_records(spec)),
    }
}

fn write_lines<I>(out: &Path, format: Format, records: I) -> io::Result<String>
where
    I: IntoIterator,
    I::Item: std::borrow::Borrow<serde_json::Value>,
{
    let (path, count) = match format {
        Format::Eventbridge => {
            let path = out.join("eventbridge.jsonl");
            let count = write_eventbridge_jsonl(&path, records)?;
            (path, count)
        }
        Format::Jsonl | Format::S3 => {
            let path = out.join("cloudtrail.jsonl");
            let count = write_jsonl(&path, records)?;
            (path, count)
        }
    };
    Ok(format!("wrote {count} records to {}", path.display()))
}
