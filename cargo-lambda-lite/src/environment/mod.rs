//! One local execution environment, as Lambda runs one: a `bootstrap` process on its own
//! Runtime API ([`LocalApi`]), started on the first invocation (a cold start, with its Init
//! Duration), given up to `AWS_LAMBDA_MAX_CONCURRENCY` invocations at once (one without
//! Managed Instances), and reset by a fresh init after a crash or a timeout.
//!
//! The one-shot `invoke` and `watch` both drive environments: each runs on a thread of its own
//! that owns the process, takes [`Invocation`]s through [`Environment::invoke`], and reports each
//! one's [`Progress`] (its start, a streamed answer's chunks as they arrive, the answer, then
//! [`Done`] with the platform's lines) to the invocation's own callback. Lambda's rules are kept
//! here: the function timeout (the environment is reset), the 10 s init limit, the 6 MB response
//! and 200 MB stream limits. [`lifecycle`] starts and ends the process and its extensions;
//! [`extensions`] hands the extensions their events; the Telemetry API is `crate::telemetry`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::json;

use crate::local::{self, LocalApi, Msg, Request, Route};
use crate::telemetry::Telemetry;
use lifecycle::Process;

mod extensions;
mod lifecycle;
mod timers;
pub use lifecycle::terminate;
pub use timers::INIT_LIMIT;
use timers::{Clock, Overdue};

/// What a function is and how it runs.
pub struct Config {
    /// The function's name (`AWS_LAMBDA_FUNCTION_NAME`, and the label of its log lines).
    pub name: String,
    pub bootstrap: PathBuf,
    pub env: Vec<(String, String)>,
    pub handler: Option<String>,
    pub task_root: Option<PathBuf>,
    pub timeout: Duration,
    pub memory_mb: u32,
    /// A command the bootstrap runs under (qemu-user for an arm64 bootstrap).
    pub wrapper: Option<String>,
    /// External extensions, started before the runtime as Lambda starts `/opt/extensions/*`.
    pub extensions: Vec<PathBuf>,
    /// The function's output goes to the terminal as it is (the one-shot run); otherwise
    /// each line is printed labelled with the function's name and kept for `Tail`.
    pub inherit_output: bool,
}

impl Config {
    /// `AWS_LAMBDA_MAX_CONCURRENCY` as the function sees it: how many invocations one process
    /// takes at once (Lambda Managed Instances); 1 otherwise.
    pub fn concurrency(&self) -> usize {
        self.env
            .iter()
            .rev()
            .find(|(k, _)| k == "AWS_LAMBDA_MAX_CONCURRENCY")
            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 1)
            .unwrap_or(1)
    }
}

/// One event to run.
pub struct Invocation {
    pub event: Vec<u8>,
    /// Keep what the invocation logged (for the Invoke API's `X-Amz-Log-Type: Tail`).
    pub tail: bool,
    /// What the invoker passed for the runtime (`Lambda-Runtime-Client-Context`,
    /// `Lambda-Runtime-Aws-Tenant-Id`), as headers of its `/next` answer.
    pub headers: Vec<(String, String)>,
    /// Told what becomes of it, on the environment's thread, in order.
    pub progress: Box<dyn FnMut(Progress) + Send>,
}

/// What becomes of an invocation, in order.
pub enum Progress {
    /// Sent to the function: its `START` line.
    Started {
        line: String,
    },
    /// The answer is streamed: its content type; chunks follow as they arrive.
    Stream {
        content_type: Option<String>,
    },
    Chunk(Vec<u8>),
    /// The answer, as soon as it is known (before the platform's lines, as on Lambda).
    Answered(Outcome),
    /// The end: the platform's lines, the log.
    Done(Done),
}

pub struct Done {
    /// The platform's lines for it: a timeout's or a crash's message, `END`, `REPORT`.
    pub lines: Vec<String>,
    /// With [`Invocation::tail`]: everything logged from `START` to `REPORT`.
    #[cfg_attr(not(feature = "watch"), allow(dead_code))] // `Tail` is watch's
    pub log: Vec<u8>,
    /// A hint for the terminal (what happens next).
    pub note: Option<String>,
}

