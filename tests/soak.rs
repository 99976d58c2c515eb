//! Fault-injection soak: a Runtime API that misbehaves at random (seeded) in front of a real
//! runtime process, counting that every event is answered exactly once or dropped by the
//! protocol's rules, never twice, never to the wrong id, and that the process survives with
//! flat memory.
//!
//! `cargo test --test soak` runs short soaks (CI), one loop and 8 concurrent workers; the long
//! ones are `cargo test --release --test soak -- --ignored --nocapture` (100,000 invocations
//! each). `SOAK_SEED=<n>` replays a run; `SOAK_INVOCATIONS=<n>` changes its length.
//!
//! A fault that kills a connection (closed before the head, cut in the body) is only ever
//! injected on a connection that already served a request: the runtime's one retry goes out
//! on a new connection, and a worker whose retry failed too would rightly stop, so this is
//! what keeps every worker alive under any interleaving.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly
mod support;
use support::Seeded;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    Echo(u64),
    Failure(&'static str),
}

struct Offer {
    id: String,
    body: Vec<u8>,
    expect: Expect,
}

#[derive(Default, Debug)]
struct Tally {
    offered: u64,
    delivered: u64,
    answered_once: u64,
    duplicates: u64,
    wrong_id: u64,
    wrong_content: u64,
    ghosts_dropped: u64,
    closed_before_head: u64,
    truncated: u64,
    rejected_410_413_400: u64,
    closed_after_202: u64,
    cut_mid_202: u64,
    bytes_delivered: u64,
    largest_event: usize,
}

struct State {
    rng: Seeded,
    target: u64,
    next_id: u64,
    pending: Option<Offer>,
    outstanding: HashMap<String, Expect>,
    answered: HashMap<String, u32>,
    tally: Tally,
    hwm_after_warmup: Option<u64>,
    pid: u32,
    done: bool,
    /// Runtime workers; the first `2 × workers` events are the 6 MiB warm-up.
    workers: u64,
}

fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

impl State {
    fn warming_up(&self) -> bool {
        self.tally.delivered < 2 * self.workers
    }

    /// The next event: the pending one again, or a new one of random size and kind. The first
    /// `2 × workers` are 6 MiB (chunked, then Content-Length) so memory is at its peak after
    /// warm-up; with several workers their handlers sleep 300 ms first, so each worker takes
    /// one of each while the others are busy.
    fn offer(&mut self) -> Offer {
        if let Some(o) = self.pending.take() {
            return o;
        }
        self.next_id += 1;
        let n = self.next_id;
        if n <= 2 * self.workers {
            let body: Vec<u8> = (0..6 * 1024 * 1024)
                .map(|i| b'a' + (i % 26) as u8)
                .collect();
            let expect = Expect::Echo(hash(&body));
            let body = if self.workers > 1 {
                [&b"sleep:300:"[..], &body].concat()
            } else {
                body
            };
            self.tally.offered += 1;
            return Offer {
                id: format!("ev-{n}"),
                body,
                expect,
            };
        }
        let size = match n {
            _ if self.rng.chance(2) => 1024 * 1024 + self.rng.below(5 * 1024 * 1024) as usize,
            _ if self.rng.chance(60) => 2048 + self.rng.below(256 * 1024) as usize,
            _ => self.rng.below(2048) as usize,
        };
        let (body, expect) = match self.rng.below(100) {
            0..=1 => (b"fail".to_vec(), Expect::Failure("Function.Failed")),
            2..=3 => (b"panic".to_vec(), Expect::Failure("Runtime.HandlerPanic")),
            _ => {
                let mut letters = Seeded::new(self.rng.next());
                let body: Vec<u8> = (0..size).map(|_| b'a' + letters.below(26) as u8).collect();
                let h = hash(&body);
                (body, Expect::Echo(h))
            }
        };
        self.tally.offered += 1;
        Offer {
            id: format!("ev-{n}"),
            body,
            expect,
        }
    }
}

