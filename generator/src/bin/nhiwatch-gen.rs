//! `nhiwatch-gen`: writes the demo archive, a synthetic organisation, a story with planted
//! attacks or a GeoIP database to disk.
//!
//! ```text
//! nhiwatch-gen demo --out fixtures/demo
//! nhiwatch-gen org --identities 50000 --events 1000000 --days 7 --seed 1 --out /tmp/org --format jsonl
//! nhiwatch-gen story --days 30 --identities 300 --out /tmp/story
//! nhiwatch-gen geoip --csv fixtures/geoip/test-geo.csv --out fixtures/geoip/demo.mmdb
//! ```
//!
//! All the generation lives in the `nhiwatch_generator` library; this file only parses flags
//! and picks a writer.

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use nhiwatch_generator::{
    OrgSpec, StorySpec, demo_records, org_records, org_story, write_eventbridge_jsonl, write_jsonl, write_s3_archive,
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
    /// The product demo: three weeks, two accounts, one attack on 2026-03-14.
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
    /// A month in an organisation with honest noise and planted attacks, for measuring
    /// detection and false-positive rates. Writes the records and `<OUT>/planted.json`.
    Story {
        /// Distinct identities (at least 9).
        #[arg(long, default_value_t = 300)]
        identities: usize,
        /// Days of activity (attacks are planted after day 20).
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Seed: the same flags give the same bytes.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// First day (RFC 3339; the time of day is ignored).
        #[arg(long, default_value = "2026-02-02T00:00:00Z")]
        start: DateTime<Utc>,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Output layout.
        #[arg(long, value_enum, default_value_t = Format::S3)]
        format: Format,
    },
    /// A GeoIP database (MaxMind City + ASN schema) from a readable CSV; the same CSV always
    /// gives the same bytes.
    Geoip {
        /// Input CSV (`network,country,city,latitude,longitude,asn,as_org`).
        #[arg(long)]
        csv: PathBuf,
        /// Output `.mmdb` file.
        #[arg(long)]
        out: PathBuf,
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
        Command::Story { identities, days, seed, start, out, format } => {
            run_story(&StorySpec { identities, days, seed, start }, &out, format)
        }
        Command::Geoip { csv, out } => run_geoip(&csv, &out),
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

fn run_story(spec: &StorySpec, out: &Path, format: Format) -> io::Result<String> {
    let (records, planted) = org_story(spec);
    std::fs::create_dir_all(out)?;
    let planted_path = out.join("planted.json");
    let mut text = serde_json::to_string_pretty(&planted)?;
    text.push('\n');
    std::fs::write(&planted_path, text)?;
    let written = match format {
        Format::S3 => {
            let mut count = 0;
            let files = write_s3_archive_ordered(out, records.inspect(|_| count += 1))?;
            format!("wrote {count} records to {} files under {}", files.len(), out.join("AWSLogs").display())
        }
        Format::Jsonl | Format::Eventbridge => write_lines(out, format, records)?,
    };
    Ok(format!("{written} and {} planted attacks to {}", planted.len(), planted_path.display()))
}

fn run_geoip(csv: &Path, out: &Path) -> io::Result<String> {
    let text = std::fs::read_to_string(csv)?;
    let bytes = nhiwatch_generator::geoip::mmdb_from_csv(&text)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", csv.display())))?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(out, &bytes)?;
    Ok(format!("wrote {} bytes to {}", bytes.len(), out.display()))
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
