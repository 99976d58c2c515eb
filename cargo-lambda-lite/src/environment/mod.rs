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
//! and 200 MB stream limits.
//!
//! Here: the handle and the controller's loop (its inbox, handing queued invocations to idle
//! workers). [`invocation`] holds the types that go in and come out; [`runtime_api`] takes the
//! function's calls; [`timers`] decides which of Lambda's time limits ran out; [`report`] ends
//! an invocation with its END and REPORT lines; [`lifecycle`] starts and ends the process and
//! its extensions; [`extensions`] hands the extensions their events; the Telemetry API is
//! `crate::telemetry`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::local::{self, LocalApi, Msg, Request};
use crate::telemetry::Telemetry;
use lifecycle::Process;

mod extensions;
use extensions::ExtensionEvents;
mod invocation;
mod lifecycle;
mod report;
mod runtime_api;
mod timers;
pub use invocation::{Cause, Config, Done, Ended, FunctionError, Invocation, Outcome, Progress};
pub use lifecycle::terminate;
use report::Ending;

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
    /// `ended` is told of each invocation's answer (before its caller is) and of its end
    /// (after its [`Done`] was sent).
    pub fn start(
        config: Arc<Config>,
        ended: Box<dyn Fn(Ended) + Send>,
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
                ended,
                shutting_down: false,
                telemetry: Telemetry::default(),
                extensions: ExtensionEvents::default(),
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
    ended: Box<dyn Fn(Ended) + Send>,
    shutting_down: bool,
    telemetry: Telemetry,
    /// The events of the process's extensions.
    extensions: ExtensionEvents,
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
}
