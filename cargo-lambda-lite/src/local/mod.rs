//! A local Runtime API on 127.0.0.1, close to Lambda's own: one thread per connection parses
//! requests and hands them, time-stamped, to the one controller (the invoker or a benchmark),
//! which answers them. `/next` bodies over 2 KB are sent chunked, as the service does; a
//! streamed response is handed over chunk by chunk as it arrives. The Extensions API's calls
//! are answered here too (registration, a parked `event/next`), as are SnapStart's
//! `restore/next` and a telemetry subscription, so a function using them runs locally.

use std::io::Write;

use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod framing;
mod route;
use framing::{Chunk, discard_body, read_body, read_chunk, read_head};
pub use route::Route;

/// The service's limit on an invocation's response (and on a synchronous event), in bytes.
pub const MAX_PAYLOAD: usize = 6 * 1024 * 1024 + 100;
/// The limit on a synchronous invocation's request payload (the event).
pub const MAX_EVENT: usize = 6 * 1024 * 1024;
/// The limit on a streamed response.
pub const MAX_STREAM: usize = 200 * 1024 * 1024;

/// What the controller receives.
pub enum Msg {
    /// A complete request (for a streamed one: its head, before any chunk).
    Request(Request),
    /// A chunk of a streamed request body, as it arrived.
    Chunk {
        connection: usize,
        data: Vec<u8>,
        at: Instant,
    },
    /// The end of a streamed body: its trailers, and the request to answer.
    End {
        connection: usize,
        trailers: Vec<(String, String)>,
        reply: Sender<Vec<u8>>,
        at: Instant,
        bytes: usize,
        /// The body ended without its last chunk: the connection broke.
        broken: bool,
    },
}

pub struct Request {
    pub connection: usize,
    /// What it asks for.
    pub route: Route,
    pub headers: Vec<(String, String)>,
    /// The body; empty for a streamed one (see [`Msg::Chunk`]).
    pub body: Vec<u8>,
    /// The body is chunked: [`Msg::Chunk`]s and a [`Msg::End`] follow.
    pub streamed: bool,
    /// A body over the service's limits, not kept (its size).
    pub oversized: Option<usize>,
    /// When the whole request (or a streamed one's head) had arrived.
    pub at: Instant,
    reply: Option<Sender<Vec<u8>>>,
}

impl Request {
    pub fn respond(&self, bytes: Vec<u8>) {
        if let Some(reply) = &self.reply {
            let _ = reply.send(bytes);
        }
    }
    pub fn accept(&self) {
        self.respond(accepted());
    }
    /// A chunked request's head completed into a whole request: its body and the sender of
    /// its [`Msg::End`].
    pub fn completed(mut self, body: Vec<u8>, reply: Sender<Vec<u8>>) -> Request {
        self.body = body;
        self.streamed = false;
        self.reply = Some(reply);
        self
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        field(&self.headers, name)
    }
}

pub fn ok_response() -> Vec<u8> {
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK".to_vec()
}

