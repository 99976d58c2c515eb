//! The invocation loop: `GET /next` → handler → `POST /response` or `/error`, the status
//! policy, the init-error path, and the entry points [`run`] and [`run_with_init`].
//!
//! Status policy (see `shared/runtime-api.md` §2.4, §3.2, §5):
//! - any 2xx is success (the service answers 202, some emulators 200);
//! - 5xx from any endpoint: the container is broken, exit non-zero at once;
//! - any other non-2xx on `/next` (403 after an init error, 404 for a wrong base path):
//!   there is no event to serve, exit non-zero;
//! - other non-2xx on `/response` or `/error` (400, 403, 410 stale invocation, 413 too
//!   large): one line on stderr, then the next event;
//! - a transport failure after the one reconnect (`conn.rs`): on `/next` exit non-zero; on a
//!   post, one line on stderr and back to `/next`, which decides.

use crate::conn::{Connection, Endpoint, ExchangeError};
use crate::context::{Config, Context, NEXT_HEADERS};
use crate::error::write_error_json;
use crate::log::{self, Level};
use crate::wire::{self, header};
use crate::{Error, Result, panic, sys};

const API_PATH: &str = "/2018-06-01/runtime/";
/// `errorType` of an event the runtime could not read whole (over the cap, cut short).
const INVALID_EVENT: &str = "Runtime.InvalidEvent";

/// A handler as the loop sees it: one non-generic type, so the loop exists once in a binary.
pub type Handler<'h> = dyn FnMut(&[u8], &Context<'_>) -> Result<Vec<u8>> + 'h;

/// Why the runtime must stop: the protocol leaves nothing else to do (a 5xx, a refused
/// `/next`, a Runtime API that cannot be reached). [`run`] prints it and exits with status 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fatal {
    message: String,
}

impl Fatal {
    #[cold]
    fn new(parts: &[&str]) -> Fatal {
        Fatal {
            message: parts.concat(),
        }
    }

    /// What went wrong, in one line.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A client of the Runtime API that serves one invocation per [`Runtime::step`].
///
/// [`run`] is `Runtime::from_env` plus `step` in a loop; use `Runtime` directly to drive the
/// loop yourself (tests, a custom `main`). A `Runtime` owns its connection, so a program
/// can make one per worker thread.
pub struct Runtime {
    conn: Connection,
    /// `None` until the first event: then read from the environment.
    config: Option<Config>,
    /// The request head being sent; reused.
    head: Vec<u8>,
    /// The error JSON being sent; reused.
    error_body: Vec<u8>,
}

impl Runtime {
    /// A runtime for `$AWS_LAMBDA_RUNTIME_API`. Nothing is connected or read yet, so the
    /// first `GET /next` is the first thing that happens; the [`Config`] is read from the
    /// environment after the first event arrived.
    pub fn from_env() -> Result<Runtime, Fatal> {
        let api = std::env::var_os("AWS_LAMBDA_RUNTIME_API");
        let api = api.as_ref().and_then(|a| a.to_str()).ok_or_else(|| {
            Fatal::new(&["AWS_LAMBDA_RUNTIME_API is not set (or not UTF-8): run this binary as a Lambda bootstrap"])
        })?;
        Runtime::with_config(api, None)
    }

    /// A runtime for the Runtime API at `runtime_api` (`host:port` or `http://host:port/base`),
    /// with an explicit configuration.
    pub fn new(runtime_api: &str, config: Config) -> Result<Runtime, Fatal> {
        Runtime::with_config(runtime_api, Some(config))
    }

    fn with_config(api: &str, config: Option<Config>) -> Result<Runtime, Fatal> {
        let endpoint = Endpoint::parse(api)
            .map_err(|why| Fatal::new(&["AWS_LAMBDA_RUNTIME_API=", api, " is malformed: ", why]))?;
        Ok(Runtime {
            conn: Connection::new(endpoint),
            config,
            // One allocation for every request head to come (they are ~250 B), instead of
            // regrowing it three times before the first `GET /next`.
            head: Vec::with_capacity(512),
            error_body: Vec::new(),
        })
    }

