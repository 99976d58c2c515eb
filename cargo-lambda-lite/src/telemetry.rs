//! The Telemetry API of a local environment: extensions subscribe (`PUT /2022-07-01/telemetry`)
//! and get the environment's records pushed to their listener in JSON batches, as Lambda
//! pushes them: `platform.*` records of the init and of each invocation, and the function's and
//! the extensions' log lines, each batch sent when it is full or its time is up.

use std::sync::mpsc::{Sender, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The subscriptions of one environment and the records waiting for them.
#[derive(Default)]
pub struct Telemetry {
    subscriptions: Vec<Subscription>,
    /// The records of the init so far: a subscriber (which subscribes during the init) gets
    /// them too.
    init: Vec<Value>,
    in_init: bool,
}

struct Subscription {
    /// The thread that pushes its batches, in order, to where it asked (`sandbox.localdomain`
    /// is this machine); a batch may come with a channel told when it was delivered.
    pusher: Sender<(String, Option<Sender<()>>)>,
    /// `platform`, `function`, `extension`.
    types: Vec<String>,
    max_items: usize,
    timeout: Duration,
    batch: Vec<Value>,
    /// When the oldest record of the batch arrived.
    since: Option<Instant>,
}

impl Telemetry {
    /// A new environment's records start here.
    pub fn init_started(&mut self) {
        self.init.clear();
        self.in_init = true;
    }

    pub fn init_done(&mut self) {
        self.in_init = false;
        self.init.clear();
    }

    /// A subscription request's body; `Err` says what is wrong with it.
    pub fn subscribe(&mut self, body: &[u8]) -> Result<(), String> {
        let request: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
        let uri = request["destination"]["URI"]
            .as_str()
            .ok_or("destination.URI is missing")?
            .replace("sandbox.localdomain", "127.0.0.1");
        if request["destination"]["protocol"].as_str() != Some("HTTP") {
            return Err("destination.protocol: the local Telemetry API pushes over HTTP".into());
        }
        let types: Vec<String> = request["types"]
            .as_array()
            .ok_or("types is missing")?
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect();
        let buffering = &request["buffering"];
        // Lambda's ranges: 1,000 to 10,000 items, 25 ms to 30 s.
        let max_items = buffering["maxItems"].as_u64().unwrap_or(1000);
        let timeout_ms = buffering["timeoutMs"].as_u64().unwrap_or(1000);
        if !(1000..=10_000).contains(&max_items) {
            return Err(format!("buffering.maxItems {max_items}: 1000 to 10000"));
        }
        if !(25..=30_000).contains(&timeout_ms) {
            return Err(format!("buffering.timeoutMs {timeout_ms}: 25 to 30000"));
        }
        let (max_items, timeout) = (max_items as usize, Duration::from_millis(timeout_ms));
        let mut subscription = Subscription {
            pusher: pusher(uri),
            types,
            max_items,
            timeout,
            batch: Vec::new(),
            since: None,
        };
        for record in &self.init {
            subscription.add(record);
        }
        self.subscriptions.push(subscription);
        Ok(())
    }

    /// A record of this type (`platform.report`, `function`, …), made only when someone
    /// will get it.
    pub fn record(&mut self, kind: &str, record: impl FnOnce() -> Value) {
        if self.subscriptions.is_empty() && !self.in_init {
            return;
        }
        let record = json!({
            "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "type": kind,
            "record": record(),
        });
        for s in &mut self.subscriptions {
            s.add(&record);
        }
        if self.in_init {
            self.init.push(record);
        }
    }

    /// Pushes the batches that are full or whose time is up.
    pub fn push_due(&mut self) {
        let now = Instant::now();
        for s in &mut self.subscriptions {
            if s.batch.len() >= s.max_items || s.since.is_some_and(|t| now >= t + s.timeout) {
                s.push(None);
            }
        }
    }

    /// Pushes every batch now and waits (2 s at most) for them to be delivered: at shutdown,
    /// before the extensions are told.
    pub fn push_all(&mut self) {
        let delivered: Vec<_> = self
            .subscriptions
            .iter_mut()
            .map(|s| {
                let (tx, rx) = channel();
                s.push(Some(tx));
                rx
            })
            .collect();
        for rx in delivered {
            let _ = rx.recv_timeout(Duration::from_secs(2));
        }
    }

    /// The environment was reset: its subscriptions went with its extensions.
    pub fn reset(&mut self) {
        *self = Telemetry::default();
    }
}

impl Subscription {
    fn add(&mut self, record: &Value) {
        let kind = record["type"].as_str().unwrap_or("");
        let category = kind.split('.').next().unwrap_or(kind);
        if self.types.iter().any(|t| t == category) {
            self.batch.push(record.clone());
            self.since.get_or_insert_with(Instant::now);
        }
    }

    /// Hands the batch to its pusher (a slow listener does not hold the environment up).
    fn push(&mut self, delivered: Option<Sender<()>>) {
        if self.batch.is_empty() {
            if let Some(d) = delivered {
                let _ = d.send(());
            }
            return;
        }
        let body = Value::Array(std::mem::take(&mut self.batch)).to_string();
        self.since = None;
        let _ = self.pusher.send((body, delivered));
    }
}

/// A thread that posts each batch to `uri` in turn, until the subscription is dropped.
fn pusher(uri: String) -> Sender<(String, Option<Sender<()>>)> {
    let (tx, rx) = channel::<(String, Option<Sender<()>>)>();
    std::thread::spawn(move || {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(2)))
            .build()
            .new_agent();
        for (body, delivered) in rx {
            if let Err(e) = agent
                .post(&uri)
                .header("content-type", "application/json")
                .send(body.as_bytes())
            {
                eprintln!("telemetry: the push to {uri} failed: {e}");
            }
            if let Some(d) = delivered {
                let _ = d.send(());
            }
        }
    });
    tx
}
