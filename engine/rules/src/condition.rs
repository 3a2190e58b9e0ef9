//! Compiled conditions: field predicates combined with all / any / not.
//!
//! Compilation happens once at load: paths are parsed, regexes and CIDRs built, text lowered
//! for case-insensitive comparison. Evaluation allocates nothing for normalized fields.

use crate::error::{RuleError, at};
use crate::org::Org;
use crate::pattern::Pattern;
use crate::spec::{ConditionSpec, Scalar};
use ipnet::IpNet;
use nhiwatch_core::field::{FieldPath, FieldValue};
use nhiwatch_core::identity::{GcpPrincipal, gcp_principal, is_guid};
use nhiwatch_core::ip::parse_ip_lenient;
use nhiwatch_core::{Event, SourceKind};
use serde_saphyr::Spanned;

/// What a condition is evaluated against: the event and the organisation it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The event.
    pub event: &'a Event,
    /// The organisation (for `external`).
    pub org: &'a Org,
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub enum Condition {
    /// Every child matches.
    All(Vec<Condition>),
    /// Some child matches.
    Any(Vec<Condition>),
    /// The child does not match.
    Not(Box<Condition>),
    /// A field predicate.
    Field(Predicate),
}

/// One field predicate.
#[derive(Debug, Clone)]
pub struct Predicate {
    /// Path of the field.
    pub field: FieldPath,
    /// Operator.
    pub op: Op,
    /// Compare text ignoring ASCII case.
    pub case_insensitive: bool,
}

/// A compiled operator.
#[derive(Debug, Clone)]
pub enum Op {
    /// `equals` / `in`.
    In(Vec<Scalar>),
    /// `prefix`.
    Prefix(Vec<String>),
    /// `suffix`.
    Suffix(Vec<String>),
    /// `contains`.
    Contains(Vec<String>),
    /// `regex`.
    Regex(Pattern),
    /// `cidr`.
    Cidr(Vec<IpNet>),
    /// `exists`.
    Exists(bool),
    /// `gt`, `gte`, `lt`, `lte`.
    Compare(Comparison, f64),
    /// `external` (true: outside the org; false: inside).
    External(bool),
    /// `org_network`: the address is (true) or is not (false) in the organisation's networks.
    OrgNetwork(bool),
    /// `equals_field`: some value equals some value of the other field.
    EqualsField(FieldPath),
}

/// Numeric comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `<`
    Lt,
    /// `<=`
    Lte,
}

const MAX_REGEX_BYTES: usize = 1 << 20;

impl Condition {
    /// Compiles a condition node.
    pub(crate) fn compile(spec: &Spanned<ConditionSpec>) -> Result<Self, RuleError> {
        let loc = spec.referenced;
        let s = &spec.value;
        let mut parts: Vec<Condition> = Vec::new();
        let mut kinds = 0;
        if let Some(children) = &s.all {
            kinds += 1;
            if children.is_empty() {
                return Err(at(loc, "'all' needs at least one condition"));
            }
            parts.push(Self::All(children.iter().map(Self::compile).collect::<Result<_, _>>()?));
        }
        if let Some(children) = &s.any {
            kinds += 1;
            if children.is_empty() {
                return Err(at(loc, "'any' needs at least one condition"));
            }
            parts.push(Self::Any(children.iter().map(Self::compile).collect::<Result<_, _>>()?));
        }
        if let Some(child) = &s.not {
            kinds += 1;
            parts.push(Self::Not(Box::new(Self::compile(child)?)));
        }
        if let Some(field) = &s.field {
            kinds += 1;
            parts.push(Self::Field(Predicate::compile(field, s)?));
        } else if has_operator(s) {
            return Err(at(loc, "an operator needs a 'field'"));
        }
        match (kinds, parts.pop()) {
            (1, Some(only)) => Ok(only),
            (0, _) => Err(at(loc, "empty condition: use all, any, not, or field with an operator")),
            _ => Err(at(loc, "a condition node holds exactly one of all, any, not, field")),
        }
    }

    /// Evaluates the condition.
    pub fn matches(&self, subject: &Subject<'_>) -> bool {
        match self {
            Self::All(children) => children.iter().all(|c| c.matches(subject)),
            Self::Any(children) => children.iter().any(|c| c.matches(subject)),
            Self::Not(child) => !child.matches(subject),
            Self::Field(p) => p.matches(subject),
        }
    }