    /// Serves one invocation: waits in `GET /next` (without a timeout: the environment may be
    /// frozen for hours), calls `handler`, and posts its result to `/response` or its error
    /// (or panic) to `/error`. `Err` means the process should exit (see the module's policy).
    pub fn step(&mut self, handler: &mut Handler<'_>) -> Result<(), Fatal> {
        self.head.clear();
        wire::begin_request_head(&mut self.head, "GET", &self.conn.endpoint().base_path);
        self.head
            .extend_from_slice(b"/2018-06-01/runtime/invocation/next");
        wire::end_request_head(&mut self.head, &self.conn.endpoint().host, &[], None);
        let next = match self.conn.exchange(&self.head, &[], &NEXT_HEADERS) {
            Ok(next) => next,
            Err(e) => return Err(transport_failure("GET /next", &e)),
        };
        let inbox = self.conn.inbox();
        if !(200..300).contains(&next.status) {
            return Err(refusal(
                "GET /next",
                next.status,
                next.body.map(|b| b.of(inbox)),
            ));
        }
        let config = self.config.get_or_insert_with(Config::from_env);
        let Some(ctx) = Context::from_next(inbox, &next.found, config) else {
            warn(&[
                "GET /next answered without a Lambda-Runtime-Aws-Request-Id header; the event cannot be answered",
            ]);
            return Ok(());
        };
        sys::set_trace_id(ctx.xray_trace_id);
        log::set_request_id(ctx.request_id);
        let endpoint = self.conn.endpoint();
        let invocation_id = ctx.invocation_id.map(str::as_bytes);
        let outcome = match next.body {
            Ok(body) => {
                panic::install();
                panic::arm(endpoint, Some(ctx.request_id.as_bytes()), invocation_id);
                let outcome = panic::catch(|| handler(body.of(inbox), &ctx));
                panic::disarm();
                outcome
            }
            Err(e) => Err(invalid_event(e)),
        };
        let body: &[u8] = match &outcome {
            Ok(response) => {
                write_post_head(
                    &mut self.head,
                    endpoint,
                    Some(ctx.request_id.as_bytes()),
                    invocation_id,
                    None,
                    response.len(),
                );
                response
            }
            Err(error) => {
                write_error_json(&mut self.error_body, error.error_type(), error.message());
                let ty = error.header_type();
                write_post_head(
                    &mut self.head,
                    endpoint,
                    Some(ctx.request_id.as_bytes()),
                    invocation_id,
                    Some(&ty),
                    self.error_body.len(),
                );
                &self.error_body
            }
        };
        let what = if outcome.is_ok() {
            "POST /response"
        } else {
            "POST /error"
        };
        let result = match self.conn.exchange(&self.head, body, &[]) {
            Ok(answer) if (200..300).contains(&answer.status) => Ok(()),
            Ok(answer) => {
                let refused = refusal(
                    what,
                    answer.status,
                    answer.body.map(|b| b.of(self.conn.inbox())),
                );
                if answer.status >= 500 {
                    Err(refused)
                } else {
                    warn(&[refused.message(), "; serving the next event"]);
                    Ok(())
                }
            }
            Err(e) => {
                warn(&[
                    transport_failure(what, &e).message(),
                    "; serving the next event",
                ]);
                Ok(())
            }
        };
        // Lines logged between invocations (a refused `/next`) belong to none.
        log::set_request_id("");
        result
    }

    /// Posts `error` to `/init/error`. The caller should then exit: the service answers every
    /// later `/next` with 403.
    pub fn send_init_error(&mut self, error: &Error) -> Result<(), Fatal> {
        write_error_json(&mut self.error_body, error.error_type(), error.message());
        write_post_head(
            &mut self.head,
            self.conn.endpoint(),
            None,
            None,
            Some(&error.header_type()),
            self.error_body.len(),
        );
        match self.conn.exchange(&self.head, &self.error_body, &[]) {
            Ok(answer) if (200..300).contains(&answer.status) => Ok(()),
            Ok(answer) => Err(refusal(
                "POST /init/error",
                answer.status,
                answer.body.map(|b| b.of(self.conn.inbox())),
            )),
            Err(e) => Err(transport_failure("POST /init/error", &e)),
        }
    }

