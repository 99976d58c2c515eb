//! `_X_AMZN_TRACE_ID` is set per invocation and removed when the invocation has no trace.
//! Alone in its test binary: every `Runtime::step` writes this process-wide variable, so a test
//! running beside it in the same process would race with the handler reading it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly
mod support;
use lambda_lite::Context;
use support::*;

#[test]
fn trace_variable_is_set_then_cleared() {
    let api = FakeApi::start();
    api.push_event(event("r1", "").header(
        "Lambda-Runtime-Trace-Id",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
    ));
    api.push_event(event("r2", ""));
    let mut handler = |_: &[u8], _: &Context| {
        Ok(std::env::var("_X_AMZN_TRACE_ID")
            .unwrap_or("<unset>".into())
            .into_bytes())
    };
    let mut rt = runtime(&api);
    rt.step(&mut handler).unwrap();
    rt.step(&mut handler).unwrap();
    let reqs = api.wait_for(4);
    assert_eq!(
        reqs[1].body_str(),
        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
    );
    assert_eq!(reqs[3].body_str(), "<unset>");
}
