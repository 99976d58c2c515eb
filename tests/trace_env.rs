//! `_X_AMZN_TRACE_ID` is set per invocation and removed when the invocation has no trace, by
//! the process's only runtime, and by no runtime where another can be running.
//! Alone in its test binary, one test: the variable and the count of runtimes are
//! process-wide, so a test running beside it in the same process would race with it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly
mod support;
use lambda_lite::Context;
use support::*;

fn read_trace(_: &[u8], _: &Context) -> lambda_lite::Result<Vec<u8>> {
    Ok(std::env::var("_X_AMZN_TRACE_ID")
        .unwrap_or("<unset>".into())
        .into_bytes())
}

#[test]
fn only_the_sole_runtime_touches_the_trace_variable() {
    const TRACE: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1";
    let api = FakeApi::start();

    // Two runtimes: neither may claim the environment, and a step leaves it alone.
    let mut first = runtime(&api);
    let second = runtime(&api);
    assert!(!first.claim_trace_env(), "claimed beside another runtime");
    api.push_event(event("r0", "").header("Lambda-Runtime-Trace-Id", TRACE));
    first.step(&mut read_trace).unwrap();
    drop(second);

    // The sole runtime claims it: set from the header, removed without one.
    assert!(first.claim_trace_env());
    api.push_event(event("r1", "").header("Lambda-Runtime-Trace-Id", TRACE));
    api.push_event(event("r2", ""));
    first.step(&mut read_trace).unwrap();
    first.step(&mut read_trace).unwrap();
    let reqs = api.wait_for(6);
    assert_eq!(
        reqs[1].body_str(),
        "<unset>",
        "set while two runtimes lived"
    );
    assert_eq!(reqs[3].body_str(), TRACE);
    assert_eq!(reqs[5].body_str(), "<unset>");

    // While it owns the environment no other runtime can start.
    let refused = lambda_lite::Runtime::new(&api.address(), Default::default())
        .err()
        .expect("a second runtime beside the owner");
    assert!(
        refused.message().contains("owns the process environment"),
        "{refused}"
    );
    drop(first);
    assert!(lambda_lite::Runtime::new(&api.address(), Default::default()).is_ok());
}
