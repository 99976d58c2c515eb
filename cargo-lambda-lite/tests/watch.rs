//! `watch` as its users reach it: boto3 and the AWS CLI through Lambda's Invoke API and
//! InvokeWithResponseStream, curl through Function URLs, `cargo lambda-lite invoke NAME`; Lambda's
//! rules (scale-out, Managed Instances, throttling, timeouts, the init limit, payload limits);
//! bad clients; and a rebuild after a saved edit, with a broken build keeping the old one.
#![cfg(feature = "watch")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod support;
use support::{needs_curl, needs_python, repo, tool};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "cargo-lambda-lite-watch-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running `watch`, stopped with Ctrl-C (SIGINT) when dropped.
struct Watch {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Watch {
    /// `watch` with these arguments, in `dir`, once it serves.
    fn start(name: &str, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Watch {
        let log = scratch(&format!("{name}-log")).join("watch.log");
        let out = std::fs::File::create(&log).unwrap();
        // The tool picks a free port and says which: no port chosen here and taken by another
        // program before watch binds it.
        let child = tool()
            .arg("watch")
            .args(["--port", "0"])
            .args(args)
            .envs(env.iter().copied())
            .current_dir(dir)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let mut w = Watch {
            child,
            port: 0,
            log,
        };
        w.wait_for("watch: serving on", Duration::from_secs(600));
        let text = w.text();
        w.port = text
            .lines()
            .find_map(|l| l.strip_prefix("watch: serving on http://127.0.0.1:"))
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("no port in watch's first line:\n{text}"));
        w
    }

    /// A crate `cargo lambda-lite new NAME` writes (with `new_args`), served by watch; the
    /// crates of these tests share one target folder.
    fn new_crate(label: &str, new_args: &[&str], name: &str) -> Watch {
        let dir = scratch(label);
        let created = tool()
            .arg("new")
            .args(new_args)
            .arg(name)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(created.status.success(), "{created:?}");
        let target = repo().join("target/watch-new-http");
        Watch::start(
            label,
            &dir.join(name),
            &["--no-reload"],
            &[("CARGO_TARGET_DIR", target.to_str().unwrap())],
        )
    }

