//! The measurements behind `report` (hidden subcommands; `size-report/run.sh` calls them):
//! - `bench`: cold start (exec → first `GET /next`) and warm cycle of each candidate, all
//!   interleaved so that the machine's noise is shared;
//! - `bench-stream`: a large stream's throughput and peak RSS, and a small stream's time to
//!   its first body byte;
//! - `bench-concurrency`: invocations per second with N workers and a 5 ms handler;
//! - `serve-one`: waits for the first `GET /next`, then SIGTERM (instruction counts under
//!   valgrind).

use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use crate::local::{self, LocalApi, Msg, Request, Route};

const WAIT: Duration = Duration::from_secs(30);
type Res<T> = Result<T, String>;

pub struct Candidate {
    pub name: String,
    pub path: String,
    pub env: Vec<(String, String)>,
}

/// Parses `--candidate NAME=PATH [--env K=V]...` lists.
/// Candidates, and the other `--flag value` pairs.
type Parsed = (Vec<Candidate>, Vec<(String, String)>);

pub fn candidates(args: &[String]) -> Res<Parsed> {
    let mut cands: Vec<Candidate> = Vec::new();
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--candidate" => {
                let v = it.next().ok_or("--candidate NAME=PATH")?;
                let (n, p) = v.split_once('=').ok_or("--candidate NAME=PATH")?;
                cands.push(Candidate {
                    name: n.into(),
                    path: p.into(),
                    env: vec![],
                });
            }
            "--env" => {
                let v = it.next().ok_or("--env KEY=VALUE")?;
                let (k, val) = v.split_once('=').ok_or("--env KEY=VALUE")?;
                cands
                    .last_mut()
                    .ok_or("--env follows a --candidate")?
                    .env
                    .push((k.into(), val.into()));
            }
            // `bench`: also time each cold start's first invocation.
            "--first-invocation" => rest.push((a.clone(), String::new())),
            flag => {
                let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
                rest.push((flag.to_owned(), value.clone()));
            }
        }
    }
    Ok((cands, rest))
}

fn option<T: std::str::FromStr>(opts: &[(String, String)], name: &str, default: T) -> Res<T> {
    match opts.iter().find(|(k, _)| k == name) {
        Some((_, v)) => v.parse().map_err(|_| format!("{name}: not a number: {v}")),
        None => Ok(default),
    }
}

fn spawn(
    path: &str,
    api: &str,
    env: &[(String, String)],
    quiet: bool,
    wrapper: Option<&str>,
) -> Res<Child> {
    let mut cmd = match wrapper {
        Some(w) => {
            let mut words = w.split_whitespace();
            let mut c = Command::new(words.next().unwrap_or(w));
            c.args(words).arg(path);
            c
        }
        None => Command::new(path),
    };
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null());
    if quiet {
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
    }
    cmd.spawn().map_err(|e| format!("cannot run {path}: {e}"))
}

