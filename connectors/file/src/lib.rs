//! The file connector: what `nhiwatch replay` reads.
//!
//! [`discover`] turns the paths a user gave into a sorted list of inputs: files, standard input
//! (`-`), and directory trees such as the CloudTrail S3 layout
//! `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz` (digest files are skipped).
//! [`read_input`] reads one input, un-gzipping by content (not by name) and keeping what a
//! truncated gzip stream held. Decoding itself is `nhiwatch-decode`'s job.

#![forbid(unsafe_code)]

use flate2::read::MultiGzDecoder;
use nhiwatch_core::SourceOffset;
use nhiwatch_decode::{BadReason, BadRecord, DecodeOptions, DecodeOutput, decode_owned};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One thing to read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Input {
    /// A file.
    File(PathBuf),
    /// Standard input (`-`).
    Stdin,
}

impl Input {
    /// The name used in reports and alert sources.
    pub fn name(&self) -> String {
        match self {
            Self::File(p) => p.display().to_string(),
            Self::Stdin => "-".to_string(),
        }
    }
}

/// A path that cannot be used: the invocation is wrong, so the run stops.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// The path does not exist.
    #[error("{0}: no such file or directory")]
    Missing(PathBuf),
    /// A directory could not be walked.
    #[error("{path}: cannot list directory: {source}")]
    Walk {
        /// Where.
        path: PathBuf,
        /// Why.
        #[source]
        source: walkdir::Error,
    },
}

/// File names read from directories: CloudTrail objects and exports.
fn is_log_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if name.starts_with('.') || name.contains("CloudTrail-Digest") {
        return false;
    }
    let lower = name.to_ascii_lowercase();
    [".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".gz"].iter().any(|ext| lower.ends_with(ext))
}

/// Expands paths into inputs. Files named explicitly are always read; directories contribute
/// their log files (digests, hidden files and other extensions skipped). The result is sorted
/// and free of duplicates, so the listing order never matters.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<Input>, DiscoverError> {
    let mut inputs = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        if path.is_dir() {
            for entry in walkdir::WalkDir::new(path).follow_links(true).sort_by_file_name() {
                let entry = entry.map_err(|source| DiscoverError::Walk { path: path.clone(), source })?;
                let in_digest_dir = entry.path().components().any(|c| c.as_os_str() == "CloudTrail-Digest");
                if entry.file_type().is_file() && is_log_file(entry.path()) && !in_digest_dir {
                    inputs.push(Input::File(entry.into_path()));
                }
            }
        } else if path.exists() {
            inputs.push(Input::File(path.clone()));
        } else {
            return Err(DiscoverError::Missing(path.clone()));
        }
    }
    inputs.sort();
    inputs.dedup();
    Ok(inputs)
}

/// The bytes of one input, and a problem found while reading them (the bytes read before it
/// are kept).
#[derive(Debug)]
pub struct ReadResult {
    /// Decompressed content.
    pub bytes: Vec<u8>,
    /// A truncated or corrupt gzip stream, or an unreadable file.
    pub problem: Option<BadRecord>,
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Reads an input, gunzipping when the content starts with the gzip magic bytes.
pub fn read_input(input: &Input) -> ReadResult {
    let file: Arc<str> = Arc::from(input.name());
    let mut raw = Vec::new();
    let read = match input {
        // `fs::read` sizes the buffer from the file's length: one allocation, no regrowth.
        Input::File(p) => std::fs::read(p).map(|bytes| {
            raw = bytes;
            raw.len()
        }),
        Input::Stdin => std::io::stdin().lock().read_to_end(&mut raw),
    };
    let offset = |line| SourceOffset { file: file.clone(), line, record: 0 };
    if let Err(e) = read {
        return ReadResult {
            bytes: raw,
            problem: Some(BadRecord {
                offset: offset(None),
                reason: BadReason::Truncated,
                detail: format!("read failed: {e}"),
            }),
        };
    }
    if !raw.starts_with(&GZIP_MAGIC) {
        return ReadResult { bytes: raw, problem: None };
    }
    let mut bytes = Vec::with_capacity(raw.len() * 8);
    // On a corrupt or truncated stretch `read_to_end` keeps what it decompressed before it,
    // so the records there still decode; no scratch buffer is zeroed for every object.
    match MultiGzDecoder::new(raw.as_slice()).read_to_end(&mut bytes) {
        Ok(_) => ReadResult { bytes, problem: None },
        Err(e) => {
            let detail = format!(
                "gzip stream ends early or is corrupt after {} decompressed bytes ({e}); records before it are kept",
                bytes.len()
            );
            ReadResult {
                bytes,
                problem: Some(BadRecord { offset: offset(None), reason: BadReason::Truncated, detail }),
            }
        }
    }
}

/// Reads and decodes one input.
pub fn decode_input(input: &Input, opts: &DecodeOptions) -> DecodeOutput {
    let ReadResult { bytes, problem } = read_input(input);
    let mut out = decode_owned(bytes, &Arc::from(input.name()), opts);
    if let Some(p) = problem {
        // The decoder also sees the cut; one report for the file is enough.
        out.bad.retain(|b| b.reason != BadReason::Truncated);
        out.bad.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    #[test]
    fn discovers_s3_layout_and_skips_digests() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let day = dir.path().join("AWSLogs/111111111111/CloudTrail/us-east-1/2026/03/14");
        let digest = dir.path().join("AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2026/03/14");
        std::fs::create_dir_all(&day)?;
        std::fs::create_dir_all(&digest)?;
        std::fs::write(day.join("b.json.gz"), b"")?;
        std::fs::write(day.join("a.json.gz"), b"")?;
        std::fs::write(day.join("notes.txt"), b"")?;
        std::fs::write(digest.join("d.json.gz"), b"")?;
        let found = discover(&[dir.path().to_path_buf(), day.join("a.json.gz")]).map_err(std::io::Error::other)?;
        let names: Vec<String> =
            found.iter().map(|i| i.name().rsplit('/').next().unwrap_or_default().to_string()).collect();
        assert_eq!(names, ["a.json.gz", "b.json.gz"]);
        assert!(matches!(discover(&[dir.path().join("nope")]), Err(DiscoverError::Missing(_))));
        Ok(())
    }

    #[test]
    fn truncated_gzip_keeps_what_it_held() -> std::io::Result<()> {
        let rec = |id: &str| format!(r#"{{"eventTime":"2026-03-14T02:47:12Z","eventName":"X","eventID":"{id}"}}"#);
        let text = (0..200).map(|i| rec(&format!("e{i}"))).collect::<Vec<_>>().join("\n");
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(text.as_bytes())?;
        let gz = enc.finish()?;
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("cut.jsonl.gz");
        std::fs::write(&path, &gz[..gz.len() * 2 / 3])?;
        let out = decode_input(&Input::File(path), &DecodeOptions::default());
        assert!(out.events.len() > 50, "kept {}", out.events.len());
        assert!(out.bad.iter().any(|b| b.reason == BadReason::Truncated));
        Ok(())
    }
}