    /// The fixture function, built by watch, in `FIXTURE_MODE` `mode`.
    fn fixture(name: &str, mode: &str, args: &[&str]) -> Watch {
        let manifest = repo().join("tests/fixture/Cargo.toml");
        let mut all = vec!["--manifest-path", manifest.to_str().unwrap(), "--no-reload"];
        let env = format!("FIXTURE_MODE={mode}");
        all.extend(["--env", &env]);
        all.extend(args);
        Watch::start(name, &repo(), &all, &[])
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_for(&mut self, marker: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let text = self.text();
            if text.contains(marker) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("watch exited ({status}) before {marker:?}:\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "no {marker:?} in watch's output:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Python with boto3 (installed from PyPI when missing), with `l` a Lambda client of this
    /// watch; returns what it prints.
    fn py(&self, code: &str) -> String {
        needs_python("boto3", "boto3");
        let script = format!(
            "import boto3, base64, json, botocore\nl = boto3.client('lambda', endpoint_url={:?}, region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test', config=botocore.config.Config(retries={{'max_attempts': 0}}, read_timeout=60))\n{code}\n",
            self.endpoint()
        );
        let out = Command::new("python3")
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}\nwatch:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.text()
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The labelled lines watch printed for a function, in order.
    fn lines(&self, prefix: &str) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| l.starts_with(prefix))
            .map(str::to_owned)
            .collect()
    }
}

#[test]
fn the_invoke_api_answers_boto3_the_aws_cli_and_invoke_name_as_lambda_does() {
    let w = Watch::fixture("invoke-api", "echo", &[]);
    // A logged line, START/END/REPORT and the cold start's Init Duration come back in the tail.
    let out = w.py(
        "r = l.invoke(FunctionName='fixture', Payload=b'\"log\"', LogType='Tail')\n\
         print(r['StatusCode'], r['ExecutedVersion'], r['Payload'].read().decode())\n\
         print(base64.b64decode(r['LogResult']).decode())",
    );
    assert!(out.starts_with("200 $LATEST logged\n"), "{out}");
    assert!(out.contains("START RequestId: "), "{out}");
    assert!(
        out.contains("stored \\\"") || out.contains("stored \""),
        "{out}"
    );
    assert!(
        out.contains("REPORT RequestId: ") && out.contains("Init Duration: "),
        "{out}"
    );
    // A panic's message is in the tail too: written before the error was posted, it is taken
    // from the pipe when the answer arrives, however busy the machine.
    let out = w.py(
        "r = l.invoke(FunctionName='fixture', Payload=b'\"panic\"', LogType='Tail')\n\
         print(r['FunctionError'], base64.b64decode(r['LogResult']).decode())",
    );
    assert!(out.starts_with("Unhandled "), "{out}");
    assert!(
        out.contains("boom in "),
        "the panic message is in the tail: {out}"
    );
    // What the invoker passes reaches the runtime: the client context (decoded) and the tenant.
    let out = w.py(
        "cc = base64.b64encode(json.dumps({'custom': {'k': 'v'}, 'env': {}}).encode()).decode()\n\
         r = l.invoke(FunctionName='fixture', Payload=b'\"invoker\"', ClientContext=cc, TenantId='tenant-1')\n\
         print(r['Payload'].read().decode())",
    );
    assert_eq!(
        out,
        r#"client context {"custom": {"k": "v"}, "env": {}}, tenant tenant-1"#,
        "{}",
        w.text()
    );
    // Errors of the function, and the API's own refusals, as the SDK reports them.
    let out = w.py(
        "r = l.invoke(FunctionName='fixture', Payload=b'\"fail\"')\n\
         print(r['StatusCode'], r['FunctionError'], json.loads(r['Payload'].read())['errorType'])\n\
         r = l.invoke(FunctionName='arn:aws:lambda:us-east-1:012345678912:function:fixture:$LATEST', Payload=b'\"by arn\"')\n\
         print(r['Payload'].read().decode())\n\
         r = l.invoke(FunctionName='fixture', Payload=b'\"huge\"')\n\
         print(r['FunctionError'], json.loads(r['Payload'].read())['errorType'])\n\
         print(l.invoke(FunctionName='fixture', InvocationType='DryRun')['StatusCode'])\n\
         print(l.invoke(FunctionName='fixture', InvocationType='Event', Payload=b'\"log\"')['StatusCode'])\n\
         for kw in [dict(FunctionName='nope'), dict(FunctionName='fixture:42'), dict(FunctionName='fixture:no-such-alias'), dict(FunctionName='arn:aws:lambda:eu-west-1:012345678912:function:fixture'), dict(FunctionName='fixture', Payload=b'not json'), dict(FunctionName='fixture', Payload=b'\"' + b'a' * (6 * 1024 * 1024) + b'\"')]:\n    \
             try:\n        l.invoke(**kw)\n        print('accepted?!')\n    \
             except botocore.exceptions.ClientError as e:\n        \
                 print(e.response['ResponseMetadata']['HTTPStatusCode'], e.response['Error']['Code'])",
    );
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "200 Unhandled Function.Failed",
            "\"by arn\"",
            "Unhandled Function.ResponseSizeTooLarge",
            "204",
            "202",
            "404 ResourceNotFoundException",
            "404 ResourceNotFoundException",
            "404 ResourceNotFoundException",
            "404 ResourceNotFoundException",
            "400 InvalidRequestContentException",
            "413 RequestTooLargeException",
        ],
        "{out}"
    );
    // A declared length over 6 MB is refused from the head: `Expect: 100-continue` gets the
    // 413 at once, not `100 Continue` and an upload of everything first.
    let mut raw = std::net::TcpStream::connect(("127.0.0.1", w.port)).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    std::io::Write::write_all(
        &mut raw,
        b"POST /2015-03-31/functions/fixture/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\nExpect: 100-continue\r\n\r\n",
    )
    .unwrap();
    let mut answer = [0u8; 512];
    let n = std::io::Read::read(&mut raw, &mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("RequestTooLargeException"), "{answer}");
    // The Event invocation ran in the background: its log line reached the terminal.
    let deadline = Instant::now() + Duration::from_secs(10);
    while w
        .lines("[fixture] ")
        .iter()
        .filter(|l| l.contains("stored"))
        .count()
        < 2
    {
        assert!(Instant::now() < deadline, "{}", w.text());
        std::thread::sleep(Duration::from_millis(20));
    }
    // The AWS CLI (v1 from PyPI when missing), as its users call Lambda.
    needs_python("awscli", "awscli");
    let dir = scratch("invoke-api-cli");
    let cli = Command::new("python3")
        .args(["-m", "awscli", "lambda", "invoke", "--endpoint-url"])
        .arg(w.endpoint())
        .args(["--region", "us-east-1", "--function-name", "fixture"])
        .args(["--payload", "\"from the cli\"", "--log-type", "Tail"])
        .arg(dir.join("out.json"))
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&cli.stdout);
    assert!(
        cli.status.success(),
        "{printed}\n{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert!(
        printed.contains("\"StatusCode\": 200") && printed.contains("LogResult"),
        "{printed}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("out.json")).unwrap(),
        "\"from the cli\""
    );
    // cargo-lambda's own client, whose default address is [::1]: watch listens on both
    // loopbacks.
    let theirs = Command::new(support::cargo_lambda())
        .args([
            "lambda",
            "invoke",
            "fixture",
            "--data-ascii",
            "\"over ipv6\"",
            "--invoke-port",
        ])
        .arg(w.port.to_string())
        .output()
        .unwrap();
    assert!(
        theirs.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&theirs.stdout),
        String::from_utf8_lossy(&theirs.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&theirs.stdout).trim(),
        "\"over ipv6\""
    );
    // `cargo lambda-lite invoke NAME` sends to the running watch.
    let sent = tool()
        .args(["invoke", "fixture", "--data", "\"hi\"", "--endpoint-url"])
        .arg(w.endpoint())
        .output()
        .unwrap();
    assert!(sent.status.success());
    assert_eq!(String::from_utf8_lossy(&sent.stdout), "\"hi\"\n");
    assert!(String::from_utf8_lossy(&sent.stderr).contains("REPORT RequestId"));
    let failed = tool()
        .args(["invoke", "fixture", "--data", "\"fail\"", "--endpoint-url"])
        .arg(w.endpoint())
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(3), "a function error is exit 3");
    let absent = tool()
        .args(["invoke", "nothing", "--endpoint-url", "http://127.0.0.1:1"])
        .output()
        .unwrap();
    assert_eq!(absent.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&absent.stderr).contains("cargo lambda-lite watch"));
}

