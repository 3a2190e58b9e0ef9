//! `nhiwatch rules lint`: finds mistakes in rule files before they reach production.
//!
//! Errors (the rule cannot load or cannot work): YAML and schema errors with `file:line:col`,
//! unknown fields, duplicate ids, ATT&CK ids missing from the table, invalid regexes and CIDRs,
//! conditions that can never match. Warnings (the rule loads but is suspect): raw field paths
//! no audit record of a supported source has, rules without a true-positive or a
//! true-negative test.

use nhiwatch_core::FieldPath;
use nhiwatch_rules::condition::{Condition, Op};
use nhiwatch_rules::spec::Scalar;
use nhiwatch_rules::{AttackTable, Rule, RulePack};
use serde::Serialize;
use std::collections::BTreeMap;

/// Top-level fields of CloudTrail records (event version 1.11), which raw paths start with.
const CLOUDTRAIL_FIELDS: &[&str] = &[
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "requestID",
    "eventID",
    "readOnly",
    "resources",
    "eventType",
    "apiVersion",
    "managementEvent",
    "recipientAccountId",
    "sharedEventID",
    "annotation",
    "vpcEndpointId",
    "vpcEndpointAccountId",
    "serviceEventDetails",
    "eventCategory",
    "tlsDetails",
    "sessionCredentialFromConsole",
    "edgeDeviceDetails",
    "insightDetails",
];

/// Top-level fields of the other sources' records: GCP's `LogEntry`, Azure's activity, sign-in
/// and audit records, Kubernetes' audit `Event`.
const OTHER_SOURCE_FIELDS: &[&str] = &[
    // GCP LogEntry.
    "protoPayload",
    "insertId",
    "logName",
    "resource",
    "timestamp",
    "receiveTimestamp",
    "severity",
    "labels",
    "operation",
    // Azure.
    "time",
    "resourceId",
    "operationName",
    "operationVersion",
    "category",
    "resultType",
    "resultSignature",
    "resultDescription",
    "durationMs",
    "callerIpAddress",
    "correlationId",
    "identity",
    "level",
    "location",
    "properties",
    "tenantId",
    "caller",
    "eventDataId",
    // Kubernetes audit Event.
    "kind",
    "auditID",
    "stage",
    "requestURI",
    "verb",
    "user",
    "impersonatedUser",
    "sourceIPs",
    "objectRef",
    "responseStatus",
    "requestObject",
    "responseObject",
    "requestReceivedTimestamp",
    "stageTimestamp",
    "annotations",
];

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The rule is suspect but loads.
    Warning,
    /// The rule cannot load or cannot work.
    Error,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    /// File.
    pub file: String,
    /// 1-based line (0: the whole rule).
    pub line: u64,
    /// 1-based column (0: the whole rule).
    pub column: u64,
    /// Severity.
    pub level: Level,
    /// Rule id, when the file got that far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// Lints rule files against an ATT&CK table.
pub fn lint(files: &[(String, String)], attack: &AttackTable) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    for (file, text) in files {
        // Each file alone, so one broken file does not hide the others' problems.
        let pack = match RulePack::load(&[(file.clone(), text.clone())], attack) {
            Ok(p) => p,
            Err(e) => {
                findings.extend(e.errors.into_iter().map(|e| Finding {
                    file: e.file,
                    line: e.error.line,
                    column: e.error.column,
                    level: Level::Error,
                    rule: None,
                    message: e.error.message,
                }));
                continue;
            }
        };
        for rule in pack.rules() {
            let mut note = |level: Level, message: String| {
                findings.push(Finding {
                    file: file.clone(),
                    line: 0,
                    column: 0,
                    level,
                    rule: Some(rule.id.clone()),
                    message,
                });
            };
            if let Some(other) = ids.insert(rule.id.clone(), file.clone()) {
                note(Level::Error, format!("duplicate rule id '{}' (also in {other})", rule.id));
            }
            check_rule(rule, &mut note);
        }
    }
    findings.sort();
    findings
}

