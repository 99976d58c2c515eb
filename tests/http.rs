//! HTTP functions (feature `http`) on event documents of each source, shaped as the AWS
//! documentation shows them (`tests/fixtures/http/`), with `aws_lambda_events`' types reading
//! the same documents as a cross-check; the answers in each source's shape; a streamed
//! server-sent-events answer byte for byte through the fake Runtime API.
#![cfg(feature = "http")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly
mod support;

use std::io::Write;

use lambda_lite::http::{self, Request, Response, Source};
use lambda_lite::{Context, Error};
use support::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/http/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Runs `handler` on `event` as `lambda_main!(http handler)` does; returns the posted answer
/// as JSON.
fn answer(
    event: &[u8],
    handler: impl FnOnce(Request<'_>, &Context) -> Result<Response, Error>,
) -> serde_json::Value {
    match http::call(event, &Context::default(), handler).unwrap() {
        lambda_lite::Response::Buffered(bytes) => serde_json::from_slice(&bytes).unwrap(),
        lambda_lite::Response::Streamed(_) => panic!("a buffered answer was expected"),
    }
}

#[test]
fn a_function_url_request_reads_whole_and_answers_with_cookies() {
    let event = fixture("function_url.json");
    let req = Request::from_event(&event).unwrap();
    assert_eq!(req.source(), Source::FunctionUrl);
    assert_eq!(req.method(), "POST");
    assert_eq!(req.raw_path(), "/my/caf%C3%A9/path");
    assert_eq!(req.path(), "/my/café/path");
    let tags: Vec<&str> = req.query_all("parameter1").collect();
    assert_eq!(
        tags,
        ["value1", "value2"],
        "multi-value, from rawQueryString"
    );
    assert_eq!(req.query("parameter2"), Some("Zoë \"q\""));
    assert_eq!(req.header("HEADER1"), Some("value1"), "any case");
    assert_eq!(req.header("content-type"), Some("application/octet-stream"));
    assert_eq!(
        req.cookies().collect::<Vec<_>>(),
        ["cookie1=one", "cookie2=two"]
    );
    assert_eq!(req.cookie("cookie2"), Some("two"));
    assert_eq!(req.body(), [0, 1, 2, 3, 4, 0xff, 0xfe], "base64 decoded");
    assert!(req.text().is_err(), "not UTF-8");
    let ctx = req.context();
    assert_eq!(ctx.request_id, "id");
    assert_eq!(ctx.source_ip, "203.0.113.10");
    assert_eq!(ctx.user_agent, "agent");
    assert_eq!(ctx.domain_name, "abcdefg123.lambda-url.us-east-1.on.aws");
    assert_eq!(
        ctx.authorizer.as_ref().unwrap()["iam"]["userId"],
        "AIDACOSFODNN7EXAMPLE2"
    );
    // The cross-check: the official event type reads the same document the same way.
    let official: aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest =
        serde_json::from_slice(&event).unwrap();
    assert_eq!(
        official.request_context.http.method.as_deref(),
        Some(req.method())
    );
    assert_eq!(official.raw_path.as_deref(), Some(req.raw_path()));
    assert_eq!(official.cookies.unwrap(), ["cookie1=one", "cookie2=two"]);

    let answer = answer(&event, |req, _| {
        Ok(Response::new(200)
            .header("content-type", "text/plain; charset=utf-8")
            .header("x-seen", req.method())
            .header("x-seen", req.path())
            .cookie("a=b; Path=/; Secure")
            .cookie("c=d")
            .body(format!("{} bytes, \"ok\"\n", req.body().len())))
    });
    assert_eq!(
        answer,
        serde_json::json!({
            "statusCode": 200,
            "headers": {"content-type": "text/plain; charset=utf-8", "x-seen": "POST, /my/café/path"},
            "cookies": ["a=b; Path=/; Secure", "c=d"],
            "body": "7 bytes, \"ok\"\n",
            "isBase64Encoded": false
        })
    );
}

#[test]
fn binary_bodies_go_back_as_base64_chosen_by_content_type_or_explicitly() {
    let event = fixture("function_url.json");
    let png = answer(&event, |req, _| {
        Ok(Response::new(200)
            .header("content-type", "image/png")
            .body(req.body().to_vec()))
    });
    assert_eq!(png["isBase64Encoded"], true);
    assert_eq!(png["body"], "AAECAwT//g==", "the same bytes that came in");
    let json = answer(&event, |_, _| {
        Response::new(201).json(&serde_json::json!({"n": "ü"}))
    });
    assert_eq!(json["isBase64Encoded"], false);
    assert_eq!(json["headers"]["content-type"], "application/json");
    assert_eq!(json["body"], "{\"n\":\"ü\"}");
    let forced = answer(&event, |_, _| {
        Ok(Response::new(200)
            .header("content-type", "text/plain")
            .body("hi")
            .base64(true))
    });
    assert_eq!(
        (forced["body"].as_str(), forced["isBase64Encoded"].as_bool()),
        (Some("aGk="), Some(true))
    );
    let gzip = answer(&event, |_, _| {
        Ok(Response::new(200)
            .header("content-type", "text/plain")
            .header("content-encoding", "gzip")
            .body(vec![0x1f, 0x8b, 8]))
    });
    assert_eq!(gzip["isBase64Encoded"], true, "an encoded body is binary");
}

#[test]
fn an_http_api_request_carries_its_authorizer_path_parameters_and_stage_variables() {
    let event = fixture("http_api_jwt.json");
    let req = Request::from_event(&event).unwrap();
    assert_eq!(req.source(), Source::HttpApi);
    assert_eq!((req.method(), req.path()), ("GET", "/prod/orders/42"));
    assert_eq!(req.path_parameter("id"), Some("42"));
    assert_eq!(req.stage_variable("table"), Some("orders-prod"));
    assert_eq!(req.query_all("tag").collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(req.header("x-note"), Some("say \"hi\" to café"));
    assert_eq!(req.cookie("session"), Some("séssion"));
    let claims = &req.context().authorizer.as_ref().unwrap()["jwt"]["claims"];
    assert_eq!(claims["email"], "zoë@example.com");
    assert_eq!(req.context().stage, "prod");
    let official: aws_lambda_events::apigw::ApiGatewayV2httpRequest =
        serde_json::from_slice(&event).unwrap();
    assert_eq!(
        official.path_parameters.get("id").map(String::as_str),
        req.path_parameter("id")
    );
    assert_eq!(
        official.request_context.request_id.as_deref(),
        Some(&*req.context().request_id)
    );
}

#[test]
fn a_rest_api_request_reads_multi_values_and_answers_cookies_as_set_cookie() {
    let event = fixture("rest_api.json");
    let req = Request::from_event(&event).unwrap();
    assert_eq!(req.source(), Source::RestApi);
    assert_eq!((req.method(), req.path()), ("PUT", "/orders/42"));
    assert_eq!(
        req.header_all("x-multi").collect::<Vec<_>>(),
        ["first", "second"]
    );
    assert_eq!(req.query_all("tag").collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(req.query("q"), Some("café"));
    assert_eq!(
        req.cookies().collect::<Vec<_>>(),
        ["a=1", "b=2"],
        "from the Cookie header"
    );
    assert_eq!(req.context().source_ip, "192.0.2.1");
    assert_eq!(req.context().user_agent, "curl/7.64.1");
    assert_eq!(
        req.context().authorizer.as_ref().unwrap()["claims"]["cognito:username"],
        "ana"
    );
    #[derive(serde::Deserialize)]
    struct Put<'a> {
        quantity: u32,
        #[serde(borrow)]
        note: std::borrow::Cow<'a, str>,
    }
    let put: Put<'_> = req.json().unwrap();
    assert_eq!((put.quantity, &*put.note), (3, "say \"hi\""));
    let official: aws_lambda_events::apigw::ApiGatewayProxyRequest =
        serde_json::from_slice(&event).unwrap();
    assert_eq!(
        official
            .multi_value_query_string_parameters
            .all("tag")
            .unwrap(),
        ["a", "b"]
    );

    let answer = answer(&event, |_, _| {
        Ok(Response::new(204)
            .header("x-a", "1")
            .header("x-a", "2")
            .cookie("s=1")
            .cookie("t=2"))
    });
    assert_eq!(
        answer,
        serde_json::json!({
            "statusCode": 204,
            "headers": {"x-a": "1, 2"},
            "multiValueHeaders": {"x-a": ["1", "2"], "set-cookie": ["s=1", "t=2"]},
            "body": "",
            "isBase64Encoded": false
        })
    );
}

#[test]
fn an_alb_request_is_decoded_and_answered_in_its_header_mode_with_a_status_description() {
    let event = fixture("alb_multi.json");
    let req = Request::from_event(&event).unwrap();
    assert_eq!(req.source(), Source::Alb { multi_value: true });
    assert_eq!(
        req.query_all("query").collect::<Vec<_>>(),
        ["1234ABCD", "Zoë x"],
        "decoded"
    );
    assert_eq!(req.context().source_ip, "72.12.164.125");
    assert_eq!(req.cookie("cookie-name"), Some("cookie-value"));
    assert!(!req.is_health_check());
    let official: aws_lambda_events::alb::AlbTargetGroupRequest =
        serde_json::from_slice(&event).unwrap();
    assert_eq!(official.http_method.as_str(), req.method());
    let multi = answer(&event, |_, _| {
        Ok(Response::new(200)
            .header("content-type", "text/html")
            .cookie("a=1")
            .cookie("b=2")
            .body("<h1>hi</h1>"))
    });
    assert_eq!(
        multi,
        serde_json::json!({
            "statusCode": 200,
            "statusDescription": "200 OK",
            "multiValueHeaders": {"content-type": ["text/html"], "set-cookie": ["a=1", "b=2"]},
            "body": "<h1>hi</h1>",
            "isBase64Encoded": false
        })
    );
    let health = fixture("alb_health.json");
    let req = Request::from_event(&health).unwrap();
    assert_eq!(req.source(), Source::Alb { multi_value: false });
    assert!(req.is_health_check());
    let single = answer(&health, |_, _| {
        Ok(Response::new(404).header("x-a", "1").header("x-a", "2"))
    });
    assert_eq!(
        single,
        serde_json::json!({
            "statusCode": 404,
            "statusDescription": "404 Not Found",
            "headers": {"x-a": "1, 2"},
            "body": "",
            "isBase64Encoded": false
        })
    );
    let stream = http::call(&health, &Context::default(), |_, _| {
        Ok(Response::new(200).stream(|out| Ok(out.write_all(b"x")?)))
    });
    assert_eq!(
        stream.unwrap_err().error_type(),
        "Runtime.InvalidResponse",
        "an ALB takes no stream"
    );
}

#[test]
fn an_event_of_no_http_source_is_refused_naming_what_was_seen() {
    let sqs = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sqs_event.json"
    ))
    .unwrap();
    let err = Request::from_event(&sqs).unwrap_err();
    assert_eq!(err.error_type(), "Runtime.InvalidEvent");
    assert!(
        err.message().contains("not an HTTP event") && err.message().contains("[Records]"),
        "{}",
        err.message()
    );
    let err = Request::from_event(b"[1,2]").unwrap_err();
    assert!(
        err.message().contains("not an HTTP event's JSON"),
        "{}",
        err.message()
    );
}