/// Reads `reader` until `marker` has been read; returns what was read.
fn read_until(reader: &mut impl Read, marker: &str) -> String {
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&seen).contains(marker) {
        match reader.read(&mut byte) {
            Ok(1) => seen.push(byte[0]),
            _ => panic!(
                "the stream ended before {marker:?}: {}",
                String::from_utf8_lossy(&seen)
            ),
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[test]
fn streams_arrive_as_they_are_written_over_eventstream_and_function_urls() {
    let w = Watch::fixture("streams", "stream", &[]);
    let dir = scratch("streams");
    // boto3's invoke_with_response_stream: the first event arrives before the function writes
    // the second (it waits for the file the reader creates).
    let gate = dir.join("boto3-read-first");
    let out = w.py(&format!(
        "import os\n\
         r = l.invoke_with_response_stream(FunctionName='fixture', Payload=json.dumps('sse:{}').encode())\n\
         seen = b''\n\
         for ev in r['EventStream']:\n    \
             if 'PayloadChunk' in ev:\n        seen += ev['PayloadChunk']['Payload']\n        \
                 if b'data: first' in seen and not os.path.exists({gate:?}):\n            open({gate:?}, 'w').close()\n            print('first arrived alone:', b'second' not in seen)\n    \
             else:\n        print('complete', sorted(ev['InvokeComplete'].keys()))\n\
         print(seen.split(b'\\0' * 8)[-1].decode().replace('\\n', '|'))\n\
         r = l.invoke_with_response_stream(FunctionName='fixture', Payload=b'\"panic\"')\n\
         for ev in r['EventStream']:\n    print(ev)\n\
         r = l.invoke_with_response_stream(FunctionName='fixture', Payload=b'\"die\"')\n\
         for ev in r['EventStream']:\n    print(ev)\n\
         r = l.invoke(FunctionName='fixture', Payload=b'\"after\"', LogType='Tail')\n\
         print(r['Payload'].read().decode(), b'Init Duration' in base64.b64decode(r['LogResult']))",
        gate.display()
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "first arrived alone: True", "{out}");
    assert_eq!(lines[1], "complete []", "{out}");
    assert_eq!(lines[2], "data: first||data: second||", "{out}");
    assert!(lines[3].contains("b'partial'"), "{out}");
    assert!(
        lines[4].contains("'InvokeComplete'")
            && lines[4].contains("'ErrorCode': 'Runtime.HandlerPanic'"),
        "{out}"
    );
    // A process that dies mid-stream: what it wrote, then the error; the next invocation gets
    // a fresh environment.
    assert!(lines[5].contains("b'partial'"), "{out}");
    assert!(
        lines[6].contains("'ErrorCode': 'Runtime.ExitError'"),
        "{out}"
    );
    assert_eq!(lines[7], "after True", "{out}");
    // curl -N through a Function URL: the HTTP prelude is the response head; each event
    // arrives as written.
    let gate = dir.join("curl-read-first");
    needs_curl();
    let mut reader = Command::new("curl")
        .args(["-sS", "-N", "-i"])
        .arg(format!(
            "{}/lambda-url/fixture/events?sse:{}",
            w.endpoint(),
            gate.display()
        ))
        .stdout(Stdio::piped())
        .spawn()
        .expect("curl");
    let mut stdout = reader.stdout.take().unwrap();
    let head = read_until(&mut stdout, "data: first\n\n");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("content-type: text/event-stream"), "{head}");
    assert!(!head.contains("second"));
    std::fs::write(&gate, "").unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "data: second\n\n");
    assert!(reader.wait().unwrap().success());
    // A client that leaves mid-stream: the function still runs to its end (its REPORT line),
    // and the server serves on.
    let reports = w.lines("[fixture] REPORT").len();
    let gate = dir.join("left-mid-stream");
    let mut leaver = Command::new("curl")
        .args(["-sS", "-N"])
        .arg(format!(
            "{}/lambda-url/fixture/?sse:{}",
            w.endpoint(),
            gate.display()
        ))
        .stdout(Stdio::piped())
        .spawn()
        .expect("curl");
    read_until(leaver.stdout.as_mut().unwrap(), "data: first\n\n");
    leaver.kill().unwrap();
    leaver.wait().unwrap();
    std::fs::write(&gate, "").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while w.lines("[fixture] REPORT").len() <= reports {
        assert!(Instant::now() < deadline, "{}", w.text());
        std::thread::sleep(Duration::from_millis(20));
    }
    // Served on after it: the function echoes its Function URL event (payload 2.0) in two
    // writes, which come back as one body.
    let (head, body) = curl(&w, &[], "/lambda-url/fixture/?plain");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let event: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["version"], "2.0", "{event}");
    assert_eq!(event["rawPath"], "/", "{event}");
    assert_eq!(event["rawQueryString"], "plain", "{event}");
    assert_eq!(event["requestContext"]["http"]["method"], "GET", "{event}");
}

