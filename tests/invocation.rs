//! What one invocation sees and sends: context fields, trace variable, invocation id, paths
//! and request headers.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly
mod support;
use lambda_lite::Context;
use support::*;

#[test]
fn context_fields_come_from_the_next_headers() {
    let api = FakeApi::start();
    api.push_event(
        event("req-7", "{}")
            .header("Lambda-Runtime-Trace-Id", "Root=1-abc;Parent=def;Sampled=1")
            .header(
                "Lambda-Runtime-Client-Context",
                r#"{"client":{"app_title":"t"},"custom":{"k":"v"}}"#,
            )
            .header(
                "Lambda-Runtime-Cognito-Identity",
                r#"{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}"#,
            )
            .header("Lambda-Runtime-Aws-Tenant-Id", "tenant-a"),
    );
    let mut seen = String::new();
    let mut handler = |_: &[u8], ctx: &Context| {
        seen = format!(
            "{}|{}|{:?}|{:?}|{:?}|{:?}|{}|{}|{}",
            ctx.request_id,
            ctx.invoked_function_arn,
            ctx.xray_trace_id,
            ctx.client_context,
            ctx.identity,
            ctx.tenant_id,
            ctx.env_config.function_name,
            ctx.env_config.memory,
            ctx.remaining() > std::time::Duration::from_secs(50),
        );
        Ok(Vec::new())
    };
    runtime(&api).step(&mut handler).unwrap();
    assert_eq!(
        seen,
        r#"req-7|arn:aws:lambda:us-east-1:123456789012:function:f|Some("Root=1-abc;Parent=def;Sampled=1")|Some("{\"client\":{\"app_title\":\"t\"},\"custom\":{\"k\":\"v\"}}")|Some("{\"cognitoIdentityId\":\"id\",\"cognitoIdentityPoolId\":\"pool\"}")|Some("tenant-a")|f|128|true"#
    );
}

#[test]
fn malformed_optional_headers_never_cost_the_invocation() {
    let api = FakeApi::start();
    api.push_event(
        Response::new(200, "still runs")
            .header("Lambda-Runtime-Aws-Request-Id", "r1")
            .header("Lambda-Runtime-Deadline-Ms", "tomorrow")
            .header("Lambda-Runtime-Client-Context", r#"{"client":{"app_ti"#),
    );
    let mut deadline = None;
    let mut handler = |e: &[u8], ctx: &Context| {
        deadline = Some(ctx.deadline);
        Ok(e.to_vec())
    };
    runtime(&api).step(&mut handler).unwrap();
    assert_eq!(deadline, Some(0));
    assert_eq!(api.wait_for(2)[1].body_str(), "still runs");
}

#[test]
fn invocation_id_is_echoed_and_never_invented() {
    let api = FakeApi::start();
    api.push_event(event("r1", "ok").header("Lambda-Runtime-Invocation-Id", "f0a7c1e2-nonce"));
    api.push_event(event("r2", "fail").header("Lambda-Runtime-Invocation-Id", "second-nonce"));
    api.push_event(event("r3", "ok"));
    api.push_event(event("r4", "fail"));
    let mut handler = |e: &[u8], _: &Context| {
        if e == b"fail" {
            Err(lambda_lite::Error::msg("failed"))
        } else {
            Ok(e.to_vec())
        }
    };
    let mut rt = runtime(&api);
    for _ in 0..4 {
        rt.step(&mut handler).unwrap();
    }
    let reqs = api.wait_for(8);
    assert_eq!(reqs[1].path, "/2018-06-01/runtime/invocation/r1/response");
    assert_eq!(
        reqs[1].header("lambda-runtime-invocation-id"),
        Some("f0a7c1e2-nonce")
    );
    assert_eq!(reqs[3].path, "/2018-06-01/runtime/invocation/r2/error");
    assert_eq!(
        reqs[3].header("lambda-runtime-invocation-id"),
        Some("second-nonce")
    );
    assert_eq!(reqs[5].header("lambda-runtime-invocation-id"), None);
    assert_eq!(reqs[7].header("lambda-runtime-invocation-id"), None);
}

#[test]
fn requests_carry_host_user_agent_and_content_length() {
    let api = FakeApi::start();
    api.push_event(event("r1", "abc"));
    runtime(&api).step(&mut echo).unwrap();
    let reqs = api.wait_for(2);
    let ua = format!("lambda-lite/{}", env!("CARGO_PKG_VERSION"));
    for r in &reqs {
        assert_eq!(r.header("host"), Some(api.address().as_str()));
        assert_eq!(r.header("user-agent"), Some(ua.as_str()));
    }
    assert_eq!(reqs[0].header("content-length"), None);
    assert_eq!(reqs[1].header("content-length"), Some("3"));
}

#[test]
fn emulator_style_address_with_base_path_is_used() {
    let api = FakeApi::start();
    api.push_event(event("r1", "x"));
    let url = format!("http://{}/.rt", api.address());
    lambda_lite::Runtime::new(&url, Default::default())
        .unwrap()
        .step(&mut echo)
        .unwrap();
    let reqs = api.wait_for(2);
    assert_eq!(reqs[0].path, "/.rt/2018-06-01/runtime/invocation/next");
    assert_eq!(
        reqs[1].path,
        "/.rt/2018-06-01/runtime/invocation/r1/response"
    );
}

#[test]
fn localhost_name_is_accepted() {
    let api = FakeApi::start();
    api.push_event(event("r1", "x"));
    let port = api.address().rsplit(':').next().unwrap().to_owned();
    lambda_lite::Runtime::new(&format!("localhost:{port}"), Default::default())
        .unwrap()
        .step(&mut echo)
        .unwrap();
    assert_eq!(api.wait_for(2)[1].body_str(), "x");
}

#[test]
fn request_id_is_percent_encoded_in_the_path() {
    let api = FakeApi::start();
    api.push_event(event("a/b?c d", "x"));
    runtime(&api).step(&mut echo).unwrap();
    assert_eq!(
        api.wait_for(2)[1].path,
        "/2018-06-01/runtime/invocation/a%2Fb%3Fc%20d/response"
    );
}

#[test]
fn malformed_runtime_api_is_refused_clearly() {
    for bad in ["", "9001", "https://127.0.0.1:9001", "127.0.0.1:port"] {
        let err = lambda_lite::Runtime::new(bad, Default::default())
            .err()
            .expect(bad);
        assert!(err.message().contains("AWS_LAMBDA_RUNTIME_API"), "{err}");
    }
}
