//! Event time and durations.
//!
//! The engine never reads the wall clock: [`EventTime`] always comes from a record. Durations in
//! rules and config are written like `15m`, `1h30m`, `7d` and parsed by [`parse_duration`].

use chrono::{DateTime, Duration, Utc};

/// A point in event time (UTC, from the record's own timestamp).
pub type EventTime = DateTime<Utc>;

/// A duration string that could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid duration '{input}': {reason} (write e.g. 90s, 15m, 1h30m, 7d)")]
pub struct ParseDurationError {
    /// The text as written.
    pub input: String,
    /// Why it was rejected.
    pub reason: &'static str,
}

/// Parses `30s`, `15m`, `2h`, `7d`, `1w` and sums like `1h30m`. Zero is allowed (`0s`).
pub fn parse_duration(input: &str) -> Result<Duration, ParseDurationError> {
    let err = |reason| ParseDurationError { input: input.to_string(), reason };
    let text = input.trim();
    if text.is_empty() {
        return Err(err("empty"));
    }
    let mut total_secs: i64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit_secs = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(err("unknown unit (use s, m, h, d or w)")),
        };
        if digits.is_empty() {
            return Err(err("a unit must follow a number"));
        }
        let n: i64 = digits.parse().map_err(|_| err("number too large"))?;
        digits.clear();
        total_secs = n
            .checked_mul(unit_secs)
            .and_then(|s| total_secs.checked_add(s))
            .ok_or_else(|| err("duration too large"))?;
    }
    if !digits.is_empty() {
        return Err(err("number without a unit"));
    }
    Duration::try_seconds(total_secs).ok_or_else(|| err("duration too large"))
}

/// Formats a duration back the way users write it (`1h30m`, `15m`, `0s`).
pub fn format_duration(d: Duration) -> String {
    let mut secs = d.num_seconds();
    if secs == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    if secs < 0 {
        out.push('-');
        secs = -secs;
    }
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_sums() {
        assert_eq!(parse_duration("15m"), Ok(Duration::minutes(15)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::minutes(90)));
        assert_eq!(parse_duration("7d"), Ok(Duration::days(7)));
        assert_eq!(parse_duration("0s"), Ok(Duration::zero()));
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["", "15", "m", "15x", "1.5h", "99999999999999999999s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_back() {
        assert_eq!(format_duration(Duration::minutes(90)), "1h30m");
        assert_eq!(format_duration(Duration::zero()), "0s");
    }
}
