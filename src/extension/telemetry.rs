//! The Telemetry API (feature `extension`): an extension subscribes (`PUT /2022-07-01/telemetry`)
//! and a small blocking HTTP listener receives the batches Lambda pushes, handing each record
//! (platform events such as `platform.report` with its metrics, function and extension log
//! lines) to the user.
//!
//! The listener reads requests with the same reader and caps as the runtime reads responses
//! (`proto::message`: `Content-Length` or chunked bodies, 8 MiB at most); a batch it cannot
//! read or parse is answered 400 (413 when too large) and dropped, never a crash.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};

use serde_json::Value;

use super::Extension;
use crate::conn::{ExchangeError, ReadError, read_message};
use crate::fatal::{self, Fatal, judge};
use crate::proto::WireError;
use crate::proto::message::{Kind, Reader};
use crate::proto::policy::Call;
use crate::proto::request;

/// A telemetry stream to subscribe to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TelemetryType {
    /// `platform`: lifecycle events, `platform.report` and its metrics, traces.
    Platform,
    /// `function`: the function's log lines.
    Function,
    /// `extension`: extensions' log lines.
    Extension,
}

impl TelemetryType {
    fn as_str(self) -> &'static str {
        match self {
            TelemetryType::Platform => "platform",
            TelemetryType::Function => "function",
            TelemetryType::Extension => "extension",
        }
    }
}

/// What to subscribe to and where to listen. `TelemetrySubscription::default()`: platform
/// events, Lambda's default buffering (1,000 items, 256 KiB, 1,000 ms), listening on every
/// address of the sandbox on a port the system picks, pushed to
/// `http://sandbox.localdomain:<port>`, schema `2025-01-29` (which Lambda Managed Instances
/// require and the default Lambda accepts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TelemetrySubscription {
    types: Vec<TelemetryType>,
    max_items: u32,
    max_bytes: u32,
    timeout_ms: u32,
    listen: SocketAddr,
    host: String,
}

impl Default for TelemetrySubscription {
    fn default() -> Self {
        TelemetrySubscription {
            types: vec![TelemetryType::Platform],
            max_items: 1000,
            max_bytes: 256 * 1024,
            timeout_ms: 1000,
            listen: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)),
            host: "sandbox.localdomain".into(),
        }
    }
}

impl TelemetrySubscription {
    /// The streams to receive.
    pub fn types(mut self, types: &[TelemetryType]) -> Self {
        self.types = types.to_vec();
        self
    }

    /// How Lambda batches records: at most `max_items` (1,000–10,000) or `max_bytes`
    /// (262,144–1,048,576) per push, or after `timeout_ms` (25–30,000).
    pub fn buffering(mut self, max_items: u32, max_bytes: u32, timeout_ms: u32) -> Self {
        (self.max_items, self.max_bytes, self.timeout_ms) = (max_items, max_bytes, timeout_ms);
        self
    }

    /// Where the listener binds (local tests: `127.0.0.1:0`).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// The host name in the destination URI Lambda pushes to (`sandbox.localdomain` unless a
    /// local emulator needs another).
    pub fn destination_host(mut self, host: &str) -> Self {
        self.host = host.into();
        self
    }

    fn body(&self, port: u16) -> Vec<u8> {
        let mut out = b"{\"schemaVersion\":\"2025-01-29\",\"types\":[".to_vec();
        for (i, t) in self.types.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            crate::text::push_json_string(&mut out, t.as_str());
        }
        out.extend_from_slice(b"],\"buffering\":{\"maxItems\":");
        crate::text::push_decimal(&mut out, self.max_items.into());
        out.extend_from_slice(b",\"maxBytes\":");
        crate::text::push_decimal(&mut out, self.max_bytes.into());
        out.extend_from_slice(b",\"timeoutMs\":");
        crate::text::push_decimal(&mut out, self.timeout_ms.into());
        out.extend_from_slice(b"},\"destination\":{\"protocol\":\"HTTP\",\"URI\":");
        let mut uri = String::from("http://");
        uri.push_str(&self.host);
        uri.push(':');
        let mut digits = [0u8; 20];
        uri.push_str(
            std::str::from_utf8(crate::text::decimal(&mut digits, port.into())).unwrap_or("0"),
        );
        crate::text::push_json_string(&mut out, &uri);
        out.extend_from_slice(b"}}");
        out
    }
}

