//! A local Runtime API on 127.0.0.1: each connection gets a thread that parses requests and
//! hands them, time-stamped, to the one controller (the invoker or the benchmark), which
//! answers them. `/next` bodies over 2 KB are sent chunked, as the real service does.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When the whole request had arrived.
    pub at: Instant,
    reply: Sender<Vec<u8>>,
}

impl Request {
    pub fn respond(&self, bytes: Vec<u8>) {
        let _ = self.reply.send(bytes);
    }
    pub fn accept(&self) {
        self.respond(b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"OK\"}".to_vec());
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

pub struct LocalApi {
    pub address: String,
    requests: Receiver<Request>,
    connections: Arc<AtomicUsize>,
}

impl LocalApi {
    pub fn start() -> std::io::Result<LocalApi> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?.to_string();
        let (tx, rx) = channel();
        let connections = Arc::new(AtomicUsize::new(0));
        let count = connections.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::SeqCst);
                let tx = tx.clone();
                thread::spawn(move || serve(stream, tx));
            }
        });
        Ok(LocalApi { address, requests: rx, connections })
    }

    pub fn next_request(&self, timeout: Duration) -> Result<Request, RecvTimeoutError> {
        self.requests.recv_timeout(timeout)
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn serve(mut stream: TcpStream, tx: Sender<Request>) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 256 * 1024];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        if let Ok(httparse::Status::Complete(len)) = req.parse(&buf) {
            let headers: Vec<(String, String)> =
                req.headers.iter().map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).into_owned())).collect();
            let (method, path) = (req.method.unwrap_or("").to_owned(), req.path.unwrap_or("").to_owned());
            let cl = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            let chunked = headers.iter().any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
            let body = if chunked {
                match dechunk(&buf[len..]) {
                    Some((body, used)) => {
                        buf.drain(..len + used);
                        Some(body)
                    }
                    None => None,
                }
            } else if buf.len() >= len + cl {
                let body = buf[len..len + cl].to_vec();
                buf.drain(..len + cl);
                Some(body)
            } else {
                None
            };
            if let Some(body) = body {
                let (rtx, rrx) = channel();
                let request = Request { method, path, headers, body, at: Instant::now(), reply: rtx };
                if tx.send(request).is_err() {
                    return;
                }
                let Ok(bytes) = rrx.recv() else { return };
                if stream.write_all(&bytes).is_err() {
                    return;
                }
                continue;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Decodes a complete chunked body at the start of `raw`: (body, bytes used), or None.
fn dechunk(raw: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let nl = raw[at..].iter().position(|&b| b == b'\n')? + at;
        let line = std::str::from_utf8(&raw[at..nl]).ok()?.trim();
        let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
        at = nl + 1;
        if size == 0 {
            loop {
                let nl = raw[at..].iter().position(|&b| b == b'\n')? + at;
                let empty = raw[at..nl].iter().all(|&b| b == b'\r');
                at = nl + 1;
                if empty {
                    return Some((body, at));
                }
            }
        }
        if raw.len() < at + size + 2 {
            return None;
        }
        body.extend_from_slice(&raw[at..at + size]);
        at += size + 2;
    }
}

/// A `/next` answer as the real service frames it: Content-Length up to 2 KB, one chunk above.
pub fn next_response(request_id: &str, deadline_ms: u128, trace: &str, event: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {request_id}\r\n\
         Lambda-Runtime-Deadline-Ms: {deadline_ms}\r\n\
         Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:012345678912:function:local\r\n\
         Lambda-Runtime-Trace-Id: {trace}\r\n"
    )
    .into_bytes();
    if event.len() > 2048 {
        out.extend_from_slice(format!("Transfer-Encoding: chunked\r\n\r\n{:x}\r\n", event.len()).as_bytes());
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
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let mut x = nanos ^ (COUNTER.fetch_add(1, Ordering::SeqCst) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
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

pub fn epoch_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis())
}

/// Peak resident set (VmHWM) of a live process, in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