enum Next {
    Close,
    Bytes {
        bytes: Vec<u8>,
        cut_at: Option<usize>,
        bytewise: bool,
        ragged: bool,
    },
    Stop,
}

/// `kept`: the request came on a connection that already served one (so a fault here is
/// never the second failure in a row of the worker that sent it).
fn next_reply(state: &mut State, kept: bool) -> Next {
    if state.tally.delivered >= state.target {
        state.done = true;
        return Next::Stop;
    }
    let offer = state.offer();
    let (warming_up, workers) = (state.warming_up(), state.workers);
    let rng = &mut state.rng;
    if !warming_up && kept && rng.chance(15) {
        state.tally.closed_before_head += 1;
        state.pending = Some(offer);
        return Next::Close;
    }
    let chunked = match offer.id[3..].parse::<u64>().unwrap_or(0) {
        n if n <= workers => true,
        n if n <= 2 * workers => false,
        _ => rng.chance(500),
    };
    let mut head = String::from("HTTP/1.1 200 OK\r\n");
    let ghost = !warming_up && rng.chance(8);
    if !ghost {
        head.push_str(&format!("lambda-runtime-aws-request-id: {}\r\n", offer.id));
    }
    head.push_str(
        "Lambda-Runtime-Deadline-Ms: 99999999999999\r\nContent-Type: application/json\r\n",
    );
    let mut bytes = head.into_bytes();
    let body_start;
    if chunked {
        bytes.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
        body_start = bytes.len();
        let mut rest = &offer.body[..];
        while !rest.is_empty() {
            let max_chunk = if rng.chance(500) { 64 } else { 700_000 };
            let n = (1 + rng.below(max_chunk) as usize).min(rest.len());
            let ext = if rng.chance(100) { ";x=y" } else { "" };
            bytes.extend_from_slice(format!("{n:x}{ext}\r\n").as_bytes());
            bytes.extend_from_slice(&rest[..n]);
            bytes.extend_from_slice(b"\r\n");
            rest = &rest[n..];
        }
        bytes.extend_from_slice(if rng.chance(100) {
            b"0\r\nX-T: 1\r\n\r\n"
        } else {
            b"0\r\n\r\n"
        });
    } else {
        bytes.extend_from_slice(format!("Content-Length: {}\r\n\r\n", offer.body.len()).as_bytes());
        body_start = bytes.len();
        bytes.extend_from_slice(&offer.body);
    }
    let small = offer.body.len() < 4096;
    let bytewise = small && rng.chance(30);
    let ragged = !bytewise && rng.chance(100);
    if ghost {
        // No request id: the runtime must report it and never answer it. The event stays pending.
        state.tally.ghosts_dropped += 1;
        state.pending = Some(offer);
        return Next::Bytes {
            bytes,
            cut_at: None,
            bytewise,
            ragged,
        };
    }
    let truncate = !warming_up && kept && !offer.body.is_empty() && rng.chance(20);
    let cut_at =
        truncate.then(|| body_start + rng.below((bytes.len() - body_start) as u64) as usize);
    let expect = if truncate {
        state.tally.truncated += 1;
        Expect::Failure("Runtime.InvalidEvent")
    } else {
        offer.expect
    };
    state.tally.delivered += 1;
    state.tally.bytes_delivered += offer.body.len() as u64;
    state.tally.largest_event = state.tally.largest_event.max(offer.body.len());
    state.outstanding.insert(offer.id, expect);
    Next::Bytes {
        bytes,
        cut_at,
        bytewise,
        ragged,
    }
}

