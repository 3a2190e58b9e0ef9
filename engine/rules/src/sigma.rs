//! Sigma rules (YAML) compiled into the same conditions as nhiwatch rules, for the log sources
//! nhiwatch decodes (`product: aws`, `service: cloudtrail`).
//!
//! Supported: named selections (maps are AND, lists of maps OR, value lists OR or with `|all`
//! AND), `null` for an absent field, `*`/`?` wildcards, the modifiers `contains`, `startswith`,
//! `endswith`, `re`, `cidr`, `exists`, `all`, `cased` and `fieldref`, and condition
//! expressions with `and`, `or`, `not`, parentheses, `1 of`/`all of` with wildcards and
//! `them`. Matching is case-insensitive unless `|cased`, as Sigma specifies. ATT&CK ids come from
//! `attack.tNNNN` tags. Anything else (keyword searches, encoding modifiers, correlation rules,
//! other log sources) is reported as unsupported with the reason, never silently dropped.
//!
//! Sigma rules are under the Detection Rule License 1.1: every alert names the rule's author.

use crate::RuleKind;
use crate::attack::AttackTable;
use crate::condition::{Condition, Op, Predicate};
use crate::error::RuleError;
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
}

/// True when the YAML text looks like a Sigma rule (a top-level `detection` or `correlation`).
pub fn is_sigma(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("detection:") || l.starts_with("correlation:"))
}

fn unsupported(reason: impl Into<String>) -> SigmaError {
    SigmaError::Unsupported(reason.into())
}

/// Compiles one Sigma rule file.
pub fn compile_sigma(file: &str, text: &str, attack_table: &AttackTable) -> Result<Rule, SigmaError> {
    let spec: SigmaSpec = serde_saphyr::from_str(text).map_err(|e| SigmaError::Invalid(crate::error::from_yaml(&e)))?;
    if spec.correlation.is_some() || spec.kind.as_deref() == Some("correlation") {
        return Err(unsupported("Sigma correlation rules are not supported yet"));
    }
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
    let id = format!("sigma-{}", spec.id.clone().unwrap_or_else(|| file_stem(file)));
    let author = spec.author.clone().unwrap_or_else(|| "unknown author".into());
    let mut context_fields = Vec::new();
    condition.fields(&mut context_fields);
    let summary_text =
        format!("{} (Sigma rule by {}, DRL 1.1)", spec.title, author).replace('{', "{{").replace('}', "}}");
    let summary = Template::compile(&summary_text, serde_saphyr::Location::UNKNOWN).map_err(SigmaError::Invalid)?;
    let actions = condition.required_actions();
    Ok(Rule {
        id,
        title: spec.title.clone(),
        description: format!(
            "{} (Sigma rule by {author}; Detection Rule License 1.1)",
            spec.description.clone().unwrap_or_default().trim()
        ),
        severity: severity(spec.level.as_deref()),
        attack: attack_refs(&spec.tags, attack_table),
        kind: RuleKind::Match,
        group_by: Vec::new(),
        condition,
        summary,
        context_fields,
        dedup: Dedup { window: chrono::Duration::seconds(DEFAULT_DEDUP_WINDOW_SECS), by: Vec::new() },
        false_positives: spec.falsepositives.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        tests: Vec::new(),
        file: file.to_string(),
        actions,
        mode: Mode::Live,
    })
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
                pred(Op::Regex(re), false)
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
    Ok(Condition::Field(Predicate { field: field.clone(), op: Op::Regex(regex), case_insensitive: false }))
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
        let mut parts = vec![self.term()?];
        while self.peek() == Some("or") {
            self.pos += 1;
            parts.push(self.term()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Condition::Any(parts) })
    }

    fn term(&mut self) -> Result<Condition, SigmaError> {
        let mut parts = vec![self.factor()?];
        while self.peek() == Some("and") {
            self.pos += 1;
            parts.push(self.factor()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Condition::All(parts) })
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
    use nhiwatch_core::SourceOffset;

    fn rule(detection: &str) -> Result<Rule, SigmaError> {
        let text = format!(
            "title: T\nid: 1234\nauthor: Someone\ntags: [attack.persistence, attack.t1098.001]\nlogsource: {{product: aws, service: cloudtrail}}\nlevel: high\ndetection:\n{detection}"
        );
        let table =
            AttackTable::parse("a.yml", "techniques: []\n").map_err(|e| SigmaError::Unsupported(e.to_string()))?;
        compile_sigma("x.yml", &text, &table)
    }

    fn event(json: &str) -> nhiwatch_core::Event {
        let raw = nhiwatch_core::event::RawRecord::new(json);
        let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        nhiwatch_core::Event {
            time: chrono::DateTime::default(),
            source: nhiwatch_core::SourceKind::CloudTrail,
            account: String::new(),
            region: String::new(),
            service: s("eventSource"),
            action: s("eventName"),
            event_id: "e".into(),
            identity: nhiwatch_core::Identity::new(
                nhiwatch_core::IdentityKey("k".into()),
                nhiwatch_core::IdentityType::IAMUser,
                String::new(),
                String::new(),
            ),
            origin: nhiwatch_core::Origin::Unknown,
            user_agent: s("userAgent"),
            outcome: Default::default(),
            read_only: None,
            category: String::new(),
            vpc_endpoint_id: None,
            invoked_by: None,
            raw,
            offset: SourceOffset { file: std::sync::Arc::from("t"), line: None, record: 0 },
            geo: None,
        }
    }

    fn matches(r: &Rule, json: &str) -> bool {
        let e = event(json);
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
