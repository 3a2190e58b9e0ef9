//! nhiwatch detection engine: pure, synchronous, on event time.
//!
//! [`Engine`] classifies each identity (human or non-human, with the reason), evaluates the
//! compiled [`RulePack`](nhiwatch_rules::RulePack) and emits [`Alert`](nhiwatch_core::Alert)s.
//! It never reads the wall clock, a file or a socket; connectors feed it and sinks take its
//! alerts, so replay, live streaming and tests share one code path.

// Denied rather than forbidden: the cache hints of `prefetch` need one intrinsic.
#![deny(unsafe_code)]

pub mod bounded;
pub mod classify;
pub mod engine;
pub mod kinds;
mod prefetch;
pub mod snapshot;
pub mod state;
pub mod stats;
pub mod suppress;
pub mod testing;

pub use classify::Classifier;
pub use engine::{BusinessHours, Engine, EngineConfig};
pub use stats::EngineStats;
