#![doc = include_str!("../README.md")]
#![deny(unsafe_code, unsafe_op_in_unsafe_fn, missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

mod conn;
mod context;
mod error;
#[cfg(feature = "internal-fuzzing")]
#[doc(hidden)]
pub mod fuzz;
#[cfg(feature = "json")]
pub mod json;
pub mod log;
mod macros;
mod panic;
mod runtime;
#[allow(unsafe_code)]
mod sys;
mod wire;

pub use context::{Config, Context};
pub use error::{Error, Result};
pub use runtime::{Fatal, Handler, Runtime, run, run_with_init};
