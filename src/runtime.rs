//! The invocation loop: `GET /next` → handler → `POST /response` (buffered or streamed) or
//! `/error`, the init-error and restore paths. The entry points built on it are in `run.rs`.
//! What each status means is `proto::policy`'s to say; this module only carries it out.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::conn::Link;
use crate::conn::{self, Connection};
use crate::context::{Config, Context, NEXT_HEADERS};
use crate::endpoint::Endpoint;
use crate::error::ReportTo;
use crate::error::{Error, Result};
use crate::fatal::{Fatal, fail_and_exit, judge, parse_endpoint, post_report, runtime_api, warn};
use crate::log;
use crate::proto::WireError;
use crate::proto::policy::Call;
use crate::proto::request::{self, Invocation};
use crate::response::{IntoResponse, Response, Stream};
use crate::stream::{self, Finished, Posting};
use crate::{panic, sys};

/// `errorType` of an event the runtime could not read whole (over the cap, cut short).
const INVALID_EVENT: &str = "Runtime.InvalidEvent";

/// A handler as the loop sees it: one non-generic type, so the loop exists once in a binary.
/// [`Runtime::step`] and the entry points turn any handler returning an
/// [`IntoResponse`] into one.
pub type Handler<'h, 's> = dyn FnMut(&[u8], &Context<'_>) -> Result<Response<'s>> + 'h;

/// What the process runs before its first `GET /next`, once (the SnapStart sequence, set by
/// `snapstart` when a hook is registered; a second runtime or a worker never runs it again).
static BEFORE_FIRST_NEXT: std::sync::OnceLock<fn(&mut Runtime)> = std::sync::OnceLock::new();

/// Makes `sequence` what the process runs before its first `GET /next` (the first call wins).
pub(crate) fn before_first_next(sequence: fn(&mut Runtime)) {
    let _ = BEFORE_FIRST_NEXT.set(sequence);
}

/// A client of the Runtime API that serves one invocation per [`Runtime::step`]: the loop
/// [`run`](crate::run) drives, for those who drive it themselves (tests, a custom `main`).
///
/// A runtime made by [`Runtime::from_env`] goes through the whole lifecycle the entry points
/// do: log bridges installed, the trace variable owned ([`Runtime::claim_trace_env`]),
/// one-time [`Runtime::init`] with its `/init/error`, and the SnapStart hooks before its first
/// `GET /next`. A `Runtime` owns its connection, so a program can make one per thread.
///
/// ```no_run
/// let mut runtime = lambda_lite::Runtime::from_env()?;
/// let greeting = runtime.init(|| Ok(String::from("hello ")));
/// loop {
///     runtime.step(|event, _ctx| Ok([greeting.as_bytes(), event].concat()))?;
/// }
/// # Ok::<(), lambda_lite::Fatal>(())
/// ```
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
    /// The process's runtime, for `$AWS_LAMBDA_RUNTIME_API`: installs the log bridges and
    /// claims the trace variable ([`Runtime::claim_trace_env`]) when it is the only runtime.
    /// Nothing is connected or read yet, so the first `GET /next` is the first thing that
    /// happens on the wire; the [`Config`] is read from the environment after the first event
    /// arrived.
    pub fn from_env() -> Result<Runtime, Fatal> {
        let mut runtime = Runtime::for_process()?;
        runtime.claim_trace_env();
        Ok(runtime)
    }

    /// [`Runtime::from_env`] without the trace variable (the first of several workers).
    pub(crate) fn for_process() -> Result<Runtime, Fatal> {
        log::install_bridges();
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
    /// created. [`Runtime::from_env`] (and so [`run`](crate::run)) calls it; concurrent workers
    /// never do (their trace ids are in [`Context::xray_trace_id`]). Returns whether the claim
    /// succeeded.
    ///
    /// The variable is written between invocations, on this runtime's thread. Rust code reads
    /// the environment under the lock `std::env::set_var` takes, so `std::env::var` is always
    /// safe; C code (`getenv`) is not: a handler must not leave a thread of its own running C
    /// code that reads the environment after it returned (join such threads, or read the trace
    /// id from [`Context::xray_trace_id`]).
    pub fn claim_trace_env(&mut self) -> bool {
        if self.env.is_none() {
            self.env = sys::TraceEnv::claim();
        }
        self.env.is_some()
    }

    /// Serves one invocation: waits in `GET /next` (without a timeout: the environment may be
    /// frozen for hours), calls `handler`, and posts its answer to `/response` (at once, or
    /// while a [`Response::stream`] writes it) or its error (or panic) to `/error`. `Err`
    /// means this loop should end (see [`Fatal`]).
    ///
    /// Before its first `GET /next` a runtime runs the SnapStart sequence, if hooks were
    /// registered ([`snapstart`](crate::snapstart)), as the entry points do.
    pub fn step<'s, R: IntoResponse<'s>>(
        &mut self,
        mut handler: impl FnMut(&[u8], &Context<'_>) -> Result<R>,
    ) -> Result<(), Fatal> {
        self.serve_one(
            &mut |event, ctx| handler(event, ctx).map(IntoResponse::into_response),
            None,
        )
    }

    /// [`Runtime::step`] for the loop's one handler type, calling `waiting` once the `GET
    /// /next` request is written (before its answer arrives): concurrent workers start the
    /// others there, so the first `/next` never waits for them.
    pub(crate) fn serve_one(
        &mut self,
        handler: &mut Handler<'_, '_>,
        waiting: Option<&mut dyn FnMut()>,
    ) -> Result<(), Fatal> {
        if let Some(sequence) = BEFORE_FIRST_NEXT.get() {
            static RAN: AtomicBool = AtomicBool::new(false);
            if !RAN.load(Ordering::Relaxed) && !RAN.swap(true, Ordering::SeqCst) {
                sequence(self);
            }
        }
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
        let inv = ctx.invocation();
        panic::install();
        panic::arm(link.endpoint(), panic::Phase::Invocation(inv));
        let (event, outcome) = match next.body {
            Ok(body) => {
                let event = body.of(inbox);
                (event, panic::catch(|| handler(event, &ctx)))
            }
            Err(e) => (&[][..], Err(invalid_event(e))),
        };
        // What goes on the wire: a body for `/response`, an error for `/error`, or a stream
        // already written (its answer still to read).
        let posted = match outcome {
            Ok(Response::Buffered(bytes)) => {
                request::response(head, link.endpoint(), inv, bytes.len());
                Posted::Response(bytes)
            }
            Ok(Response::Streamed(Stream { body, ops })) => {
                let posting = Posting {
                    event,
                    ctx: &ctx,
                    link: &mut *link,
                    head: &mut *head,
                    scratch: &mut *scratch,
                };
                match (ops.post)(posting, body) {
                    Finished::Sent => Posted::Stream(ops, false),
                    Finished::Broken => Posted::Stream(ops, true),
                    Finished::NotStarted(error) => Posted::error(head, scratch, link, inv, &error),
                }
            }
            Err(error) => Posted::error(head, scratch, link, inv, &error),
        };
        panic::disarm();
        let result = match posted {
            Posted::Response(bytes) => post(conn, "POST /response", head, &bytes),
            Posted::Error => post(conn, "POST /error", head, scratch),
            Posted::Stream(ops, broken) => (ops.answer)(conn, broken),
        };
        end_invocation(result)
    }

    /// `GET /next`, judged by the policy. `None`: nothing to serve this time (no request id).
    fn next_invocation(
        &mut self,
        waiting: Option<&mut dyn FnMut()>,
    ) -> Result<Option<conn::Reply>, Fatal> {
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
        self.report("POST /init/error", ReportTo::Init, error)
    }

    /// Posts `error`'s report to `to` on this runtime's connection, with its buffers.
    fn report(&mut self, what: &str, to: ReportTo<'_>, error: &Error) -> Result<(), Fatal> {
        let Runtime {
            conn,
            head,
            scratch,
            ..
        } = self;
        post_report(conn, head, scratch, what, to, error)
    }

    /// Runs the function's one-time `setup` before the first event, errors and panics caught;
    /// on failure posts it to `/init/error` (Lambda then reports the init failure and starts a
    /// new environment) and exits with status 1, as the Runtime API asks.
    pub fn init<S>(&mut self, setup: impl FnOnce() -> Result<S>) -> S {
        match self.run_user(panic::Phase::Init, setup) {
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
        self.report("POST /restore/error", ReportTo::Restore, error)
    }
}

/// The invocation's `Context` (or `None` without a usable request id, reported), with the
/// per-invocation state set: the log lines' request id and, if owned, the trace variable.
fn begin_invocation<'a>(
    inbox: &'a [u8],
    next: &conn::Reply,
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
    log::set_invocation(ctx.request_id, ctx.tenant_id);
    Some(ctx)
}

fn end_invocation(result: Result<(), Fatal>) -> Result<(), Fatal> {
    // Lines logged between invocations (a refused `/next`) belong to none.
    log::set_invocation("", None);
    result
}

/// What an invocation's answer leaves to do on the connection once user code returned.
enum Posted {
    /// `POST /response` with this body (its head is written).
    Response(Vec<u8>),
    /// `POST /error` with the error JSON in the scratch buffer (its head is written).
    Error,
    /// A streamed answer was written (or broke off, `true`): read what the server answered.
    Stream(&'static stream::Ops, bool),
}

impl Posted {
    /// Writes the invocation's `/error` head and body for `error`.
    fn error(
        head: &mut Vec<u8>,
        body: &mut Vec<u8>,
        link: &Link,
        inv: Invocation<'_>,
        error: &Error,
    ) -> Posted {
        error.write_report(ReportTo::Invocation(inv), link.endpoint(), head, body);
        Posted::Error
    }
}

/// Sends an invocation's answer and judges the outcome.
fn post(conn: &mut Connection, what: &str, head: &[u8], body: &[u8]) -> Result<(), Fatal> {
    let answer = conn.exchange(head, body, &[]);
    judge(what, Call::Answer, &answer, conn.inbox())
}

#[cold]
fn invalid_event(e: WireError) -> Error {
    Error::new(
        INVALID_EVENT,
        ["the event could not be read: ", e.as_str()].concat(),
    )
}
