//! A tiny, blocking AWS Lambda runtime for Rust on `provided.al2023`: one keep-alive
//! `TcpStream`, no tokio, no hyper, two dependencies (`httparse`, `libc`). Small zips, fast
//! `Init Duration`.
//!
//! ```no_run
//! use lambda_lite::{lambda_main, Context, Error};
//!
//! fn handler(event: &[u8], ctx: &Context) -> Result<Vec<u8>, Error> {
//!     eprintln!("request {}", ctx.request_id);
//!     Ok(event.to_vec())
//! }
//!
//! lambda_main!(handler);
//! ```
//!
//! # One handler shape, one loop
//!
//! A handler takes the event's bytes and the [`Context`] and returns its answer: bytes
//! (`Vec<u8>`, `String`) or a [`Response`], buffered or streamed, chosen per invocation.
//! [`run`] serves every event with it, forever; [`lambda_main!`] is that `main` in one line.
//! The other choices are independent of each other:
//!
//! | you want | write |
//! |---|---|
//! | one-time setup, its failure reported as an init error | [`init`]`(|| …)` before `run`; the handler captures what it made |
//! | a streamed answer (Function URLs, `InvokeWithResponseStream`) | return [`Response::stream`]`(|event, ctx, out| …)`, writing to a [`ResponseStream`] |
//! | several invocations at once (Lambda Managed Instances) | [`run_concurrent`] with a `Fn + Sync` handler |
//! | typed JSON events and results (feature `json`) | [`json::call`] or `lambda_main!(json handler)` |
//! | HTTP: Function URLs, API Gateway, ALBs (feature `http`) | `http::Request` → `http::Response`, `lambda_main!(http handler)` |
//! | queues, streams, notifications (feature `events`) | `events::SqsEvent` and the other sources' types with `json`; `events::batch` for partial batch responses |
//! | to call AWS (DynamoDB, S3, SQS…) without tokio (feature `aws`) | `static AWS: aws::Client = aws::Client::new();` then `AWS.dynamodb().get_item(…, ctx)?` |
//! | to test a handler through the real loop (feature `testkit`) | `testkit::TestLambda::new().invoke(event, handler)` |
//! | to drive the loop yourself (tests, a custom `main`) | [`Runtime::from_env`], [`Runtime::init`], [`Runtime::step`] |
//!
//! ```no_run
//! use std::io::Write;
//! use lambda_lite::{Context, Response};
//!
//! struct Model { greeting: String }
//!
//! fn main() {
//!     let model = lambda_lite::init(|| Ok(Model { greeting: "hello".into() }));
//!     lambda_lite::run(|event: &[u8], _ctx: &Context| {
//!         if event.len() < 64 {
//!             return Ok(Response::from(model.greeting.clone())); // one POST, Content-Length
//!         }
//!         Ok(Response::stream(|event, _ctx, out| {             // chunks, as they are written
//!             for word in event.split(|&b| b == b' ') {
//!                 out.write_all(model.greeting.as_bytes())?;
//!                 out.write_all(word)?;
//!             }
//!             Ok(())
//!         }))
//!     })
//! }
//! ```
//!
//! # The rest of the lifecycle
//!
//! [`spawn_graceful_shutdown_handler`] runs a hook on SIGTERM; [`snapstart`] registers
//! before-snapshot and after-restore hooks; the `extension` feature's `extension` module
//! writes external extensions and reads the Telemetry API. A function that does not use one of
//! them links none of its code. Errors ([`Error`]) take `?` from any std error, `anyhow` and
//! boxed errors; logs ([`info!`] and friends, the [`log`] module) follow Lambda's log format
//! and level settings.
//!
//! # Features
//!
//! `json` (typed handlers), `http` (HTTP functions for every HTTP event source, buffered or
//! streamed), `events` (the other event sources, partial batch responses), `aws` (a blocking,
//! signed AWS client: DynamoDB, S3, SQS, SSM, Secrets Manager…), `testkit` (handlers
//! run through the loop in unit tests), `extension` (extensions and the Telemetry API), `log` and
//! `tracing` (route those crates' records into Lambda-format lines), `dns` (host names in
//! `AWS_LAMBDA_RUNTIME_API`). None is on by default.
//!
//! The library builds on Linux, macOS and the BSDs, so handlers are written and unit-tested
//! where their authors work; the bootstrap that ships is Linux (the `cargo lambda-lite` tool
//! builds it: see the repository's README).

#![deny(unsafe_code, unsafe_op_in_unsafe_fn, missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

// The protocol, pure: what is sent, how what arrives is read, what a status means.
mod proto;
mod text;
// Where the Runtime API is, and the one socket to it.
mod conn;
mod endpoint;
mod fatal;
// The loop and what it hands to handlers.
mod context;
mod error;
mod panic;
mod response;
mod runtime;
mod stream;
// The rest of the lifecycle: several invocations at once, shutdown, SnapStart, extensions.
#[cfg(feature = "extension")]
pub mod extension;
#[cfg(not(feature = "extension"))]
mod extension {
    //! Without the feature: the Extensions API's client alone, through which the
    //! graceful-shutdown hook registers.
    pub(crate) mod client;
}
mod shutdown;
pub mod snapstart;
mod worker;
// The entry points, a bootstrap's whole `main`: on top of all of the above.
mod run;
// Around the loop.
#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "events")]
pub mod events;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "json")]
pub mod json;
pub mod log;
mod macros;
#[allow(unsafe_code)]
mod sys;
#[cfg(feature = "testkit")]
pub mod testkit;

#[cfg(feature = "internal-fuzzing")]
#[doc(hidden)]
pub mod fuzz;
#[cfg(any(test, feature = "internal-fuzzing"))]
mod seeded;

/// The README's snippets, compiled as doctests (with every feature, as CI runs them).
#[cfg(all(
    doctest,
    feature = "json",
    feature = "extension",
    feature = "events",
    feature = "testkit",
    feature = "aws"
))]
#[doc = include_str!("../README.md")]
mod readme {}

#[cfg(feature = "json")]
pub use context::{ClientApplication, ClientContext, CognitoIdentity};
pub use context::{Config, Context, OwnedContext};
pub use error::{Error, Result};
pub use fatal::Fatal;
pub use response::{IntoResponse, Response, Stream};
pub use run::{init, run, run_concurrent};
pub use runtime::{Handler, Runtime};
pub use shutdown::spawn_graceful_shutdown_handler;
pub use stream::ResponseStream;