pub enum Outcome {
    /// A buffered answer.
    Response(Vec<u8>),
    /// A streamed answer ended well.
    Streamed,
    /// The function (or its init) failed; the document is what Lambda answers the caller.
    Error(FunctionError),
}

pub struct FunctionError {
    pub error_type: String,
    pub document: Vec<u8>,
    /// Who failed: the function's own error, or what the platform saw.
    pub cause: Cause,
}

/// Why an invocation failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Cause {
    /// The function answered with an error (or its answer broke Lambda's limits).
    Function,
    /// It never ran: the init failed, or timed out.
    Init,
    /// The function timeout: the environment was stopped.
    Timeout,
    /// The runtime exited (or was stopped with its environment).
    Exit,
}

impl FunctionError {
    fn new(error_type: &str, message: &str) -> FunctionError {
        FunctionError {
            error_type: error_type.to_owned(),
            document: serde_json::json!({"errorType": error_type, "errorMessage": message})
                .to_string()
                .into_bytes(),
            cause: Cause::Function,
        }
    }

    /// An error the platform reports (the function did not say it).
    fn platform(cause: Cause, error_type: &str, message: &str) -> FunctionError {
        FunctionError {
            cause,
            ..FunctionError::new(error_type, message)
        }
    }
}

/// Everything an environment's thread hears: its Runtime API, its caller, its process's output.
enum Inbox {
    Api(Msg),
    Invoke(Invocation),
    /// A line of the runtime's output (`None`) or of the named extension's.
    Log(Option<String>, Vec<u8>),
    /// Sent by the controller after draining the pipes: every line before it is in.
    LogsSettled,
    Shutdown,
}

/// A handle on an environment's thread.
pub struct Environment {
    inbox: Sender<Inbox>,
    thread: Option<JoinHandle<()>>,
}

impl Environment {
    /// Starts the environment's thread; its process starts with its first invocation.
    /// `finished` is called after each invocation's [`Done`] was sent.
    pub fn start(
        config: Arc<Config>,
        finished: Box<dyn Fn() + Send>,
    ) -> std::io::Result<Environment> {
        let (tx, rx) = channel();
        let api_tx = tx.clone();
        let api = LocalApi::serve(
            Box::new(move |m| api_tx.send(Inbox::Api(m)).is_ok()),
            true,
            &config.name,
        )?;
        let log_tx = tx.clone();
        let thread = thread::spawn(move || {
            let concurrency = config.concurrency();
            Controller {
                config,
                api,
                inbox: rx,
                log_tx,
                deferred: VecDeque::new(),
                pipes: Vec::new(),
                process: None,
                queue: VecDeque::new(),
                in_flight: Vec::new(),
                concurrency,
                finished,
                shutting_down: false,
                telemetry: Telemetry::default(),
                extension_events: BTreeMap::new(),
                extension_waiting: BTreeMap::new(),
                extensions_busy: BTreeSet::new(),
                ending: Vec::new(),
            }
            .run()
        });
        Ok(Environment {
            inbox: tx,
            thread: Some(thread),
        })
    }

    /// Queues an invocation; it runs when a worker of the process is free.
    pub fn invoke(&self, invocation: Invocation) {
        let _ = self.inbox.send(Inbox::Invoke(invocation));
    }