/// The next complete request; a chunked one is assembled from its chunks.
fn next_request(api: &LocalApi, child: &mut Child) -> Res<Request> {
    let deadline = Instant::now() + WAIT;
    let mut chunked: Option<(Request, Vec<u8>)> = None;
    loop {
        match api.next_message(Duration::from_millis(20)) {
            Ok(Msg::Request(r)) if r.streamed => chunked = Some((r, Vec::new())),
            Ok(Msg::Request(r)) => return Ok(r),
            Ok(Msg::Chunk { data, .. }) => {
                if let Some((_, body)) = &mut chunked {
                    body.extend_from_slice(&data);
                }
            }
            Ok(Msg::End { reply, .. }) => match chunked.take() {
                Some((head, body)) => return Ok(head.completed(body, reply)),
                None => {
                    let _ = reply.send(local::accepted());
                }
            },
            Err(_) if Instant::now() > deadline => {
                return Err("no request from the bootstrap in 30 s".into());
            }
            Err(_) => {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("the bootstrap exited: {status}"));
                }
            }
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// One cold start: µs from just before spawn to the complete head of the first request, and
/// the child's VmHWM at that moment (KiB); with `first`, that event is then sent as the first
/// invocation and the µs from sending it to the answer's complete head are the third value
/// (what a function that sets up lazily, on its first call, spends there). A plain listener on
/// this thread: no server thread.
fn cold_start(c: &Candidate, first: Option<&[u8]>) -> Res<(f64, u64, Option<f64>)> {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let address = listener
        .local_addr()
        .map_err(|e| e.to_string())?
        .to_string();
    let t0 = Instant::now();
    let mut child = spawn(&c.path, &address, &c.env, true, None)?;
    let (mut stream, _) = listener.accept().map_err(|e| e.to_string())?;
    let read_head = |stream: &mut std::net::TcpStream| -> Res<()> {
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("closed before a complete request".into());
            }
            head.extend_from_slice(&buf[..n]);
        }
        Ok(())
    };
    read_head(&mut stream)?;
    let us = t0.elapsed().as_secs_f64() * 1e6;
    let rss = local::peak_rss_kib(child.id()).unwrap_or(0);
    let first_us = match first {
        Some(event) => {
            let mut response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: cold-start\r\n\
                 Lambda-Runtime-Deadline-Ms: {}\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:000000000000:function:bench\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-0-0;Sampled=0\r\nContent-Length: {}\r\n\r\n",
                local::epoch_ms() + 30_000,
                event.len()
            )
            .into_bytes();
            response.extend_from_slice(event);
            let sent = Instant::now();
            stream.write_all(&response).map_err(|e| e.to_string())?;
            read_head(&mut stream)?;
            Some(sent.elapsed().as_secs_f64() * 1e6)
        }
        None => None,
    };
    let _ = child.kill();
    let _ = child.wait();
    Ok((us, rss, first_us))
}