fn check_rule(rule: &Rule, note: &mut dyn FnMut(Level, String)) {
    if !rule.tests.iter().any(|t| t.expect > 0) {
        note(Level::Warning, "no true-positive test (a test expecting an alert)".into());
    }
    if !rule.tests.iter().any(|t| t.expect == 0) {
        note(Level::Warning, "no true-negative test (a test expecting no alert)".into());
    }
    let mut fields = Vec::new();
    rule.condition.fields(&mut fields);
    fields.extend(rule.context_fields.iter().map(|c| c.path.clone()));
    fields.extend(rule.group_by.iter().cloned());
    let mut seen = Vec::new();
    for f in fields {
        if let FieldPath::Raw(path) = &f
            && let Some(head) = path.segments().first()
            && !CLOUDTRAIL_FIELDS.contains(&head.0.as_str())
            && !OTHER_SOURCE_FIELDS.contains(&head.0.as_str())
            && !seen.contains(&f)
        {
            note(
                Level::Warning,
                format!("field '{f}': no audit record of a supported source has a top-level '{}'", head.0),
            );
            seen.push(f.clone());
        }
    }
    if let Some(reason) = never_matches(&rule.condition) {
        note(Level::Error, format!("the condition can never match: {reason}"));
    }
}

/// Why a condition can never match, for the cases that can be told without data: an `all`
/// requiring one field to equal two different values, or a field that must both exist and not.
fn never_matches(c: &Condition) -> Option<String> {
    match c {
        Condition::All(children) => {
            let mut equals: BTreeMap<String, Vec<&Vec<Scalar>>> = BTreeMap::new();
            let mut exists: BTreeMap<String, Vec<bool>> = BTreeMap::new();
            for child in children {
                if let Some(reason) = never_matches(child) {
                    return Some(reason);
                }
                if let Condition::Field(p) = child {
                    match &p.op {
                        Op::In(values) if !p.case_insensitive => {
                            equals.entry(p.field.to_string()).or_default().push(values)
                        }
                        Op::Exists(e) => exists.entry(p.field.to_string()).or_default().push(*e),
                        _ => {}
                    }
                }
            }
            for (field, sets) in &equals {
                if let [first, rest @ ..] = sets.as_slice()
                    && first.iter().all(|v| rest.iter().any(|other| !other.contains(v)))
                    && !rest.is_empty()
                {
                    return Some(format!("'{field}' must equal values that no single value satisfies"));
                }
            }
            exists
                .iter()
                .find(|(_, v)| v.contains(&true) && v.contains(&false))
                .map(|(field, _)| format!("'{field}' must both exist and not exist"))
                .or_else(|| {
                    exists
                        .iter()
                        .find(|(field, v)| v.contains(&false) && equals.contains_key(*field))
                        .map(|(field, _)| format!("'{field}' must be absent and equal a value"))
                })
        }
        Condition::Any(children) => {
            let reasons: Vec<String> = children.iter().filter_map(never_matches).collect();
            (reasons.len() == children.len()).then(|| reasons.join("; "))
        }
        Condition::Not(_) | Condition::Field(_) => None,
    }
}

/// Writes findings as `file:line:col: level: [rule] message` lines and a closing count;
/// returns (errors, warnings).
pub fn print(findings: &[Finding], out: &mut dyn std::io::Write) -> std::io::Result<(usize, usize)> {
    for f in findings {
        let level = match f.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        let rule = f.rule.as_deref().map(|r| format!("[{r}] ")).unwrap_or_default();
        if f.line == 0 {
            writeln!(out, "{}: {level}: {rule}{}", f.file, f.message)?;
        } else {
            writeln!(out, "{}:{}:{}: {level}: {rule}{}", f.file, f.line, f.column, f.message)?;
        }
    }
    let errors = findings.iter().filter(|f| f.level == Level::Error).count();
    let warnings = findings.len() - errors;
    writeln!(out, "rules lint: {errors} error(s), {warnings} warning(s)")?;
    Ok((errors, warnings))
}
