//! `invoke`: runs a `bootstrap` on the local Runtime API the way Lambda would, one event after
//! another, and prints each answer (a streamed one as it arrives) and Lambda's REPORT lines.
//!
//! Like Lambda: the environment a function sees (plus `--env`), `_HANDLER` and the task root,
//! the function timeout (the process is stopped, `Status: timeout`), the 6 MB payload limits
//! (an event over it is refused, a response over it answered 413 and reported as
//! `Function.ResponseSizeTooLarge`), streamed responses up to 200 MB, and a fresh init after
//! the runtime exited or was stopped. At the end, if the function registered an extension
//! (the graceful-shutdown hook does), it gets SIGTERM and 500 ms, as at Lambda's shutdown.

use std::io::Write;

use base64::Engine;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use crate::local::{self, LocalApi, MAX_EVENT, Msg, Request};

/// Everything a local run needs.
pub struct Spec {
    pub bootstrap: PathBuf,
    pub events: Vec<Vec<u8>>,
    pub env: Vec<(String, String)>,
    pub handler: Option<String>,
    pub task_root: Option<PathBuf>,
    pub timeout: Duration,
    pub memory_mb: u32,
    /// A command the bootstrap runs under (qemu-user for an arm64 bootstrap).
    pub wrapper: Option<String>,
}

/// How long Lambda waits for init before giving up (on-demand).
const INIT_LIMIT: Duration = Duration::from_secs(10);

struct Process {
    child: Child,
    /// Connections numbered from here on are this process's.
    first_connection: usize,
    /// The `GET /next`s its idle workers wait in (one without Managed Instances).
    idle: Vec<Request>,
    /// exec → first `GET /next`, for the next REPORT line (the first after an init).
    init: Option<Duration>,
}

enum Waited {
    Next(Request),
    InitError(Request),
    Exited(String),
    TimedOut,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The environment a real function sees (a clean one, as on Lambda), then the user's.
fn command(spec: &Spec, api: &LocalApi) -> Result<Command, String> {
    let path = spec
        .bootstrap
        .canonicalize()
        .map_err(|e| format!("{}: {e}", spec.bootstrap.display()))?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let root = spec.task_root.clone().unwrap_or_else(|| dir.clone());
    let name = dir
        .file_name()
        .map_or("function".into(), |n| n.to_string_lossy().into_owned());
    let mut cmd = match &spec.wrapper {
        Some(w) => {
            let mut words = w.split_whitespace();
            let mut c = Command::new(words.next().unwrap_or(w));
            c.args(words).arg(&path);
            c
        }
        None => Command::new(&path),
    };
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", &name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            spec.memory_mb.to_string(),
        )
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            format!(
                "2026/01/01/[$LATEST]{:032x}",
                u128::from(local::random_u64())
            ),
        )
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("LAMBDA_TASK_ROOT", &root)
        .env("LAMBDA_RUNTIME_DIR", "/var/runtime")
        .env("_HANDLER", spec.handler.as_deref().unwrap_or("bootstrap"))
        .env("TZ", ":UTC")
        .env("LANG", "en_US.UTF-8")
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/opt/bin")
        .env(
            "LD_LIBRARY_PATH",
            "/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
        )
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&root)
        .stdin(Stdio::null());
    Ok(cmd)
}

/// Waits for the process's next request to the Runtime API (anything but a post), or its
/// exit, or `until`.
fn wait(api: &LocalApi, child: &mut Child, first_connection: usize, until: Instant) -> Waited {
    loop {
        match api.next_message(Duration::from_millis(10)) {
            Ok(Msg::Request(r)) if r.connection >= first_connection => {
                if r.path.ends_with("/runtime/invocation/next") {
                    return Waited::Next(r);
                }
                if r.path.ends_with("/runtime/init/error") {
                    return Waited::InitError(r);
                }
                // Anything else now (a late post) is answered and ignored.
                r.accept();
            }
            Ok(Msg::End { reply, .. }) => {
                let _ = reply.send(local::accepted());
            }
            Ok(_) => {}
            Err(_) => {
                if let Ok(Some(status)) = child.try_wait() {
                    return Waited::Exited(status.to_string());
                }
                if Instant::now() >= until {
                    return Waited::TimedOut;
                }
            }
        }
    }
}

