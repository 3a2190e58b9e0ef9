//! Where an address is: the facts the baseline rules compare (country, network, coordinates).
//!
//! The engine asks a [`GeoResolver`] (the MaxMind-format reader lives in `nhiwatch-geo`) and
//! never treats private, reserved or documentation addresses, nor AWS service sources, as
//! places: they say nothing about where a credential is used from.

use serde::Serialize;
use std::fmt::Debug;
use std::net::IpAddr;

/// What a GeoIP lookup found. Every part is optional: databases differ in what they carry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GeoInfo {
    /// ISO 3166-1 alpha-2 country code (`DE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// City name (English).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Autonomous system number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    /// Autonomous system organisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_org: Option<String>,
    /// Latitude and longitude in degrees, when the database has coordinates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<(f64, f64)>,
}

impl GeoInfo {
    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.country.is_none() && self.city.is_none() && self.asn.is_none() && self.location.is_none()
    }
}

/// Resolves public addresses to places. Implementations must be cheap to call repeatedly;
/// the engine caches results.
pub trait GeoResolver: Send + Sync + Debug {
    /// The place of `ip`, or `None` when no database knows it.
    fn resolve(&self, ip: IpAddr) -> Option<GeoInfo>;
}

/// True for addresses that can name a place: not private, loopback, link-local, shared
/// (CGNAT), documentation, benchmarking, multicast or otherwise reserved.
pub fn is_public_place(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8))
                && v6.to_ipv4_mapped().is_none_or(|v4| is_public_place(IpAddr::V4(v4)))
        }
    }
}

/// Great-circle distance in kilometres between two (latitude, longitude) points.
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    const EARTH_RADIUS_KM: f64 = 6371.0;
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_places() {
        for ip in [
            "10.1.2.3",
            "192.168.0.1",
            "127.0.0.1",
            "100.64.0.1",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "::1",
            "fd00::1",
            "2001:db8::1",
            "169.254.169.254",
        ] {
            assert!(!is_public_place(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["185.220.101.47", "140.82.112.3", "2a01:4f8::1"] {
            assert!(is_public_place(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[test]
    fn distances_are_great_circle() {
        let frankfurt = (50.11, 8.68);
        let new_york = (40.71, -74.01);
        let d = distance_km(frankfurt, new_york);
        assert!((6150.0..6250.0).contains(&d), "{d}");
        assert_eq!(distance_km(frankfurt, frankfurt), 0.0);
    }
}
