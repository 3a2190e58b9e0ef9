//! Sigma rules (YAML) compiled into the same conditions as nhiwatch rules, for the log sources
//! nhiwatch decodes (`product: aws`, `service: cloudtrail`).
//!
//! Supported: named selections (maps are AND, lists of maps OR, value lists OR or with `|all`
//! AND), `null` for an absent field, `*`/`?` wildcards, the modifiers `contains`, `startswith`,
//! `endswith`, `re`, `cidr`, `exists`, `all`, `cased` and `fieldref`, and condition
//! expressions with `and`, `or`, `not`, parentheses, `1 of`/`all of` with wildcards and
//! `them`. Matching is case-insensitive unless `|cased`, as Sigma specifies. ATT&CK ids come from
//! `attack.tNNNN` tags. Correlation rules `event_count` and `value_count` become threshold
//! rules, `temporal_ordered` a sequence over the referenced rules and `temporal` the same
//! sequence in any order. Anything else (keyword searches, encoding modifiers, other log
//! sources) is reported as unsupported with the reason, never silently dropped.
//!
//! Sigma rules are under the Detection Rule License 1.1: every alert names the rule's author.

use crate::RuleKind;
use crate::attack::AttackTable;
use crate::condition::{Condition, Op, Predicate};
use crate::error::RuleError;
use crate::pattern::Pattern;
use crate::rule::{DEFAULT_DEDUP_WINDOW_SECS, Dedup, Rule};
use crate::spec::{Mode, Scalar};
use crate::template::Template;
use nhiwatch_core::alert::Severity;
use nhiwatch_core::{AttackRef, FieldPath};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Why a Sigma file did not become a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigmaError {
    /// Valid Sigma that nhiwatch cannot evaluate (yet), with the reason.
    Unsupported(String),
    /// Not valid Sigma.
    Invalid(RuleError),
}

#[derive(Debug, Deserialize)]
struct SigmaSpec {
    title: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    logsource: BTreeMap<String, Value>,
    #[serde(default)]
    detection: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    falsepositives: Vec<Value>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    correlation: Option<Value>,
    /// Name other rules (correlations) refer to this one by.
    #[serde(default)]
    name: Option<String>,
    /// `false`: the rule only feeds correlations and raises no alert of its own.
    #[serde(default)]
    generate: Option<bool>,
}

/// True when the YAML text looks like a Sigma rule (a top-level `detection` or `correlation`).
pub fn is_sigma(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("detection:") || l.starts_with("correlation:"))
}

fn unsupported(reason: impl Into<String>) -> SigmaError {
    SigmaError::Unsupported(reason.into())
}

/// Compiles one single-document Sigma rule file (not a correlation).
pub fn compile_sigma(file: &str, text: &str, attack_table: &AttackTable) -> Result<Rule, SigmaError> {
    let spec: SigmaSpec = serde_saphyr::from_str(text).map_err(|e| SigmaError::Invalid(crate::error::from_yaml(&e)))?;
    if spec.correlation.is_some() || spec.kind.as_deref() == Some("correlation") {
        return Err(unsupported("a correlation rule needs the rules it refers to (load it with them)"));
    }
    compile_base(file, &spec, attack_table)
}

/// What compiling a set of Sigma files gave.
#[derive(Debug, Default)]
pub struct SigmaOutput {
    /// Rules that raise alerts.
    pub rules: Vec<Rule>,
    /// (file, reason) of rules that cannot be supported.
    pub unsupported: Vec<(String, String)>,
    /// (file, error) of documents that are not valid Sigma.
    pub invalid: Vec<(String, RuleError)>,
}