    /// Runs `init` (errors and panics caught); on failure posts `/init/error` and exits with 1.
    fn init_or_exit(&mut self, init: &mut dyn FnMut() -> Result<()>) {
        panic::install();
        panic::arm(self.conn.endpoint(), None, None);
        let outcome = panic::catch(init);
        panic::disarm();
        if let Err(error) = outcome {
            warn(&["init failed: ", error.error_type(), ": ", error.message()]);
            if let Err(fatal) = self.send_init_error(&error) {
                warn(&[fatal.message()]);
            }
            std::process::exit(1);
        }
    }
}

/// Writes the head of a POST to `/invocation/{id}/response` (no `error_type`),
/// `/invocation/{id}/error` (with one), or `/init/error` (no `request_id`) into `out`.
pub(crate) fn write_post_head(
    out: &mut Vec<u8>,
    endpoint: &Endpoint,
    request_id: Option<&[u8]>,
    invocation_id: Option<&[u8]>,
    error_type: Option<&str>,
    content_length: usize,
) {
    out.clear();
    wire::begin_request_head(out, "POST", &endpoint.base_path);
    out.extend_from_slice(API_PATH.as_bytes());
    match request_id {
        Some(id) => {
            out.extend_from_slice(b"invocation/");
            wire::push_path_segment(out, id);
            out.extend_from_slice(if error_type.is_some() {
                b"/error"
            } else {
                b"/response"
            });
        }
        None => out.extend_from_slice(b"init/error"),
    }
    let mut extra: [(&str, &[u8]); 3] = [("", b""); 3];
    let mut n = 0;
    if let Some(ty) = error_type {
        extra[0] = (header::ERROR_TYPE, ty.as_bytes());
        extra[1] = ("content-type", b"application/json");
        n = 2;
    }
    if let Some(id) = invocation_id {
        extra[n] = (header::INVOCATION_ID, id);
        n += 1;
    }
    wire::end_request_head(out, &endpoint.host, &extra[..n], Some(content_length));
}

#[cold]
fn invalid_event(e: wire::WireError) -> Error {
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
    Fatal { message }
}

#[cold]
fn refusal(what: &str, status: u16, body: Result<&[u8], wire::WireError>) -> Fatal {
    // httparse only accepts three-digit status codes.
    let code = [
        b'0' + (status / 100 % 10) as u8,
        b'0' + (status / 10 % 10) as u8,
        b'0' + (status % 10) as u8,
    ];
    let body = body.unwrap_or_default();
    let body = &body[..body.len().min(300)];
    let excerpt = match std::str::from_utf8(body) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(&body[..e.valid_up_to()]).unwrap_or_default(),
    };
    Fatal::new(&[
        what,
        " answered ",
        std::str::from_utf8(&code).unwrap_or_default(),
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

#[cold]
fn exit_fatal(fatal: &Fatal) -> ! {
    diagnose(Level::Fatal, &[fatal.message()]);
    std::process::exit(1)
}

fn serve(mut runtime: Runtime, handler: &mut Handler<'_>) -> ! {
    loop {
        if let Err(fatal) = runtime.step(handler) {
            exit_fatal(&fatal);
        }
    }
}

/// Runs `handler` for every event, forever: the whole of a `bootstrap`'s `main`.
///
/// Exits with status 1 (after one line on stderr) when `AWS_LAMBDA_RUNTIME_API` is missing or
/// malformed, or when the Runtime API leaves nothing else to do (a 5xx, a refused `/next`, an
/// unreachable API). A handler error or panic is posted to `/error` and the loop goes on.
///
/// ```no_run
/// lambda_lite::run(|event, _ctx| Ok(event.to_ascii_uppercase()));
/// ```
pub fn run<F>(mut handler: F) -> !
where
    F: FnMut(&[u8], &Context<'_>) -> Result<Vec<u8>>,
{
    let runtime = Runtime::from_env().unwrap_or_else(|f| exit_fatal(&f));
    serve(runtime, &mut handler)
}

/// Runs `init` once, before the first `GET /next`, then `handler` with its state for every event.
///
/// If `init` returns an error or panics, the error is posted to `/init/error` and the
/// process exits with status 1, as the Runtime API asks.
///
/// ```no_run
/// use lambda_lite::{Context, Error};
///
/// struct Greeter { greeting: String }
///
/// fn setup() -> Result<Greeter, Error> {
///     Ok(Greeter { greeting: std::env::var("GREETING").unwrap_or_else(|_| "hello".into()) })
/// }
///
/// fn handle(state: &mut Greeter, event: &[u8], _ctx: &Context) -> Result<Vec<u8>, Error> {
///     Ok([state.greeting.as_bytes(), b" ", event].concat())
/// }
///
/// lambda_lite::run_with_init(setup, handle);
/// ```
pub fn run_with_init<S, I, F>(init: I, mut handler: F) -> !
where
    I: FnOnce() -> Result<S>,
    F: FnMut(&mut S, &[u8], &Context<'_>) -> Result<Vec<u8>>,
{
    let mut runtime = Runtime::from_env().unwrap_or_else(|f| exit_fatal(&f));
    let mut init = Some(init);
    let mut state = None;
    runtime.init_or_exit(&mut || {
        if let Some(init) = init.take() {
            state = Some(init()?);
        }
        Ok(())
    });
    let Some(mut state) = state else {
        exit_fatal(&Fatal::new(&["init produced no state"]))
    };
    serve(runtime, &mut |event, ctx| handler(&mut state, event, ctx))
}
