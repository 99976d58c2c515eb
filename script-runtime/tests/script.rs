//! script-runtime: shell functions and executables, unchanged, against the fake Runtime API
//! (the crate's own, shared from its tests/).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly
#[path = "../../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use support::*;

/// A fresh task root holding `files` (name, contents, executable?).
fn task_root(test: &str, files: &[(&str, &str, bool)]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("script-tests")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, contents, exec) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        if *exec {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    dir
}

fn start(api: &FakeApi, root: &Path, handler: &str, shell: Option<&str>) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_script-runtime"));
    cmd.env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("LAMBDA_TASK_ROOT", root)
        .env("_HANDLER", handler)
        .env_remove("_X_AMZN_TRACE_ID")
        .stderr(Stdio::piped());
    if let Some(sh) = shell {
        cmd.env("SCRIPT_RUNTIME_SHELL", sh);
    }
    cmd.spawn().unwrap()
}

/// Serves `events` then refuses /next with 403 so the runtime exits; returns the posts in
/// order and the runtime's stderr.
fn serve_responses(
    root: &Path,
    handler: &str,
    shell: Option<&str>,
    events: Vec<Response>,
) -> (Vec<Recorded>, String) {
    let api = FakeApi::start();
    for e in events {
        api.push_event(e);
    }
    api.push(Response::new(403, "").reply());
    let (status, stderr) = wait_exit(start(&api, root, handler, shell));
    assert_eq!(status.code(), Some(1), "exits on the 403: {stderr}");
    let posts = api
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    (posts, stderr)
}

/// [`serve_responses`] for plain events (id, body), framed as the service frames them.
fn serve(
    root: &Path,
    handler: &str,
    shell: Option<&str>,
    events: &[(&str, Vec<u8>)],
) -> (Vec<Recorded>, String) {
    let events = events
        .iter()
        .map(|(id, body)| event(id, body.clone()).like_lambda())
        .collect();
    serve_responses(root, handler, shell, events)
}

fn tutorial_root(test: &str) -> PathBuf {
    let function = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/scripts/function.sh"
    ))
    .unwrap();
    task_root(test, &[("function.sh", &function, false)])
}

