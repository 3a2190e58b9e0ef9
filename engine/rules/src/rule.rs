//! A compiled rule and its compilation from the YAML schema.

use crate::attack::AttackTable;
use crate::condition::Condition;
use crate::error::{RuleError, at};
use crate::kind::RuleKind;
use crate::spec::{RuleSpec, TestEventSpec, TestSpec};
use crate::template::Template;
use chrono::{DateTime, Duration, Utc};
use nhiwatch_core::alert::Severity;
use nhiwatch_core::{AttackRef, FieldPath, parse_duration};
use serde_saphyr::{Location, Spanned};

/// Default de-duplication window when a rule does not set one.
pub const DEFAULT_DEDUP_WINDOW_SECS: i64 = 3600;

/// Start of every embedded test's clock (`at:` offsets count from here).
pub const TEST_EPOCH: &str = "2026-01-05T10:00:00Z";

/// A rule, validated and compiled.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Stable id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Severity.
    pub severity: Severity,
    /// Techniques, resolved against the ATT&CK table.
    pub attack: std::sync::Arc<[AttackRef]>,
    /// Kind and its settings.
    pub kind: RuleKind,
    /// Fields that split state into groups (stateful kinds; default the identity).
    pub group_by: Vec<FieldPath>,
    /// Which events count.
    pub condition: Condition,
    /// Summary template (empty: the title plus identity is used).
    pub summary: Template,
    /// Fields copied into the alert context: those the condition reads, then the extras.
    pub context_fields: Vec<ContextField>,
    /// De-duplication.
    pub dedup: Dedup,
    /// Known benign causes.
    pub false_positives: Vec<String>,
    /// Embedded tests, expanded into concrete records.
    pub tests: Vec<RuleTest>,
    /// File the rule came from.
    pub file: String,
    /// Actions the rule can match, when fixed (for the action index).
    pub actions: Option<Vec<String>>,
    /// Live or shadow.
    pub mode: crate::spec::Mode,
}

/// A field copied into alerts' context, with the name it is written under there (made once,
/// not per alert).
#[derive(Debug, Clone, PartialEq)]
pub struct ContextField {
    /// Where it is read.
    pub path: FieldPath,
    /// `path` as text.
    pub name: String,
}

impl ContextField {
    /// The context fields for `paths`, in order.
    pub fn all(paths: Vec<FieldPath>) -> Vec<ContextField> {
        paths.into_iter().map(|path| ContextField { name: path.to_string(), path }).collect()
    }
}

/// Alert de-duplication settings.
#[derive(Debug, Clone)]
pub struct Dedup {
    /// Silence window (zero disables de-duplication).
    pub window: Duration,
    /// Extra key fields beyond rule and identity.
    pub by: Vec<FieldPath>,
}

/// An embedded test with its events expanded.
#[derive(Debug, Clone)]
pub struct RuleTest {
    /// Name.
    pub name: String,
    /// Expected number of alerts from this rule.
    pub expect: u64,
    /// Organisation accounts for the test.
    pub org_accounts: Vec<String>,
    /// Records in arrival order.
    pub records: Vec<serde_json::Value>,
    /// Line of the test in the rule file.
    pub line: u64,
}

fn duration_at(text: &Spanned<String>) -> Result<Duration, RuleError> {
    parse_duration(&text.value).map_err(|e| at(text.referenced, e.to_string()))
}

fn path_at(text: &Spanned<String>) -> Result<FieldPath, RuleError> {
    FieldPath::parse(&text.value).map_err(|e| at(text.referenced, e))
}

