//! The rule file schema as written in YAML: what detection engineers type.
//!
//! These types only describe the file; `compile` turns them into matchers and rejects
//! anything that would not run. Every struct denies unknown fields, so `treshold:` is an error
//! with its line and column rather than a silently ignored key.

use serde::Deserialize;
use serde_saphyr::Spanned;

/// One rule file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Unique, stable id (`aws-iam-user-created-by-nhi`). Alert ids hash it: renaming a rule
    /// changes the ids of its alerts.
    pub id: Spanned<String>,
    /// One line, shown as the alert title.
    pub title: String,
    /// What the rule detects and why it matters.
    pub description: String,
    /// `info`, `low`, `medium`, `high` or `critical`.
    pub severity: nhiwatch_core::alert::Severity,
    /// ATT&CK technique ids (`T1136.003`); each must be in the project's ATT&CK table.
    pub attack: Spanned<Vec<String>>,
    /// `match` (one event) or `threshold` (count per group in a sliding window).
    pub kind: Spanned<String>,
    /// Which events the rule looks at.
    pub condition: Spanned<ConditionSpec>,
    /// Fields that split state into groups, e.g. `[identity.id]` (stateful kinds; the baseline
    /// kinds default to the identity).
    #[serde(default)]
    pub group_by: Vec<Spanned<String>>,
    /// Window length: sliding window of threshold rules, time limit of sequences (`15m`).
    #[serde(default)]
    pub window: Option<Spanned<String>>,
    /// Threshold settings (threshold rules only).
    #[serde(default)]
    pub threshold: Option<Spanned<ThresholdSpec>>,
    /// New-value settings (`kind: new_value`).
    #[serde(default)]
    pub new_value: Option<Spanned<NewValueSpec>>,
    /// Off-hours settings (`kind: off_hours`).
    #[serde(default)]
    pub off_hours: Option<Spanned<OffHoursSpec>>,
    /// Spike settings (`kind: spike`).
    #[serde(default)]
    pub spike: Option<Spanned<SpikeSpec>>,
    /// Impossible-travel settings (`kind: impossible_travel`).
    #[serde(default)]
    pub impossible_travel: Option<Spanned<TravelSpec>>,
    /// Sequence steps (`kind: sequence`).
    #[serde(default)]
    pub sequence: Option<Spanned<SequenceSpec>>,
    /// Dormancy settings (`kind: dormant`).
    #[serde(default)]
    pub dormant: Option<Spanned<DormantSpec>>,
    /// One sentence for analysts; `{field.path}` is replaced by the triggering event's value.
    #[serde(default)]
    pub summary: Option<Spanned<String>>,
    /// Extra fields copied into the alert's `context`, by name.
    #[serde(default)]
    pub context: Vec<Spanned<String>>,
    /// Repeated alerts with the same key within the window are suppressed (counted, not
    /// emitted). Default: key = identity, window = 1h.
    #[serde(default)]
    pub dedup: Option<Spanned<DedupSpec>>,
    /// Known benign causes, for analysts triaging the alert.
    #[serde(default)]
    pub false_positives: Vec<String>,
    /// Embedded tests: events and how many alerts the rule must raise on them.
    #[serde(default)]
    pub tests: Vec<Spanned<TestSpec>>,
    /// `live` (default): alerts go to analysts. `shadow`: the rule is evaluated and counted,
    /// its alerts are marked and kept apart (for trying a rule on production traffic).
    #[serde(default)]
    pub mode: Mode,
}

/// How a rule's alerts are delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Alerts go to analysts.
    #[default]
    Live,
    /// Alerts are counted and kept apart, never sent to analysts' sinks.
    Shadow,
}

