//! The `nhiwatch` command line: configuration, rule packs, replay, output.
//!
//! The binary (`main.rs`) only parses arguments and calls into here, so end-to-end tests drive
//! the same code the binary runs.

#![forbid(unsafe_code)]

pub mod archive;
pub mod backtest;
pub mod config;
pub mod inventory;
pub mod metrics;
pub mod output;
pub mod pack;
pub mod replay;
pub mod rule_docs;
pub mod rule_lint;
pub mod rule_tests;
pub mod run;
pub mod state;