/// Compiles Sigma files, each possibly several YAML documents (`---`): base rules first, then
/// correlation rules, which refer to base rules by `name` or `id` in any file.
pub fn compile_sigma_files(files: &[(&str, &str)], attack_table: &AttackTable) -> SigmaOutput {
    let mut out = SigmaOutput::default();
    let mut docs: Vec<(&str, SigmaSpec)> = Vec::new();
    for (file, text) in files {
        for doc in split_documents(text) {
            match serde_saphyr::from_str::<SigmaSpec>(&doc) {
                Ok(spec) => docs.push((file, spec)),
                Err(e) => out.invalid.push((file.to_string(), crate::error::from_yaml(&e))),
            }
        }
    }
    let is_correlation = |s: &SigmaSpec| s.correlation.is_some() || s.kind.as_deref() == Some("correlation");
    let mut named: BTreeMap<String, Condition> = BTreeMap::new();
    for (file, spec) in docs.iter().filter(|(_, s)| !is_correlation(s)) {
        match compile_base(file, spec, attack_table) {
            Ok(rule) => {
                for key in spec.name.iter().chain(spec.id.iter()) {
                    named.insert(key.clone(), rule.condition.clone());
                }
                if spec.generate != Some(false) {
                    out.rules.push(rule);
                }
            }
            Err(SigmaError::Unsupported(reason)) => out.unsupported.push((file.to_string(), reason)),
            Err(SigmaError::Invalid(e)) => out.invalid.push((file.to_string(), e)),
        }
    }
    for (file, spec) in docs.iter().filter(|(_, s)| is_correlation(s)) {
        match compile_correlation(file, spec, &named, attack_table) {
            Ok(rule) => out.rules.push(rule),
            Err(SigmaError::Unsupported(reason)) => out.unsupported.push((file.to_string(), reason)),
            Err(SigmaError::Invalid(e)) => out.invalid.push((file.to_string(), e)),
        }
    }
    out
}

/// Splits a YAML stream on `---` document markers.
fn split_documents(text: &str) -> Vec<String> {
    let mut docs = vec![String::new()];
    for line in text.lines() {
        if line.trim_end() == "---" {
            docs.push(String::new());
        } else if let Some(d) = docs.last_mut() {
            d.push_str(line);
            d.push('\n');
        }
    }
    docs.into_iter().filter(|d| d.lines().any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))).collect()
}

/// The fields shared by every rule made from a Sigma document.
fn sigma_rule(
    file: &str,
    spec: &SigmaSpec,
    kind: RuleKind,
    group_by: Vec<FieldPath>,
    condition: Condition,
    table: &AttackTable,
) -> Result<Rule, SigmaError> {
    let id = format!("sigma-{}", spec.id.clone().or_else(|| spec.name.clone()).unwrap_or_else(|| file_stem(file)));
    let author = spec.author.clone().unwrap_or_else(|| "unknown author".into());
    let mut context_fields = Vec::new();
    condition.fields(&mut context_fields);
    let summary_text =
        format!("{} (Sigma rule by {}, DRL 1.1)", spec.title, author).replace('{', "{{").replace('}', "}}");
    let summary = Template::compile(&summary_text, serde_saphyr::Location::UNKNOWN).map_err(SigmaError::Invalid)?;
    let actions = match kind {
        RuleKind::Match => condition.required_actions(),
        _ => None,
    };
    Ok(Rule {
        id,
        title: spec.title.clone(),
        description: format!(
            "{} (Sigma rule by {author}; Detection Rule License 1.1)",
            spec.description.clone().unwrap_or_default().trim()
        ),
        severity: severity(spec.level.as_deref()),
        attack: attack_refs(&spec.tags, table).into(),
        kind,
        group_by,
        condition,
        summary,
        context_fields: crate::rule::ContextField::all(context_fields),
        dedup: Dedup { window: chrono::Duration::seconds(DEFAULT_DEDUP_WINDOW_SECS), by: Vec::new() },
        false_positives: spec.falsepositives.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        tests: Vec::new(),
        file: file.to_string(),
        actions,
        mode: Mode::Live,
    })
}