/// What became of one invocation.
enum Answer {
    Response,
    Error,
    TimedOut,
    Exited(String),
}

/// An invocation sent to the function and not answered yet.
struct InFlight {
    id: String,
    sent: Instant,
    /// The connection its streamed answer arrives on, once its head arrived, and its printer.
    stream: Option<(usize, StreamPrinter)>,
}

struct Run<'a> {
    spec: &'a Spec,
    api: LocalApi,
    process: Option<Process>,
    /// `AWS_LAMBDA_MAX_CONCURRENCY` as the function sees it: how many invocations one process
    /// takes at once (Lambda Managed Instances); 1 otherwise.
    concurrency: usize,
    in_flight: Vec<InFlight>,
    function_error: bool,
    failed: bool,
}

impl Run<'_> {
    /// Starts the process and waits for its first `GET /next` (or its init error).
    fn start(&mut self) -> Result<(), String> {
        let first_connection = self.api.connections();
        let t0 = Instant::now();
        let mut child = command(self.spec, &self.api)?
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.spec.bootstrap.display()))?;
        match wait(&self.api, &mut child, first_connection, t0 + INIT_LIMIT) {
            Waited::Next(next) => {
                // Init ends when the runtime and every registered extension wait for an event.
                let ext = self
                    .api
                    .extensions
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                let mut done = next.at;
                for poll in &ext.first_poll {
                    done = done.max(*poll);
                }
                drop(ext);
                self.process = Some(Process {
                    child,
                    first_connection,
                    idle: vec![next],
                    init: Some(done - t0),
                });
                Ok(())
            }
            Waited::InitError(post) => {
                post.accept();
                println!("{}", String::from_utf8_lossy(&post.body));
                println!(
                    "INIT_REPORT Init Duration: {:.2} ms\tPhase: init\tStatus: error\tError Type: {}",
                    ms(post.at - t0),
                    post.header("lambda-runtime-function-error-type")
                        .unwrap_or("Runtime.Unknown")
                );
                let _ = child.kill();
                let _ = child.wait();
                Err("init failed: Lambda retries the init with the next event".into())
            }
            Waited::Exited(status) => Err(format!(
                "Runtime exited with error: {status} (during init)\nRuntime.ExitError"
            )),
            Waited::TimedOut => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!(
                    "init did not reach GET /next within {} s",
                    INIT_LIMIT.as_secs()
                ))
            }
        }
    }

    /// Sends every event, up to `concurrency` at once to the one process (one at a time
    /// without Managed Instances), and prints each answer and REPORT line as it completes.
    fn all(&mut self, events: &[Vec<u8>]) {
        let mut pending = events.iter();
        let mut next_event = pending.next();
        loop {
            // Send what can be sent: an event to each idle worker, up to the concurrency.
            while let Some(event) = next_event {
                if event.len() > MAX_EVENT {
                    refuse_oversized(event.len());
                    self.function_error = true;
                    next_event = pending.next();
                    continue;
                }
                if self.process.is_none() {
                    if !self.in_flight.is_empty() {
                        break; // the old process's answers first
                    }
                    if let Err(e) = self.start() {
                        println!("{e}");
                        self.failed = true;
                        next_event = pending.next();
                        continue;
                    }
                }
                if self.in_flight.len() >= self.concurrency {
                    break;
                }
                let Some(next) = self.process.as_mut().and_then(|p| p.idle.pop()) else {
                    break;
                };
                self.send(next, event);
                next_event = pending.next();
            }
            if next_event.is_none() && self.in_flight.is_empty() {
                return;
            }
            self.receive();
        }
    }

    /// Answers an idle worker's `GET /next` with `event`.
    fn send(&mut self, next: Request, event: &[u8]) {
        let id = local::request_id();
        println!("START RequestId: {id} Version: $LATEST");
        let _ = std::io::stdout().flush();
        let deadline_ms = local::epoch_ms() + self.spec.timeout.as_millis();
        next.respond(local::next_response(
            &id,
            deadline_ms,
            &local::trace_header(),
            event,
        ));
        self.in_flight.push(InFlight {
            id,
            sent: Instant::now(),
            stream: None,
        });
    }

    /// Handles what the process says next (or notices it exited, or an invocation timed
    /// out). An idle worker's `GET /next` is held until there is an event for it.
    fn receive(&mut self) {
        let Some(first_connection) = self.process.as_ref().map(|p| p.first_connection) else {
            // No process, answers outstanding: cannot happen (they end with it).
            self.in_flight.clear();
            return;
        };
        match self.api.next_message(Duration::from_millis(5)) {
            Ok(Msg::Request(r)) if r.connection >= first_connection => {
                if r.path.ends_with("/runtime/invocation/next") {
                    if let Some(p) = &mut self.process {
                        p.idle.push(r);
                    }
                    return;
                }
                let Some(at) = self.in_flight.iter().position(|f| r.path.contains(&*f.id)) else {
                    r.accept(); // a late post to an invocation already over
                    return;
                };
                if r.streamed {
                    self.in_flight[at].stream = Some((r.connection, StreamPrinter::new(&r)));
                    return;
                }
                if let Some(size) = r.oversized {
                    r.respond(local::too_large());
                    println!(
                        "{{\"errorType\":\"Function.ResponseSizeTooLarge\",\"errorMessage\":\"Response payload size ({size} bytes) exceeded maximum allowed payload size (6291556 bytes).\"}}"
                    );
                    self.complete(at, Answer::Error, r.at);
                    return;
                }
                r.accept();
                println!("{}", String::from_utf8_lossy(&r.body));
                let answer = if r.path.ends_with("/error") {
                    Answer::Error
                } else {
                    Answer::Response
                };
                self.complete(at, answer, r.at);
            }
            Ok(Msg::Chunk {
                connection, data, ..
            }) => {
                if let Some((_, printer)) = self.stream_on(connection) {
                    printer.chunk(&data);
                }
            }
            Ok(Msg::End {
                connection,
                trailers,
                reply,
                at,
                bytes,
            }) => {
                let Some(i) = self
                    .in_flight
                    .iter()
                    .position(|f| f.stream.as_ref().is_some_and(|(c, _)| *c == connection))
                else {
                    let _ = reply.send(local::accepted());
                    return;
                };
                if bytes > local::MAX_STREAM {
                    let _ = reply.send(local::too_large());
                    println!(
                        "\n{{\"errorType\":\"Function.ResponseSizeTooLarge\",\"errorMessage\":\"the streamed response exceeded Lambda's 200 MB limit\"}}"
                    );
                    self.complete(i, Answer::Error, at);
                    return;
                }
                let _ = reply.send(local::accepted());
                let failed = self.in_flight[i]
                    .stream
                    .take()
                    .is_some_and(|(_, printer)| printer.end(&trailers));
                let answer = if failed {
                    Answer::Error
                } else {
                    Answer::Response
                };
                self.complete(i, answer, at);
            }
            Ok(Msg::Request(r)) => r.accept(), // an earlier process's
            Err(_) => self.check(),
        }
    }

    fn stream_on(&mut self, connection: usize) -> Option<&mut (usize, StreamPrinter)> {
        self.in_flight
            .iter_mut()
            .find_map(|f| f.stream.as_mut().filter(|(c, _)| *c == connection))
    }

    /// Between messages: has the process exited, or an invocation reached its timeout?
    fn check(&mut self) {
        let Some(p) = &mut self.process else {
            return;
        };
        if let Ok(Some(status)) = p.child.try_wait() {
            let why = status.to_string();
            if self.in_flight.is_empty() {
                eprintln!(
                    "invoke: the runtime exited after answering ({why}); the next event starts with a fresh init"
                );
                self.function_error = true;
                self.process = None;
            }
            while !self.in_flight.is_empty() {
                self.complete(0, Answer::Exited(why.clone()), Instant::now());
            }
            return;
        }
        let now = Instant::now();
        if let Some(i) = self
            .in_flight
            .iter()
            .position(|f| now >= f.sent + self.spec.timeout)
        {
            let until = self.in_flight[i].sent + self.spec.timeout;
            // The environment is stopped: what else ran in it ends with it.
            self.complete(i, Answer::TimedOut, until);
            while !self.in_flight.is_empty() {
                let why = "stopped with the environment of a timed-out invocation".to_owned();
                self.complete(0, Answer::Exited(why), Instant::now());
            }
        }
    }

    /// Prints the end of the invocation `in_flight[at]`: what became of it, END and REPORT.
    fn complete(&mut self, at: usize, answer: Answer, done: Instant) {
        let f = self.in_flight.remove(at);
        let Some(mut p) = self.process.take() else {
            return;
        };
        let id = &f.id;
        let duration = done.saturating_duration_since(f.sent);
        let rss = local::peak_rss_kib(p.child.id()).unwrap_or(0);
        let mut status = "";
        let alive = matches!(answer, Answer::Response | Answer::Error);
        match answer {
            Answer::Response => {}
            Answer::Error => self.function_error = true,
            Answer::TimedOut => {
                let _ = p.child.kill();
                let _ = p.child.wait();
                println!(
                    "{id} Task timed out after {:.2} seconds",
                    self.spec.timeout.as_secs_f64()
                );
                eprintln!(
                    "invoke: the function was stopped at its timeout; the next event starts with a fresh init"
                );
                status = "\tStatus: timeout";
                self.function_error = true;
            }
            Answer::Exited(why) => {
                println!(
                    "RequestId: {id} Error: Runtime exited with error: {why}\nRuntime.ExitError"
                );
                eprintln!("invoke: the runtime exited; the next event starts with a fresh init");
                status = "\tStatus: error\tError Type: Runtime.ExitError";
                self.function_error = true;
            }
        }
        let init = p.init.take();
        println!("END RequestId: {id}");
        println!(
            "{}",
            report_line(id, duration, init, self.spec.memory_mb, rss, status)
        );
        if self.spec.wrapper.is_some() {
            eprintln!(
                "invoke: (arm64 under qemu-user emulation: the durations above are not Graviton's)"
            );
        }
        let _ = std::io::stdout().flush();
        if alive && p.child.try_wait().ok().flatten().is_none() {
            self.process = Some(p);
        } else {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }
}