/// Checks one answer; returns what to reply (bytes, then close?).
fn post_reply(
    state: &mut State,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> (Vec<u8>, bool) {
    let parts: Vec<&str> = path
        .trim_start_matches("/2018-06-01/runtime/invocation/")
        .split('/')
        .collect();
    let (id, kind) = (parts[0], parts.get(1).copied().unwrap_or(""));
    let count = state.answered.entry(id.to_owned()).or_insert(0);
    *count += 1;
    match (state.outstanding.remove(id), *count) {
        (Some(expect), 1) => {
            state.tally.answered_once += 1;
            let ok = match expect {
                Expect::Echo(h) => kind == "response" && hash(body) == h,
                Expect::Failure(ty) => {
                    let header = headers.iter().find(|(n, _)| {
                        n.eq_ignore_ascii_case("lambda-runtime-function-error-type")
                    });
                    kind == "error" && header.is_some_and(|(_, v)| v == ty)
                }
            };
            if !ok {
                state.tally.wrong_content += 1;
                eprintln!(
                    "wrong answer for {id}: {kind} {:?}",
                    String::from_utf8_lossy(&body[..body.len().min(200)])
                );
            }
        }
        (_, n) if n > 1 => state.tally.duplicates += 1,
        _ => state.tally.wrong_id += 1,
    }
    if state.hwm_after_warmup.is_none()
        && state.tally.delivered >= (state.target.min(1000) / 2).max(4 * state.workers)
    {
        state.hwm_after_warmup = Some(support::vm_hwm_kib(state.pid));
    }
    let rng = &mut state.rng;
    match rng.below(1000) {
        0..=29 => {
            state.tally.rejected_410_413_400 += 1;
            let status =
                ["410 Gone", "413 Payload Too Large", "400 Bad Request"][rng.below(3) as usize];
            (
                format!("HTTP/1.1 {status}\r\nContent-Length: 2\r\n\r\n{{}}").into_bytes(),
                false,
            )
        }
        30..=39 => {
            state.tally.closed_after_202 += 1;
            (
                b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n".to_vec(),
                true,
            )
        }
        40..=49 => {
            state.tally.cut_mid_202 += 1;
            (b"HTTP/1.1 202 Acc".to_vec(), true)
        }
        _ => (
            b"HTTP/1.1 202 Accepted\r\nContent-Length: 15\r\n\r\n{\"status\":\"OK\"}".to_vec(),
            false,
        ),
    }
}

fn write_out(
    stream: &mut TcpStream,
    bytes: &[u8],
    bytewise: bool,
    ragged: bool,
    rng_seed: u64,
) -> std::io::Result<()> {
    if bytewise {
        for b in bytes {
            stream.write_all(std::slice::from_ref(b))?;
        }
        return Ok(());
    }
    if ragged {
        return support::write_ragged(stream, bytes, rng_seed);
    }
    stream.write_all(bytes)
}

fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 1 << 16];
    let mut served = 0;
    loop {
        let Some(support::Recorded {
            method,
            path,
            headers: hs,
            body,
            ..
        }) = support::take_request(&mut buf, 0)
        else {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            continue;
        };
        served += 1;
        if method == "GET" {
            let (reply, seed, delay) = {
                let mut s = state.lock().unwrap();
                let reply = next_reply(&mut s, served > 1);
                let seed = s.rng.next();
                let delay = s.rng.chance(20);
                (reply, seed, delay)
            };
            if delay {
                thread::sleep(Duration::from_millis(1 + seed % 3));
            }
            match reply {
                Next::Stop => {
                    thread::sleep(Duration::from_secs(3600));
                    return;
                }
                Next::Close => {
                    let _ = stream.shutdown(Shutdown::Both);
                    return;
                }
                Next::Bytes {
                    bytes,
                    cut_at,
                    bytewise,
                    ragged,
                } => {
                    let end = cut_at.unwrap_or(bytes.len());
                    if write_out(&mut stream, &bytes[..end], bytewise, ragged, seed).is_err()
                        || cut_at.is_some()
                    {
                        let _ = stream.shutdown(Shutdown::Both);
                        return;
                    }
                }
            }
        } else {
            let (reply, close) = post_reply(&mut state.lock().unwrap(), &path, &hs, &body);
            if stream.write_all(&reply).is_err() || close {
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
        }
    }
}

