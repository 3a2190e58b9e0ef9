//! `off_hours` state: how a group's activity spreads over the 168 hours of the week.
//!
//! Counts decay with the rule's `forget` as half-life, so a job that moved to a new schedule
//! stops counting its old hours. The activity of an hour is smoothed over its neighbours and
//! over the same hour of the neighbouring days (a job that runs at 07:58 or 08:03, on Monday or
//! Tuesday, has one habit, not several).

use super::{Finding, time_text};
use crate::engine::BusinessHours;
use chrono::{Datelike, Timelike};
use nhiwatch_core::alert::Evidence;
use nhiwatch_core::{Event, EventTime};
use nhiwatch_rules::OffHours;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

const HOURS_PER_WEEK: usize = 168;
const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Hour-of-week activity of one group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HourProfile {
    created: EventTime,
    events: u64,
    decayed_at: EventTime,
    hours: Vec<f32>,
    /// Sum of `hours`, kept alongside so a share costs no sum.
    total: f32,
}

impl HourProfile {
    /// An empty profile starting at `now`.
    pub fn new(now: EventTime) -> Self {
        Self { created: now, events: 0, decayed_at: now, hours: vec![0.0; HOURS_PER_WEEK], total: 0.0 }
    }

    fn decay(&mut self, now: EventTime, half_life: chrono::Duration) {
        let elapsed = now - self.decayed_at;
        if elapsed < chrono::Duration::days(1) {
            return;
        }
        let factor = 0.5f64.powf(elapsed.num_seconds() as f64 / half_life.num_seconds().max(1) as f64) as f32;
        self.hours.iter_mut().for_each(|h| *h *= factor);
        self.total = self.hours.iter().sum();
        self.decayed_at = now;
    }

    /// The hour's activity relative to an even spread over the week: 1.0 is an average hour,
    /// 0.0 an hour never used (smoothed over the neighbouring hours).
    fn relative_activity(&self, hour: usize) -> f64 {
        let total = f64::from(self.total);
        if total <= 0.0 {
            return 0.0;
        }
        let at = |i: usize| f64::from(self.hours[i % HOURS_PER_WEEK]);
        let w = HOURS_PER_WEEK;
        // The hour itself, its neighbours, and the same hour the day before and after.
        let smoothed = (2.0 * at(hour) + at(hour + w - 1) + at(hour + 1) + at(hour + w - 24) + at(hour + 24)) / 6.0;
        smoothed / total * HOURS_PER_WEEK as f64
    }

    /// The usual days and hours in words: `Mon–Fri, 08–18 UTC`. Days and hours of the day are
    /// read separately (each counts if it has at least a tenth of the busiest one's activity),
    /// which stays readable when the week's buckets are sparse.
    fn usual_hours(&self) -> String {
        let mut days = [0f32; 7];
        let mut hours = [0f32; 24];
        for (i, v) in self.hours.iter().enumerate() {
            days[i / 24] += v;
            hours[i % 24] += v;
        }
        let busiest = |xs: &[f32]| xs.iter().copied().fold(0.0f32, f32::max);
        let (max_day, max_hour) = (busiest(&days), busiest(&hours));
        if max_day <= 0.0 {
            return "none yet".to_string();
        }
        let active_days: Vec<usize> = (0..7).filter(|d| days[*d] >= max_day * 0.1).collect();
        let active_hours: Vec<usize> = (0..24).filter(|h| hours[*h] >= max_hour * 0.1).collect();
        format!("{}, {} UTC", day_ranges(&active_days), hour_ranges(&active_hours))
    }
}

/// `[0, 1, 2, 3, 4, 6]` → `Mon–Fri, Sun`.
fn day_ranges(days: &[usize]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < days.len() {
        let start = days[i];
        let mut end = start;
        while i + 1 < days.len() && days[i + 1] == end + 1 {
            i += 1;
            end = days[i];
        }
        out.push(if end == start { DAYS[start].to_string() } else { format!("{}–{}", DAYS[start], DAYS[end]) });
        i += 1;
    }
    out.join(", ")
}

/// `[8, 9, 10, 14]` → `08–11, 14–15`.
fn hour_ranges(hours: &[usize]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < hours.len() {
        let start = hours[i];
        let mut end = start;
        while i + 1 < hours.len() && hours[i + 1] == end + 1 {
            i += 1;
            end = hours[i];
        }
        out.push(format!("{start:02}–{:02}", end + 1));
        i += 1;
    }
    out.join(", ")
}

/// The hour of the week (Monday 00:00 UTC = 0).
pub fn hour_of_week(t: EventTime) -> usize {
    t.weekday().num_days_from_monday() as usize * 24 + t.hour() as usize
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
    let hour = hour_of_week(now);
    let learned = now - st.created >= oh.learning && st.events >= oh.min_events;
    let finding = if learned {
        let share = st.relative_activity(hour);
        (share < oh.threshold).then(|| {
            let mut context = Map::new();
            context.insert("hour".into(), Value::from(format!("{} {:02}:00 UTC", DAYS[hour / 24], hour % 24)));
            context.insert(
                "baseline".into(),
                json!({
                    "usual_hours": st.usual_hours(),
                    "activity_this_hour": (share * 1000.0).round() / 1000.0,
                    "activity_meaning": "this hour's activity relative to an average hour of the identity (1.0)",
                    "threshold": oh.threshold,
                    "events": st.events,
                    "observed_since": time_text(st.created),
                }),
            );
            Finding::single(Evidence::from_event(event), context)
        })
    } else {
        business.filter(|b| !b.contains(now)).map(|b| {
            let mut context = Map::new();
            context.insert("hour".into(), Value::from(format!("{} {:02}:00 UTC", DAYS[hour / 24], hour % 24)));
            context.insert(
                "baseline".into(),
                json!({
                    "learning": true,
                    "fallback": format!("organisation business hours {b}"),
                    "events": st.events,
                    "observed_since": time_text(st.created),
                }),
            );
            Finding::single(Evidence::from_event(event), context)
        })
    };
    st.hours[hour] += 1.0;
    st.total += 1.0;
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
                p.hours[d * 24 + h] = 10.0;
                p.total += 10.0;
            }
        }
        assert_eq!(p.usual_hours(), "Mon–Fri, 08–18 UTC");
        p.hours[6 * 24 + 2] = 50.0;
        assert_eq!(p.usual_hours(), "Mon–Fri, Sun, 02–03, 08–18 UTC");
        assert_eq!(hour_ranges(&[8, 9, 10, 14]), "08–11, 14–15");
    }
}
