//! Lambda Managed Instances: N workers, each on its own connection, against the fake Runtime
//! API holding several connections at once (routed: `/next` answers handed out to whichever
//! connection asks, posts accepted).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly
mod support;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use support::*;

fn spawn(panic: &'static str, api: &FakeApi, mode: &str, workers: &str) -> std::process::Child {
    spawn_fixture_with(
        panic,
        &api.address(),
        mode,
        &[("AWS_LAMBDA_MAX_CONCURRENCY", workers)],
    )
}

fn nexts(reqs: &[Recorded]) -> Vec<&Recorded> {
    reqs.iter()
        .filter(|r| r.path.ends_with("/invocation/next"))
        .collect()
}

/// Waits until `n` requests matched `pred`.
fn wait_until(api: &FakeApi, n: usize, pred: impl Fn(&Recorded) -> bool) -> Vec<Recorded> {
    api.wait_until(|reqs| reqs.iter().filter(|r| pred(r)).count() >= n)
}

/// Waits until every queued reply has been handed out.
fn wait_taken(api: &FakeApi) {
    let deadline = Instant::now() + WAIT;
    while api.replies_left() > 0 {
        assert!(Instant::now() < deadline, "replies not taken");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn stop(api: &FakeApi, child: std::process::Child) -> (std::process::ExitStatus, String) {
    api.push(Response::new(500, "stop").reply());
    wait_exit(child)
}

#[test]
fn each_worker_waits_in_next_on_its_own_connection_and_answers_come_in_any_order() {
    let api = FakeApi::routed();
    let child = spawn("unwind", &api, "concurrent", "4");
    let reqs = wait_until(&api, 4, |r| r.path.ends_with("/invocation/next"));
    let connections: HashSet<usize> = nexts(&reqs).iter().map(|r| r.connection).collect();
    assert_eq!(connections.len(), 4, "{reqs:#?}");
    assert_eq!(
        thread_count(child.id()),
        4,
        "one thread per worker, the main one included"
    );
    for i in 0..4 {
        api.push(
            event(
                &format!("r{i}"),
                format!("sleep:{}:answer {i}", 40 - 10 * i),
            )
            .reply(),
        );
    }
    let reqs = wait_until(&api, 4, |r| r.method == "POST");
    for i in 0..4 {
        let post = reqs
            .iter()
            .find(|r| r.path == format!("/2018-06-01/runtime/invocation/r{i}/response"))
            .expect("answered");
        assert_eq!(post.body_str(), format!("answer {i}"));
    }
    stop(&api, child);
}

#[test]
fn eight_workers_answer_3200_events_of_random_sizes_exactly_once() {
    let api = FakeApi::routed();
    let child = spawn("unwind", &api, "concurrent", "8");
    let mut rng = Seeded::new(0x1234_5678_9abc_def1);
    let mut want = HashMap::new();
    for i in 0..3200 {
        let x = rng.next();
        let size = match x % 100 {
            0 => 100_000 + (x % 300_000) as usize,
            1..=9 => 2049 + (x % 20_000) as usize,
            _ => (x % 2048) as usize,
        };
        let payload: String = (0..size)
            .map(|j| (b'a' + ((x as usize + j) % 26) as u8) as char)
            .collect();
        let id = format!("ev-{i}");
        api.push(
            event(&id, format!("sleep:{}:{payload}", x % 3))
                .like_lambda()
                .reply(),
        );
        want.insert(id, payload);
    }
    let reqs = wait_until(&api, 3200, |r| r.method == "POST");
    let posts: Vec<&Recorded> = reqs.iter().filter(|r| r.method == "POST").collect();
    assert_eq!(posts.len(), 3200, "no answer twice");
    let mut seen = HashSet::new();
    for post in posts {
        let id = post
            .path
            .strip_prefix("/2018-06-01/runtime/invocation/")
            .and_then(|p| p.strip_suffix("/response"))
            .expect("a response");
        assert!(seen.insert(id.to_owned()), "{id} answered twice");
        assert_eq!(post.body_str(), want[id], "{id}");
    }
    let connections: HashSet<usize> = reqs.iter().map(|r| r.connection).collect();
    assert_eq!(connections.len(), 8, "one keep-alive connection per worker");
    stop(&api, child);
}

#[test]
fn a_slow_handler_does_not_hold_back_the_others() {
    let api = FakeApi::routed();
    let child = spawn("unwind", &api, "concurrent", "4");
    wait_until(&api, 4, |r| r.path.ends_with("/invocation/next"));
    api.push(event("slow", "sleep:3000:slow").reply());
    wait_taken(&api);
    for i in 0..30 {
        api.push(event(&format!("quick{i}"), "sleep:1:quick").reply());
    }
    let reqs = wait_until(&api, 30, |r| r.method == "POST" && r.path.contains("quick"));
    assert!(
        !reqs
            .iter()
            .any(|r| r.method == "POST" && r.path.contains("slow")),
        "30 quick events were answered while the slow one still ran"
    );
    wait_until(&api, 1, |r| r.method == "POST" && r.path.contains("slow"));
    stop(&api, child);
}

#[test]
fn a_panic_in_one_worker_is_reported_and_it_serves_on() {
    let api = FakeApi::routed();
    let child = spawn("unwind", &api, "concurrent", "2");
    api.push(event("p", "panic").reply());
    for i in 0..10 {
        api.push(event(&format!("ok{i}"), format!("fine {i}")).reply());
    }
    let reqs = wait_until(&api, 11, |r| r.method == "POST");
    let errors: Vec<&Recorded> = reqs.iter().filter(|r| r.path.ends_with("/error")).collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].path, "/2018-06-01/runtime/invocation/p/error");
    assert_eq!(
        errors[0].header("lambda-runtime-function-error-type"),
        Some("Runtime.HandlerPanic")
    );
    // Both workers are still there, waiting.
    wait_until(&api, 13, |r| r.path.ends_with("/invocation/next"));
    stop(&api, child);
}

