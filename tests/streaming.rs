//! Response streaming against the fake Runtime API, which reads chunked request bodies chunk
//! by chunk as they arrive: framing and headers, chunks sent as written, error trailers, the
//! HTTP integration prelude, the connection kept, refusals and drops mid-stream.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly
mod support;
use std::io::Write;
use std::time::Duration;

use base64::Engine;
use lambda_lite::Response as Answer;
use lambda_lite::{Context, Error, ResponseStream};
use support::*;

fn decode_error_body(b64: &str) -> serde_json::Value {
    let json = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("the error body trailer is base64");
    serde_json::from_slice(&json).expect("the error body trailer is the error JSON")
}

#[test]
fn writes_go_out_as_separate_chunks_while_the_handler_runs() {
    let api = FakeApi::start();
    api.push_event(event("r1", "go"));
    let mut handler = |_: &[u8], _: &Context, out: &mut ResponseStream| {
        out.write_all(b"a")?;
        // Had the runtime buffered, this would wait forever (and fail after the deadline).
        api.wait_for_chunks(1);
        out.write_all(b"bb")?;
        std::thread::sleep(Duration::from_millis(30));
        out.write_all(b"ccc")?;
        api.wait_for_chunks(3);
        Ok(())
    };
    step_streaming(&mut runtime(&api), &mut handler).unwrap();
    let reqs = api.wait_for(2);
    let post = &reqs[1];
    assert_eq!(post.path, "/2018-06-01/runtime/invocation/r1/response");
    assert_eq!(post.header("transfer-encoding"), Some("chunked"));
    assert_eq!(
        post.header("lambda-runtime-function-response-mode"),
        Some("streaming")
    );
    assert_eq!(
        post.header("trailer"),
        Some("Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body")
    );
    assert_eq!(post.header("content-length"), None);
    assert_eq!(post.chunks, [1, 2, 3]);
    assert_eq!(post.body_str(), "abbccc");
    assert!(post.trailers.is_empty(), "{:?}", post.trailers);
}

#[test]
fn formatted_writes_are_one_chunk_each_and_empty_writes_none() {
    let api = FakeApi::start();
    api.push_event(event("r1", "x"));
    let mut handler = |_: &[u8], ctx: &Context, out: &mut ResponseStream| {
        write!(out, "data: {} {}\n\n", ctx.request_id, 42)?;
        out.write_all(b"")?;
        out.flush()?;
        write!(out, "plain")?;
        Ok(())
    };
    step_streaming(&mut runtime(&api), &mut handler).unwrap();
    let post = &api.wait_for(2)[1];
    assert_eq!(post.chunks, [13, 5]);
    assert_eq!(post.body_str(), "data: r1 42\n\nplain");
}

#[test]
fn an_error_after_the_first_byte_ends_the_stream_with_the_trailers() {
    let api = FakeApi::start();
    api.push_event(event("r1", "x"));
    let mut handler = |_: &[u8], _: &Context, out: &mut ResponseStream| {
        out.write_all(b"partial output")?;
        Err(Error::new("UpstreamGone", "the model stopped answering"))
    };
    step_streaming(&mut runtime(&api), &mut handler).unwrap();
    let reqs = api.wait_for(2);
    assert_eq!(reqs.len(), 2, "no /error after a started stream");
    let post = &reqs[1];
    assert_eq!(post.path, "/2018-06-01/runtime/invocation/r1/response");
    assert_eq!(post.body_str(), "partial output");
    assert_eq!(
        post.trailer("lambda-runtime-function-error-type"),
        Some("Function.UpstreamGone")
    );
    assert_eq!(
        decode_error_body(post.trailer("lambda-runtime-function-error-body").unwrap()),
        serde_json::json!({"errorType": "UpstreamGone", "errorMessage": "the model stopped answering", "stackTrace": []})
    );
}

