//! Bad records and notes: what went wrong with which record, for stderr and the summary.

use nhiwatch_core::SourceOffset;
use std::fmt;

/// Why a record (or part of a file) could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BadReason {
    /// Not valid JSON.
    InvalidJson,
    /// The input ended early (truncated file or gzip stream).
    Truncated,
    /// Bytes that are not UTF-8.
    InvalidUtf8,
    /// A required field is missing.
    MissingField,
    /// A field has the wrong JSON type.
    WrongType,
    /// `eventTime` is not a timestamp.
    InvalidTime,
    /// A record larger than the configured maximum.
    TooLarge,
    /// A JSON value that is not a record nor a known envelope.
    UnknownShape,
}

impl BadReason {
    /// Name used in summaries and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid_json",
            Self::Truncated => "truncated",
            Self::InvalidUtf8 => "invalid_utf8",
            Self::MissingField => "missing_field",
            Self::WrongType => "wrong_type",
            Self::InvalidTime => "invalid_time",
            Self::TooLarge => "too_large",
            Self::UnknownShape => "unknown_shape",
        }
    }
}

impl fmt::Display for BadReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected record (or unreadable stretch of input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord {
    /// Where.
    pub offset: SourceOffset,
    /// Why, for counting.
    pub reason: BadReason,
    /// Why, in words (names the field when one is at fault).
    pub detail: String,
}

impl fmt::Display for BadRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.offset, self.reason, self.detail)
    }
}

/// Something repaired in a record that was kept (counted, reported once per file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Note {
    /// `sourceIPAddress` had zero-padded IPv4 octets (`075.050.255.67`), read as decimal.
    ZeroPaddedIp,
    /// The record had no `eventID`; one was derived from its content.
    SynthesizedEventId,
}

impl Note {
    /// Name used in summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ZeroPaddedIp => "zero_padded_ip",
            Self::SynthesizedEventId => "synthesized_event_id",
        }
    }
}
