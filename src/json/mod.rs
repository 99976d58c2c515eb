//! Typed JSON handlers (feature `json`): a thin adapter that deserializes the event with
//! serde_json, calls the handler and serializes its result. The byte loop stays the only loop;
//! only this adapter is generic.
//!
//! ```no_run
//! use std::borrow::Cow;
//! use lambda_lite::{Context, Error};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize)]
//! struct Order<'a> {
//!     #[serde(borrow)]
//!     id: Cow<'a, str>, // borrowed from the event buffer; owned only if it holds an escape
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
//! Without the macro: `lambda_lite::run(|event, ctx| lambda_lite::json::call(event, ctx,
//! handler))`. A typed handler may also stream its answer: it returns a
//! [`Response`](crate::Response) (from [`Response::stream`](crate::Response::stream)) instead
//! of a serializable value, per invocation.
//!
//! A field of type `&str` cannot hold a JSON string with an escape in it (`\n`, `\"`,
//! `\u00e9`): serde_json has to unescape it into new memory. Use `Cow<'a, str>` with
//! `#[serde(borrow)]` (borrowed when it can be, owned when it must) or `String`.
//!
//! An event that does not deserialize never reaches the handler: it is answered on `/error`
//! with `errorType` `Runtime.InvalidEvent` and serde_json's message (what was expected, line
//! and column), and the next event is served. A result that does not serialize is reported
//! as `Runtime.InvalidResponse`.

#[cfg(any(feature = "http", feature = "events"))]
pub(crate) mod read;

use serde::Serialize;
use serde::de::Deserialize;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::response::Response;

/// `errorType` of an event that does not deserialize into the handler's type.
pub const INVALID_EVENT: &str = "Runtime.InvalidEvent";
/// `errorType` of a handler result that does not serialize.
pub const INVALID_RESPONSE: &str = "Runtime.InvalidResponse";

/// What a typed handler may return: any `Serialize` value (posted as its JSON), or a
/// [`Response`] (posted as it is: streamed, or bytes of the handler's choosing).
pub trait IntoJsonResponse<'s> {
    /// The answer as the runtime posts it; `Err` when the value does not serialize.
    fn into_json_response(self) -> Result<Response<'s>>;
}

impl<'s, T: Serialize> IntoJsonResponse<'s> for T {
    fn into_json_response(self) -> Result<Response<'s>> {
        serde_json::to_vec(&self)
            .map(Response::Buffered)
            .map_err(invalid_response)
    }
}

impl<'s> IntoJsonResponse<'s> for Response<'s> {
    fn into_json_response(self) -> Result<Response<'s>> {
        Ok(self)
    }
}

/// Deserializes `event` into `E` (which may borrow from it), calls `handler`, serializes its
/// result. This is the adapter behind `lambda_main!(json …)`; use it to write your own byte
/// handler around a typed one.
pub fn call<'a, 's, E, R, F>(event: &'a [u8], ctx: &Context<'_>, handler: F) -> Result<Response<'s>>
where
    E: Deserialize<'a>,
    R: IntoJsonResponse<'s>,
    F: FnOnce(E, &Context<'_>) -> Result<R>,
{
    let input = serde_json::from_slice(event).map_err(invalid_event)?;
    handler(input, ctx)?.into_json_response()
}

#[cold]
fn invalid_event(e: serde_json::Error) -> Error {
    let mut message = format!("the event is not the JSON this function takes: {e}");
    if message.contains("expected a borrowed string") {
        message.push_str(
            " (a `&str` field cannot hold a string with an escape such as \\n, \\\" or \\u00e9: \
             make it `Cow<'a, str>` with `#[serde(borrow)]`, or `String`)",
        );
    }
    Error::new(INVALID_EVENT, message)
}

#[cold]
fn invalid_response(e: serde_json::Error) -> Error {
    Error::new(
        INVALID_RESPONSE,
        format!("the handler's result could not be serialized to JSON: {e}"),
    )
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
        assert_eq!(bytes(out), br#"{"hello":"ada","twice":42}"#);
    }

    fn bytes(response: Response<'_>) -> Vec<u8> {
        match response {
            Response::Buffered(bytes) => bytes,
            Response::Streamed(_) => panic!("a typed value is posted buffered"),
        }
    }

    #[derive(Deserialize)]
    struct Either<'a> {
        #[serde(borrow)]
        name: std::borrow::Cow<'a, str>,
    }

    #[test]
    fn escaped_strings_reach_a_cow_field_and_a_str_field_is_told_what_to_change() {
        let events: [(&[u8], &str); 4] = [
            (br#"{"name":"Zo\u00eb"}"#, "Zoë"),
            (br#"{"name":"a\nb"}"#, "a\nb"),
            (br#"{"name":"say \"hi\""}"#, "say \"hi\""),
            (br#"{"name":"\ud83d\ude00 grin"}"#, "😀 grin"),
        ];
        for (event, name) in events {
            let out = call(
                event,
                &Context::default(),
                |e: Either<'_>, _: &Context<'_>| Ok(e.name.into_owned()),
            )
            .unwrap();
            assert_eq!(bytes(out), serde_json::to_vec(name).unwrap());
            let err = call(event, &Context::default(), typed).unwrap_err();
            assert_eq!(err.error_type(), INVALID_EVENT);
            assert!(
                err.message()
                    .contains("make it `Cow<'a, str>` with `#[serde(borrow)]`, or `String`"),
                "{}",
                err.message()
            );
        }
        // Without an escape the field is borrowed, not copied.
        let event = br#"{"name":"plain"}"#;
        call(
            event,
            &Context::default(),
            |e: Either<'_>, _: &Context<'_>| {
                assert!(matches!(e.name, std::borrow::Cow::Borrowed(_)));
                Ok(())
            },
        )
        .unwrap();
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