/// `event_count`, `value_count`, `temporal` and `temporal_ordered` correlations, as threshold
/// and sequence (unordered or ordered) rules over the referenced rules' conditions.
fn compile_correlation(
    file: &str,
    spec: &SigmaSpec,
    named: &BTreeMap<String, Condition>,
    table: &AttackTable,
) -> Result<Rule, SigmaError> {
    let c = spec.correlation.as_ref().ok_or_else(|| unsupported("correlation section missing"))?;
    let kind = c.get("type").and_then(Value::as_str).unwrap_or_default();
    let names: Vec<&str> = match c.get("rules") {
        Some(Value::Array(v)) => v.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => vec![s.as_str()],
        _ => return Err(unsupported("correlation lists no rules")),
    };
    let conditions = names
        .iter()
        .map(|n| named.get(*n).cloned().ok_or_else(|| unsupported(format!("correlation refers to unknown rule '{n}'"))))
        .collect::<Result<Vec<_>, _>>()?;
    let group_by = match c.get("group-by") {
        Some(Value::Array(v)) => v
            .iter()
            .filter_map(Value::as_str)
            .map(|f| FieldPath::parse(f).map_err(|e| unsupported(format!("group-by '{f}': {e}"))))
            .collect::<Result<Vec<_>, _>>()?,
        _ => Vec::new(),
    };
    let timespan =
        c.get("timespan").and_then(Value::as_str).ok_or_else(|| unsupported("correlation has no timespan"))?;
    let window = nhiwatch_core::parse_duration(timespan).map_err(|e| unsupported(format!("timespan: {e}")))?;
    let any = if conditions.len() == 1 { conditions[0].clone() } else { Condition::Any(conditions.clone()) };
    let count = |cond: Option<&Value>| -> Result<u64, SigmaError> {
        let cond = cond.ok_or_else(|| unsupported("correlation has no condition"))?;
        if let Some(n) = cond.get("gte").and_then(Value::as_u64) {
            return Ok(n.max(1));
        }
        if let Some(n) = cond.get("gt").and_then(Value::as_u64) {
            return Ok(n + 1);
        }
        Err(unsupported("only 'gte' and 'gt' correlation conditions are supported"))
    };
    match kind {
        "event_count" => {
            let t = crate::kind::Threshold { window, count: count(c.get("condition"))?, distinct: None, after: None };
            sigma_rule(file, spec, RuleKind::Threshold(t), group_by, any, table)
        }
        "value_count" => {
            let cond = c.get("condition");
            let field = cond
                .and_then(|v| v.get("field"))
                .and_then(Value::as_str)
                .ok_or_else(|| unsupported("value_count needs condition.field"))?;
            let distinct = FieldPath::parse(field).map_err(|e| unsupported(format!("field '{field}': {e}")))?;
            let t = crate::kind::Threshold { window, count: count(cond)?, distinct: Some(distinct), after: None };
            sigma_rule(file, spec, RuleKind::Threshold(t), group_by, any, table)
        }
        "temporal_ordered" | "temporal" => {
            if conditions.len() < 2 {
                return Err(unsupported(format!("{kind} needs at least two rules")));
            }
            let steps = names
                .iter()
                .zip(conditions)
                .map(|(n, condition)| crate::kind::Step {
                    name: (*n).to_string(),
                    condition,
                    capture: Vec::new(),
                    require: Vec::new(),
                })
                .collect();
            let seq = crate::kind::Sequence { steps, within: window, ordered: kind == "temporal_ordered" };
            sigma_rule(file, spec, RuleKind::Sequence(seq), group_by, any, table)
        }
        other => Err(unsupported(format!("correlation type '{other}' is not supported yet"))),
    }
}

