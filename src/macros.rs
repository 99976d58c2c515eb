//! `lambda_main!`: the one-line `main` of a `bootstrap`.

/// Defines `fn main()` that serves every event with a handler, as a Lambda `bootstrap`: thin
/// sugar over [`run`](crate::run), [`init`](crate::init) and
/// [`run_concurrent`](crate::run_concurrent).
///
/// - `lambda_main!(handler)`: `handler` is a `fn(&[u8], &Context) -> Result<R, Error>` (or
///   a closure), `R` being bytes (`Vec<u8>`, `String`) or a [`Response`](crate::Response),
///   buffered or streamed per invocation.
/// - `lambda_main!(init = setup, handler = handle)`: `setup() -> Result<S, Error>` runs once
///   before the first event (a failure is posted to `/init/error`), and
///   `handle(&mut S, &[u8], &Context)` serves every event.
///
/// Two modifiers, each optional, in this order:
/// - `concurrent`: serve `AWS_LAMBDA_MAX_CONCURRENCY` invocations at once under Lambda
///   Managed Instances ([`run_concurrent`](crate::run_concurrent)); the handler is then
///   `Fn + Sync` and, with init, takes `&S` (`S: Sync`) instead of `&mut S`.
/// - `json` (feature `json`): a typed handler, `fn(Event, &Context) -> Result<R, Error>`
///   (`Event: Deserialize`, which may borrow from the event buffer; `R: Serialize`, or a
///   `Response` to stream); see the `lambda_lite::json` module.
/// - or `http` (feature `http`): an HTTP handler, `fn(http::Request, &Context) ->
///   Result<http::Response, Error>`, for Function URLs, API Gateway and ALBs; see the
///   `lambda_lite::http` module.
///
/// So `lambda_main!(concurrent json init = setup, handler = handle)` is the fullest form.
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
    (concurrent json $($rest:tt)+) => { $crate::lambda_main!(@main run_concurrent [&] [json] $($rest)+); };
    (concurrent http $($rest:tt)+) => { $crate::lambda_main!(@main run_concurrent [&] [http] $($rest)+); };
    (concurrent $($rest:tt)+) => { $crate::lambda_main!(@main run_concurrent [&] [] $($rest)+); };
    (json $($rest:tt)+) => { $crate::lambda_main!(@main run [&mut] [json] $($rest)+); };
    (http $($rest:tt)+) => { $crate::lambda_main!(@main run [&mut] [http] $($rest)+); };
    (@main $entry:ident [$($state:tt)+] [$($json:ident)?] init = $init:expr, handler = $handler:expr $(,)?) => {
        fn main() {
            #[allow(unused_mut)]
            let mut state = $crate::init($init);
            $crate::$entry(move |event: &[u8], ctx: &$crate::Context<'_>| {
                $crate::lambda_main!(@call [$($json)?] event, ctx, |e, c| $handler($($state)+ state, e, c))
            })
        }
    };
    (@main $entry:ident [$($state:tt)+] [$($json:ident)?] $handler:expr $(,)?) => {
        fn main() {
            $crate::$entry(|event: &[u8], ctx: &$crate::Context<'_>| {
                $crate::lambda_main!(@call [$($json)?] event, ctx, $handler)
            })
        }
    };
    (@call [json] $event:ident, $ctx:ident, $h:expr) => { $crate::json::call($event, $ctx, $h) };
    (@call [http] $event:ident, $ctx:ident, $h:expr) => { $crate::http::call($event, $ctx, $h) };
    (@call [] $event:ident, $ctx:ident, $h:expr) => { ($h)($event, $ctx) };
    (@main $($rest:tt)*) => {
        compile_error!("lambda_main! takes `[concurrent] [json] handler` or `[concurrent] [json] init = setup, handler = handle`; a handler streams by returning `Response::stream(…)`");
    };
    ($($rest:tt)+) => { $crate::lambda_main!(@main run [&mut] [] $($rest)+); };
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
            let mut extension = $crate::extension::register(&[
                $crate::extension::EventType::Invoke,
                $crate::extension::EventType::Shutdown,
            ]);
            let mut state = extension.init($init);
            extension.run(move |event| $handler(&mut state, event))
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
