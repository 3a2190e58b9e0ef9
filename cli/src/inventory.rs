//! `nhiwatch inventory`: one row per identity seen in the archives — what it is (human or
//! non-human, and why), where it acts from, what it does, when, with which keys, how long it has
//! been quiet, and how many alerts it raised. The first step of NHI hygiene: know what exists.

use crate::replay::{ReplayOptions, replay_observed};
use chrono::NaiveDate;
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use nhiwatch_core::geo::is_public_place;
use nhiwatch_core::{Event, EventTime, Identity, SourceKind};
use nhiwatch_detect::EngineConfig;
use nhiwatch_detect::classify::Signals;
use nhiwatch_rules::RulePack;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::Arc;

/// IAM calls that change who can do what (or switch off the record of it): listed per
/// identity when used, with their counterparts in the other clouds below.
const SENSITIVE_ACTIONS: &[&str] = &[
    "CreateUser",
    "CreateAccessKey",
    "CreateLoginProfile",
    "UpdateLoginProfile",
    "AttachUserPolicy",
    "AttachRolePolicy",
    "AttachGroupPolicy",
    "PutUserPolicy",
    "PutRolePolicy",
    "PutGroupPolicy",
    "CreateRole",
    "UpdateAssumeRolePolicy",
    "AddUserToGroup",
    "CreatePolicyVersion",
    "SetDefaultPolicyVersion",
    "DeactivateMFADevice",
    "DeleteTrail",
    "StopLogging",
    "PutBucketPolicy",
    "ModifySnapshotAttribute",
];

/// GCP methods that mint principals or keys, or change who can do what.
const GCP_SENSITIVE_ACTIONS: &[&str] = &[
    "google.iam.admin.v1.CreateServiceAccount",
    "google.iam.admin.v1.CreateServiceAccountKey",
    "google.iam.admin.v1.SetIAMPolicy",
    "google.iam.admin.v1.CreateRole",
    "google.iam.admin.v1.UpdateRole",
    "SetIamPolicy",
    "InsertProjectOwnershipInvite",
    "storage.setIamPermissions",
    "google.logging.v2.ConfigServiceV2.DeleteSink",
];

/// Azure operations and Entra ID activities of the same kind.
const AZURE_SENSITIVE_ACTIONS: &[&str] = &[
    "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE",
    "MICROSOFT.AUTHORIZATION/ELEVATEACCESS/ACTION",
    "MICROSOFT.COMPUTE/DISKS/BEGINGETACCESS/ACTION",
    "MICROSOFT.COMPUTE/SNAPSHOTS/BEGINGETACCESS/ACTION",
    "MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION",
    "MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE",
    "Add user",
    "Add application",
    "Add service principal",
    "Add service principal credentials",
    "Update application – Certificates and secrets management",
    "Add member to role",
];

/// Kubernetes `resource:verb` pairs of the same kind.
const K8S_SENSITIVE_ACTIONS: &[&str] = &[
    "serviceaccounts/token:create",
    "clusterrolebindings:create",
    "rolebindings:create",
    "pods/exec:create",
    "pods/exec:get",
    "secrets:list",
    "certificatesigningrequests:create",
];

/// The sensitive action `e` performed (as listed per identity), if it is one.
fn sensitive_action(e: &Event) -> Option<String> {
    let listed = |list: &[&str], action: &str| list.iter().any(|a| a.eq_ignore_ascii_case(action));
    let found = match e.source {
        SourceKind::CloudTrail => listed(SENSITIVE_ACTIONS, &e.action).then(|| e.action.to_string()),
        SourceKind::GcpAudit => listed(GCP_SENSITIVE_ACTIONS, &e.action).then(|| e.action.to_string()),
        SourceKind::AzureActivity | SourceKind::AzureAudit => {
            listed(AZURE_SENSITIVE_ACTIONS, &e.action).then(|| e.action.to_string())
        }
        SourceKind::AzureSignIn => None,
        SourceKind::K8sAudit => {
            let key = e.action_key();
            listed(K8S_SENSITIVE_ACTIONS, &key).then_some(key)
        }
    };
    found.filter(|_| e.outcome.is_success())
}

