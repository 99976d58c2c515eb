//! An in-process fake Runtime API: a real TCP listener on 127.0.0.1 that answers each
//! request with the next scripted reply and records every request it saw.
//!
//! Replies are queued before (or while) the runtime runs; each connection has its own thread,
//! so a second connection (a reconnect, the abort-mode panic report) is served too. Every
//! wait has a deadline: a hang fails the test instead of the build.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub const WAIT: Duration = Duration::from_secs(20);

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Which accepted connection (0, 1, …) carried it.
    pub connection: usize,
}

impl Recorded {
    /// The value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn body_str(&self) -> &str {
        std::str::from_utf8(&self.body).expect("utf-8 body")
    }
}

/// How a response body is framed on the wire.
#[derive(Clone, Debug)]
pub enum Framing {
    Length,
    /// Chunks of at most this many bytes; extensions and trailers when `fancy`.
    Chunked {
        chunk: usize,
        fancy: bool,
    },
    /// No length: the server closes the connection after the body.
    UntilClose,
}

/// How the bytes of a response are written.
#[derive(Clone, Debug)]
pub enum Delivery {
    Whole,
    ByteAtATime,
    /// Writes of pseudo-random sizes (seeded), with short pauses.
    Ragged(u64),
}

/// What the server does with one request.
#[derive(Clone, Debug)]
pub enum Reply {
    Respond(Response),
    /// Reads the request, then closes the connection without a byte.
    Close,
    /// Reads the request, writes these bytes, then closes.
    Partial(Vec<u8>),
}

#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub framing: Framing,
    pub delivery: Delivery,
    pub close_after: bool,
    /// Wait this long after the request before answering.
    pub delay: Duration,
}

impl Response {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: body.into(),
            framing: Framing::Length,
            delivery: Delivery::Whole,
            close_after: false,
            delay: Duration::ZERO,
        }
    }
    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
    pub fn framing(mut self, framing: Framing) -> Response {
        self.framing = framing;
        self
    }
    pub fn delivery(mut self, delivery: Delivery) -> Response {
        self.delivery = delivery;
        self
    }
    pub fn delay(mut self, delay: Duration) -> Response {
        self.delay = delay;
        self
    }
    pub fn close_after(mut self) -> Response {
        self.close_after = true;
        self
    }
    /// Framed as the real service frames `/next`: Content-Length up to 2 KB, one chunk above.
    pub fn like_lambda(self) -> Response {
        if self.body.len() > 2048 {
            let chunk = self.body.len();
            self.framing(Framing::Chunked {
                chunk,
                fancy: false,
            })
        } else {
            self
        }
    }
    pub fn reply(self) -> Reply {
        Reply::Respond(self)
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {} X\r\n", self.status).into_bytes();
        for (n, v) in &self.headers {
            out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        match &self.framing {
            Framing::Length => out.extend_from_slice(
                format!("Content-Length: {}\r\n\r\n", self.body.len()).as_bytes(),
            ),
            Framing::UntilClose => out.extend_from_slice(b"\r\n"),
            Framing::Chunked { .. } => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n"),
        }
        match &self.framing {
            Framing::Chunked { chunk, fancy } => {
                for piece in self.body.chunks((*chunk).max(1)) {
                    let ext = if *fancy { ";ext=1" } else { "" };
                    out.extend_from_slice(format!("{:x}{ext}\r\n", piece.len()).as_bytes());
                    out.extend_from_slice(piece);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(if *fancy {
                    b"0;end\r\nX-Trailer: yes\r\n\r\n"
                } else {
                    b"0\r\n\r\n"
                });
            }
            _ => out.extend_from_slice(&self.body),
        }
        out
    }
}

/// A `/next` answer for request `id` with the usual headers (deadline one minute ahead).
pub fn event(id: &str, body: impl Into<Vec<u8>>) -> Response {
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 60_000;
    Response::new(200, body)
        .header("Lambda-Runtime-Aws-Request-Id", id)
        .header("Lambda-Runtime-Deadline-Ms", &deadline.to_string())
        .header(
            "Lambda-Runtime-Invoked-Function-Arn",
            "arn:aws:lambda:us-east-1:123456789012:function:f",
        )
        .header("Content-Type", "application/json")
}

/// The service's answer to an accepted post.
pub fn accepted() -> Reply {
    Response::new(202, r#"{"status":"OK"}"#).reply()
}

#[derive(Default)]
struct Shared {
    replies: Mutex<VecDeque<Reply>>,
    replies_cv: Condvar,
    recorded: Mutex<Vec<Recorded>>,
    recorded_cv: Condvar,
    stop: AtomicBool,
    connections: AtomicUsize,
}

pub struct FakeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<thread::JoinHandle<()>>,
}

impl FakeApi {
    pub fn start() -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let acceptor = thread::spawn(move || {
            for stream in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let id = s.connections.fetch_add(1, Ordering::SeqCst);
                let s = s.clone();
                thread::spawn(move || serve_connection(stream, id, &s));
            }
        });
        FakeApi {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// `host:port`, as Lambda sets `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    pub fn push(&self, reply: Reply) {
        self.shared.replies.lock().unwrap().push_back(reply);
        self.shared.replies_cv.notify_all();
    }

    /// Queues a `/next` event and the 202 for its answer.
    pub fn push_event(&self, response: Response) {
        self.push(response.reply());
        self.push(accepted());
    }

    /// Waits until at least `n` requests were recorded; returns them all.
    pub fn wait_for(&self, n: usize) -> Vec<Recorded> {
        let deadline = Instant::now() + WAIT;
        let mut rec = self.shared.recorded.lock().unwrap();
        while rec.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {n} requests; got {:#?}",
                *rec
            );
            rec = self.shared.recorded_cv.wait_timeout(rec, left).unwrap().0;
        }
        rec.clone()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.recorded.lock().unwrap().clone()
    }

    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    pub fn replies_left(&self) -> usize {
        self.shared.replies.lock().unwrap().len()
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.replies_cv.notify_all();
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
    }
}

