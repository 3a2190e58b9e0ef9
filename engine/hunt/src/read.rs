//! Events back from a Parquet archive: each stored record is decoded again, so events read
//! from an archive are the events replay would have seen (every field path works).

use crate::HuntError;
use arrow::array::{Array, StringArray};
use nhiwatch_decode::{DecodeOptions, DecodeOutput, decode_owned};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The Parquet files of an archive, sorted.
pub fn archive_files(dir: &Path) -> Result<Vec<PathBuf>, HuntError> {
    files_with_suffix(dir, ".parquet")
}

/// Files under `dir` whose names end with `suffix`, sorted.
pub fn files_with_suffix(dir: &Path, suffix: &str) -> Result<Vec<PathBuf>, HuntError> {
    fn walk(dir: &Path, suffix: &str, out: &mut Vec<PathBuf>) -> Result<(), HuntError> {
        let entries =
            std::fs::read_dir(dir).map_err(|source| HuntError::Io { path: dir.display().to_string(), source })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, suffix, out)?;
            } else if path.file_name().is_some_and(|n| n.to_string_lossy().ends_with(suffix)) {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, suffix, &mut files)?;
    files.sort();
    Ok(files)
}

/// Decodes the records stored in one archive file (bad ones reported by line, as for JSON
/// Lines: line N is row N).
pub fn read_file(path: &Path, opts: &DecodeOptions) -> Result<DecodeOutput, HuntError> {
    let name = path.display().to_string();
    let fail = |message: String| HuntError::Format { path: name.clone(), message };
    let file = std::fs::File::open(path).map_err(|source| HuntError::Io { path: name.clone(), source })?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| fail(e.to_string()))?;
    let mask = ProjectionMask::columns(builder.parquet_schema(), ["raw"]);
    let reader = builder.with_projection(mask).build().map_err(|e| fail(e.to_string()))?;
    let mut lines = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| fail(e.to_string()))?;
        let raw = batch
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| fail("column raw is not text".to_string()))?;
        for i in 0..raw.len() {
            if raw.is_valid(i) {
                lines.extend_from_slice(raw.value(i).as_bytes());
            }
            lines.push(b'\n');
        }
    }
    Ok(decode_owned(lines, &Arc::from(name.as_str()), opts))
}
