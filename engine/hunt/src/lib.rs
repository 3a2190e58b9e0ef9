//! Hunting over history: the normalized event model as Parquet, and SQL over it.
//!
//! - [`archive`]: events to Parquet files partitioned by day and account
//!   (`date=YYYY-MM-DD/account=NNN/part-….parquet`, hive style), zstd-compressed, with the raw
//!   JSON fields kept as strings; a manifest makes archiving resumable.
//! - [`read`]: events back from an archive (decoded again from the stored record, so every
//!   field path of the rules works on them).
//! - [`query`]: DataFusion SQL over the archive (`events`) and alert files (`alerts`), with
//!   helper functions (`geo_country(ip)`, `geo_asn(ip)`, `geo_city(ip)`).
//!
//! DataFusion and Arrow stay in this crate; the engine never links them.

#![forbid(unsafe_code)]

pub mod archive;
pub mod query;
pub mod read;

pub use archive::{ArchiveWriter, Manifest, event_schema, is_archive};
pub use query::{QueryOptions, run_query};

/// A hunting failure.
#[derive(Debug, thiserror::Error)]
pub enum HuntError {
    /// Reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Arrow or Parquet.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The SQL could not be planned or run.
    #[error("query failed: {0}")]
    Query(String),
}
