//! The entry points: a `bootstrap`'s whole `main` (`run` and its forms), each taking the
//! process's runtime from the environment, running one-time init and the SnapStart hooks,
//! then serving forever, on one loop or on Managed Instances workers.

use crate::context::Context;
use crate::runtime::{Handler, Runtime, StreamHandler, exit_fatal};
use crate::stream::ResponseStream;
use crate::{Result, log, snapstart, worker};

/// The process's runtime (the first worker's, under workers), from the environment, with the
/// log bridges installed; with `sole` (one loop, no workers) it also owns the trace variable.
fn process_runtime(sole: bool) -> Runtime {
    log::install_bridges();
    let mut runtime = Runtime::from_env().unwrap_or_else(|f| exit_fatal(&f));
    if sole {
        runtime.claim_trace_env();
    }
    runtime
}

fn serve(mut runtime: Runtime, handler: &mut Handler<'_>) -> ! {
    snapstart::before_first_next(&mut runtime);
    loop {
        if let Err(fatal) = runtime.step(handler) {
            exit_fatal(&fatal);
        }
    }
}

fn serve_streaming(mut runtime: Runtime, handler: &mut StreamHandler<'_>) -> ! {
    snapstart::before_first_next(&mut runtime);
    loop {
        if let Err(fatal) = runtime.step_streaming(handler) {
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
    serve(process_runtime(true), &mut handler)
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
    let mut runtime = process_runtime(true);
    let mut state = runtime.init_or_exit(init);
    serve(runtime, &mut |event, ctx| handler(&mut state, event, ctx))
}

/// Runs a streaming `handler` for every event, forever (see [`run`] and
/// [`Runtime::step_streaming`]).
///
/// ```no_run
/// use std::io::Write;
///
/// lambda_lite::run_streaming(|_event, _ctx, stream| {
///     for i in 0..3 {
///         writeln!(stream, "line {i}")?; // one HTTP chunk each, sent at once
///     }
///     Ok(())
/// });
/// ```
pub fn run_streaming<F>(mut handler: F) -> !
where
    F: FnMut(&[u8], &Context<'_>, &mut ResponseStream<'_>) -> Result<()>,
{
    serve_streaming(process_runtime(true), &mut handler)
}

/// Runs `init` once, then a streaming `handler` with its state for every event (see
/// [`run_with_init`] and [`run_streaming`]).
pub fn run_streaming_with_init<S, I, F>(init: I, mut handler: F) -> !
where
    I: FnOnce() -> Result<S>,
    F: FnMut(&mut S, &[u8], &Context<'_>, &mut ResponseStream<'_>) -> Result<()>,
{
    let mut runtime = process_runtime(true);
    let mut state = runtime.init_or_exit(init);
    serve_streaming(runtime, &mut |event, ctx, stream| {
        handler(&mut state, event, ctx, stream)
    })
}

/// Runs `handler` for every event, on `AWS_LAMBDA_MAX_CONCURRENCY` workers at once under
/// Lambda Managed Instances (see [`run`] otherwise, which this is when the variable is unset
/// or 1). The handler is shared by every worker, so it is `Fn + Sync`: state it needs goes in
/// an `init` ([`run_concurrent_with_init`]) or behind a lock.
///
/// ```no_run
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// static SERVED: AtomicU64 = AtomicU64::new(0);
///
/// lambda_lite::run_concurrent(|event, ctx| {
///     let n = SERVED.fetch_add(1, Ordering::Relaxed);
///     // ctx.xray_trace_id, never _X_AMZN_TRACE_ID: that one variable cannot belong to N
///     // invocations at once.
///     Ok(format!("{n} {} {} bytes", ctx.request_id, event.len()).into_bytes())
/// });
/// ```
pub fn run_concurrent<F>(handler: F) -> !
where
    F: Fn(&[u8], &Context<'_>) -> Result<Vec<u8>> + Sync,
{
    let workers = worker::max_concurrency();
    let runtime = process_runtime(workers <= 1);
    worker::serve(runtime, workers, worker::Shared::Buffered(&handler))
}

/// Runs `init` once, then `handler` with a shared reference to its state on every worker (see
/// [`run_concurrent`] and [`run_with_init`]). The state is `Sync`: every worker reads it at
/// once.
pub fn run_concurrent_with_init<S, I, F>(init: I, handler: F) -> !
where
    S: Sync,
    I: FnOnce() -> Result<S>,
    F: Fn(&S, &[u8], &Context<'_>) -> Result<Vec<u8>> + Sync,
{
    let workers = worker::max_concurrency();
    let mut runtime = process_runtime(workers <= 1);
    let state = runtime.init_or_exit(init);
    let handler = |event: &[u8], ctx: &Context<'_>| handler(&state, event, ctx);
    worker::serve(runtime, workers, worker::Shared::Buffered(&handler))
}

/// [`run_concurrent`] with a streaming handler (see [`run_streaming`]).
pub fn run_concurrent_streaming<F>(handler: F) -> !
where
    F: Fn(&[u8], &Context<'_>, &mut ResponseStream<'_>) -> Result<()> + Sync,
{
    let workers = worker::max_concurrency();
    let runtime = process_runtime(workers <= 1);
    worker::serve(runtime, workers, worker::Shared::Streaming(&handler))
}

/// [`run_concurrent_with_init`] with a streaming handler.
pub fn run_concurrent_streaming_with_init<S, I, F>(init: I, handler: F) -> !
where
    S: Sync,
    I: FnOnce() -> Result<S>,
    F: Fn(&S, &[u8], &Context<'_>, &mut ResponseStream<'_>) -> Result<()> + Sync,
{
    let workers = worker::max_concurrency();
    let mut runtime = process_runtime(workers <= 1);
    let state = runtime.init_or_exit(init);
    let handler = |event: &[u8], ctx: &Context<'_>, stream: &mut ResponseStream<'_>| {
        handler(&state, event, ctx, stream)
    };
    worker::serve(runtime, workers, worker::Shared::Streaming(&handler))
}