#[test]
fn text_without_escapes_is_borrowed_from_the_event() {
    let event = fixture("http_api_jwt.json");
    let req = Request::from_event(&event).unwrap();
    let inside = |s: &str| event.as_ptr_range().contains(&s.as_ptr());
    assert!(
        inside(req.method()) && inside(req.raw_path()) && inside(req.header("accept").unwrap())
    );
    assert!(
        !inside(req.header("x-note").unwrap()),
        "an escape forced a copy"
    );
}

#[test]
fn a_streamed_answer_is_the_prelude_eight_nuls_then_the_events_byte_for_byte() {
    let api = FakeApi::start();
    api.push_event(event("r1", fixture("function_url.json")).like_lambda());
    runtime(&api)
        .step(|event, ctx| {
            http::call(event, ctx, |req, _| {
                let who = req.query("parameter2").unwrap_or("").to_owned();
                Ok(Response::new(200)
                    .header("content-type", "text/event-stream")
                    .cookie("seen=1")
                    .stream(move |out| {
                        write!(out, "data: hello {who}\n\n")?;
                        out.write_all(b"event: done\ndata: bye\n\n")?;
                        Ok(())
                    }))
            })
        })
        .unwrap();
    let post = &api.wait_for(2)[1];
    assert_eq!(
        post.header("content-type"),
        Some("application/vnd.awslambda.http-integration-response")
    );
    assert_eq!(
        post.header("lambda-runtime-function-response-mode"),
        Some("streaming")
    );
    let mut want = br#"{"statusCode":200,"headers":{"content-type":"text/event-stream"},"cookies":["seen=1"]}"#.to_vec();
    want.extend_from_slice(&[0; 8]);
    want.extend_from_slice("data: hello Zoë \"q\"\n\nevent: done\ndata: bye\n\n".as_bytes());
    assert_eq!(post.body, want);
    assert_eq!(
        post.chunks.len(),
        3,
        "the prelude, then each write as written"
    );
}

#[cfg(feature = "http-types")]
#[test]
fn requests_and_responses_convert_to_and_from_the_http_crates_types() {
    let event = fixture("rest_api.json");
    let req = Request::from_event(&event).unwrap();
    let converted = req.to_http().unwrap();
    assert_eq!(converted.method(), "PUT");
    assert_eq!(converted.uri().path(), "/orders/42");
    assert_eq!(converted.uri().query(), Some("tag=a&tag=b&q=caf%C3%A9"));
    let multi: Vec<_> = converted.headers().get_all("x-multi").iter().collect();
    assert_eq!(multi, ["first", "second"]);
    assert_eq!(converted.body(), req.body());
    let from: Response = ::http::Response::builder()
        .status(302)
        .header("location", "/next")
        .header("set-cookie", "a=1")
        .header("set-cookie", "b=2")
        .body(b"moved".to_vec())
        .unwrap()
        .into();
    let answer = answer(&event, |_, _| Ok(from));
    assert_eq!(answer["statusCode"], 302);
    assert_eq!(
        answer["multiValueHeaders"]["set-cookie"],
        serde_json::json!(["a=1", "b=2"])
    );
    assert_eq!(answer["headers"]["location"], "/next");
}
