//! Events to Parquet, partitioned by day and account.

use crate::HuntError;
use arrow::array::{ArrayRef, BooleanBuilder, RecordBatch, StringBuilder, TimestampMillisecondBuilder};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use nhiwatch_core::Event;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The manifest file at the root of an archive.
pub const MANIFEST: &str = "_nhiwatch_manifest.json";

/// Columns of the events table, in order. `date` and `account` are the partition
/// directories, not columns of the files.
pub fn event_schema() -> Arc<Schema> {
    let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    Arc::new(Schema::new(vec![
        Field::new("time", DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())), false),
        text("source", false),
        text("region", false),
        text("service", false),
        text("action", false),
        text("event_id", false),
        text("identity", false),
        text("identity_type", false),
        text("identity_name", false),
        text("identity_account", false),
        text("access_key_id", true),
        text("session_name", true),
        text("source_ip", false),
        text("user_agent", false),
        text("error_code", true),
        text("error_message", true),
        Field::new("read_only", DataType::Boolean, true),
        text("category", false),
        text("vpc_endpoint_id", true),
        text("invoked_by", true),
        text("request_parameters", true),
        text("response_elements", true),
        text("additional_event_data", true),
        text("resources", true),
        text("raw", false),
    ]))
}

fn batch(events: &[&Event]) -> Result<RecordBatch, arrow::error::ArrowError> {
    let n = events.len();
    let mut time = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut cols: Vec<StringBuilder> = (0..23).map(|_| StringBuilder::with_capacity(n, n * 16)).collect();
    let mut read_only = BooleanBuilder::with_capacity(n);
    for e in events {
        time.append_value(e.time.timestamp_millis());
        let raw = |key: &str| e.raw.top_level(key).map(str::to_string);
        let origin = e.origin.to_string();
        let values: [Option<&str>; 15] = [
            Some(e.source.as_str()),
            Some(&e.region),
            Some(&e.service),
            Some(&e.action),
            Some(&e.event_id),
            Some(e.identity.key.as_str()),
            Some(e.identity.kind.as_str()),
            Some(&e.identity.name),
            Some(&e.identity.account),
            e.identity.access_key_id.as_deref(),
            e.identity.session_name.as_deref(),
            Some(&origin),
            Some(&e.user_agent),
            e.outcome.error_code.as_deref(),
            e.outcome.error_message.as_deref(),
        ];
        for (b, v) in cols.iter_mut().zip(values) {
            b.append_option(v);
        }
        read_only.append_option(e.read_only);
        let rest: [Option<String>; 7] = [
            Some(e.category.to_string()),
            e.vpc_endpoint_id.clone(),
            e.invoked_by.clone(),
            raw("requestParameters"),
            raw("responseElements"),
            raw("additionalEventData"),
            raw("resources"),
        ];
        for (b, v) in cols[15..22].iter_mut().zip(rest) {
            b.append_option(v);
        }
        cols[22].append_value(e.raw.text());
    }
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(time.finish())];
    let mut finished: Vec<ArrayRef> = cols.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef).collect();
    let tail = finished.split_off(15);
    arrays.extend(finished);
    arrays.push(Arc::new(read_only.finish()));
    arrays.extend(tail);
    RecordBatch::try_new(event_schema(), arrays)
}

/// Which inputs an archive already holds (resuming skips them).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Input name → its fingerprint (size and modification time) when archived.
    pub inputs: BTreeMap<String, String>,
    /// Events written so far.
    pub events: u64,
    /// Files of a batch being moved into place: if the archiver stopped there, they are
    /// removed on resume and their inputs archived again (so nothing is counted twice).
    #[serde(default)]
    pub pending: Vec<String>,
    /// Batches written (names the next batch's files).
    #[serde(default)]
    pub batches: u64,
}

impl Manifest {
    /// The manifest of the archive at `dir` (empty for a new archive).
    pub fn load(dir: &Path) -> Result<Self, HuntError> {
        let path = dir.join(MANIFEST);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| HuntError::Format {
                path: path.display().to_string(),
                message: format!("not an nhiwatch archive manifest: {e}"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(HuntError::Io { path: path.display().to_string(), source }),
        }
    }

    /// Writes the manifest atomically.
    pub fn save(&self, dir: &Path) -> Result<(), HuntError> {
        let path = dir.join(MANIFEST);
        let tmp = dir.join(format!("{MANIFEST}.tmp"));
        let io = |source| HuntError::Io { path: path.display().to_string(), source };
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| HuntError::Format { path: path.display().to_string(), message: e.to_string() })?;
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }
}

/// Writes batches of events into the archive, one file per (day, account) per batch, and
/// keeps the manifest so an interrupted run resumes where it stopped.
#[derive(Debug)]
pub struct ArchiveWriter {
    root: PathBuf,
    manifest: Manifest,
}

impl ArchiveWriter {
    /// Opens (or creates) the archive at `root`, cleaning up after an interrupted batch.
    pub fn open(root: &Path) -> Result<Self, HuntError> {
        std::fs::create_dir_all(root).map_err(|source| HuntError::Io { path: root.display().to_string(), source })?;
        let mut manifest = Manifest::load(root)?;
        if !manifest.pending.is_empty() {
            for file in std::mem::take(&mut manifest.pending) {
                let _ = std::fs::remove_file(root.join(file));
            }
            manifest.save(root)?;
        }
        for leftover in crate::read::files_with_suffix(root, ".parquet.tmp")? {
            let _ = std::fs::remove_file(leftover);
        }
        Ok(Self { root: root.to_path_buf(), manifest })
    }

