//! Deterministic generator of realistic AWS CloudTrail records for nhiwatch's demo, tests and
//! benchmarks.
//!
//! - [`demo_records`]: the product demo, three weeks in a two-account organisation ending in a
//!   stolen CI key, persistence and a snapshot exfiltration (see [`demo`] for the story and
//!   its constants).
//! - [`org_story`]: a month in an organisation of a few hundred identities with honest noise
//!   and [`PlantedAttack`]s, for measuring detection and false-positive rates (see [`story`]).
//! - [`org_records`]: a large synthetic organisation ([`OrgSpec`]) streamed in event-time
//!   order, for benchmarks; [`cloud_records`] the same for GCP, Azure and Kubernetes audit logs.
//! - [`geoip::mmdb_from_csv`]: tiny GeoIP databases (MaxMind City + ASN schema) from a
//!   readable CSV, for tests and the demo.
//! - Writers: [`write_s3_archive`] (CloudTrail's S3 delivery layout), [`write_jsonl`],
//!   [`write_eventbridge_jsonl`].
//!
//! Records are [`serde_json::Value`]s with CloudTrail's field names and shapes (record version
//! 1.09). The same inputs give byte-identical outputs: all randomness comes from the crate's
//! own seeded generator, no wall clock is read, object keys are written in sorted order, and
//! gzip headers carry no time or name. (Compressed bytes also depend on flate2's backend,
//! miniz_oxide by default; enabling a zlib backend elsewhere in a build changes them.)
//!
//! This crate generates and writes; it never parses or detects anything.

#![forbid(unsafe_code)]

mod agents;
mod calls;
mod clouds;
mod cloudtrail;
pub mod demo;
pub mod geoip;
mod jsonl;
mod org;
mod rng;
mod s3;
pub mod story;

pub use clouds::{Cloud, CloudRecords, cloud_records};
pub use demo::demo_records;
pub use jsonl::{eventbridge_envelope, write_eventbridge_jsonl, write_jsonl};
pub use org::{OrgRecords, OrgSpec, org_records};
pub use s3::{s3_object_key, write_s3_archive, write_s3_archive_ordered};
pub use story::{PlantedAttack, StoryRecords, StorySpec, org_story};