/// A condition node: a combinator (`all`, `any`, `not`) or one field predicate
/// (`field` plus exactly one operator).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ConditionSpec {
    /// Every child must match.
    #[serde(default)]
    pub all: Option<Vec<Spanned<ConditionSpec>>>,
    /// At least one child must match.
    #[serde(default)]
    pub any: Option<Vec<Spanned<ConditionSpec>>>,
    /// The child must not match.
    #[serde(default)]
    pub not: Option<Box<Spanned<ConditionSpec>>>,
    /// Field path the operator applies to (`action`, `requestParameters.userName`).
    #[serde(default)]
    pub field: Option<Spanned<String>>,
    /// Equal to this value.
    #[serde(default)]
    pub equals: Option<Scalar>,
    /// Equal to one of these values.
    #[serde(default, rename = "in")]
    pub in_: Option<Vec<Scalar>>,
    /// Starts with (one of) these.
    #[serde(default)]
    pub prefix: Option<OneOrMany>,
    /// Ends with (one of) these.
    #[serde(default)]
    pub suffix: Option<OneOrMany>,
    /// Contains (one of) these.
    #[serde(default)]
    pub contains: Option<OneOrMany>,
    /// Matches this regular expression (Rust `regex` syntax, unanchored).
    #[serde(default)]
    pub regex: Option<String>,
    /// An IP address inside (one of) these CIDR blocks.
    #[serde(default)]
    pub cidr: Option<OneOrMany>,
    /// `true`: the field is present; `false`: it is absent.
    #[serde(default)]
    pub exists: Option<bool>,
    /// Numerically greater than.
    #[serde(default)]
    pub gt: Option<f64>,
    /// Numerically greater than or equal.
    #[serde(default)]
    pub gte: Option<f64>,
    /// Numerically less than.
    #[serde(default)]
    pub lt: Option<f64>,
    /// Numerically less than or equal.
    #[serde(default)]
    pub lte: Option<f64>,
    /// `true`: the value names a principal outside the organisation — an account id, an ARN or
    /// an account principal outside `[org] accounts` (and not the event's own account), or
    /// everyone (`*`, `all`, the S3 AllUsers/AuthenticatedUsers groups).
    #[serde(default)]
    pub external: Option<bool>,
    /// `true`: the value is an IP address inside `[org] networks`; `false`: an address outside
    /// them (values that are not addresses never match either way).
    #[serde(default)]
    pub org_network: Option<bool>,
    /// Equal to a value of another field of the same event (`identity.name`), e.g. a key
    /// created for a user other than the caller: `{field: requestParameters.userName,
    /// not_equals_field: identity.name}` is written as `not: {… equals_field …}`.
    #[serde(default)]
    pub equals_field: Option<Spanned<String>>,
    /// Compare text ignoring ASCII case (equals, in, prefix, suffix, contains).
    #[serde(default)]
    pub case_insensitive: Option<bool>,
}

/// A YAML scalar compared against field values.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Scalar {
    /// `true` / `false`.
    Bool(bool),
    /// A number.
    Num(f64),
    /// Text.
    Str(String),
}

/// One string or a list of strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single value.
    One(String),
    /// A list.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The values as a list.
    pub fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(s) => vec![s],
            Self::Many(v) => v,
        }
    }
}

/// Threshold settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdSpec {
    /// Alert when the group reaches this many matching events (or distinct values).
    pub count: u64,
    /// Count distinct values of this field instead of events (`action`).
    #[serde(default)]
    pub distinct: Option<Spanned<String>>,
    /// Only count events that follow an event matching this condition, for the same group,
    /// within the window (e.g. discovery after `GetCallerIdentity`).
    #[serde(default)]
    pub after: Option<Spanned<ConditionSpec>>,
}

/// Alert de-duplication.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DedupSpec {
    /// How long an emitted alert silences repeats with the same key (`1h`; `0s` disables).
    pub window: Spanned<String>,
    /// Key fields in addition to the rule and the identity (`[requestParameters.userName]`).
    #[serde(default)]
    pub by: Vec<Spanned<String>>,
}

/// One embedded rule test.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestSpec {
    /// What the test shows (`true positive: CI role creates a user`).
    pub name: String,
    /// Number of alerts this rule must raise on the events.
    pub expect: u64,
    /// Organisation accounts for this test (default: the record's own account only).
    #[serde(default)]
    pub org_accounts: Vec<String>,
    /// Events, in the order they arrive.
    pub events: Vec<TestEventSpec>,
}

/// One test event (or several, with `repeat` / `actions`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestEventSpec {
    /// The CloudTrail record, inline.
    pub record: serde_json::Value,
    /// Offset from the test start (2026-01-05T10:00:00Z) that replaces the record's
    /// `eventTime` (`90s`, `3h`). Without it the record's own `eventTime` is kept.
    #[serde(default)]
    pub at: Option<String>,
    /// Emit the record this many times (ids suffixed `-1`, `-2`, …).
    #[serde(default)]
    pub repeat: Option<u32>,
    /// Time between repeats (`10s`).
    #[serde(default)]
    pub every: Option<String>,
    /// Emit the record once per action, replacing `eventName` (repeats apply to each).
    #[serde(default)]
    pub actions: Vec<String>,
}

