//! The invocation loop: `GET /next` → handler → `POST /response` (buffered or streamed) or
//! `/error`, the init-error and restore paths. The entry points built on it are in `run.rs`.
//! What each status means is `proto::policy`'s to say; this module only carries it out.

use crate::conn::{Connection, ExchangeError, Response};
use crate::context::{Config, Context, NEXT_HEADERS};
use crate::endpoint::Endpoint;
use crate::error::write_error_json;
use crate::log::{self, Level};
use crate::proto::WireError;
use crate::proto::policy::{self, Call, Outcome, Verdict};
use crate::proto::request::{self, Invocation};
use crate::stream::{Finished, ResponseStream};
use crate::{Error, Result, panic, sys};

/// `errorType` of an event the runtime could not read whole (over the cap, cut short).
const INVALID_EVENT: &str = "Runtime.InvalidEvent";

/// A handler as the loop sees it: one non-generic type, so the loop exists once in a binary.
pub type Handler<'h> = dyn FnMut(&[u8], &Context<'_>) -> Result<Vec<u8>> + 'h;

/// A streaming handler as the loop sees it: it writes its answer to the [`ResponseStream`]
/// while it runs, and returns `Ok(())` when the answer is complete.
pub type StreamHandler<'h> =
    dyn FnMut(&[u8], &Context<'_>, &mut ResponseStream<'_>) -> Result<()> + 'h;

/// Why the runtime must stop: the protocol leaves nothing else to do (a 5xx, a refused
/// `/next`, a Runtime API that cannot be reached). [`run`](crate::run) prints it and exits with status 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fatal {
    message: String,
    /// A 5xx: the whole process must exit, not only this loop.
    container_error: bool,
}

impl Fatal {
    #[cold]
    pub(crate) fn new(parts: &[&str]) -> Fatal {
        Fatal {
            message: parts.concat(),
            container_error: false,
        }
    }

    /// What went wrong, in one line.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the Runtime API reported a container error (a 5xx), after which the process
    /// must exit at once, rather than only this loop having nothing left to do.
    pub fn is_container_error(&self) -> bool {
        self.container_error
    }
}

impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Fatal {}

/// A client of the Runtime API that serves one invocation per [`Runtime::step`] (or
/// [`Runtime::step_streaming`]).
///
/// [`run`](crate::run) is `Runtime::from_env` plus `step` in a loop; use `Runtime` directly to drive the
/// loop yourself (tests, a custom `main`). A `Runtime` owns its connection, so a program can
/// make one per thread. A `Runtime` never changes the process environment unless it was
/// made the process's only one with [`Runtime::claim_trace_env`].
pub struct Runtime {
    conn: Connection,
    /// `None` until the first event: then read from the environment.
    config: Option<Config>,
    /// The request head being sent; reused.
    head: Vec<u8>,
    /// The error JSON being sent (and a streamed response's scratch space); reused.
    scratch: Vec<u8>,
    /// Present when this runtime is the process's only one: it then sets `_X_AMZN_TRACE_ID`.
    env: Option<sys::TraceEnv>,
    _registered: sys::RuntimeToken,
}

impl Runtime {
    /// A runtime for `$AWS_LAMBDA_RUNTIME_API`. Nothing is connected or read yet, so the
    /// first `GET /next` is the first thing that happens; the [`Config`] is read from the
    /// environment after the first event arrived.
    pub fn from_env() -> Result<Runtime, Fatal> {
        Runtime::with_config(&runtime_api()?, None)
    }

    /// A runtime for the Runtime API at `runtime_api` (`host:port` or `http://host:port/base`),
    /// with an explicit configuration.
    pub fn new(runtime_api: &str, config: Config) -> Result<Runtime, Fatal> {
        Runtime::with_config(runtime_api, Some(config))
    }

    pub(crate) fn with_config(api: &str, config: Option<Config>) -> Result<Runtime, Fatal> {
        Runtime::with_endpoint(parse_endpoint(api)?, config)
    }

