//! Kafka for nhiwatch: the live input and the alert and dead-letter outputs.
//!
//! - [`settings`]: the `[kafka]` configuration and the librdkafka properties built from it.
//! - [`group`]: a consumer-group member whose partitions are handed to a [`group::PartitionOwner`]
//!   on every rebalance: it names the offset each assigned partition resumes from (its
//!   checkpoint) and finishes each revoked one (flush, checkpoint) before it leaves.
//! - [`producer`]: an idempotent producer that resends what failed until every message is
//!   acknowledged, so a checkpoint taken after [`producer::ReliableProducer::flush`] never
//!   lies about what was delivered.
//!
//! Only the binary and this crate link librdkafka; the engine never sees Kafka.

#![forbid(unsafe_code)]

pub mod group;
pub mod producer;
pub mod settings;

pub use group::{GroupContext, PartitionOwner, TopicPartition};

/// Keeps a client's repeated complaints (every reconnect attempt while a broker is away) from
/// flooding the log: each distinct message is logged at most once a minute.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    seen: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

impl Throttle {
    /// Messages kept in memory before the oldest are forgotten.
    const KEEP: usize = 256;

    pub(crate) fn admit(&self, message: &str) -> bool {
        let Ok(mut seen) = self.seen.lock() else { return true };
        let now = std::time::Instant::now();
        if seen.get(message).is_some_and(|at| now.duration_since(*at) < std::time::Duration::from_secs(60)) {
            return false;
        }
        if seen.len() >= Self::KEEP {
            seen.retain(|_, at| now.duration_since(*at) < std::time::Duration::from_secs(60));
        }
        seen.insert(message.to_string(), now);
        true
    }
}
pub use producer::{Outgoing, ReliableProducer};
pub use settings::{KafkaSettings, PropertyValue};

/// A Kafka failure, with what was being done.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// The client could not be created (bad property, unreachable library feature).
    #[error("creating the Kafka {what}: {source}")]
    Create {
        /// Consumer or producer.
        what: &'static str,
        /// librdkafka's reason.
        source: rdkafka::error::KafkaError,
    },
    /// Subscribing to the topics failed.
    #[error("subscribing to {topics:?}: {source}")]
    Subscribe {
        /// Topics asked for.
        topics: Vec<String>,
        /// librdkafka's reason.
        source: rdkafka::error::KafkaError,
    },
    /// Messages were still unacknowledged when the deadline passed.
    #[error("{pending} messages still unacknowledged by the brokers after {waited_secs}s ({last_error})")]
    Unacknowledged {
        /// Messages in flight or waiting to be resent.
        pending: u64,
        /// How long we waited.
        waited_secs: u64,
        /// The last delivery error seen.
        last_error: String,
    },
}
