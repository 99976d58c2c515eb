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
/// from the event buffer; `Response: Serialize`); see [`json`](crate::json).
/// `lambda_main!(json stream handler)` and `lambda_main!(json stream init = setup, handler =
/// handle)` take a typed event and stream their output:
/// `fn(Event, &Context, &mut ResponseStream) -> Result<(), Error>`.
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
    (json stream init = $init:expr, handler = $handler:expr $(,)?) => {
        fn main() {
            $crate::run_streaming_with_init(
                $init,
                |state,
                 event: &[u8],
                 ctx: &$crate::Context<'_>,
                 stream: &mut $crate::ResponseStream<'_>| {
                    $crate::json::call_streaming(event, ctx, stream, |e, c, s| {
                        $handler(state, e, c, s)
                    })
                },
            )
        }
    };
    (json stream $handler:expr $(,)?) => {
        fn main() {
            $crate::run_streaming(
                |event: &[u8],
                 ctx: &$crate::Context<'_>,
                 stream: &mut $crate::ResponseStream<'_>| {
                    $crate::json::call_streaming(event, ctx, stream, $handler)
                },
            )
        }
    };
    (json init = $init:expr, handler = $handler:expr $(,)?) => {
        fn main() {
            $crate::run_with_init($init, |state, event: &[u8], ctx: &$crate::Context<'_>| {
                $crate::json::call(event, ctx, |e, c| $handler(state, e, c))
            })
        }
    };
    (json $handler:expr $(,)?) => {
        fn main() {
            $crate::run(|event: &[u8], ctx: &$crate::Context<'_>| {
                $crate::json::call(event, ctx, $handler)
            })
        }
    };
    (stream init = $init:expr, handler = $handler:expr $(,)?) => {
        fn main() {
            $crate::run_streaming_with_init($init, $handler)
        }
    };
    (stream $handler:expr $(,)?) => {
        fn main() {
            $crate::run_streaming($handler)
        }
    };
    (init = $init:expr, handler = $handler:expr $(,)?) => {
        fn main() {
            $crate::run_with_init($init, $handler)
        }
    };
    ($handler:expr $(,)?) => {
        fn main() {
            $crate::run($handler)
        }
    };
}
