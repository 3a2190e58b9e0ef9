//! Durable engine state for `replay --state DIR`: one versioned snapshot file, gzipped JSON,
//! written atomically (temporary file, then rename) so a crash never leaves half a snapshot.

use anyhow::Context;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use nhiwatch_detect::snapshot::Snapshot;
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
    let path = file(dir);
    if !path.exists() {
        return Ok(None);
    }
    let f = std::fs::File::open(&path).with_context(|| format!("opening state {}", path.display()))?;
    let snapshot: Snapshot = serde_json::from_reader(BufReader::new(GzDecoder::new(f))).map_err(|e| {
        anyhow::anyhow!(
            "state {} is corrupt or incompatible ({e}); run with --reset-state to start over",
            path.display()
        )
    })?;
    Ok(Some(snapshot))
}

/// Writes `snapshot` into `dir` (created if needed); returns the bytes written.
pub fn save(dir: &Path, snapshot: &Snapshot) -> anyhow::Result<u64> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating state directory {}", dir.display()))?;
    let tmp = dir.join(format!("{STATE_FILE}.tmp"));
    {
        let f = std::fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        let mut gz = GzEncoder::new(BufWriter::new(f), Compression::fast());
        serde_json::to_writer(&mut gz, snapshot)?;
        let mut inner = gz.finish()?;
        inner.flush()?;
        inner.get_ref().sync_all()?;
    }
    let path = file(dir);
    std::fs::rename(&tmp, &path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0))
}

/// Removes the snapshot (for `--reset-state`).
pub fn reset(dir: &Path) -> anyhow::Result<()> {
    let path = file(dir);
    if path.exists() {
        std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
    }
    Ok(())
}
