//! Behaviour only a real process shows: exit codes, `panic = "abort"`, init errors.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly
mod support;
use support::*;

#[test]
fn abort_mode_panic_still_posts_the_error_before_dying() {
    let api = FakeApi::start();
    api.push(event("doomed", "panic").reply());
    api.push(accepted());
    let child = spawn_fixture("abort", &api.address(), "echo");
    let (status, stderr) = wait_exit(child);
    assert!(!status.success(), "abort kills the process");
    let reqs = api.wait_for(2);
    assert_eq!(reqs[1].path, "/2018-06-01/runtime/invocation/doomed/error");
    assert_eq!(
        reqs[1].header("lambda-runtime-function-error-type"),
        Some("Runtime.HandlerPanic")
    );
    let json: serde_json::Value = serde_json::from_slice(&reqs[1].body).unwrap();
    let msg = json["errorMessage"].as_str().unwrap();
    assert!(
        msg.contains("src/main.rs:") && msg.ends_with("boom in doomed"),
        "{msg}"
    );
    assert!(
        stderr.contains("boom in doomed"),
        "the panic is printed too: {stderr}"
    );
}

#[test]
fn abort_mode_serves_normally_until_a_panic() {
    let api = FakeApi::start();
    api.push_event(event("a", "hello").header("Lambda-Runtime-Invocation-Id", "n1"));
    api.push_event(event("b", "fail"));
    api.push(
        event("c", "panic")
            .header("Lambda-Runtime-Invocation-Id", "n3")
            .reply(),
    );
    api.push(accepted());
    let (status, _) = wait_exit(spawn_fixture("abort", &api.address(), "echo"));
    assert!(!status.success());
    let reqs = api.wait_for(6);
    assert_eq!(reqs[1].body_str(), "hello");
    assert_eq!(reqs[3].path, "/2018-06-01/runtime/invocation/b/error");
    assert_eq!(reqs[5].path, "/2018-06-01/runtime/invocation/c/error");
    assert_eq!(reqs[5].header("lambda-runtime-invocation-id"), Some("n3"));
}

#[test]
fn unwind_mode_panic_is_caught_and_the_process_serves_on() {
    let api = FakeApi::start();
    api.push_event(event("a", "panic"));
    api.push_event(event("b", "still alive"));
    api.push(Response::new(500, "stop").reply());
    let (status, stderr) = wait_exit(spawn_fixture("unwind", &api.address(), "echo"));
    let reqs = api.wait_for(5);
    assert_eq!(reqs[1].path, "/2018-06-01/runtime/invocation/a/error");
    assert_eq!(reqs[3].body_str(), "still alive");
    assert_eq!(
        status.code(),
        Some(1),
        "500 on /next exits with 1: {stderr}"
    );
    assert!(
        stderr.contains("\tFATAL\tlambda-lite: GET /next answered 500"),
        "{stderr}"
    );
}

#[test]
fn init_error_is_posted_then_the_process_exits_1() {
    for panic in ["unwind", "abort"] {
        let api = FakeApi::start();
        api.push(accepted());
        let (status, stderr) = wait_exit(spawn_fixture(panic, &api.address(), "init-error"));
        assert_eq!(status.code(), Some(1), "{panic}: {stderr}");
        let reqs = api.wait_for(1);
        assert_eq!(reqs.len(), 1, "no /next after an init error");
        assert_eq!(reqs[0].path, "/2018-06-01/runtime/init/error");
        assert_eq!(
            reqs[0].header("lambda-runtime-function-error-type"),
            Some("Function.ConfigInvalid")
        );
        let json: serde_json::Value = serde_json::from_slice(&reqs[0].body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"errorType": "ConfigInvalid", "errorMessage": "TABLE_NAME is not set", "stackTrace": []})
        );
    }
}

#[test]
fn init_panic_is_posted_in_both_panic_modes() {
    for panic in ["unwind", "abort"] {
        let api = FakeApi::start();
        api.push(accepted());
        let (status, stderr) = wait_exit(spawn_fixture(panic, &api.address(), "init-panic"));
        assert!(!status.success(), "{panic}: {stderr}");
        let reqs = api.wait_for(1);
        assert_eq!(reqs[0].path, "/2018-06-01/runtime/init/error");
        assert_eq!(
            reqs[0].header("lambda-runtime-function-error-type"),
            Some("Runtime.HandlerPanic")
        );
        assert!(reqs[0].body_str().contains("init exploded"), "{panic}");
    }
}

