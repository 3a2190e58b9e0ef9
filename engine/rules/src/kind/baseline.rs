//! Settings of the baseline kinds: `new_value`, `off_hours`, `spike`, `impossible_travel`,
//! `dormant`. The state they learn lives in the engine; this file only validates and fills
//! defaults.

use super::duration_or;
use crate::error::{RuleError, at};
use crate::spec::{DormantSpec, NewValueSpec, OffHoursSpec, SpikeSpec, TravelSpec};
use chrono::Duration;
use nhiwatch_core::FieldPath;
use serde_saphyr::Spanned;

/// Default learning period of baseline kinds.
const DEFAULT_LEARNING_DAYS: i64 = 14;
/// Default forget period of baseline kinds.
const DEFAULT_FORGET_DAYS: i64 = 30;

/// `new_value` settings.
#[derive(Debug, Clone)]
pub struct NewValue {
    /// The field tuple.
    pub fields: Vec<FieldPath>,
    /// Baseline age required.
    pub learning: Duration,
    /// Events required.
    pub min_events: u64,
    /// Values unseen this long drop out.
    pub forget: Duration,
    /// Values kept per group.
    pub max_values: usize,
    /// Alert only on events matching this (all events still teach the baseline).
    pub alert_when: Option<crate::condition::Condition>,
}

impl NewValue {
    pub(crate) fn compile(s: &Spanned<NewValueSpec>) -> Result<Self, RuleError> {
        let v = &s.value;
        if v.fields.is_empty() {
            return Err(at(s.referenced, "new_value needs at least one field"));
        }
        let fields = v
            .fields
            .iter()
            .map(|f| FieldPath::parse(&f.value).map_err(|e| at(f.referenced, e)))
            .collect::<Result<Vec<_>, _>>()?;
        let max_values = v.max_values.unwrap_or(64);
        if max_values == 0 {
            return Err(at(s.referenced, "max_values must be at least 1"));
        }
        Ok(Self {
            fields,
            learning: duration_or(v.learning.as_ref(), Duration::days(DEFAULT_LEARNING_DAYS))?,
            min_events: v.min_events.unwrap_or(20),
            forget: duration_or(v.forget.as_ref(), Duration::days(DEFAULT_FORGET_DAYS))?,
            max_values,
            alert_when: v.alert_when.as_ref().map(crate::condition::Condition::compile).transpose()?,
        })
    }
}

/// `off_hours` settings.
#[derive(Debug, Clone)]
pub struct OffHours {
    /// Activity relative to an average hour below which an hour is unusual.
    pub threshold: f64,
    /// Baseline age required.
    pub learning: Duration,
    /// Events required.
    pub min_events: u64,
    /// Half-life of past activity.
    pub forget: Duration,
}

impl OffHours {
    pub(crate) fn compile(s: Option<&Spanned<OffHoursSpec>>) -> Result<Self, RuleError> {
        let threshold = s.and_then(|s| s.value.threshold).unwrap_or(0.1);
        if let Some(s) = s
            && !(0.0..=1.0).contains(&threshold)
        {
            return Err(at(s.referenced, "off_hours threshold must be in [0, 1] (relative to an average hour)"));
        }
        Ok(Self {
            threshold,
            learning: duration_or(s.and_then(|s| s.value.learning.as_ref()), Duration::days(DEFAULT_LEARNING_DAYS))?,
            min_events: s.and_then(|s| s.value.min_events).unwrap_or(50),
            forget: duration_or(s.and_then(|s| s.value.forget.as_ref()), Duration::days(DEFAULT_FORGET_DAYS))?,
        })
    }
}

/// `spike` settings.
#[derive(Debug, Clone)]
pub struct Spike {
    /// Field summed per bucket (`None`: count events).
    pub sum: Option<FieldPath>,
    /// Bucket length.
    pub bucket: Duration,
    /// Percentile of past active buckets.
    pub percentile: f64,
    /// Factor over the percentile.
    pub factor: f64,
    /// Absolute floor.
    pub floor: f64,
    /// Past active buckets required.
    pub min_buckets: u64,
}

impl Spike {
    pub(crate) fn compile(s: Option<&Spanned<SpikeSpec>>) -> Result<Self, RuleError> {
        let v = s.map(|s| &s.value);
        let percentile = v.and_then(|v| v.percentile).unwrap_or(99.0);
        let factor = v.and_then(|v| v.factor).unwrap_or(3.0);
        if let Some(s) = s {
            if !(0.0..=100.0).contains(&percentile) {
                return Err(at(s.referenced, "spike percentile must be in [0, 100]"));
            }
            if factor < 1.0 {
                return Err(at(s.referenced, "spike factor must be at least 1"));
            }
        }
        Ok(Self {
            sum: v
                .and_then(|v| v.sum.as_ref())
                .map(|f| FieldPath::parse(&f.value).map_err(|e| at(f.referenced, e)))
                .transpose()?,
            bucket: duration_or(v.and_then(|v| v.bucket.as_ref()), Duration::hours(1))?,
            percentile,
            factor,
            floor: v.and_then(|v| v.floor).unwrap_or(0.0),
            min_buckets: v.and_then(|v| v.min_buckets).unwrap_or(24),
        })
    }
}

/// `impossible_travel` settings.
#[derive(Debug, Clone)]
pub struct ImpossibleTravel {
    /// Minimum distance, km.
    pub min_distance_km: f64,
    /// Maximum plausible speed, km/h.
    pub max_speed_kmh: f64,
}

impl ImpossibleTravel {
    pub(crate) fn compile(s: Option<&Spanned<TravelSpec>>) -> Result<Self, RuleError> {
        let v = s.map(|s| &s.value);
        let out = Self {
            min_distance_km: v.and_then(|v| v.min_distance_km).unwrap_or(500.0),
            max_speed_kmh: v.and_then(|v| v.max_speed_kmh).unwrap_or(1000.0),
        };
        if let Some(s) = s
            && (out.min_distance_km < 0.0 || out.max_speed_kmh <= 0.0)
        {
            return Err(at(s.referenced, "impossible_travel distances and speeds must be positive"));
        }
        Ok(out)
    }
}

/// `dormant` settings.
#[derive(Debug, Clone)]
pub struct Dormant {
    /// Silence that counts as dormant.
    pub after: Duration,
}

impl Dormant {
    pub(crate) fn compile(s: Option<&Spanned<DormantSpec>>) -> Result<Self, RuleError> {
        Ok(Self { after: duration_or(s.and_then(|s| s.value.after.as_ref()), Duration::days(30))? })
    }
}
