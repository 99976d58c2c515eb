//! Handler errors and panics become one `/error` post each, and the loop goes on.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly
mod support;
use lambda_lite::Error;
use support::*;

fn one_error(
    handler: impl FnMut(&[u8], &lambda_lite::Context) -> lambda_lite::Result<Vec<u8>>,
) -> (Recorded, serde_json::Value) {
    let api = FakeApi::start();
    api.push_event(event("r1", "7x"));
    api.push_event(event("r2", "after"));
    let mut rt = runtime(&api);
    rt.step(handler).unwrap();
    rt.step(&mut echo).unwrap();
    let reqs = api.wait_for(4);
    assert_eq!(reqs[3].body_str(), "after", "the next event is served");
    let json = serde_json::from_slice(&reqs[1].body).expect("valid JSON");
    (reqs[1].clone(), json)
}

#[test]
fn converted_error_posts_short_type_and_header() {
    let (post, json) = one_error(|e, _| {
        let n: u32 = std::str::from_utf8(e)?.parse()?;
        Ok(n.to_string().into_bytes())
    });
    assert_eq!(post.path, "/2018-06-01/runtime/invocation/r1/error");
    assert_eq!(
        post.header("lambda-runtime-function-error-type"),
        Some("Function.ParseIntError")
    );
    assert_eq!(post.header("content-type"), Some("application/json"));
    assert_eq!(
        json,
        serde_json::json!({"errorType": "ParseIntError", "errorMessage": "invalid digit found in string", "stackTrace": []})
    );
}

#[test]
fn error_message_with_quotes_newlines_and_control_bytes_is_valid_json() {
    let msg = "line \"one\"\nline\ttwo\\ \u{1} é ✓";
    let (_, json) = one_error(|_, _| Err(Error::new("Weird", msg)));
    assert_eq!(json["errorMessage"], msg);
    assert_eq!(json["errorType"], "Weird");
}

#[test]
fn category_reason_error_type_is_kept_as_the_header() {
    let (post, json) = one_error(|_, _| Err(Error::new("Runtime.ConfigInvalid", "no table")));
    assert_eq!(
        post.header("lambda-runtime-function-error-type"),
        Some("Runtime.ConfigInvalid")
    );
    assert_eq!(json["errorType"], "Runtime.ConfigInvalid");
}

#[cfg(panic = "unwind")]
#[test]
fn panic_is_posted_with_message_and_location_then_the_next_event_is_served() {
    let (post, json) = one_error(|_, _| panic!("kaboom {}", 42));
    assert_eq!(
        post.header("lambda-runtime-function-error-type"),
        Some("Runtime.HandlerPanic")
    );
    assert_eq!(json["errorType"], "Runtime.HandlerPanic");
    let msg = json["errorMessage"].as_str().unwrap();
    assert!(
        msg.starts_with("panicked at tests/errors.rs:") && msg.ends_with(": kaboom 42"),
        "{msg}"
    );
}

#[test]
fn closures_with_state_work_as_handlers() {
    let api = FakeApi::start();
    let mut count = 0;
    let mut rt = runtime(&api);
    for i in 0..3 {
        api.push_event(event(&format!("r{i}"), ""));
        rt.step(|_, _| {
            count += 1;
            Ok(count.to_string().into_bytes())
        })
        .unwrap();
    }
    let bodies: Vec<_> = api
        .wait_for(6)
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.body_str().to_owned())
        .collect();
    assert_eq!(bodies, ["1", "2", "3"]);
}