/// `new_value`: a value (or tuple) of fields never seen for the group once it has a baseline.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewValueSpec {
    /// The field or tuple of fields (`[geo.country]`, `[action_key]`).
    pub fields: Vec<Spanned<String>>,
    /// How long the group must have been observed before new values alert (default 14d).
    #[serde(default)]
    pub learning: Option<Spanned<String>>,
    /// Events the group must have shown before new values alert (default 20).
    #[serde(default)]
    pub min_events: Option<u64>,
    /// Values unseen for this long drop out of the baseline (default 30d).
    #[serde(default)]
    pub forget: Option<Spanned<String>>,
    /// Values kept per group (default 64); the least recently seen is dropped beyond it
    /// (counted as an eviction). Memory: about 40 bytes per value.
    #[serde(default)]
    pub max_values: Option<usize>,
    /// Learn from every event matching `condition`, but alert only on events matching this
    /// (e.g. learn all actions of an identity, alert on first use of sensitive ones).
    #[serde(default)]
    pub alert_when: Option<Spanned<ConditionSpec>>,
}

/// `off_hours`: an event in an hour of the week the group rarely acts in.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OffHoursSpec {
    /// Alert when the day's or the hour's activity, relative to an average day or hour of the
    /// group (1.0; hours smoothed over their neighbours), is below this (default 0.1).
    #[serde(default)]
    pub threshold: Option<f64>,
    /// Baseline age required (default 14d); younger groups fall back to the organisation's
    /// business hours when configured.
    #[serde(default)]
    pub learning: Option<Spanned<String>>,
    /// Events required in the baseline (default 50).
    #[serde(default)]
    pub min_events: Option<u64>,
    /// Half-life of past activity (default 30d).
    #[serde(default)]
    pub forget: Option<Spanned<String>>,
}

/// `spike`: a per-bucket sum or count far above the group's own history.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpikeSpec {
    /// Field summed per bucket (`additionalEventData.bytesTransferredOut`); without it,
    /// events are counted.
    #[serde(default)]
    pub sum: Option<Spanned<String>>,
    /// Bucket length (default 1h).
    #[serde(default)]
    pub bucket: Option<Spanned<String>>,
    /// Percentile of past active buckets taken as the usual high (default 99).
    #[serde(default)]
    pub percentile: Option<f64>,
    /// Alert above the percentile times this factor (default 3)…
    #[serde(default)]
    pub factor: Option<f64>,
    /// …and above this absolute floor (default 0).
    #[serde(default)]
    pub floor: Option<f64>,
    /// Past active buckets required before alerting (default 24).
    #[serde(default)]
    pub min_buckets: Option<u64>,
}

/// `impossible_travel`: two located events of a group too far apart for the time between.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TravelSpec {
    /// Minimum distance in km (default 500).
    #[serde(default)]
    pub min_distance_km: Option<f64>,
    /// Maximum plausible speed in km/h (default 1000).
    #[serde(default)]
    pub max_speed_kmh: Option<f64>,
}

/// `sequence`: ordered steps by one group within the rule's `window`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequenceSpec {
    /// The steps, in order.
    pub steps: Vec<Spanned<StepSpec>>,
}

/// One sequence step.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// Name shown in the alert.
    pub name: String,
    /// Which events complete the step.
    pub condition: Spanned<ConditionSpec>,
    /// Values carried to later steps: variable name → field (`user: requestParameters.userName`).
    #[serde(default)]
    pub capture: std::collections::BTreeMap<String, Spanned<String>>,
    /// Fields that must equal a captured variable: field → variable name.
    #[serde(default, rename = "match")]
    pub match_: std::collections::BTreeMap<String, Spanned<String>>,
}

/// `dormant`: a group unseen for a long time becomes active again.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DormantSpec {
    /// Silence that counts as dormant (default 30d).
    #[serde(default)]
    pub after: Option<Spanned<String>>,
}
