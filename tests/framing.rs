//! Event bodies arrive intact whatever the framing and however the bytes are cut.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly
mod support;
use support::*;

fn round_trip(response: Response) -> Recorded {
    let api = FakeApi::start();
    api.push_event(response);
    runtime(&api).step(&mut echo).expect("step");
    let reqs = api.wait_for(2);
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].path, "/2018-06-01/runtime/invocation/next");
    reqs[1].clone()
}

fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    Seeded::new(seed).bytes(len)
}

#[test]
fn content_length_event_is_echoed() {
    let post = round_trip(event("r1", r#"{"hello":"world"}"#));
    assert_eq!(post.method, "POST");
    assert_eq!(post.path, "/2018-06-01/runtime/invocation/r1/response");
    assert_eq!(post.body_str(), r#"{"hello":"world"}"#);
    assert_eq!(post.header("content-length"), Some("17"));
}

#[test]
fn chunked_event_with_one_chunk_is_decoded() {
    let body = pseudo_random(100 * 1024, 1);
    let post = round_trip(event("r1", body.clone()).like_lambda());
    assert_eq!(post.body, body);
}

#[test]
fn chunked_event_with_many_chunks_extensions_and_trailers_is_decoded() {
    let body = pseudo_random(10_000, 2);
    let post = round_trip(event("r1", body.clone()).framing(Framing::Chunked {
        chunk: 777,
        fancy: true,
    }));
    assert_eq!(post.body, body);
}

#[test]
fn one_byte_writes_are_reassembled() {
    let post = round_trip(event("r1", "tiny").delivery(Delivery::ByteAtATime));
    assert_eq!(post.body_str(), "tiny");
    let body = pseudo_random(3000, 3);
    let post = round_trip(
        event("r2", body.clone())
            .framing(Framing::Chunked {
                chunk: 100,
                fancy: true,
            })
            .delivery(Delivery::ByteAtATime),
    );
    assert_eq!(post.body, body);
}

#[test]
fn ragged_writes_are_reassembled() {
    for seed in 1..5 {
        let body = pseudo_random(50_000, seed);
        let framing = if seed % 2 == 0 {
            Framing::Length
        } else {
            Framing::Chunked {
                chunk: 4096,
                fancy: seed == 3,
            }
        };
        let post = round_trip(
            event("r", body.clone())
                .framing(framing)
                .delivery(Delivery::Ragged(seed)),
        );
        assert_eq!(post.body, body, "seed {seed}");
    }
}

#[test]
fn six_mib_event_round_trips_byte_for_byte() {
    let body = pseudo_random(6 * 1024 * 1024, 4);
    let post = round_trip(event("big", body.clone()).like_lambda());
    assert_eq!(post.body.len(), body.len());
    assert!(post.body == body);
    let post = round_trip(event("big2", body.clone()).framing(Framing::Length));
    assert!(post.body == body);
}

#[test]
fn body_until_close_is_read_and_the_connection_replaced() {
    let api = FakeApi::start();
    api.push_event(event("r1", "no length").framing(Framing::UntilClose));
    runtime(&api).step(&mut echo).expect("step");
    let reqs = api.wait_for(2);
    assert_eq!(reqs[1].body_str(), "no length");
    assert_eq!(reqs[1].connection, 1, "the post went over a new connection");
}

#[test]
fn header_names_match_in_any_case() {
    let api = FakeApi::start();
    api.push_event(
        Response::new(200, "x")
            .header("LAMBDA-RUNTIME-AWS-REQUEST-ID", "upper")
            .header("lambda-runtime-deadline-ms", "1"),
    );
    api.push_event(Response::new(200, "y").header("lAmBdA-RuNtImE-aWs-ReQuEsT-iD", "mixed"));
    let mut rt = runtime(&api);
    rt.step(&mut echo).unwrap();
    rt.step(&mut echo).unwrap();
    let reqs = api.wait_for(4);
    assert_eq!(
        reqs[1].path,
        "/2018-06-01/runtime/invocation/upper/response"
    );
    assert_eq!(
        reqs[3].path,
        "/2018-06-01/runtime/invocation/mixed/response"
    );
}

#[test]
fn oversized_event_is_answered_with_an_error_and_the_next_is_served() {
    let api = FakeApi::start();
    // A head announcing 9 MiB, and no body: the runtime must refuse without reading or allocating.
    api.push(Reply::Partial(
        b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: huge\r\nContent-Length: 9437184\r\n\r\n".to_vec(),
    ));
    api.push(accepted());
    api.push_event(event("after", "fine"));
    let mut rt = runtime(&api);
    rt.step(&mut echo).unwrap();
    rt.step(&mut echo).unwrap();
    let reqs = api.wait_for(4);
    assert_eq!(reqs[1].path, "/2018-06-01/runtime/invocation/huge/error");
    let err: serde_json::Value = serde_json::from_slice(&reqs[1].body).unwrap();
    assert_eq!(err["errorType"], "Runtime.InvalidEvent");
    assert!(
        err["errorMessage"]
            .as_str()
            .unwrap()
            .contains("larger than 8 MiB")
    );
    assert_eq!(reqs[3].body_str(), "fine");
}

#[test]
fn truncated_event_is_answered_with_an_error() {
    let api = FakeApi::start();
    api.push(Reply::Partial(
        b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: cut\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nonly".to_vec(),
    ));
    api.push(accepted());
    runtime(&api).step(&mut echo).unwrap();
    let reqs = api.wait_for(2);
    assert_eq!(reqs[1].path, "/2018-06-01/runtime/invocation/cut/error");
    assert!(
        reqs[1]
            .body_str()
            .contains("closed in the middle of the body")
    );
}
