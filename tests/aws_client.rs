//! The AWS client against servers on loopback that answer as AWS does when things go wrong:
//! throttling and 5xx (retried, then given up), a client error (never retried), a clock that
//! is off (corrected from `Date`), a server that never answers (the deadline holds), keep-alive
//! (one connection for many calls), the container credentials endpoint (its token, its token
//! file, a refresh before expiry), and errors that become `lambda_lite::Error`s typed by code.
//! Offline: no moto here (tests/aws_moto.rs has the real service).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use lambda_lite::aws::{Client, Config, Credentials, Service};

mod support;

/// One request as the fake server saw it.
#[derive(Clone, Debug)]
struct Seen {
    head: String,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

/// A loopback HTTP/1.1 server: `answer(n, request)` gives the n-th (from 0) response's status,
/// extra headers and body; `None` means "never answer" (hold the connection), status 0 "cut
/// the answer short and close".
struct Fake {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    connections: Arc<AtomicUsize>,
}

type Answer = Option<(u16, Vec<(String, String)>, String)>;

fn fake(answer: impl Fn(usize, &Seen) -> Answer + Send + Sync + 'static) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let connections = Arc::new(AtomicUsize::new(0));
    let answer = Arc::new(answer);
    let (s, c) = (seen.clone(), connections.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            c.fetch_add(1, Ordering::SeqCst);
            let (s, answer) = (s.clone(), answer.clone());
            std::thread::spawn(move || serve(stream, &s, &*answer));
        }
    });
    Fake {
        url,
        seen,
        connections,
    }
}

fn serve(
    stream: TcpStream,
    seen: &Mutex<Vec<Seen>>,
    answer: &(dyn Fn(usize, &Seen) -> Answer + Send + Sync),
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let length = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap())
            })
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let request = Seen { head, body };
        let n = {
            let mut seen = seen.lock().unwrap();
            seen.push(request.clone());
            seen.len() - 1
        };
        let Some((status, headers, body)) = answer(n, &request) else {
            std::thread::sleep(Duration::from_secs(30));
            return;
        };
        if status == 0 {
            // A connection reset in the middle of an answer: a head promising more than comes.
            let _ = out.write_all(
                format!("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{body}").as_bytes(),
            );
            return;
        }
        let mut response = format!(
            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nx-amzn-RequestId: req-{n}\r\n",
            body.len()
        );
        for (name, value) in headers {
            response.push_str(&format!("{name}: {value}\r\n"));
        }
        response.push_str("\r\n");
        response.push_str(&body);
        if out.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn client(endpoint: &str, max_attempts: Option<u32>) -> Client {
    Client::with_config(Config {
        region: Some("us-east-1".into()),
        endpoint_url: Some(endpoint.into()),
        credentials: Some(Credentials::new("AKIDTEST", "secret", Some("token".into()))),
        max_attempts,
        ..Config::default()
    })
}

fn json_error(status: u16, code: &str, message: &str) -> Answer {
    Some((
        status,
        vec![],
        format!(r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"{message}"}}"#),
    ))
}

fn ok(body: &str) -> Answer {
    Some((200, vec![], body.to_owned()))
}

