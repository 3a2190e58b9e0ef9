//! A rule pack: every rule of one or more directories, compiled and indexed by action.

use crate::attack::AttackTable;
use crate::error::{LoadError, PackError, RuleError, from_yaml};
use crate::rule::Rule;
use crate::spec::RuleSpec;
use nhiwatch_core::SourceKind;
use std::collections::{BTreeMap, HashMap};

/// Compiled rules in load order, with an index from action (ASCII-lowercased: Sigma compares
/// without case; a rule that compares exactly still checks its own condition) to the rules that
/// can match it. Rules that may match any action are listed per log source, leaving out those
/// whose condition requires another source (a GCP rule is not tried on CloudTrail events).
#[derive(Debug, Clone, Default)]
pub struct RulePack {
    rules: Vec<Rule>,
    /// Sigma rules that could not be supported: (file, reason).
    unsupported: Vec<(String, String)>,
    by_action: HashMap<String, Vec<usize>>,
    /// By source (`SourceKind as usize`): the rules that may match any action of it.
    any_action: [Vec<usize>; SourceKind::ALL.len()],
}

impl RulePack {
    /// Compiles rule files given as `(file name, YAML text)`, in the order given. All errors of
    /// all files are reported together; duplicate ids are errors.
    pub fn load(files: &[(String, String)], attack: &AttackTable) -> Result<Self, PackError> {
        let mut errors = Vec::new();
        let mut rules = Vec::new();
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let mut sigma_files: Vec<(&str, &str)> = Vec::new();
        for (file, text) in files {
            if crate::sigma::is_sigma(text) {
                sigma_files.push((file.as_str(), text.as_str()));
                continue;
            }
            let spec: RuleSpec = match serde_saphyr::from_str(text) {
                Ok(s) => s,
                Err(e) => {
                    errors.push(LoadError { file: file.clone(), error: from_yaml(&e) });
                    continue;
                }
            };
            let id_loc = spec.id.referenced;
            match Rule::compile(spec, file, attack) {
                Ok(rule) => {
                    add_unique(rule, (id_loc.line(), id_loc.column()), &mut seen, &mut rules, &mut errors);
                }
                Err(error) => errors.push(LoadError { file: file.clone(), error }),
            }
        }
        let sigma = crate::sigma::compile_sigma_files(&sigma_files, attack);
        errors.extend(sigma.invalid.into_iter().map(|(file, error)| LoadError { file, error }));
        for rule in sigma.rules {
            add_unique(rule, (0, 0), &mut seen, &mut rules, &mut errors);
        }
        if !errors.is_empty() {
            return Err(PackError { errors });
        }
        let mut pack = Self::from_rules(rules);
        pack.unsupported = sigma.unsupported;
        Ok(pack)
    }

    /// Sigma rules that could not be supported, with the reason: (file, reason).
    pub fn unsupported(&self) -> &[(String, String)] {
        &self.unsupported
    }

    /// Builds the index over compiled rules.
    pub fn from_rules(rules: Vec<Rule>) -> Self {
        let mut by_action: HashMap<String, Vec<usize>> = HashMap::new();
        let mut any_action: [Vec<usize>; SourceKind::ALL.len()] = Default::default();
        for (i, rule) in rules.iter().enumerate() {
            let after = match &rule.kind {
                crate::RuleKind::Threshold(t) => t.after.as_ref(),
                _ => None,
            };
            match (&rule.actions, after) {
                (Some(actions), None) => {
                    for a in actions {
                        let list = by_action.entry(a.to_ascii_lowercase()).or_default();
                        if list.last() != Some(&i) {
                            list.push(i);
                        }
                    }
                }
                _ => {
                    // A start event (`after`) is looked for in every event the rule sees, so
                    // it must require the same sources for the rule to be skipped.
                    let mut sources = rule.condition.required_sources();
                    if let Some(after) = after {
                        match (&mut sources, after.required_sources()) {
                            (Some(s), Some(more)) => s.extend(more),
                            _ => sources = None,
                        }
                    }
                    for (kind, list) in SourceKind::ALL.iter().zip(&mut any_action) {
                        // Compared without case: a superset is safe (the condition decides).
                        if sources.as_ref().is_none_or(|s| s.iter().any(|v| v.eq_ignore_ascii_case(kind.as_str()))) {
                            list.push(i);
                        }
                    }
                }
            }
        }
        Self { rules, unsupported: Vec::new(), by_action, any_action }
    }

    /// The rules, in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when the pack has no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Indices of the rules that may match `action` of a `source` event, in load order.
    pub fn candidates(&self, source: SourceKind, action: &str, out: &mut Vec<usize>) {
        out.clear();
        // Lowered on the stack: actions are short, and this runs for every event.
        let mut buf = [0u8; 96];
        let lowered: Option<&str> = match buf.get_mut(..action.len()) {
            Some(b) => {
                b.copy_from_slice(action.as_bytes());
                b.make_ascii_lowercase();
                std::str::from_utf8(b).ok()
            }
            None => None,
        };
        let indexed = match lowered {
            Some(key) => self.by_action.get(key),
            None => self.by_action.get(&action.to_ascii_lowercase()),
        };
        let indexed = indexed.map_or(&[][..], Vec::as_slice);
        let (mut i, mut j) = (0, 0);
        let any = &self.any_action[source as usize];
        while i < indexed.len() || j < any.len() {
            let take_indexed = j >= any.len() || (i < indexed.len() && indexed[i] < any[j]);
            if take_indexed {
                out.push(indexed[i]);
                i += 1;
            } else {
                out.push(any[j]);
                j += 1;
            }
        }
    }
}

/// Adds `rule` unless its id is taken, in which case the duplicate is an error at `at`.
fn add_unique(
    rule: Rule,
    at: (u64, u64),
    seen: &mut BTreeMap<String, String>,
    rules: &mut Vec<Rule>,
    errors: &mut Vec<LoadError>,
) {
    match seen.get(&rule.id) {
        Some(other) => errors.push(LoadError {
            file: rule.file.clone(),
            error: RuleError {
                line: at.0,
                column: at.1,
                message: format!("duplicate rule id '{}' (also in {other})", rule.id),
            },
        }),
        None => {
            seen.insert(rule.id.clone(), rule.file.clone());
            rules.push(rule);
        }
    }
}
