//! Graceful shutdown (an internal extension registered before the first `/next`, SIGTERM, the
//! hook) and SnapStart (hooks, `/restore/next`, connections replaced, `/restore/error`), with
//! real processes against the routed fake Runtime API.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly
mod support;

use support::*;

fn position(reqs: &[Recorded], path_end: &str) -> usize {
    reqs.iter()
        .position(|r| r.path.ends_with(path_end))
        .unwrap_or_else(|| panic!("no request to …{path_end}: {reqs:#?}"))
}

fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn the_shutdown_extension_registers_before_the_first_next_and_parks_in_event_next() {
    let api = FakeApi::routed();
    let hooks = scratch_file("register-shape");
    let child = spawn_fixture_with(
        "unwind",
        &api.address(),
        "shutdown",
        &[("HOOK_FILE", hooks.to_str().unwrap())],
    );
    let reqs = api.wait_until(|r| {
        r.iter().any(|r| r.path.ends_with("/extension/event/next"))
            && r.iter().any(|r| r.path.ends_with("/invocation/next"))
    });
    let register = &reqs[position(&reqs, "/extension/register")];
    assert_eq!(register.method, "POST");
    assert_eq!(register.path, "/2020-01-01/extension/register");
    assert_eq!(
        register.header("lambda-extension-name"),
        Some("lambda-lite-graceful-shutdown")
    );
    assert_eq!(register.body_str(), r#"{"events":[]}"#);
    assert!(
        position(&reqs, "/extension/register") < position(&reqs, "/invocation/next"),
        "registration closes at the first /next"
    );
    let parked = &reqs[position(&reqs, "/extension/event/next")];
    assert_eq!(parked.method, "GET");
    assert_eq!(parked.header("lambda-extension-identifier"), Some("ext-1"));
    assert_ne!(
        parked.connection,
        reqs[position(&reqs, "/invocation/next")].connection,
        "the extension has a connection of its own"
    );
    api.push(Response::new(500, "stop").reply());
    wait_exit(child);
}

#[test]
fn sigterm_runs_the_hook_once_and_exits_0() {
    let api = FakeApi::routed();
    let hooks = scratch_file("sigterm");
    let child = spawn_fixture_with(
        "unwind",
        &api.address(),
        "shutdown",
        &[("HOOK_FILE", hooks.to_str().unwrap())],
    );
    api.push(event("r1", "served first").reply());
    api.wait_until(|r| {
        r.iter()
            .filter(|r| r.path.ends_with("/invocation/next"))
            .count()
            == 2
            && r.iter().any(|r| r.path.ends_with("/extension/event/next"))
    });
    signal(child.id(), "TERM");
    signal(child.id(), "TERM");
    let (status, stderr) = wait_exit(child);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&hooks).unwrap(),
        "ran\n",
        "the hook ran once"
    );
    assert!(stderr.contains("termination signal received"), "{stderr}");
}

#[test]
fn without_the_hook_nothing_registers_and_sigterm_is_not_caught() {
    let api = FakeApi::routed();
    let child = spawn_fixture("unwind", &api.address(), "echo");
    api.wait_until(|r| r.iter().any(|r| r.path.ends_with("/invocation/next")));
    assert!(
        !api.requests()
            .iter()
            .any(|r| r.path.contains("/extension/")),
        "no extension registered"
    );
    signal(child.id(), "TERM");
    let (status, _) = wait_exit(child);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.signal(),
        Some(15),
        "the default disposition: killed by SIGTERM"
    );
}

