//! The reconnect rule: a dead kept connection is replaced once and the request resent; a
//! request whose response had started is never resent.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly
mod support;
use support::*;

#[test]
fn dead_socket_reconnects_once() {
    let api = FakeApi::start();
    api.push(event("r1", "one").reply());
    // The server accepts the answer, then drops the idle connection (as emulators do after 5 s).
    api.push(Response::new(202, "").close_after().reply());
    api.push_event(event("r2", "two"));
    let mut rt = runtime(&api);
    rt.step(&mut echo).unwrap();
    rt.step(&mut echo).unwrap();
    let reqs = api.wait_for(4);
    assert_eq!(reqs[3].body_str(), "two");
    assert_eq!((reqs[2].connection, reqs[3].connection), (1, 1));
    assert_eq!(api.connections(), 2);
}

#[test]
fn close_while_waiting_in_next_reconnects_and_waits_again() {
    let api = FakeApi::start();
    api.push(Reply::Close);
    api.push_event(event("r1", "after close"));
    runtime(&api).step(&mut echo).unwrap();
    let reqs = api.wait_for(3);
    assert_eq!(reqs[0].path, reqs[1].path, "GET /next sent again");
    assert_eq!(reqs[2].body_str(), "after close");
}

#[test]
fn second_failure_in_a_row_is_fatal_on_next() {
    let api = FakeApi::start();
    api.push(Reply::Close);
    api.push(Reply::Close);
    let err = runtime(&api).step(&mut echo).unwrap_err();
    assert!(err.message().starts_with("GET /next failed"), "{err}");
    assert_eq!(api.requests().len(), 2, "one resend only");
}

#[test]
fn started_response_is_never_resent() {
    let api = FakeApi::start();
    api.push(Reply::Partial(
        b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws".to_vec(),
    ));
    let err = runtime(&api).step(&mut echo).unwrap_err();
    assert!(err.message().starts_with("GET /next failed"), "{err}");
    assert_eq!(api.requests().len(), 1);
}

#[test]
fn post_cut_mid_response_is_not_resent_and_the_loop_goes_on() {
    let api = FakeApi::start();
    api.push(event("r1", "x").reply());
    api.push(Reply::Partial(b"HTTP/1.1 202 Acc".to_vec()));
    api.push_event(event("r2", "y"));
    let mut rt = runtime(&api);
    rt.step(&mut echo).unwrap();
    rt.step(&mut echo).unwrap();
    let reqs = api.wait_for(4);
    let posts: Vec<_> = reqs
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(
        posts,
        [
            "/2018-06-01/runtime/invocation/r1/response",
            "/2018-06-01/runtime/invocation/r2/response"
        ]
    );
}

#[test]
fn connection_close_header_is_honoured_without_a_failed_write() {
    let api = FakeApi::start();
    api.push(
        event("r1", "x")
            .header("Connection", "close")
            .close_after()
            .reply(),
    );
    api.push(accepted());
    runtime(&api).step(&mut echo).unwrap();
    let reqs = api.wait_for(2);
    assert_eq!(reqs[1].connection, 1);
    assert_eq!(reqs.len(), 2);
}

#[test]
fn one_connection_serves_many_invocations() {
    let api = FakeApi::start();
    let mut rt = runtime(&api);
    for i in 0..50 {
        api.push_event(event(&format!("r{i}"), format!("event {i}")).like_lambda());
        rt.step(&mut echo).unwrap();
    }
    assert_eq!(api.connections(), 1);
    assert_eq!(api.requests().len(), 100);
}

#[test]
fn unreachable_api_is_fatal() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut rt = lambda_lite::Runtime::new(&addr.to_string(), Default::default()).unwrap();
    let err = rt.step(&mut echo).unwrap_err();
    assert!(err.message().starts_with("GET /next failed"), "{err}");
}

#[test]
fn a_slow_next_is_waited_for_without_a_timeout() {
    // The environment can be frozen for hours inside GET /next; any read timeout would turn
    // that into a failure. 2.5 s stands in for hours (and for the 1 s some runtimes set).
    let api = FakeApi::start();
    api.push_event(event("late", "worth the wait").delay(std::time::Duration::from_millis(2500)));
    runtime(&api).step(&mut echo).unwrap();
    let reqs = api.wait_for(2);
    assert_eq!(reqs.len(), 2, "no resend, no reconnect");
    assert_eq!(reqs[1].body_str(), "worth the wait");
    assert_eq!(api.connections(), 1);
}

#[test]
fn a_closed_connection_after_an_informational_head_is_not_a_dead_one() {
    // A 100 Continue came, then the connection closed: the answer had started, never resent.
    let api = FakeApi::start();
    api.push(Reply::Partial(b"HTTP/1.1 100 Continue\r\n\r\n".to_vec()));
    let err = runtime(&api).step(&mut echo).unwrap_err();
    assert!(err.message().starts_with("GET /next failed"), "{err}");
    assert_eq!(api.requests().len(), 1, "not resent");
}
