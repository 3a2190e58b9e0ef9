//! A real Kafka-protocol broker (Tansu, sqlite storage) for the streaming tests, and the
//! `nhiwatch` binary run against it.
//!
//! Each test starts its own broker on a free port in its own directory, and stops it when
//! dropped. The broker binary comes from `NHIWATCH_TANSU` (set by `scripts/test`) or the
//! cache `scripts/install-tansu.sh` fills.

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn tansu_binary() -> PathBuf {
    let path = match std::env::var_os("NHIWATCH_TANSU") {
        Some(p) => PathBuf::from(p),
        None => {
            let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
            home.join(".cache/nhiwatch/tansu-0.6.0/bin/tansu")
        }
    };
    assert!(
        path.is_file(),
        "the Kafka-protocol broker Tansu is not installed at {}: run scripts/install-tansu.sh (or the whole suite with scripts/test)",
        path.display()
    );
    path
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local address").port()
}

/// A running broker.
#[derive(Debug)]
pub struct Broker {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Broker {
    /// Starts a broker on a free port, storing its data in a new temporary directory.
    pub fn start() -> Self {
        let mut broker = Self { port: free_port(), dir: tempfile::tempdir().expect("tempdir"), child: None };
        broker.launch();
        broker
    }

    fn launch(&mut self) {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("broker.log"))
            .expect("broker log");
        let child = Command::new(tansu_binary())
            .current_dir(self.dir.path())
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            // Relative to the working directory: an absolute path would lose its leading '/'.
            .args(["--storage-engine", "sqlite://tansu.db"])
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start tansu");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "broker did not listen on {url}:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `host:port` for clients.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The broker's own log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("broker.log")).unwrap_or_default()
    }

    /// Creates a topic.
    pub fn create_topic(&self, name: &str, partitions: u32) {
        let out = Command::new(tansu_binary())
            .args(["topic", "create", "--broker", &format!("tcp://127.0.0.1:{}", self.port)])
            .args(["--partitions", &partitions.to_string(), name])
            .output()
            .expect("tansu topic create");
        assert!(out.status.success(), "creating topic {name}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Stops the broker (its data stays for [`Broker::restart`]).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the broker again on the same port with the same data.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// Produces `payloads` to partition 0 of `topic`, in order (key `k`).
    pub fn produce(&self, topic: &str, payloads: &[&[u8]]) {
        let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap())
            .set("enable.idempotence", "true")
            .create()
            .expect("producer");
        for p in payloads {
            producer
                .send(BaseRecord::<[u8], [u8]>::to(topic).key(b"k".as_slice()).partition(0).payload(p))
                .expect("queue message");
        }
        producer.flush(Duration::from_secs(30)).expect("messages acknowledged");
    }

    /// Every message of `topic` (all partitions up to `partitions`), read from the start until
    /// `quiet` passes with nothing new.
    pub fn read_all(&self, topic: &str, partitions: i32, quiet: Duration) -> Vec<Record> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap())
            .set("group.id", "nhiwatch-test-reader")
            .set("enable.auto.commit", "false")
            .create()
            .expect("consumer");
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition_offset(topic, p, Offset::Beginning).expect("partition");
        }
        consumer.assign(&tpl).expect("assign");
        let mut out = Vec::new();
        let mut last = Instant::now();
        while last.elapsed() < quiet {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
                last = Instant::now();
                let headers = m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| {
                                (h.key.to_string(), String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned())
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(Record {
                    partition: m.partition(),
                    offset: m.offset(),
                    key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                    payload: String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
                    headers,
                });
            }
        }
        out
    }

    /// The offset committed by `group` for partition 0 of `topic`.
    pub fn committed(&self, group: &str, topic: &str) -> Option<i64> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap())
            .set("group.id", group)
            .create()
            .expect("consumer");
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(topic, 0);
        let committed = consumer.committed_offsets(tpl, Duration::from_secs(10)).expect("committed offsets");
        match committed.find_partition(topic, 0)?.offset() {
            Offset::Offset(o) => Some(o),
            _ => None,
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A message read back.
#[derive(Debug, Clone)]
pub struct Record {
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Key, as text.
    pub key: Option<String>,
    /// Body, as text.
    pub payload: String,
    /// Headers, as text.
    pub headers: Vec<(String, String)>,
}

/// The `nhiwatch` binary built beside this test.
pub fn nhiwatch_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let dir = exe.parent().and_then(Path::parent).expect("target directory");
    let bin = dir.join("nhiwatch");
    assert!(bin.is_file(), "{} not built (run the suite with cargo nextest run --workspace)", bin.display());
    bin
}

