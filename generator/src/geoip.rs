//! Tiny GeoIP databases from a readable CSV, so tests and the demo can geolocate without a
//! commercial database.
//!
//! CSV columns: `network,country,city,latitude,longitude,asn,as_org` (header line first, `#`
//! comments allowed; `as_org` is the last column and may contain commas). Each row becomes a
//! MaxMind-City-and-ASN-shaped record (`country.iso_code`, `city.names.en`,
//! `location.latitude/longitude`, `autonomous_system_number`, `autonomous_system_organization`).
//!
//! The same CSV always gives the same bytes: the database's build time is fixed at
//! [`BUILD_EPOCH_SECS`] instead of the writer's default (now), so a committed `.mmdb` can be
//! checked against its CSV byte for byte.

use ipnet::IpNet;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

/// `build_epoch` written into every database: 2026-01-01T00:00:00Z.
pub const BUILD_EPOCH_SECS: u64 = 1_767_225_600;

#[derive(Serialize)]
struct Record {
    country: BTreeMap<&'static str, String>,
    city: BTreeMap<&'static str, BTreeMap<&'static str, String>>,
    location: BTreeMap<&'static str, f64>,
    autonomous_system_number: u32,
    autonomous_system_organization: String,
}

/// A CSV line that could not be used.
#[derive(Debug)]
pub struct CsvError {
    /// 1-based line.
    pub line: usize,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for CsvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for CsvError {}

/// Builds an MMDB (bytes) from the CSV text. Deterministic: the same text gives the same bytes.
pub fn mmdb_from_csv(csv: &str) -> Result<Vec<u8>, CsvError> {
    let mut writer = mmdb_writer::Writer::builder("nhiwatch-test-City-ASN")
        .build_epoch(UNIX_EPOCH + Duration::from_secs(BUILD_EPOCH_SECS))
        .build();
    let err = |line: usize, reason: String| CsvError { line, reason };
    for (i, raw) in csv.lines().enumerate().skip(1) {
        let line = i + 1;
        let text = raw.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = text.splitn(7, ',').map(str::trim).collect();
        let [network, country, city, lat, lon, asn, org] = cols.as_slice() else {
            return Err(err(line, format!("expected 7 columns, found {}", cols.len())));
        };
        let net: IpNet = network.parse().map_err(|e| err(line, format!("network '{network}': {e}")))?;
        let number = |name: &str, v: &str| v.parse::<f64>().map_err(|e| err(line, format!("{name} '{v}': {e}")));
        let record = Record {
            country: [("iso_code", (*country).to_string())].into(),
            city: [("names", [("en", (*city).to_string())].into())].into(),
            location: [("latitude", number("latitude", lat)?), ("longitude", number("longitude", lon)?)].into(),
            autonomous_system_number: asn.parse().map_err(|e| err(line, format!("asn '{asn}': {e}")))?,
            autonomous_system_organization: (*org).to_string(),
        };
        writer.insert(net, &record).map_err(|e| err(line, e.to_string()))?;
    }
    writer.to_bytes().map_err(|e| err(0, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_readable_database() {
        let csv = "network,country,city,latitude,longitude,asn,as_org\n# attacker\n185.220.101.0/24,DE,Berlin,52.52,13.40,208294,Relay, GmbH\n";
        let bytes = mmdb_from_csv(csv).expect("builds");
        let reader = maxminddb::Reader::from_source(bytes).expect("valid mmdb");
        assert_eq!(reader.metadata().build_epoch, BUILD_EPOCH_SECS);
        let result = reader.lookup("185.220.101.47".parse().expect("ip")).expect("lookup");
        let org: Option<String> =
            result.decode_path(&[maxminddb::PathElement::Key("autonomous_system_organization")]).expect("decode");
        assert_eq!(org.as_deref(), Some("Relay, GmbH"));
        assert!(mmdb_from_csv("h\n1.2.3.0/24,DE\n").is_err());
        assert_eq!(mmdb_from_csv(csv).expect("builds"), mmdb_from_csv(csv).expect("builds"));
    }
}