/// One identity.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InventoryRow {
    /// Identity key.
    pub id: String,
    /// Principal type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short name.
    pub name: String,
    /// Owning account.
    pub account: String,
    /// Non-human identity.
    pub nhi: bool,
    /// Why.
    pub nhi_reason: String,
    /// First event.
    pub first_seen: EventTime,
    /// Last event.
    pub last_seen: EventTime,
    /// Days with at least one event.
    pub days_active: usize,
    /// Events.
    pub events: u64,
    /// Services used, by event count.
    pub services: BTreeMap<String, u64>,
    /// Sensitive IAM and logging actions used.
    pub sensitive_actions: Vec<String>,
    /// Countries of public source addresses (with GeoIP).
    pub countries: Vec<String>,
    /// Source networks (/24 or /48 of public addresses).
    pub networks: usize,
    /// Usual days and hours in words.
    pub usual_hours: String,
    /// Access keys seen.
    pub access_keys: Vec<String>,
    /// Days between the last event and the end of the data.
    pub dormant_days: i64,
    /// Alerts raised by the pack.
    pub alerts: u64,
}

#[derive(Debug)]
struct Acc {
    identity: Identity,
    signals: Signals,
    first: EventTime,
    last: EventTime,
    events: u64,
    days: BTreeSet<NaiveDate>,
    services: BTreeMap<String, u64>,
    sensitive: BTreeSet<String>,
    countries: BTreeSet<String>,
    networks: BTreeSet<String>,
    week_days: [f32; 7],
    hours: [f32; 24],
    keys: BTreeSet<String>,
}

/// Builds the inventory of the archives in `opts`, running `pack` for the alert counts.
pub fn inventory(
    opts: &ReplayOptions,
    pack: Arc<RulePack>,
    config: EngineConfig,
    diagnostics: &mut dyn Write,
) -> anyhow::Result<Vec<InventoryRow>> {
    use chrono::{Datelike, Timelike};
    let geo = config.geo.clone();
    let classifier = config.classifier.clone();
    let mut seen: BTreeMap<String, Acc> = BTreeMap::new();
    let mut observe = |e: &Event| {
        let acc = seen.entry(e.identity.key.0.clone()).or_insert_with(|| Acc {
            identity: e.identity.clone(),
            signals: Signals::default(),
            first: e.time,
            last: e.time,
            events: 0,
            days: BTreeSet::new(),
            services: BTreeMap::new(),
            sensitive: BTreeSet::new(),
            countries: BTreeSet::new(),
            networks: BTreeSet::new(),
            week_days: [0.0; 7],
            hours: [0.0; 24],
            keys: BTreeSet::new(),
        });
        acc.identity = e.identity.clone();
        acc.signals.console_login |= e.action == "ConsoleLogin";
        acc.first = acc.first.min(e.time);
        acc.last = acc.last.max(e.time);
        acc.events += 1;
        acc.days.insert(e.time.date_naive());
        *acc.services.entry(e.service_short().to_string()).or_default() += 1;
        if let Some(action) = sensitive_action(e) {
            acc.sensitive.insert(action);
        }
        if let Some(ip) = e.origin.ip().filter(|ip| is_public_place(*ip)) {
            // As in the engine: the databases first, then the place the record itself gives.
            let country = geo.as_ref().and_then(|g| g.resolve(ip)).and_then(|g| g.country);
            if let Some(country) = country.or_else(|| e.geo.as_ref().and_then(|g| g.country.clone())) {
                acc.countries.insert(country);
            }
            if let Some(n) = e.source_network() {
                acc.networks.insert(n);
            }
        }
        acc.week_days[e.time.weekday().num_days_from_monday() as usize] += 1.0;
        acc.hours[e.time.hour() as usize] += 1.0;
        if let Some(k) = &e.identity.access_key_id {
            acc.keys.insert(k.to_string());
        }
    };
    let report = replay_observed(opts, pack, config, diagnostics, &mut observe)?;
    let mut alerts: BTreeMap<&str, u64> = BTreeMap::new();
    for a in &report.alerts {
        *alerts.entry(a.identity.id.as_str()).or_default() += 1;
    }
    let end = seen.values().map(|a| a.last).max().unwrap_or_default();
    let mut rows: Vec<InventoryRow> = seen
        .into_iter()
        .map(|(id, a)| {
            let (nhi, nhi_reason) = classifier.classify(&a.identity, a.signals);
            InventoryRow {
                alerts: alerts.get(id.as_str()).copied().unwrap_or(0),
                kind: a.identity.kind.as_str().to_string(),
                name: a.identity.name.clone(),
                account: a.identity.account.to_string(),
                nhi,
                nhi_reason,
                first_seen: a.first,
                last_seen: a.last,
                days_active: a.days.len(),
                events: a.events,
                services: a.services,
                sensitive_actions: a.sensitive.into_iter().collect(),
                countries: a.countries.into_iter().collect(),
                networks: a.networks.len(),
                usual_hours: nhiwatch_detect::kinds::off_hours::describe_usual(&a.week_days, &a.hours),
                access_keys: a.keys.into_iter().collect(),
                dormant_days: (end - a.last).num_days(),
                id,
            }
        })
        .collect();
    rows.sort_by(|a, b| (!a.nhi, &a.id).cmp(&(!b.nhi, &b.id)));
    Ok(rows)
}

