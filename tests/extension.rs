//! Extensions against the fake Runtime API's extension endpoints (routed mode): registration,
//! typed events in order, SHUTDOWN ending the loop and the process, init and exit errors, and
//! the Telemetry API (a subscription, then batches pushed to the listener: with a length,
//! chunked, malformed, large, too large).
#![cfg(feature = "extension")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly
mod support;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lambda_lite::Error;
use lambda_lite::extension::{
    Event, EventType, Extension, InvokeEvent, ShutdownEvent, TelemetryRecord,
    TelemetrySubscription, TelemetryType,
};
use support::*;

fn invoke_event(id: &str) -> Reply {
    Response::new(
        200,
        format!(
            r#"{{"eventType":"INVOKE","deadlineMs":1700000000123,"requestId":"{id}","invokedFunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:f","tracing":{{"type":"X-Amzn-Trace-Id","value":"Root=1-abc;Parent=def;Sampled=1"}}}}"#
        ),
    )
    .header("Lambda-Extension-Event-Identifier", "ev-1")
    .reply()
}

fn shutdown_event(reason: &str) -> Reply {
    Response::new(
        200,
        format!(
            r#"{{"eventType":"SHUTDOWN","deadlineMs":1700000002000,"shutdownReason":"{reason}"}}"#
        ),
    )
    .reply()
}

#[test]
fn registration_sends_the_name_and_events_and_reads_the_answer() {
    let api = FakeApi::routed();
    let ext = Extension::register_at(
        &api.address(),
        "my-extension",
        &[EventType::Invoke, EventType::Shutdown],
    )
    .unwrap();
    let reqs = api.wait_for(1);
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path, "/2020-01-01/extension/register");
    assert_eq!(
        reqs[0].header("lambda-extension-name"),
        Some("my-extension")
    );
    assert_eq!(reqs[0].header("content-type"), Some("application/json"));
    assert_eq!(reqs[0].body_str(), r#"{"events":["INVOKE","SHUTDOWN"]}"#);
    let reg = ext.registration();
    assert_eq!(reg.extension_id, "ext-1");
    assert_eq!(
        (
            reg.function_name.as_str(),
            reg.function_version.as_str(),
            reg.handler.as_str()
        ),
        ("f", "$LATEST", "bootstrap")
    );
    assert_eq!(reg.account_id, None);
}

#[test]
fn events_arrive_typed_and_in_order_and_nothing_follows_shutdown() {
    let api = FakeApi::routed();
    let mut ext = Extension::register_at(
        &api.address(),
        "e",
        &[EventType::Invoke, EventType::Shutdown],
    )
    .unwrap();
    api.push_extension_event(invoke_event("req-1"));
    api.push_extension_event(invoke_event("req-2"));
    api.push_extension_event(shutdown_event("spindown"));
    let first = ext.next_event().unwrap();
    assert_eq!(
        first,
        Event::Invoke(InvokeEvent {
            request_id: "req-1".into(),
            deadline_ms: 1_700_000_000_123,
            invoked_function_arn: "arn:aws:lambda:us-east-1:123456789012:function:f".into(),
            xray_trace_id: Some("Root=1-abc;Parent=def;Sampled=1".into()),
        })
    );
    assert!(matches!(ext.next_event().unwrap(), Event::Invoke(e) if e.request_id == "req-2"));
    assert_eq!(
        ext.next_event().unwrap(),
        Event::Shutdown(ShutdownEvent {
            shutdown_reason: "spindown".into(),
            deadline_ms: 1_700_000_002_000,
        })
    );
    assert!(ext.next_event().is_err());
    let reqs = api.requests();
    let polls: Vec<&Recorded> = reqs
        .iter()
        .filter(|r| r.path.ends_with("/event/next"))
        .collect();
    assert_eq!(polls.len(), 3, "no request after SHUTDOWN");
    for poll in polls {
        assert_eq!(poll.method, "GET");
        assert_eq!(poll.path, "/2020-01-01/extension/event/next");
        assert_eq!(poll.header("lambda-extension-identifier"), Some("ext-1"));
        assert_eq!(
            poll.connection, reqs[0].connection,
            "one keep-alive connection"
        );
    }
}