/// Lambda's answer to an event over its 6 MB limit: the function never sees it.
fn refuse_oversized(len: usize) {
    println!(
        "{{\"errorType\":\"RequestEntityTooLargeException\",\"errorMessage\":\"Request must be smaller than {MAX_EVENT} bytes for the InvokeFunction operation\"}}"
    );
    eprintln!(
        "invoke: this event ({len} B) is over Lambda's 6 MB limit: Lambda refuses it; not sent"
    );
}

/// The REPORT line as Lambda writes it. A custom runtime's init is billed: on a cold start the
/// billed duration is the init and the invocation together, rounded up to the millisecond.
fn report_line(
    id: &str,
    duration: Duration,
    init: Option<Duration>,
    memory_mb: u32,
    rss_kib: u64,
    status: &str,
) -> String {
    let billed = ms(duration + init.unwrap_or_default()).ceil().max(1.0) as u64;
    format!(
        "REPORT RequestId: {id}\tDuration: {:.2} ms\tBilled Duration: {billed} ms\tMemory Size: {memory_mb} MB\tMax Memory Used: {} MB{}{status}",
        ms(duration),
        rss_kib.div_ceil(1024).max(1),
        init.map(|i| format!("\tInit Duration: {:.2} ms", ms(i)))
            .unwrap_or_default(),
    )
}