fn serve_connection(mut stream: TcpStream, connection: usize, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
    let mut buf = Vec::new();
    loop {
        let Some(req) = read_request(&mut stream, &mut buf, connection, shared) else {
            return;
        };
        shared.recorded.lock().unwrap().push(req);
        shared.recorded_cv.notify_all();
        let reply = {
            let deadline = Instant::now() + WAIT;
            let mut q = shared.replies.lock().unwrap();
            loop {
                if let Some(r) = q.pop_front() {
                    break Some(r);
                }
                if shared.stop.load(Ordering::SeqCst) || Instant::now() >= deadline {
                    break None;
                }
                q = shared
                    .replies_cv
                    .wait_timeout(q, Duration::from_millis(50))
                    .unwrap()
                    .0;
            }
        };
        match reply {
            None | Some(Reply::Close) => return close(stream),
            Some(Reply::Partial(bytes)) => {
                let _ = stream.write_all(&bytes);
                return close(stream);
            }
            Some(Reply::Respond(r)) => {
                thread::sleep(r.delay);
                if write_delivered(&mut stream, &r.encode(), &r.delivery).is_err() {
                    return;
                }
                if r.close_after || matches!(r.framing, Framing::UntilClose) {
                    return close(stream);
                }
            }
        }
    }
}

fn close(stream: TcpStream) {
    let _ = stream.shutdown(Shutdown::Both);
}

fn write_delivered(
    stream: &mut TcpStream,
    bytes: &[u8],
    delivery: &Delivery,
) -> std::io::Result<()> {
    match delivery {
        Delivery::Whole => stream.write_all(bytes),
        Delivery::ByteAtATime => {
            for b in bytes {
                stream.write_all(std::slice::from_ref(b))?;
                stream.flush()?;
            }
            Ok(())
        }
        Delivery::Ragged(seed) => write_ragged(stream, bytes, *seed),
    }
}