#[test]
fn init_and_exit_errors_are_posted_with_the_identifier() {
    let api = FakeApi::routed();
    let mut ext = Extension::register_at(&api.address(), "e", &[EventType::Shutdown]).unwrap();
    ext.init_error(&Error::new("Extension.ConfigMissing", "no API key"))
        .unwrap();
    ext.exit_error(&Error::new("UploadFailed", "the sink refused"))
        .unwrap();
    let reqs = api.wait_for(3);
    assert_eq!(reqs[1].path, "/2020-01-01/extension/init/error");
    assert_eq!(reqs[1].header("lambda-extension-identifier"), Some("ext-1"));
    assert_eq!(
        reqs[1].header("lambda-extension-function-error-type"),
        Some("Extension.ConfigMissing")
    );
    let json: serde_json::Value = serde_json::from_slice(&reqs[1].body).unwrap();
    assert_eq!(json["errorMessage"], "no API key");
    assert_eq!(reqs[2].path, "/2020-01-01/extension/exit/error");
    assert_eq!(
        reqs[2].header("lambda-extension-function-error-type"),
        Some("Extension.UploadFailed")
    );
}

#[test]
fn a_refused_registration_is_an_error() {
    let api = FakeApi::start();
    api.push(Response::new(403, r#"{"errorType":"Extension.RegistrationClosed"}"#).reply());
    let err = Extension::register_at(&api.address(), "late", &[EventType::Shutdown]).unwrap_err();
    assert!(err.message().contains("answered 403"), "{err}");
}

#[test]
fn the_example_extension_logs_each_event_and_exits_0_after_shutdown() {
    let api = FakeApi::routed();
    let log = scratch_file("extension-log");
    api.push_extension_event(invoke_event("a1"));
    api.push_extension_event(invoke_event("a2"));
    api.push_extension_event(shutdown_event("timeout"));
    let child = std::process::Command::new(example("extension", "extension"))
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("EXTENSION_LOG", &log)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (status, stderr) = wait_exit(child);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "{\"eventType\":\"INVOKE\",\"requestId\":\"a1\"}\n{\"eventType\":\"INVOKE\",\"requestId\":\"a2\"}\n{\"eventType\":\"SHUTDOWN\",\"shutdownReason\":\"timeout\"}\n"
    );
    let reqs = api.requests();
    assert_eq!(
        reqs[0].header("lambda-extension-name"),
        Some("extension"),
        "registered under its file name"
    );
    assert_eq!(
        reqs.iter()
            .filter(|r| r.path.ends_with("/event/next"))
            .count(),
        3
    );
}

#[test]
fn an_extension_whose_handler_fails_posts_exit_error_and_exits_1() {
    let api = FakeApi::routed();
    api.push_extension_event(invoke_event("a1"));
    let child = std::process::Command::new(example("extension", "extension"))
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env_remove("EXTENSION_LOG")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (status, stderr) = wait_exit(child);
    assert_eq!(status.code(), Some(1), "{stderr}");
    let reqs = api.requests();
    let exit = reqs
        .iter()
        .find(|r| r.path.ends_with("/exit/error"))
        .expect("exit/error");
    assert_eq!(
        exit.header("lambda-extension-function-error-type"),
        Some("Extension.ConfigInvalid")
    );
}

fn push_batch(addr: std::net::SocketAddr, request: &[u8]) -> (String, TcpStream) {
    let mut stream = TcpStream::connect(("127.0.0.1", addr.port())).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed without an answer");
        answer.extend_from_slice(&buf[..n]);
    }
    let status = String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap()
        .to_owned();
    (status, stream)
}