impl Rule {
    /// Compiles one parsed rule file.
    pub(crate) fn compile(spec: RuleSpec, file: &str, attack_table: &AttackTable) -> Result<Self, RuleError> {
        let id = spec.id.value.trim().to_string();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.') {
            return Err(at(spec.id.referenced, format!("rule id '{id}' must be non-empty [A-Za-z0-9._-]")));
        }
        if spec.attack.value.is_empty() {
            return Err(at(spec.attack.referenced, "a rule needs at least one ATT&CK technique id"));
        }
        let attack = spec
            .attack
            .value
            .iter()
            .map(|t| {
                attack_table.get(t).cloned().ok_or_else(|| {
                    at(spec.attack.referenced, format!("ATT&CK technique '{t}' is not in the project's ATT&CK table"))
                })
            })
            .collect::<Result<std::sync::Arc<[_]>, _>>()?;
        let condition = Condition::compile(&spec.condition)?;
        let kind = RuleKind::compile(&spec)?;
        let group_by = if spec.group_by.is_empty() && kind.is_stateful() {
            vec![FieldPath::Builtin(nhiwatch_core::field::Builtin::IdentityId)]
        } else {
            spec.group_by.iter().map(path_at).collect::<Result<_, _>>()?
        };
        let summary = match &spec.summary {
            Some(s) => Template::compile(&s.value, s.referenced)?,
            None => Template::default(),
        };
        let mut context_fields = Vec::new();
        condition.fields(&mut context_fields);
        for c in &spec.context {
            let p = path_at(c)?;
            if !context_fields.contains(&p) {
                context_fields.push(p);
            }
        }
        let context_fields = ContextField::all(context_fields);
        let dedup = match &spec.dedup {
            Some(d) => Dedup {
                window: duration_at(&d.value.window)?,
                by: d.value.by.iter().map(path_at).collect::<Result<_, _>>()?,
            },
            None => Dedup { window: Duration::seconds(DEFAULT_DEDUP_WINDOW_SECS), by: Vec::new() },
        };
        let tests = spec.tests.iter().map(compile_test).collect::<Result<Vec<_>, _>>()?;
        let actions = condition.required_actions();
        Ok(Self {
            id,
            title: spec.title,
            description: spec.description,
            severity: spec.severity,
            attack,
            kind,
            group_by,
            condition,
            summary,
            context_fields,
            dedup,
            false_positives: spec.false_positives,
            tests,
            file: file.to_string(),
            actions,
            mode: spec.mode,
        })
    }
}

fn compile_test(spec: &Spanned<TestSpec>) -> Result<RuleTest, RuleError> {
    let loc = spec.referenced;
    let t = &spec.value;
    let epoch: DateTime<Utc> = TEST_EPOCH.parse().map_err(|_| at(loc, "internal: bad test epoch"))?;
    let mut records = Vec::new();
    for e in &t.events {
        expand_test_event(e, epoch, loc, &mut records)?;
    }
    if records.is_empty() {
        return Err(at(loc, format!("test '{}' has no events", t.name)));
    }
    Ok(RuleTest {
        name: t.name.clone(),
        expect: t.expect,
        org_accounts: t.org_accounts.clone(),
        records,
        line: loc.line(),
    })
}

fn expand_test_event(
    e: &TestEventSpec,
    epoch: DateTime<Utc>,
    loc: Location,
    out: &mut Vec<serde_json::Value>,
) -> Result<(), RuleError> {
    let serde_json::Value::Object(base) = &e.record else {
        return Err(at(loc, "a test event's 'record' must be a mapping (an audit record)"));
    };
    let dur = |s: &Option<String>| -> Result<Option<Duration>, RuleError> {
        s.as_deref().map(parse_duration).transpose().map_err(|err| at(loc, err.to_string()))
    };
    let start = dur(&e.at)?.map(|d| epoch + d);
    let every = dur(&e.every)?.unwrap_or_else(Duration::zero);
    let repeat = e.repeat.unwrap_or(1).max(1);
    let actions: Vec<Option<&String>> =
        if e.actions.is_empty() { vec![None] } else { e.actions.iter().map(Some).collect() };
    let (time_field, id_field) = record_fields(base);
    let mut n: i32 = 0;
    for action in actions {
        for _ in 0..repeat {
            let mut record = base.clone();
            if let Some(a) = action {
                record.insert("eventName".into(), a.clone().into());
            }
            if let Some(t0) = start {
                let t = t0 + every * n;
                record.insert(time_field.into(), t.format("%Y-%m-%dT%H:%M:%SZ").to_string().into());
            }
            if repeat > 1 || e.actions.len() > 1 {
                let base_id = record.get(id_field).and_then(|v| v.as_str()).unwrap_or("test").to_string();
                record.insert(id_field.into(), format!("{base_id}-{}", n + 1).into());
            }
            out.push(serde_json::Value::Object(record));
            n += 1;
        }
    }
    Ok(())
}

/// The fields that hold a test record's (time, id), by the record's source: CloudTrail's
/// `eventTime` and `eventID`, GCP's `timestamp` and `insertId`, Kubernetes' `stageTimestamp`
/// and `auditID`, Azure's `time` and `eventDataId`.
fn record_fields(record: &serde_json::Map<String, serde_json::Value>) -> (&'static str, &'static str) {
    let has = |k: &str| record.contains_key(k);
    if has("eventName") || has("eventTime") || has("userIdentity") {
        ("eventTime", "eventID")
    } else if has("protoPayload") {
        ("timestamp", "insertId")
    } else if has("verb") {
        ("stageTimestamp", "auditID")
    } else if has("operationName") || has("category") {
        ("time", "eventDataId")
    } else {
        ("eventTime", "eventID")
    }
}
