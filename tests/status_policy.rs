//! What the runtime does with each status of each endpoint.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly
mod support;
use support::*;

fn next_status(status: u16) -> Result<(), lambda_lite::Fatal> {
    let api = FakeApi::start();
    api.push(Response::new(status, r#"{"errorType":"X","errorMessage":"m"}"#).reply());
    runtime(&api).step(&mut echo)
}

#[test]
fn next_500_403_and_404_are_fatal() {
    for status in [500, 403, 404] {
        let err = next_status(status).unwrap_err();
        assert!(
            err.message().contains(&format!("answered {status}")),
            "{err}"
        );
        assert!(err.message().contains("errorMessage"), "body quoted: {err}");
    }
}

#[test]
fn any_2xx_on_post_is_success() {
    for status in [200, 202, 204] {
        let api = FakeApi::start();
        api.push(event("r1", "x").reply());
        api.push(Response::new(status, "").reply());
        let mut rt = runtime(&api);
        rt.step(&mut echo)
            .unwrap_or_else(|e| panic!("{status}: {e}"));
        // The answer was posted once, where the Runtime API documents it, and the runtime goes
        // on: the next event on the same connection.
        api.push_event(event("r2", "next"));
        rt.step(&mut echo)
            .unwrap_or_else(|e| panic!("{status}: {e}"));
        let reqs = api.wait_for(4);
        assert_eq!(
            (reqs[1].method.as_str(), reqs[1].path.as_str()),
            ("POST", "/2018-06-01/runtime/invocation/r1/response"),
            "{status}"
        );
        assert_eq!(reqs[1].body_str(), "x", "{status}");
        assert_eq!(reqs[3].body_str(), "next", "{status}");
        assert_eq!(
            api.connections(),
            1,
            "{status}: a success keeps the connection"
        );
    }
}

fn post_status(status: u16, fail: bool) -> (Result<(), lambda_lite::Fatal>, FakeApi) {
    let api = FakeApi::start();
    api.push(event("r1", "x").reply());
    api.push(Response::new(status, r#"{"errorType":"InvokeTimeout"}"#).reply());
    let mut handler = |e: &[u8], _: &lambda_lite::Context| {
        if fail {
            Err(lambda_lite::Error::msg("no"))
        } else {
            Ok(e.to_vec())
        }
    };
    let result = runtime(&api).step(&mut handler);
    (result, api)
}

#[test]
fn post_500_is_fatal_on_response_and_on_error() {
    for fail in [false, true] {
        let (result, _api) = post_status(500, fail);
        let err = result.unwrap_err();
        let what = if fail {
            "POST /error answered 500"
        } else {
            "POST /response answered 500"
        };
        assert!(err.message().starts_with(what), "{err}");
    }
}

#[test]
fn post_400_403_410_413_are_logged_and_the_next_event_is_served() {
    for status in [400, 403, 410, 413] {
        for fail in [false, true] {
            let (result, api) = post_status(status, fail);
            // Not fatal: Lambda refused this answer (its invocation is over), not the runtime.
            result.unwrap_or_else(|e| panic!("{status} {fail}: {e}"));
            let mut rt = runtime(&api);
            api.push_event(event("r2", "next"));
            rt.step(&mut echo).unwrap();
            assert_eq!(api.wait_for(4)[3].body_str(), "next");
        }
    }
}

#[test]
fn next_without_request_id_is_reported_and_never_answered() {
    let api = FakeApi::start();
    api.push(Response::new(200, "orphan").reply());
    api.push_event(event("r2", "next"));
    let mut rt = runtime(&api);
    let mut calls = 0;
    let mut handler = |e: &[u8], _: &lambda_lite::Context| {
        calls += 1;
        Ok(e.to_vec())
    };
    rt.step(&mut handler).unwrap();
    rt.step(&mut handler).unwrap();
    let reqs = api.wait_for(3);
    assert_eq!(calls, 1, "the handler never saw the orphan event");
    assert_eq!(reqs.iter().filter(|r| r.method == "POST").count(), 1);
    assert_eq!(reqs[2].path, "/2018-06-01/runtime/invocation/r2/response");
}

#[test]
fn malformed_head_on_next_is_fatal() {
    let api = FakeApi::start();
    api.push(Reply::Partial(b"SSH-2.0-nope\r\n\r\n".to_vec()));
    let err = runtime(&api).step(&mut echo).unwrap_err();
    assert!(
        err.message()
            .contains("GET /next failed: malformed HTTP head"),
        "{err}"
    );
}