    /// The manifest as it stands.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// True when `input` with `fingerprint` is already in the archive.
    pub fn holds(&self, input: &str, fingerprint: &str) -> bool {
        self.manifest.inputs.get(input).is_some_and(|f| f == fingerprint)
    }

    /// Writes `events` (read from `inputs`, name and fingerprint) as one batch and records the
    /// inputs. Returns the files written.
    pub fn write_batch<E: std::borrow::Borrow<Event>>(
        &mut self,
        inputs: &[(String, String)],
        events: &[E],
    ) -> Result<Vec<PathBuf>, HuntError> {
        let mut parts: BTreeMap<(String, String), Vec<&Event>> = BTreeMap::new();
        for e in events.iter().map(E::borrow) {
            let account = if e.account.is_empty() { "unknown".to_string() } else { e.account.to_string() };
            parts.entry((e.time.format("%Y-%m-%d").to_string(), account)).or_default().push(e);
        }
        let batch_no = self.manifest.batches;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap_or_default()))
            .set_max_row_group_row_count(Some(64 * 1024))
            .build();
        let mut written = Vec::new();
        for ((day, account), mut list) in parts {
            list.sort_by(|a, b| (a.time, &a.event_id).cmp(&(b.time, &b.event_id)));
            let rel = PathBuf::from(format!("date={day}")).join(format!("account={account}"));
            let dir = self.root.join(&rel);
            let name = format!("part-{batch_no:06}.parquet");
            let tmp = dir.join(format!("{name}.tmp"));
            let fail = |message: String| HuntError::Format { path: tmp.display().to_string(), message };
            std::fs::create_dir_all(&dir)
                .map_err(|source| HuntError::Io { path: dir.display().to_string(), source })?;
            let batch = batch(&list).map_err(|e| fail(e.to_string()))?;
            let file = std::fs::File::create(&tmp)
                .map_err(|source| HuntError::Io { path: tmp.display().to_string(), source })?;
            let mut writer =
                ArrowWriter::try_new(file, event_schema(), Some(props.clone())).map_err(|e| fail(e.to_string()))?;
            writer.write(&batch).map_err(|e| fail(e.to_string()))?;
            writer.close().map_err(|e| fail(e.to_string()))?;
            written.push((tmp, rel.join(name)));
        }
        // Record the batch's files before moving them into place: a stop between the two
        // leaves them listed as pending, removed on resume.
        self.manifest.pending = written.iter().map(|(_, rel)| rel.display().to_string()).collect();
        self.manifest.save(&self.root)?;
        for (tmp, rel) in &written {
            let path = self.root.join(rel);
            std::fs::rename(tmp, &path).map_err(|source| HuntError::Io { path: path.display().to_string(), source })?;
        }
        for (name, fingerprint) in inputs {
            self.manifest.inputs.insert(name.clone(), fingerprint.clone());
        }
        self.manifest.events += events.len() as u64;
        self.manifest.batches += 1;
        self.manifest.pending.clear();
        self.manifest.save(&self.root)?;
        Ok(written.into_iter().map(|(_, rel)| self.root.join(rel)).collect())
    }
}

/// True when `dir` is an nhiwatch Parquet archive.
pub fn is_archive(dir: &Path) -> bool {
    dir.join(MANIFEST).is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupted_batch_is_removed_on_resume() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut writer = ArchiveWriter::open(dir.path()).expect("open");
        writer.write_batch(&[("a.json".into(), "1:1".into())], &[] as &[Event]).expect("empty batch");
        // A stop after the batch's files were listed, while they were being moved into place.
        let stray = dir.path().join("date=2026-03-14/account=1/part-000009.parquet");
        std::fs::create_dir_all(stray.parent().expect("parent")).expect("mkdir");
        std::fs::write(&stray, b"half").expect("write");
        std::fs::write(dir.path().join("date=2026-03-14/account=1/part-000010.parquet.tmp"), b"half").expect("write");
        let mut manifest = Manifest::load(dir.path()).expect("manifest");
        manifest.pending = vec!["date=2026-03-14/account=1/part-000009.parquet".into()];
        manifest.save(dir.path()).expect("save");
        let writer = ArchiveWriter::open(dir.path()).expect("reopen");
        assert!(!stray.exists(), "the interrupted batch's file is gone");
        assert!(crate::read::files_with_suffix(dir.path(), ".tmp").expect("walk").is_empty());
        assert!(writer.holds("a.json", "1:1"));
        assert!(!writer.holds("a.json", "2:2"), "a changed input is archived again");
        assert!(writer.manifest().pending.is_empty());
    }

    #[test]
    fn a_corrupt_manifest_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(MANIFEST), "{").expect("write");
        let err = ArchiveWriter::open(dir.path()).expect_err("corrupt");
        assert!(err.to_string().contains(MANIFEST), "{err}");
    }
}