/// Prints a streamed response as it arrives: the HTTP integration prelude on stderr (once
/// its eight NULs arrived), the body on stdout, a failure's trailers at the end.
struct StreamPrinter {
    http: bool,
    prelude: Vec<u8>,
    in_body: bool,
}

impl StreamPrinter {
    fn new(head: &Request) -> StreamPrinter {
        let http = head.header("content-type")
            == Some("application/vnd.awslambda.http-integration-response");
        eprintln!(
            "invoke: streamed response{}",
            if http { " (HTTP integration)" } else { "" }
        );
        StreamPrinter {
            http,
            prelude: Vec::new(),
            in_body: !http,
        }
    }

    fn chunk(&mut self, data: &[u8]) {
        let mut out = std::io::stdout();
        if self.in_body {
            let _ = out.write_all(data);
            let _ = out.flush();
            return;
        }
        self.prelude.extend_from_slice(data);
        if let Some(at) = self.prelude.windows(8).position(|w| w == [0u8; 8]) {
            eprintln!(
                "invoke: HTTP prelude {}",
                String::from_utf8_lossy(&self.prelude[..at])
            );
            let _ = out.write_all(&self.prelude[at + 8..]);
            let _ = out.flush();
            self.prelude.clear();
            self.in_body = true;
        }
    }

