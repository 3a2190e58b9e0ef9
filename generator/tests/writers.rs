//! The writers: S3 layout and gzip bytes are reproducible, JSON Lines round-trip.

use flate2::read::GzDecoder;
use nhiwatch_generator::{
    OrgSpec, demo_records, eventbridge_envelope, org_records, write_eventbridge_jsonl, write_jsonl, write_s3_archive,
    write_s3_archive_ordered,
};
use serde_json::Value;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Every file under `root`, relative, with its bytes, sorted by path.
fn snapshot(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for entry in fs::read_dir(dir).expect("readable test dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                let relative = path.strip_prefix(root).expect("under root").to_path_buf();
                out.push((relative, fs::read(&path).expect("readable file")));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn gunzip(bytes: &[u8]) -> Value {
    let mut text = String::new();
    GzDecoder::new(bytes).read_to_string(&mut text).expect("valid gzip");
    serde_json::from_str(&text).expect("valid JSON")
}

#[test]
fn s3_archive_is_byte_identical_across_runs() {
    let records = demo_records();
    let (a, b) = (tempfile::tempdir().expect("tmp"), tempfile::tempdir().expect("tmp"));
    let written_a = write_s3_archive(a.path(), &records).expect("write a");
    let written_b = write_s3_archive(b.path(), &demo_records()).expect("write b");
    assert_eq!(written_a.len(), written_b.len());
    let (files_a, files_b) = (snapshot(a.path()), snapshot(b.path()));
    assert_eq!(files_a.len(), written_a.len());
    assert_eq!(files_a, files_b);

    let mut total = 0;
    for (path, bytes) in &files_a {
        let name = path.file_name().and_then(|n| n.to_str()).expect("utf-8 name");
        let parts: Vec<&str> = path.iter().filter_map(|p| p.to_str()).collect();
        assert_eq!(parts.len(), 8, "{path:?}");
        assert_eq!((parts[0], parts[2]), ("AWSLogs", "CloudTrail"));
        let (account, region) = (parts[1], parts[3]);
        let prefix = format!("{account}_CloudTrail_{region}_{}{}{}T", parts[4], parts[5], parts[6]);
        assert!(name.starts_with(&prefix), "{name}");
        let suffix = name.trim_end_matches(".json.gz").rsplit('_').next().expect("suffix");
        assert!(suffix.len() == 16 && suffix.bytes().all(|b| b.is_ascii_alphanumeric()));
        // gzip header: magic, deflate, no flags (no file name), mtime 0.
        assert_eq!(&bytes[..8], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
        let document = gunzip(bytes);
        let inside = document["Records"].as_array().expect("Records array");
        assert!(!inside.is_empty());
        for record in inside {
            assert_eq!(record["recipientAccountId"], account);
            assert_eq!(record["awsRegion"], region);
        }
        total += inside.len();
    }
    assert_eq!(total, records.len());
}

#[test]
fn ordered_writer_matches_slice_writer() {
    let spec = OrgSpec { identities: 200, events: 3_000, seed: 5, days: 1, ..OrgSpec::default() };
    let records: Vec<Value> = org_records(&spec).collect();
    let (a, b) = (tempfile::tempdir().expect("tmp"), tempfile::tempdir().expect("tmp"));
    write_s3_archive(a.path(), &records).expect("slice writer");
    write_s3_archive_ordered(b.path(), org_records(&spec)).expect("ordered writer");
    assert_eq!(snapshot(a.path()), snapshot(b.path()));

    let mut reversed = records;
    reversed.reverse();
    let c = tempfile::tempdir().expect("tmp");
    let error = write_s3_archive_ordered(c.path(), reversed).expect_err("out of order");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn s3_writer_rejects_records_without_routing_fields() {
    let dir = tempfile::tempdir().expect("tmp");
    let error = write_s3_archive(dir.path(), &[serde_json::json!({"eventName": "x"})]).expect_err("no account");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
}

#[test]
fn jsonl_writers_round_trip() {
    let records = demo_records();
    let dir = tempfile::tempdir().expect("tmp");
    let plain = dir.path().join("nested/cloudtrail.jsonl");
    assert_eq!(write_jsonl(&plain, &records).expect("jsonl"), records.len());
    let text = fs::read_to_string(&plain).expect("read back");
    let back: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("line")).collect();
    assert_eq!(back, records);

    let bridged = dir.path().join("eventbridge.jsonl");
    assert_eq!(write_eventbridge_jsonl(&bridged, records.iter()).expect("eb"), records.len());
    let first: Value = fs::read_to_string(&bridged)
        .expect("read back")
        .lines()
        .next()
        .map(|l| serde_json::from_str(l).expect("line"))
        .expect("one line");
    assert_eq!(first["detail"], records[0]);
    assert_eq!(first["detail-type"], "AWS API Call via CloudTrail");
    assert_eq!(first["version"], "0");
    assert_eq!(first["time"], records[0]["eventTime"]);
    assert_eq!(first["account"], records[0]["recipientAccountId"]);
    assert_eq!(first["region"], records[0]["awsRegion"]);
    assert_eq!(first["resources"], serde_json::json!([]));
    let source = records[0]["eventSource"].as_str().expect("source").trim_end_matches(".amazonaws.com");
    assert_eq!(first["source"], format!("aws.{source}"));
    assert_eq!(first, eventbridge_envelope(&records[0]));
    assert_ne!(first["id"], eventbridge_envelope(&records[1])["id"]);
}

#[test]
fn committed_demo_archive_is_current() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/demo");
    assert!(committed.join("AWSLogs").is_dir(), "missing {}", committed.join("AWSLogs").display());
    let fresh = tempfile::tempdir().expect("tmp");
    write_s3_archive(fresh.path(), &demo_records()).expect("write");
    let archive = |root: &Path| -> Vec<(PathBuf, Value)> {
        snapshot(&root.join("AWSLogs")).into_iter().map(|(path, bytes)| (path, gunzip(&bytes))).collect()
    };
    // Compared decompressed, so a different deflate backend in some build does not fail it.
    assert!(
        archive(&committed) == archive(fresh.path()),
        "fixtures/demo is stale: run `cargo run -p nhiwatch-generator --release -- demo --out fixtures/demo`"
    );
}
