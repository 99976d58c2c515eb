//! Typed JSON handlers (feature `json`): a thin adapter that deserializes the event with
//! serde_json, calls the handler and serializes its result. The byte loop stays the only loop;
//! only this adapter is generic.
//!
//! ```no_run
//! use lambda_lite::{Context, Error};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize)]
//! struct Order<'a> {
//!     id: &'a str, // borrowed from the event buffer: no copy
//!     quantity: u32,
//! }
//!
//! #[derive(Serialize)]
//! struct Receipt {
//!     message: String,
//! }
//!
//! fn handler(order: Order<'_>, _ctx: &Context) -> Result<Receipt, Error> {
//!     Ok(Receipt { message: format!("{} × {}", order.quantity, order.id) })
//! }
//!
//! lambda_lite::lambda_main!(json handler);
//! ```
//!
//! An event that does not deserialize never reaches the handler: it is answered on `/error`
//! with `errorType` `Runtime.InvalidEvent` and serde_json's message (what was expected, line
//! and column), and the next event is served. A result that does not serialize is reported
//! as `Runtime.InvalidResponse`.

use serde::Serialize;
use serde::de::{Deserialize, DeserializeOwned};

use crate::{Context, Error, ResponseStream, Result};

/// `errorType` of an event that does not deserialize into the handler's type.
pub const INVALID_EVENT: &str = "Runtime.InvalidEvent";
/// `errorType` of a handler result that does not serialize.
pub const INVALID_RESPONSE: &str = "Runtime.InvalidResponse";

/// Deserializes `event` into `E` (which may borrow from it), calls `handler`, serializes its
/// result. This is the adapter behind [`run`] and `lambda_main!(json …)`; use it to write
/// your own byte handler around a typed one.
pub fn call<'a, E, R, F>(event: &'a [u8], ctx: &Context<'_>, handler: F) -> Result<Vec<u8>>
where
    E: Deserialize<'a>,
    R: Serialize,
    F: FnOnce(E, &Context<'_>) -> Result<R>,
{
    let input = serde_json::from_slice(event).map_err(invalid_event)?;
    let output = handler(input, ctx)?;
    serde_json::to_vec(&output).map_err(invalid_response)
}

/// Deserializes `event` into `E` (which may borrow from it) and calls a streaming `handler`
/// with it: a typed event, a streamed answer. The adapter behind `lambda_main!(json stream …)`.
pub fn call_streaming<'a, E, F>(
    event: &'a [u8],
    ctx: &Context<'_>,
    stream: &mut ResponseStream<'_>,
    handler: F,
) -> Result<()>
where
    E: Deserialize<'a>,
    F: FnOnce(E, &Context<'_>, &mut ResponseStream<'_>) -> Result<()>,
{
    let input = serde_json::from_slice(event).map_err(invalid_event)?;
    handler(input, ctx, stream)
}

/// The string at `key` of a JSON object, or empty when it is missing or not a string (the
/// optional text fields of the typed context, extension events and telemetry records).
pub(crate) fn text_of(v: &serde_json::Value, key: &str) -> String {
    v.get(key)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

#[cold]
fn invalid_event(e: serde_json::Error) -> Error {
    Error::new(
        INVALID_EVENT,
        format!("the event is not the JSON this function takes: {e}"),
    )
}

#[cold]
fn invalid_response(e: serde_json::Error) -> Error {
    Error::new(
        INVALID_RESPONSE,
        format!("the handler's result could not be serialized to JSON: {e}"),
    )
}

/// Runs a typed handler for every event, forever (see [`crate::run`]). The event type must
/// own its data; for events that borrow from the event buffer use `lambda_main!(json handler)`
/// with a `fn`, or [`call`] inside [`crate::run`].
pub fn run<E, R, F>(mut handler: F) -> !
where
    E: DeserializeOwned,
    R: Serialize,
    F: FnMut(E, &Context<'_>) -> Result<R>,
{
    crate::run(move |event, ctx| call(event, ctx, &mut handler))
}

/// Runs a typed streaming handler for every event, forever (see [`crate::run_streaming`]).
pub fn run_streaming<E, F>(mut handler: F) -> !
where
    E: DeserializeOwned,
    F: FnMut(E, &Context<'_>, &mut ResponseStream<'_>) -> Result<()>,
{
    crate::run_streaming(move |event, ctx, stream| call_streaming(event, ctx, stream, &mut handler))
}

/// Runs `init` once, then a typed handler with its state (see [`crate::run_with_init`]).
pub fn run_with_init<S, E, R, I, F>(init: I, mut handler: F) -> !
where
    E: DeserializeOwned,
    R: Serialize,
    I: FnOnce() -> Result<S>,
    F: FnMut(&mut S, E, &Context<'_>) -> Result<R>,
{
    crate::run_with_init(init, move |state, event, ctx| {
        call(event, ctx, |e, c| handler(state, e, c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Borrowing<'a> {
        name: &'a str,
        n: u32,
    }

    fn typed(event: Borrowing<'_>, _: &Context<'_>) -> Result<serde_json::Value> {
        Ok(serde_json::json!({ "hello": event.name, "twice": event.n * 2 }))
    }

    #[test]
    fn borrowed_event_round_trips() {
        let event = br#"{"name":"ada","n":21}"#;
        let out = call(event, &Context::default(), typed).unwrap();
        assert_eq!(out, br#"{"hello":"ada","twice":42}"#);
    }

    #[test]
    fn bad_event_names_line_column_and_expectation() {
        let err = call(
            b"{\"name\":\"ada\",\n\"n\":\"x\"}",
            &Context::default(),
            typed,
        )
        .unwrap_err();
        assert_eq!(err.error_type(), INVALID_EVENT);
        assert!(
            err.message().contains("expected u32 at line 2 column 7"),
            "{}",
            err.message()
        );
        let err = call(b"{\"name\":", &Context::default(), typed).unwrap_err();
        assert!(
            err.message().contains("EOF while parsing"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn unserializable_result_is_an_error() {
        let mut map = std::collections::HashMap::new();
        map.insert(vec![1u8], 1);
        let err = call(b"null", &Context::default(), |_: (), _: &Context<'_>| {
            Ok(map)
        })
        .unwrap_err();
        assert_eq!(err.error_type(), INVALID_RESPONSE);
    }
}
