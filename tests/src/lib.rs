//! Shared helpers for nhiwatch's end-to-end tests: where the project and the shared corpus are,
//! and how to load the rule pack from `rules/`.

#![forbid(unsafe_code)]

pub mod kafka;
pub mod panther;

use nhiwatch_rules::{AttackTable, PackError, RulePack};
use std::path::{Path, PathBuf};

/// The project root.
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `../shared/corpus` beside the project root; panics naming the path when it is missing.
pub fn corpus_dir() -> PathBuf {
    let dir = project_root().join("../shared/corpus");
    assert!(dir.is_dir(), "the shared test corpus is missing: expected it at {}", dir.display());
    dir
}

/// `../shared/attack` beside the project root.
pub fn attack_dir() -> PathBuf {
    let dir = project_root().join("../shared/attack");
    assert!(dir.is_dir(), "the shared ATT&CK tables are missing: expected them at {}", dir.display());
    dir
}

/// Every rule file under `rules/` (sorted), as (path relative to the project, text).
pub fn rule_files() -> Vec<(String, String)> {
    let root = project_root().join("rules");
    let mut files = Vec::new();
    collect_yaml(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
            let rel = p.strip_prefix(project_root()).unwrap_or(&p).display().to_string();
            (rel, text)
        })
        .collect()
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_yaml(&path, out);
        } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml")
            && path.file_name().is_some_and(|n| n != "attack.yml")
        {
            out.push(path);
        }
    }
}

/// The project's ATT&CK table (`rules/attack.yml`).
pub fn attack_table() -> AttackTable {
    let path = project_root().join("rules/attack.yml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    AttackTable::parse("rules/attack.yml", &text).unwrap_or_else(|e| panic!("{e}"))
}

/// The default pack from `rules/`.
pub fn load_pack() -> Result<RulePack, PackError> {
    RulePack::load(&rule_files(), &attack_table())
}

/// The test GeoIP database, built from `fixtures/geoip/test-geo.csv`.
pub fn test_geo() -> std::sync::Arc<dyn nhiwatch_core::geo::GeoResolver> {
    let path = project_root().join("fixtures/geoip/test-geo.csv");
    let csv = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let bytes = nhiwatch_generator::geoip::mmdb_from_csv(&csv).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    std::sync::Arc::new(
        nhiwatch_geo::MmdbResolver::from_bytes("test-geo.mmdb", bytes).unwrap_or_else(|e| panic!("{e}")),
    )
}
