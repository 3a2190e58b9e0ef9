//! GeoIP for nhiwatch: MaxMind DB files behind [`GeoResolver`].
//!
//! Reads both families of free databases users have: MaxMind GeoLite2 / GeoIP2 (Country, City,
//! ASN: `country.iso_code`, `city.names.en`, `location.latitude`, `autonomous_system_number`)
//! and DB-IP Lite as packaged in the `@ip-location-db` npm packages (flat `country_code`,
//! `city`, `latitude`, `longitude`). Several files are consulted in the order given and their
//! answers merged, so a Country (or City) database and an ASN database work together.
//!
//! This crate opens files when built; lookups are pure reads of memory.

#![forbid(unsafe_code)]

use maxminddb::{PathElement, Reader};
use nhiwatch_core::geo::{GeoInfo, GeoResolver};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// A database that could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("GeoIP database {path}: {source}")]
pub struct OpenError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: maxminddb::MaxMindDbError,
}

/// One or more MaxMind-format databases.
pub struct MmdbResolver {
    readers: Vec<(PathBuf, Reader<Vec<u8>>)>,
}

impl std::fmt::Debug for MmdbResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let paths: Vec<_> = self.readers.iter().map(|(p, r)| (p, &r.metadata().database_type)).collect();
        f.debug_struct("MmdbResolver").field("databases", &paths).finish()
    }
}

impl MmdbResolver {
    /// Opens every file; fails naming the first that is not a valid database.
    pub fn open(paths: &[impl AsRef<Path>]) -> Result<Self, OpenError> {
        let readers = paths
            .iter()
            .map(|p| {
                let path = p.as_ref().to_path_buf();
                Reader::open_readfile(&path).map(|r| (path.clone(), r)).map_err(|source| OpenError { path, source })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { readers })
    }

    /// A database held in memory (`name` is used in messages).
    pub fn from_bytes(name: &str, bytes: Vec<u8>) -> Result<Self, OpenError> {
        let path = PathBuf::from(name);
        let reader = Reader::from_source(bytes).map_err(|source| OpenError { path: path.clone(), source })?;
        Ok(Self { readers: vec![(path, reader)] })
    }

    /// Database types, for the summary (`GeoLite2-City`, `DBIP-Country-Lite`, …).
    pub fn database_types(&self) -> Vec<String> {
        self.readers.iter().map(|(_, r)| r.metadata().database_type.clone()).collect()
    }
}

fn text(result: &maxminddb::LookupResult<'_, Vec<u8>>, path: &[PathElement<'_>]) -> Option<String> {
    result.decode_path::<String>(path).ok().flatten().filter(|s| !s.is_empty())
}

fn number(result: &maxminddb::LookupResult<'_, Vec<u8>>, path: &[PathElement<'_>]) -> Option<f64> {
    result.decode_path::<f64>(path).ok().flatten()
}

impl GeoResolver for MmdbResolver {
    fn resolve(&self, ip: IpAddr) -> Option<GeoInfo> {
        use PathElement::Key;
        let mut info = GeoInfo::default();
        for (_, reader) in &self.readers {
            let Ok(result) = reader.lookup(ip) else { continue };
            if !result.has_data() {
                continue;
            }
            if info.country.is_none() {
                info.country = text(&result, &[Key("country"), Key("iso_code")])
                    .or_else(|| text(&result, &[Key("country_code")]))
                    .map(|c| c.to_ascii_uppercase());
            }
            if info.city.is_none() {
                info.city =
                    text(&result, &[Key("city"), Key("names"), Key("en")]).or_else(|| text(&result, &[Key("city")]));
            }
            if info.asn.is_none() {
                info.asn = result.decode_path::<u32>(&[Key("autonomous_system_number")]).ok().flatten();
                info.as_org = text(&result, &[Key("autonomous_system_organization")]);
            }
            if info.location.is_none() {
                let nested = number(&result, &[Key("location"), Key("latitude")])
                    .zip(number(&result, &[Key("location"), Key("longitude")]));
                let flat = || number(&result, &[Key("latitude")]).zip(number(&result, &[Key("longitude")]));
                info.location = nested.or_else(flat);
            }
        }
        (!info.is_empty()).then_some(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use std::collections::BTreeMap;

    #[derive(Serialize)]
    struct MaxMindCity {
        country: BTreeMap<&'static str, &'static str>,
        city: BTreeMap<&'static str, BTreeMap<&'static str, &'static str>>,
        location: BTreeMap<&'static str, f64>,
    }

    #[derive(Serialize)]
    struct DbIpCity {
        country_code: &'static str,
        city: &'static str,
        latitude: f64,
        longitude: f64,
    }

    #[derive(Serialize)]
    struct Asn {
        autonomous_system_number: u32,
        autonomous_system_organization: &'static str,
    }

    fn write<T: Serialize>(dir: &Path, name: &str, net: &str, record: &T) -> PathBuf {
        let mut w = mmdb_writer::Writer::new(name);
        w.insert(net.parse::<ipnet::IpNet>().expect("net"), record).expect("insert");
        let path = dir.join(format!("{name}.mmdb"));
        std::fs::write(&path, w.to_bytes().expect("bytes")).expect("write");
        path
    }

    #[test]
    fn reads_both_schemas_and_merges_databases() {
        let dir = tempfile::tempdir().expect("tempdir");
        let maxmind = write(
            dir.path(),
            "GeoLite2-City",
            "185.220.101.0/24",
            &MaxMindCity {
                country: [("iso_code", "DE")].into(),
                city: [("names", [("en", "Berlin")].into())].into(),
                location: [("latitude", 52.52), ("longitude", 13.40)].into(),
            },
        );
        let dbip = write(
            dir.path(),
            "DBIP-City-Lite",
            "140.82.112.0/20",
            &DbIpCity { country_code: "us", city: "San Francisco", latitude: 37.77, longitude: -122.42 },
        );
        let asn = write(
            dir.path(),
            "GeoLite2-ASN",
            "185.220.101.0/24",
            &Asn { autonomous_system_number: 208_294, autonomous_system_organization: "Example Relay AS" },
        );
        let r = MmdbResolver::open(&[maxmind, dbip, asn]).expect("open");
        let berlin = r.resolve("185.220.101.47".parse().expect("ip")).expect("found");
        assert_eq!(berlin.country.as_deref(), Some("DE"));
        assert_eq!(berlin.city.as_deref(), Some("Berlin"));
        assert_eq!(berlin.asn, Some(208_294));
        assert_eq!(berlin.location, Some((52.52, 13.40)));
        let sf = r.resolve("140.82.113.9".parse().expect("ip")).expect("found");
        assert_eq!(sf.country.as_deref(), Some("US"));
        assert_eq!(sf.location, Some((37.77, -122.42)));
        assert!(r.resolve("8.8.8.8".parse().expect("ip")).is_none());
    }

    #[test]
    fn a_bad_file_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("broken.mmdb");
        std::fs::write(&path, b"not a database").expect("write");
        let err = MmdbResolver::open(&[&path]).expect_err("invalid");
        assert!(err.to_string().contains("broken.mmdb"), "{err}");
    }
}
