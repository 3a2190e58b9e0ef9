//! Panther's labelled rule tests (`../shared/corpus/panther/*.jsonl`) as true positives and
//! true negatives for the rules of ours that detect the same thing.
//!
//! Each Panther rule in one of our families is mapped to our rule. A case with
//! `expected: true` must raise our rule's alert and one with `expected: false` must not, except
//! the listed disagreements, where our rule deliberately decides otherwise (the reason is
//! given; the check also fails if such a case starts to agree, so the list stays true).
//!
//! Preparation of each event: the Panther enrichment fields (`p_*`) are stripped; an event
//! without a time gets [`DEFAULT_EVENT_TIME`] in its source's time field (the engine runs on
//! event time; Panther's partial test events often omit it). Every case runs alone in a fresh
//! engine with the default configuration: the organisation is the event's own account.

use crate::corpus_dir;
use nhiwatch_core::SourceOffset;
use nhiwatch_decode::decode_record;
use nhiwatch_detect::{Engine, EngineConfig};
use nhiwatch_rules::RulePack;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The time given to events that have none (the test epoch of embedded rule tests).
pub const DEFAULT_EVENT_TIME: &str = "2026-01-05T10:00:00Z";

/// A Panther rule mapped to ours: (Panther rule id, our rule id, only when the case's
/// selector — see [`cases`] — equals this).
pub type Mapping = (&'static str, &'static str, Option<&'static str>);

/// A case where our verdict deliberately differs from Panther's: (Panther rule, test, why).
pub type Disagreement = (&'static str, &'static str, &'static str);

/// One Panther test case, prepared.
#[derive(Debug)]
pub struct Case {
    /// 1-based line in the JSONL file.
    pub line: usize,
    /// Panther's rule id.
    pub panther_rule: String,
    /// Panther's test name.
    pub test: String,
    /// Panther's verdict.
    pub expected: bool,
    /// Our rule.
    pub ours: &'static str,
    /// The prepared record.
    pub record: String,
    /// Whether a time had to be added.
    pub time_injected: bool,
}

/// How one source's events are prepared: the fields that may hold its time, where a missing
/// time is written, and what a mapping's `only` is compared with.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    /// JSONL file under `panther/`.
    pub file: &'static str,
    /// Candidate time fields, top level.
    pub time_fields: &'static [&'static str],
    /// The field a missing time is written to, by the event's shape.
    pub time_field: fn(&Map<String, Value>) -> &'static str,
    /// The selector of an event (`eventSource`, `methodName`), compared with a mapping's `only`.
    pub selector: fn(&Map<String, Value>) -> String,
}

/// The mapped cases of one file.
pub fn cases(source: &Source, mapping: &[Mapping]) -> Vec<Case> {
    let path = corpus_dir().join("panther").join(source.file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let row: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1));
        let field = |name: &str| row.get(name).and_then(Value::as_str).unwrap_or_default().to_string();
        let panther_rule = field("rule_id");
        let Some(mut event) = row.get("event").and_then(Value::as_object).cloned() else {
            panic!("{}:{}: no event object", path.display(), i + 1);
        };
        let selector = (source.selector)(&event);
        let Some((_, ours, _)) =
            mapping.iter().find(|(rule, _, only)| *rule == panther_rule && only.is_none_or(|s| s == selector))
        else {
            continue;
        };
        event.retain(|key, _| !key.starts_with("p_"));
        let time_injected = !source.time_fields.iter().any(|f| event.contains_key(*f));
        if time_injected {
            event.insert((source.time_field)(&event).into(), DEFAULT_EVENT_TIME.into());
        }
        out.push(Case {
            line: i + 1,
            test: field("test"),
            expected: row.get("expected").and_then(Value::as_bool).unwrap_or_else(|| {
                panic!("{}:{}: 'expected' is not a boolean", path.display(), i + 1);
            }),
            panther_rule,
            ours,
            record: Value::Object(event).to_string(),
            time_injected,
        });
    }
    out
}

/// True when our rule alerts on the case (alone, in a fresh engine).
pub fn our_verdict(file: &str, case: &Case, pack: &Arc<RulePack>) -> Result<bool, String> {
    let offset = SourceOffset { file: Arc::from(file), line: Some(case.line as u64), record: 0 };
    let decoded = decode_record(&case.record, offset).map_err(|e| format!("{}: {}", e.reason, e.detail))?;
    let mut engine = Engine::new(Arc::clone(pack), EngineConfig::default());
    let mut alerts = engine.process(decoded.event);
    alerts.extend(engine.finish());
    Ok(alerts.iter().any(|a| a.rule_id == case.ours))
}

/// Runs every case and checks it against Panther's verdict and the listed disagreements;
/// returns (agreements, disagreements). Panics listing every unexpected result.
pub fn check(
    source: &Source,
    mapping: &[Mapping],
    listed: &[Disagreement],
    cases: &[Case],
    pack: &Arc<RulePack>,
) -> (usize, usize) {
    let ours: BTreeSet<&str> = pack.rules().iter().map(|r| r.id.as_str()).collect();
    for (panther, rule, _) in mapping {
        assert!(ours.contains(rule), "{panther} is mapped to {rule}, which is not in the pack");
        assert!(cases.iter().any(|c| c.panther_rule == *panther), "no cases for {panther}");
    }
    let mut failures = Vec::new();
    let (mut agreements, mut disagreements) = (0, 0);
    for case in cases {
        let verdict = match our_verdict(source.file, case, pack) {
            Ok(v) => v,
            Err(e) => {
                failures
                    .push(format!("line {} {} / {}: does not decode: {e}", case.line, case.panther_rule, case.test));
                continue;
            }
        };
        let label = format!(
            "line {} {} / {} (Panther {}, {} {})",
            case.line,
            case.panther_rule,
            case.test,
            case.expected,
            case.ours,
            if verdict { "alerts" } else { "is silent" }
        );
        let why = listed.iter().find(|(rule, test, _)| *rule == case.panther_rule && *test == case.test);
        match (verdict == case.expected, why) {
            (true, None) => agreements += 1,
            (false, Some(_)) => disagreements += 1,
            (false, None) => failures.push(format!("{label}: unexpected disagreement")),
            (true, Some((_, _, why))) => failures.push(format!("{label}: listed as a disagreement ({why}) but agrees")),
        }
    }
    for (rule, test, _) in listed {
        if !cases.iter().any(|c| c.panther_rule == *rule && c.test == *test) {
            failures.push(format!("disagreement {rule} / {test} names no mapped case"));
        }
    }
    assert!(failures.is_empty(), "{}: {}", source.file, failures.join("\n"));
    assert_eq!(agreements + disagreements, cases.len());
    (agreements, disagreements)
}
