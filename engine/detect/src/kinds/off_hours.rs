//! `off_hours` state: on which days of the week and at which hours of the day a group acts.
//!
//! Counts decay with the rule's `forget` as half-life, so a job that moved to a new schedule
//! stops counting its old hours. Days and hours are kept apart (7 + 24 counters rather than
//! 168 hour-of-week buckets): a pipeline that runs a few times a day at varying times fills
//! hour-of-week buckets too sparsely to tell habit from anomaly, while "it never runs at
//! weekends" and "it never runs at 3 a.m." are learned within days. An event is unusual when
//! its day or its hour (smoothed over the neighbouring hours) is.

use super::{Finding, time_text};
use crate::engine::BusinessHours;
use chrono::{Datelike, Timelike};
use nhiwatch_core::Cited;
use nhiwatch_core::{Event, EventTime};
use nhiwatch_rules::OffHours;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Day-of-week and hour-of-day activity of one group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HourProfile {
    created: EventTime,
    events: u64,
    decayed_at: EventTime,
    days: [f32; 7],
    hours: [f32; 24],
    /// Decayed event count (the sum of `days`, and of `hours`).
    total: f32,
}

impl HourProfile {
    /// An empty profile starting at `now`.
    pub fn new(now: EventTime) -> Self {
        Self { created: now, events: 0, decayed_at: now, days: [0.0; 7], hours: [0.0; 24], total: 0.0 }
    }

    fn decay(&mut self, now: EventTime, half_life: chrono::Duration) {
        // Most events of a group fall on the day of its last decay: less than a day apart.
        if now.date_naive() == self.decayed_at.date_naive() {
            return;
        }
        let elapsed = now - self.decayed_at;
        if elapsed < chrono::Duration::days(1) {
            return;
        }
        let factor = 0.5f64.powf(elapsed.num_seconds() as f64 / half_life.num_seconds().max(1) as f64) as f32;
        self.days.iter_mut().chain(self.hours.iter_mut()).for_each(|v| *v *= factor);
        self.total = self.days.iter().sum();
        self.decayed_at = now;
    }

    fn add(&mut self, day: usize, hour: usize) {
        self.days[day] += 1.0;
        self.hours[hour] += 1.0;
        self.total += 1.0;
    }

    /// The day's activity relative to an average day (1.0; 0.0 is a day never used).
    fn day_activity(&self, day: usize) -> f64 {
        if self.total <= 0.0 {
            return 0.0;
        }
        f64::from(self.days[day]) / f64::from(self.total) * 7.0
    }

    /// The hour's activity relative to an average hour (1.0), smoothed over its neighbours.
    fn hour_activity(&self, hour: usize) -> f64 {
        if self.total <= 0.0 {
            return 0.0;
        }
        let at = |h: usize| f64::from(self.hours[h % 24]);
        let smoothed = (2.0 * at(hour) + at(hour + 23) + at(hour + 1)) / 4.0;
        smoothed / f64::from(self.total) * 24.0
    }

    /// The usual days and hours in words: `Mon–Fri, 08–18 UTC`.
    fn usual_hours(&self) -> String {
        describe_usual(&self.days, &self.hours)
    }
}

/// Usual days and hours in words, `Mon–Fri, 08–18 UTC`: each day or hour of the day with at
/// least a tenth of the busiest one's activity.
pub fn describe_usual(days: &[f32; 7], hours: &[f32; 24]) -> String {
    let busiest = |xs: &[f32]| xs.iter().copied().fold(0.0f32, f32::max);
    let (max_day, max_hour) = (busiest(days), busiest(hours));
    if max_day <= 0.0 {
        return "none yet".to_string();
    }
    let active_days: Vec<usize> = (0..7).filter(|d| days[*d] >= max_day * 0.1).collect();
    let active_hours: Vec<usize> = (0..24).filter(|h| hours[*h] >= max_hour * 0.1).collect();
    format!("{}, {} UTC", day_ranges(&active_days), hour_ranges(&active_hours))
}

/// Runs of consecutive numbers, each written by `label(first, last)` and joined by commas.
fn ranges(items: &[usize], label: impl Fn(usize, usize) -> String) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < items.len() {
        let start = items[i];
        let mut end = start;
        while i + 1 < items.len() && items[i + 1] == end + 1 {
            i += 1;
            end = items[i];
        }
        out.push(label(start, end));
        i += 1;
    }
    out.join(", ")
}

/// `[0, 1, 2, 3, 4, 6]` → `Mon–Fri, Sun`.
fn day_ranges(days: &[usize]) -> String {
    ranges(days, |a, b| if a == b { DAYS[a].to_string() } else { format!("{}–{}", DAYS[a], DAYS[b]) })
}

/// `[8, 9, 10, 14]` → `08–11, 14–15`.
fn hour_ranges(hours: &[usize]) -> String {
    ranges(hours, |a, b| format!("{a:02}–{:02}", b + 1))
}

/// Observes an event; a finding when its hour is unusual for the group (or, while the group
/// is learning, outside the organisation's business hours when configured).
pub fn observe(
    oh: &OffHours,
    st: &mut HourProfile,
    event: &Event,
    business: Option<&BusinessHours>,
) -> Option<Finding> {
    let now = event.time;
    st.decay(now, oh.forget);
    let (day, hour) = (now.weekday().num_days_from_monday() as usize, now.hour() as usize);
    let when = || format!("{} {hour:02}:00 UTC", DAYS[day]);
    let learned = st.events >= oh.min_events && now - st.created >= oh.learning;
    let finding = if learned {
        let (day_activity, hour_activity) = (st.day_activity(day), st.hour_activity(hour));
        (day_activity.min(hour_activity) < oh.threshold).then(|| {
            let mut context = Map::new();
            context.insert("hour".into(), Value::from(when()));
            let round = |x: f64| (x * 1000.0).round() / 1000.0;
            context.insert(
                "baseline".into(),
                json!({
                    "usual_hours": st.usual_hours(),
                    "day_activity": round(day_activity),
                    "hour_activity": round(hour_activity),
                    "activity_meaning": "activity of this day and this hour relative to an average day or hour of the identity (1.0)",
                    "threshold": oh.threshold,
                    "events": st.events,
                    "observed_since": time_text(st.created),
                }),
            );
            Finding::single(Cited::from_event(event), context)
        })
    } else {
        business.filter(|b| !b.contains(now)).map(|b| {
            let mut context = Map::new();
            context.insert("hour".into(), Value::from(when()));
            context.insert(
                "baseline".into(),
                json!({
                    "learning": true,
                    "fallback": format!("organisation business hours {b}"),
                    "events": st.events,
                    "observed_since": time_text(st.created),
                }),
            );
            Finding::single(Cited::from_event(event), context)
        })
    };
    st.add(day, hour);
    st.events += 1;
    finding
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usual_hours_read_as_day_and_hour_ranges() {
        let mut p = HourProfile::new(EventTime::default());
        for d in 0..5 {
            for h in 8..18 {
                p.add(d, h);
            }
        }
        assert_eq!(p.usual_hours(), "Mon–Fri, 08–18 UTC");
        assert!(p.day_activity(5) < 0.1 && p.hour_activity(2) < 0.1);
        assert!(p.day_activity(1) > 1.0 && p.hour_activity(17) > 1.0);
        for _ in 0..5 {
            p.add(6, 2);
        }
        assert_eq!(p.usual_hours(), "Mon–Fri, Sun, 02–03, 08–18 UTC");
        assert_eq!(hour_ranges(&[8, 9, 10, 14]), "08–11, 14–15");
    }
}
