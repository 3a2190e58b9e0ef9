//! nhiwatch decoders: bytes in, normalized [`Event`]s and located bad records out.
//!
//! [`framing`] finds the records in a buffer (`{"Records":[…]}`, a JSON array, JSON Lines, one
//! object, EventBridge envelopes); [`cloudtrail`] turns one record into an [`Event`], handing
//! records of other shapes to the GCP, Azure and Kubernetes readers (recognised per record, so
//! one file or topic may mix sources). Nothing
//! here reads files or sockets: connectors hand in bytes with a file name or offset, so a file
//! replay and a Kafka message decode the same way. Decoders never panic on input; every
//! rejected record comes back as a [`BadRecord`] naming where it was and why.
//!
//! [`Event`]: nhiwatch_core::Event

#![forbid(unsafe_code)]

mod audit;
mod azure;
pub mod bad;
pub mod cloudtrail;
pub mod framing;
mod gcp;
mod k8s;

pub use bad::{BadReason, BadRecord, Note};
pub use cloudtrail::{Decoded, decode_record, decode_record_within};
pub use framing::{DecodeOptions, DecodeOutput, Framing, decode_buffer, decode_owned};
