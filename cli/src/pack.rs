//! Loading rule packs: the built-in pack compiled into the binary, or directories of YAML.

use anyhow::Context;
use include_dir::{Dir, include_dir};
use nhiwatch_rules::{AttackTable, RulePack};
use std::path::{Path, PathBuf};

/// The default pack (`rules/` of the project), built into the binary so it runs anywhere.
static BUILTIN_RULES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../rules");

/// Name of the ATT&CK table file in a rules directory.
pub const ATTACK_TABLE_FILE: &str = "attack.yml";

fn is_rule_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "yml" || e == "yaml")
        && path.file_name().is_some_and(|n| n != ATTACK_TABLE_FILE)
}

/// The built-in ATT&CK table.
pub fn builtin_attack_table() -> anyhow::Result<AttackTable> {
    let file = BUILTIN_RULES.get_file(ATTACK_TABLE_FILE).context("built-in ATT&CK table missing")?;
    let text = file.contents_utf8().context("built-in ATT&CK table is not UTF-8")?;
    Ok(AttackTable::parse("rules/attack.yml", text)?)
}

/// The built-in rule files as (name, text), sorted by name.
pub fn builtin_rule_files() -> Vec<(String, String)> {
    let mut files = Vec::new();
    collect_builtin(&BUILTIN_RULES, &mut files);
    files.sort();
    files
}

fn collect_builtin(dir: &Dir<'_>, out: &mut Vec<(String, String)>) {
    for file in dir.files() {
        if is_rule_file(file.path())
            && let Some(text) = file.contents_utf8()
        {
            out.push((format!("rules/{}", file.path().display()), text.to_string()));
        }
    }
    for sub in dir.dirs() {
        collect_builtin(sub, out);
    }
}

/// Rule files under the given directories (or single files), sorted per directory.
pub fn rule_files_in(paths: &[PathBuf]) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for root in paths {
        anyhow::ensure!(root.exists(), "rules path {}: no such file or directory", root.display());
        let mut found = Vec::new();
        if root.is_file() {
            found.push(root.clone());
        } else {
            for entry in walk(root)? {
                if is_rule_file(&entry) {
                    found.push(entry);
                }
            }
        }
        found.sort();
        for path in found {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading rule {}", path.display()))?;
            out.push((path.display().to_string(), text));
        }
    }
    Ok(out)
}

fn walk(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("listing {}", d.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    Ok(out)
}

/// The rule files and ATT&CK table of a pack: the given directories, or the built-in pack when
/// none are given. A directory may carry its own `attack.yml`, which extends the built-in table.
pub fn pack_sources(dirs: &[PathBuf]) -> anyhow::Result<(Vec<(String, String)>, AttackTable)> {
    let attack = builtin_attack_table()?;
    if dirs.is_empty() {
        return Ok((builtin_rule_files(), attack));
    }
    let mut table = attack;
    for dir in dirs {
        let extra = dir.join(ATTACK_TABLE_FILE);
        if extra.is_file() {
            let text = std::fs::read_to_string(&extra)?;
            table = table.merged(AttackTable::parse(&extra.display().to_string(), &text)?);
        }
    }
    Ok((rule_files_in(dirs)?, table))
}

/// Loads the pack (see [`pack_sources`]).
pub fn load_pack(dirs: &[PathBuf]) -> anyhow::Result<RulePack> {
    let (files, attack) = pack_sources(dirs)?;
    RulePack::load(&files, &attack).map_err(|e| anyhow::anyhow!("invalid rules:\n{e}"))
}
