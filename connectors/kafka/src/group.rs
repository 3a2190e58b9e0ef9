//! A consumer-group member whose partitions carry their own checkpoints.
//!
//! librdkafka calls [`GroupContext`] on every rebalance, from inside `poll`. On assignment the
//! [`PartitionOwner`] names the offset each partition resumes from (the one stored with its
//! checkpoint), so a partition that moves between instances resumes exactly where its state
//! was saved, whatever the group's committed offset says. On revocation the owner delivers
//! what is pending and checkpoints first; the offsets it returns are committed before the
//! partitions leave.

use crate::KafkaError;
use crate::settings::KafkaSettings;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::error::KafkaResult;
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::sync::Arc;

/// A topic and partition.
pub type TopicPartition = (String, i32);

/// What owns the state of assigned partitions (the engine, one per partition).
pub trait PartitionOwner: Send + Sync + 'static {
    /// Partitions just assigned; for each, the offset to resume from, or `None` for the
    /// group's committed offset (the earliest one when there is none).
    fn assigned(&self, partitions: &[TopicPartition]) -> Vec<Option<i64>>;
    /// Partitions about to be taken away: deliver and checkpoint them. Returns the next
    /// offset of each, to commit before they leave.
    fn revoked(&self, partitions: &[TopicPartition]) -> Vec<(TopicPartition, i64)>;
    /// Consumer lag of a partition (messages behind the end), from the client's statistics.
    fn lag(&self, _partition: &TopicPartition, _lag: i64) {}
}

/// The consumer's context: routes rebalances and statistics to the owner, logs to `tracing`.
#[derive(Debug)]
pub struct GroupContext<O> {
    owner: Arc<O>,
    throttle: crate::Throttle,
}

impl<O: PartitionOwner> ClientContext for GroupContext<O> {
    fn stats(&self, statistics: Statistics) {
        for (topic, t) in statistics.topics {
            for (partition, p) in t.partitions {
                // -1 is librdkafka's "internal" partition and "unknown" lag.
                if partition >= 0 && p.consumer_lag >= 0 {
                    self.owner.lag(&(topic.clone(), partition), p.consumer_lag);
                }
            }
        }
    }

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        if self.throttle.admit(&error.to_string()) {
            tracing::warn!(%error, reason, "kafka client error (retrying; repeats are not logged for a minute)");
        }
    }

    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
        log_client_message(&self.throttle, level, fac, message);
    }
}

/// librdkafka's own log lines, through `tracing`; failures repeated while a broker is away are
/// throttled.
pub(crate) fn log_client_message(
    throttle: &crate::Throttle,
    level: rdkafka::config::RDKafkaLogLevel,
    fac: &str,
    message: &str,
) {
    use rdkafka::config::RDKafkaLogLevel as L;
    match level {
        L::Emerg | L::Alert | L::Critical | L::Error => {
            if throttle.admit(message) {
                tracing::error!(facility = fac, "librdkafka: {message}");
            }
        }
        L::Warning => tracing::warn!(facility = fac, "librdkafka: {message}"),
        L::Notice | L::Info => tracing::info!(facility = fac, "librdkafka: {message}"),
        L::Debug => tracing::debug!(facility = fac, "librdkafka: {message}"),
    }
}

fn partitions_of(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    tpl.elements().iter().map(|e| (e.topic().to_string(), e.partition())).collect()
}

impl<O: PartitionOwner> ConsumerContext for GroupContext<O> {
    fn rebalance(&self, consumer: &BaseConsumer<Self>, err: RDKafkaRespErr, tpl: &mut TopicPartitionList) {
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let partitions = partitions_of(tpl);
                let offsets = self.owner.assigned(&partitions);
                for ((topic, partition), offset) in partitions.iter().zip(offsets) {
                    if let Some(offset) = offset
                        && let Err(e) = tpl.set_partition_offset(topic, *partition, Offset::Offset(offset))
                    {
                        tracing::error!(topic, partition, offset, error = %e, "cannot resume from checkpoint offset");
                    }
                }
                tracing::info!(?partitions, "partitions assigned");
                if let Err(e) = consumer.assign(tpl) {
                    tracing::error!(error = %e, "assigning partitions failed");
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                let partitions = partitions_of(tpl);
                tracing::info!(?partitions, "partitions revoked");
                let offsets = self.owner.revoked(&partitions);
                if let Err(e) = commit(consumer, &offsets, CommitMode::Sync) {
                    tracing::warn!(error = %e, "committing revoked partitions failed (their checkpoints hold the offsets)");
                }
                if let Err(e) = consumer.unassign() {
                    tracing::error!(error = %e, "unassigning partitions failed");
                }
            }
            other => {
                tracing::error!(error = ?other, "rebalance failed; dropping the assignment");
                if let Err(e) = consumer.unassign() {
                    tracing::error!(error = %e, "unassigning partitions failed");
                }
            }
        }
    }
}

/// A consumer-group member subscribed to `settings.topics`, reporting to `owner`.
pub fn subscribe<O: PartitionOwner>(
    settings: &KafkaSettings,
    owner: Arc<O>,
) -> Result<BaseConsumer<GroupContext<O>>, KafkaError> {
    let consumer: BaseConsumer<GroupContext<O>> = settings
        .consumer_config()
        .create_with_context(GroupContext { owner, throttle: crate::Throttle::default() })
        .map_err(|source| KafkaError::Create { what: "consumer", source })?;
    let topics: Vec<&str> = settings.topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topics).map_err(|source| KafkaError::Subscribe { topics: settings.topics.clone(), source })?;
    Ok(consumer)
}

/// Commits next offsets (nothing to do for an empty list).
pub fn commit<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    offsets: &[(TopicPartition, i64)],
    mode: CommitMode,
) -> KafkaResult<()> {
    if offsets.is_empty() {
        return Ok(());
    }
    let mut tpl = TopicPartitionList::new();
    for ((topic, partition), offset) in offsets {
        tpl.add_partition_offset(topic, *partition, Offset::Offset(*offset))?;
    }
    consumer.commit(&tpl, mode)
}
