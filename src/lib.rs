#![doc = include_str!("../README.md")]
#![deny(unsafe_code, unsafe_op_in_unsafe_fn, missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

// The protocol, pure: what is sent, how what arrives is read, what a status means.
mod proto;
mod text;
// Where the Runtime API is, and the one socket to it.
mod conn;
mod endpoint;
// The loop and what it hands to handlers.
mod context;
mod error;
mod panic;
mod runtime;
mod stream;
// The rest of the lifecycle: several invocations at once, shutdown, SnapStart, extensions.
#[cfg(feature = "extension")]
pub mod extension;
#[cfg(not(feature = "extension"))]
mod extension;
mod shutdown;
pub mod snapstart;
#[cfg(feature = "extension")]
mod telemetry;
mod worker;
// The entry points, a bootstrap's whole `main`: on top of all of the above.
mod run;
// Around the loop.
#[cfg(feature = "json")]
pub mod json;
pub mod log;
mod macros;
#[allow(unsafe_code)]
mod sys;

#[cfg(feature = "internal-fuzzing")]
#[doc(hidden)]
pub mod fuzz;

#[cfg(feature = "json")]
pub use context::{ClientApplication, ClientContext, CognitoIdentity};
pub use context::{Config, Context, OwnedContext};
pub use error::{Error, Result};
pub use run::{
    run, run_concurrent, run_concurrent_streaming, run_concurrent_streaming_with_init,
    run_concurrent_with_init, run_streaming, run_streaming_with_init, run_with_init,
};
pub use runtime::{Fatal, Handler, Runtime, StreamHandler};
pub use shutdown::spawn_graceful_shutdown_handler;
pub use stream::ResponseStream;