    /// Every field path the condition reads, in order of appearance (for alert context).
    pub fn fields(&self, out: &mut Vec<FieldPath>) {
        match self {
            Self::All(c) | Self::Any(c) => c.iter().for_each(|c| c.fields(out)),
            Self::Not(c) => c.fields(out),
            Self::Field(p) => {
                if !out.contains(&p.field) {
                    out.push(p.field.clone());
                }
            }
        }
    }

    /// The actions this condition can match, if it requires `action` to be one of a fixed set
    /// (used to index rules by action; compared without case there, as Sigma compares them).
    /// `None` means any action may match.
    pub fn required_actions(&self) -> Option<Vec<String>> {
        self.required_values(nhiwatch_core::field::Builtin::Action)
    }

    /// The log sources (`source`) this condition can match, if it requires one of a fixed set
    /// (used to skip rules written for another source); `None` means any source may match.
    pub fn required_sources(&self) -> Option<Vec<String>> {
        self.required_values(nhiwatch_core::field::Builtin::Source)
    }

    /// The values `field` must take for the condition to match, if it requires one of a fixed
    /// set: a top-level `equals`/`in` on the field, or one in every branch of an `any`.
    fn required_values(&self, field: nhiwatch_core::field::Builtin) -> Option<Vec<String>> {
        match self {
            Self::Field(Predicate { field: FieldPath::Builtin(b), op: Op::In(values), .. }) if *b == field => values
                .iter()
                .map(|v| match v {
                    Scalar::Str(s) => Some(s.clone()),
                    _ => None,
                })
                .collect(),
            Self::All(children) => children.iter().find_map(|c| c.required_values(field)),
            Self::Any(children) => {
                let mut all = Vec::new();
                for c in children {
                    all.extend(c.required_values(field)?);
                }
                Some(all)
            }
            _ => None,
        }
    }
}

fn has_operator(s: &ConditionSpec) -> bool {
    s.equals.is_some()
        || s.in_.is_some()
        || s.prefix.is_some()
        || s.suffix.is_some()
        || s.contains.is_some()
        || s.regex.is_some()
        || s.cidr.is_some()
        || s.exists.is_some()
        || s.gt.is_some()
        || s.gte.is_some()
        || s.lt.is_some()
        || s.lte.is_some()
        || s.external.is_some()
        || s.org_network.is_some()
        || s.equals_field.is_some()
}

