//! An in-process fake Runtime API: a real TCP listener on 127.0.0.1 that answers each
//! request with the next scripted reply and records every request it saw.
//!
//! Replies are queued before (or while) the runtime runs; each connection has its own thread,
//! so a second connection (a reconnect, the abort-mode panic report) is served too. Every
//! wait has a deadline: a hang fails the test instead of the build.
#![allow(dead_code)]

#[path = "../../src/seeded.rs"]
mod seeded;
pub use seeded::Seeded;

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
    /// For a chunked body: the size of each chunk, in order of arrival.
    pub chunks: Vec<usize>,
    /// For a chunked body: its trailer fields.
    pub trailers: Vec<(String, String)>,
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
    /// The value of a trailer field, by case-insensitive name.
    pub fn trailer(&self, name: &str) -> Option<&str> {
        self.trailers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
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
    /// Taken as soon as a request's head arrives: reads this many bytes of its body (a
    /// streamed one), then does what the inner reply says without reading the rest.
    MidStream(usize, Box<Reply>),
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
    /// Connections the server has closed itself.
    closed: AtomicUsize,
    /// Chunks of chunked request bodies received so far, counted as each one arrives.
    chunks: Mutex<usize>,
    chunks_cv: Condvar,
    /// Routed mode (see [`FakeApi::routed`]).
    routed: AtomicBool,
    /// Routed mode: answers to `POST /runtime/invocation/…` (202 when empty).
    post_replies: Mutex<VecDeque<Reply>>,
    /// Routed mode: answers to `GET /extension/event/next` (held until one is pushed).
    extension_events: Mutex<VecDeque<Reply>>,
    extension_events_cv: Condvar,
    registered: AtomicUsize,
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

    /// A fake API that answers by endpoint, as the service does with several connections at
    /// once: `GET /runtime/invocation/next` takes the next queued reply ([`FakeApi::push`],
    /// whichever connection asks first); posts to an invocation get 202 unless
    /// [`FakeApi::push_post`] queued something else; `POST /extension/register` gets 200 and an
    /// identifier (`ext-1`, `ext-2`, …); `GET /extension/event/next` is held until
    /// [`FakeApi::push_extension_event`]; `GET /runtime/restore/next` gets 200; error reports
    /// get 202; `PUT /telemetry` gets 200.
    pub fn routed() -> FakeApi {
        let api = FakeApi::start();
        api.shared.routed.store(true, Ordering::SeqCst);
        api
    }

    /// Routed mode: the answer to the next post to an invocation.
    pub fn push_post(&self, reply: Reply) {
        self.shared.post_replies.lock().unwrap().push_back(reply);
    }

    /// Routed mode: the answer to the next `GET /extension/event/next`.
    pub fn push_extension_event(&self, reply: Reply) {
        self.shared
            .extension_events
            .lock()
            .unwrap()
            .push_back(reply);
        self.shared.extension_events_cv.notify_all();
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

    /// Waits until `n` chunks of chunked request bodies have arrived (as they arrive, before
    /// their requests are complete).
    pub fn wait_for_chunks(&self, n: usize) {
        let deadline = Instant::now() + WAIT;
        let mut seen = self.shared.chunks.lock().unwrap();
        while *seen < n {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {n} chunks; got {}",
                *seen
            );
            seen = self.shared.chunks_cv.wait_timeout(seen, left).unwrap().0;
        }
    }

    /// Waits until the requests recorded so far satisfy `pred`; returns them.
    pub fn wait_until(&self, pred: impl Fn(&[Recorded]) -> bool) -> Vec<Recorded> {
        let deadline = Instant::now() + WAIT;
        loop {
            let reqs = self.requests();
            if pred(&reqs) {
                return reqs;
            }
            assert!(Instant::now() < deadline, "timed out: {reqs:#?}");
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits until the server has closed `n` connections itself.
    pub fn wait_for_closes(&self, n: usize) {
        let deadline = Instant::now() + WAIT;
        while self.shared.closed.load(Ordering::SeqCst) < n {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {n} closes"
            );
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Waits until a client of this server has received the FIN of a connection the server
    /// closed: its socket is in CLOSE_WAIT (`/proc/net/tcp`, state 08), so what it does next
    /// sees the close. The event itself, not a nap for the FIN's way through loopback.
    pub fn wait_for_a_client_to_see_a_close(&self) {
        let port = self
            .address()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse::<u16>().ok());
        let port = format!("{:04X}", port.expect("the API's port"));
        let deadline = Instant::now() + WAIT;
        loop {
            let tables = ["/proc/net/tcp", "/proc/net/tcp6"]
                .map(|t| std::fs::read_to_string(t).unwrap_or_default());
            assert!(
                tables.iter().any(|t| !t.is_empty()),
                "cannot read /proc/net/tcp: this check needs Linux"
            );
            // Columns: sl local_address rem_address st …; addresses are HEX_IP:HEX_PORT.
            let seen = tables.iter().flat_map(|t| t.lines().skip(1)).any(|line| {
                let cols: Vec<&str> = line.split_whitespace().collect();
                cols.len() > 3 && cols[2].ends_with(&format!(":{port}")) && cols[3] == "08"
            });
            if seen {
                return;
            }
            assert!(Instant::now() < deadline, "no client saw the close");
            thread::sleep(Duration::from_millis(1));
        }
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
        let Some(head) = read_head(&mut stream, &mut buf, shared) else {
            return;
        };
        // A reply that acts in the middle of a streamed body is taken at once.
        let early = {
            let mut q = shared.replies.lock().unwrap();
            match q.front() {
                Some(Reply::MidStream(..)) => q.pop_front(),
                _ => None,
            }
        };
        let stop_after = match &early {
            Some(Reply::MidStream(n, _)) => Some(*n),
            _ => None,
        };
        let Some(req) = read_body(&mut stream, &mut buf, head, connection, shared, stop_after)
        else {
            return;
        };
        shared.recorded.lock().unwrap().push(req.clone());
        shared.recorded_cv.notify_all();
        let reply = match early {
            Some(Reply::MidStream(_, then)) => Some(*then),
            _ if shared.routed.load(Ordering::SeqCst) => route(shared, &req),
            _ => next_reply(shared),
        };
        match reply {
            None | Some(Reply::Close) => return close(stream, shared),
            Some(Reply::Partial(bytes)) => {
                let _ = stream.write_all(&bytes);
                return close(stream, shared);
            }
            Some(Reply::MidStream(..)) => {
                panic!("a MidStream reply must be the first of its request")
            }
            Some(Reply::Respond(r)) => {
                thread::sleep(r.delay);
                if write_delivered(&mut stream, &r.encode(), &r.delivery).is_err() {
                    return;
                }
                if r.close_after || matches!(r.framing, Framing::UntilClose) || stop_after.is_some()
                {
                    return close(stream, shared);
                }
            }
        }
    }
}

/// Routed mode: the answer to `req` (see [`FakeApi::routed`]).
fn route(shared: &Shared, req: &Recorded) -> Option<Reply> {
    let path = req.path.as_str();
    if path.ends_with("/runtime/invocation/next") {
        return next_reply(shared);
    }
    if path.contains("/runtime/invocation/") {
        let scripted = shared.post_replies.lock().unwrap().pop_front();
        return Some(scripted.unwrap_or_else(accepted));
    }
    if path.ends_with("/extension/register") {
        let n = shared.registered.fetch_add(1, Ordering::SeqCst) + 1;
        return Some(
            Response::new(
                200,
                r#"{"functionName":"f","functionVersion":"$LATEST","handler":"bootstrap"}"#,
            )
            .header("Lambda-Extension-Identifier", &format!("ext-{n}"))
            .reply(),
        );
    }
    if path.ends_with("/extension/event/next") {
        return wait_for_reply(
            shared,
            (&shared.extension_events, &shared.extension_events_cv),
            Duration::from_secs(3600),
        );
    }
    if path.ends_with("/runtime/restore/next") {
        return Some(Response::new(200, "").reply());
    }
    if path.ends_with("/telemetry") {
        return Some(Response::new(200, "OK").reply());
    }
    Some(accepted())
}

/// The next scripted reply (waits for one to be queued, up to [`WAIT`]).
fn next_reply(shared: &Shared) -> Option<Reply> {
    wait_for_reply(shared, (&shared.replies, &shared.replies_cv), WAIT)
}

fn wait_for_reply(
    shared: &Shared,
    (queue, cv): (&Mutex<VecDeque<Reply>>, &Condvar),
    wait: Duration,
) -> Option<Reply> {
    let deadline = Instant::now() + wait;
    let mut q = queue.lock().unwrap();
    loop {
        if let Some(r) = q.pop_front() {
            return Some(r);
        }
        if shared.stop.load(Ordering::SeqCst) || Instant::now() >= deadline {
            return None;
        }
        q = cv.wait_timeout(q, Duration::from_millis(50)).unwrap().0;
    }
}

fn close(stream: TcpStream, shared: &Shared) {
    let _ = stream.shutdown(Shutdown::Both);
    shared.closed.fetch_add(1, Ordering::SeqCst);
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
    let mut rng = Seeded::new(seed);
    let mut rest = bytes;
    while !rest.is_empty() {
        let x = rng.next();
        let n = (x as usize % 3000 + 1).min(rest.len());
        stream.write_all(&rest[..n])?;
        rest = &rest[n..];
        if x % 7 == 0 {
            thread::sleep(Duration::from_micros(200));
        }
    }
    Ok(())
}

/// A request head: method, path, headers; its bytes already taken off the buffer.
pub struct RequestHead {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl RequestHead {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    }
    fn content_length(&self) -> usize {
        self.header("content-length")
            .map_or(0, |v| v.trim().parse().expect("content-length"))
    }
    fn recorded(
        self,
        (body, chunks, trailers): (Vec<u8>, Vec<usize>, Vec<(String, String)>),
        connection: usize,
    ) -> Recorded {
        Recorded {
            method: self.method,
            path: self.path,
            headers: self.headers,
            body,
            chunks,
            trailers,
            connection,
        }
    }
}

/// Takes one request head off the front of `buf`, or `None` while it is incomplete.
pub fn take_head(buf: &mut Vec<u8>) -> Option<RequestHead> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    let Ok(httparse::Status::Complete(len)) = req.parse(buf) else {
        return None;
    };
    let head = RequestHead {
        method: req.method.unwrap_or_default().to_owned(),
        path: req.path.unwrap_or_default().to_owned(),
        headers: req
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_owned(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect(),
    };
    buf.drain(..len);
    Some(head)
}

/// A decoded chunked body: data, chunk sizes, trailers, bytes used.
pub type Dechunked = (Vec<u8>, Vec<usize>, Vec<(String, String)>, usize);

/// The body of a chunked request, decoded from the front of `raw`: (data, chunk sizes,
/// trailers, bytes used), or `None` while incomplete. An independent decoder (not the
/// crate's), so the two check each other.
pub fn dechunk(raw: &[u8]) -> Option<Dechunked> {
    fn line(raw: &[u8], at: &mut usize) -> Option<String> {
        let nl = raw[*at..].windows(2).position(|w| w == b"\r\n")? + *at;
        let text = String::from_utf8(raw[*at..nl].to_vec()).expect("utf-8 chunk line");
        *at = nl + 2;
        Some(text)
    }
    let mut at = 0;
    let (mut body, mut sizes, mut trailers) = (Vec::new(), Vec::new(), Vec::new());
    loop {
        let size_line = line(raw, &mut at)?;
        let size = usize::from_str_radix(size_line.split(';').next()?.trim(), 16)
            .expect("chunk size in hex");
        if size == 0 {
            loop {
                let t = line(raw, &mut at)?;
                if t.is_empty() {
                    return Some((body, sizes, trailers, at));
                }
                let (n, v) = t.split_once(':').expect("trailer field");
                trailers.push((n.trim().to_owned(), v.trim().to_owned()));
            }
        }
        if raw.len() < at + size + 2 {
            return None;
        }
        assert_eq!(
            &raw[at + size..at + size + 2],
            b"\r\n",
            "chunk data not followed by CRLF"
        );
        body.extend_from_slice(&raw[at..at + size]);
        sizes.push(size);
        at += size + 2;
    }
}

/// Takes one complete request (head, `Content-Length` or chunked body) off the front of
/// `buf`, or `None` while it is incomplete.
pub fn take_request(buf: &mut Vec<u8>, connection: usize) -> Option<Recorded> {
    let mut peek = buf.clone();
    let head = take_head(&mut peek)?;
    let (body, chunks, trailers, used) = if head.chunked() {
        dechunk(&peek)?
    } else {
        let cl = head.content_length();
        if peek.len() < cl {
            return None;
        }
        (peek[..cl].to_vec(), Vec::new(), Vec::new(), cl)
    };
    let head_len = buf.len() - peek.len();
    buf.drain(..head_len + used);
    Some(head.recorded((body, chunks, trailers), connection))
}

/// Reads once more into `buf`; `false` at EOF, on an error, or when the server stops.
fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>, shared: &Shared) -> bool {
    let mut chunk = [0u8; 64 * 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return false,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                return true;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if shared.stop.load(Ordering::SeqCst) {
                    return false;
                }
            }
            Err(_) => return false,
        }
    }
}

fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>, shared: &Shared) -> Option<RequestHead> {
    loop {
        if let Some(head) = take_head(buf) {
            return Some(head);
        }
        if !read_more(stream, buf, shared) {
            return None;
        }
    }
}

/// Reads the body that follows `head`. A chunked body is read chunk by chunk, each counted as
/// it arrives; with `stop_after`, reading stops once that many body bytes are in.
fn read_body(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    head: RequestHead,
    connection: usize,
    shared: &Shared,
    stop_after: Option<usize>,
) -> Option<Recorded> {
    let (mut body, mut chunks, mut trailers) = (Vec::new(), Vec::new(), Vec::new());
    if head.chunked() {
        loop {
            if stop_after.is_some_and(|n| body.len() >= n) {
                break;
            }
            // One chunk (or the last chunk and the trailers) at a time.
            let one = (|| {
                let nl = buf.windows(2).position(|w| w == b"\r\n")?;
                let line = std::str::from_utf8(&buf[..nl]).expect("chunk size line");
                let size = usize::from_str_radix(line.split(';').next()?.trim(), 16)
                    .expect("chunk size in hex");
                if size == 0 {
                    let (_, _, t, used) = dechunk(buf)?;
                    return Some((None, t, used));
                }
                if buf.len() < nl + 2 + size + 2 {
                    return None;
                }
                assert_eq!(
                    &buf[nl + 2 + size..nl + 4 + size],
                    b"\r\n",
                    "chunk data not followed by CRLF"
                );
                Some((
                    Some(buf[nl + 2..nl + 2 + size].to_vec()),
                    Vec::new(),
                    nl + 4 + size,
                ))
            })();
            match one {
                Some((Some(data), _, used)) => {
                    chunks.push(data.len());
                    body.extend_from_slice(&data);
                    buf.drain(..used);
                    *shared.chunks.lock().unwrap() += 1;
                    shared.chunks_cv.notify_all();
                }
                Some((None, t, used)) => {
                    trailers = t;
                    buf.drain(..used);
                    break;
                }
                None => {
                    if !read_more(stream, buf, shared) {
                        return None;
                    }
                }
            }
        }
    } else {
        let cl = head.content_length();
        let want = stop_after.map_or(cl, |n| n.min(cl));
        while buf.len() < want {
            if !read_more(stream, buf, shared) {
                return None;
            }
        }
        body = buf.drain(..want).collect();
    }
    Some(head.recorded((body, chunks, trailers), connection))
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

/// A streaming body as the tests write it.
pub type StreamFn<'a> = dyn FnMut(&[u8], &lambda_lite::Context, &mut lambda_lite::ResponseStream) -> lambda_lite::Result<()>
    + 'a;

/// Serves one invocation with a handler that answers it with a stream written by `body`.
#[allow(dead_code)]
pub fn step_streaming(
    runtime: &mut lambda_lite::Runtime,
    body: &mut StreamFn<'_>,
) -> Result<(), lambda_lite::Fatal> {
    let mut body = Some(body);
    runtime.step(|_, _| match body.take() {
        Some(body) => Ok(lambda_lite::Response::stream(body)),
        None => panic!("one step serves one invocation"),
    })
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

/// Path of this crate's example `name`, built (once per test binary) with `features`.
pub fn example(name: &'static str, features: &str) -> std::path::PathBuf {
    static BUILT: Mutex<Vec<(&str, std::path::PathBuf)>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap();
    if let Some((_, path)) = built.iter().find(|(n, _)| *n == name) {
        return path.clone();
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = root.join("target").join("examples-under-test");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--example",
            name,
            "--features",
            features,
        ])
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .status()
        .expect("run cargo");
    assert!(status.success(), "building example {name} failed");
    let path = target.join("debug/examples").join(name);
    built.push((name, path.clone()));
    path
}

/// Runs the fixture against `api` in `mode`; returns the child (stderr piped).
pub fn spawn_fixture(panic: &'static str, api: &str, mode: &str) -> std::process::Child {
    spawn_fixture_with(panic, api, mode, &[])
}

/// [`spawn_fixture`] with more environment variables.
pub fn spawn_fixture_with(
    panic: &'static str,
    api: &str,
    mode: &str,
    env: &[(&str, &str)],
) -> std::process::Child {
    std::process::Command::new(fixture(panic))
        .env("AWS_LAMBDA_RUNTIME_API", api)
        .env("FIXTURE_MODE", mode)
        .envs(env.iter().copied())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn fixture")
}

/// Threads of a live process (`/proc/<pid>/task`).
pub fn thread_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |d| d.count())
}

/// A path for a test's scratch file, unique to this process and `name`, removed first.
pub fn scratch_file(name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("lambda-lite-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
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

/// Peak resident set (VmHWM) of a live process, in KiB.
pub fn vm_hwm_kib(pid: u32) -> u64 {
    // A measurement a test relies on must exist: no /proc, no pass.
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/status: {e}: this test measures memory there"));
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in /proc/{pid}/status"))
}
