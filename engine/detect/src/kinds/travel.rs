//! `impossible_travel` state: the group's last located event.

use super::{Finding, time_text};
use nhiwatch_core::geo::distance_km;
use nhiwatch_core::{Cited, Event, EventTime};
use nhiwatch_rules::ImpossibleTravel;
use serde::{Deserialize, Serialize};
use serde_json::{Map, json};

/// The last place a group acted from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LastFix {
    fix: Option<Fix>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Fix {
    time: EventTime,
    location: (f64, f64),
    place: String,
    ip: String,
    evidence: Cited,
}

fn place(event: &Event) -> String {
    let Some(g) = &event.geo else { return String::new() };
    match (&g.city, &g.country) {
        (Some(city), Some(country)) => format!("{city}, {country}"),
        (None, Some(country)) => country.clone(),
        (Some(city), None) => city.clone(),
        (None, None) => String::new(),
    }
}

/// A finding when the event is too far from the previous one for the time between them.
/// Events without coordinates are ignored.
pub fn observe(t: &ImpossibleTravel, st: &mut LastFix, event: &Event) -> Option<Finding> {
    let location = event.geo.as_ref()?.location?;
    let here = Fix {
        time: event.time,
        location,
        place: place(event),
        ip: event.source_ip_text().to_string(),
        evidence: Cited::from_event(event),
    };
    let previous = st.fix.replace(here);
    let previous = previous?;
    let km = distance_km(previous.location, location);
    let hours = (event.time - previous.time).num_seconds().max(0) as f64 / 3600.0;
    let speed = if hours > 0.0 { km / hours } else { f64::INFINITY };
    if km <= t.min_distance_km || speed <= t.max_speed_kmh {
        return None;
    }
    let mut context = Map::new();
    context.insert(
        "travel".into(),
        json!({
            "from": {"place": previous.place, "ip": previous.ip, "time": time_text(previous.time)},
            "to": {"place": place(event), "ip": event.source_ip_text(), "time": time_text(event.time)},
            "distance_km": km.round(),
            "hours": (hours * 100.0).round() / 100.0,
            "speed_kmh": if speed.is_finite() { json!(speed.round()) } else { json!("instant") },
            "max_speed_kmh": t.max_speed_kmh,
        }),
    );
    let ids = vec![previous.evidence.event_id().to_string(), event.event_id.clone()];
    Some(Finding { evidence: vec![previous.evidence, Cited::from_event(event)], count: 2, context, trigger_ids: ids })
}