#[test]
fn post_500_exits_1() {
    let api = FakeApi::start();
    api.push(event("a", "x").reply());
    api.push(Response::new(500, r#"{"errorType":"InternalServerError"}"#).reply());
    let (status, stderr) = wait_exit(spawn_fixture("unwind", &api.address(), "echo"));
    assert_eq!(status.code(), Some(1));
    assert!(stderr.contains("POST /response answered 500"), "{stderr}");
}

#[test]
fn trace_variable_is_set_and_cleared_in_the_process_environment() {
    let api = FakeApi::start();
    api.push_event(event("a", "trace").header("Lambda-Runtime-Trace-Id", "Root=1-x;Sampled=0"));
    api.push_event(event("b", "trace"));
    api.push(Response::new(403, "").reply());
    let (status, _) = wait_exit(spawn_fixture("unwind", &api.address(), "echo"));
    assert_eq!(status.code(), Some(1), "403 on /next exits");
    let reqs = api.wait_for(5);
    assert_eq!(reqs[1].body_str(), "Root=1-x;Sampled=0");
    assert_eq!(reqs[3].body_str(), "<unset>");
}

#[test]
fn missing_or_malformed_runtime_api_exits_1_with_a_message() {
    let out = std::process::Command::new(fixture("unwind"))
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AWS_LAMBDA_RUNTIME_API is not set"));
    let out = std::process::Command::new(fixture("unwind"))
        .env("AWS_LAMBDA_RUNTIME_API", "nowhere")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("AWS_LAMBDA_RUNTIME_API=nowhere is malformed")
    );
}

#[test]
fn json_log_lines_carry_level_timestamp_and_request_id() {
    let api = FakeApi::start();
    api.push(event("req-log", "log").reply());
    api.push(Response::new(410, r#"{"errorType":"InvokeTimeout"}"#).reply());
    api.push(Response::new(500, "").reply());
    let child = std::process::Command::new(fixture("unwind"))
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_LAMBDA_LOG_LEVEL", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (status, stderr) = wait_exit(child);
    assert_eq!(status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    assert_eq!(
        lines.len(),
        3,
        "info, the 410 warning, the fatal 500; debug filtered: {stderr}"
    );
    assert_eq!(lines[0]["level"], "INFO");
    assert_eq!(lines[0]["message"], "stored \"req-log\"\nline two\u{1}");
    assert_eq!(lines[0]["requestId"], "req-log");
    let ts = lines[0]["timestamp"].as_str().unwrap();
    assert!(
        ts.len() == 24 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T',
        "{ts}"
    );
    assert_eq!(lines[1]["level"], "WARN");
    assert!(
        lines[1]["message"]
            .as_str()
            .unwrap()
            .contains("POST /response answered 410")
    );
    assert_eq!(lines[1]["requestId"], "req-log");
    assert_eq!(lines[2]["level"], "FATAL");
    assert!(
        lines[2].get("requestId").is_none(),
        "no invocation in progress"
    );
}

#[test]
fn text_log_lines_and_level_filter() {
    let api = FakeApi::start();
    api.push_event(event("req-text", "log"));
    api.push(Response::new(500, "").reply());
    let child = std::process::Command::new(fixture("unwind"))
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("AWS_LAMBDA_LOG_LEVEL", "DEBUG")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (_, stderr) = wait_exit(child);
    let lines: Vec<&str> = stderr.lines().collect();
    // The message's inner line break stays inside its one record (as `\r`).
    assert!(
        lines[0].ends_with("\treq-text\tINFO\tstored \"req-text\"\rline two\u{1}"),
        "{stderr}"
    );
    assert!(lines.iter().any(|l| l.ends_with("\treq-text\tDEBUG\thidden unless AWS_LAMBDA_LOG_LEVEL allows it")), "{stderr}");
}