#[test]
fn abort_mode_panic_reports_are_per_worker() {
    let api = FakeApi::routed();
    let child = spawn("abort", &api, "concurrent", "2");
    wait_until(&api, 2, |r| r.path.ends_with("/invocation/next"));
    // One worker is inside a handler for `long` when the other panics for `doomed`.
    api.push(event("long", "sleep:2000:x").reply());
    wait_taken(&api);
    api.push(event("doomed", "panic").reply());
    let (status, _) = wait_exit(child);
    assert!(!status.success(), "abort ends the process");
    let reqs = api.requests();
    let errors: Vec<&str> = reqs
        .iter()
        .filter(|r| r.path.ends_with("/error"))
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(errors, ["/2018-06-01/runtime/invocation/doomed/error"]);
}

#[test]
fn a_500_to_one_worker_ends_the_process() {
    let api = FakeApi::routed();
    let child = spawn("unwind", &api, "concurrent", "4");
    api.push_post(Response::new(500, r#"{"errorType":"InternalServerError"}"#).reply());
    api.push(event("r1", "x").reply());
    let (status, stderr) = wait_exit(child);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("POST /response answered 500"), "{stderr}");
}

#[test]
fn when_every_worker_has_lost_its_connection_the_process_exits() {
    let api = FakeApi::routed();
    let child = spawn("unwind", &api, "concurrent", "3");
    wait_until(&api, 3, |r| r.path.ends_with("/invocation/next"));
    drop(api);
    let (status, stderr) = wait_exit(child);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.matches("a worker stops: GET /next failed").count(),
        3,
        "{stderr}"
    );
    assert!(stderr.contains("no worker is left"), "{stderr}");
}