fn compile_base(file: &str, spec: &SigmaSpec, attack_table: &AttackTable) -> Result<Rule, SigmaError> {
    let text_of = |k: &str| spec.logsource.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let (product, service) = (text_of("product"), text_of("service"));
    if product != "aws" || !(service.is_empty() || service == "cloudtrail") {
        return Err(unsupported(format!("log source product '{product}' service '{service}' has no decoder yet")));
    }
    let detection = spec.detection.as_ref().ok_or_else(|| unsupported("no detection section"))?;
    let condition_text = match detection.get("condition") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(list)) => {
            let parts: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
            format!("({})", parts.join(") or ("))
        }
        _ => return Err(unsupported("detection has no condition")),
    };
    let mut selections = BTreeMap::new();
    for (name, body) in detection {
        if name != "condition" && name != "timeframe" {
            selections.insert(name.clone(), selection(body)?);
        }
    }
    let condition = ConditionParser::new(&condition_text, &selections).parse()?;
    sigma_rule(file, spec, RuleKind::Match, Vec::new(), condition, attack_table)
}

fn file_stem(file: &str) -> String {
    let name = file.rsplit('/').next().unwrap_or(file);
    name.split('.').next().unwrap_or(name).to_string()
}

fn severity(level: Option<&str>) -> Severity {
    match level.unwrap_or("medium") {
        "informational" => Severity::Info,
        "low" => Severity::Low,
        "high" => Severity::High,
        "critical" => Severity::Critical,
        _ => Severity::Medium,
    }
}

