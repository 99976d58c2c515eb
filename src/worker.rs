//! Lambda Managed Instances: several invocations at once in one environment.
//!
//! With `AWS_LAMBDA_MAX_CONCURRENCY` = N > 1 the runtime runs N workers, each a thread with its
//! own `Runtime` (its own keep-alive connection) and its own `GET /next` → handler → post
//! loop, as AWS documents for custom runtimes. The first worker is the main thread: it writes
//! its first `GET /next` before it starts the others, so Init (which ends at the first
//! `/next`) never waits for them. Per-invocation state stays per thread (the `Context`, the
//! log lines' request id, the abort-mode panic report), and no worker touches the process
//! environment: the trace id is in [`Context::xray_trace_id`](crate::Context::xray_trace_id).
//!
//! A worker whose handler fails or panics reports it and serves on; a worker whose
//! connection fails for good ends; the process exits with status 1 when no worker is left,
//! and at once on a 5xx. Unset, not a number, 0 or 1: the one loop on the main thread, no
//! thread created, exactly like [`run`](crate::run).

use crate::context::Context;
use crate::error::Result;
use crate::fatal;
use crate::response::Response;
use crate::runtime::Runtime;

/// The handler every worker calls at once.
pub(crate) type SharedHandler<'h, 's> =
    dyn Fn(&[u8], &Context<'_>) -> Result<Response<'s>> + Sync + 'h;

/// Stack of each worker thread: the main thread's usual 8 MiB, so a handler that runs on the
/// main thread runs on a worker too (address space only; pages are touched as used).
const WORKER_STACK: usize = 8 << 20;

/// `AWS_LAMBDA_MAX_CONCURRENCY`: how many workers Lambda expects (1 when unset or invalid).
pub(crate) fn max_concurrency() -> usize {
    std::env::var("AWS_LAMBDA_MAX_CONCURRENCY")
        .ok()
        .and_then(|v| crate::text::parse_decimal(v.trim_ascii().as_bytes()))
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n > 1)
        .unwrap_or(1)
}

/// Serves `handler` with `workers` workers (see the module documentation), `first` being the
/// main thread's runtime. Never returns.
pub(crate) fn serve(mut first: Runtime, workers: usize, handler: &SharedHandler<'_, '_>) -> ! {
    if workers <= 1 {
        loop {
            if let Err(fatal) = step(&mut first, handler, None) {
                fatal::exit_fatal(&fatal);
            }
        }
    }
    let endpoint = first.endpoint().clone();
    std::thread::scope(|scope| {
        let mut start_others = Some(|| {
            for n in 1..workers {
                let endpoint = endpoint.clone();
                let mut name = b"lambda-worker-".to_vec();
                crate::text::push_decimal(&mut name, n as u64);
                let spawned = std::thread::Builder::new()
                    .name(String::from_utf8(name).unwrap_or_default())
                    .stack_size(WORKER_STACK)
                    .spawn_scoped(scope, move || match Runtime::for_endpoint(endpoint) {
                        Ok(runtime) => work(runtime, handler, None),
                        Err(fatal) => fatal::warn(&["a worker could not start: ", fatal.message()]),
                    });
                if spawned.is_err() {
                    fatal::warn(&["could not start a worker thread; serving with fewer"]);
                }
            }
        });
        let mut waiting = || {
            if let Some(start) = start_others.take() {
                start();
            }
        };
        work(first, handler, Some(&mut waiting));
    });
    fatal::exit_fatal(&fatal::Fatal::new(&["no worker is left"]))
}

/// One worker's loop, until its connection fails for good (a 5xx ends the process).
fn work(
    mut runtime: Runtime,
    handler: &SharedHandler<'_, '_>,
    mut waiting: Option<&mut dyn FnMut()>,
) {
    loop {
        match step(&mut runtime, handler, waiting.take()) {
            Ok(()) => {}
            Err(fatal) if fatal.is_container_error() => fatal::exit_fatal(&fatal),
            Err(fatal) => {
                fatal::warn(&["a worker stops: ", fatal.message()]);
                return;
            }
        }
    }
}

fn step(
    runtime: &mut Runtime,
    handler: &SharedHandler<'_, '_>,
    waiting: Option<&mut dyn FnMut()>,
) -> Result<(), fatal::Fatal> {
    runtime.serve_one(&mut |event, ctx| handler(event, ctx), waiting)
}
