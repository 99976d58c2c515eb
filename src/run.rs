//! The entry points, a `bootstrap`'s whole `main`: [`run`] (one invocation at a time) and
//! [`run_concurrent`] (several at once under Lambda Managed Instances), with [`init`] for the
//! function's one-time setup. A handler chooses per invocation how it answers (see
//! [`Response`](crate::Response)); typed JSON is an adapter around it (`lambda_lite::json`).

use crate::context::Context;
use crate::error::Result;
use crate::fatal::exit_fatal;
use crate::response::IntoResponse;
use crate::runtime::Runtime;
use crate::worker;

/// Runs `handler` for every event, forever: the whole of a `bootstrap`'s `main`.
///
/// The handler returns its answer: bytes (`Vec<u8>`, `String`), or a
/// [`Response`](crate::Response) that is buffered or streamed as this invocation needs. A
/// handler error or panic is posted to `/error` and the loop goes on. Exits with status 1
/// (after one line on stderr) when `AWS_LAMBDA_RUNTIME_API` is missing or malformed, or when
/// the Runtime API leaves nothing else to do (a 5xx, a refused `/next`, an unreachable API).
///
/// One-time setup goes before it, through [`init`]; the handler captures what it made:
///
/// ```no_run
/// use lambda_lite::{Context, Error};
///
/// struct Greeter { greeting: String }
///
/// fn handle(state: &mut Greeter, event: &[u8], _ctx: &Context) -> Result<Vec<u8>, Error> {
///     Ok([state.greeting.as_bytes(), b" ", event].concat())
/// }
///
/// fn main() {
///     let mut state = lambda_lite::init(|| {
///         Ok(Greeter { greeting: std::env::var("GREETING").unwrap_or_else(|_| "hello".into()) })
///     });
///     lambda_lite::run(move |event, ctx| handle(&mut state, event, ctx))
/// }
/// ```
///
/// `_X_AMZN_TRACE_ID` is set to each invocation's trace header while it runs (see
/// [`Runtime::claim_trace_env`] for the one rule this asks of a handler's own threads).
pub fn run<'s, R: IntoResponse<'s>>(
    mut handler: impl FnMut(&[u8], &Context<'_>) -> Result<R>,
) -> ! {
    let mut runtime = Runtime::from_env().unwrap_or_else(|f| exit_fatal(&f));
    let handler =
        &mut |event: &[u8], ctx: &Context<'_>| handler(event, ctx).map(IntoResponse::into_response);
    loop {
        if let Err(fatal) = runtime.serve_one(handler, None) {
            exit_fatal(&fatal);
        }
    }
}

/// Runs `handler` for every event, on `AWS_LAMBDA_MAX_CONCURRENCY` workers at once under
/// Lambda Managed Instances ([`run`] otherwise, which this is when the variable is unset or
/// 1). The handler is shared by every worker, so it is `Fn + Sync`: state it needs comes from
/// [`init`] by reference, or sits behind a lock. The name is `lambda_runtime`'s.
///
/// ```no_run
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// let served = lambda_lite::init(|| Ok(AtomicU64::new(0)));
/// lambda_lite::run_concurrent(|event, ctx| {
///     let n = served.fetch_add(1, Ordering::Relaxed);
///     // ctx.xray_trace_id, never _X_AMZN_TRACE_ID: that one variable cannot belong to N
///     // invocations at once.
///     Ok(format!("{n} {} {} bytes", ctx.request_id, event.len()))
/// });
/// ```
pub fn run_concurrent<'s, R: IntoResponse<'s>>(
    handler: impl Fn(&[u8], &Context<'_>) -> Result<R> + Sync,
) -> ! {
    let workers = worker::max_concurrency();
    let runtime = if workers <= 1 {
        Runtime::from_env()
    } else {
        Runtime::for_process()
    };
    let runtime = runtime.unwrap_or_else(|f| exit_fatal(&f));
    let handler =
        |event: &[u8], ctx: &Context<'_>| handler(event, ctx).map(IntoResponse::into_response);
    worker::serve(runtime, workers, &handler)
}

/// Runs the function's one-time `setup` before the first event and returns what it made,
/// for the handler to capture. An error or panic is posted to `/init/error` and the process
/// exits with status 1, as the Runtime API asks (Lambda reports the init failure and tries
/// a new environment). Call it before [`run`] / [`run_concurrent`]: Init ends at the first
/// `GET /next`.
///
/// ```no_run
/// let table = lambda_lite::init(|| {
///     std::env::var("TABLE_NAME")
///         .map_err(|_| lambda_lite::Error::new("ConfigInvalid", "TABLE_NAME is not set"))
/// });
/// lambda_lite::run(move |_event, _ctx| Ok(table.clone()));
/// ```
pub fn init<S>(setup: impl FnOnce() -> Result<S>) -> S {
    let mut runtime = Runtime::from_env().unwrap_or_else(|f| exit_fatal(&f));
    runtime.init(setup)
}