fn snapstart(api: &FakeApi, mode: &str, hooks: &std::path::Path) -> std::process::Child {
    spawn_fixture_with(
        "unwind",
        &api.address(),
        mode,
        &[
            ("HOOK_FILE", hooks.to_str().unwrap()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start"),
        ],
    )
}

#[test]
fn snapstart_runs_the_hooks_around_restore_next_and_replaces_the_connection() {
    hooks_around_restore_next("snapstart");
}

#[test]
fn a_runtime_stepped_by_hand_runs_the_snapstart_hooks_too() {
    hooks_around_restore_next("snapstart-hand-driven");
}

fn hooks_around_restore_next(mode: &str) {
    let api = FakeApi::routed();
    let hooks = scratch_file(mode);
    let child = snapstart(&api, mode, &hooks);
    api.push(event("r1", "after the restore").reply());
    let reqs = api.wait_until(|r| r.iter().any(|r| r.method == "POST"));
    let restore = &reqs[position(&reqs, "/runtime/restore/next")];
    assert_eq!(restore.method, "GET");
    assert_eq!(restore.path, "/2018-06-01/runtime/restore/next");
    let next = &reqs[position(&reqs, "/invocation/next")];
    assert!(position(&reqs, "/restore/next") < position(&reqs, "/invocation/next"));
    // The fake API kept the connection open; a runtime that reused it would talk over a
    // socket that did not survive the snapshot.
    assert_ne!(
        next.connection, restore.connection,
        "a new connection after the restore"
    );
    assert_eq!(reqs[2].body_str(), "after the restore");
    assert_eq!(
        std::fs::read_to_string(&hooks).unwrap(),
        "before-2\nbefore-1\nafter-1\nafter-2\n",
        "before-snapshot hooks in reverse order, after-restore hooks in order"
    );
    api.push(Response::new(500, "stop").reply());
    wait_exit(child);
}

#[test]
fn a_failing_after_restore_hook_posts_restore_error_and_exits() {
    let api = FakeApi::routed();
    let hooks = scratch_file("snapstart-fail-after");
    let child = snapstart(&api, "snapstart-fail-after", &hooks);
    let (status, stderr) = wait_exit(child);
    assert_eq!(status.code(), Some(1), "{stderr}");
    let reqs = api.requests();
    let posted = &reqs[position(&reqs, "/runtime/restore/error")];
    assert_eq!(
        posted.header("lambda-runtime-function-error-type"),
        Some("Runtime.AfterRestoreError")
    );
    let json: serde_json::Value = serde_json::from_slice(&posted.body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"errorType": "ReconnectFailed", "errorMessage": "after-1 failed", "stackTrace": []})
    );
    assert!(!reqs.iter().any(|r| r.path.ends_with("/invocation/next")));
    assert_eq!(
        std::fs::read_to_string(&hooks).unwrap(),
        "before-2\nbefore-1\nafter-1\n",
        "the hooks after a failed one do not run"
    );
}

#[test]
fn a_failing_before_snapshot_hook_posts_init_error_and_exits() {
    let api = FakeApi::routed();
    let hooks = scratch_file("snapstart-fail-before");
    let child = snapstart(&api, "snapstart-fail-before", &hooks);
    let (status, stderr) = wait_exit(child);
    assert_eq!(status.code(), Some(1), "{stderr}");
    let reqs = api.requests();
    assert_eq!(reqs.len(), 1, "{reqs:#?}");
    assert_eq!(reqs[0].path, "/2018-06-01/runtime/init/error");
    assert_eq!(
        reqs[0].header("lambda-runtime-function-error-type"),
        Some("Function.SnapshotRefused")
    );
    assert_eq!(std::fs::read_to_string(&hooks).unwrap(), "before-2\n");
}

#[test]
fn without_snap_start_the_hooks_never_run() {
    let api = FakeApi::routed();
    let hooks = scratch_file("snapstart-off");
    let child = spawn_fixture_with(
        "unwind",
        &api.address(),
        "snapstart",
        &[
            ("HOOK_FILE", hooks.to_str().unwrap()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ],
    );
    api.push(event("r1", "x").reply());
    let reqs = api.wait_until(|r| r.iter().any(|r| r.method == "POST"));
    assert_eq!(reqs[0].path, "/2018-06-01/runtime/invocation/next");
    assert!(!reqs.iter().any(|r| r.path.contains("/restore/")));
    assert!(!hooks.exists(), "no hook ran");
    api.push(Response::new(500, "stop").reply());
    wait_exit(child);
}

#[test]
fn the_shutdown_extension_replaces_a_connection_that_fails_and_still_gets_sigterm() {
    let api = FakeApi::routed();
    let hooks = scratch_file("shutdown-reconnect");
    // The first parked request's connection dies (as after a SnapStart restore).
    api.push_extension_event(Reply::Close);
    let child = spawn_fixture_with(
        "unwind",
        &api.address(),
        "shutdown",
        &[("HOOK_FILE", hooks.to_str().unwrap())],
    );
    let reqs = api.wait_until(|r| {
        r.iter()
            .filter(|r| r.path.ends_with("/extension/event/next"))
            .count()
            == 2
    });
    let parked: Vec<usize> = reqs
        .iter()
        .filter(|r| r.path.ends_with("/extension/event/next"))
        .map(|r| r.connection)
        .collect();
    assert_ne!(parked[0], parked[1], "parked again on a new connection");
    signal(child.id(), "TERM");
    let (status, stderr) = wait_exit(child);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_eq!(std::fs::read_to_string(&hooks).unwrap(), "ran\n");
}