impl Predicate {
    fn compile(field: &Spanned<String>, s: &ConditionSpec) -> Result<Self, RuleError> {
        let loc = field.referenced;
        let path = FieldPath::parse(&field.value).map_err(|e| at(loc, e))?;
        let ci = s.case_insensitive.unwrap_or(false);
        let lower = |v: Vec<String>| -> Vec<String> {
            if ci { v.into_iter().map(|x| x.to_ascii_lowercase()).collect() } else { v }
        };
        let mut ops = Vec::new();
        if let Some(v) = &s.equals {
            ops.push(Op::In(vec![v.clone()]));
        }
        if let Some(v) = &s.in_ {
            if v.is_empty() {
                return Err(at(loc, "'in' needs at least one value"));
            }
            ops.push(Op::In(v.clone()));
        }
        if let Some(v) = &s.prefix {
            ops.push(Op::Prefix(lower(v.clone().into_vec())));
        }
        if let Some(v) = &s.suffix {
            ops.push(Op::Suffix(lower(v.clone().into_vec())));
        }
        if let Some(v) = &s.contains {
            ops.push(Op::Contains(lower(v.clone().into_vec())));
        }
        if let Some(r) = &s.regex {
            let re =
                regex::RegexBuilder::new(r).case_insensitive(ci).size_limit(MAX_REGEX_BYTES).build().map_err(|e| {
                    let text = e.to_string();
                    let last = text.lines().last().unwrap_or_default().trim();
                    let reason = last.strip_prefix("error: ").unwrap_or(last).to_string();
                    at(loc, format!("invalid regex '{r}': {reason}"))
                })?;
            ops.push(Op::Regex(if ci { Pattern::opaque(re) } else { Pattern::new(re) }));
        }
        if let Some(c) = &s.cidr {
            let nets = c
                .clone()
                .into_vec()
                .iter()
                .map(|n| n.parse::<IpNet>().map_err(|e| at(loc, format!("invalid CIDR '{n}': {e}"))))
                .collect::<Result<Vec<_>, _>>()?;
            ops.push(Op::Cidr(nets));
        }
        if let Some(e) = s.exists {
            ops.push(Op::Exists(e));
        }
        for (v, cmp) in
            [(s.gt, Comparison::Gt), (s.gte, Comparison::Gte), (s.lt, Comparison::Lt), (s.lte, Comparison::Lte)]
        {
            if let Some(v) = v {
                ops.push(Op::Compare(cmp, v));
            }
        }
        if let Some(e) = s.external {
            ops.push(Op::External(e));
        }
        if let Some(inside) = s.org_network {
            ops.push(Op::OrgNetwork(inside));
        }
        if let Some(other) = &s.equals_field {
            let p = FieldPath::parse(&other.value).map_err(|e| at(other.referenced, e))?;
            ops.push(Op::EqualsField(p));
        }
        if ops.len() != 1 {
            return Err(at(loc, format!("field '{}' needs exactly one operator, found {}", field.value, ops.len())));
        }
        let op = ops.remove(0);
        let op = match op {
            Op::In(values) if ci => Op::In(
                values
                    .into_iter()
                    .map(|v| match v {
                        Scalar::Str(s) => Scalar::Str(s.to_ascii_lowercase()),
                        other => other,
                    })
                    .collect(),
            ),
            other => other,
        };
        Ok(Self { field: path, op, case_insensitive: ci })
    }

    /// Evaluates the predicate: true if any value at the path satisfies the operator
    /// (`exists: false` and `external: false` hold only if no value contradicts them).
    pub fn matches(&self, subject: &Subject<'_>) -> bool {
        let event = subject.event;
        // The source address is already parsed: read it instead of its text.
        if self.field == FieldPath::Builtin(nhiwatch_core::field::Builtin::SourceIp) {
            match &self.op {
                Op::Cidr(nets) => return event.origin.ip().is_some_and(|ip| nets.iter().any(|n| n.contains(&ip))),
                Op::OrgNetwork(inside) => {
                    return event.origin.ip().is_some_and(|ip| subject.org.owns_address(ip) == *inside);
                }
                _ => {}
            }
        }
        // A field the event holds as is (identity, action, service...) is read without a visitor.
        if let FieldPath::Builtin(b) = &self.field
            && !matches!(self.op, Op::External(_) | Op::OrgNetwork(_) | Op::EqualsField(_))
            && let Some(value) = event.builtin_value(*b)
        {
            return match &self.op {
                Op::Exists(want) => value.is_some_and(|v| !matches!(v, FieldValue::Null)) == *want,
                op => value.is_some_and(|v| self.value_matches(op, v)),
            };
        }
        match &self.op {
            Op::Exists(want) => {
                let found = event.visit_field(&self.field, &mut |v| !matches!(v, FieldValue::Null));
                found == *want
            }
            Op::External(true) => event.visit_field(&self.field, &mut |v| is_external(v, subject)),
            Op::External(false) => {
                let mut any = false;
                let outside = event.visit_field(&self.field, &mut |v| {
                    any = true;
                    is_external(v, subject)
                });
                any && !outside
            }
            Op::OrgNetwork(inside) => event.visit_field(&self.field, &mut |v| match v {
                FieldValue::Str(s) => parse_ip_lenient(s).is_some_and(|p| subject.org.owns_address(p.ip) == *inside),
                _ => false,
            }),
            Op::EqualsField(other) => {
                let ci = self.case_insensitive;
                let norm = |v: FieldValue<'_>| {
                    if ci { v.to_text().to_ascii_lowercase() } else { v.to_text() }
                };
                let mut wanted: Vec<String> = Vec::new();
                event.visit_field(other, &mut |v| {
                    wanted.push(norm(v));
                    false
                });
                !wanted.is_empty() && event.visit_field(&self.field, &mut |v| wanted.contains(&norm(v)))
            }
            op => event.visit_field(&self.field, &mut |v| self.value_matches(op, v)),
        }
    }

    fn value_matches(&self, op: &Op, value: FieldValue<'_>) -> bool {
        let ci = self.case_insensitive;
        let with_text = |f: &dyn Fn(&str) -> bool| -> bool {
            match value {
                FieldValue::Str(s) => f(s),
                FieldValue::Null => false,
                other => f(&other.to_text()),
            }
        };
        // Patterns were lowered at compile time when `ci`; the value is compared without
        // lowering (and so without allocating) a copy of it.
        match op {
            Op::In(values) => values.iter().any(|want| scalar_eq(want, value, ci)),
            Op::Prefix(p) => with_text(&|s| p.iter().any(|x| starts_with(s, x, ci))),
            Op::Suffix(p) => with_text(&|s| p.iter().any(|x| ends_with(s, x, ci))),
            Op::Contains(p) => with_text(&|s| p.iter().any(|x| contains(s, x, ci))),
            Op::Regex(re) => match value {
                FieldValue::Str(s) => re.is_match(s),
                FieldValue::Null => false,
                other => re.is_match(&other.to_text()),
            },
            Op::Cidr(nets) => match value {
                FieldValue::Str(s) => parse_ip_lenient(s).is_some_and(|p| nets.iter().any(|n| n.contains(&p.ip))),
                _ => false,
            },
            Op::Compare(cmp, bound) => as_number(value).is_some_and(|n| match cmp {
                Comparison::Gt => n > *bound,
                Comparison::Gte => n >= *bound,
                Comparison::Lt => n < *bound,
                Comparison::Lte => n <= *bound,
            }),
            Op::Exists(_) | Op::External(_) | Op::EqualsField(_) | Op::OrgNetwork(_) => false,
        }
    }
}

