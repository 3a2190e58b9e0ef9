//! The `[kafka]` section and the librdkafka properties built from it.

use rdkafka::ClientConfig;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// `[kafka]`: where to read from. `[kafka.consumer]` and `[kafka.producer]` are passed to
/// librdkafka as they are (`security.protocol`, `sasl.*`, `ssl.*`, timeouts) and win over the
/// defaults below.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSettings {
    /// Bootstrap brokers, `host:port[,host:port…]`.
    pub brokers: String,
    /// Consumer group (default `nhiwatch`).
    #[serde(default = "default_group")]
    pub group_id: String,
    /// Topics of audit records (CloudTrail records, `{"Records":[…]}` batches, EventBridge
    /// envelopes).
    #[serde(default)]
    pub topics: Vec<String>,
    /// Extra librdkafka consumer properties.
    #[serde(default)]
    pub consumer: BTreeMap<String, PropertyValue>,
    /// Extra librdkafka producer properties (alerts, dead letters).
    #[serde(default)]
    pub producer: BTreeMap<String, PropertyValue>,
}

fn default_group() -> String {
    "nhiwatch".to_string()
}

/// A librdkafka property value as written in TOML (`30000`, `true` or `"SASL_SSL"`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum PropertyValue {
    /// A string.
    Text(String),
    /// A number.
    Integer(i64),
    /// A flag.
    Flag(bool),
}

impl fmt::Display for PropertyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(s) => f.write_str(s),
            Self::Integer(n) => write!(f, "{n}"),
            Self::Flag(b) => write!(f, "{b}"),
        }
    }
}

impl KafkaSettings {
    /// Settings for `brokers` with every default.
    pub fn for_brokers(brokers: &str) -> Self {
        Self { brokers: brokers.to_string(), group_id: default_group(), ..Self::default() }
    }

    /// Consumer properties: manual offset handling (the engine commits only what its
    /// checkpoints hold), start at the earliest record of a partition never read before,
    /// fetches answered within 100 ms (librdkafka waits up to 500 ms for a full fetch, which
    /// is latency an alert does not need), statistics every 5 s for the lag metric; then
    /// `[kafka.consumer]`.
    pub fn consumer_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("group.id", &self.group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("fetch.wait.max.ms", "100")
            .set("statistics.interval.ms", "5000")
            .set("client.id", "nhiwatch");
        for (k, v) in &self.consumer {
            c.set(k, v.to_string());
        }
        c
    }

    /// Producer properties: idempotent, acknowledged by all in-sync replicas, retried by
    /// librdkafka for up to five minutes (then resent by [`crate::ReliableProducer`]); then
    /// `[kafka.producer]`.
    pub fn producer_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "300000")
            .set("client.id", "nhiwatch");
        for (k, v) in &self.producer {
            c.set(k, v.to_string());
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_properties_win_over_defaults() {
        let mut s = KafkaSettings::for_brokers("b:9092");
        s.consumer.insert("auto.offset.reset".into(), PropertyValue::Text("latest".into()));
        s.consumer.insert("session.timeout.ms".into(), PropertyValue::Integer(30000));
        s.producer.insert("enable.idempotence".into(), PropertyValue::Flag(false));
        let c = s.consumer_config();
        assert_eq!(c.get("auto.offset.reset"), Some("latest"));
        assert_eq!(c.get("session.timeout.ms"), Some("30000"));
        assert_eq!(c.get("enable.auto.commit"), Some("false"));
        assert_eq!(s.producer_config().get("enable.idempotence"), Some("false"));
        assert_eq!(s.producer_config().get("acks"), Some("all"));
    }
}