/// `curl` a URL of the watch; returns the response head and body.
fn curl(w: &Watch, args: &[&str], path: &str) -> (String, Vec<u8>) {
    needs_curl();
    let out = Command::new("curl")
        .args(["-sS", "-i"])
        .args(args)
        .arg(format!("{}{path}", w.endpoint()))
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let at = out
        .stdout
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout[..at]).to_ascii_lowercase(),
        out.stdout[at + 4..].to_vec(),
    )
}

#[test]
fn function_urls_reach_an_http_function_as_lambda_maps_requests_and_answers() {
    let manifest = repo().join("Cargo.toml");
    let w = Watch::start(
        "function-url",
        &repo(),
        &[
            "--manifest-path",
            manifest.to_str().unwrap(),
            "--example",
            "http_echo",
            "--features",
            "http",
            "--no-reload",
        ],
        &[],
    );
    let (head, body) = curl(&w, &[], "/lambda-url/http_echo/?name=Zo%C3%AB");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("set-cookie: seen=1; path=/"), "{head}");
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["message"], "hello, Zoë");
    assert_eq!(json["source"], "FunctionUrl");
    // Path, multi-value query, cookies and a binary body (base64 in the event, decoded by the
    // function) travel as on Lambda.
    let (_, body) = curl(
        &w,
        &[
            "-X",
            "PUT",
            "-H",
            "content-type: application/octet-stream",
            "-H",
            "cookie: a=1; b=2",
            "--data-binary",
            "\u{1}bin",
        ],
        "/lambda-url/http_echo/a%20b/c?x=1&x=2&y=%C3%A9",
    );
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["method"], "PUT");
    assert_eq!(json["path"], "/a b/c");
    assert_eq!(
        json["query"],
        serde_json::json!([["x", "1"], ["x", "2"], ["y", "é"]])
    );
    assert_eq!(json["body"], "\u{1}bin");
    // A streamed answer: its prelude's head, then the server-sent events.
    let (head, body) = curl(&w, &["-N"], "/lambda-url/http_echo/?stream=1");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-type: text/event-stream"), "{head}");
    let body = String::from_utf8(body).unwrap();
    assert_eq!(body.matches("data: tick").count(), 3, "{body}");
    // No such function.
    let (head, _) = curl(&w, &[], "/lambda-url/nope/");
    assert!(head.starts_with("http/1.1 404"), "{head}");
}

/// Runs `count` invocations at once from boto3 with the log tail; prints one line per answer:
/// `ok <payload> <cold>` or the error code.
fn at_once(w: &Watch, count: usize, payload: &str) -> Vec<String> {
    let out = w.py(&format!(
        "from concurrent.futures import ThreadPoolExecutor\n\
         def one(_):\n    \
             try:\n        \
                 r = l.invoke(FunctionName='fixture', Payload=json.dumps({payload:?}).encode(), LogType='Tail')\n        \
                 return 'ok %s %s' % (r['Payload'].read().decode(), 'cold' if b'Init Duration' in base64.b64decode(r['LogResult']) else 'warm')\n    \
             except botocore.exceptions.ClientError as e:\n        return e.response['Error']['Code']\n\
         with ThreadPoolExecutor({count}) as pool:\n    \
             print('\\n'.join(sorted(pool.map(one, range({count})))))"
    ));
    out.lines().map(str::to_owned).collect()
}

/// In watch's output, how many START lines came before the first END.
fn started_before_first_end(w: &Watch) -> usize {
    let lines = w.lines("[fixture] ");
    lines
        .iter()
        .take_while(|l| !l.contains("END RequestId"))
        .filter(|l| l.contains("START RequestId"))
        .count()
}

#[test]
fn classic_functions_scale_out_to_their_limit_and_managed_instances_share_one_process() {
    // Classic: one invocation per environment; four at once are four cold starts, served
    // together; a fifth finds the limit (--concurrency 4) and is throttled.
    let w = Watch::fixture("classic", "concurrent", &["--concurrency", "4"]);
    let answers = at_once(&w, 5, "sleep:1500:x");
    assert_eq!(
        answers,
        [
            "TooManyRequestsException",
            "ok x cold",
            "ok x cold",
            "ok x cold",
            "ok x cold"
        ],
        "{}",
        w.text()
    );
    assert_eq!(started_before_first_end(&w), 4, "{}", w.text());
    // Warm environments are reused.
    assert_eq!(at_once(&w, 2, "sleep:0:y"), ["ok y warm", "ok y warm"]);
    // Four callers at the limit of four, each calling again on a kept connection the moment it
    // has its answer (before that invocation's REPORT line): never a throttle.
    let out = w.py(
        "import http.client, urllib.parse\nfrom concurrent.futures import ThreadPoolExecutor\n\
         u = urllib.parse.urlparse(l.meta.endpoint_url)\n\
         def caller(_):\n    \
             c = http.client.HTTPConnection(u.hostname, u.port)\n    \
             def one():\n        \
                 c.request('POST', '/2015-03-31/functions/fixture/invocations', b'\"sleep:0:z\"')\n        \
                 r = c.getresponse()\n        \
                 return (r.status, r.read().decode())\n    \
             return [one() for _ in range(50)]\n\
         with ThreadPoolExecutor(4) as pool:\n    \
             answers = [a for each in pool.map(caller, range(4)) for a in each]\n\
         print(sum(a == (200, 'z') for a in answers), [a for a in answers if a[0] != 200][:1])",
    );
    assert_eq!(out, "200 []", "{}", w.text());
    drop(w);
    // Managed Instances: AWS_LAMBDA_MAX_CONCURRENCY=4 gives one process four invocations at
    // once: one init for all.
    let w = Watch::fixture(
        "managed",
        "concurrent",
        &[
            "--env",
            "AWS_LAMBDA_MAX_CONCURRENCY=4",
            "--concurrency",
            "1",
        ],
    );
    let answers = at_once(&w, 4, "sleep:1000:z");
    assert_eq!(
        answers,
        ["ok z cold", "ok z warm", "ok z warm", "ok z warm"],
        "{}",
        w.text()
    );
    assert_eq!(started_before_first_end(&w), 4, "{}", w.text());
    // The fifth at once finds the one process full: throttled.
    let answers = at_once(&w, 5, "sleep:1500:z");
    assert_eq!(answers[0], "TooManyRequestsException", "{answers:?}");
    assert_eq!(
        answers[1..].iter().filter(|a| a.starts_with("ok")).count(),
        4
    );
}