/// `nhiwatch publish` of `paths` (plus extra arguments) into `topic`.
pub fn publish(broker: &Broker, topic: &str, args: &[&str]) {
    let out = Command::new(nhiwatch_binary())
        .args(["publish", "--brokers", &broker.bootstrap(), "--topic", topic])
        .args(args)
        .output()
        .expect("nhiwatch publish");
    assert!(out.status.success(), "publish failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// A running `nhiwatch run`.
#[derive(Debug)]
pub struct Run {
    child: std::cell::RefCell<Child>,
    metrics_port: u16,
    log: PathBuf,
}

impl Run {
    /// Starts `nhiwatch run --config config` with its log in `log`; `metrics_port` is the
    /// config's `[metrics] listen` port.
    pub fn start(config: &Path, metrics_port: u16, log: PathBuf) -> Self {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&log).expect("run log");
        let child = Command::new(nhiwatch_binary())
            .args(["run", "--config"])
            .arg(config)
            .env("NHIWATCH_LOG", "info,librdkafka=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::from(file))
            .spawn()
            .expect("start nhiwatch run");
        Self { child: std::cell::RefCell::new(child), metrics_port, log }
    }

    /// The run's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `/metrics` text, if the endpoint answers.
    pub fn metrics(&self) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.metrics_port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        text.split_once("\r\n\r\n").map(|(_, body)| body.to_string())
    }

    /// Sum of the samples of metric `name` (all label sets).
    pub fn metric(&self, name: &str) -> f64 {
        let Some(text) = self.metrics() else { return 0.0 };
        sum_metric(&text, name)
    }

    /// Waits until `cond` holds for the metrics, or panics after `timeout` with the log.
    pub fn wait_for(&self, what: &str, timeout: Duration, mut cond: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + timeout;
        while !cond(self) {
            if let Ok(Some(status)) = self.child.borrow_mut().try_wait() {
                panic!("nhiwatch run exited ({status}) while waiting for {what}:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; metrics:\n{}\nlog:\n{}",
                self.metrics().unwrap_or_default(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and waits for the exit code.
    pub fn terminate(mut self) -> i32 {
        let pid = self.child.borrow().id();
        let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        self.wait_exit(Duration::from_secs(60))
    }

    /// Sends SIGKILL (no chance to checkpoint).
    pub fn kill_hard(self) {
        let mut child = self.child.borrow_mut();
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Sends SIGHUP (reload rules).
    pub fn hangup(&self) {
        let pid = self.child.borrow().id();
        let _ = Command::new("kill").args(["-HUP", &pid.to_string()]).status();
    }

    fn wait_exit(&mut self, timeout: Duration) -> i32 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.get_mut().try_wait() {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "nhiwatch run did not exit:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let child = self.child.get_mut();
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Sum of the samples of `name` in Prometheus text.
pub fn sum_metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(name) && matches!(l.as_bytes().get(name.len()), Some(b'{' | b' ')))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A `run` config for `broker`, topic `cloudtrail`, alerts to `alerts` (and a file), dead
/// letters to `dlq`, state and metrics as given; `consumer` adds librdkafka consumer
/// properties (TOML lines), `extra` is appended (more sections).
pub fn run_config(broker: &Broker, dir: &Path, metrics_port: u16, consumer: &str, extra: &str) -> PathBuf {
    let root = crate::project_root();
    let text = format!(
        r#"[org]
name = "northwind"
accounts = ["111111111111", "222222222222"]
[org.account_names]
"111111111111" = "prod"
"222222222222" = "staging"
[engine]
idle_flush = "2s"
[geoip]
databases = ["{geo}"]
[[suppress]]
rule = "aws-iam-user-created-by-nhi"
identity = "arn:aws:iam::111111111111:role/provisioner"
reason = "weekly onboarding by the provisioning bot"
[[suppress]]
rule = "aws-login-profile-for-another-user"
identity = "arn:aws:iam::111111111111:role/provisioner"
reason = "weekly onboarding by the provisioning bot"
[kafka]
brokers = "{brokers}"
group_id = "nhiwatch"
topics = ["cloudtrail"]
[kafka.consumer]
"group.instance.id" = "nhiwatch-test-1"
{consumer}
[[alerts.sinks]]
type = "kafka"
topic = "alerts"
[[alerts.sinks]]
type = "file"
path = "alerts.jsonl"
[dead_letter]
topic = "dlq"
[state]
dir = "state"
checkpoint_interval = "1s"
[metrics]
listen = "127.0.0.1:{metrics_port}"
{extra}"#,
        geo = root.join("fixtures/geoip/demo.mmdb").display(),
        brokers = broker.bootstrap(),
    );
    let path = dir.join("nhiwatch.toml");
    std::fs::write(&path, text).expect("write config");
    path
}
