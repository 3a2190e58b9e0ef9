//! Durable engine state: versioned snapshots, gzipped JSON, written atomically (temporary
//! file, fsync, then rename) so a crash never leaves half a snapshot. `replay --state DIR`
//! keeps one snapshot in DIR; `run` keeps one checkpoint per input partition.

use anyhow::Context;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use nhiwatch_detect::snapshot::Snapshot;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The snapshot file inside a state directory.
pub const STATE_FILE: &str = "engine-state.json.gz";

fn file(dir: &Path) -> PathBuf {
    dir.join(STATE_FILE)
}

/// Loads the snapshot in `dir`; `None` when the directory holds none yet. A file that cannot
/// be read back is an error that says how to start over.
pub fn load(dir: &Path) -> anyhow::Result<Option<Snapshot>> {
    read_gz_json(&file(dir), "run with --reset-state to start over")
}

/// Writes `snapshot` into `dir` (created if needed); returns the bytes written.
pub fn save(dir: &Path, snapshot: &Snapshot) -> anyhow::Result<u64> {
    write_gz_json(&file(dir), snapshot)
}

/// Removes the snapshot (for `--reset-state`).
pub fn reset(dir: &Path) -> anyhow::Result<()> {
    let path = file(dir);
    if path.exists() {
        std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
    }
    Ok(())
}

/// Reads gzipped JSON; `None` when the file does not exist. `remedy` tells the user what to
/// do when it is corrupt.
pub fn read_gz_json<T: DeserializeOwned>(path: &Path, remedy: &str) -> anyhow::Result<Option<T>> {
    if !path.exists() {
        return Ok(None);
    }
    let f = std::fs::File::open(path).with_context(|| format!("opening state {}", path.display()))?;
    let value = serde_json::from_reader(BufReader::new(GzDecoder::new(f)))
        .map_err(|e| anyhow::anyhow!("state {} is corrupt or incompatible ({e}); {remedy}", path.display()))?;
    Ok(Some(value))
}

/// Writes `value` as gzipped JSON to `path` atomically (directories created); returns the
/// bytes written.
pub fn write_gz_json<T: Serialize>(path: &Path, value: &T) -> anyhow::Result<u64> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating state directory {}", dir.display()))?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let f = std::fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        let mut gz = GzEncoder::new(BufWriter::new(f), Compression::fast());
        serde_json::to_writer(&mut gz, value)?;
        let mut inner = gz.finish()?;
        inner.flush()?;
        inner.get_ref().sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(std::fs::metadata(path).map(|m| m.len()).unwrap_or(0))
}
