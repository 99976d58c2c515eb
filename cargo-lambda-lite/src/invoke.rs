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
    /// The `GET /next` it waits in.
    waiting: Request,
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

struct Run<'a> {
    spec: &'a Spec,
    api: LocalApi,
    process: Option<Process>,
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
                    waiting: next,
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

    fn stop(&mut self) {
        if let Some(mut p) = self.process.take() {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }

    fn one(&mut self, event: &[u8]) {
        if event.len() > MAX_EVENT {
            println!(
                "{{\"errorType\":\"RequestEntityTooLargeException\",\"errorMessage\":\"Request must be smaller than {MAX_EVENT} bytes for the InvokeFunction operation\"}}"
            );
            eprintln!(
                "invoke: this event ({} B) is over Lambda's 6 MB limit: Lambda refuses it; not sent",
                event.len()
            );
            self.function_error = true;
            return;
        }
        if self.process.is_none()
            && let Err(e) = self.start()
        {
            println!("{e}");
            self.failed = true;
            return;
        }
        let Some(mut p) = self.process.take() else {
            return;
        };
        let id = local::request_id();
        println!("START RequestId: {id} Version: $LATEST");
        let sent = Instant::now();
        let deadline_ms = local::epoch_ms() + self.spec.timeout.as_millis();
        p.waiting.respond(local::next_response(
            &id,
            deadline_ms,
            &local::trace_header(),
            event,
        ));
        let (answer, done) = self.answer(&mut p, &id, sent);
        let duration = done - sent;
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
        if alive {
            // The invocation is complete when the runtime asks for the next event.
            match wait(
                &self.api,
                &mut p.child,
                p.first_connection,
                Instant::now() + Duration::from_secs(3600),
            ) {
                Waited::Next(next) => {
                    p.waiting = next;
                }
                Waited::Exited(why) => {
                    eprintln!(
                        "invoke: the runtime exited after answering ({why}); the next event starts with a fresh init"
                    );
                    self.function_error = true;
                }
                Waited::InitError(r) => r.accept(),
                Waited::TimedOut => {}
            }
        }
        println!("END RequestId: {id}");
        println!(
            "REPORT RequestId: {id}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB{}{status}",
            ms(duration),
            ms(duration).ceil().max(1.0) as u64,
            self.spec.memory_mb,
            rss.div_ceil(1024).max(1),
            p.init
                .take()
                .map(|i| format!("\tInit Duration: {:.2} ms", ms(i)))
                .unwrap_or_default(),
        );
        let _ = std::io::stdout().flush();
        if alive && p.child.try_wait().ok().flatten().is_none() {
            self.process = Some(p);
        } else {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }

    /// Waits for the answer to invocation `id`; prints it. Returns what it was and when it was
    /// complete.
    fn answer(&mut self, p: &mut Process, id: &str, sent: Instant) -> (Answer, Instant) {
        let until = sent + self.spec.timeout;
        let mut stream: Option<StreamPrinter> = None;
        loop {
            match self.api.next_message(Duration::from_millis(5)) {
                Ok(Msg::Request(r)) if r.connection >= p.first_connection => {
                    if !r.path.contains(id) {
                        r.accept();
                        continue;
                    }
                    if r.streamed {
                        stream = Some(StreamPrinter::new(&r));
                        continue;
                    }
                    if let Some(size) = r.oversized {
                        r.respond(local::too_large());
                        println!(
                            "{{\"errorType\":\"Function.ResponseSizeTooLarge\",\"errorMessage\":\"Response payload size ({size} bytes) exceeded maximum allowed payload size (6291556 bytes).\"}}"
                        );
                        return (Answer::Error, r.at);
                    }
                    r.accept();
                    println!("{}", String::from_utf8_lossy(&r.body));
                    let kind = if r.path.ends_with("/error") {
                        Answer::Error
                    } else {
                        Answer::Response
                    };
                    return (kind, r.at);
                }
                Ok(Msg::Chunk {
                    connection, data, ..
                }) if connection >= p.first_connection => {
                    if let Some(s) = &mut stream {
                        s.chunk(&data);
                    }
                }
                Ok(Msg::End {
                    connection,
                    trailers,
                    reply,
                    at,
                    bytes,
                }) if connection >= p.first_connection => {
                    if bytes > local::MAX_STREAM {
                        let _ = reply.send(local::too_large());
                        println!(
                            "\n{{\"errorType\":\"Function.ResponseSizeTooLarge\",\"errorMessage\":\"the streamed response exceeded Lambda's 200 MB limit\"}}"
                        );
                        return (Answer::Error, at);
                    }
                    let _ = reply.send(local::accepted());
                    let failed = stream.take().is_some_and(|s| s.end(&trailers));
                    return (
                        if failed {
                            Answer::Error
                        } else {
                            Answer::Response
                        },
                        at,
                    );
                }
                Ok(_) => {}
                Err(_) => {
                    if let Ok(Some(status)) = p.child.try_wait() {
                        return (Answer::Exited(status.to_string()), Instant::now());
                    }
                    if Instant::now() >= until {
                        return (Answer::TimedOut, until);
                    }
                }
            }
        }
    }
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
            .map(base64_decode)
            .unwrap_or_default();
        println!(
            "the stream failed: {error_type}: {}",
            String::from_utf8_lossy(&body)
        );
        true
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let digits: Vec<u8> = text.bytes().filter_map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for group in digits.chunks(4) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &d)| n | u32::from(d) << (18 - 6 * i));
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..group.len()]);
    }
    out
}

/// Runs every event; exit status 0 when all were answered, 3 when the function answered
/// with an error (or timed out, or crashed), 1 when the run itself failed.
pub fn run(spec: &Spec) -> Result<ExitCode, String> {
    let api = LocalApi::start().map_err(|e| format!("cannot start the local Runtime API: {e}"))?;
    let mut run = Run {
        spec,
        api,
        process: None,
        function_error: false,
        failed: false,
    };
    let events: Vec<Vec<u8>> = if spec.events.is_empty() {
        vec![b"{}".to_vec()]
    } else {
        spec.events.clone()
    };
    for event in &events {
        run.one(event);
    }
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
        self.stop();
    }
}
