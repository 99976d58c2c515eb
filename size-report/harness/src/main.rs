//! lambda-harness: run a `bootstrap` on a local Runtime API.
//!
//! `invoke BOOTSTRAP [--event E]... [--event-file F]... [--stdin] [--wrapper CMD]`
//!     sends each event, prints the response (or error JSON) and Lambda's REPORT line. Exits
//!     0, or 3 when the function answered an event with an error, or 1 when the run failed
//!     (init error, the process died, no answer).
//! `bench --candidate NAME=PATH [--env KEY=VALUE]... ... [--reference NAME] [--spawns N] [--warm N]`
//!     cold start (exec → first GET /next) and warm cycle, all candidates interleaved.
//! `serve-one BOOTSTRAP [--wrapper CMD]` waits for the first GET /next, then sends SIGTERM
//!     (for instruction counts from exec to the first request, under valgrind).

mod api;

use std::io::BufRead;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use api::{LocalApi, Request};

const WAIT: Duration = Duration::from_secs(30);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("invoke") => invoke(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("serve-one") => serve_one(&args[1..]),
        _ => Err("usage: lambda-harness invoke|bench|serve-one … (see src/main.rs)".into()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lambda-harness: {e}");
            ExitCode::FAILURE
        }
    }
}

type Res<T> = Result<T, String>;

/// The environment a real function sees (a clean one, as on Lambda).
fn spawn(bootstrap: &str, wrapper: Option<&str>, api: &LocalApi, quiet: bool) -> Res<Child> {
    spawn_with(bootstrap, wrapper, api, quiet, &[])
}

fn spawn_with(bootstrap: &str, wrapper: Option<&str>, api: &LocalApi, quiet: bool, extra: &[(String, String)]) -> Res<Child> {
    let path = std::path::Path::new(bootstrap).canonicalize().map_err(|e| format!("{bootstrap}: {e}"))?;
    let bootstrap = path.to_string_lossy().into_owned();
    let bootstrap = bootstrap.as_str();
    let dir = path.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
    let name = dir.file_name().map_or("function".into(), |n| n.to_string_lossy().into_owned());
    let mut cmd = match wrapper {
        Some(w) => {
            // A wrapper command line, split on spaces: qemu, or valgrind with its options.
            let mut words = w.split_whitespace();
            let mut c = Command::new(words.next().unwrap_or(w));
            c.args(words).arg(bootstrap);
            c
        }
        None => Command::new(bootstrap),
    };
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", &name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", format!("2026/01/01/[$LATEST]{:032x}", u128::from(api::random_u64())))
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_EXECUTION_ENV", "")
        .env("LAMBDA_TASK_ROOT", &dir)
        .env("LAMBDA_RUNTIME_DIR", "/var/runtime")
        .env("_HANDLER", "bootstrap")
        .env("TZ", ":UTC")
        .env("LANG", "en_US.UTF-8")
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/opt/bin")
        .env("LD_LIBRARY_PATH", "/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib")
        .current_dir(&dir)
        .envs(extra.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null());
    if quiet {
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
    }
    cmd.spawn().map_err(|e| format!("cannot run {bootstrap}: {e}"))
}