/// `attack.t1098.001` tags, resolved against the table; ids the table lacks keep the tactics
/// named by the rule's tactic tags.
fn attack_refs(tags: &[String], table: &AttackTable) -> Vec<AttackRef> {
    let tactics: Vec<String> = tags
        .iter()
        .filter_map(|t| t.strip_prefix("attack."))
        .filter(|t| !t.starts_with('t') || !t[1..].starts_with(|c: char| c.is_ascii_digit()))
        .filter(|t| !t.starts_with('g') && !t.starts_with('s'))
        .map(|t| {
            t.split('-')
                .map(|w| {
                    let mut c = w.chars();
                    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    tags.iter()
        .filter_map(|t| t.strip_prefix("attack.t"))
        .filter(|t| t.starts_with(|c: char| c.is_ascii_digit()))
        .map(|t| {
            let id = format!("T{}", t.to_ascii_uppercase());
            table.get(&id).cloned().unwrap_or_else(|| AttackRef {
                technique: id.clone(),
                technique_id: id,
                tactics: tactics.clone(),
            })
        })
        .collect()
}

/// A selection: a map (AND of its fields) or a list of maps (OR).
fn selection(body: &Value) -> Result<Condition, SigmaError> {
    match body {
        Value::Object(map) => {
            let mut parts = Vec::new();
            for (key, value) in map {
                parts.push(field_condition(key, value)?);
            }
            if parts.is_empty() {
                return Err(unsupported("empty selection"));
            }
            Ok(Condition::All(parts))
        }
        Value::Array(items) if items.iter().all(Value::is_object) && !items.is_empty() => {
            Ok(Condition::Any(items.iter().map(selection).collect::<Result<_, _>>()?))
        }
        _ => Err(unsupported("keyword searches (selections without field names) are not supported")),
    }
}

/// `field|mod|mod: value or [values]`.
fn field_condition(key: &str, value: &Value) -> Result<Condition, SigmaError> {
    let mut parts = key.split('|');
    let field_name = parts.next().unwrap_or_default();
    let field = FieldPath::parse(field_name).map_err(|e| unsupported(format!("field '{field_name}': {e}")))?;
    let (mut op_name, mut all, mut cased) = (None, false, false);
    for m in parts {
        match m {
            "contains" | "startswith" | "endswith" | "re" | "cidr" | "exists" | "fieldref" => op_name = Some(m),
            "all" => all = true,
            "cased" => cased = true,
            other => return Err(unsupported(format!("modifier '{other}' is not supported"))),
        }
    }
    let values: Vec<&Value> = match value {
        Value::Array(v) => v.iter().collect(),
        v => vec![v],
    };
    let ci = !cased;
    let pred = |op: Op, ci: bool| Condition::Field(Predicate { field: field.clone(), op, case_insensitive: ci });
    let text = |v: &Value| -> Result<String, SigmaError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            _ => Err(unsupported(format!("value {v} of '{field_name}' is not a scalar"))),
        }
    };
    let lower = |s: String| if ci { s.to_ascii_lowercase() } else { s };
    let mut conditions = Vec::new();
    for v in &values {
        let c = match (op_name, v) {
            (Some("exists"), Value::Bool(b)) => pred(Op::Exists(*b), false),
            (Some("exists"), _) => return Err(unsupported("'exists' needs true or false")),
            (None, Value::Null) => pred(Op::Exists(false), false),
            (Some("fieldref"), v) => {
                let other = text(v)?;
                let path = FieldPath::parse(&other).map_err(|e| unsupported(format!("fieldref '{other}': {e}")))?;
                pred(Op::EqualsField(path), ci)
            }
            (Some("contains"), v) => pred(Op::Contains(vec![lower(text(v)?)]), ci),
            (Some("startswith"), v) => pred(Op::Prefix(vec![lower(text(v)?)]), ci),
            (Some("endswith"), v) => pred(Op::Suffix(vec![lower(text(v)?)]), ci),
            (Some("re"), v) => {
                let re = regex::RegexBuilder::new(&text(v)?)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| unsupported(format!("regex of '{field_name}': {e}")))?;
                pred(Op::Regex(Pattern::new(re)), false)
            }
            (Some("cidr"), v) => {
                let net = text(v)?.parse().map_err(|e| unsupported(format!("CIDR of '{field_name}': {e}")))?;
                pred(Op::Cidr(vec![net]), false)
            }
            (_, Value::String(s)) if s.contains('*') || s.contains('?') => wildcard(&field, s, ci)?,
            (_, Value::Bool(b)) => pred(Op::In(vec![Scalar::Bool(*b)]), false),
            (_, Value::Number(n)) => pred(Op::In(vec![Scalar::Str(n.to_string())]), false),
            (_, v) => pred(Op::In(vec![Scalar::Str(lower(text(v)?))]), ci),
        };
        conditions.push(c);
    }
    Ok(match (conditions.len(), all) {
        (1, _) => conditions.remove(0),
        (_, true) => Condition::All(conditions),
        _ => Condition::Any(conditions),
    })
}

/// A value with `*` / `?` wildcards (and `\\` escapes), as an anchored regex.
fn wildcard(field: &FieldPath, s: &str, ci: bool) -> Result<Condition, SigmaError> {
    let mut re = String::from("^");
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some('*' | '?' | '\\')) => {
                re.push_str(&regex::escape(&chars.next().map(String::from).unwrap_or_default()));
            }
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    let regex = regex::RegexBuilder::new(&re)
        .case_insensitive(ci)
        .dot_matches_new_line(true)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| unsupported(format!("wildcard '{s}': {e}")))?;
    Ok(Condition::Field(Predicate {
        field: field.clone(),
        op: Op::Regex(Pattern::opaque(regex)),
        case_insensitive: false,
    }))
}

/// Parses a Sigma condition expression over named selections.
struct ConditionParser<'a> {
    tokens: Vec<String>,
    pos: usize,
    selections: &'a BTreeMap<String, Condition>,
}

impl<'a> ConditionParser<'a> {
    fn new(text: &str, selections: &'a BTreeMap<String, Condition>) -> Self {
        let spaced = text.replace('(', " ( ").replace(')', " ) ");
        Self { tokens: spaced.split_whitespace().map(str::to_string).collect(), pos: 0, selections }
    }

