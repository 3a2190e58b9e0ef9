//! The project's ATT&CK table: the techniques its rules use, with names and tactics.
//!
//! The table is data (`rules/attack.yml`), checked by a test against MITRE's enterprise
//! tables. A rule naming a technique that is not in the table fails to load.

use crate::error::{LoadError, RuleError, from_yaml};
use nhiwatch_core::AttackRef;
use serde::Deserialize;
use std::collections::BTreeMap;

/// One technique row.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TechniqueSpec {
    /// Technique id (`T1098.001`).
    pub id: String,
    /// Name as ATT&CK writes it (`Account Manipulation: Additional Cloud Credentials`).
    pub name: String,
    /// Tactic names in ATT&CK's order.
    pub tactics: Vec<String>,
}

/// The file: a list of techniques.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableSpec {
    techniques: Vec<TechniqueSpec>,
}

/// Technique id → reference.
#[derive(Debug, Clone, Default)]
pub struct AttackTable {
    by_id: BTreeMap<String, AttackRef>,
}

impl AttackTable {
    /// Parses the table file.
    pub fn parse(file: &str, text: &str) -> Result<Self, LoadError> {
        let spec: TableSpec =
            serde_saphyr::from_str(text).map_err(|e| LoadError { file: file.to_string(), error: from_yaml(&e) })?;
        let mut by_id = BTreeMap::new();
        for t in spec.techniques {
            if t.tactics.is_empty() {
                return Err(LoadError {
                    file: file.to_string(),
                    error: RuleError { line: 0, column: 0, message: format!("technique {} has no tactics", t.id) },
                });
            }
            let r = AttackRef { technique_id: t.id.clone(), technique: t.name, tactics: t.tactics };
            if by_id.insert(t.id.clone(), r).is_some() {
                return Err(LoadError {
                    file: file.to_string(),
                    error: RuleError { line: 0, column: 0, message: format!("technique {} listed twice", t.id) },
                });
            }
        }
        Ok(Self { by_id })
    }

    /// Looks a technique up.
    pub fn get(&self, id: &str) -> Option<&AttackRef> {
        self.by_id.get(id)
    }

    /// This table with `other`'s techniques added (`other` wins on the same id).
    pub fn merged(mut self, other: Self) -> Self {
        self.by_id.extend(other.by_id);
        self
    }

    /// Every technique, by id.
    pub fn iter(&self) -> impl Iterator<Item = &AttackRef> {
        self.by_id.values()
    }
}