#[test]
fn a_panic_after_the_first_byte_ends_the_stream_with_the_trailers() {
    let api = FakeApi::start();
    api.push_event(event("r1", "x"));
    api.push_event(event("r2", "after"));
    let mut handler = |e: &[u8], _: &Context, out: &mut ResponseStream| {
        out.write_all(b"half")?;
        if e == b"x" {
            panic!("stream exploded");
        }
        Ok(())
    };
    let mut rt = runtime(&api);
    step_streaming(&mut rt, &mut handler).unwrap();
    step_streaming(&mut rt, &mut handler).unwrap();
    let reqs = api.wait_for(4);
    assert_eq!(
        reqs[1].trailer("lambda-runtime-function-error-type"),
        Some("Runtime.HandlerPanic")
    );
    let json = decode_error_body(
        reqs[1]
            .trailer("lambda-runtime-function-error-body")
            .unwrap(),
    );
    assert!(
        json["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("stream exploded"),
        "{json}"
    );
    assert_eq!(reqs[3].body_str(), "half", "the next event is served");
    assert!(reqs[3].trailers.is_empty());
}

#[test]
fn an_error_before_any_byte_goes_to_error() {
    let api = FakeApi::start();
    api.push_event(event("r1", "x").header("Lambda-Runtime-Invocation-Id", "n1"));
    let mut handler =
        |_: &[u8], _: &Context, _: &mut ResponseStream| Err(Error::new("BadInput", "no prompt"));
    step_streaming(&mut runtime(&api), &mut handler).unwrap();
    let post = &api.wait_for(2)[1];
    assert_eq!(post.path, "/2018-06-01/runtime/invocation/r1/error");
    assert_eq!(post.header("lambda-runtime-invocation-id"), Some("n1"));
    assert_eq!(post.header("transfer-encoding"), None);
    assert_eq!(
        post.header("lambda-runtime-function-error-type"),
        Some("Function.BadInput")
    );
}

#[test]
fn an_empty_stream_is_a_head_and_the_last_chunk() {
    let api = FakeApi::start();
    api.push_event(event("r1", "x"));
    step_streaming(
        &mut runtime(&api),
        &mut |_: &[u8], _: &Context, _: &mut ResponseStream| Ok(()),
    )
    .unwrap();
    let post = &api.wait_for(2)[1];
    assert_eq!(post.header("transfer-encoding"), Some("chunked"));
    assert!(post.chunks.is_empty() && post.body.is_empty());
}

#[test]
fn http_prelude_then_eight_nuls_then_the_body_byte_for_byte() {
    let api = FakeApi::start();
    api.push_event(event("r1", "x"));
    let mut handler = |_: &[u8], _: &Context, out: &mut ResponseStream| {
        out.start_http(
            200,
            &[
                ("content-type", "text/event-stream"),
                ("cache-control", "no-cache"),
            ],
            &["session=1; Secure"],
        )?;
        out.write_all(b"data: one\n\n")?;
        out.write_all(b"data: two\n\n")?;
        assert!(
            out.start_http(500, &[], &[]).is_err(),
            "a prelude after the body"
        );
        Ok(())
    };
    step_streaming(&mut runtime(&api), &mut handler).unwrap();
    let post = &api.wait_for(2)[1];
    assert_eq!(
        post.header("content-type"),
        Some("application/vnd.awslambda.http-integration-response")
    );
    let mut want = br#"{"statusCode":200,"headers":{"content-type":"text/event-stream","cache-control":"no-cache"},"cookies":["session=1; Secure"]}"#.to_vec();
    want.extend_from_slice(&[0; 8]);
    assert_eq!(
        post.chunks[0],
        want.len(),
        "the prelude and its NULs are one chunk"
    );
    want.extend_from_slice(b"data: one\n\ndata: two\n\n");
    assert_eq!(post.body, want);
}

#[test]
fn the_connection_is_kept_after_a_stream() {
    let api = FakeApi::start();
    let mut rt = runtime(&api);
    let mut streaming = |e: &[u8], _: &Context, out: &mut ResponseStream| {
        out.write_all(e)?;
        Ok(())
    };
    for i in 0..5 {
        api.push_event(event(&format!("s{i}"), format!("stream {i}")));
        step_streaming(&mut rt, &mut streaming).unwrap();
        api.push_event(event(&format!("b{i}"), format!("buffered {i}")));
        rt.step(&mut echo).unwrap();
    }
    let reqs = api.wait_for(20);
    assert_eq!(reqs[17].body_str(), "stream 4");
    assert_eq!(reqs[19].body_str(), "buffered 4");
    assert_eq!(api.connections(), 1);
}

#[test]
fn a_413_in_mid_stream_is_logged_and_the_next_event_served() {
    let api = FakeApi::start();
    api.push(event("r1", "x").reply());
    api.push(Reply::MidStream(
        100_000,
        Box::new(
            Response::new(413, r#"{"errorType":"RequestEntityTooLarge"}"#)
                .close_after()
                .reply(),
        ),
    ));
    api.push_event(event("r2", "next"));
    let mut write_errors = 0;
    let mut handler = |e: &[u8], _: &Context, out: &mut ResponseStream| {
        if e == b"x" {
            let block = vec![b'z'; 64 * 1024];
            for _ in 0..400 {
                if out.write_all(&block).is_err() {
                    write_errors += 1;
                    return Err(Error::msg("the stream was refused"));
                }
            }
            Ok(())
        } else {
            out.write_all(e)?;
            Ok(())
        }
    };
    let mut rt = runtime(&api);
    step_streaming(&mut rt, &mut handler).unwrap();
    step_streaming(&mut rt, &mut handler).unwrap();
    let reqs = api.wait_for(4);
    assert_eq!(write_errors, 1, "the writes after the refusal fail");
    let posts: Vec<&str> = reqs
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(
        posts,
        [
            "/2018-06-01/runtime/invocation/r1/response",
            "/2018-06-01/runtime/invocation/r2/response"
        ],
        "never a second answer to r1"
    );
    assert_eq!(reqs[3].body_str(), "next");
}

#[test]
fn a_close_in_mid_stream_loses_that_answer_only() {
    let api = FakeApi::start();
    api.push(event("r1", "x").reply());
    api.push(Reply::MidStream(10, Box::new(Reply::Close)));
    api.push_event(event("r2", "next"));
    let mut handler = |e: &[u8], _: &Context, out: &mut ResponseStream| {
        out.write_all(b"first chunk, more than ten bytes")?;
        if e == b"x" {
            // Wait until the server has read what it wanted and hung up.
            api.wait_for_closes(1);
            let mut failed = false;
            for _ in 0..50 {
                if out.write_all(&[b'y'; 4096]).is_err() {
                    failed = true;
                    break;
                }
            }
            assert!(failed, "writes to a closed stream fail");
            assert!(out.write_all(b"again").is_err(), "and keep failing");
        }
        Ok(())
    };
    let mut rt = runtime(&api);
    step_streaming(&mut rt, &mut handler).unwrap();
    step_streaming(&mut rt, &mut handler).unwrap();
    let reqs = api.wait_for(4);
    assert_eq!(reqs.iter().filter(|r| r.method == "POST").count(), 2);
    assert_eq!(reqs[3].path, "/2018-06-01/runtime/invocation/r2/response");
    assert_eq!(reqs[3].body_str(), "first chunk, more than ten bytes");
    assert_eq!(api.connections(), 2);
}

#[test]
fn a_kept_connection_closed_during_the_handler_is_replaced_before_the_first_chunk() {
    let api = FakeApi::start();
    // The server closes the connection right after the event (as an idle timeout would).
    api.push(event("r1", "x").close_after().reply());
    api.push(accepted());
    let mut handler = |_: &[u8], _: &Context, out: &mut ResponseStream| {
        api.wait_for_closes(1);
        api.wait_for_a_client_to_see_a_close();
        out.write_all(b"one")?;
        out.write_all(b"two")?;
        Ok(())
    };
    step_streaming(&mut runtime(&api), &mut handler).unwrap();
    let reqs = api.wait_for(2);
    assert_eq!(reqs[1].body_str(), "onetwo");
    assert_eq!(reqs[1].connection, 1);
}

#[test]
fn abort_mode_panic_mid_stream_ends_it_with_the_trailers_before_dying() {
    let api = FakeApi::start();
    api.push(event("doomed", "panic").reply());
    api.push(accepted());
    let (status, stderr) = wait_exit(spawn_fixture("abort", &api.address(), "stream"));
    assert!(!status.success(), "abort kills the process");
    let reqs = api.wait_for(2);
    assert_eq!(reqs.len(), 2, "no /error: the stream carries the failure");
    let post = &reqs[1];
    assert_eq!(post.path, "/2018-06-01/runtime/invocation/doomed/response");
    assert_eq!(post.body_str(), "partial");
    assert_eq!(
        post.trailer("lambda-runtime-function-error-type"),
        Some("Runtime.HandlerPanic")
    );
    let json = decode_error_body(post.trailer("lambda-runtime-function-error-body").unwrap());
    assert!(
        json["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("boom mid-stream"),
        "{json}"
    );
    assert!(stderr.contains("boom mid-stream"), "{stderr}");
}

#[test]
fn twenty_mib_stream_with_flat_memory() {
    let api = FakeApi::start();
    api.push_event(event("small", "big:1"));
    let child = spawn_fixture("unwind", &api.address(), "stream");
    let pid = child.id();
    api.wait_for(3); // the 1 MiB stream was answered and the next /next is waiting
    let after_one = vm_hwm_kib(pid);
    api.push_event(event("large", "big:20"));
    let reqs = api.wait_for(5);
    let after_twenty = vm_hwm_kib(pid);
    api.push(Response::new(500, "stop").reply());
    let _ = wait_exit(child);
    assert_eq!(reqs[1].body.len(), 1 << 20);
    assert_eq!(reqs[3].body.len(), 20 << 20);
    assert!(reqs[3].chunks.iter().all(|&c| c == 64 * 1024));
    assert!(
        after_twenty <= after_one + 512,
        "peak RSS grew from {after_one} KiB to {after_twenty} KiB over a 20 MiB stream"
    );
}

#[test]
fn one_handler_answers_buffered_or_streamed_per_invocation_on_one_connection() {
    let api = FakeApi::start();
    let mut rt = runtime(&api);
    let mut handler = |event: &[u8], _: &Context| {
        if event.starts_with(b"stream") {
            return Ok(Answer::stream(|event, ctx, out| {
                out.write_all(ctx.request_id.as_bytes())?;
                out.write_all(b" ")?;
                out.write_all(event)?;
                Ok(())
            }));
        }
        Ok(Answer::from([b"whole ", event].concat()))
    };
    for (id, body) in [("b1", "tiny"), ("s1", "stream me"), ("b2", "{\"ok\":1}")] {
        api.push_event(event(id, body));
        rt.step(&mut handler).unwrap();
    }
    let reqs = api.wait_for(6);
    let buffered = [&reqs[1], &reqs[5]];
    for (post, want) in buffered.into_iter().zip(["whole tiny", "whole {\"ok\":1}"]) {
        assert_eq!(post.body_str(), want);
        assert_eq!(
            post.header("content-length"),
            Some(&*want.len().to_string())
        );
        assert_eq!(post.header("transfer-encoding"), None);
        assert_eq!(post.header("lambda-runtime-function-response-mode"), None);
        assert_eq!(post.header("trailer"), None);
    }
    let streamed = &reqs[3];
    assert_eq!(streamed.path, "/2018-06-01/runtime/invocation/s1/response");
    assert_eq!(streamed.body_str(), "s1 stream me");
    assert_eq!(streamed.chunks, [2, 1, 9]);
    assert_eq!(streamed.header("content-length"), None);
    assert_eq!(streamed.header("transfer-encoding"), Some("chunked"));
    assert_eq!(
        streamed.header("lambda-runtime-function-response-mode"),
        Some("streaming")
    );
    assert_eq!(api.connections(), 1);
}

#[test]
fn a_stream_body_borrows_state_that_outlives_the_handler() {
    let api = FakeApi::start();
    let greeting = String::from("hello from init");
    let mut rt = runtime(&api);
    api.push_event(event("r1", "x"));
    rt.step(|_, _| {
        Ok(Answer::stream(|_, _, out| {
            out.write_all(greeting.as_bytes())?;
            Ok(())
        }))
    })
    .unwrap();
    assert_eq!(api.wait_for(2)[1].body_str(), "hello from init");
}
