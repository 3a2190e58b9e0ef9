//! The committed demo GeoIP database: current with its CSV, and covering the addresses the demo
//! and the story organisation use.

use maxminddb::{PathElement, Reader};
use nhiwatch_generator::geoip::mmdb_from_csv;
use nhiwatch_generator::{StorySpec, demo_records, org_story};
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/geoip").join(path)
}

fn demo_database() -> Reader<Vec<u8>> {
    let path = fixture("demo.mmdb");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Reader::from_source(bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Country code of `ip` in `reader`, `None` when no network of the database holds it.
fn country(reader: &Reader<Vec<u8>>, ip: IpAddr) -> Option<String> {
    let result = reader.lookup(ip).unwrap_or_else(|e| panic!("{ip}: {e}"));
    result
        .decode_path(&[PathElement::Key("country"), PathElement::Key("iso_code")])
        .unwrap_or_else(|e| panic!("{ip}: {e}"))
}

fn city(reader: &Reader<Vec<u8>>, ip: &str) -> Option<String> {
    let ip: IpAddr = ip.parse().expect("test address");
    let result = reader.lookup(ip).unwrap_or_else(|e| panic!("{ip}: {e}"));
    let path = [PathElement::Key("city"), PathElement::Key("names"), PathElement::Key("en")];
    result.decode_path(&path).unwrap_or_else(|e| panic!("{ip}: {e}"))
}

#[test]
fn committed_demo_mmdb_is_built_from_the_committed_csv() {
    let csv_path = fixture("test-geo.csv");
    let csv = std::fs::read_to_string(&csv_path).unwrap_or_else(|e| panic!("{}: {e}", csv_path.display()));
    let fresh = mmdb_from_csv(&csv).unwrap_or_else(|e| panic!("{}: {e}", csv_path.display()));
    let committed = std::fs::read(fixture("demo.mmdb")).unwrap_or_else(|e| panic!("fixtures/geoip/demo.mmdb: {e}"));
    assert!(
        committed == fresh,
        "fixtures/geoip/demo.mmdb is stale: run `cargo run -p nhiwatch-generator --release -- geoip \
         --csv fixtures/geoip/test-geo.csv --out fixtures/geoip/demo.mmdb`"
    );
}

#[test]
fn demo_workloads_and_attacker_geolocate() {
    let reader = demo_database();
    assert_eq!(city(&reader, "140.82.120.77").as_deref(), Some("San Francisco"));
    assert_eq!(city(&reader, "185.220.101.47").as_deref(), Some("Amsterdam"));
    // Every address in the demo geolocates, except the office's documentation range
    // (198.51.100.0/24, people only), which the CSV does not hold.
    let mut unknown = BTreeSet::new();
    let mut countries = BTreeSet::new();
    for record in demo_records() {
        let Ok(ip) = record["sourceIPAddress"].as_str().unwrap_or_default().parse::<IpAddr>() else { continue };
        match country(&reader, ip) {
            Some(code) => {
                countries.insert(code);
            }
            None => {
                unknown.insert(ip.to_string());
            }
        }
    }
    assert!(unknown.iter().all(|ip| ip.starts_with("198.51.100.")), "{unknown:?}");
    assert_eq!(countries, BTreeSet::from(["NL".to_owned(), "US".to_owned()]));
}

#[test]
fn story_addresses_all_geolocate() {
    let reader = demo_database();
    let (records, _) = org_story(&StorySpec { identities: 60, days: 28, ..StorySpec::default() });
    let mut countries = BTreeSet::new();
    for record in records {
        let text = record.get("sourceIPAddress").and_then(Value::as_str).unwrap_or_default();
        let ip: IpAddr = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        countries.insert(country(&reader, ip).unwrap_or_else(|| panic!("{ip} is in no network of test-geo.csv")));
    }
    let expected: BTreeSet<String> = ["AU", "DE", "NL", "US"].map(String::from).into();
    assert_eq!(countries, expected);
}