/// One telemetry record: when, what kind, and its content.
#[derive(Clone, Debug, PartialEq)]
pub struct Telemetry {
    /// `time`: when it happened (RFC 3339).
    pub time: String,
    /// `type`: `platform.report`, `platform.initStart`, `function`, `extension`, …
    pub record_type: String,
    /// `record`, typed for the kinds most extensions read.
    pub record: TelemetryRecord,
}

/// The content of a [`Telemetry`] record.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum TelemetryRecord {
    /// `platform.report`: an invocation ended; its metrics.
    PlatformReport(Report),
    /// `platform.initStart`: the environment's init started.
    PlatformInitStart {
        /// `initializationType`: `on-demand`, `provisioned-concurrency`, `snap-start`, …
        initialization_type: String,
        /// `phase`: `init` or `invoke`.
        phase: String,
    },
    /// `platform.start`: an invocation started.
    PlatformStart {
        /// `requestId`.
        request_id: String,
    },
    /// `function`: one log line of the function (a string, or an object in JSON log format).
    Function(Value),
    /// `extension`: one log line of an extension.
    Extension(Value),
    /// Any other record, as it came.
    Other(Value),
}

/// A `platform.report` record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// `requestId`.
    pub request_id: String,
    /// `status`: `success`, `error`, `timeout` or `failure`.
    pub status: String,
    /// `errorType`, when the invocation failed.
    pub error_type: Option<String>,
    /// `metrics`.
    pub metrics: ReportMetrics,
}

/// The metrics of a `platform.report` record.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ReportMetrics {
    /// `durationMs`.
    pub duration_ms: f64,
    /// `billedDurationMs`.
    pub billed_duration_ms: u64,
    /// `memorySizeMB`.
    pub memory_size_mb: u64,
    /// `maxMemoryUsedMB`.
    pub max_memory_used_mb: u64,
    /// `initDurationMs`: on the first invocation of an environment.
    pub init_duration_ms: Option<f64>,
    /// `restoreDurationMs`: on the first invocation after a SnapStart restore.
    pub restore_duration_ms: Option<f64>,
}

impl Telemetry {
    fn from_json(json: Value) -> Telemetry {
        let text = crate::context::text_of;
        let time = text(&json, "time");
        let record_type = text(&json, "type");
        let content = json.get("record").cloned().unwrap_or(Value::Null);
        let record = match record_type.as_str() {
            "platform.report" => {
                let m = content.get("metrics").cloned().unwrap_or(Value::Null);
                let float = |k: &str| m.get(k).and_then(Value::as_f64);
                let int = |k: &str| m.get(k).and_then(Value::as_u64).unwrap_or(0);
                TelemetryRecord::PlatformReport(Report {
                    request_id: text(&content, "requestId"),
                    status: text(&content, "status"),
                    error_type: content
                        .get("errorType")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    metrics: ReportMetrics {
                        duration_ms: float("durationMs").unwrap_or(0.0),
                        billed_duration_ms: int("billedDurationMs"),
                        memory_size_mb: int("memorySizeMB"),
                        max_memory_used_mb: int("maxMemoryUsedMB"),
                        init_duration_ms: float("initDurationMs"),
                        restore_duration_ms: float("restoreDurationMs"),
                    },
                })
            }
            "platform.initStart" => TelemetryRecord::PlatformInitStart {
                initialization_type: text(&content, "initializationType"),
                phase: text(&content, "phase"),
            },
            "platform.start" => TelemetryRecord::PlatformStart {
                request_id: text(&content, "requestId"),
            },
            "function" => TelemetryRecord::Function(content),
            "extension" => TelemetryRecord::Extension(content),
            _ => TelemetryRecord::Other(json),
        };
        Telemetry {
            time,
            record_type,
            record,
        }
    }
}

