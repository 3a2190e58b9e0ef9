//! Rule loading errors, always pointing at `file:line:col`.

use serde_saphyr::Location;
use std::fmt;

/// A problem in one rule, located in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// 1-based line (0 when unknown).
    pub line: u64,
    /// 1-based column (0 when unknown).
    pub column: u64,
    /// What is wrong.
    pub message: String,
}

pub(crate) fn at(loc: Location, message: impl Into<String>) -> RuleError {
    RuleError { line: loc.line(), column: loc.column(), message: message.into() }
}

/// A rule file that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadError {
    /// File name as given to the loader.
    pub file: String,
    /// Line, column and reason.
    pub error: RuleError,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.error.line, self.error.column, self.error.message)
    }
}

/// Every problem found in a pack (loading reports all files' errors at once).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PackError {
    /// One entry per problem.
    pub errors: Vec<LoadError>,
}

impl fmt::Display for PackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Converts a YAML deserialization error into a located rule error.
pub fn from_yaml(err: &serde_saphyr::Error) -> RuleError {
    let (line, column) = err.location().map_or((0, 0), |l| (l.line(), l.column()));
    let message = err.without_snippet().to_string();
    // The library prefixes its own position; keep only the reason.
    let message = message
        .split_once(": ")
        .filter(|(head, _)| head.contains("line"))
        .map_or(message.clone(), |(_, rest)| rest.to_string());
    // …and its trailing position too.
    let message = match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    RuleError { line, column, message: message.trim().to_string() }
}