    /// Another runtime for the same Runtime API (a concurrent worker's).
    pub(crate) fn for_endpoint(endpoint: Endpoint) -> Result<Runtime, Fatal> {
        Runtime::with_endpoint(endpoint, None)
    }

    pub(crate) fn endpoint(&self) -> &Endpoint {
        self.conn.endpoint()
    }

    fn with_endpoint(endpoint: Endpoint, config: Option<Config>) -> Result<Runtime, Fatal> {
        let registered = sys::RuntimeToken::register().ok_or_else(|| {
            Fatal::new(&[
                "another Runtime owns the process environment (lambda_lite::run is serving); no second Runtime can run beside it",
            ])
        })?;
        Ok(Runtime {
            conn: Connection::new(endpoint),
            config,
            // One allocation for every request head to come (they are ~250 B), instead of
            // regrowing it three times before the first `GET /next`.
            head: Vec::with_capacity(512),
            scratch: Vec::new(),
            env: None,
            _registered: registered,
        })
    }

    /// Makes this runtime set `_X_AMZN_TRACE_ID` to each invocation's trace header (and remove
    /// it when there is none), as X-Ray and the AWS SDKs expect of a one-at-a-time runtime.
    ///
    /// Changing the environment races with any other thread reading it, so this succeeds only
    /// if this is the process's only `Runtime`, and from then on no other `Runtime` can be
    /// created. [`run`](crate::run) and the other sequential entry points call it; concurrent workers
    /// never do (their trace ids are in [`Context::xray_trace_id`]). Returns whether the claim
    /// succeeded.
    pub fn claim_trace_env(&mut self) -> bool {
        if self.env.is_none() {
            self.env = sys::TraceEnv::claim();
        }
        self.env.is_some()
    }

    /// Serves one invocation: waits in `GET /next` (without a timeout: the environment may be
    /// frozen for hours), calls `handler`, and posts its result to `/response` or its error
    /// (or panic) to `/error`. `Err` means this loop should end (see `Fatal`).
    pub fn step(&mut self, handler: &mut Handler<'_>) -> Result<(), Fatal> {
        self.step_then(handler, None)
    }

    /// [`Runtime::step`], calling `waiting` once the `GET /next` request is written (before
    /// its answer arrives): concurrent workers start the others there, so the first `/next`
    /// never waits for them.
    pub(crate) fn step_then(
        &mut self,
        handler: &mut Handler<'_>,
        waiting: Option<&mut dyn FnMut()>,
    ) -> Result<(), Fatal> {
        let Some(next) = self.next_invocation(waiting)? else {
            return Ok(());
        };
        let Runtime {
            conn,
            config,
            head,
            scratch,
            env,
            ..
        } = self;
        let inbox = conn.inbox();
        let Some(ctx) = begin_invocation(inbox, &next, config, env) else {
            return Ok(());
        };
        let outcome = match next.body {
            Ok(body) => call_user(conn.endpoint(), &ctx, || handler(body.of(inbox), &ctx)),
            Err(e) => Err(invalid_event(e)),
        };
        let inv = invocation(&ctx);
        let result = match &outcome {
            Ok(response) => {
                request::response(head, conn.endpoint(), inv, response.len());
                post(conn, "POST /response", head, response)
            }
            Err(error) => {
                error_request(head, scratch, conn.endpoint(), inv, error);
                post(conn, "POST /error", head, scratch)
            }
        };
        end_invocation(result)
    }

    /// Serves one invocation with a streaming handler: the answer is posted while `handler`
    /// writes it, each write one HTTP chunk of a `POST /response` in streaming mode. An error
    /// (or panic) before the first byte is posted to `/error`; after it, it ends the stream
    /// with the error trailers, so the caller sees a failed stream, not a cut one.
    pub fn step_streaming(&mut self, handler: &mut StreamHandler<'_>) -> Result<(), Fatal> {
        self.step_streaming_then(handler, None)
    }

