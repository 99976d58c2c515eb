//! Every form of `lambda_main!` compiles with the handler shapes its documentation gives (each
//! in a module of its own, so each defines its own `main`, never run), with buffered and
//! streamed answers from the same handler.
#![allow(dead_code, clippy::unwrap_used)]
use std::borrow::Cow;

use lambda_lite::{Context, Error, Response};

fn bytes(event: &[u8], _: &Context) -> Result<Vec<u8>, Error> {
    Ok(event.to_vec())
}
/// Buffered or streamed, per invocation.
fn either(event: &[u8], _: &Context) -> Result<Response<'static>, Error> {
    if event.is_empty() {
        return Ok(Response::from(b"empty".to_vec()));
    }
    Ok(Response::stream(|event, _, out| {
        std::io::Write::write_all(out, event)?;
        Ok(())
    }))
}
fn bytes_with(state: &mut u32, event: &[u8], _: &Context) -> Result<Vec<u8>, Error> {
    *state += 1;
    Ok(event.to_vec())
}
fn either_with(_: &mut u32, event: &[u8], c: &Context) -> Result<Response<'static>, Error> {
    either(event, c)
}
fn shared_with(state: &u32, event: &[u8], _: &Context) -> Result<String, Error> {
    Ok(format!("{state} {}", event.len()))
}
fn setup() -> Result<u32, Error> {
    Ok(0)
}
#[derive(serde::Deserialize)]
struct In<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
}
fn typed(e: In<'_>, _: &Context) -> Result<String, Error> {
    Ok(e.name.into_owned())
}
fn typed_stream(e: In<'_>, _: &Context) -> Result<Response<'static>, Error> {
    let name = e.name.into_owned();
    Ok(Response::stream(move |_, _, out| {
        std::io::Write::write_all(out, name.as_bytes())?;
        Ok(())
    }))
}
fn typed_with(_: &mut u32, e: In<'_>, c: &Context) -> Result<String, Error> {
    typed(e, c)
}
fn typed_shared(_: &u32, e: In<'_>, c: &Context) -> Result<Response<'static>, Error> {
    typed_stream(e, c)
}

/// A module with one form's `main`, and a way to reach it.
macro_rules! form {
    ($name:ident, $($form:tt)+) => {
        mod $name {
            lambda_lite::lambda_main!($($form)+);
            pub fn entry() -> fn() {
                main
            }
        }
    };
}

form!(plain, super::bytes);
form!(closure, |e: &[u8], _: &lambda_lite::Context| Ok(e.to_vec()));
form!(buffered_or_streamed, super::either);
form!(init, init = super::setup, handler = super::bytes_with);
form!(
    init_streamed,
    init = super::setup,
    handler = super::either_with
);
form!(json, json super::typed);
form!(json_streamed, json super::typed_stream);
form!(json_init, json init = super::setup, handler = super::typed_with);
form!(concurrent, concurrent super::either);
form!(concurrent_init, concurrent init = super::setup, handler = super::shared_with);
form!(concurrent_json, concurrent json super::typed);
form!(concurrent_json_init, concurrent json init = super::setup, handler = super::typed_shared);

#[test]
fn every_form_expands_to_its_own_main() {
    let mains: Vec<fn()> = vec![
        plain::entry(),
        closure::entry(),
        buffered_or_streamed::entry(),
        init::entry(),
        init_streamed::entry(),
        json::entry(),
        json_streamed::entry(),
        json_init::entry(),
        concurrent::entry(),
        concurrent_init::entry(),
        concurrent_json::entry(),
        concurrent_json_init::entry(),
    ];
    let distinct: std::collections::HashSet<usize> = mains.iter().map(|f| *f as usize).collect();
    assert_eq!(distinct.len(), 12, "each form defines a main of its own");
}