/// `s` starts with `p` (`p` already lowered when `ci`).
fn starts_with(s: &str, p: &str, ci: bool) -> bool {
    if ci { s.len() >= p.len() && s.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes()) } else { s.starts_with(p) }
}

/// `s` ends with `p` (`p` already lowered when `ci`).
fn ends_with(s: &str, p: &str, ci: bool) -> bool {
    if ci {
        s.len() >= p.len() && s.as_bytes()[s.len() - p.len()..].eq_ignore_ascii_case(p.as_bytes())
    } else {
        s.ends_with(p)
    }
}

/// `s` contains `p` (`p` already lowered when `ci`).
fn contains(s: &str, p: &str, ci: bool) -> bool {
    if !ci {
        return s.contains(p);
    }
    if p.is_empty() {
        return true;
    }
    let (s, p) = (s.as_bytes(), p.as_bytes());
    let first = p[0];
    s.len() >= p.len()
        && (0..=s.len() - p.len())
            .any(|i| s[i].eq_ignore_ascii_case(&first) && s[i..i + p.len()].eq_ignore_ascii_case(p))
}

fn as_number(value: FieldValue<'_>) -> Option<f64> {
    match value {
        FieldValue::Num(n) => Some(n),
        FieldValue::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn scalar_eq(want: &Scalar, value: FieldValue<'_>, ci: bool) -> bool {
    match (want, value) {
        (Scalar::Str(w), FieldValue::Str(s)) => {
            if ci {
                s.eq_ignore_ascii_case(w)
            } else {
                s == w
            }
        }
        (Scalar::Bool(w), FieldValue::Bool(b)) => *w == b,
        (Scalar::Bool(w), FieldValue::Str(s)) => s.eq_ignore_ascii_case(if *w { "true" } else { "false" }),
        (Scalar::Num(w), FieldValue::Num(n)) => *w == n,
        (Scalar::Num(w), FieldValue::Str(s)) => s.trim().parse::<f64>().is_ok_and(|n| n == *w),
        (Scalar::Str(w), FieldValue::Num(n)) => w.trim().parse::<f64>().is_ok_and(|x| x == n),
        (Scalar::Str(w), FieldValue::Bool(b)) => w.eq_ignore_ascii_case(if b { "true" } else { "false" }),
        _ => false,
    }
}

/// Groups whose grant means everyone (public).
const PUBLIC_GROUPS: &[&str] = &[
    "*",
    "all",
    // GCP: anyone on the internet, anyone with a Google account.
    "allUsers",
    "allAuthenticatedUsers",
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
    "uri=http://acs.amazonaws.com/groups/global/AllUsers",
    "uri=http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
];

/// True when `value` names a principal outside the organisation, or everyone.
fn is_external(value: FieldValue<'_>, subject: &Subject<'_>) -> bool {
    let text = match value {
        FieldValue::Str(s) => s.trim().to_string(),
        FieldValue::Num(n) => value_account_from_number(n),
        _ => return false,
    };
    if PUBLIC_GROUPS.iter().any(|g| g.eq_ignore_ascii_case(&text)) {
        return true;
    }
    match subject.event.source {
        SourceKind::CloudTrail => account_of(&text)
            .is_some_and(|account| account != subject.event.account && !subject.org.owns_account(account)),
        SourceKind::GcpAudit | SourceKind::K8sAudit => gcp_member_is_external(&text, subject),
        SourceKind::AzureActivity | SourceKind::AzureSignIn | SourceKind::AzureAudit => {
            azure_value_is_external(&text, subject)
        }
    }
}

/// A GCP IAM member (`user:x@d`, `group:…`, `domain:d`, `serviceAccount:sa@P.iam.gserviceaccount.com`,
/// a bare e-mail) outside the organisation: a service account of a project that is neither the
/// event's nor in `[org] gcp_projects`, or a person, group or domain outside `[org] domains`
/// (without configured domains, outside the acting identity's own domain).
fn gcp_member_is_external(member: &str, subject: &Subject<'_>) -> bool {
    if member.starts_with("deleted:") || member.starts_with("principal") || member.starts_with("project") {
        return false;
    }
    let bare = member.split_once(':').map_or(member, |(_, rest)| rest).to_ascii_lowercase();
    let domain = bare.rsplit_once('@').map_or(bare.as_str(), |(_, d)| d);
    if domain.is_empty() || !domain.contains('.') {
        return false;
    }
    match gcp_principal(&bare) {
        GcpPrincipal::ServiceAccount(project) => project.is_some_and(|p| {
            p != subject.event.account && p != subject.event.identity.account && !subject.org.owns_project(p)
        }),
        // Google's own agents act for the project; they are never an outsider.
        GcpPrincipal::ServiceAgent => false,
        GcpPrincipal::Other => email_domain_is_external(domain, subject),
    }
}

/// A domain outside `[org] domains`; without configured domains, one other than the acting
/// identity's own.
fn email_domain_is_external(domain: &str, subject: &Subject<'_>) -> bool {
    if subject.org.has_domains() {
        return !subject.org.owns_domain(domain);
    }
    let actor = subject.event.identity.key.as_str();
    let actor_domain = actor.rsplit_once('@').map(|(_, d)| d);
    actor_domain.is_some_and(|d| !d.ends_with("gserviceaccount.com") && !d.eq_ignore_ascii_case(domain))
}

/// An Azure tenant or subscription id (or a resource id under a subscription) that is neither
/// the event's own nor in `[org] azure_tenants` / `azure_subscriptions`; or an e-mail address
/// outside the organisation's domains.
fn azure_value_is_external(value: &str, subject: &Subject<'_>) -> bool {
    if let Some((_, domain)) = value.rsplit_once('@') {
        return email_domain_is_external(domain, subject);
    }
    let id = match value.split('/').skip_while(|p| !p.eq_ignore_ascii_case("subscriptions")).nth(1) {
        Some(sub) => sub,
        None => value,
    };
    is_guid(id)
        && !id.eq_ignore_ascii_case(&subject.event.account)
        && !id.eq_ignore_ascii_case(&subject.event.identity.account)
        && !subject.org.owns_azure(id)
}

fn value_account_from_number(n: f64) -> String {
    FieldValue::Num(n).to_text()
}

/// The 12-digit account a principal names: a bare id, an ARN's account field, or an
/// `arn:aws:iam::ID:root` principal. Service principals and AWS-managed ARNs name none.
pub(crate) fn account_of(text: &str) -> Option<&str> {
    let is_account = |s: &str| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit());
    if is_account(text) {
        return Some(text);
    }
    if text.starts_with("arn:") {
        let account = text.split(':').nth(4)?;
        return is_account(account).then_some(account);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn external(source: SourceKind, account: &str, actor: &str, org: &Org, value: &str) -> bool {
        let mut e = crate::test_support::event("{}");
        e.source = source;
        e.account = account.into();
        e.identity.key = nhiwatch_core::IdentityKey(actor.into());
        e.identity.account = "4a1f6c2e-8d3b-4e5a-9c7f-2b1d0e9a8f7c".into();
        is_external(FieldValue::Str(value), &Subject { event: &e, org })
    }

    #[test]
    fn gcp_members_outside_the_organisation_are_external() {
        let none = Org::default();
        let gcp = |org: &Org, actor: &str, v: &str| external(SourceKind::GcpAudit, "prod-app-123", actor, org, v);
        for public in ["allUsers", "allAuthenticatedUsers"] {
            assert!(gcp(&none, "alice@example.com", public));
        }
        // Without configured domains the actor's own domain is the organisation's.
        assert!(gcp(&none, "alice@example.com", "user:x@gmail.com"));
        assert!(!gcp(&none, "alice@example.com", "user:bob@example.com"));
        assert!(!gcp(&none, "alice@example.com", "group:ops@EXAMPLE.com"));
        // Service accounts: the event's project and configured projects are inside.
        assert!(!gcp(&none, "alice@example.com", "serviceAccount:etl@prod-app-123.iam.gserviceaccount.com"));
        assert!(gcp(&none, "alice@example.com", "serviceAccount:c@attacker-lab.iam.gserviceaccount.com"));
        assert!(!gcp(&none, "alice@example.com", "serviceAccount:service-1@gcp-sa-x.iam.gserviceaccount.com"));
        let org = Org::default().with_domains(["example.com".to_string()]).with_projects(["data-lake".to_string()]);
        assert!(!gcp(&org, "svc@prod-app-123.iam.gserviceaccount.com", "user:bob@example.com"));
        assert!(gcp(&org, "bob@example.com", "domain:partner.io"));
        assert!(!gcp(&org, "bob@example.com", "serviceAccount:x@data-lake.iam.gserviceaccount.com"));
        assert!(!gcp(&org, "bob@example.com", "deleted:user:old@partner.io?uid=1"));
    }

    #[test]
    fn azure_ids_outside_the_organisation_are_external() {
        let own_sub = "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e";
        let other = "9f8e7d6c-5b4a-4321-8765-0fedcba98765";
        let az = |org: &Org, v: &str| external(SourceKind::AzureActivity, own_sub, "azure-sp:x", org, v);
        let none = Org::default();
        assert!(!az(&none, own_sub));
        assert!(!az(&none, "4a1f6c2e-8d3b-4e5a-9c7f-2b1d0e9a8f7c"), "the identity's tenant");
        assert!(az(&none, other));
        assert!(az(&none, &format!("/subscriptions/{other}/resourceGroups/rg")));
        assert!(!az(&none, "not-a-guid"));
        let org = Org::default().with_azure([other.to_uppercase()]).with_domains(["example.com".to_string()]);
        assert!(!az(&org, other));
        assert!(az(&org, "guest@partner.io"));
        assert!(!az(&org, "bob@example.com"));
    }

    #[test]
    fn case_insensitive_text_tests_match_lowered_patterns() {
        assert!(starts_with("AssumeRole", "assume", true));
        assert!(!starts_with("AssumeRole", "assume", false));
        assert!(ends_with("s3.AMAZONAWS.com", ".amazonaws.com", true));
        assert!(!ends_with("com", ".amazonaws.com", true));
        assert!(contains("python-Requests/2.31", "requests", true));
        assert!(contains("Ünïcode PowerShell", "powershell", true));
        assert!(!contains("abc", "abcd", true));
        assert!(contains("abc", "", true));
    }

    #[test]
    fn account_of_reads_ids_and_arns() {
        assert_eq!(account_of("999988887777"), Some("999988887777"));
        assert_eq!(account_of("arn:aws:iam::999988887777:root"), Some("999988887777"));
        assert_eq!(account_of("arn:aws:iam::aws:policy/AdministratorAccess"), None);
        assert_eq!(account_of("ec2.amazonaws.com"), None);
        assert_eq!(account_of("12345"), None);
    }
}
