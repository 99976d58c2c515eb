//! Every form of `lambda_main!` compiles with the handler shapes its documentation gives (each
//! in a module of its own, so each defines its own `main`), with buffered and streamed answers
//! from the same handler, and each `main` serves an event: this test binary runs itself once
//! per form, as a function process against the fake Runtime API.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]
mod support;
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

/// A form, by name: its `main`, the event it gets, the answer it must give, and whether that
/// answer is streamed.
type Form = (&'static str, fn(), &'static str, &'static str, bool);

fn forms() -> Vec<Form> {
    let (raw, typed) = ("abc", r#"{"name":"zoe"}"#);
    vec![
        ("plain", plain::entry(), raw, "abc", false),
        ("closure", closure::entry(), raw, "abc", false),
        (
            "buffered_or_streamed",
            buffered_or_streamed::entry(),
            raw,
            "abc",
            true,
        ),
        ("init", init::entry(), raw, "abc", false),
        ("init_streamed", init_streamed::entry(), raw, "abc", true),
        ("json", json::entry(), typed, r#""zoe""#, false),
        ("json_streamed", json_streamed::entry(), typed, "zoe", true),
        ("json_init", json_init::entry(), typed, r#""zoe""#, false),
        ("concurrent", concurrent::entry(), raw, "abc", true),
        (
            "concurrent_init",
            concurrent_init::entry(),
            raw,
            "0 3",
            false,
        ),
        (
            "concurrent_json",
            concurrent_json::entry(),
            typed,
            r#""zoe""#,
            false,
        ),
        (
            "concurrent_json_init",
            concurrent_json_init::entry(),
            typed,
            "zoe",
            true,
        ),
    ]
}

/// In a child process (`MACRO_FORM` set): the form's `main`, which serves events from
/// `AWS_LAMBDA_RUNTIME_API` until the parent stops it. In the test run itself: nothing.
#[test]
fn form_process() {
    let Ok(name) = std::env::var("MACRO_FORM") else {
        return;
    };
    let (_, main, ..) = forms().into_iter().find(|f| f.0 == name).expect("a form");
    main();
}

#[test]
fn every_form_s_main_serves_an_event() {
    let mut distinct = std::collections::HashSet::new();
    for (name, main, event, answer, streamed) in forms() {
        assert!(distinct.insert(main as usize), "{name}: a main of its own");
        let api = support::FakeApi::start();
        api.push_event(support::event(&format!("{name}-1"), event));
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "form_process", "--nocapture", "--test-threads=1"])
            .env("MACRO_FORM", name)
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let reqs = api.wait_for(2);
        let _ = child.kill();
        let _ = child.wait();
        let post = &reqs[1];
        assert_eq!(
            post.path,
            format!("/2018-06-01/runtime/invocation/{name}-1/response"),
            "{name}: {}",
            post.body_str()
        );
        assert_eq!(post.body_str(), answer, "{name}");
        let mode = post.header("lambda-runtime-function-response-mode");
        assert_eq!(mode == Some("streaming"), streamed, "{name}: {mode:?}");
    }
}