    pub(crate) fn step_streaming_then(
        &mut self,
        handler: &mut StreamHandler<'_>,
        waiting: Option<&mut dyn FnMut()>,
    ) -> Result<(), Fatal> {
        let Some(next) = self.next_invocation(waiting)? else {
            return Ok(());
        };
        let Runtime {
            conn,
            config,
            head,
            scratch,
            env,
            ..
        } = self;
        let (inbox, link) = conn.split();
        let Some(ctx) = begin_invocation(inbox, &next, config, env) else {
            return Ok(());
        };
        let inv = invocation(&ctx);
        arm(link.endpoint(), inv);
        let mut stream = ResponseStream::new(&mut *link, head, scratch, inv);
        let outcome = match next.body {
            Ok(body) => panic::catch(|| handler(body.of(inbox), &ctx, &mut stream)),
            Err(e) => Err(invalid_event(e)),
        };
        panic::disarm();
        let result = match stream.finish(&outcome) {
            finished @ (Finished::Sent | Finished::Broken) => {
                // A broken stream's server may have answered (a 413) before it stopped reading.
                let answer = conn.receive(&[]);
                if finished == Finished::Broken {
                    conn.disconnect();
                }
                judge(
                    "POST /response (streamed)",
                    Call::Answer,
                    &answer,
                    conn.inbox(),
                )
            }
            Finished::NotStarted => match &outcome {
                Err(error) => {
                    error_request(head, scratch, link.endpoint(), inv, error);
                    post(conn, "POST /error", head, scratch)
                }
                Ok(()) => Ok(()),
            },
        };
        end_invocation(result)
    }

    /// `GET /next`, judged by the policy. `None`: nothing to serve this time (no request id).
    fn next_invocation(
        &mut self,
        waiting: Option<&mut dyn FnMut()>,
    ) -> Result<Option<Response>, Fatal> {
        request::next(&mut self.head, self.conn.endpoint());
        let sent = self.conn.send(&self.head, &[]);
        if let Some(waiting) = waiting {
            waiting();
        }
        let next = self
            .conn
            .finish_exchange(sent, &self.head, &[], &NEXT_HEADERS);
        judge("GET /next", Call::Next, &next, self.conn.inbox())?;
        Ok(next.ok())
    }

    /// Posts `error` to `/init/error`. The caller should then exit: the service answers every
    /// later `/next` with 403.
    pub fn send_init_error(&mut self, error: &Error) -> Result<(), Fatal> {
        let header_type = error.header_type();
        post_lifecycle_error(
            &mut self.conn,
            &mut self.head,
            &mut self.scratch,
            "POST /init/error",
            error,
            &|head, endpoint, len| request::init_error(head, endpoint, &header_type, len),
        )
    }

    /// Runs `init` (errors and panics caught); on failure posts `/init/error` and exits with 1.
    pub(crate) fn init_or_exit<S>(&mut self, init: impl FnOnce() -> Result<S>) -> S {
        match self.run_user(panic::Phase::Init, init) {
            Ok(state) => state,
            Err(error) => self.fail_init(&error),
        }
    }

    /// Runs user code outside any invocation (init, SnapStart hooks), panics caught or
    /// reported as `phase` says.
    pub(crate) fn run_user<S>(
        &mut self,
        phase: panic::Phase<'_>,
        f: impl FnOnce() -> Result<S>,
    ) -> Result<S> {
        panic::install();
        panic::arm(self.conn.endpoint(), phase);
        let outcome = panic::catch(f);
        panic::disarm();
        outcome
    }

    /// Posts `error` to `/init/error` and exits with 1.
    #[cold]
    pub(crate) fn fail_init(&mut self, error: &Error) -> ! {
        fail_and_exit("init", error, &mut || self.send_init_error(error))
    }

    /// SnapStart: `GET /restore/next`, which Lambda answers once the snapshot has been
    /// restored, then drops the connection (made before the snapshot, it is stale).
    pub(crate) fn restore_next(&mut self) -> Result<(), Fatal> {
        request::restore_next(&mut self.head, self.conn.endpoint());
        let answer = self.conn.exchange(&self.head, &[], &[]);
        let judged = judge(
            "GET /restore/next",
            Call::Lifecycle,
            &answer,
            self.conn.inbox(),
        );
        self.conn.disconnect();
        judged
    }

