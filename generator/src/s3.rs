//! The CloudTrail S3 archive layout: gzipped `{"Records":[...]}` files under
//! `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/`, one per account, region and five-minute
//! slot, the way CloudTrail delivers them to a trail's bucket.
//!
//! File names are `<account>_CloudTrail_<region>_YYYYMMDDTHHMMZ_<16 alphanumerics>.json.gz`,
//! where the time is the start of the slot (CloudTrail uses the delivery time, a few minutes
//! later; the start keeps every record's date in its folder's date) and the suffix is derived
//! from account, region and slot, so the same records always give the same names and bytes.
//! The gzip header carries no file name and mtime 0, and the compression level is fixed.
//!
//! Reading archives back is the file connector's job, not this module's.

use crate::rng::alnum_from_content;
use chrono::DateTime;
use flate2::{Compression, GzBuilder};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Seconds in one delivery slot.
const SLOT_SECS: i64 = 300;
/// zlib level 6, the gzip default; fixed so the bytes do not depend on a library default.
const GZIP_LEVEL: u32 = 6;

/// Which file a record goes to: account, region, slot start (Unix seconds).
type FileKey = (String, String, i64);

/// Writes `records` under `root` in the CloudTrail S3 layout and returns the paths written,
/// sorted by account, region and time. Records keep their relative order inside each file.
///
/// Fails with [`io::ErrorKind::InvalidData`] on a record without a string
/// `recipientAccountId`, `awsRegion` or RFC 3339 `eventTime`, and on any I/O error.
pub fn write_s3_archive(root: &Path, records: &[Value]) -> io::Result<Vec<PathBuf>> {
    let mut files: BTreeMap<FileKey, Vec<&Value>> = BTreeMap::new();
    for record in records {
        files.entry(file_key(record)?).or_default().push(record);
    }
    files.iter().map(|(key, records)| write_file(root, key, records)).collect()
}

/// Like [`write_s3_archive`] for records streamed in event-time order (as
/// [`crate::org_records`] yields them): holds one five-minute slot in memory at a time.
///
/// Fails with [`io::ErrorKind::InvalidInput`] when a record belongs to a slot earlier than one
/// already written. Returns the paths in the order written.
pub fn write_s3_archive_ordered<I>(root: &Path, records: I) -> io::Result<Vec<PathBuf>>
where
    I: IntoIterator<Item = Value>,
{
    let mut written = Vec::new();
    let mut slot: Option<i64> = None;
    let mut pending: BTreeMap<FileKey, Vec<Value>> = BTreeMap::new();
    for record in records {
        let key = file_key(&record)?;
        match slot {
            Some(current) if key.2 < current => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "record at slot {} arrived after slot {current}; records must be in event-time order",
                        key.2
                    ),
                ));
            }
            Some(current) if key.2 > current => {
                flush(root, &mut pending, &mut written)?;
                slot = Some(key.2);
            }
            Some(_) => {}
            None => slot = Some(key.2),
        }
        pending.entry(key).or_default().push(record);
    }
    flush(root, &mut pending, &mut written)?;
    Ok(written)
}

/// The path, relative to the archive root, of the file holding records of `account` and
/// `region` in the slot starting at `slot_start` (Unix seconds, a multiple of 300).
pub fn s3_object_key(account: &str, region: &str, slot_start: i64) -> PathBuf {
    let (y, mo, d, h, mi, _) = crate::cloudtrail::civil(slot_start);
    let suffix = alnum_from_content(format!("{account}/{region}/{slot_start}").as_bytes(), 16);
    PathBuf::from(format!(
        "AWSLogs/{account}/CloudTrail/{region}/{y:04}/{mo:02}/{d:02}/{account}_CloudTrail_{region}_{y:04}{mo:02}{d:02}T{h:02}{mi:02}Z_{suffix}.json.gz"
    ))
}

fn flush(root: &Path, pending: &mut BTreeMap<FileKey, Vec<Value>>, written: &mut Vec<PathBuf>) -> io::Result<()> {
    for (key, records) in std::mem::take(pending) {
        let refs: Vec<&Value> = records.iter().collect();
        written.push(write_file(root, &key, &refs)?);
    }
    Ok(())
}

fn file_key(record: &Value) -> io::Result<FileKey> {
    let field = |name: &str| {
        record
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("record has no string `{name}`")))
    };
    let account = field("recipientAccountId")?;
    let region = field("awsRegion")?;
    let time = field("eventTime")?;
    let secs = DateTime::parse_from_rfc3339(time)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("bad eventTime `{time}`: {e}")))?
        .timestamp();
    Ok((account.to_owned(), region.to_owned(), secs - secs.rem_euclid(SLOT_SECS)))
}

fn write_file(root: &Path, key: &FileKey, records: &[&Value]) -> io::Result<PathBuf> {
    let path = root.join(s3_object_key(&key.0, &key.1, key.2));
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let file = BufWriter::new(File::create(&path)?);
    let mut gz = GzBuilder::new().mtime(0).operating_system(255).write(file, Compression::new(GZIP_LEVEL));
    gz.write_all(b"{\"Records\":[")?;
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            gz.write_all(b",")?;
        }
        serde_json::to_writer(&mut gz, record)?;
    }
    gz.write_all(b"]}")?;
    gz.finish()?.flush()?;
    Ok(path)
}
