//! The test kit runs a function of every kind through the real loop and gives back what
//! Lambda would have: buffered, streamed, JSON, HTTP (buffered and streamed), errors, panics,
//! log lines, and the context the invocation described.

use std::io::Write;
use std::time::Duration;

use lambda_lite::testkit::{Answer, Invocation, TestLambda, samples};
use lambda_lite::{Context, Error, Response};
use serde::{Deserialize, Serialize};

#[test]
fn a_bytes_handler_answers_and_logs() {
    let mut lambda = TestLambda::new();
    let out = lambda.invoke("hello", |event: &[u8], ctx: &Context| {
        lambda_lite::info!("got {} bytes for {}", event.len(), ctx.request_id);
        Ok(event.to_ascii_uppercase())
    });
    assert_eq!(out.answer(), &Answer::Response(b"HELLO".to_vec()));
    assert!(out.is_ok());
    assert_eq!(out.logs().len(), 1);
    // Lambda's text format: time, request id, level, message.
    let fields: Vec<&str> = out.logs()[0].split('\t').collect();
    assert_eq!(
        fields[1],
        "00000000-0000-4000-8000-000000000001",
        "{:?}",
        out.logs()
    );
    assert_eq!(fields[2], "INFO");
    assert_eq!(
        fields[3],
        "got 5 bytes for 00000000-0000-4000-8000-000000000001"
    );
    // The next invocation on the same function gets its own id and its own lines.
    let out = lambda.invoke("", |_: &[u8], ctx: &Context| Ok(ctx.request_id.to_owned()));
    assert_eq!(out.body(), b"00000000-0000-4000-8000-000000000002");
    assert!(out.logs().is_empty());
}

#[test]
fn errors_and_panics_come_back_as_lambdas_error_documents() {
    let mut lambda = TestLambda::new();
    let out = lambda.invoke(
        "x",
        |_: &[u8], _: &Context| -> lambda_lite::Result<Vec<u8>> {
            Err(Error::new("OrderNotFound", "no order x"))
        },
    );
    let error = out.error().unwrap();
    assert_eq!(
        (error.error_type.as_str(), error.error_message.as_str()),
        ("OrderNotFound", "no order x")
    );
    assert!(!out.is_ok());
    assert!(out.body().is_empty());
    assert!(
        out.json::<serde_json::Value>()
            .unwrap_err()
            .contains("OrderNotFound")
    );

    let out = lambda.invoke(
        "x",
        |_: &[u8], _: &Context| -> lambda_lite::Result<Vec<u8>> { panic!("boom") },
    );
    let error = out.error().unwrap();
    assert_eq!(error.error_type, "Runtime.HandlerPanic");
    assert!(error.error_message.contains("boom"), "{error:?}");
    // The loop goes on after a panic, as on Lambda.
    let out = lambda.invoke("after", |e: &[u8], _: &Context| Ok(e.to_vec()));
    assert_eq!(out.body(), b"after");
}

#[derive(Deserialize)]
struct Greet<'a> {
    name: &'a str,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Greeting {
    message: String,
}

fn greet(event: Greet<'_>, _: &Context) -> lambda_lite::Result<Greeting> {
    Ok(Greeting {
        message: format!("hello {}", event.name),
    })
}

#[test]
fn a_json_handler_through_its_adapter() {
    let mut lambda = TestLambda::new();
    let out = lambda.invoke(r#"{"name":"Ana"}"#, |e, ctx| {
        lambda_lite::json::call(e, ctx, greet)
    });
    assert_eq!(
        out.json::<Greeting>().unwrap(),
        Greeting {
            message: "hello Ana".into()
        }
    );
    let out = lambda.invoke(r#"{"nom":"Ana"}"#, |e, ctx| {
        lambda_lite::json::call(e, ctx, greet)
    });
    assert_eq!(out.error().unwrap().error_type, "Runtime.InvalidEvent");
}