#[test]
fn tutorial_handler_works_unchanged() {
    let root = tutorial_root("tutorial");
    let (posts, stderr) = serve(
        &root,
        "function.handler",
        None,
        &[("r1", br#"{"key1":"value1"}"#.to_vec())],
    );
    assert_eq!(posts[0].path, "/2018-06-01/runtime/invocation/r1/response");
    assert_eq!(
        posts[0].body_str(),
        r#"Echoing request: '{"key1":"value1"}'"#
    );
    assert!(
        stderr.contains(r#"{"key1":"value1"}"#),
        "the handler's stderr reaches the log: {stderr}"
    );
}

#[test]
fn tutorial_handler_works_under_plain_sh_too() {
    let root = task_root(
        "posix",
        &[("function.sh", "handler() { echo \"posix: $1\"; }\n", false)],
    );
    let (posts, _) = serve(
        &root,
        "function.handler",
        Some("sh"),
        &[("r1", b"hi\nthere".to_vec())],
    );
    assert_eq!(posts[0].body_str(), "posix: hi\nthere");
}

#[test]
fn top_level_init_runs_once_across_events() {
    let script = "echo sourced >> \"$LAMBDA_TASK_ROOT/init.log\"\nCOUNT=0\nhandler() { COUNT=$((COUNT+1)); echo \"call $COUNT\"; }\n";
    let root = task_root("init-once", &[("function.sh", script, false)]);
    let events: Vec<_> = (0..3)
        .map(|i| (["a", "b", "c"][i], b"{}".to_vec()))
        .collect();
    let (posts, _) = serve(&root, "function.handler", None, &events);
    let bodies: Vec<_> = posts.iter().map(|p| p.body_str().to_owned()).collect();
    assert_eq!(bodies, ["call 1", "call 2", "call 3"]);
    assert_eq!(
        std::fs::read_to_string(root.join("init.log")).unwrap(),
        "sourced\n"
    );
}

#[test]
fn non_zero_status_is_an_error_with_the_stderr_and_the_next_event_is_served() {
    let script = "set -euo pipefail\nhandler() { if [ \"$1\" = bad ]; then echo \"cannot handle $1\" >&2; return 3; fi; echo ok; }\n";
    let root = task_root("status", &[("function.sh", script, false)]);
    let (posts, _) = serve(
        &root,
        "function.handler",
        None,
        &[("a", b"bad".to_vec()), ("b", b"good".to_vec())],
    );
    assert_eq!(posts[0].path, "/2018-06-01/runtime/invocation/a/error");
    assert_eq!(
        posts[0].header("lambda-runtime-function-error-type"),
        Some("Function.ExitStatus3")
    );
    let err: serde_json::Value = serde_json::from_slice(&posts[0].body).unwrap();
    assert_eq!(err["errorType"], "Function.ExitStatus3");
    assert_eq!(err["errorMessage"], "cannot handle bad");
    assert_eq!(posts[1].body_str(), "ok");
}

#[test]
fn handler_that_kills_its_shell_is_reported_and_the_shell_restarted() {
    let script = "echo sourced >> \"$LAMBDA_TASK_ROOT/init.log\"\n\
                  handler() { case \"$1\" in exit) echo leaving >&2; exit 7;; kill) kill -9 $$;; esac; echo \"alive $1\"; }\n";
    let root = task_root("restart", &[("function.sh", script, false)]);
    let events = [
        ("a", b"exit".to_vec()),
        ("b", b"one".to_vec()),
        ("c", b"kill".to_vec()),
        ("d", b"two".to_vec()),
    ];
    let (posts, _) = serve(&root, "function.handler", None, &events);
    assert_eq!(posts[0].path, "/2018-06-01/runtime/invocation/a/error");
    let err: serde_json::Value = serde_json::from_slice(&posts[0].body).unwrap();
    assert_eq!(err["errorType"], "Function.ExitStatus7");
    assert_eq!(err["errorMessage"], "leaving");
    assert_eq!(posts[1].body_str(), "alive one");
    assert_eq!(posts[2].path, "/2018-06-01/runtime/invocation/c/error");
    assert_eq!(posts[3].body_str(), "alive two");
    assert_eq!(
        std::fs::read_to_string(root.join("init.log")).unwrap(),
        "sourced\nsourced\nsourced\n"
    );
}

#[test]
fn syntax_error_at_call_time_is_an_error_not_a_crash() {
    let script = "handler() { eval 'if then fi'; }\nother() { echo fine; }\n";
    let root = task_root("syntax", &[("function.sh", script, false)]);
    let (posts, _) = serve(&root, "function.handler", None, &[("a", b"x".to_vec())]);
    assert_eq!(posts[0].path, "/2018-06-01/runtime/invocation/a/error");
    assert!(
        posts[0].body_str().contains("syntax error"),
        "{}",
        posts[0].body_str()
    );
}

fn init_error(test: &str, files: &[(&str, &str, bool)], handler: &str) -> serde_json::Value {
    let root = task_root(test, files);
    let api = FakeApi::start();
    api.push(accepted());
    let (status, stderr) = wait_exit(start(&api, &root, handler, None));
    assert_eq!(status.code(), Some(1), "{stderr}");
    let reqs = api.wait_for(1);
    assert_eq!(reqs.len(), 1, "nothing but /init/error");
    assert_eq!(reqs[0].path, "/2018-06-01/runtime/init/error");
    serde_json::from_slice(&reqs[0].body).unwrap()
}

#[test]
fn init_errors_are_posted_to_init_error() {
    let err = init_error("missing", &[], "function.handler");
    assert_eq!(err["errorType"], "Runtime.HandlerNotFound");
    assert!(
        err["errorMessage"]
            .as_str()
            .unwrap()
            .contains("function.sh"),
        "{err}"
    );

    let root_dir = task_root("not-a-file", &[]);
    std::fs::create_dir_all(root_dir.join("function.sh")).unwrap();
    let api = FakeApi::start();
    api.push(accepted());
    let (status, _) = wait_exit(start(&api, &root_dir, "function.handler", None));
    assert_eq!(status.code(), Some(1));
    assert!(api.wait_for(1)[0].body_str().contains("not a regular file"));

    let err = init_error(
        "nofunc",
        &[("function.sh", "other() { :; }\n", false)],
        "function.handler",
    );
    assert_eq!(err["errorType"], "Runtime.HandlerNotFound");
    assert!(
        err["errorMessage"]
            .as_str()
            .unwrap()
            .contains("does not define a function handler"),
        "{err}"
    );

    let err = init_error(
        "source-fails",
        &[("function.sh", "echo 'no config' >&2\nfalse\n", false)],
        "function.handler",
    );
    assert_eq!(err["errorType"], "Runtime.InitScriptError");
    let msg = err["errorMessage"].as_str().unwrap();
    assert!(
        msg.contains("failed with status 1") && msg.contains("no config"),
        "{msg}"
    );

    let err = init_error(
        "source-exits",
        &[("function.sh", "exit 4\n", false)],
        "function.handler",
    );
    assert_eq!(err["errorType"], "Runtime.InitScriptError");
    assert!(
        err["errorMessage"]
            .as_str()
            .unwrap()
            .contains("exit status: 4"),
        "{err}"
    );

    let err = init_error("bad-handler", &[], "nodot");
    assert_eq!(err["errorType"], "Runtime.NoSuchHandler");

    let root = task_root("no-handler", &[]);
    let api = FakeApi::start();
    api.push(accepted());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_script-runtime"));
    cmd.env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("LAMBDA_TASK_ROOT", &root)
        .env_remove("_HANDLER");
    let (status, _) = wait_exit(cmd.stderr(Stdio::piped()).spawn().unwrap());
    assert_eq!(status.code(), Some(1));
    assert!(
        api.wait_for(1)[0]
            .body_str()
            .contains("_HANDLER is not set")
    );
}

#[test]
fn events_arrive_intact_unicode_quotes_newlines_and_one_mib() {
    let root = task_root(
        "bytes",
        &[("function.sh", "handler() { printf '%s' \"$1\"; }\n", false)],
    );
    let big: Vec<u8> = (0..1024 * 1024)
        .map(|i| b"abcdefghij\"'$`\\ \n\t{}"[i % 20])
        .chain(*b"end")
        .collect();
    let events = [
        (
            "u",
            "héllo wörld ✓ 😀 \"quoted\" 'single' $HOME `cmd` \\n"
                .as_bytes()
                .to_vec(),
        ),
        ("n", b"line1\nline2\n\nline4".to_vec()),
        ("z", b"a\0b\0c".to_vec()),
        ("big", big.clone()),
    ];
    let (posts, _) = serve(&root, "function.handler", None, &events);
    assert_eq!(posts[0].body, events[0].1);
    assert_eq!(posts[1].body, events[1].1);
    assert_eq!(
        posts[2].body_str(),
        "abc",
        "NUL bytes are removed in shell mode"
    );
    assert_eq!(posts[3].body.len(), big.len());
    assert!(posts[3].body == big);
}

#[test]
fn context_variables_and_trace_are_set_then_cleared() {
    let script = "handler() { echo \"$LAMBDA_REQUEST_ID|${_X_AMZN_TRACE_ID:-unset}|$LAMBDA_INVOKED_FUNCTION_ARN|${#LAMBDA_DEADLINE_MS}\"; }\n";
    let root = task_root("context", &[("function.sh", script, false)]);
    let events = vec![
        event("t1", "{}").header("Lambda-Runtime-Trace-Id", "Root=1-abc;Sampled=1"),
        event("t2", "{}"),
    ];
    let (posts, _) = serve_responses(&root, "function.handler", None, events);
    assert_eq!(
        posts[0].body_str(),
        "t1|Root=1-abc;Sampled=1|arn:aws:lambda:us-east-1:123456789012:function:f|13"
    );
    assert_eq!(
        posts[1].body_str(),
        "t2|unset|arn:aws:lambda:us-east-1:123456789012:function:f|13"
    );
}

#[test]
fn executable_mode_runs_sh_and_python_scripts_per_event() {
    let sh = "#!/bin/sh\nread -r line\necho \"sh got $line for $LAMBDA_REQUEST_ID trace=${_X_AMZN_TRACE_ID:-unset}\"\n[ \"$line\" != fail ] || { echo 'told to fail' >&2; exit 5; }\n";
    let py = "#!/usr/bin/env python3\nimport json, os, sys\nevent = json.load(sys.stdin)\nprint(json.dumps({'sum': sum(event['n']), 'id': os.environ['LAMBDA_REQUEST_ID']}), end='')\n";
    let root = task_root(
        "exec",
        &[("handler.sh", sh, true), ("bin/handler.py", py, true)],
    );
    let events = vec![
        event("e1", "hello\n").header("Lambda-Runtime-Trace-Id", "Root=1-x"),
        event("e2", "fail\n"),
    ];
    let (posts, _) = serve_responses(&root, "handler.sh", None, events);
    assert_eq!(
        posts[0].body_str(),
        "sh got hello for e1 trace=Root=1-x\n",
        "stdout byte for byte"
    );
    assert_eq!(posts[1].path, "/2018-06-01/runtime/invocation/e2/error");
    assert_eq!(
        posts[1].header("lambda-runtime-function-error-type"),
        Some("Function.ExitStatus5")
    );
    assert!(posts[1].body_str().contains("told to fail"));

    let (posts, _) = serve(
        &root,
        "bin/handler.py",
        None,
        &[("p1", br#"{"n":[1,2,3]}"#.to_vec())],
    );
    assert_eq!(posts[0].body_str(), r#"{"sum": 6, "id": "p1"}"#);
}