pub fn bad_request(message: &str) -> Vec<u8> {
    let body =
        serde_json::json!({"errorType": "ValidationError", "errorMessage": message}).to_string();
    format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The API's refusal of a call the state does not allow.
pub fn forbidden(error_type: &str, message: &str) -> Vec<u8> {
    let body = serde_json::json!({"errorType": error_type, "errorMessage": message}).to_string();
    format!(
        "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The API's answer to a post naming an invocation that is not running (over, or never sent).
pub fn invalid_request_id() -> Vec<u8> {
    let body = r#"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"#;
    format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

pub fn accepted() -> Vec<u8> {
    b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"OK\"}".to_vec()
}

/// The service's answer to a response over [`MAX_PAYLOAD`].
pub fn too_large() -> Vec<u8> {
    let body = r#"{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}"#;
    format!(
        "HTTP/1.1 413 Request Entity Too Large\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// What the local API saw of extensions.
#[derive(Default)]
pub struct Extensions {
    /// In the order they registered.
    pub registered: Vec<Registered>,
}

/// An extension that registered.
pub struct Registered {
    /// Its `Lambda-Extension-Identifier`.
    pub id: String,
    /// The events it registered for (`INVOKE`, `SHUTDOWN`).
    pub events: Vec<String>,
    /// When it first asked for an event (the init waits for every extension to).
    pub first_poll: Option<Instant>,
}

impl Extensions {
    /// Every registered extension has asked for its first event: when the last one did.
    pub fn all_polled(&self) -> Option<Option<Instant>> {
        self.registered
            .iter()
            .map(|r| r.first_poll)
            .try_fold(None, |latest: Option<Instant>, p| {
                Some(latest.max(Some(p?)))
            })
    }
}

/// Where the API's requests go; `false` once nobody listens.
pub type Sink = Arc<dyn Fn(Msg) -> bool + Send + Sync>;

pub struct LocalApi {
    pub address: String,
    /// Set when the API is dropped: its listener stops.
    stopped: Arc<std::sync::atomic::AtomicBool>,
    messages: Option<Receiver<Msg>>,
    connections: Arc<AtomicUsize>,
    pub extensions: Arc<Mutex<Extensions>>,
}

impl LocalApi {
    /// An API whose requests are read with [`LocalApi::next_message`]; extensions' event
    /// requests are parked (a benchmark's extensions only start).
    pub fn start() -> std::io::Result<LocalApi> {
        let (tx, rx) = channel();
        let mut api = LocalApi::serve(Box::new(move |m| tx.send(m).is_ok()), false, "local")?;
        api.messages = Some(rx);
        Ok(api)
    }

    /// An API whose requests go to `sink`; with `extensions`, so do the extensions' event
    /// requests and telemetry subscriptions, for the caller to answer.
    pub fn serve(
        sink: Box<dyn Fn(Msg) -> bool + Send + Sync>,
        extensions: bool,
        function: &str,
    ) -> std::io::Result<LocalApi> {
        let function: Arc<str> = Arc::from(function);
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?.to_string();
        let sink: Sink = Arc::from(sink);
        let connections = Arc::new(AtomicUsize::new(0));
        let registry = Arc::new(Mutex::new(Extensions::default()));
        let (count, ext) = (connections.clone(), registry.clone());
        let stopped = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop = stopped.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let id = count.fetch_add(1, Ordering::SeqCst);
                let (sink, ext) = (sink.clone(), ext.clone());
                let function = function.clone();
                thread::spawn(move || serve(stream, id, sink, ext, extensions, &function));
            }
        });
        Ok(LocalApi {
            address,
            messages: None,
            stopped,
            connections,
            extensions: registry,
        })
    }

    pub fn next_message(&self, timeout: Duration) -> Result<Msg, RecvTimeoutError> {
        match &self.messages {
            Some(m) => m.recv_timeout(timeout),
            None => Err(RecvTimeoutError::Disconnected),
        }
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for LocalApi {
    /// Stops the listener (a connection wakes its `accept`); the connections still open end
    /// with their processes.
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.address);
    }
}

/// The value of a header or trailer field, by case-insensitive name.
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn serve(
    mut stream: TcpStream,
    connection: usize,
    tx: Sink,
    extensions: Arc<Mutex<Extensions>>,
    forward_extensions: bool,
    function: &str,
) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    loop {
        let Some((method, path, headers)) = read_head(&mut stream, &mut buf) else {
            return;
        };
        let route = Route::parse(&method, &path);
        let chunked = field(&headers, "transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        let length = field(&headers, "content-length")
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        let forwarded = match &route {
            // The Extensions API: registration answered here.
            Route::Register => {
                let Some(body) = read_body(&mut stream, &mut buf, length, MAX_PAYLOAD) else {
                    return;
                };
                let answer = register(&extensions, &body.unwrap_or_default(), function);
                if stream.write_all(answer.as_bytes()).is_err() {
                    return;
                }
                continue;
            }
            Route::ExtensionNext => {
                let id = field(&headers, "lambda-extension-identifier").unwrap_or("");
                let mut ext = extensions.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(r) = ext.registered.iter_mut().find(|r| r.id == id) {
                    r.first_poll.get_or_insert_with(Instant::now);
                }
                drop(ext);
                if !forward_extensions {
                    // Parked: the run ends with SIGTERM, as Lambda's shutdown does.
                    loop {
                        thread::sleep(Duration::from_secs(3600))
                    }
                }
                true
            }
            Route::Subscribe => forward_extensions,
            Route::Next | Route::Response(_) | Route::Error(_) | Route::InitError => true,
            Route::RestoreNext
            | Route::RestoreError
            | Route::ExtensionError
            | Route::WrongMethod
            | Route::NotFound => false,
        };
        if !forwarded {
            // Answered here, its body read (and dropped) so the connection stays in step.
            if !discard_body(&mut stream, &mut buf, chunked, length) {
                return;
            }
            let answer: &[u8] = match route {
                Route::RestoreError | Route::ExtensionError => &accepted(),
                Route::WrongMethod => b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n",
                Route::NotFound => b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n\r\n404 page not found\n",
                _ => b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            };
            if stream.write_all(answer).is_err() {
                return;
            }
            continue;
        }
        let (rtx, rrx) = channel();
        if chunked {
            let head = Request {
                connection,
                route,
                headers,
                body: Vec::new(),
                streamed: true,
                oversized: None,
                at: Instant::now(),
                reply: None,
            };
            if !tx(Msg::Request(head)) {
                return;
            }
            let mut bytes = 0;
            let trailers = loop {
                match read_chunk(&mut stream, &mut buf) {
                    Some(Chunk::Data(data)) => {
                        bytes += data.len();
                        if bytes > MAX_STREAM {
                            tx(Msg::End {
                                connection,
                                trailers: Vec::new(),
                                reply: rtx,
                                at: Instant::now(),
                                bytes,
                                broken: false,
                            });
                            if let Ok(answer) = rrx.recv() {
                                let _ = stream.write_all(&answer);
                            }
                            return;
                        }
                        if !tx(Msg::Chunk {
                            connection,
                            data,
                            at: Instant::now(),
                        }) {
                            return;
                        }
                    }
                    Some(Chunk::Last(trailers)) => break trailers,
                    None => {
                        // The connection broke (or the chunking did) before the last chunk.
                        tx(Msg::End {
                            connection,
                            trailers: Vec::new(),
                            reply: rtx,
                            at: Instant::now(),
                            bytes,
                            broken: true,
                        });
                        return;
                    }
                }
            };
            if !tx(Msg::End {
                connection,
                trailers,
                reply: rtx,
                at: Instant::now(),
                bytes,
                broken: false,
            }) {
                return;
            }
        } else {
            // An oversized body is read piecewise and dropped (never held whole), so the
            // connection stays in step; the controller answers with the service's 413.
            let Some(body) = read_body(&mut stream, &mut buf, length, MAX_PAYLOAD) else {
                return;
            };
            let oversized = body.is_none().then_some(length);
            let body = body.unwrap_or_default();
            let request = Request {
                connection,
                route,
                headers,
                body,
                streamed: false,
                oversized,
                at: Instant::now(),
                reply: Some(rtx),
            };
            if !tx(Msg::Request(request)) {
                return;
            }
        }
        let Ok(answer) = rrx.recv() else { return };
        let close = closes(&answer);
        if stream.write_all(&answer).is_err() || close {
            return;
        }
        // What a large request grew is not kept for the connection's life.
        buf.shrink_to(64 * 1024);
    }
}

/// `POST /extension/register`: the extension recorded (with the events it asked for) under a
/// new identifier; the answer as Lambda gives it.
fn register(extensions: &Mutex<Extensions>, body: &[u8], function: &str) -> String {
    let events = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|b| b["events"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e.as_str().map(str::to_owned))
        .collect();
    let id = {
        let mut ext = extensions.lock().unwrap_or_else(|e| e.into_inner());
        let id = format!("local-extension-{}", ext.registered.len() + 1);
        ext.registered.push(Registered {
            id: id.clone(),
            events,
            first_poll: None,
        });
        id
    };
    let body = serde_json::json!({"functionName": function, "functionVersion": "$LATEST",
                                  "handler": "bootstrap"})
    .to_string();
    format!(
        "HTTP/1.1 200 OK\r\nLambda-Extension-Identifier: {id}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Whether an answer's head says `Connection: close` (its headers parsed: never its body).
fn closes(answer: &[u8]) -> bool {
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut response = httparse::Response::new(&mut headers);
    response.parse(answer).is_ok()
        && response.headers.iter().any(|h| {
            h.name.eq_ignore_ascii_case("connection")
                && h.value
                    .split(|&b| b == b',')
                    .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"))
        })
}

/// The account and region of the local functions, as their ARNs show them.
pub const ACCOUNT: &str = "012345678912";
pub const REGION: &str = "us-east-1";

/// A `/next` answer as the service frames it: Content-Length up to 2 KB, one chunk above.
pub fn next_response(
    function: &str,
    request_id: &str,
    deadline_ms: u128,
    trace: &str,
    extra: &[(String, String)],
    event: &[u8],
) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {request_id}\r\n\
         Lambda-Runtime-Deadline-Ms: {deadline_ms}\r\n\
         Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}\r\n\
         Lambda-Runtime-Trace-Id: {trace}\r\n"
    )
    .into_bytes();
    for (name, value) in extra {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    if event.len() > 2048 {
        out.extend_from_slice(
            format!("Transfer-Encoding: chunked\r\n\r\n{:x}\r\n", event.len()).as_bytes(),
        );
        out.extend_from_slice(event);
        out.extend_from_slice(b"\r\n0\r\n\r\n");
    } else {
        out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", event.len()).as_bytes());
        out.extend_from_slice(event);
    }
    out
}

/// A fresh pseudo-random 64-bit value (time and a counter; ids only need to differ).
pub fn random_u64() -> u64 {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x =
        nanos ^ (COUNTER.fetch_add(1, Ordering::SeqCst) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^ (x >> 33)
}

pub fn request_id() -> String {
    let (a, b) = (random_u64(), random_u64());
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

pub fn trace_header() -> String {
    format!(
        "Root=1-{:08x}-{:024x};Parent={:016x};Sampled=0",
        epoch_ms() / 1000,
        random_u64(),
        random_u64()
    )
}

pub fn epoch_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// Peak resident set (VmHWM) of a live process, in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::closes;

    #[test]
    fn connection_close_is_read_from_the_head_never_the_body() {
        assert!(closes(
            b"HTTP/1.1 413 Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        ));
        assert!(closes(
            b"HTTP/1.1 200 OK\r\nconnection: keep-alive, Close\r\n\r\n"
        ));
        let event = b"HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n{\"h\":\"connection: close\"}";
        assert!(
            !closes(event),
            "an event that mentions it keeps the connection"
        );
    }
}