#[test]
fn a_signed_json_call_on_one_kept_connection() {
    let server = fake(|_, _| ok(r#"{"Item":{"id":{"S":"k1"},"qty":{"N":"3"}}}"#));
    let client = client(&server.url, None);
    for _ in 0..3 {
        let out = client
            .call_json(
                &Service::DYNAMODB,
                "GetItem",
                br#"{"TableName":"t"}"#,
                Duration::from_secs(5),
            )
            .unwrap();
        assert_eq!(out, br#"{"Item":{"id":{"S":"k1"},"qty":{"N":"3"}}}"#);
    }
    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert_eq!(
        server.connections.load(Ordering::SeqCst),
        1,
        "three calls, one connection"
    );
    let first = &seen[0];
    assert!(
        first.head.starts_with("POST / HTTP/1.1\r\n"),
        "{}",
        first.head
    );
    assert_eq!(
        first.header("x-amz-target").as_deref(),
        Some("DynamoDB_20120810.GetItem")
    );
    assert_eq!(
        first.header("content-type").as_deref(),
        Some("application/x-amz-json-1.0")
    );
    assert_eq!(
        first.header("x-amz-security-token").as_deref(),
        Some("token")
    );
    assert_eq!(
        first.header("host").as_deref(),
        Some(server.url.trim_start_matches("http://"))
    );
    let authorization = first.header("authorization").unwrap();
    let date = first.header("x-amz-date").unwrap();
    assert!(
        authorization.starts_with(&format!("AWS4-HMAC-SHA256 Credential=AKIDTEST/{}/us-east-1/dynamodb/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=", &date[..8])),
        "{authorization}"
    );
    assert_eq!(first.body, br#"{"TableName":"t"}"#);
}

#[test]
fn throttling_and_5xx_are_retried_then_given_up() {
    // Throttled twice, then served: three attempts, one answer.
    let server = fake(|n, _| {
        if n < 2 {
            json_error(400, "ProvisionedThroughputExceededException", "slow down")
        } else {
            ok("{}")
        }
    });
    let started = Instant::now();
    client(&server.url, None)
        .call_json(
            &Service::DYNAMODB,
            "PutItem",
            b"{}",
            Duration::from_secs(10),
        )
        .unwrap();
    assert_eq!(server.seen.lock().unwrap().len(), 3);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "two backoffs of at most 1 s and 2 s"
    );

    // Always 503: AWS_MAX_ATTEMPTS (here 4) attempts, then the last error, retryable.
    let server = fake(|_, _| Some((503, vec![], String::new())));
    let error = client(&server.url, Some(4))
        .call_json(
            &Service::DYNAMODB,
            "PutItem",
            b"{}",
            Duration::from_secs(30),
        )
        .unwrap_err();
    assert_eq!(server.seen.lock().unwrap().len(), 4);
    assert_eq!(
        (error.code(), error.status(), error.is_retryable()),
        ("ServiceUnavailable", Some(503), true)
    );
    assert_eq!(error.request_id(), Some("req-3"));
}

#[test]
fn a_500_or_an_answer_cut_short_is_tried_again() {
    let server = fake(|n, _| match n {
        0 => Some((
            500,
            vec![],
            r#"{"__type":"InternalServerError","message":"oops"}"#.into(),
        )),
        1 => Some((0, vec![], r#"{"Item":"#.into())),
        _ => ok(r#"{"Item":{}}"#),
    });
    let out = client(&server.url, None)
        .call_json(
            &Service::DYNAMODB,
            "GetItem",
            b"{}",
            Duration::from_secs(10),
        )
        .unwrap();
    assert_eq!(out, br#"{"Item":{}}"#);
    assert_eq!(
        server.seen.lock().unwrap().len(),
        3,
        "a 500, a cut answer, then the answer"
    );
    assert_eq!(
        server.connections.load(Ordering::SeqCst),
        2,
        "the cut connection was replaced"
    );
}

#[test]
fn a_slow_server_fails_the_call_in_time_and_the_next_call_works() {
    let server = fake(|n, _| if n == 0 { None } else { ok("{}") });
    let aws = client(&server.url, None);
    let started = Instant::now();
    let error = aws
        .call_json(
            &Service::DYNAMODB,
            "GetItem",
            b"{}",
            Duration::from_millis(300),
        )
        .unwrap_err();
    assert_eq!(error.code(), "TimeoutError");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // The next invocation's call: a new connection, answered.
    aws.call_json(&Service::DYNAMODB, "GetItem", b"{}", Duration::from_secs(5))
        .unwrap();
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
}

#[test]
fn a_client_error_is_not_retried_and_keeps_its_code() {
    let server = fake(|_, _| {
        json_error(
            400,
            "ConditionalCheckFailedException",
            "The conditional request failed",
        )
    });
    let error = client(&server.url, None)
        .call_json(&Service::DYNAMODB, "PutItem", b"{}", Duration::from_secs(5))
        .unwrap_err();
    assert_eq!(server.seen.lock().unwrap().len(), 1);
    assert_eq!(error.code(), "ConditionalCheckFailedException");
    assert_eq!(error.message(), "The conditional request failed");
    assert_eq!(
        (error.service_name(), error.status(), error.is_retryable()),
        ("dynamodb", Some(400), false)
    );
    assert_eq!(error.request_id(), Some("req-0"));
    // In a handler, `?` makes it a function error typed by the code.
    let function_error: lambda_lite::Error = error.into();
    assert_eq!(
        function_error.error_type(),
        "ConditionalCheckFailedException"
    );
    assert!(
        function_error
            .message()
            .contains("The conditional request failed"),
        "{}",
        function_error.message()
    );

    // The code from x-amzn-errortype when the body has none (REST-JSON services).
    let server = fake(|_, _| {
        Some((
            404,
            vec![(
                "x-amzn-ErrorType".into(),
                "ResourceNotFoundException:http://internal.amazon.com/".into(),
            )],
            r#"{"Message":"Function not found"}"#.into(),
        ))
    });
    let error = client(&server.url, None)
        .call_json(&Service::SSM, "GetParameter", b"{}", Duration::from_secs(5))
        .unwrap_err();
    assert_eq!(
        (error.code(), error.message()),
        ("ResourceNotFoundException", "Function not found")
    );
}

/// Now plus `offset` seconds, formatted by `date -u`.
fn date(offset: i64, format: &str) -> String {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + offset;
    let out = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{secs}"), format])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `date -u -d TEXT +%s`.
fn date_of(text: &str) -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "-d", text, "+%s"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn a_clock_that_is_off_is_corrected_from_the_service_date() {
    // The service's clock is 20 minutes ahead: it refuses a signature more than 5 minutes
    // old, as AWS does, and says its time in `Date`.
    let ahead = 1200;
    let service_date = date(ahead, "+%a, %d %b %Y %H:%M:%S GMT");
    let server = fake(move |_, request| {
        let signed = request.header("x-amz-date").unwrap();
        let signed_at = format!(
            "{}-{}-{} {}:{}:{}Z",
            &signed[0..4],
            &signed[4..6],
            &signed[6..8],
            &signed[9..11],
            &signed[11..13],
            &signed[13..15]
        );
        let signed_at: i64 = date_of(&signed_at).parse().unwrap();
        let service_now: i64 = date(ahead, "+%s").parse().unwrap();
        if (signed_at - service_now).abs() > 300 {
            Some((
                400,
                vec![("Date".into(), service_date.clone())],
                r#"{"__type":"InvalidSignatureException","message":"Signature expired"}"#.into(),
            ))
        } else {
            Some((
                200,
                vec![("Date".into(), service_date.clone())],
                "{}".into(),
            ))
        }
    });
    let client = client(&server.url, None);
    client
        .call_json(&Service::DYNAMODB, "GetItem", b"{}", Duration::from_secs(5))
        .unwrap();
    assert_eq!(
        server.seen.lock().unwrap().len(),
        2,
        "refused once, signed again with the service's time"
    );
    // Learned: the next call is signed right the first time.
    client
        .call_json(&Service::DYNAMODB, "GetItem", b"{}", Duration::from_secs(5))
        .unwrap();
    assert_eq!(server.seen.lock().unwrap().len(), 3);
}

#[test]
fn no_call_outlives_its_deadline() {
    let server = fake(|_, _| None);
    let started = Instant::now();
    let error = client(&server.url, None)
        .call_json(
            &Service::DYNAMODB,
            "GetItem",
            b"{}",
            Duration::from_millis(300),
        )
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(error.code(), "TimeoutError");
    assert!(!error.is_retryable());
    // It waited for its deadline (a lower bound holds on any machine), and ended long before
    // the client's 30 s default would have.
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(10),
        "{took:?}"
    );
    assert_eq!(
        server.seen.lock().unwrap().len(),
        1,
        "a timed-out call is not sent again"
    );

    // A handler's deadline: the context's, less a margin.
    let config = lambda_lite::Config::default();
    let deadline_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + 500;
    let ctx = lambda_lite::Context::new("id", deadline_ms, &config);
    let started = Instant::now();
    let error = client(&server.url, None)
        .call_json(&Service::DYNAMODB, "GetItem", b"{}", &ctx)
        .unwrap_err();
    assert_eq!(error.code(), "TimeoutError");
    // Ended by the context's deadline, not the client's 30 s default: far below the one (a busy
    // machine may be slow to wake it, so no tighter bound), never before the server was asked.
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(
        server.seen.lock().unwrap().len(),
        2,
        "the call reached the server"
    );
}

#[test]
fn container_credentials_with_their_token_refreshed_before_expiry() {
    // The client reads the process environment: the calls run in a child process of this
    // test binary, given the variables Lambda would set; the servers stay here.
    if std::env::var_os("AWS_TEST_CONTAINER_CHILD").is_some() {
        let client = Client::new();
        for _ in 0..4 {
            client
                .call_json(&Service::DYNAMODB, "GetItem", b"{}", Duration::from_secs(5))
                .unwrap();
        }
        return;
    }
    // The credentials endpoint: keys that expire in 2 minutes (inside the refresh window, so
    // the next call fetches again) the first time, in an hour after.
    let credentials = fake(move |n, request| {
        assert_eq!(
            request.header("authorization").as_deref(),
            Some("Bearer-from-file")
        );
        let expires = date(if n == 0 { 120 } else { 3600 }, "+%Y-%m-%dT%H:%M:%SZ");
        ok(&format!(
            r#"{{"AccessKeyId":"ASIA{n}","SecretAccessKey":"s","Token":"tok{n}","Expiration":"{expires}"}}"#
        ))
    });
    // The fourth call's keys are refused as expired (revoked early): fetched again, and the
    // call made again with them.
    let service = fake(|n, _| {
        if n == 3 {
            json_error(
                400,
                "ExpiredTokenException",
                "The security token included in the request is expired",
            )
        } else {
            ok("{}")
        }
    });
    let dir = std::env::temp_dir().join(format!("lambda-lite-aws-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("token"), "Bearer-from-file\n").unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "container_credentials_with_their_token_refreshed_before_expiry",
            "--nocapture",
        ])
        .env("AWS_TEST_CONTAINER_CHILD", "1")
        .env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("{}/v2/credentials", credentials.url),
        )
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", dir.join("token"))
        .env(
            "AWS_CONTAINER_AUTHORIZATION_TOKEN",
            "ignored-when-the-file-is-set",
        )
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ENDPOINT_URL_DYNAMODB", &service.url)
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .env("HOME", &dir)
        .status()
        .unwrap();
    assert!(status.success(), "the calls in the child failed");
    let fetched = credentials.seen.lock().unwrap().clone();
    assert_eq!(
        fetched.len(),
        3,
        "fetched, refreshed (it expired within 5 minutes), kept, fetched after ExpiredToken"
    );
    assert!(
        fetched[0].head.starts_with("GET /v2/credentials HTTP/1.1"),
        "{}",
        fetched[0].head
    );
    let seen = service.seen.lock().unwrap().clone();
    let keys: Vec<String> = seen
        .iter()
        .map(|s| {
            s.header("authorization")
                .unwrap()
                .split('/')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        keys,
        [
            "AWS4-HMAC-SHA256 Credential=ASIA0",
            "AWS4-HMAC-SHA256 Credential=ASIA1",
            "AWS4-HMAC-SHA256 Credential=ASIA1",
            "AWS4-HMAC-SHA256 Credential=ASIA1",
            "AWS4-HMAC-SHA256 Credential=ASIA2"
        ]
    );
    assert_eq!(
        seen[2].header("x-amz-security-token").as_deref(),
        Some("tok1")
    );
    assert!(
        seen[0]
            .header("authorization")
            .unwrap()
            .contains("/eu-west-1/dynamodb/"),
        "AWS_REGION read"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_settings_say_what_to_set() {
    let client = Client::with_config(Config {
        region: Some("us-east-1".into()),
        endpoint_url: Some("ftp://nowhere".into()),
        credentials: Some(Credentials::new("a", "b", None)),
        ..Config::default()
    });
    let error = client
        .call_json(&Service::DYNAMODB, "GetItem", b"{}", Duration::from_secs(1))
        .unwrap_err();
    assert_eq!(error.code(), "ConfigInvalid");
    assert!(error.message().contains("ftp://nowhere"), "{error}");
}

#[test]
fn lambda_invoke_and_post_to_connection_encode_their_paths() {
    let server = fake(|n, _| {
        if n == 0 {
            Some((
                200,
                vec![("X-Amz-Function-Error".into(), "Unhandled".into())],
                r#"{"errorType":"Boom"}"#.into(),
            ))
        } else {
            ok("")
        }
    });
    let aws = client(&server.url, None);
    let invoked = aws
        .lambda()
        .invoke(
            "arn:aws:lambda:us-east-1:123456789012:function:my-fn:live",
            br#"{"a":1}"#,
            Duration::from_secs(5),
        )
        .unwrap();
    assert_eq!(invoked.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(invoked.payload, br#"{"errorType":"Boom"}"#);
    aws.api_gateway_management()
        .post_to_connection("JBDvjfGEIAMCERw=", b"hello", Duration::from_secs(5))
        .unwrap();
    let seen = server.seen.lock().unwrap().clone();
    assert!(
        seen[0].head.starts_with("POST /2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn%3Alive/invocations HTTP/1.1\r\n"),
        "{}",
        seen[0].head
    );
    assert!(
        seen[0]
            .header("authorization")
            .unwrap()
            .contains("/us-east-1/lambda/aws4_request")
    );
    assert!(
        seen[1]
            .head
            .starts_with("POST /@connections/JBDvjfGEIAMCERw%3D HTTP/1.1\r\n"),
        "{}",
        seen[1].head
    );
    assert!(
        seen[1]
            .header("authorization")
            .unwrap()
            .contains("/us-east-1/execute-api/aws4_request")
    );
    assert_eq!(seen[1].body, b"hello");
}

#[test]
fn one_client_serves_eight_concurrent_workers_with_a_connection_each() {
    // Each first answer waits until eight requests are in flight: eight workers (a Managed
    // Instances environment's) at once need eight connections, which the client then keeps.
    let in_flight = Arc::new((Mutex::new(0usize), std::sync::Condvar::new()));
    let gate = in_flight.clone();
    let server = fake(move |n, _| {
        if n < 8 {
            let (count, all_in) = &*gate;
            let mut count = count.lock().unwrap();
            *count += 1;
            all_in.notify_all();
            let (_count, timeout) = all_in
                .wait_timeout_while(count, Duration::from_secs(10), |c| *c < 4)
                .unwrap();
            assert!(!timeout.timed_out(), "the four calls did not overlap");
        }
        ok("{}")
    });
    let aws = client(&server.url, None);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..5 {
                    aws.call_json(
                        &Service::DYNAMODB,
                        "GetItem",
                        b"{}",
                        Duration::from_secs(15),
                    )
                    .unwrap();
                }
            });
        }
    });
    assert_eq!(server.seen.lock().unwrap().len(), 40);
    assert_eq!(
        server.connections.load(Ordering::SeqCst),
        8,
        "a connection per worker, kept"
    );
}

#[test]
fn after_a_snapstart_restore_connections_and_credentials_are_new() {
    // The function runs in a child process (the client and the runtime read the process
    // environment): one call in init, before the snapshot, one in the first invocation.
    if std::env::var_os("AWS_TEST_SNAPSTART_CHILD").is_some() {
        let client = Client::new();
        client
            .call_json(&Service::DYNAMODB, "GetItem", b"{}", Duration::from_secs(5))
            .unwrap();
        let mut runtime = lambda_lite::Runtime::from_env().unwrap();
        runtime
            .step(|_event: &[u8], ctx: &lambda_lite::Context<'_>| {
                client.call_json(&Service::DYNAMODB, "GetItem", b"{}", ctx)?;
                Ok(b"called after the restore".to_vec())
            })
            .unwrap();
        return;
    }
    let credentials = fake(|n, _| {
        let expires = date(3600, "+%Y-%m-%dT%H:%M:%SZ");
        ok(&format!(
            r#"{{"AccessKeyId":"ASIA{n}","SecretAccessKey":"s","Token":"t{n}","Expiration":"{expires}"}}"#
        ))
    });
    let service = fake(|_, _| ok("{}"));
    let api = support::FakeApi::routed();
    api.push(support::event("r1", "{}").reply());
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "after_a_snapstart_restore_connections_and_credentials_are_new",
            "--nocapture",
        ])
        .env("AWS_TEST_SNAPSTART_CHILD", "1")
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")
        .env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("{}/creds", credentials.url),
        )
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", "token")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", &service.url)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .env("HOME", std::env::temp_dir())
        .status()
        .unwrap();
    assert!(status.success(), "the child failed");
    let requests = api.wait_until(|r| r.iter().any(|r| r.method == "POST"));
    assert!(
        requests
            .iter()
            .any(|r| r.path.ends_with("/runtime/restore/next")),
        "the runtime asked for the restore"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.body_str() == "called after the restore")
    );
    assert_eq!(
        credentials.seen.lock().unwrap().len(),
        2,
        "credentials fetched again after the restore"
    );
    assert_eq!(
        server_connections(&service),
        2,
        "the connection from before the snapshot was not reused"
    );
    let seen = service.seen.lock().unwrap().clone();
    assert!(
        seen[1]
            .header("authorization")
            .unwrap()
            .contains("Credential=ASIA1/"),
        "signed with the new keys"
    );
}

fn server_connections(server: &Fake) -> usize {
    server.connections.load(Ordering::SeqCst)
}