/// `bench`: cold start and warm cycle, interleaved.
pub fn bench(args: &[String]) -> Res<ExitCode> {
    let (cands, opts) = candidates(args)?;
    let spawns: usize = option(&opts, "--spawns", 31)?;
    let warm: usize = option(&opts, "--warm", 2000)?;
    let reference = opts
        .iter()
        .find(|(k, _)| k == "--reference")
        .map(|(_, v)| v.clone());
    // What each warm invocation sends: `--event TEXT` or `--event-file FILE` (an HTTP request,
    // the SDK function's key), else a small object.
    let event = match (
        opts.iter().find(|(k, _)| k == "--event"),
        opts.iter().find(|(k, _)| k == "--event-file"),
    ) {
        (Some((_, text)), _) => text.clone().into_bytes(),
        (None, Some((_, file))) => std::fs::read(file).map_err(|e| format!("{file}: {e}"))?,
        (None, None) => br#"{"hello":"world"}"#.to_vec(),
    };
    let event = &event[..];
    // `--first-invocation`: each cold start also serves the event once and times it.
    let first_invocation = opts.iter().any(|(k, _)| k == "--first-invocation");
    let mut cold = vec![Vec::new(); cands.len()];
    let mut startup_rss = vec![Vec::new(); cands.len()];
    let mut first = vec![Vec::new(); cands.len()];
    for round in 0..spawns + 3 {
        for (i, c) in cands.iter().enumerate() {
            let (us, rss, first_us) = cold_start(c, first_invocation.then_some(event))
                .map_err(|e| format!("{}: {e}", c.name))?;
            if round >= 3 {
                cold[i].push(us);
                startup_rss[i].push(rss as f64);
                first[i].extend(first_us);
            }
        }
    }
    let mut live = Vec::new();
    for c in &cands {
        let api = LocalApi::start().map_err(|e| e.to_string())?;
        let mut child = spawn(&c.path, &api.address, &c.env, true, None)?;
        let next = next_request(&api, &mut child).map_err(|e| format!("{}: {e}", c.name))?;
        live.push((api, child, std::collections::VecDeque::from([next])));
    }
    let mut warm_us = vec![Vec::new(); cands.len()];
    for _ in 0..warm.div_ceil(100) {
        for (i, (c, (api, child, pending))) in cands.iter().zip(live.iter_mut()).enumerate() {
            for _ in 0..100 {
                // Several workers wait at once: every GET /next is kept (dropping one would
                // close its connection), the oldest answered.
                let next = pending.pop_front().ok_or("lost the pending /next")?;
                let id = local::request_id();
                let sent = Instant::now();
                next.respond(local::next_response(
                    "local",
                    &id,
                    local::epoch_ms() + 3000,
                    "Root=1-0-0;Sampled=0",
                    &[],
                    event,
                ));
                // The answer and a new GET /next, in either order (a runtime that opens a
                // connection per request may send the GET before its POST is read whole).
                let (mut post, mut new_next) = (None, None);
                while post.is_none() || new_next.is_none() {
                    let r = next_request(api, child).map_err(|e| format!("{}: {e}", c.name))?;
                    if r.route == Route::Next {
                        new_next.get_or_insert(r.at);
                        pending.push_back(r);
                    } else {
                        r.accept();
                        post = Some(r);
                    }
                }
                let (Some(post), Some(next_at)) = (post, new_next) else {
                    return Err("lost a request".into());
                };
                if post.route.invocation_id() != Some(&id) || post.body.is_empty() {
                    return Err(format!(
                        "{}: wrong answer {:?} {:?}",
                        c.name,
                        post.route,
                        String::from_utf8_lossy(&post.body)
                    ));
                }
                let next_at = next_at.max(post.at);
                warm_us[i].push((next_at - sent).as_secs_f64() * 1e6);
            }
        }
    }
    let mut rss_after = Vec::new();
    let mut connections = Vec::new();
    for (api, child, _) in live.iter_mut() {
        rss_after.push(local::peak_rss_kib(child.id()).unwrap_or(0));
        connections.push(api.connections());
        let _ = child.kill();
        let _ = child.wait();
    }
    let r = match &reference {
        Some(name) => cands
            .iter()
            .position(|c| &c.name == name)
            .ok_or("no such reference candidate")?,
        None => 0,
    };
    let cold: Vec<Vec<f64>> = cold.into_iter().map(sorted).collect();
    let warm_us: Vec<Vec<f64>> = warm_us.into_iter().map(sorted).collect();
    let startup_rss: Vec<Vec<f64>> = startup_rss.into_iter().map(sorted).collect();
    let rname = &cands[r].name;
    let n = warm.div_ceil(100) * 100;
    println!(
        "| candidate | cold start median µs | p90 µs | cold ÷ {rname} | warm cycle median µs | warm ÷ {rname} | startup RSS KiB | RSS after {n} invocations KiB | RSS ÷ {rname} | TCP connections for {n} invocations |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for (i, c) in cands.iter().enumerate() {
        let (cm, wm) = (percentile(&cold[i], 0.5), percentile(&warm_us[i], 0.5));
        println!(
            "| {} | {:.0} | {:.0} | {:.2} | {:.1} | {:.2} | {} | {} | {:.2} | {} |",
            c.name,
            cm,
            percentile(&cold[i], 0.9),
            cm / percentile(&cold[r], 0.5),
            wm,
            wm / percentile(&warm_us[r], 0.5),
            percentile(&startup_rss[i], 0.5),
            rss_after[i],
            rss_after[i] as f64 / rss_after[r] as f64,
            connections[i]
        );
    }
    if first_invocation {
        let first: Vec<Vec<f64>> = first.into_iter().map(sorted).collect();
        let total = |i: usize| percentile(&cold[i], 0.5) + percentile(&first[i], 0.5);
        println!();
        println!(
            "| candidate | first invocation median µs | p90 µs | cold start + first invocation µs | ÷ {rname} |"
        );
        println!("|---|--:|--:|--:|--:|");
        for (i, c) in cands.iter().enumerate() {
            println!(
                "| {} | {:.0} | {:.0} | {:.0} | {:.2} |",
                c.name,
                percentile(&first[i], 0.5),
                percentile(&first[i], 0.9),
                total(i),
                total(i) / total(r)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `bench-stream`: each candidate streams `--mib` MiB (event `"<n>"`: n writes of 64 KiB after
/// an HTTP prelude) `--runs` times, and `--small` small streams (event `"0"`: the prelude and
/// one short write); throughput, peak RSS and time to the first body byte (after the
/// prelude's eight NULs), candidates interleaved.
pub fn bench_stream(args: &[String]) -> Res<ExitCode> {
    let (cands, opts) = candidates(args)?;
    let mib: usize = option(&opts, "--mib", 100)?;
    let runs: usize = option(&opts, "--runs", 5)?;
    let small: usize = option(&opts, "--small", 200)?;
    let mut live = Vec::new();
    for c in &cands {
        let api = LocalApi::start().map_err(|e| e.to_string())?;
        let mut child = spawn(&c.path, &api.address, &c.env, true, None)?;
        let next = next_request(&api, &mut child).map_err(|e| format!("{}: {e}", c.name))?;
        live.push((api, child, Some(next)));
    }
    let mut rate = vec![Vec::new(); cands.len()];
    let mut first_byte = vec![Vec::new(); cands.len()];
    let mut stalls = vec![0usize; cands.len()];
    let writes = (mib * 16).to_string();
    for round in 0..runs + small {
        let big = round < runs;
        for (i, (c, (api, child, pending))) in cands.iter().zip(live.iter_mut()).enumerate() {
            let next = pending.take().ok_or("lost the pending /next")?;
            let id = local::request_id();
            let event = if big { writes.as_bytes() } else { b"0" };
            let sent = Instant::now();
            next.respond(local::next_response(
                "local",
                &id,
                local::epoch_ms() + 60_000,
                "Root=1-0-0;Sampled=0",
                &[],
                event,
            ));
            let (bytes, first, end) =
                receive_stream(api, child).map_err(|e| format!("{}: {e}", c.name))?;
            if big {
                if bytes < mib << 20 {
                    return Err(format!("{}: streamed {bytes} B of {mib} MiB", c.name));
                }
                rate[i].push(bytes as f64 / (1 << 20) as f64 / (end - sent).as_secs_f64());
            } else {
                let us = (first.unwrap_or(end) - sent).as_secs_f64() * 1e6;
                if us > 20_000.0 {
                    stalls[i] += 1;
                }
                first_byte[i].push(us);
            }
            *pending = Some(next_request(api, child).map_err(|e| format!("{}: {e}", c.name))?);
        }
    }
    println!(
        "| candidate | {mib} MiB stream, median MiB/s | slowest MiB/s | peak RSS KiB | small stream, time to first body byte, median µs | p90 µs | small streams over 20 ms |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|");
    for (i, (c, (_, child, _))) in cands.iter().zip(live.iter_mut()).enumerate() {
        let rate = sorted(std::mem::take(&mut rate[i]));
        let fb = sorted(std::mem::take(&mut first_byte[i]));
        println!(
            "| {} | {:.0} | {:.0} | {} | {:.0} | {:.0} | {} of {small} |",
            c.name,
            percentile(&rate, 0.5),
            rate.first().copied().unwrap_or(f64::NAN),
            local::peak_rss_kib(child.id()).unwrap_or(0),
            percentile(&fb, 0.5),
            percentile(&fb, 0.9),
            stalls[i]
        );
        let _ = child.kill();
        let _ = child.wait();
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads one streamed answer: body bytes after the prelude, when the first of them arrived,
/// when the stream ended.
fn receive_stream(api: &LocalApi, child: &mut Child) -> Res<(usize, Option<Instant>, Instant)> {
    let deadline = Instant::now() + WAIT * 4;
    let mut prelude_done = false;
    let mut pending = Vec::new();
    let (mut bytes, mut first) = (0usize, None);
    loop {
        match api.next_message(Duration::from_millis(20)) {
            Ok(Msg::Request(r)) if r.streamed => {}
            Ok(Msg::Request(r)) => {
                r.accept();
                return Err(format!(
                    "a buffered answer, not a stream: {:?} {}",
                    r.route,
                    String::from_utf8_lossy(&r.body)
                ));
            }
            Ok(Msg::Chunk { data, at, .. }) => {
                if prelude_done {
                    bytes += data.len();
                    first.get_or_insert(at);
                    continue;
                }
                pending.extend_from_slice(&data);
                if let Some(p) = pending.windows(8).position(|w| w == [0u8; 8]) {
                    prelude_done = true;
                    let rest = pending.len() - p - 8;
                    if rest > 0 {
                        bytes += rest;
                        first = Some(at);
                    }
                }
            }
            Ok(Msg::End { reply, at, .. }) => {
                let _ = reply.send(local::accepted());
                return Ok((bytes, first, at));
            }
            Err(_) if Instant::now() > deadline => return Err("the stream did not end".into()),
            Err(_) => {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("the bootstrap exited: {status}"));
                }
            }
        }
    }
}

/// `bench-concurrency`: `--invocations` events, as many outstanding as the candidate has
/// workers (`AWS_LAMBDA_MAX_CONCURRENCY`, set per candidate with `--env`); events are
/// `"5"` (the handler sleeps 5 ms). Invocations per second, candidates one after another
/// (each keeps the whole machine while it runs, as a Managed Instance would).
pub fn bench_concurrency(args: &[String]) -> Res<ExitCode> {
    let (cands, opts) = candidates(args)?;
    let invocations: usize = option(&opts, "--invocations", 2000)?;
    println!(
        "| candidate | workers | invocations | seconds | invocations/s | ideal (workers × 200/s) | TCP connections |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|");
    for c in &cands {
        let workers: usize = c
            .env
            .iter()
            .find(|(k, _)| k == "AWS_LAMBDA_MAX_CONCURRENCY")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(1);
        let api = LocalApi::start().map_err(|e| e.to_string())?;
        let mut child = spawn(&c.path, &api.address, &c.env, true, None)?;
        let mut waiting = Vec::new();
        while waiting.len() < workers {
            let r = next_request(&api, &mut child).map_err(|e| format!("{}: {e}", c.name))?;
            if r.route == Route::Next {
                waiting.push(r);
            } else {
                r.accept();
            }
        }
        let (mut sent, mut done) = (0, 0);
        let t0 = Instant::now();
        while done < invocations {
            while sent < invocations {
                let Some(next) = waiting.pop() else { break };
                next.respond(local::next_response(
                    "local",
                    &local::request_id(),
                    local::epoch_ms() + 60_000,
                    "Root=1-0-0;Sampled=0",
                    &[],
                    b"5",
                ));
                sent += 1;
            }
            let r = next_request(&api, &mut child).map_err(|e| format!("{}: {e}", c.name))?;
            if r.route == Route::Next {
                waiting.push(r);
            } else {
                r.accept();
                done += 1;
            }
        }
        let secs = t0.elapsed().as_secs_f64();
        println!(
            "| {} | {workers} | {invocations} | {secs:.2} | {:.0} | {} | {} |",
            c.name,
            invocations as f64 / secs,
            workers * 200,
            api.connections()
        );
        let _ = child.kill();
        let _ = child.wait();
    }
    Ok(ExitCode::SUCCESS)
}

/// `bench-init`: exec → first `GET /next` through the full local API (so an extension
/// registration on the way, the graceful-shutdown hook's, is answered), candidates
/// interleaved; for comparing functions whose start-up makes other calls first.
pub fn bench_init(args: &[String]) -> Res<ExitCode> {
    let (cands, opts) = candidates(args)?;
    let spawns: usize = option(&opts, "--spawns", 31)?;
    let mut times = vec![Vec::new(); cands.len()];
    for round in 0..spawns + 3 {
        for (i, c) in cands.iter().enumerate() {
            let api = LocalApi::start().map_err(|e| e.to_string())?;
            let t0 = Instant::now();
            let mut child = spawn(&c.path, &api.address, &c.env, true, None)?;
            let next = loop {
                let r = next_request(&api, &mut child).map_err(|e| format!("{}: {e}", c.name))?;
                if r.route == Route::Next {
                    break r;
                }
                r.accept();
            };
            let _ = child.kill();
            let _ = child.wait();
            if round >= 3 {
                times[i].push((next.at - t0).as_secs_f64() * 1e6);
            }
        }
    }
    let reference = percentile(&sorted(times[0].clone()), 0.5);
    println!(
        "| candidate | exec → first GET /next, median µs | p90 µs | ÷ {} |",
        cands[0].name
    );
    println!("|---|--:|--:|--:|");
    for (i, c) in cands.iter().enumerate() {
        let t = sorted(std::mem::take(&mut times[i]));
        println!(
            "| {} | {:.0} | {:.0} | {:.2} |",
            c.name,
            percentile(&t, 0.5),
            percentile(&t, 0.9),
            percentile(&t, 0.5) / reference
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `bench-extension`: an extension's start-up, exec → its first `GET /extension/event/next`
/// (what it adds to the function's `Init Duration`), and its RSS then; candidates interleaved.
pub fn bench_extension(args: &[String]) -> Res<ExitCode> {
    let (cands, opts) = candidates(args)?;
    let spawns: usize = option(&opts, "--spawns", 31)?;
    let mut times = vec![Vec::new(); cands.len()];
    let mut rss = vec![Vec::new(); cands.len()];
    for round in 0..spawns + 3 {
        for (i, c) in cands.iter().enumerate() {
            let api = LocalApi::start().map_err(|e| e.to_string())?;
            let t0 = Instant::now();
            let mut child = spawn(&c.path, &api.address, &c.env, true, None)?;
            let deadline = t0 + WAIT;
            let first = loop {
                if let Some(t) = api
                    .extensions
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .registered
                    .first()
                    .and_then(|r| r.first_poll)
                {
                    break t;
                }
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!(
                        "{}: exited before its first event/next: {status}",
                        c.name
                    ));
                }
                if Instant::now() > deadline {
                    return Err(format!("{}: no event/next in 30 s", c.name));
                }
                std::thread::yield_now();
            };
            let kib = local::peak_rss_kib(child.id()).unwrap_or(0);
            let _ = child.kill();
            let _ = child.wait();
            if round >= 3 {
                times[i].push((first - t0).as_secs_f64() * 1e6);
                rss[i].push(kib as f64);
            }
        }
    }
    println!(
        "| extension | start-up median µs (exec → first event/next) | p90 µs | RSS then KiB |"
    );
    println!("|---|--:|--:|--:|");
    for (i, c) in cands.iter().enumerate() {
        let t = sorted(std::mem::take(&mut times[i]));
        let r = sorted(std::mem::take(&mut rss[i]));
        println!(
            "| {} | {:.0} | {:.0} | {} |",
            c.name,
            percentile(&t, 0.5),
            percentile(&t, 0.9),
            percentile(&r, 0.5)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `serve-one BOOTSTRAP [--wrapper CMD]`: waits for the first `GET /next`, then SIGTERM.
pub fn serve_one(args: &[String]) -> Res<ExitCode> {
    let bootstrap = args.first().ok_or("serve-one needs a bootstrap")?;
    let wrapper = match args.get(1).map(String::as_str) {
        Some("--wrapper") => Some(args.get(2).ok_or("--wrapper needs a command")?.as_str()),
        _ => None,
    };
    let env: Vec<(String, String)> = args
        .windows(2)
        .filter(|w| w[0] == "--env")
        .filter_map(|w| {
            w[1].split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        })
        .collect();
    let api = LocalApi::start().map_err(|e| e.to_string())?;
    let mut child = spawn(bootstrap, &api.address, &env, true, wrapper)?;
    loop {
        let r = next_request(&api, &mut child)?;
        if r.route == Route::Next {
            break;
        }
        r.accept();
    }
    // SIGTERM while it waits in /next: the process ends there, and valgrind still writes its counts.
    crate::environment::terminate(child.id())?;
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    Ok(ExitCode::SUCCESS)
}