#[test]
fn timeouts_stop_the_environment_and_bad_clients_never_take_the_server_down() {
    let w = Watch::fixture("timeouts", "concurrent", &["--timeout", "1"]);
    let out = w.py(
        "r = l.invoke(FunctionName='fixture', Payload=b'\"sleep:3000:late\"')\n\
         print(r['FunctionError'], json.loads(r['Payload'].read()))\n\
         r = l.invoke(FunctionName='fixture', Payload=b'\"sleep:0:next\"', LogType='Tail')\n\
         print(r['Payload'].read().decode(), b'Init Duration' in base64.b64decode(r['LogResult']))",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("Unhandled") && lines[0].contains("Task timed out after 1.00 seconds"),
        "{out}"
    );
    assert_eq!(lines[1], "next True", "a fresh environment: {out}");
    assert!(w.text().contains("Status: timeout"), "{}", w.text());
    // Garbage instead of HTTP, and a client that leaves in the middle of an invocation.
    let mut garbage = std::net::TcpStream::connect(("127.0.0.1", w.port)).unwrap();
    garbage.write_all(b"\x00\x01 NOT HTTP\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = garbage.read_to_end(&mut answer);
    let mut leaver = std::net::TcpStream::connect(("127.0.0.1", w.port)).unwrap();
    let event = "\"sleep:300:left\"";
    write!(
        leaver,
        "POST /2015-03-31/functions/fixture/invocations HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n{event}",
        event.len()
    )
    .unwrap();
    // It leaves once its invocation started (the third START).
    let deadline = Instant::now() + Duration::from_secs(10);
    while w.lines("[fixture] START").len() < 3 {
        assert!(Instant::now() < deadline, "{}", w.text());
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(leaver);
    // The left invocation still runs to its end (its REPORT line, the third); the server
    // serves on.
    let deadline = Instant::now() + Duration::from_secs(10);
    while w.lines("[fixture] REPORT").len() < 3 {
        assert!(Instant::now() < deadline, "{}", w.text());
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = w.py(
        "print(l.invoke(FunctionName='fixture', Payload=b'\"sleep:0:still\"')['Payload'].read().decode())",
    );
    assert_eq!(out, "still");
}

/// A line of /proc/PID/status, as a number (`Threads`, `VmRSS` in kB).
fn proc_status(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

#[test]
fn a_client_that_stalls_its_head_or_its_body_loses_its_connection_never_a_thread() {
    use std::net::TcpStream;
    let w = Watch::fixture("stall", "echo", &[]);
    let invoke =
        "print(l.invoke(FunctionName='fixture', Payload=b'\"x\"')['Payload'].read().decode())";
    assert_eq!(w.py(invoke), "\"x\"");
    let threads = proc_status(w.child.id(), "Threads");
    // A head that never ends, a body declared and never sent, and 200 stalled heads besides.
    let head = "POST /2015-03-31/functions/fixture/invocations HTTP/1.1\r\nhost: x\r\n";
    let mut stalled_head = TcpStream::connect(("127.0.0.1", w.port)).unwrap();
    stalled_head.write_all(head.as_bytes()).unwrap();
    let mut stalled_body = TcpStream::connect(("127.0.0.1", w.port)).unwrap();
    write!(stalled_body, "{head}content-length: 1000\r\n\r\n\"0123456").unwrap();
    let crowd: Vec<TcpStream> = (0..200)
        .map(|_| {
            let mut c = TcpStream::connect(("127.0.0.1", w.port)).unwrap();
            c.write_all(head.as_bytes()).unwrap();
            c
        })
        .collect();
    // Everyone else is served meanwhile, by the same threads.
    assert_eq!(w.py(invoke), "\"x\"");
    assert_eq!(
        proc_status(w.child.id(), "Threads"),
        threads,
        "202 stalled clients cost no thread"
    );
    // Each stalled client loses its connection (the read timeout only guards against a hang).
    let guard = Some(Duration::from_secs(120));
    let mut answer = String::new();
    stalled_body.set_read_timeout(guard).unwrap();
    stalled_body.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 408") && answer.contains("RequestTimeoutException"),
        "{answer}"
    );
    stalled_head.set_read_timeout(guard).unwrap();
    let mut rest = Vec::new();
    assert!(
        stalled_head.read_to_end(&mut rest).is_ok(),
        "the server closes a head that never ends"
    );
    for mut c in crowd {
        c.set_read_timeout(guard).unwrap();
        assert!(c.read_to_end(&mut rest).is_ok());
    }
    assert_eq!(w.py(invoke), "\"x\"");
    assert_eq!(
        w.lines("[fixture] START").len(),
        3,
        "no stalled request reached the function: {}",
        w.text()
    );
}

#[test]
fn answers_over_the_limit_are_refused_without_being_held_whole() {
    let w = Watch::fixture("huge", "echo", &[]);
    let rss = || proc_status(w.child.id(), "VmRSS") / 1024;
    let before = rss();
    // 8 rounds of 10 functions at once each answering 7 MB (over Lambda's 6 MB): 560 MB posted.
    let out = w.py("from concurrent.futures import ThreadPoolExecutor\n\
         def one(_):\n    \
             r = l.invoke(FunctionName='fixture', Payload=b'\"huge\"')\n    \
             return json.loads(r['Payload'].read())['errorType']\n\
         with ThreadPoolExecutor(10) as pool:\n    \
             print(set(e for _ in range(8) for e in pool.map(one, range(10))))");
    assert_eq!(out, "{'Function.ResponseSizeTooLarge'}", "{}", w.text());
    let after = rss();
    // Held whole, ten at a time, they took the tool from ~20 to ~240 MiB.
    assert!(
        after < before + 32,
        "the tool's RSS went from {before} to {after} MiB"
    );
}

#[test]
fn an_init_that_never_reaches_next_is_stopped_at_the_ten_second_limit() {
    let w = Watch::fixture("init-limit", "echo", &["--env", "FIXTURE_INIT_MS=12000"]);
    let out = w.py("r = l.invoke(FunctionName='fixture', Payload=b'\"x\"')\n\
         print(r['FunctionError'], json.loads(r['Payload'].read())['errorType'])");
    assert_eq!(out, "Unhandled Sandbox.Timedout", "{}", w.text());
    assert!(
        w.text()
            .contains("INIT_REPORT Init Duration: 10000.00 ms\tPhase: init\tStatus: timeout"),
        "{}",
        w.text()
    );
}

#[test]
fn an_environment_idle_for_the_idle_timeout_is_retired_and_the_next_invocation_starts_cold() {
    let mut w = Watch::fixture("idle", "echo", &["--idle-timeout", "1"]);
    let invoke = "r = l.invoke(FunctionName='fixture', Payload=b'\"x\"', LogType='Tail')\n\
                  print(r['Payload'].read().decode(), b'Init Duration' in base64.b64decode(r['LogResult']))";
    assert_eq!(w.py(invoke), "\"x\" True", "the first is a cold start");
    // Synchronized on watch's word, not on a time: the environment is gone when it says so.
    w.wait_for(
        "[fixture] 1 environment(s) idle for 1 s retired",
        Duration::from_secs(60),
    );
    assert_eq!(
        w.py(invoke),
        "\"x\" True",
        "after retirement, a fresh init: {}",
        w.text()
    );
    assert_eq!(
        w.lines("[fixture] REPORT")
            .iter()
            .filter(|l| l.contains("Init Duration"))
            .count(),
        2,
        "{}",
        w.text()
    );
}

#[test]
fn a_saved_edit_is_served_after_a_rebuild_and_a_broken_build_keeps_the_last_good_one() {
    // A copy of the fixture to edit, depending on this checkout.
    let dir = scratch("reload").join("fixture");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let manifest = std::fs::read_to_string(repo().join("tests/fixture/Cargo.toml"))
        .unwrap()
        .replace("path = \"../..\"", &format!("path = {:?}", repo()));
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    let main = repo().join("tests/fixture/src/main.rs");
    std::fs::copy(&main, dir.join("src/main.rs")).unwrap();
    std::fs::copy(
        repo().join("tests/fixture/Cargo.lock"),
        dir.join("Cargo.lock"),
    )
    .unwrap();
    let target = repo().join("target/watch-reload");
    let mut w = Watch::start(
        "reload",
        &dir,
        &[],
        &[("CARGO_TARGET_DIR", target.to_str().unwrap())],
    );
    w.wait_for("watch: rebuilding when a file", Duration::from_secs(10));
    let env =
        "print(l.invoke(FunctionName='fixture', Payload=b'\"env\"')['Payload'].read().decode())";
    assert_eq!(w.py(env), "<unset>");
    // Invocations keep arriving while the edit is rebuilt: every one is answered.
    let racing_dir = scratch("reload-racing");
    let (ready, rebuilt) = (racing_dir.join("answered"), racing_dir.join("rebuilt"));
    let racing = {
        let endpoint = w.endpoint();
        let (ready, rebuilt) = (ready.clone(), rebuilt.clone());
        // It calls until the edited build answers, however long the rebuild takes; a call
        // begun after watch said the new build serves is the last (it must be the edited one).
        std::thread::spawn(move || {
            let script = format!(
                "import boto3, os\nl = boto3.client('lambda', endpoint_url={endpoint:?}, region_name='us-east-1', aws_access_key_id='t', aws_secret_access_key='t')\n\
                 answers = set()\n\
                 while True:\n    \
                     last = os.path.exists({rebuilt:?})\n    \
                     a = l.invoke(FunctionName='fixture', Payload=b'\"env\"')['Payload'].read().decode()\n    \
                     answers.add(a)\n    \
                     open({ready:?}, 'w').close()\n    \
                     if a == '<edited>' or last: break\n\
                 print(sorted(answers))"
            );
            Command::new("python3")
                .args(["-c", &script])
                .output()
                .unwrap()
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready.exists() {
        assert!(
            Instant::now() < deadline,
            "the racing client never got an answer"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let source = std::fs::read_to_string(dir.join("src/main.rs")).unwrap();
    std::fs::write(
        dir.join("src/main.rs"),
        source.replace("\"<unset>\"", "\"<edited>\""),
    )
    .unwrap();
    w.wait_for("rebuilt in", Duration::from_secs(600));
    std::fs::write(&rebuilt, "").unwrap();
    let raced = racing.join().unwrap();
    assert!(
        raced.status.success(),
        "{}",
        String::from_utf8_lossy(&raced.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&raced.stdout).trim(),
        "['<edited>', '<unset>']",
        "the old build answered until the new one took over; nothing was lost\n{}",
        w.text()
    );
    // A broken edit: the error is shown, the last good build keeps serving.
    std::fs::write(dir.join("src/main.rs"), "fn main() { this is not rust }").unwrap();
    w.wait_for(
        "the last good build keeps serving",
        Duration::from_secs(300),
    );
    assert_eq!(w.py(env), "<edited>");
}

#[test]
fn extensions_get_invoke_and_shutdown_and_telemetry_subscribers_get_platform_records() {
    // lambda-lite's own external extension and Telemetry API subscriber, built for the host.
    let built = Command::new(env!("CARGO"))
        .args([
            "build",
            "--example",
            "extension",
            "--example",
            "telemetry",
            "--features",
            "extension",
            "--manifest-path",
        ])
        .arg(repo().join("Cargo.toml"))
        .status()
        .unwrap();
    assert!(built.success());
    let examples = repo().join("target/debug/examples");
    let events = scratch("extensions").join("events");
    let extension_log = format!("EXTENSION_LOG={}", events.display());
    let mut w = Watch::fixture(
        "extensions",
        "concurrent",
        &[
            "--timeout",
            "1",
            "--extension",
            examples.join("extension").to_str().unwrap(),
            "--extension",
            examples.join("telemetry").to_str().unwrap(),
            "--env",
            &extension_log,
        ],
    );
    let ids = w.py(
        "for e in ['one', 'two']:\n    \
             r = l.invoke(FunctionName='fixture', Payload=json.dumps(e).encode(), LogType='Tail')\n    \
             print(base64.b64decode(r['LogResult']).decode().split()[2])",
    );
    let ids: Vec<&str> = ids.lines().collect();
    assert_eq!(ids.len(), 2);
    // The subscriber prints each platform.report it is pushed (batched within a second).
    w.wait_for(
        &format!("[fixture:telemetry] report {} success", ids[1]),
        Duration::from_secs(10),
    );
    let first = format!("[fixture:telemetry] report {} success", ids[0]);
    w.wait_for(&first, Duration::from_secs(1));
    let text = w.text();
    let line = text
        .lines()
        .find(|l| l.starts_with(&first))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains(", init "),
        "the cold start's init duration: {line}"
    );
    // A timeout resets the environment: SHUTDOWN (timeout) first; the next invocation starts
    // the extensions afresh.
    let more = w.py(
        "for e in ['sleep:3000:late', 'three']:\n    \
             r = l.invoke(FunctionName='fixture', Payload=json.dumps(e).encode(), LogType='Tail')\n    \
             print(base64.b64decode(r['LogResult']).decode().split()[2])",
    );
    let more: Vec<&str> = more.lines().collect();
    // Ctrl-C: SHUTDOWN to the extensions, which exit; nothing is left to SIGKILL.
    let log = w.log.clone();
    drop(w);
    let text = std::fs::read_to_string(log).unwrap();
    assert!(
        text.contains("the runtime and its extensions exited after"),
        "{text}"
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            serde_json::json!({"eventType": "INVOKE", "requestId": ids[0]}),
            serde_json::json!({"eventType": "INVOKE", "requestId": ids[1]}),
            serde_json::json!({"eventType": "INVOKE", "requestId": more[0]}),
            serde_json::json!({"eventType": "SHUTDOWN", "shutdownReason": "timeout"}),
            serde_json::json!({"eventType": "INVOKE", "requestId": more[1]}),
            serde_json::json!({"eventType": "SHUTDOWN", "shutdownReason": "spindown"}),
        ]
    );
}

#[test]
fn a_subscriber_written_to_the_documented_apis_gets_platform_and_function_records_in_batches() {
    let subscriber = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/telemetry_subscriber.py");
    let batches = scratch("subscriber").join("batches");
    let log = format!("TELEMETRY_LOG={}", batches.display());
    let w = Watch::fixture(
        "subscriber",
        "echo",
        &["--extension", subscriber.to_str().unwrap(), "--env", &log],
    );
    let id = w.py(
        "r = l.invoke(FunctionName='fixture', Payload=b'\"log\"', LogType='Tail')\n\
         print(base64.b64decode(r['LogResult']).decode().split()[2])",
    );
    // The batches (25 ms apart at most) hold the init's records, then the invocation's: its
    // start, the function's log line, runtimeDone and report.
    let deadline = Instant::now() + Duration::from_secs(10);
    let records = loop {
        let records: Vec<serde_json::Value> = std::fs::read_to_string(&batches)
            .unwrap_or_default()
            .lines()
            .flat_map(|b| serde_json::from_str::<Vec<serde_json::Value>>(b).unwrap())
            .collect();
        if records.iter().any(|r| r["type"] == "platform.report") {
            break records;
        }
        assert!(
            Instant::now() < deadline,
            "no report pushed: {records:?}\n{}",
            w.text()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let types: Vec<&str> = records
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    let at = |t: &str| {
        types
            .iter()
            .position(|x| *x == t)
            .unwrap_or_else(|| panic!("{t}: {types:?}"))
    };
    assert!(
        at("platform.initStart") < at("platform.initRuntimeDone")
            && at("platform.initRuntimeDone") < at("platform.initReport")
            && at("platform.initReport") < at("platform.start")
            && at("platform.start") < at("function")
            && at("function") < at("platform.runtimeDone")
            && at("platform.runtimeDone") < at("platform.report"),
        "{types:?}"
    );
    let function = &records[at("function")];
    assert!(
        function["record"].as_str().unwrap().contains("stored"),
        "{function}"
    );
    let report = &records[at("platform.report")];
    assert_eq!(report["record"]["requestId"], id.as_str());
    assert_eq!(report["record"]["status"], "success");
    assert!(
        report["record"]["metrics"]["initDurationMs"]
            .as_f64()
            .is_some(),
        "{report}"
    );
    assert!(
        records
            .iter()
            .all(|r| r["time"].as_str().is_some_and(|t| t.ends_with('Z')))
    );
}

#[test]
fn an_invocation_ends_when_the_extensions_registered_for_invoke_are_back() {
    let subscriber = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/telemetry_subscriber.py");
    let dir = scratch("barrier");
    let batches = dir.join("batches");
    let hold = dir.join("hold");
    let log = format!("TELEMETRY_LOG={}", batches.display());
    let hold_env = format!("EXTENSION_HOLD={}", hold.display());
    let w = Watch::fixture(
        "barrier",
        "echo",
        &[
            "--extension",
            subscriber.to_str().unwrap(),
            "--env",
            &log,
            "--env",
            &hold_env,
            "--env",
            "EXTENSION_INVOKE_MS=300",
        ],
    );
    // With the tail, the answer waits for the REPORT line, which waits for the extension (its
    // 300 ms are in the Duration): the next call finds the environment free again.
    let call = |e: &str, tail: bool| {
        w.py(&format!(
            "import re\n\
             r = l.invoke(FunctionName='fixture', Payload=json.dumps({e:?}).encode(), **({{'LogType': 'Tail'}} if {tail} else {{}}))\n\
             assert r['Payload'].read().decode() == json.dumps({e:?})\n\
             if {tail}:\n    \
                 log = base64.b64decode(r['LogResult']).decode()\n    \
                 print({e:?}, 'cold' if 'Init Duration' in log else 'warm', float(re.search(r'\\tDuration: ([0-9.]+)', log).group(1)) >= 300)",
            tail = if tail { "True" } else { "False" }
        ))
    };
    assert_eq!(call("a", true), "a cold True", "{}", w.text());
    assert_eq!(call("b", true), "b warm True", "{}", w.text());
    // Without the tail the answer comes first; the extension given c's INVOKE takes the hold
    // file and keeps its environment busy until released, so d, whenever it comes, goes to
    // a new environment (no window of time to land in).
    std::fs::write(&hold, "").unwrap();
    assert_eq!(call("c", false), "");
    // Once c's extension took the hold (after its 300 ms), c's environment is held busy.
    let deadline = Instant::now() + Duration::from_secs(30);
    while hold.exists() {
        assert!(
            Instant::now() < deadline,
            "c's extension never took the hold"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(call("d", true), "d cold True", "{}", w.text());
    std::fs::write(dir.join("hold.release"), "").unwrap();
}

#[test]
fn a_function_from_new_http_answers_its_function_url_through_watch() {
    let w = Watch::new_crate("new-http", &["--http"], "web-fn");
    let (head, body) = curl(&w, &[], "/lambda-url/web-fn/hi/there?name=Zo%C3%AB");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["message"], "Hello, Zoë!");
    assert_eq!(json["path"], "/hi/there");
}

#[test]
fn a_function_url_to_a_function_that_is_not_http_says_why_it_answered_502() {
    // `new`'s JSON function takes {"name": …}: a Function URL event is not that.
    let mut w = Watch::new_crate("new-json", &[], "json-fn");
    let (head, _) = curl(&w, &[], "/lambda-url/json-fn/hi");
    assert!(head.starts_with("http/1.1 502"), "{head}");
    w.wait_for(
        "[json-fn] Function URL answered 502: the function failed:",
        Duration::from_secs(10),
    );
    assert!(w.text().contains("Runtime.InvalidEvent"), "{}", w.text());
}
