//! `lambda_main!`: the one-line `main` of a `bootstrap`.

/// Defines `fn main()` that serves every event with a handler, as a Lambda `bootstrap`.
///
/// Two forms:
/// - `lambda_main!(handler)`: `handler` is a
///   `fn(&[u8], &Context) -> Result<Vec<u8>, Error>` (or a closure); see [`run`](crate::run).
/// - `lambda_main!(init = setup, handler = handle)`: `setup() -> Result<S, Error>` runs once
///   before the first event (a failure is posted to `/init/error`), and
///   `handle(&mut S, &[u8], &Context)` serves every event; see
///   [`run_with_init`](crate::run_with_init).
///
/// Streaming handlers, which write their answer while they run (see
/// [`ResponseStream`](crate::ResponseStream)):
/// - `lambda_main!(stream handler)`: `handler` is a
///   `fn(&[u8], &Context, &mut ResponseStream) -> Result<(), Error>`; see
///   [`run_streaming`](crate::run_streaming).
/// - `lambda_main!(stream init = setup, handler = handle)`, with
///   `handle(&mut S, &[u8], &Context, &mut ResponseStream)`.
///
/// With the `json` feature, `lambda_main!(json handler)` and
/// `lambda_main!(json init = setup, handler = handle)` take typed handlers,
/// `fn(Event, &Context) -> Result<Response, Error>` (`Event: Deserialize`, which may borrow
/// from the event buffer; `Response: Serialize`); see the `lambda_lite::json` module.
/// `lambda_main!(json stream handler)` and `lambda_main!(json stream init = setup, handler =
/// handle)` take a typed event and stream their output:
/// `fn(Event, &Context, &mut ResponseStream) -> Result<(), Error>`.
///
/// Under Lambda Managed Instances (`AWS_LAMBDA_MAX_CONCURRENCY` > 1), put `concurrent`
/// first: `lambda_main!(concurrent handler)`, `lambda_main!(concurrent init = setup, handler
/// = handle)`, `lambda_main!(concurrent json stream handler)`, … serve with that many workers
/// at once (one loop otherwise; see [`run_concurrent`](crate::run_concurrent)). The handler is
/// then `Fn + Sync` and, with init, takes `&S` (`S: Sync`) instead of `&mut S`.
///
/// The modifiers come in this order: `concurrent`, `json`, `stream`.
///
/// The expansion is safe code only, so it compiles under `#![forbid(unsafe_code)]`.
///
/// ```no_run
/// use lambda_lite::{lambda_main, Context, Error};
///
/// fn handler(event: &[u8], _ctx: &Context) -> Result<Vec<u8>, Error> {
///     Ok(event.to_vec())
/// }
///
/// lambda_main!(handler);
/// ```
///
/// A handler with the wrong signature is a compile error, not a runtime surprise:
///
/// ```compile_fail
/// use lambda_lite::lambda_main;
///
/// fn handler(event: String) -> String {
///     event
/// }
///
/// lambda_main!(handler);
/// ```
#[macro_export]
macro_rules! lambda_main {
    (concurrent json stream $($rest:tt)+) => { $crate::lambda_main!(@main [concurrent json stream] $($rest)+); };
    (concurrent json $($rest:tt)+) => { $crate::lambda_main!(@main [concurrent json] $($rest)+); };
    (concurrent stream $($rest:tt)+) => { $crate::lambda_main!(@main [concurrent stream] $($rest)+); };
    (concurrent $($rest:tt)+) => { $crate::lambda_main!(@main [concurrent] $($rest)+); };
    (json stream $($rest:tt)+) => { $crate::lambda_main!(@main [json stream] $($rest)+); };
    (json $($rest:tt)+) => { $crate::lambda_main!(@main [json] $($rest)+); };
    (stream $($rest:tt)+) => { $crate::lambda_main!(@main [stream] $($rest)+); };
    (@main [$($mode:ident)*] init = $init:expr, handler = $handler:expr $(,)?) => {
        fn main() {
            $crate::lambda_main!(@run [$($mode)*] init $init, $handler)
        }
    };
    (@main [$($mode:ident)*] $handler:expr $(,)?) => {
        fn main() {
            $crate::lambda_main!(@run [$($mode)*] $handler)
        }
    };
    (@run [] init $init:expr, $h:expr) => { $crate::run_with_init($init, $h) };
    (@run [] $h:expr) => { $crate::run($h) };
    (@run [json] init $init:expr, $h:expr) => {
        $crate::run_with_init($init, |state, event: &[u8], ctx: &$crate::Context<'_>| {
            $crate::json::call(event, ctx, |e, c| $h(state, e, c))
        })
    };
    (@run [json] $h:expr) => {
        $crate::run(|event: &[u8], ctx: &$crate::Context<'_>| $crate::json::call(event, ctx, $h))
    };
    (@run [stream] init $init:expr, $h:expr) => { $crate::run_streaming_with_init($init, $h) };
    (@run [stream] $h:expr) => { $crate::run_streaming($h) };
    (@run [json stream] init $init:expr, $h:expr) => {
        $crate::run_streaming_with_init(
            $init,
            |state, event: &[u8], ctx: &$crate::Context<'_>, out: &mut $crate::ResponseStream<'_>| {
                $crate::json::call_streaming(event, ctx, out, |e, c, o| $h(state, e, c, o))
            },
        )
    };
    (@run [json stream] $h:expr) => {
        $crate::run_streaming(
            |event: &[u8], ctx: &$crate::Context<'_>, out: &mut $crate::ResponseStream<'_>| {
                $crate::json::call_streaming(event, ctx, out, $h)
            },
        )
    };
    (@run [concurrent] init $init:expr, $h:expr) => { $crate::run_concurrent_with_init($init, $h) };
    (@run [concurrent] $h:expr) => { $crate::run_concurrent($h) };
    (@run [concurrent json] init $init:expr, $h:expr) => {
        $crate::run_concurrent_with_init($init, |state, event: &[u8], ctx: &$crate::Context<'_>| {
            $crate::json::call(event, ctx, |e, c| $h(state, e, c))
        })
    };
    (@run [concurrent json] $h:expr) => {
        $crate::run_concurrent(|event: &[u8], ctx: &$crate::Context<'_>| {
            $crate::json::call(event, ctx, $h)
        })
    };
    (@run [concurrent stream] init $init:expr, $h:expr) => {
        $crate::run_concurrent_streaming_with_init($init, $h)
    };
    (@run [concurrent stream] $h:expr) => { $crate::run_concurrent_streaming($h) };
    (@run [concurrent json stream] init $init:expr, $h:expr) => {
        $crate::run_concurrent_streaming_with_init(
            $init,
            |state, event: &[u8], ctx: &$crate::Context<'_>, out: &mut $crate::ResponseStream<'_>| {
                $crate::json::call_streaming(event, ctx, out, |e, c, o| $h(state, e, c, o))
            },
        )
    };
    (@run [concurrent json stream] $h:expr) => {
        $crate::run_concurrent_streaming(
            |event: &[u8], ctx: &$crate::Context<'_>, out: &mut $crate::ResponseStream<'_>| {
                $crate::json::call_streaming(event, ctx, out, $h)
            },
        )
    };
    ($($rest:tt)+) => { $crate::lambda_main!(@main [] $($rest)+); };
}

/// Defines `fn main()` that runs a Lambda extension registered for `INVOKE` and `SHUTDOWN`
/// (feature `extension`; see [`extension::run`](crate::extension::run)).
///
/// - `extension_main!(handler)`: `handler` is a `fn(Event) -> Result<(), Error>`.
/// - `extension_main!(init = setup, handler = handle)`: `setup(&mut Extension) -> Result<S,
///   Error>` runs once after registration (subscribe to telemetry there), then
///   `handle(&mut S, Event)` gets every event.
///
/// The process exits with status 0 after the `SHUTDOWN` event has been handled.
#[cfg(feature = "extension")]
#[macro_export]
macro_rules! extension_main {
    (init = $init:expr, handler = $handler:expr $(,)?) => {
        fn main() {
            $crate::extension::run_with_init(
                &[
                    $crate::extension::EventType::Invoke,
                    $crate::extension::EventType::Shutdown,
                ],
                $init,
                $handler,
            )
        }
    };
    ($handler:expr $(,)?) => {
        fn main() {
            $crate::extension::run(
                &[
                    $crate::extension::EventType::Invoke,
                    $crate::extension::EventType::Shutdown,
                ],
                $handler,
            )
        }
    };
}