    /// SnapStart: posts `error` (an after-restore hook's) to `/restore/error`.
    pub(crate) fn send_restore_error(&mut self, error: &Error) -> Result<(), Fatal> {
        post_lifecycle_error(
            &mut self.conn,
            &mut self.head,
            &mut self.scratch,
            "POST /restore/error",
            error,
            &request::restore_error,
        )
    }
}

/// `$AWS_LAMBDA_RUNTIME_API`, or why there is none.
pub(crate) fn runtime_api() -> Result<String, Fatal> {
    std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(|_| {
        Fatal::new(&[
            "AWS_LAMBDA_RUNTIME_API is not set (or not UTF-8): run this binary as a Lambda bootstrap",
        ])
    })
}

pub(crate) fn parse_endpoint(api: &str) -> Result<Endpoint, Fatal> {
    Endpoint::parse(api)
        .map_err(|why| Fatal::new(&["AWS_LAMBDA_RUNTIME_API=", api, " is malformed: ", why]))
}

/// The invocation's `Context` (or `None` without a usable request id, reported), with the
/// per-invocation state set: the log lines' request id and, if owned, the trace variable.
fn begin_invocation<'a>(
    inbox: &'a [u8],
    next: &Response,
    config: &'a mut Option<Config>,
    env: &Option<sys::TraceEnv>,
) -> Option<Context<'a>> {
    let config = config.get_or_insert_with(Config::from_env);
    let Some(ctx) = Context::from_next(inbox, &next.found, config) else {
        warn(&[
            "GET /next answered without a Lambda-Runtime-Aws-Request-Id header; the event cannot be answered",
        ]);
        return None;
    };
    if let Some(env) = env {
        env.set_trace_id(ctx.xray_trace_id);
    }
    log::set_request_id(ctx.request_id);
    Some(ctx)
}

fn end_invocation(result: Result<(), Fatal>) -> Result<(), Fatal> {
    // Lines logged between invocations (a refused `/next`) belong to none.
    log::set_request_id("");
    result
}

fn invocation<'a>(ctx: &Context<'a>) -> Invocation<'a> {
    Invocation {
        request_id: ctx.request_id.as_bytes(),
        invocation_id: ctx.invocation_id.map(str::as_bytes),
    }
}

/// Prepares for user code serving `inv`: a panic is then caught (unwind) or reported before
/// the process dies (abort) until `panic::disarm`.
fn arm(endpoint: &Endpoint, inv: Invocation<'_>) {
    panic::install();
    panic::arm(endpoint, panic::Phase::Invocation(inv));
}

/// Runs user code for the invocation `ctx` (see [`arm`]).
fn call_user<R>(
    endpoint: &Endpoint,
    ctx: &Context<'_>,
    f: impl FnOnce() -> Result<R>,
) -> Result<R> {
    arm(endpoint, invocation(ctx));
    let outcome = panic::catch(f);
    panic::disarm();
    outcome
}

/// Writes the head and body of the invocation's `/error` for `error`.
fn error_request(
    head: &mut Vec<u8>,
    body: &mut Vec<u8>,
    endpoint: &Endpoint,
    inv: Invocation<'_>,
    error: &Error,
) {
    write_error_json(body, error.error_type(), error.message());
    request::error(head, endpoint, inv, &error.header_type(), body.len());
}

/// Sends an invocation's answer and judges the outcome.
fn post(conn: &mut Connection, what: &str, head: &[u8], body: &[u8]) -> Result<(), Fatal> {
    let answer = conn.exchange(head, body, &[]);
    judge(what, Call::Answer, &answer, conn.inbox())
}