    fn parse(mut self) -> Result<Condition, SigmaError> {
        let c = self.expr()?;
        if self.pos != self.tokens.len() {
            return Err(unsupported(format!("unexpected '{}' in the condition", self.tokens[self.pos])));
        }
        Ok(c)
    }

    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.pos).map(String::as_str)
    }

    fn next(&mut self) -> Option<String> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expr(&mut self) -> Result<Condition, SigmaError> {
        self.joined("or", Self::term, Condition::Any)
    }

    fn term(&mut self) -> Result<Condition, SigmaError> {
        self.joined("and", Self::factor, Condition::All)
    }

    /// `item (word item)*`, combined when there is more than one.
    fn joined(
        &mut self,
        word: &str,
        item: fn(&mut Self) -> Result<Condition, SigmaError>,
        combine: fn(Vec<Condition>) -> Condition,
    ) -> Result<Condition, SigmaError> {
        let mut parts = vec![item(self)?];
        while self.peek() == Some(word) {
            self.pos += 1;
            parts.push(item(self)?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { combine(parts) })
    }

    fn factor(&mut self) -> Result<Condition, SigmaError> {
        let token = self.next().ok_or_else(|| unsupported("the condition ends early"))?;
        match token.as_str() {
            "not" => Ok(Condition::Not(Box::new(self.factor()?))),
            "(" => {
                let c = self.expr()?;
                if self.next().as_deref() != Some(")") {
                    return Err(unsupported("unbalanced parentheses in the condition"));
                }
                Ok(c)
            }
            "1" | "all" | "any" if self.peek() == Some("of") => {
                self.pos += 1;
                let pattern = self.next().ok_or_else(|| unsupported("'of' needs a selection pattern"))?;
                let matching: Vec<Condition> = self
                    .selections
                    .iter()
                    .filter(|(name, _)| pattern == "them" || glob_match(&pattern, name))
                    .map(|(_, c)| c.clone())
                    .collect();
                if matching.is_empty() {
                    return Err(unsupported(format!("no selection matches '{pattern}'")));
                }
                Ok(if token == "all" { Condition::All(matching) } else { Condition::Any(matching) })
            }
            name => self
                .selections
                .get(name)
                .cloned()
                .ok_or_else(|| unsupported(format!("the condition names an unknown selection '{name}'"))),
        }
    }
}

