//! An idempotent producer that keeps resending until every message is acknowledged.
//!
//! librdkafka retries on its own for `message.timeout.ms`; a message that still fails (the
//! brokers were away longer) comes back through the delivery callback and is queued here to
//! be sent again at the next [`ReliableProducer::flush`]. So after `flush` returns `Ok`, every
//! message sent before it is on the brokers, and a checkpoint taken then loses no alert.

use crate::KafkaError;
use rdkafka::ClientConfig;
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, error::RDKafkaErrorCode};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A message to produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Topic.
    pub topic: String,
    /// Key (alert id, identity) deciding the partition.
    pub key: Option<Vec<u8>>,
    /// Body.
    pub payload: Vec<u8>,
    /// Headers, in order.
    pub headers: Vec<(String, Vec<u8>)>,
}

/// Counts deliveries and keeps the failed messages for resending.
#[derive(Debug, Default)]
struct Tracker {
    in_flight: AtomicU64,
    acknowledged: AtomicU64,
    failed: Mutex<Vec<Outgoing>>,
    last_error: Mutex<String>,
    throttle: crate::Throttle,
}

impl ClientContext for Tracker {
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        if self.throttle.admit(&error.to_string()) {
            tracing::warn!(%error, reason, "kafka producer error (retrying; repeats are not logged for a minute)");
        }
    }

    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
        crate::group::log_client_message(&self.throttle, level, fac, message);
    }
}

impl ProducerContext for Tracker {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.acknowledged.fetch_add(1, Ordering::Relaxed);
            }
            Err((error, message)) => {
                let again = Outgoing {
                    topic: message.topic().to_string(),
                    key: message.key().map(<[u8]>::to_vec),
                    payload: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                    headers: message
                        .headers()
                        .map(|h| {
                            h.iter()
                                .map(|Header { key, value }| (key.to_string(), value.unwrap_or_default().to_vec()))
                                .collect()
                        })
                        .unwrap_or_default(),
                };
                tracing::warn!(topic = message.topic(), %error, "delivery failed; will resend");
                if let Ok(mut last) = self.last_error.lock() {
                    *last = error.to_string();
                }
                if let Ok(mut failed) = self.failed.lock() {
                    failed.push(again);
                }
            }
        }
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// See the module documentation.
pub struct ReliableProducer {
    inner: ThreadedProducer<Tracker>,
}

impl std::fmt::Debug for ReliableProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReliableProducer").field("pending", &self.pending()).finish()
    }
}

impl ReliableProducer {
    /// A producer with `config` (see [`crate::KafkaSettings::producer_config`]).
    pub fn new(config: &ClientConfig) -> Result<Self, KafkaError> {
        let inner = config
            .create_with_context(Tracker::default())
            .map_err(|source| KafkaError::Create { what: "producer", source })?;
        Ok(Self { inner })
    }

    /// Queues `message`; waits while librdkafka's local queue is full.
    pub fn send(&self, message: Outgoing) {
        let tracker = self.inner.context();
        tracker.in_flight.fetch_add(1, Ordering::Relaxed);
        let mut headers = OwnedHeaders::new_with_capacity(message.headers.len());
        for (key, value) in &message.headers {
            headers = headers.insert(Header { key, value: Some(value.as_slice()) });
        }
        let mut record: BaseRecord<'_, [u8], [u8]> =
            BaseRecord::to(&message.topic).payload(message.payload.as_slice()).headers(headers);
        if let Some(key) = &message.key {
            record = record.key(key.as_slice());
        }
        loop {
            match self.inner.send(record) {
                Ok(()) => return,
                Err((rdkafka::error::KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err((error, _)) => {
                    tracing::warn!(topic = %message.topic, %error, "cannot queue message; will resend");
                    if let Ok(mut last) = tracker.last_error.lock() {
                        *last = error.to_string();
                    }
                    tracker.in_flight.fetch_sub(1, Ordering::Relaxed);
                    if let Ok(mut failed) = tracker.failed.lock() {
                        failed.push(message.clone());
                    }
                    return;
                }
            }
        }
    }

    /// Messages not yet acknowledged (in flight or waiting to be resent).
    pub fn pending(&self) -> u64 {
        let tracker = self.inner.context();
        tracker.in_flight.load(Ordering::Relaxed) + tracker.failed.lock().map(|f| f.len() as u64).unwrap_or(0)
    }

    /// Messages acknowledged so far.
    pub fn acknowledged(&self) -> u64 {
        self.inner.context().acknowledged.load(Ordering::Relaxed)
    }

    /// Waits until every message sent so far is acknowledged, resending failures, for at most
    /// `deadline`.
    pub fn flush(&self, deadline: Duration) -> Result<(), KafkaError> {
        let started = Instant::now();
        loop {
            let resend: Vec<Outgoing> =
                self.inner.context().failed.lock().map(|mut f| std::mem::take(&mut *f)).unwrap_or_default();
            for message in resend {
                self.send(message);
            }
            if self.pending() == 0 {
                return Ok(());
            }
            if started.elapsed() >= deadline {
                return Err(KafkaError::Unacknowledged {
                    pending: self.pending(),
                    waited_secs: started.elapsed().as_secs(),
                    last_error: self.inner.context().last_error.lock().map(|e| e.clone()).unwrap_or_default(),
                });
            }
            // Flush returns early once the queue is empty; a timeout only means "not yet".
            let _ = self.inner.flush(Duration::from_millis(500));
            if self.pending() > 0 && self.inner.context().failed.lock().map(|f| !f.is_empty()).unwrap_or(false) {
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}