fn services_text(services: &BTreeMap<String, u64>) -> String {
    let mut by_count: Vec<(&String, &u64)> = services.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    by_count.iter().take(5).map(|(s, _)| s.as_str()).collect::<Vec<_>>().join(" ")
}

/// Writes the inventory as a table.
pub fn write_table(rows: &[InventoryRow], out: &mut dyn Write) -> std::io::Result<()> {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic).set_width(180);
    t.set_header(["identity", "kind", "why", "seen", "usual hours", "from", "services", "sensitive", "alerts"]);
    for r in rows {
        t.add_row([
            format!("{}\n{} ({})", r.name, r.kind, r.account),
            if r.nhi { "NHI" } else { "human" }.to_string(),
            r.nhi_reason.clone(),
            format!(
                "{} – {}\n{} days active, quiet {} d",
                r.first_seen.format("%Y-%m-%d"),
                r.last_seen.format("%Y-%m-%d"),
                r.days_active,
                r.dormant_days
            ),
            r.usual_hours.clone(),
            format!("{}\n{} networks", r.countries.join(" "), r.networks),
            services_text(&r.services),
            r.sensitive_actions.join(" "),
            r.alerts.to_string(),
        ]);
    }
    writeln!(out, "{t}")
}

/// Writes the inventory as CSV (lists joined with spaces).
pub fn write_csv(rows: &[InventoryRow], out: &mut dyn Write) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "id",
        "type",
        "name",
        "account",
        "nhi",
        "nhi_reason",
        "first_seen",
        "last_seen",
        "days_active",
        "events",
        "services",
        "sensitive_actions",
        "countries",
        "networks",
        "usual_hours",
        "access_keys",
        "dormant_days",
        "alerts",
    ])?;
    for r in rows {
        w.write_record([
            r.id.clone(),
            r.kind.clone(),
            r.name.clone(),
            r.account.clone(),
            r.nhi.to_string(),
            r.nhi_reason.clone(),
            r.first_seen.to_rfc3339(),
            r.last_seen.to_rfc3339(),
            r.days_active.to_string(),
            r.events.to_string(),
            services_text(&r.services),
            r.sensitive_actions.join(" "),
            r.countries.join(" "),
            r.networks.to_string(),
            r.usual_hours.clone(),
            r.access_keys.join(" "),
            r.dormant_days.to_string(),
            r.alerts.to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}