/// Posts `error`'s JSON (written into `body`) after the head `write_head` makes for a body of
/// that length, and judges the answer as a lifecycle call: the one path of the init, restore
/// and extension error reports.
pub(crate) fn post_lifecycle_error(
    conn: &mut Connection,
    head: &mut Vec<u8>,
    body: &mut Vec<u8>,
    what: &str,
    error: &Error,
    write_head: &dyn Fn(&mut Vec<u8>, &Endpoint, usize),
) -> Result<(), Fatal> {
    write_error_json(body, error.error_type(), error.message());
    write_head(head, conn.endpoint(), body.len());
    let answer = conn.exchange(head, body, &[]);
    judge(what, Call::Lifecycle, &answer, conn.inbox())
}

/// Carries out the status policy for the outcome of `what`: `Ok` to go on (after one line on
/// stderr when the policy says so), `Err` when this loop (or the process) must end.
pub(crate) fn judge(
    what: &str,
    call: Call,
    answer: &Result<Response, ExchangeError>,
    inbox: &[u8],
) -> Result<(), Fatal> {
    let outcome = match answer {
        Ok(response) => Outcome::Status(response.status),
        Err(_) => Outcome::Transport,
    };
    let verdict = policy::verdict(call, outcome);
    if verdict == Verdict::Serve {
        return Ok(());
    }
    let mut fatal = match answer {
        Ok(response) => refusal(what, response.status, response.body.map(|b| b.of(inbox))),
        Err(e) => transport_failure(what, e),
    };
    match verdict {
        Verdict::Serve => Ok(()),
        Verdict::Warn => {
            warn(&[fatal.message(), "; serving the next event"]);
            Ok(())
        }
        Verdict::Stop => Err(fatal),
        Verdict::Exit => {
            fatal.container_error = true;
            Err(fatal)
        }
    }
}

#[cold]
fn invalid_event(e: WireError) -> Error {
    Error::new(
        INVALID_EVENT,
        ["the event could not be read: ", e.as_str()].concat(),
    )
}

#[cold]
fn transport_failure(what: &str, e: &ExchangeError) -> Fatal {
    let mut message = String::from(what);
    message.push_str(" failed: ");
    e.describe(&mut message);
    Fatal {
        message,
        container_error: false,
    }
}

#[cold]
fn refusal(what: &str, status: u16, body: Result<&[u8], WireError>) -> Fatal {
    let mut digits = [0u8; 20];
    let code = crate::text::decimal(&mut digits, u64::from(status));
    let body = body.unwrap_or_default();
    let body = &body[..body.len().min(300)];
    let excerpt = match std::str::from_utf8(body) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(&body[..e.valid_up_to()]).unwrap_or_default(),
    };
    Fatal::new(&[
        what,
        " answered ",
        std::str::from_utf8(code).unwrap_or_default(),
        ": ",
        excerpt.trim_ascii(),
    ])
}

/// One runtime diagnostic, `lambda-lite: <parts>`, through the log path (so it follows the
/// function's log format and carries the request id).
#[cold]
pub(crate) fn warn(parts: &[&str]) {
    diagnose(Level::Warn, parts);
}

#[cold]
fn diagnose(level: Level, parts: &[&str]) {
    let mut message = String::from("lambda-lite: ");
    for part in parts {
        message.push_str(part);
    }
    log::log(level, &message);
}

/// The end of every lifecycle failure (init, an after-restore hook, an extension's init or
/// event handler): says on stderr that `what` failed with `error`, has `post` report it to
/// the API (saying so if that fails too), and exits with status 1.
#[cold]
pub(crate) fn fail_and_exit(
    what: &str,
    error: &Error,
    post: &mut dyn FnMut() -> Result<(), Fatal>,
) -> ! {
    warn(&[what, " failed: ", error.error_type(), ": ", error.message()]);
    if let Err(fatal) = post() {
        warn(&[fatal.message()]);
    }
    std::process::exit(1)
}

#[cold]
pub(crate) fn exit_fatal(fatal: &Fatal) -> ! {
    diagnose(Level::Fatal, &[fatal.message()]);
    std::process::exit(1)
}
