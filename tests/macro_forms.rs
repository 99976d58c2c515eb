//! Every form of `lambda_main!` compiles with the handler shapes its documentation gives (each
//! in a module of its own, so each defines its own `main`, never run).
#![allow(dead_code, clippy::unwrap_used)]
use lambda_lite::{Context, Error, ResponseStream};

fn bytes(event: &[u8], _: &Context) -> Result<Vec<u8>, Error> {
    Ok(event.to_vec())
}
fn bytes_with(state: &mut u32, event: &[u8], _: &Context) -> Result<Vec<u8>, Error> {
    *state += 1;
    Ok(event.to_vec())
}
fn shared_with(state: &u32, event: &[u8], _: &Context) -> Result<Vec<u8>, Error> {
    Ok([event, &state.to_le_bytes()].concat())
}
fn stream(event: &[u8], _: &Context, out: &mut ResponseStream) -> Result<(), Error> {
    std::io::Write::write_all(out, event)?;
    Ok(())
}
fn stream_with(
    _: &mut u32,
    event: &[u8],
    c: &Context,
    out: &mut ResponseStream,
) -> Result<(), Error> {
    stream(event, c, out)
}
fn stream_shared(
    _: &u32,
    event: &[u8],
    c: &Context,
    out: &mut ResponseStream,
) -> Result<(), Error> {
    stream(event, c, out)
}
fn setup() -> Result<u32, Error> {
    Ok(0)
}
#[derive(serde::Deserialize)]
struct In<'a> {
    name: &'a str,
}
fn typed(e: In<'_>, _: &Context) -> Result<String, Error> {
    Ok(e.name.to_owned())
}
fn typed_with(_: &mut u32, e: In<'_>, c: &Context) -> Result<String, Error> {
    typed(e, c)
}
fn typed_shared(_: &u32, e: In<'_>, c: &Context) -> Result<String, Error> {
    typed(e, c)
}
fn typed_stream(e: In<'_>, _: &Context, out: &mut ResponseStream) -> Result<(), Error> {
    std::io::Write::write_all(out, e.name.as_bytes())?;
    Ok(())
}
fn typed_stream_with(
    _: &mut u32,
    e: In<'_>,
    c: &Context,
    out: &mut ResponseStream,
) -> Result<(), Error> {
    typed_stream(e, c, out)
}
fn typed_stream_shared(
    _: &u32,
    e: In<'_>,
    c: &Context,
    out: &mut ResponseStream,
) -> Result<(), Error> {
    typed_stream(e, c, out)
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
form!(init, init = super::setup, handler = super::bytes_with);
form!(streaming, stream super::stream);
form!(streaming_init, stream init = super::setup, handler = super::stream_with);
form!(json, json super::typed);
form!(json_init, json init = super::setup, handler = super::typed_with);
form!(json_stream, json stream super::typed_stream);
form!(json_stream_init, json stream init = super::setup, handler = super::typed_stream_with);
form!(concurrent, concurrent super::bytes);
form!(concurrent_init, concurrent init = super::setup, handler = super::shared_with);
form!(concurrent_stream, concurrent stream super::stream);
form!(concurrent_stream_init, concurrent stream init = super::setup, handler = super::stream_shared);
form!(concurrent_json, concurrent json super::typed);
form!(concurrent_json_init, concurrent json init = super::setup, handler = super::typed_shared);
form!(concurrent_json_stream, concurrent json stream super::typed_stream);
form!(concurrent_json_stream_init, concurrent json stream init = super::setup, handler = super::typed_stream_shared);

#[test]
fn every_form_expands_to_its_own_main() {
    let mains: Vec<fn()> = vec![
        plain::entry(),
        closure::entry(),
        init::entry(),
        streaming::entry(),
        streaming_init::entry(),
        json::entry(),
        json_init::entry(),
        json_stream::entry(),
        json_stream_init::entry(),
        concurrent::entry(),
        concurrent_init::entry(),
        concurrent_stream::entry(),
        concurrent_stream_init::entry(),
        concurrent_json::entry(),
        concurrent_json_init::entry(),
        concurrent_json_stream::entry(),
        concurrent_json_stream_init::entry(),
    ];
    let distinct: std::collections::HashSet<usize> = mains.iter().map(|f| *f as usize).collect();
    assert_eq!(distinct.len(), 17, "each form defines a main of its own");
}
