//! The nhiwatch event model: what every log source is normalized into, and what the engine emits.
//!
//! Nothing here does I/O, reads the wall clock or knows a log format; decoders (`nhiwatch-decode`)
//! fill these types and the engine (`nhiwatch-detect`) reads them.
//!
//! Glossary (one word per concept):
//! - **event**: one audit record (a CloudTrail record today), normalized into [`Event`].
//! - **identity**: whoever acted — a role (not the session), an IAM user (its access key is an
//!   attribute), root, an AWS service, another account, a federated principal. Keyed by
//!   [`IdentityKey`]. A **non-human identity (NHI)** is an identity the engine classified as a
//!   workload rather than a person, always with a reason.
//! - **event time**: the time an event happened, from the record itself; the engine's only clock.
//! - **watermark**: latest event time seen minus the allowed lateness; windows close on it.
//! - **alert**: what a rule emits, tagged with ATT&CK techniques and carrying its evidence.

#![forbid(unsafe_code)]

pub mod alert;
pub mod event;
pub mod field;
pub mod geo;
pub mod identity;
pub mod ip;
pub mod reorder;
pub mod time;

pub use alert::{Alert, AlertId, AlertIdentity, AttackRef, Cited, CitedText, Evidence, InlineText};
pub use event::{Event, OrderPrefix, Origin, Outcome, SourceKind, SourceOffset};
pub use field::{Builtin, FieldPath, FieldValue, RawPath, Segment};
pub use identity::{Identity, IdentityKey, IdentityType};
pub use reorder::ReorderBuffer;
pub use time::{EventTime, ParseDurationError, parse_duration};
