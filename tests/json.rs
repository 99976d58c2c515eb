//! Typed handlers with the types people use (aws_lambda_events) and realistic events, through
//! the fake Runtime API.
#![cfg(feature = "json")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly
mod support;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::s3::S3Event;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_lite::{Context, Error, json};
use serde::Deserialize;
use support::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Serves one event through `json::call` with `handler`; returns the POST the runtime made.
fn serve_typed(body: Vec<u8>, handler: &mut lambda_lite::Handler<'_, '_>) -> Recorded {
    let api = FakeApi::start();
    api.push_event(event("r1", body).like_lambda());
    runtime(&api).step(handler).unwrap();
    api.wait_for(2)[1].clone()
}

fn api_gateway(
    req: ApiGatewayV2httpRequest,
    ctx: &Context,
) -> Result<ApiGatewayV2httpResponse, Error> {
    let order = req.path_parameters.get("id").cloned().unwrap_or_default();
    let body = req.body.unwrap_or_default();
    let quantity: serde_json::Value = serde_json::from_str(&body)?;
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = 201;
    response.headers = headers;
    response.body = Some(Body::Text(format!(
        r#"{{"order":"{order}","quantity":{},"method":"{}","request":"{}"}}"#,
        quantity["quantity"], req.request_context.http.method, ctx.request_id
    )));
    Ok(response)
}

#[test]
fn api_gateway_http_api_v2_request_and_response() {
    let post = serve_typed(fixture("apigw_v2_request.json"), &mut |e, c| {
        json::call(e, c, api_gateway)
    });
    assert_eq!(post.path, "/2018-06-01/runtime/invocation/r1/response");
    let resp: serde_json::Value = serde_json::from_slice(&post.body).unwrap();
    assert_eq!(resp["statusCode"], 201);
    assert_eq!(resp["headers"]["content-type"], "application/json");
    assert_eq!(
        resp["body"],
        r#"{"order":"1234","quantity":3,"method":"POST","request":"r1"}"#
    );
}

fn sqs(event: SqsEvent, _: &Context) -> Result<SqsBatchResponse, Error> {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let body = record.body.unwrap_or_default();
        if serde_json::from_str::<serde_json::Value>(&body).is_err() {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = record.message_id.unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    Ok(response)
}

#[test]
fn sqs_batch_reports_item_failures() {
    let post = serve_typed(fixture("sqs_event.json"), &mut |e, c| json::call(e, c, sqs));
    let resp: serde_json::Value = serde_json::from_slice(&post.body).unwrap();
    assert_eq!(
        resp,
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "2e1424d4-f796-459a-8184-9c92662be6da"}]})
    );
}

fn s3(event: S3Event, _: &Context) -> Result<Vec<String>, Error> {
    Ok(event
        .records
        .into_iter()
        .map(|r| {
            format!(
                "{}/{} {}",
                r.s3.bucket.name.unwrap_or_default(),
                r.s3.object.key.unwrap_or_default(),
                r.s3.object.size.unwrap_or(0)
            )
        })
        .collect())
}

#[test]
fn s3_event_records_are_read() {
    let post = serve_typed(fixture("s3_event.json"), &mut |e, c| json::call(e, c, s3));
    assert_eq!(
        post.body_str(),
        r#"["photos-eu-west-1/uploads/2024/03/holiday+photo%281%29.jpg 1048576"]"#
    );
}

#[derive(Deserialize)]
struct Borrowed<'a> {
    #[serde(borrow)]
    name: &'a str,
}

fn borrowing(event: Borrowed<'_>, _: &Context) -> Result<String, Error> {
    Ok(format!("hi {}", event.name))
}