/// `selection_*` style patterns (only `*`).
fn glob_match(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            name.starts_with(head) && name[head.len()..].ends_with(tail) && name.len() >= head.len() + tail.len()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condition::Subject;
    use crate::org::Org;

    fn rule(detection: &str) -> Result<Rule, SigmaError> {
        let text = format!(
            "title: T\nid: 1234\nauthor: Someone\ntags: [attack.persistence, attack.t1098.001]\nlogsource: {{product: aws, service: cloudtrail}}\nlevel: high\ndetection:\n{detection}"
        );
        let table =
            AttackTable::parse("a.yml", "techniques: []\n").map_err(|e| SigmaError::Unsupported(e.to_string()))?;
        compile_sigma("x.yml", &text, &table)
    }

    fn matches(r: &Rule, json: &str) -> bool {
        let e = crate::test_support::event(json);
        r.condition.matches(&Subject { event: &e, org: &Org::default() })
    }

    #[test]
    fn selections_modifiers_and_conditions() {
        let r = rule("  sel:\n    eventSource: iam.amazonaws.com\n    eventName: [CreateUser, 'Delete*']\n  filter:\n    userAgent|contains: terraform\n  condition: sel and not filter\n")
            .expect("compiles");
        assert!(matches(&r, r#"{"eventSource":"IAM.amazonaws.com","eventName":"createuser","userAgent":"aws-cli"}"#));
        assert!(matches(&r, r#"{"eventSource":"iam.amazonaws.com","eventName":"DeleteRole","userAgent":"aws-cli"}"#));
        assert!(!matches(
            &r,
            r#"{"eventSource":"iam.amazonaws.com","eventName":"CreateUser","userAgent":"Terraform/1.7"}"#
        ));
        assert_eq!(r.attack[0].technique_id, "T1098.001");
        assert_eq!(r.attack[0].tactics, ["Persistence"]);
        assert_eq!(r.severity, Severity::High);
        assert!(r.summary.render_is_attributed());
        let r = rule("  a_1:\n    eventName: A\n  a_2:\n    eventName: B\n  condition: 1 of a_*\n").expect("compiles");
        assert!(matches(&r, r#"{"eventName":"B"}"#));
        let r = rule("  a_1:\n    eventName|cased: A\n  condition: all of them\n").expect("compiles");
        assert!(!matches(&r, r#"{"eventName":"a"}"#));
    }

    #[test]
    fn unsupported_features_are_reported_with_reasons() {
        let reason = |d: &str| match rule(d) {
            Err(SigmaError::Unsupported(r)) => r,
            other => panic!("{other:?}"),
        };
        assert!(reason("  sel:\n    eventName|base64: x\n  condition: sel\n").contains("base64"));
        assert!(reason("  keywords: [evil]\n  condition: keywords\n").contains("keyword"));
        assert!(reason("  sel:\n    eventName: x\n  condition: sel and missing\n").contains("missing"));
    }
}

#[cfg(test)]
mod correlation_tests {
    use super::*;

    const BASE: &str = "title: Failed call
name: failed_call
id: base-1
author: Someone
logsource: {product: aws, service: cloudtrail}
generate: false
detection:
  sel:
    errorCode: AccessDenied
  condition: sel
";

    fn compile(extra: &str) -> SigmaOutput {
        let table = AttackTable::parse("a.yml", "techniques: []\n").unwrap_or_default();
        compile_sigma_files(&[("base.yml", BASE), ("corr.yml", extra)], &table)
    }

    #[test]
    fn event_and_value_counts_become_thresholds() {
        let out = compile(
            "title: Many denials\nid: corr-1\ncorrelation:\n  type: event_count\n  rules: [failed_call]\n  group-by: [userIdentity.arn]\n  timespan: 10m\n  condition: {gte: 5}\n",
        );
        assert!(out.unsupported.is_empty() && out.invalid.is_empty(), "{out:?}");
        assert_eq!(out.rules.len(), 1, "the base rule does not generate alerts of its own");
        let RuleKind::Threshold(t) = &out.rules[0].kind else { panic!("threshold expected") };
        assert_eq!((t.count, t.window.num_minutes()), (5, 10));
        assert_eq!(out.rules[0].group_by[0].to_string(), "userIdentity.arn");
        let out = compile(
            "title: Many actions denied\nid: corr-2\n---\ntitle: x\nid: corr-3\ncorrelation:\n  type: value_count\n  rules: [base-1]\n  timespan: 1h\n  condition: {gt: 3, field: eventName}\n",
        );
        let rule = out.rules.iter().find(|r| r.id == "sigma-corr-3").expect("value_count rule");
        let RuleKind::Threshold(t) = &rule.kind else { panic!("threshold expected") };
        assert_eq!(t.count, 4);
        assert!(t.distinct.is_some());
    }

    #[test]
    fn ordered_temporal_becomes_a_sequence_and_the_rest_is_reported() {
        let out = compile(
            "title: Then\nname: then_call\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel: {eventName: CreateUser}\n  condition: sel\n---\ntitle: Denied then created\nid: corr-4\ncorrelation:\n  type: temporal_ordered\n  rules: [failed_call, then_call]\n  group-by: [userIdentity.arn]\n  timespan: 5m\n",
        );
        let rule = out.rules.iter().find(|r| r.id == "sigma-corr-4").expect("sequence rule");
        assert!(matches!(rule.kind, RuleKind::Sequence(_)));
        let out = compile(
            "title: Unordered\nid: corr-5\ncorrelation:\n  type: temporal\n  rules: [failed_call]\n  timespan: 5m\n",
        );
        assert!(out.unsupported.iter().any(|(_, r)| r.contains("temporal")), "{out:?}");
        let out = compile(
            "title: Dangling\nid: corr-6\ncorrelation:\n  type: event_count\n  rules: [nothing]\n  timespan: 5m\n  condition: {gte: 2}\n",
        );
        assert!(out.unsupported.iter().any(|(_, r)| r.contains("unknown rule 'nothing'")), "{out:?}");
    }
}