fn post(body: &[u8]) -> Vec<u8> {
    [
        format!(
            "POST / HTTP/1.1\r\nHost: sandbox.localdomain\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
        body,
    ]
    .concat()
}

const REPORT: &str = r#"{"time":"2026-12-01T10:00:00.000Z","type":"platform.report","record":{"requestId":"r-1","status":"success","metrics":{"durationMs":12.5,"billedDurationMs":13,"memorySizeMB":128,"maxMemoryUsedMB":15,"initDurationMs":3.25}}}"#;

#[test]
fn telemetry_subscription_then_pushed_batches() {
    let api = FakeApi::routed();
    let mut ext = Extension::register_at(&api.address(), "tele", &[EventType::Shutdown]).unwrap();
    let (tx, rx) = mpsc::channel();
    let subscription = TelemetrySubscription::default()
        .types(&[TelemetryType::Platform, TelemetryType::Function])
        .buffering(2000, 262_144, 100)
        .listen("127.0.0.1:0".parse().unwrap());
    let addr = ext
        .subscribe_telemetry(&subscription, move |t| tx.send(t).unwrap())
        .unwrap();
    let reqs = api.wait_for(2);
    assert_eq!(reqs[1].method, "PUT");
    assert_eq!(reqs[1].path, "/2022-07-01/telemetry");
    assert_eq!(reqs[1].header("lambda-extension-identifier"), Some("ext-1"));
    let sub: serde_json::Value = serde_json::from_slice(&reqs[1].body).unwrap();
    assert_eq!(
        sub,
        serde_json::json!({
            "schemaVersion": "2025-01-29",
            "types": ["platform", "function"],
            "buffering": {"maxItems": 2000, "maxBytes": 262144, "timeoutMs": 100},
            "destination": {"protocol": "HTTP", "URI": format!("http://sandbox.localdomain:{}", addr.port())}
        })
    );
    let recv = || rx.recv_timeout(WAIT).expect("a record");

    // With a length: three kinds of records, in order, on one kept connection.
    let batch = format!(
        r#"[{{"time":"t0","type":"platform.initStart","record":{{"initializationType":"on-demand","phase":"init"}}}},{REPORT},{{"time":"t2","type":"function","record":"hello from the function"}}]"#
    );
    let (status, mut kept) = push_batch(addr, &post(batch.as_bytes()));
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(
        recv().record,
        TelemetryRecord::PlatformInitStart {
            initialization_type: "on-demand".into(),
            phase: "init".into()
        }
    );
    let report = recv();
    assert_eq!(report.record_type, "platform.report");
    let TelemetryRecord::PlatformReport(r) = report.record else {
        panic!("{report:?}")
    };
    assert_eq!(
        (r.request_id.as_str(), r.status.as_str()),
        ("r-1", "success")
    );
    assert_eq!(r.metrics.duration_ms, 12.5);
    assert_eq!(r.metrics.billed_duration_ms, 13);
    assert_eq!(
        (r.metrics.memory_size_mb, r.metrics.max_memory_used_mb),
        (128, 15)
    );
    assert_eq!(r.metrics.init_duration_ms, Some(3.25));
    assert_eq!(
        recv().record,
        TelemetryRecord::Function(serde_json::json!("hello from the function"))
    );

    // Chunked, with a trailer, on the same connection.
    let body = format!("[{REPORT}]");
    let (a, b) = body.split_at(40);
    let chunked = format!(
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x};ext=1\r\n{b}\r\n0\r\nX-Sum: 1\r\n\r\n",
        a.len(),
        b.len()
    );
    kept.write_all(chunked.as_bytes()).unwrap();
    let mut answer = [0u8; 256];
    let n = kept.read(&mut answer).unwrap();
    assert!(answer[..n].starts_with(b"HTTP/1.1 200 OK"));
    assert!(matches!(recv().record, TelemetryRecord::PlatformReport(_)));

    // Malformed: answered 400, dropped, and the listener serves on.
    let (status, _) = push_batch(addr, &post(b"{\"not\":\"an array\""));
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    let (status, _) = push_batch(addr, b"GARBAGE\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 400 Bad Request");

    // Large: 5,000 records (about 1.3 MB), all delivered in order.
    let many: Vec<String> = (0..5000)
        .map(|i| REPORT.replace("\"r-1\"", &format!("\"r-{i}\"")))
        .collect();
    let (status, _) = push_batch(addr, &post(format!("[{}]", many.join(",")).as_bytes()));
    assert_eq!(status, "HTTP/1.1 200 OK");
    for i in 0..5000 {
        let TelemetryRecord::PlatformReport(r) = recv().record else {
            panic!("not a report")
        };
        assert_eq!(r.request_id, format!("r-{i}"));
    }

    // Over the cap: refused before it is read, not a crash.
    let (status, _) = push_batch(
        addr,
        b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n[",
    );
    assert_eq!(status, "HTTP/1.1 413 Payload Too Large");
    let (status, _) = push_batch(addr, &post(format!("[{REPORT}]").as_bytes()));
    assert_eq!(status, "HTTP/1.1 200 OK", "still listening");
    assert!(matches!(recv().record, TelemetryRecord::PlatformReport(_)));
    assert!(rx.try_recv().is_err(), "nothing from the refused batches");
}

#[test]
fn the_telemetry_example_prints_each_report() {
    let api = FakeApi::routed();
    let mut child = std::process::Command::new(example("telemetry", "extension"))
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let reqs = api.wait_until(|r| r.iter().any(|r| r.path.ends_with("/event/next")));
    let sub = reqs
        .iter()
        .find(|r| r.path == "/2022-07-01/telemetry")
        .expect("subscribed");
    let sub: serde_json::Value = serde_json::from_slice(&sub.body).unwrap();
    let uri = sub["destination"]["URI"].as_str().unwrap();
    let port: u16 = uri.rsplit(':').next().unwrap().parse().unwrap();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let (status, _) = push_batch(addr, &post(format!("[{REPORT}]").as_bytes()));
    assert_eq!(status, "HTTP/1.1 200 OK");
    api.push_extension_event(shutdown_event("spindown"));
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "did not exit");
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        out,
        "report r-1 success: duration 12.50 ms, billed 13 ms, memory 15/128 MB, init 3.25 ms\n"
    );
}
