//! Line-oriented outputs: plain CloudTrail JSON Lines, and the EventBridge envelope that
//! CloudTrail events arrive in through an EventBridge rule (and so on Kafka via a bridge).
//!
//! One compact JSON object per line, `\n`-terminated, in the order given.

use crate::rng::uuid_from_content;
use serde_json::{Value, json};
use std::borrow::Borrow;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Writes one record per line to `path` (parent folders are created) and returns how many
/// lines were written. Takes a slice (`&records`) or any iterator of records.
pub fn write_jsonl<I>(path: &Path, records: I) -> io::Result<usize>
where
    I: IntoIterator,
    I::Item: Borrow<Value>,
{
    write_lines(path, records, |out, record| serde_json::to_writer(out, record))
}

/// Writes each record wrapped in its EventBridge envelope ([`eventbridge_envelope`]), one per
/// line, and returns how many lines were written.
pub fn write_eventbridge_jsonl<I>(path: &Path, records: I) -> io::Result<usize>
where
    I: IntoIterator,
    I::Item: Borrow<Value>,
{
    write_lines(path, records, |out, record| serde_json::to_writer(out, &eventbridge_envelope(record)))
}

/// The EventBridge event `AWS API Call via CloudTrail` carrying `record` as `detail`. Its `id`
/// is derived from the record's `eventID`, so the same record always gets the same envelope.
pub fn eventbridge_envelope(record: &Value) -> Value {
    let text = |name: &str| record.get(name).and_then(Value::as_str).unwrap_or_default();
    let service = text("eventSource").trim_end_matches(".amazonaws.com");
    let id_source = match text("eventID") {
        "" => record.to_string(),
        id => id.to_owned(),
    };
    let mut envelope = json!({
        "version": "0",
        "id": uuid_from_content(id_source.as_bytes()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": format!("aws.{service}"),
        "account": text("recipientAccountId"),
        "time": text("eventTime"),
        "region": text("awsRegion"),
        "resources": [],
        "detail": record,
    });
    envelope.sort_all_objects();
    envelope
}

fn write_lines<I, F>(path: &Path, records: I, mut write_one: F) -> io::Result<usize>
where
    I: IntoIterator,
    I::Item: Borrow<Value>,
    F: FnMut(&mut BufWriter<File>, &Value) -> serde_json::Result<()>,
{
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let mut out = BufWriter::new(File::create(path)?);
    let mut count = 0;
    for item in records {
        write_one(&mut out, item.borrow())?;
        out.write_all(b"\n")?;
        count += 1;
    }
    out.flush()?;
    Ok(count)
}