#[test]
fn events_may_borrow_from_the_receive_buffer() {
    let post = serve_typed(
        br#"{"name":"ada","ignored":[1,2,3]}"#.to_vec(),
        &mut |e, c| json::call(e, c, borrowing),
    );
    assert_eq!(post.body_str(), r#""hi ada""#);
}

#[test]
fn invalid_event_is_an_error_not_a_call_and_the_next_event_is_served() {
    let api = FakeApi::start();
    api.push_event(event("bad", r#"{"Records": [{"body": 42}]}"#));
    api.push_event(event("good", r#"{"Records": []}"#));
    let mut calls = 0;
    let mut handler = |e: &[u8], c: &Context| {
        json::call(e, c, |ev: SqsEvent, _: &Context| {
            calls += 1;
            Ok(ev.records.len())
        })
    };
    let mut rt = runtime(&api);
    rt.step(&mut handler).unwrap();
    rt.step(&mut handler).unwrap();
    let reqs = api.wait_for(4);
    assert_eq!(reqs[1].path, "/2018-06-01/runtime/invocation/bad/error");
    let err: serde_json::Value = serde_json::from_slice(&reqs[1].body).unwrap();
    assert_eq!(err["errorType"], json::INVALID_EVENT);
    let msg = err["errorMessage"].as_str().unwrap();
    assert!(
        msg.contains("invalid type: integer `42`") && msg.contains("line 1 column"),
        "{msg}"
    );
    assert_eq!(reqs[3].body_str(), "0");
    assert_eq!(calls, 1, "the handler never saw the bad event");
}

#[test]
fn http_api_example_answers_with_status_headers_and_body() {
    let bin = support::example("http_api", "json");
    let api = FakeApi::start();
    api.push_event(event("h1", fixture("apigw_v2_request.json")).like_lambda());
    api.push(Response::new(403, "").reply());
    let child = std::process::Command::new(bin)
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (status, stderr) = wait_exit(child);
    assert_eq!(status.code(), Some(1), "{stderr}");
    let reqs = api.wait_for(3);
    let resp: serde_json::Value = serde_json::from_slice(&reqs[1].body).unwrap();
    assert_eq!(resp["statusCode"], 200);
    assert_eq!(resp["headers"]["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_str(resp["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"message": "hello, world", "method": "POST", "path": "/prod/orders/1234", "request_id": "h1", "body_bytes": 37})
    );
}

/// The typed forms with one-time init compile as documented: the macro with `init`, and
/// `lambda_lite::init` then `json::call` in a closure. (They never return, so they are not run
/// here; the init path they build on is tested in tests/process.rs.)
#[allow(dead_code)]
mod typed_init_forms_compile {
    use lambda_lite::{Context, Error};

    struct Prefix(String);

    fn setup() -> Result<Prefix, Error> {
        Ok(Prefix("hello".into()))
    }

    fn handle(prefix: &mut Prefix, name: String, _: &Context) -> Result<String, Error> {
        Ok(format!("{} {name}", prefix.0))
    }

    lambda_lite::lambda_main!(json init = setup, handler = handle);

    fn with_closures() -> ! {
        let prefix = lambda_lite::init(setup);
        lambda_lite::run(move |event: &[u8], ctx: &Context| {
            lambda_lite::json::call(event, ctx, |n: u32, _: &Context| {
                Ok(format!("{} {n}", prefix.0))
            })
        })
    }
}

/// Runs the example `name` on one event from the fake API; returns its answer's JSON.
fn example_answer(name: &'static str, body: &[u8]) -> serde_json::Value {
    let api = FakeApi::start();
    api.push_event(event("r1", body.to_vec()).like_lambda());
    api.push(Response::new(500, "stop").reply());
    let child = std::process::Command::new(example(name, "json"))
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (_, stderr) = wait_exit(child);
    let post = &api.wait_for(2)[1];
    assert_eq!(
        post.path,
        "/2018-06-01/runtime/invocation/r1/response",
        "{}\n{stderr}",
        post.body_str()
    );
    serde_json::from_slice(&post.body).unwrap()
}

#[test]
fn the_typed_examples_take_escapes_unicode_escapes_and_quotes() {
    // The repository's own event for http_api: a Function URL request whose path, query and
    // body hold \u00e9, a surrogate pair, quotes and \n.
    let events = concat!(env!("CARGO_MANIFEST_DIR"), "/events/");
    let http = std::fs::read(format!("{events}http_api.json")).unwrap();
    let answer = example_answer("http_api", &http);
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let body: serde_json::Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["message"], "hello, Zoë \"the\" 😀");
    assert_eq!(body["path"], "/greet/café");
    assert_eq!(body["method"], "POST");
    assert_eq!(
        body["body_bytes"],
        "{\"order\":\"n°42\",\"note\":\"line one\\nline two\"}".len()
    );
    let json = std::fs::read(format!("{events}json_echo.json")).unwrap();
    let echoed = example_answer("json_echo", &json);
    assert_eq!(
        echoed,
        serde_json::from_slice::<serde_json::Value>(&json).unwrap()
    );
    assert_eq!(echoed["name"], "Zoë");
    assert_eq!(echoed["emoji"], "😀");
    assert_eq!(echoed["quote"], "say \"hi\"");
}