impl Extension {
    /// Subscribes to the Telemetry API and starts a listener thread that hands each record
    /// Lambda pushes to `on_record`, in order. Returns the address the listener is bound to.
    ///
    /// Call it before the extension's first `next_event` (subscriptions are made during
    /// init).
    pub fn subscribe_telemetry<F>(
        &mut self,
        subscription: &TelemetrySubscription,
        on_record: F,
    ) -> Result<SocketAddr, Fatal>
    where
        F: FnMut(Telemetry) + Send + 'static,
    {
        let listener = TcpListener::bind(subscription.listen)
            .map_err(|_| Fatal::new(&["the telemetry listener could not bind its address"]))?;
        let addr = listener
            .local_addr()
            .map_err(|_| Fatal::new(&["the telemetry listener has no address"]))?;
        std::thread::Builder::new()
            .name("lambda-lite-telemetry".into())
            .spawn(move || listen(listener, on_record))
            .map_err(|_| Fatal::new(&["could not start the telemetry listener thread"]))?;
        let body = subscription.body(addr.port());
        let client = self.client();
        let (conn, head, id) = client.parts();
        request::telemetry_subscribe(head, conn.endpoint(), id, body.len());
        let answer = conn.exchange(head, &body, &[]);
        judge("PUT /telemetry", Call::Lifecycle, &answer, conn.inbox())?;
        Ok(addr)
    }
}

/// Accepts connections, each served by a thread of its own (a kept-alive connection must not
/// keep the next one waiting); records reach `on_record` one batch at a time.
fn listen<F: FnMut(Telemetry) + Send + 'static>(listener: TcpListener, on_record: F) {
    let on_record = std::sync::Arc::new(std::sync::Mutex::new(on_record));
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                let on_record = on_record.clone();
                let spawned = std::thread::Builder::new()
                    .name("lambda-lite-telemetry-connection".into())
                    .spawn(move || serve(stream, &on_record));
                if spawned.is_err() {
                    fatal::warn(&["could not start a telemetry connection thread"]);
                }
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
}

const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
const BAD: &[u8] = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
const TOO_LARGE: &[u8] =
    b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

/// Serves one connection: each request is a batch (a JSON array of records).
fn serve<F: FnMut(Telemetry)>(mut stream: TcpStream, on_record: &std::sync::Mutex<F>) {
    let mut inbox = Vec::new();
    loop {
        let mut reader = Reader::new(Kind::REQUEST, &[]);
        let read = read_message(&mut stream, &mut inbox, &mut reader);
        let (answer, keep): (&[u8], bool) = match read {
            Ok(filled) => {
                // Bytes after the request (a pipelined one) are not read: close after this.
                let keep = reader.head().is_some_and(|h| !h.close) && filled == reader.end();
                match serde_json::from_slice::<Vec<Value>>(reader.body().of(&inbox)) {
                    Ok(records) => {
                        deliver(records, on_record);
                        (OK, keep)
                    }
                    Err(_) => {
                        fatal::warn(&[
                            "a telemetry batch is not a JSON array of records; answered 400",
                        ]);
                        (BAD, false)
                    }
                }
            }
            Err(ReadError::Started(ExchangeError::Wire(WireError::BodyTooLarge))) => {
                fatal::warn(&["a telemetry batch is over 8 MiB; answered 413"]);
                (TOO_LARGE, false)
            }
            Err(ReadError::Started(ExchangeError::Wire(e))) => {
                fatal::warn(&[
                    "a telemetry request could not be read: ",
                    e.as_str(),
                    "; answered 400",
                ]);
                (BAD, false)
            }
            // The peer closed the connection (between batches, or in the middle of one).
            Err(_) => return,
        };
        if stream.write_all(answer).is_err() || !keep {
            return;
        }
    }
}

/// Hands each record to the callback; a callback that panics loses that record only.
fn deliver<F: FnMut(Telemetry)>(records: Vec<Value>, on_record: &std::sync::Mutex<F>) {
    let mut on_record = on_record.lock().unwrap_or_else(|e| e.into_inner());
    for record in records {
        let record = Telemetry::from_json(record);
        let delivered = crate::panic::catch(|| {
            on_record(record);
            Ok(())
        });
        if delivered.is_err() {
            fatal::warn(&["the telemetry callback panicked; its record is dropped"]);
        }
    }
}