/// The test fixture as it would ship: static musl, size profile, panic = "unwind" (build.sh).
fn shipping_fixture() -> std::path::PathBuf {
    // Once per test binary: both soaks share it.
    static BUILT: Mutex<Option<std::path::PathBuf>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = &*built {
        return path.clone();
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("target/soak-bin");
    let status = std::process::Command::new("bash")
        .arg(root.join("build.sh"))
        .args(["--bin", "fixture", "--panic", "unwind", "--manifest-path"])
        .arg(root.join("tests/fixture/Cargo.toml"))
        .arg("--out")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "build.sh could not build the fixture");
    let path = out.join("fixture/bootstrap");
    *built = Some(path.clone());
    path
}

fn soak(invocations: u64, workers: usize) {
    let seed: u64 = std::env::var("SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1234_abcd);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut child = std::process::Command::new(shipping_fixture())
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_LOG_LEVEL", "ERROR")
        .env(
            "FIXTURE_MODE",
            if workers > 1 { "concurrent" } else { "echo" },
        )
        .env("AWS_LAMBDA_MAX_CONCURRENCY", workers.to_string())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let state = Arc::new(Mutex::new(State {
        rng: Seeded::new(seed),
        target: invocations,
        next_id: 0,
        pending: None,
        outstanding: HashMap::new(),
        answered: HashMap::new(),
        tally: Tally::default(),
        hwm_after_warmup: None,
        pid: child.id(),
        done: false,
        workers: workers as u64,
    }));
    let s = state.clone();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let s = s.clone();
            thread::spawn(move || serve(stream, s));
        }
    });
    let started = Instant::now();
    let deadline = started + Duration::from_secs(30 + invocations / 50);
    loop {
        thread::sleep(Duration::from_millis(20));
        let s = state.lock().unwrap();
        if s.done && s.outstanding.is_empty() {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "the runtime died ({status}) after {:?}; seed {seed}",
                s.tally
            );
        }
        assert!(
            Instant::now() < deadline,
            "soak stalled: {:?}, outstanding {:?}; seed {seed}",
            s.tally,
            s.outstanding
        );
    }
    let alive = child.try_wait().unwrap().is_none();
    let threads = support::thread_count(child.id());
    let hwm_end = support::vm_hwm_kib(child.id());
    let _ = child.kill();
    let _ = child.wait();
    let s = state.lock().unwrap();
    let t = &s.tally;
    let warm = s.hwm_after_warmup.unwrap_or(0);
    println!(
        "soak seed {seed}, {workers} worker(s): {} invocations in {:.1} s, {:.1} MiB of events (largest {} B): {t:#?}\nVmHWM after warm-up {warm} KiB, at the end {hwm_end} KiB",
        t.delivered,
        started.elapsed().as_secs_f64(),
        t.bytes_delivered as f64 / 1048576.0,
        t.largest_event
    );
    assert!(alive, "the runtime process is alive at the end");
    assert_eq!(threads, workers, "every worker is still serving");
    assert_eq!(t.duplicates, 0, "duplicated answers; seed {seed}");
    assert_eq!(t.wrong_id, 0, "answers to ids never delivered; seed {seed}");
    assert_eq!(
        t.wrong_content, 0,
        "answers with the wrong content; seed {seed}"
    );
    assert_eq!(
        t.answered_once, t.delivered,
        "every delivered event answered exactly once; seed {seed}"
    );
    assert!(
        hwm_end <= warm + 1024,
        "memory flat after warm-up: {warm} KiB then {hwm_end} KiB; seed {seed}"
    );
}

fn invocations(default: u64) -> u64 {
    std::env::var("SOAK_INVOCATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

#[test]
fn short_soak_under_random_faults() {
    soak(invocations(3_000), 1);
}

#[test]
fn short_soak_of_8_workers_under_random_faults() {
    soak(invocations(3_000), 8);
}

#[test]
#[ignore = "long: run with --release -- --ignored"]
fn long_soak_100k_invocations() {
    soak(invocations(100_000), 1);
}

#[test]
#[ignore = "long: run with --release -- --ignored"]
fn long_soak_100k_invocations_8_workers() {
    soak(invocations(100_000), 8);
}