/// Waits for the next request, noticing if the child died meanwhile.
fn next_request(api: &LocalApi, child: &mut Child) -> Res<Request> {
    let deadline = Instant::now() + WAIT;
    loop {
        match api.next_request(Duration::from_millis(20)) {
            Ok(r) => return Ok(r),
            Err(_) if Instant::now() > deadline => return Err("no request from the bootstrap in 30 s".into()),
            Err(_) => {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("Runtime exited with error: {status}\nRuntime.ExitError"));
                }
            }
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn invoke(args: &[String]) -> Res<ExitCode> {
    let mut bootstrap = None;
    let mut events: Vec<Vec<u8>> = Vec::new();
    let mut wrapper = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--event" => events.push(it.next().ok_or("--event needs a value")?.clone().into_bytes()),
            "--event-file" => {
                let f = it.next().ok_or("--event-file needs a path")?;
                events.push(std::fs::read(f).map_err(|e| format!("{f}: {e}"))?);
            }
            "--stdin" => {
                for line in std::io::stdin().lock().lines() {
                    events.push(line.map_err(|e| e.to_string())?.into_bytes());
                }
            }
            "--wrapper" => wrapper = Some(it.next().ok_or("--wrapper needs a command")?.clone()),
            b if bootstrap.is_none() => bootstrap = Some(b.to_owned()),
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    let bootstrap = bootstrap.ok_or("invoke needs the path of a bootstrap")?;
    if events.is_empty() {
        events.push(b"{}".to_vec());
    }
    let api = LocalApi::start().map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    let mut child = spawn(&bootstrap, wrapper.as_deref(), &api, false)?;
    let mut init = None;
    let mut failed = false;
    let mut function_error = false;
    let result = (|| -> Res<()> {
        let mut next = next_request(&api, &mut child)?;
        for event in &events {
            if next.path.ends_with("/runtime/init/error") {
                next.accept();
                println!("{}", String::from_utf8_lossy(&next.body));
                println!(
                    "INIT_REPORT Init Duration: {:.2} ms\tPhase: init\tStatus: error\tError Type: {}",
                    ms(next.at - t0),
                    next.header("lambda-runtime-function-error-type").unwrap_or("Runtime.Unknown")
                );
                failed = true;
                return Ok(());
            }
            if !next.path.ends_with("/runtime/invocation/next") {
                return Err(format!("expected GET /next, got {} {}", next.method, next.path));
            }
            let init_ms = *init.get_or_insert(ms(next.at - t0));
            let id = api::request_id();
            let trace = format!("Root=1-{:08x}-{:024x};Parent={:016x};Sampled=0", api::epoch_ms() / 1000, api::random_u64(), api::random_u64());
            println!("START RequestId: {id} Version: $LATEST");
            let sent = Instant::now();
            next.respond(api::next_response(&id, api::epoch_ms() + 3000, &trace, event));
            let post = next_request(&api, &mut child)?;
            let done = post.at;
            post.accept();
            if !post.path.contains(&id) {
                return Err(format!("answer to the wrong invocation: {}", post.path));
            }
            if post.path.ends_with("/error") {
                function_error = true;
            }
            let rss_kib = api::peak_rss_kib(child.id()).unwrap_or(0);
            println!("{}", String::from_utf8_lossy(&post.body));
            // The invocation is complete when the runtime asks for the next event.
            next = next_request(&api, &mut child)?;
            let duration = ms(done - sent);
            let first = std::ptr::eq(event, &events[0]);
            println!("END RequestId: {id}");
            println!(
                "REPORT RequestId: {id}\tDuration: {duration:.2} ms\tBilled Duration: {} ms\tMemory Size: 128 MB\tMax Memory Used: {} MB{}",
                duration.ceil().max(1.0) as u64,
                rss_kib.div_ceil(1024).max(1),
                if first { format!("\tInit Duration: {init_ms:.2} ms") } else { String::new() }
            );
        }
        Ok(())
    })();
    let _ = child.kill();
    let _ = child.wait();
    match result {
        Ok(()) if failed => Ok(ExitCode::from(1)),
        // The function answered, with an error: a result, not a failure of the run.
        Ok(()) if function_error => Ok(ExitCode::from(3)),
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            println!("{e}");
            Ok(ExitCode::from(1))
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

struct Candidate {
    name: String,
    path: String,
    env: Vec<(String, String)>,
    cold: Vec<f64>,
    startup_rss: Vec<u64>,
    warm: Vec<f64>,
    warm_rss: u64,
    connections: usize,
}

fn bench(args: &[String]) -> Res<ExitCode> {
    let mut cands = Vec::new();
    let (mut spawns, mut warm, mut reference) = (31usize, 2000usize, None);
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
                    cold: vec![],
                    startup_rss: vec![],
                    warm: vec![],
                    warm_rss: 0,
                    connections: 0,
                });
            }
            "--env" => {
                let v = it.next().ok_or("--env KEY=VALUE")?;
                let (k, val) = v.split_once('=').ok_or("--env KEY=VALUE")?;
                cands.last_mut().ok_or("--env follows a --candidate")?.env.push((k.into(), val.into()));
            }
            "--spawns" => spawns = it.next().and_then(|v| v.parse().ok()).ok_or("--spawns N")?,
            "--warm" => warm = it.next().and_then(|v| v.parse().ok()).ok_or("--warm N")?,
            "--reference" => reference = it.next().cloned(),
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    let event = br#"{"hello":"world"}"#;
    // Cold start, interleaved: A B C, A B C, … (3 warm-up rounds not counted). Measured on this
    // thread with a plain listener (no server threads to wake): t0, spawn, accept, read the head.
    for round in 0..spawns + 3 {
        for c in cands.iter_mut() {
            let (us, rss) = cold_start(&c.path, &c.env).map_err(|e| format!("{}: {e}", c.name))?;
            if round >= 3 {
                c.cold.push(us);
                c.startup_rss.push(rss);
            }
        }
    }
    // Warm cycle: every candidate alive at once, served in blocks of 100, interleaved.
    let mut live = Vec::new();
    for c in &cands {
        let api = LocalApi::start().map_err(|e| e.to_string())?;
        let mut child = spawn_with(&c.path, None, &api, true, &c.env)?;
        let next = next_request(&api, &mut child).map_err(|e| format!("{}: {e}", c.name))?;
        live.push((api, child, Some(next)));
    }
    for _ in 0..warm.div_ceil(100) {
        for (c, (api, child, pending)) in cands.iter_mut().zip(live.iter_mut()) {
            for _ in 0..100 {
                let next = pending.take().ok_or("lost the pending /next")?;
                let id = api::request_id();
                let sent = Instant::now();
                next.respond(api::next_response(&id, api::epoch_ms() + 3000, "Root=1-0-0;Sampled=0", event));
                let post = next_request(api, child).map_err(|e| format!("{}: {e}", c.name))?;
                post.accept();
                if !post.path.contains(&id) || post.body.is_empty() {
                    return Err(format!("{}: wrong answer {} {:?}", c.name, post.path, String::from_utf8_lossy(&post.body)));
                }
                let next = next_request(api, child).map_err(|e| format!("{}: {e}", c.name))?;
                c.warm.push((next.at - sent).as_secs_f64() * 1e6);
                *pending = Some(next);
            }
        }
    }
    for (c, (api, child, _)) in cands.iter_mut().zip(live.iter_mut()) {
        c.warm_rss = api::peak_rss_kib(child.id()).unwrap_or(0);
        c.connections = api.connections();
        let _ = child.kill();
        let _ = child.wait();
    }
    let reference = reference.unwrap_or_else(|| cands[0].name.clone());
    let stats: Vec<_> = cands
        .iter_mut()
        .map(|c| {
            c.cold.sort_by(f64::total_cmp);
            c.warm.sort_by(f64::total_cmp);
            c.startup_rss.sort();
            (percentile(&c.cold, 0.5), percentile(&c.warm, 0.5))
        })
        .collect();
    let r = cands.iter().position(|c| c.name == reference).ok_or("no such reference candidate")?;
    println!(
        "| candidate | cold start median µs | p90 µs | cold ÷ {reference} | warm cycle median µs | warm ÷ {reference} | startup RSS KiB | RSS after {} invocations KiB | RSS ÷ {reference} | TCP connections for {} invocations |",
        warm.div_ceil(100) * 100,
        warm.div_ceil(100) * 100
    );
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for (c, (cold, w)) in cands.iter().zip(&stats) {
        println!(
            "| {} | {:.0} | {:.0} | {:.2} | {:.1} | {:.2} | {} | {} | {:.2} | {} |",
            c.name,
            cold,
            percentile(&c.cold, 0.9),
            cold / stats[r].0,
            w,
            w / stats[r].1,
            c.startup_rss[c.startup_rss.len() / 2],
            c.warm_rss,
            c.warm_rss as f64 / cands[r].warm_rss as f64,
            c.connections
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// One cold start: µs from just before spawn to the complete head of the first request, and
/// the child's VmHWM at that moment (KiB).
fn cold_start(path: &str, env: &[(String, String)]) -> Res<(f64, u64)> {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?.to_string();
    let mut cmd = Command::new(path);
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "cold")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let t0 = Instant::now();
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    let (mut stream, _) = listener.accept().map_err(|e| e.to_string())?;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed before the first request".into());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let us = t0.elapsed().as_secs_f64() * 1e6;
    let rss = api::peak_rss_kib(child.id()).unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    Ok((us, rss))
}

fn serve_one(args: &[String]) -> Res<ExitCode> {
    let bootstrap = args.first().ok_or("serve-one needs a bootstrap")?;
    let wrapper = match args.get(1).map(String::as_str) {
        Some("--wrapper") => Some(args.get(2).ok_or("--wrapper needs a command")?.as_str()),
        _ => None,
    };
    let api = LocalApi::start().map_err(|e| e.to_string())?;
    let mut child = spawn(bootstrap, wrapper, &api, true)?;
    let _next = next_request(&api, &mut child)?;
    // SIGTERM while it waits in /next: the process ends there, and valgrind still writes its counts.
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
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