/// Writes `bytes` in pseudo-random pieces of 1 to 3000 bytes (seeded), with short pauses.
pub fn write_ragged(stream: &mut TcpStream, bytes: &[u8], seed: u64) -> std::io::Result<()> {
    let mut x = seed | 1;
    let mut rest = bytes;
    while !rest.is_empty() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = (x as usize % 3000 + 1).min(rest.len());
        stream.write_all(&rest[..n])?;
        rest = &rest[n..];
        if x % 7 == 0 {
            thread::sleep(Duration::from_micros(200));
        }
    }
    Ok(())
}

/// Takes one complete request (head and `Content-Length` body) off the front of `buf`, or
/// `None` while it is incomplete.
pub fn take_request(buf: &mut Vec<u8>, connection: usize) -> Option<Recorded> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    let Ok(httparse::Status::Complete(len)) = req.parse(buf) else {
        return None;
    };
    let headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_owned(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let cl: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().expect("content-length"));
    if buf.len() < len + cl {
        return None;
    }
    let rec = Recorded {
        method: req.method.unwrap_or_default().to_owned(),
        path: req.path.unwrap_or_default().to_owned(),
        headers,
        body: buf[len..len + cl].to_vec(),
        connection,
    };
    buf.drain(..len + cl);
    Some(rec)
}

fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    connection: usize,
    shared: &Shared,
) -> Option<Recorded> {
    let mut chunk = [0u8; 64 * 1024];
    loop {
        if let Some(rec) = take_request(buf, connection) {
            return Some(rec);
        }
        match stream.read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if shared.stop.load(Ordering::SeqCst) {
                    return None;
                }
            }
            Err(_) => return None,
        }
    }
}

/// A `Runtime` pointed at `api`, with an explicit configuration.
pub fn runtime(api: &FakeApi) -> lambda_lite::Runtime {
    let config = lambda_lite::Config {
        function_name: "f".into(),
        memory: 128,
        ..Default::default()
    };
    lambda_lite::Runtime::new(&api.address(), config).expect("runtime")
}

/// The echo handler most tests use.
pub fn echo(event: &[u8], _ctx: &lambda_lite::Context) -> lambda_lite::Result<Vec<u8>> {
    Ok(event.to_vec())
}

/// Path of `tests/fixture` built with `panic` = "unwind" or "abort" (built once per test binary).
pub fn fixture(panic: &'static str) -> std::path::PathBuf {
    static BUILT: Mutex<Vec<(&str, std::path::PathBuf)>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap();
    if let Some((_, path)) = built.iter().find(|(p, _)| *p == panic) {
        return path.clone();
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = root.join("target").join(format!("fixture-{panic}"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["build", "--quiet", "--manifest-path"])
        .arg(root.join("tests/fixture/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .env("CARGO_PROFILE_DEV_PANIC", panic)
        .status()
        .expect("run cargo");
    assert!(status.success(), "building the {panic} fixture failed");
    let path = target.join("debug/fixture");
    built.push((panic, path.clone()));
    path
}

/// Runs the fixture against `api` in `mode`; returns the child (stderr piped).
pub fn spawn_fixture(panic: &'static str, api: &str, mode: &str) -> std::process::Child {
    std::process::Command::new(fixture(panic))
        .env("AWS_LAMBDA_RUNTIME_API", api)
        .env("FIXTURE_MODE", mode)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn fixture")
}

/// Waits for `child` to exit (with a deadline); returns its status and stderr.
pub fn wait_exit(mut child: std::process::Child) -> (std::process::ExitStatus, String) {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut err = String::new();
            child.stderr.take().map(|mut e| e.read_to_string(&mut err));
            return (status, err);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("fixture did not exit in time");
        }
        thread::sleep(Duration::from_millis(10));
    }
}