    /// Ends the stream; returns whether its trailers carry an error.
    fn end(self, trailers: &[(String, String)]) -> bool {
        println!();
        if self.http && !self.in_body {
            eprintln!("invoke: the HTTP prelude never ended with its eight NUL bytes");
        }
        let find = |name: &str| {
            trailers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let Some(error_type) = find("lambda-runtime-function-error-type") else {
            return false;
        };
        let body = find("lambda-runtime-function-error-body")
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
            .unwrap_or_default();
        println!(
            "the stream failed: {error_type}: {}",
            String::from_utf8_lossy(&body)
        );
        true
    }
}

/// Runs every event; exit status 0 when all were answered, 3 when the function answered
/// with an error (or timed out, or crashed), 1 when the run itself failed.
pub fn run(spec: &Spec) -> Result<ExitCode, String> {
    let api = LocalApi::start().map_err(|e| format!("cannot start the local Runtime API: {e}"))?;
    let concurrency = spec
        .env
        .iter()
        .rev()
        .find(|(k, _)| k == "AWS_LAMBDA_MAX_CONCURRENCY")
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 1)
        .unwrap_or(1);
    let mut run = Run {
        spec,
        api,
        process: None,
        concurrency,
        in_flight: Vec::new(),
        function_error: false,
        failed: false,
    };
    let events: Vec<Vec<u8>> = if spec.events.is_empty() {
        vec![b"{}".to_vec()]
    } else {
        spec.events.clone()
    };
    run.all(&events);
    run.shut_down();
    Ok(if run.failed {
        ExitCode::from(1)
    } else if run.function_error {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

impl Run<'_> {
    /// Lambda's shutdown: SIGTERM (only when an extension is registered), 500 ms, SIGKILL.
    fn shut_down(&mut self) {
        let registered = !self
            .api
            .extensions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .registered
            .is_empty();
        if let (true, Some(p)) = (registered, &mut self.process) {
            let t0 = Instant::now();
            let _ = Command::new("kill")
                .args(["-TERM", &p.child.id().to_string()])
                .status();
            while t0.elapsed() < Duration::from_millis(500) {
                if let Ok(Some(status)) = p.child.try_wait() {
                    eprintln!(
                        "invoke: shutdown: SIGTERM (an extension is registered); the runtime exited ({status}) after {:.1} ms",
                        ms(t0.elapsed())
                    );
                    self.process = None;
                    return;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            eprintln!(
                "invoke: shutdown: the runtime was still running 500 ms after SIGTERM; Lambda would SIGKILL it now"
            );
        }
        if let Some(mut p) = self.process.take() {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }
}