    /// Ends the environment as Lambda does once what it was given is done: SIGTERM (with a
    /// grace period when an extension is registered), then SIGKILL. Returns when it ended.
    pub fn shut_down(mut self) {
        let _ = self.inbox.send(Inbox::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    #[cfg(feature = "watch")]
    /// As [`Environment::shut_down`], without waiting for it.
    pub fn retire(self) {
        let _ = self.inbox.send(Inbox::Shutdown);
    }
}

/// An answered invocation until its REPORT line (which waits for the extensions registered
/// for INVOKE).
struct Ending {
    f: Option<InFlight>,
    /// When the runtime answered.
    answered: Instant,
    /// The platform's lines before END (a timeout's, a crash's).
    lines: Vec<String>,
    /// The REPORT line's status fields.
    status: String,
    /// The environment lives on after it.
    alive: bool,
    telemetry_status: &'static str,
    error_type: Option<String>,
    note: Option<String>,
}

impl Ending {
    fn timed_out(&mut self, id: &str, timeout: Duration) {
        self.telemetry_status = "timeout";
        self.lines.push(format!(
            "{id} Task timed out after {:.2} seconds",
            timeout.as_secs_f64()
        ));
        self.status = "\tStatus: timeout".into();
        self.alive = false;
    }
}

/// An invocation waiting for a worker, since `at`.
struct Queued {
    invocation: Invocation,
    at: Instant,
}

/// An invocation sent to the function and not answered yet.
struct InFlight {
    id: String,
    sent: Instant,
    /// The connection its chunked answer arrives on, once its head arrived.
    stream: Option<usize>,
    /// A chunked answer that is not a response stream: its body so far, and the error type
    /// when it is an error post.
    collecting: Option<(Vec<u8>, Option<String>)>,
    progress: Box<dyn FnMut(Progress) + Send>,
    log: Option<Vec<u8>>,
}

struct Controller {
    config: Arc<Config>,
    api: LocalApi,
    inbox: Receiver<Inbox>,
    log_tx: Sender<Inbox>,
    /// Messages put aside while waiting for log lines (see [`Controller::settle_logs`]).
    deferred: VecDeque<Inbox>,
    /// The current process's (and its extensions') output.
    pipes: Vec<std::sync::Arc<lifecycle::Pipe>>,
    process: Option<Process>,
    queue: VecDeque<Queued>,
    in_flight: Vec<InFlight>,
    concurrency: usize,
    finished: Box<dyn Fn() + Send>,
    shutting_down: bool,
    telemetry: Telemetry,
    /// Events for each extension (by identifier) it has not asked for yet.
    extension_events: BTreeMap<String, VecDeque<Vec<u8>>>,
    /// The `event/next` each extension waits in.
    extension_waiting: BTreeMap<String, Request>,
    /// The extensions given an INVOKE and not back at `event/next` yet.
    extensions_busy: BTreeSet<String>,
    /// Answered invocations waiting for those extensions.
    ending: Vec<Ending>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Lambda's message for a runtime that exited.
fn exit_error(id: &str, status: &str) -> FunctionError {
    FunctionError::platform(
        Cause::Exit,
        "Runtime.ExitError",
        &format!("RequestId: {id} Error: Runtime exited with error: {status}"),
    )
}

impl Controller {
    fn run(mut self) {
        let mut checked = Instant::now();
        loop {
            self.dispatch();
            if self.shutting_down
                && self.queue.is_empty()
                && self.in_flight.is_empty()
                && self.ending.is_empty()
            {
                self.stop_process();
                return;
            }
            let message = match self.deferred.pop_front() {
                Some(m) => Ok(m),
                None => self.inbox.recv_timeout(Duration::from_millis(20)),
            };
            match message {
                Ok(Inbox::Api(m)) => self.api_message(m),
                Ok(Inbox::Invoke(invocation)) => self.queue.push_back(Queued {
                    invocation,
                    at: Instant::now(),
                }),
                Ok(Inbox::Log(source, line)) => self.log(source, line),
                Ok(Inbox::LogsSettled) => {}
                Ok(Inbox::Shutdown) => self.shutting_down = true,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            // Timeouts and exits are seen even while messages keep coming.
            if checked.elapsed() >= Duration::from_millis(20) {
                self.check();
                checked = Instant::now();
            }
            self.telemetry.push_due();
        }
    }

    /// Sends queued invocations to idle workers, starting the process when there is none.
    fn dispatch(&mut self) {
        while !self.queue.is_empty() {
            let Some(p) = &mut self.process else {
                if !self.in_flight.is_empty() {
                    return; // the old process's answers first
                }
                if let Err(e) = self.spawn() {
                    let invocation = self.queue.pop_front();
                    if let Some(i) = invocation {
                        let error =
                            FunctionError::platform(Cause::Init, "Runtime.InvalidEntrypoint", &e);
                        self.finish_unsent(i, error, Vec::new());
                    }
                }
                continue;
            };
            if !p.ready() || self.in_flight.len() + self.ending.len() >= self.concurrency {
                return;
            }
            let Some(next) = p.idle.pop() else { return };
            if let Some(queued) = self.queue.pop_front() {
                self.send(next, queued.invocation);
            }
        }
    }

    /// A line for the terminal, labelled with the function's name (when its output is not
    /// the terminal's already).
    fn show(&self, line: &str) {
        if !self.config.inherit_output {
            println!("[{}] {line}", self.config.name);
        }
    }

    /// A line of output: printed labelled; the runtime's kept for the invocations in flight;
    /// both sent to telemetry subscribers.
    fn log(&mut self, source: Option<String>, line: Vec<u8>) {
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches('\n');
        match source {
            Some(extension) => {
                if !self.config.inherit_output {
                    println!("[{}:{extension}] {text}", self.config.name);
                }
                self.telemetry.record("extension", || text.into());
            }
            None => {
                self.show(text);
                self.telemetry.record("function", || text.into());
                // Every invocation under way keeps it for its `Tail`, those answered and
                // waiting for their extensions too.
                let ending = self.ending.iter_mut().filter_map(|e| e.f.as_mut());
                for f in self.in_flight.iter_mut().chain(ending) {
                    if let Some(log) = &mut f.log {
                        log.extend_from_slice(&line);
                    }
                }
            }
        }
    }

    /// Answers an idle worker's `GET /next` with the invocation's event.
    fn send(&mut self, next: Request, mut invocation: Invocation) {
        let id = local::request_id();
        let line = format!("START RequestId: {id} Version: $LATEST");
        let deadline_ms = local::epoch_ms() + self.config.timeout.as_millis();
        let trace = local::trace_header();
        // The clock starts before the event is on its way: the answer can be back before
        // `respond` returns.
        let sent = Instant::now();
        next.respond(local::next_response(
            &self.config.name,
            &id,
            deadline_ms,
            &trace,
            &invocation.headers,
            &invocation.event,
        ));
        self.show(&line);
        self.telemetry.record(
            "platform.start",
            || json!({"requestId": id, "version": "$LATEST"}),
        );
        let config = self.config.clone();
        let invoke = || {
            json!({
                "eventType": "INVOKE",
                "deadlineMs": deadline_ms,
                "requestId": id,
                "invokedFunctionArn": format!("arn:aws:lambda:{}:{}:function:{}", local::REGION, local::ACCOUNT, config.name),
                "tracing": {"type": "X-Amzn-Trace-Id", "value": trace},
            })
        };
        self.tell_extensions("INVOKE", invoke);
        let log = invocation.tail.then(|| format!("{line}\n").into_bytes());
        (invocation.progress)(Progress::Started { line });
        self.in_flight.push(InFlight {
            id,
            sent,
            stream: None,
            collecting: None,
            progress: invocation.progress,
            log,
        });
    }

    fn api_message(&mut self, message: Msg) {
        let Some(p) = &mut self.process else {
            answer_stray(message);
            return;
        };
        match message {
            Msg::Request(r) if r.connection >= p.first_connection => match r.route {
                Route::Next => {
                    p.runtime_waiting.get_or_insert(r.at);
                    p.idle.push(r);
                    self.check_init();
                }
                Route::ExtensionNext => {
                    self.extension_next(r);
                    self.check_init();
                }
                Route::Subscribe => match self.telemetry.subscribe(&r.body) {
                    Ok(()) => r.respond(local::ok_response()),
                    Err(e) => {
                        eprintln!(
                            "[{}] a telemetry subscription was refused: {e}",
                            self.config.name
                        );
                        r.respond(local::bad_request(&e));
                    }
                },
                // Too late: the init is over (Lambda refuses it the same way).
                Route::InitError if p.ready() => r.respond(local::forbidden(
                    "InvalidStateTransition",
                    "the init is over: report an invocation's error with /invocation/{id}/error",
                )),
                Route::InitError => {
                    r.accept();
                    self.init_failed(r);
                }
                Route::Response(_) | Route::Error(_) => self.post(r),
                // The connection answers the others itself.
                _ => r.accept(),
            },
            Msg::Chunk {
                connection, data, ..
            } => {
                if let Some(f) = self
                    .in_flight
                    .iter_mut()
                    .find(|f| f.stream == Some(connection))
                {
                    match &mut f.collecting {
                        // Kept up to the limit (its size is counted at the end).
                        Some((body, _)) if body.len() <= local::MAX_PAYLOAD => {
                            body.extend_from_slice(&data);
                        }
                        Some(_) => {}
                        None => (f.progress)(Progress::Chunk(data)),
                    }
                }
            }
            Msg::End {
                connection,
                trailers,
                reply,
                at,
                bytes,
                broken,
            } => {
                let Some(i) = self
                    .in_flight
                    .iter()
                    .position(|f| f.stream == Some(connection))
                else {
                    let _ = reply.send(local::accepted());
                    return;
                };
                if broken {
                    let _ = reply.send(local::accepted());
                    // A runtime that died mid-answer crashed (its exit is reported); one whose
                    // connection broke alone failed this answer.
                    let exited = self.process.as_mut().is_some_and(|p| {
                        let until = Instant::now() + Duration::from_millis(100);
                        while Instant::now() < until {
                            if let Ok(Some(_)) = p.child.try_wait() {
                                return true;
                            }
                            thread::sleep(Duration::from_millis(1));
                        }
                        false
                    });
                    if exited {
                        self.check();
                    } else {
                        let error = FunctionError::new(
                            "Runtime.Unknown",
                            "the runtime's chunked post ended before its last chunk",
                        );
                        self.complete(i, Outcome::Error(error), at, None);
                    }
                    return;
                }
                if bytes > local::MAX_STREAM {
                    let _ = reply.send(local::too_large());
                    let error = FunctionError::new(
                        "Function.ResponseSizeTooLarge",
                        "the streamed response exceeded Lambda's 200 MB limit",
                    );
                    self.complete(i, Outcome::Error(error), at, None);
                    return;
                }
                if let Some((body, error_type)) = self.in_flight[i].collecting.take() {
                    let answer = |a| {
                        let _ = reply.send(a);
                    };
                    self.answered(i, error_type, body, bytes, answer, at);
                    return;
                }
                let _ = reply.send(local::accepted());
                let outcome = match stream_error(&trailers) {
                    Some(error) => Outcome::Error(error),
                    None => Outcome::Streamed,
                };
                self.complete(i, outcome, at, None);
            }
            other => answer_stray(other), // an earlier process's
        }
    }

    /// A response or error post (or a streamed response's head).
    fn post(&mut self, mut r: Request) {
        let id = r.route.invocation_id();
        let Some(at) = self.in_flight.iter().position(|f| Some(&*f.id) == id) else {
            // Over already (answered twice), or never sent: Lambda's answer.
            r.respond(local::invalid_request_id());
            return;
        };
        let error_type = matches!(r.route, Route::Error(_)).then(|| {
            r.header("lambda-runtime-function-error-type")
                .unwrap_or("Unhandled")
                .to_owned()
        });
        if r.streamed {
            let f = &mut self.in_flight[at];
            f.stream = Some(r.connection);
            if r.header("lambda-runtime-function-response-mode") == Some("streaming") {
                (f.progress)(Progress::Stream {
                    content_type: r.header("content-type").map(str::to_owned),
                });
            } else {
                // A whole answer that merely came chunked: collected, then answered.
                f.collecting = Some((Vec::new(), error_type));
            }
            return;
        }
        let size = r.oversized.unwrap_or(r.body.len());
        let (when, body) = (r.at, std::mem::take(&mut r.body));
        self.answered(at, error_type, body, size, |answer| r.respond(answer), when);
    }

    /// A whole answer (or error) of `in_flight[at]`, of `size` bytes; `reply` answers its post.
    fn answered(
        &mut self,
        at: usize,
        error_type: Option<String>,
        body: Vec<u8>,
        size: usize,
        reply: impl FnOnce(Vec<u8>),
        when: Instant,
    ) {
        if size > local::MAX_PAYLOAD {
            reply(local::too_large());
            let error = FunctionError::new(
                "Function.ResponseSizeTooLarge",
                &format!(
                    "Response payload size ({size} bytes) exceeded maximum allowed payload size (6291556 bytes)."
                ),
            );
            self.complete(at, Outcome::Error(error), when, None);
            return;
        }
        reply(local::accepted());
        let outcome = match error_type {
            Some(error_type) => Outcome::Error(FunctionError {
                error_type,
                document: body,
                cause: Cause::Function,
            }),
            None => Outcome::Response(body),
        };
        self.complete(at, outcome, when, None);
    }

    /// `POST /init/error`: the invocation waiting for this init gets the error; the process
    /// is stopped, and the next invocation starts a fresh one (Lambda retries the init).
    fn init_failed(&mut self, post: Request) {
        let Some(mut p) = self.process.take() else {
            return;
        };
        p.kill();
        let error_type = post
            .header("lambda-runtime-function-error-type")
            .unwrap_or("Runtime.Unknown")
            .to_owned();
        let line = format!(
            "INIT_REPORT Init Duration: {:.2} ms\tPhase: init\tStatus: error\tError Type: {error_type}",
            ms(post.at - p.started)
        );
        let error = FunctionError {
            error_type,
            document: post.body,
            cause: Cause::Init,
        };
        if let Some(i) = self.queue.pop_front() {
            self.finish_unsent(i, error, vec![line]);
        }
    }

    /// Ends an invocation that never reached the function.
    fn finish_unsent(&mut self, queued: Queued, error: FunctionError, lines: Vec<String>) {
        let mut invocation = queued.invocation;
        self.show(&String::from_utf8_lossy(&error.document));
        for l in &lines {
            self.show(l);
        }
        let log = if invocation.tail {
            lines
                .iter()
                .flat_map(|l| format!("{l}\n").into_bytes())
                .collect()
        } else {
            Vec::new()
        };
        (invocation.progress)(Progress::Answered(Outcome::Error(error)));
        (invocation.progress)(Progress::Done(Done {
            lines,
            log,
            note: Some("the init failed: Lambda retries it with the next event".into()),
        }));
        (self.finished)();
    }

    /// Between messages: has the process exited, did its init or an invocation time out?
    fn check(&mut self) {
        let Some(p) = &mut self.process else {
            return;
        };
        if let Ok(Some(status)) = p.child.try_wait() {
            let why = status.to_string();
            let ready = p.ready();
            // Its extensions go with it.
            if let Some(p) = self.process.take() {
                self.reset(p, "failure");
            }
            if !ready {
                if let Some(i) = self.queue.pop_front() {
                    let error = FunctionError::platform(
                        Cause::Init,
                        "Runtime.ExitError",
                        &format!("Runtime exited with error: {why} (during init)"),
                    );
                    self.finish_unsent(i, error, Vec::new());
                }
                return;
            }
            if self.in_flight.is_empty() {
                self.exited_after_answering(&why);
            }
            let note = "the runtime exited; the next event starts with a fresh init";
            while let Some(f) = self.in_flight.first() {
                let error = exit_error(&f.id, &why);
                self.complete(0, Outcome::Error(error), Instant::now(), Some(note));
            }
            self.end_with_environment();
            return;
        }
        let now = Instant::now();
        let timeout = self.config.timeout;
        // A runtime that answered but never asked for its next event: the invocation waiting
        // for it times out, and the environment is reset.
        let stuck = p.ready() && p.idle.is_empty() && self.in_flight.is_empty();
        let ending: Vec<Instant> = (self.ending.iter())
            .map(|e| e.f.as_ref().map_or(now, |f| f.sent))
            .collect();
        let in_flight: Vec<Instant> = self.in_flight.iter().map(|f| f.sent).collect();
        let clock = Clock {
            now,
            timeout,
            init_started: (!p.ready()).then_some(p.started),
            stuck_since: self.queue.front().filter(|_| stuck).map(|q| q.at),
            ending: &ending,
            in_flight: &in_flight,
        };
        match clock.overdue() {
            None => {}
            Some(Overdue::Init) => {
                p.kill();
                self.process = None;
                if let Some(i) = self.queue.pop_front() {
                    let error = FunctionError::platform(
                        Cause::Init,
                        "Sandbox.Timedout",
                        &format!(
                            "init did not reach GET /next within {} s",
                            INIT_LIMIT.as_secs()
                        ),
                    );
                    let line = format!(
                        "INIT_REPORT Init Duration: {:.2} ms\tPhase: init\tStatus: timeout",
                        ms(INIT_LIMIT)
                    );
                    self.finish_unsent(i, error, vec![line]);
                }
            }
            Some(Overdue::Stuck) => {
                p.kill();
                self.process = None;
                if let Some(q) = self.queue.pop_front() {
                    let message = format!(
                        "Task timed out after {:.2} seconds: the runtime never asked for this event",
                        timeout.as_secs_f64()
                    );
                    let error =
                        FunctionError::platform(Cause::Timeout, "Sandbox.Timedout", &message);
                    self.finish_unsent(q, error, vec![message]);
                }
            }
            // An extension that takes the rest of the function timeout after the answer.
            Some(Overdue::Extensions(i)) => {
                let mut ending = self.ending.remove(i);
                let (id, sent) = ending
                    .f
                    .as_ref()
                    .map(|f| (f.id.clone(), f.sent))
                    .unwrap_or_else(|| (String::new(), now));
                ending.timed_out(&id, timeout);
                self.finish(ending, sent + timeout);
            }
            Some(Overdue::Invocation(i)) => {
                let until = self.in_flight[i].sent + timeout;
                let message = format!("Task timed out after {:.2} seconds", timeout.as_secs_f64());
                self.complete(
                    i,
                    Outcome::Error(FunctionError::platform(Cause::Timeout, "Sandbox.Timedout", &message)),
                    until,
                    Some("the function was stopped at its timeout; the next event starts with a fresh init"),
                );
            }
        }
    }

    /// Ends the invocation `in_flight[at]`: its platform lines, its [`Done`]. When the process
    /// is gone with it, what else ran in it ends too.
    fn complete(&mut self, at: usize, outcome: Outcome, done: Instant, note: Option<&str>) {
        let mut f = self.in_flight.remove(at);
        let mut ending = Ending {
            lines: Vec::new(),
            status: String::new(),
            alive: true,
            telemetry_status: "success",
            error_type: None,
            note: note.map(str::to_owned),
            answered: done,
            f: None,
        };
        if let Outcome::Error(e) = &outcome {
            (ending.telemetry_status, ending.error_type) = ("error", Some(e.error_type.clone()));
            match e.cause {
                Cause::Timeout => ending.timed_out(&f.id, self.config.timeout),
                Cause::Exit => {
                    ending.telemetry_status = "failure";
                    ending
                        .lines
                        .push(String::from_utf8_lossy(&e.document).into_owned());
                    ending.status = "\tStatus: error\tError Type: Runtime.ExitError".into();
                    ending.alive = false;
                }
                _ => {}
            }
        }
        // The caller has its answer before the REPORT line is made.
        (f.progress)(Progress::Answered(outcome));
        ending.f = Some(f);
        // As on Lambda, the invocation ends once the extensions registered for INVOKE are
        // back at event/next: the environment takes no other event meanwhile.
        let running = self
            .process
            .as_mut()
            .is_some_and(|p| p.child.try_wait().ok().flatten().is_none());
        if ending.alive && running && !self.extensions_busy.is_empty() {
            self.ending.push(ending);
            return;
        }
        self.finish(ending, done);
    }

    /// Ends an answered invocation at `done`: its END and REPORT lines, its telemetry, its
    /// [`Done`]. When the process is gone with it, what else ran in it ends too.
    fn finish(&mut self, mut ending: Ending, done: Instant) {
        let Some(mut f) = ending.f.take() else { return };
        if let Some(log) = &mut f.log {
            self.settle_logs(log);
        }
        let mut p = self.process.take();
        let id = &f.id;
        let duration = done.saturating_duration_since(f.sent);
        let rss = p
            .as_ref()
            .and_then(|p| local::peak_rss_kib(p.child.id()))
            .unwrap_or(0);
        let init = p.as_mut().and_then(|p| {
            p.init_reported = true;
            p.init.take()
        });
        let mut lines = std::mem::take(&mut ending.lines);
        lines.push(format!("END RequestId: {id}"));
        let billed = billed_ms(duration, init);
        let used_mb = rss.div_ceil(1024).max(1);
        lines.push(format!(
            "REPORT RequestId: {id}\tDuration: {:.2} ms\tBilled Duration: {billed} ms\tMemory Size: {} MB\tMax Memory Used: {used_mb} MB{}{}",
            ms(duration),
            self.config.memory_mb,
            init.map(|i| format!("\tInit Duration: {:.2} ms", ms(i)))
                .unwrap_or_default(),
            ending.status,
        ));
        let (telemetry_status, error_type) = (ending.telemetry_status, &ending.error_type);
        let record = |metrics| {
            let mut r = json!({"requestId": id, "status": telemetry_status, "metrics": metrics});
            if let Some(t) = error_type {
                r["errorType"] = json!(t);
            }
            r
        };
        self.telemetry.record("platform.runtimeDone", || {
            record(json!({"durationMs": ms(ending.answered.saturating_duration_since(f.sent))}))
        });
        let memory_mb = self.config.memory_mb;
        self.telemetry.record("platform.report", || {
            let mut metrics = json!({"durationMs": ms(duration), "billedDurationMs": billed,
                                     "memorySizeMB": memory_mb, "maxMemoryUsedMB": used_mb});
            if let Some(i) = init {
                metrics["initDurationMs"] = json!(ms(i));
            }
            record(metrics)
        });
        if let Some(mut p) = p {
            match p.child.try_wait() {
                Ok(None) if ending.alive => self.process = Some(p),
                Ok(Some(status)) if ending.alive && self.in_flight.is_empty() => {
                    self.exited_after_answering(&status.to_string());
                    self.reset(p, "failure");
                }
                _ if telemetry_status == "timeout" => self.reset(p, "timeout"),
                _ => self.reset(p, "failure"),
            }
        }
        let mut log = f.log.take().unwrap_or_default();
        self.show(&lines.join(&format!("\n[{}] ", self.config.name)));
        for l in &lines {
            log.extend_from_slice(l.as_bytes());
            log.push(b'\n');
        }
        (f.progress)(Progress::Done(Done {
            lines,
            log,
            note: ending.note,
        }));
        (self.finished)();
        if self.process.is_none() {
            self.end_with_environment();
        }
    }

    /// The process is gone: what was answered ends now, what was running fails with it.
    fn end_with_environment(&mut self) {
        for ending in std::mem::take(&mut self.ending) {
            self.finish(ending, Instant::now());
        }
        while let Some(f) = self.in_flight.first() {
            let error = exit_error(&f.id, "stopped with its environment");
            self.complete(0, Outcome::Error(error), Instant::now(), None);
        }
    }

    /// The extensions registered for INVOKE are all back at event/next: the invocations
    /// waiting for them end.
    fn extensions_idle(&mut self) {
        if self.extensions_busy.is_empty() {
            for ending in std::mem::take(&mut self.ending) {
                self.finish(ending, Instant::now());
            }
        }
    }

    /// Takes in every log line written before now: the pipes drained (a line written just
    /// before the answer is in them, whatever their threads are doing), then the inbox read up
    /// to the marker sent after them, everything else put aside. Only for `Tail`.
    /// The runtime's lines go into `tail` too: the invocation it belongs to is out of
    /// `in_flight` by now.
    fn settle_logs(&mut self, tail: &mut Vec<u8>) {
        self.pipes.retain(|pipe| !pipe.drain());
        let _ = self.log_tx.send(Inbox::LogsSettled);
        // The marker is in the inbox behind every line: this ends (the timeout only guards
        // against a bug).
        while let Ok(message) = self.inbox.recv_timeout(Duration::from_secs(5)) {
            match message {
                Inbox::Log(source, line) => {
                    if source.is_none() {
                        tail.extend_from_slice(&line);
                    }
                    self.log(source, line);
                }
                Inbox::LogsSettled => break,
                other => self.deferred.push_back(other),
            }
        }
    }
}

/// A message from a process that is gone: answered, so nothing hangs on it.
fn answer_stray(message: Msg) {
    match message {
        Msg::Request(r) => r.accept(),
        Msg::End { reply, .. } => {
            let _ = reply.send(local::accepted());
        }
        Msg::Chunk { .. } => {}
    }
}

/// The error a failed stream's trailers carry.
fn stream_error(trailers: &[(String, String)]) -> Option<FunctionError> {
    let find = |name: &str| {
        trailers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let error_type = find("lambda-runtime-function-error-type")?;
    let document = find("lambda-runtime-function-error-body")
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .unwrap_or_default();
    Some(FunctionError {
        error_type: error_type.to_owned(),
        document,
        cause: Cause::Function,
    })
}

/// The billed duration: a custom runtime's init is billed, so on a cold start it is the init
/// and the invocation together, rounded up to the millisecond.
fn billed_ms(duration: Duration, init: Option<Duration>) -> u64 {
    ms(duration + init.unwrap_or_default()).ceil().max(1.0) as u64
}