#[test]
fn a_streamed_answer_comes_back_as_its_chunks() {
    let mut lambda = TestLambda::new();
    let out = lambda.invoke("a b c", |_: &[u8], _: &Context| {
        Ok(Response::stream(|event, _ctx, out| {
            for word in event.split(|&b| b == b' ') {
                out.write_all(word)?;
            }
            Ok(())
        }))
    });
    assert_eq!(
        out.chunks().unwrap(),
        [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]
    );
    assert_eq!(out.body(), b"abc");
    assert!(out.is_ok());

    // A stream that fails part-way: what was sent, then the error in the trailers.
    let out = lambda.invoke("", |_: &[u8], _: &Context| {
        Ok(Response::stream(|_, _, out| {
            out.write_all(b"partial")?;
            Err(Error::new("Broke", "mid-stream"))
        }))
    });
    match out.answer() {
        Answer::Streamed {
            chunks,
            error: Some(error),
        } => {
            assert_eq!(chunks, &[b"partial".to_vec()]);
            assert_eq!(
                (error.error_type.as_str(), error.error_message.as_str()),
                ("Broke", "mid-stream")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_http_handler_buffered_and_streamed_on_every_http_sample() {
    use lambda_lite::http::{Request, Response as HttpResponse};
    fn hello(req: Request<'_>, _: &Context) -> lambda_lite::Result<HttpResponse> {
        Ok(HttpResponse::new(201)
            .header("content-type", "text/plain")
            .body(format!("{} {}", req.method(), req.path())))
    }
    let mut lambda = TestLambda::new();
    for sample in [
        samples::FUNCTION_URL,
        samples::HTTP_API,
        samples::REST_API,
        samples::ALB,
    ] {
        let out = lambda.invoke(sample, |e, ctx| lambda_lite::http::call(e, ctx, hello));
        let answer: serde_json::Value = out.json().unwrap();
        assert_eq!(answer["statusCode"], 201, "{answer}");
        let body = answer["body"].as_str().unwrap();
        assert!(
            body.starts_with("GET /") || body.starts_with("POST /"),
            "{body}"
        );
    }
    let out = lambda.invoke(samples::FUNCTION_URL, |e, ctx| {
        lambda_lite::http::call(e, ctx, |_req: Request<'_>, _: &Context| {
            Ok(HttpResponse::new(200).stream(|out| {
                out.write_all(b"data: 1\n\n")?;
                out.write_all(b"data: 2\n\n")?;
                Ok(())
            }))
        })
    });
    let chunks = out.chunks().unwrap();
    // The HTTP prelude and its 8-NUL separator first, then each write.
    assert!(chunks.len() >= 3, "{chunks:?}");
    assert!(
        out.body()
            .ends_with(b"\0\0\0\0\0\0\0\0data: 1\n\ndata: 2\n\n"),
        "{:?}",
        String::from_utf8_lossy(&out.body())
    );
    assert!(String::from_utf8_lossy(&out.body()).starts_with("{\"statusCode\":200"));
}

#[test]
fn the_invocation_describes_the_context() {
    let mut lambda = TestLambda::new();
    let invocation = Invocation::new("{}")
        .request_id("req-7")
        .deadline_in(Duration::from_secs(60))
        .invoked_function_arn("arn:aws:lambda:eu-west-1:123456789012:function:f:live")
        .xray_trace_id("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
        .client_context(r#"{"custom":{"k":"v"}}"#)
        .identity(r#"{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}"#)
        .tenant_id("acme");
    let seen = invocation.context();
    let out = lambda.invoke_with(invocation, |_: &[u8], ctx: &Context| {
        Ok(serde_json::json!({
            "id": ctx.request_id,
            "arn": ctx.invoked_function_arn,
            "trace": ctx.xray_trace_id,
            "tenant": ctx.tenant_id,
            "custom": ctx.client_context().map(|c| c.custom),
            "pool": ctx.identity().map(|i| i.identity_pool_id),
            "remaining_over_50s": ctx.remaining() > Duration::from_secs(50),
            "function": ctx.env_config.function_name,
        })
        .to_string())
    });
    let got: serde_json::Value = out.json().unwrap();
    assert_eq!(got["id"], "req-7");
    assert_eq!(
        got["arn"],
        "arn:aws:lambda:eu-west-1:123456789012:function:f:live"
    );
    assert_eq!(
        got["trace"],
        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
    );
    assert_eq!(got["tenant"], "acme");
    assert_eq!(got["custom"]["k"], "v");
    assert_eq!(got["pool"], "pool");
    assert_eq!(got["remaining_over_50s"], true);
    assert_eq!(got["function"], "test-function");
    // The same description as a Context for a handler called directly.
    let ctx = seen.as_context();
    assert_eq!((ctx.request_id, ctx.tenant_id), ("req-7", Some("acme")));
}

#[test]
fn kits_run_side_by_side_in_parallel_tests() {
    std::thread::scope(|s| {
        for t in 0..4 {
            s.spawn(move || {
                let mut lambda = TestLambda::new();
                for i in 0..25 {
                    let event = format!("{t}-{i}");
                    let out = lambda.invoke(&event, |e: &[u8], _: &Context| {
                        lambda_lite::info!("thread {t}");
                        Ok(e.to_vec())
                    });
                    assert_eq!(out.body(), event.as_bytes());
                    assert_eq!(out.logs().len(), 1, "each kit sees its own thread's lines");
                    assert!(out.logs()[0].ends_with(&format!("thread {t}")));
                }
            });
        }
    });
}

#[test]
fn an_alb_answer_that_can_carry_one_cookie_says_in_the_log_what_it_dropped() {
    use lambda_lite::http::{Request, Response as HttpResponse};
    // A target group without multi-value headers (the health check's event).
    let event = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/http/alb_health.json"
    ))
    .unwrap();
    let mut lambda = TestLambda::new();
    let out = lambda.invoke(&event, |e, ctx| {
        lambda_lite::http::call(e, ctx, |_req: Request<'_>, _: &Context| {
            Ok(HttpResponse::new(200)
                .cookie("a=1")
                .cookie("b=2")
                .body("ok"))
        })
    });
    let answer: serde_json::Value = out.json().unwrap();
    assert_eq!(answer["headers"]["set-cookie"], "b=2");
    assert_eq!(out.logs().len(), 1, "{:?}", out.logs());
    assert!(out.logs()[0].contains("\tWARN\t"), "{:?}", out.logs());
    assert!(
        out.logs()[0].contains("1 earlier one(s) dropped"),
        "{:?}",
        out.logs()
    );
    // One cookie fits: nothing to say.
    let out = lambda.invoke(&event, |e, ctx| {
        lambda_lite::http::call(e, ctx, |_req: Request<'_>, _: &Context| {
            Ok(HttpResponse::new(200).cookie("a=1").body("ok"))
        })
    });
    assert!(out.logs().is_empty(), "{:?}", out.logs());
}