#[test]
fn the_trace_variable_is_never_touched_under_concurrency() {
    let api = FakeApi::routed();
    let child = spawn("unwind", &api, "concurrent", "2");
    api.push(
        event("t", "trace")
            .header(
                "Lambda-Runtime-Trace-Id",
                "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
            )
            .reply(),
    );
    let reqs = wait_until(&api, 1, |r| r.method == "POST");
    let post = reqs.iter().find(|r| r.method == "POST").unwrap();
    assert_eq!(post.body_str(), "<unset>");
    stop(&api, child);
}

#[test]
fn log_lines_carry_their_own_workers_request_id() {
    let api = FakeApi::routed();
    let child = spawn_fixture_with(
        "unwind",
        &api.address(),
        "concurrent",
        &[
            ("AWS_LAMBDA_MAX_CONCURRENCY", "2"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ],
    );
    wait_until(&api, 2, |r| r.path.ends_with("/invocation/next"));
    api.push(event("id-a", "log:a").reply());
    api.push(event("id-b", "log:b").reply());
    wait_until(&api, 2, |r| r.method == "POST");
    let (_, stderr) = stop(&api, child);
    let mut lines = 0;
    for line in stderr
        .lines()
        .filter(|l| l.contains("before") || l.contains("after"))
    {
        let json: serde_json::Value = serde_json::from_str(line).expect(line);
        let message = json["message"].as_str().unwrap();
        let id = json["requestId"].as_str().unwrap();
        assert!(message.ends_with(id), "{line}");
        lines += 1;
    }
    assert_eq!(lines, 4, "{stderr}");
}

#[test]
fn one_time_init_runs_once_and_every_worker_shares_its_state() {
    let api = FakeApi::routed();
    let child = spawn("unwind", &api, "concurrent-init", "4");
    wait_until(&api, 4, |r| r.path.ends_with("/invocation/next"));
    for i in 0..8 {
        api.push(event(&format!("r{i}"), "x").reply());
    }
    let reqs = wait_until(&api, 8, |r| r.method == "POST");
    let bodies: HashSet<&str> = reqs
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.body_str())
        .collect();
    assert_eq!(bodies.len(), 1, "one state: {bodies:?}");
    assert!(
        bodies
            .iter()
            .next()
            .unwrap()
            .starts_with("init ran 1 time(s) at 0x")
    );
    let connections: HashSet<usize> = reqs.iter().map(|r| r.connection).collect();
    assert_eq!(connections.len(), 4);
    stop(&api, child);
}

#[test]
fn streaming_handlers_work_under_concurrency() {
    let api = FakeApi::routed();
    let child = spawn("unwind", &api, "concurrent-stream", "3");
    for i in 0..9 {
        api.push(event(&format!("s{i}"), format!("stream number {i}")).reply());
    }
    let reqs = wait_until(&api, 9, |r| r.method == "POST");
    for post in reqs.iter().filter(|r| r.method == "POST") {
        assert_eq!(post.header("transfer-encoding"), Some("chunked"));
        assert_eq!(post.chunks.len(), 2);
        assert!(post.body_str().starts_with("stream number"));
    }
    stop(&api, child);
}

#[test]
fn unset_zero_one_or_junk_is_the_one_loop_with_no_thread() {
    for workers in [None, Some("0"), Some("1"), Some("eight"), Some("-3")] {
        let api = FakeApi::routed();
        let env: Vec<(&str, &str)> = workers
            .map(|w| ("AWS_LAMBDA_MAX_CONCURRENCY", w))
            .into_iter()
            .collect();
        let child = spawn_fixture_with("unwind", &api.address(), "concurrent", &env);
        api.push(event("r1", "who").reply());
        wait_until(&api, 2, |r| r.path.ends_with("/invocation/next"));
        assert_eq!(thread_count(child.id()), 1, "{workers:?}");
        let reqs = api.requests();
        assert_eq!(
            reqs[1].body_str(),
            "main",
            "{workers:?}: served on the main thread"
        );
        stop(&api, child);
    }
}
