//! The test kit's Runtime API: a loopback server on a thread of its own that hands out the
//! queued events on `GET /next` and records what the runtime posts back, as Lambda's would.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread;

/// An event as `GET /next` answers it: the body and the `Lambda-Runtime-*` headers.
pub(super) struct Queued {
    pub(super) headers: Vec<(&'static str, String)>,
    pub(super) body: Vec<u8>,
}

/// What the runtime posted.
#[derive(Debug)]
pub(super) enum Posted {
    /// `/invocation/{id}/response`: the body as its chunks (one for a `Content-Length` body),
    /// and the trailers of a chunked one.
    Response {
        chunks: Vec<Vec<u8>>,
        trailers: Vec<(String, String)>,
        chunked: bool,
    },
    /// `/invocation/{id}/error`: the error document.
    Error { body: Vec<u8> },
}

/// The server: its address, the queue `GET /next` takes from, and what was posted.
pub(super) struct Server {
    pub(super) address: String,
    queue: Arc<Mutex<VecDeque<Queued>>>,
    pub(super) posted: Receiver<Posted>,
    /// Set when the kit is dropped: the accepting thread then ends.
    stop: Arc<AtomicBool>,
}

impl Server {
    pub(super) fn start() -> std::io::Result<Server> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?.to_string();
        let queue = Arc::new(Mutex::new(VecDeque::new()));
        let (tx, posted) = channel();
        let shared = Arc::clone(&queue);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        // Runs until the kit is dropped; each connection's thread until the runtime hangs up.
        thread::Builder::new()
            .name("lambda-lite-testkit".into())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    if stopped.load(Ordering::SeqCst) {
                        return;
                    }
                    let (queue, tx) = (Arc::clone(&shared), tx.clone());
                    let _ = thread::Builder::new().spawn(move || serve(stream, &queue, &tx));
                }
            })?;
        Ok(Server {
            address,
            queue,
            posted,
            stop,
        })
    }

    pub(super) fn push(&self, event: Queued) {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(event);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread, which then sees `stop`.
        let _ = TcpStream::connect(&self.address);
    }
}

/// One keep-alive connection: request after request until the runtime hangs up.
fn serve(stream: TcpStream, queue: &Mutex<VecDeque<Queued>>, posted: &Sender<Posted>) {
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some((method, path, headers)) = read_head(&mut reader) {
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let chunked =
            header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        let length = header("content-length")
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        let Some((chunks, trailers)) = read_body(&mut reader, chunked, length) else {
            return;
        };
        let reply: Vec<u8> = if method == "GET" && path.ends_with("/invocation/next") {
            let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
            match next {
                Some(event) => {
                    let mut head = String::from("HTTP/1.1 200 OK\r\n");
                    for (name, value) in &event.headers {
                        head.push_str(&format!("{name}: {value}\r\n"));
                    }
                    head.push_str(&format!("Content-Length: {}\r\n\r\n", event.body.len()));
                    [head.into_bytes(), event.body].concat()
                }
                // Nothing queued: the kit only steps after queueing, so this is a second
                // `/next` in one step; refuse it as a broken Runtime API would be.
                None => b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n".to_vec(),
            }
        } else if method == "POST" && (path.ends_with("/response") || path.ends_with("/error")) {
            let post = if path.ends_with("/response") {
                Posted::Response {
                    chunks,
                    trailers,
                    chunked,
                }
            } else {
                Posted::Error {
                    body: chunks.concat(),
                }
            };
            let _ = posted.send(post);
            b"HTTP/1.1 202 Accepted\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n".to_vec()
        } else {
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec()
        };
        if out.write_all(&reply).is_err() {
            return;
        }
    }
}

/// A request's method, path and headers.
type Head = (String, String, Vec<(String, String)>);
/// A body's chunks and trailers.
type Body = (Vec<Vec<u8>>, Vec<(String, String)>);

fn read_head(reader: &mut impl BufRead) -> Option<Head> {
    let mut raw = Vec::new();
    loop {
        let before = raw.len();
        if reader.read_until(b'\n', &mut raw).ok()? == 0 {
            return None;
        }
        if raw[before..] == *b"\r\n" && before > 0 {
            break;
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    request.parse(&raw).ok()?;
    let headers = request
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_owned(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    Some((
        request.method?.to_owned(),
        request.path?.to_owned(),
        headers,
    ))
}

/// The body as its chunks (one, for a `Content-Length` body) and the trailers.
fn read_body(reader: &mut impl BufRead, chunked: bool, length: usize) -> Option<Body> {
    if !chunked {
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
        return Some((
            if length == 0 { Vec::new() } else { vec![body] },
            Vec::new(),
        ));
    }
    let mut chunks = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let size = usize::from_str_radix(line.trim().split(';').next()?, 16).ok()?;
        if size == 0 {
            break;
        }
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk).ok()?;
        chunk.truncate(size);
        chunks.push(chunk);
    }
    let mut trailers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            return Some((chunks, trailers));
        }
        let (name, value) = line.split_once(':')?;
        trailers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
}
