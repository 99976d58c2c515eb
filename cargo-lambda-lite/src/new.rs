//! `new NAME`: a function crate that builds and invokes as it stands.

use std::path::{Path, PathBuf};

/// The dependency line on lambda-lite, from where this tool came: `--lambda-lite-path` if
/// given; else the source `cargo install` recorded for it (the same git repository and commit,
/// the checkout it was installed from by path, or the registry version); else, for a tool run
/// from a checkout (`cargo run`, `build.sh`), that checkout; else the registry version.
fn dependency(path: Option<&Path>, features: &[&str]) -> String {
    let features = features
        .iter()
        .map(|f| format!("{f:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let path_dep = |dir: PathBuf| {
        format!(
            "lambda-lite = {{ path = {:?}, features = [{features}] }}",
            dir.canonicalize().unwrap_or(dir).display().to_string()
        )
    };
    let version = || {
        format!(
            "lambda-lite = {{ version = \"{}\", features = [{features}] }}",
            env!("CARGO_PKG_VERSION")
        )
    };
    if let Some(dir) = path {
        return path_dep(dir.to_path_buf());
    }
    match install_source() {
        Some(Source::Git { url, rev }) => {
            return format!(
                "lambda-lite = {{ git = {url:?}, rev = {rev:?}, features = [{features}] }}"
            );
        }
        Some(Source::Path(tool_dir)) => {
            if let Some(repo) = tool_dir.parent().filter(|r| is_lambda_lite(r)) {
                return path_dep(repo.to_path_buf());
            }
        }
        Some(Source::Registry) => return version(),
        None => {}
    }
    match Path::new(env!("CARGO_MANIFEST_DIR")).parent() {
        Some(repo) if is_lambda_lite(repo) => path_dep(repo.to_path_buf()),
        _ => version(),
    }
}

fn is_lambda_lite(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml"))
        .is_ok_and(|m| m.contains("name = \"lambda-lite\""))
}

/// Where `cargo install` took this tool from.
enum Source {
    Git {
        url: String,
        rev: String,
    },
    /// The tool's package folder (`cargo-lambda-lite/` of a checkout).
    Path(PathBuf),
    Registry,
}

/// The source `cargo install` recorded for this executable in `$CARGO_HOME/.crates2.json`
/// (`None` when this executable is not the one in `$CARGO_HOME/bin`).
fn install_source() -> Option<Source> {
    let home = match std::env::var_os("CARGO_HOME") {
        Some(home) => PathBuf::from(home),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".cargo"),
    };
    let exe = std::env::current_exe().ok()?.canonicalize().ok()?;
    if exe.parent()? != home.join("bin").canonicalize().ok()? {
        return None;
    }
    let installs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(home.join(".crates2.json")).ok()?).ok()?;
    // Keys read "cargo-lambda-lite 0.1.0 (git+https://host/repo?branch=main#<commit>)".
    let key = installs["installs"]
        .as_object()?
        .keys()
        .find(|k| k.starts_with("cargo-lambda-lite "))?;
    let source = key.split_once('(')?.1.strip_suffix(')')?;
    if let Some(git) = source.strip_prefix("git+") {
        let (url, rev) = git.split_once('#')?;
        let url = url.split_once('?').map_or(url, |(u, _)| u);
        return Some(Source::Git {
            url: url.to_owned(),
            rev: rev.to_owned(),
        });
    }
    if let Some(path) = source.strip_prefix("path+file://") {
        return Some(Source::Path(PathBuf::from(path)));
    }
    source.starts_with("registry+").then_some(Source::Registry)
}

const MAIN: &str = r#"//! A Lambda function on lambda-lite: `{"name":"…"}` in, a greeting out.
//!
//! `cargo lambda-lite build --invoke-file events/hello.json --env GREETING=Hi` builds
//! `target/lambda/NAME/bootstrap.zip` and runs it locally with Lambda's REPORT lines.
use std::borrow::Cow;

use lambda_lite::{Context, Error, lambda_main};
use serde::{Deserialize, Serialize};

/// What stays across invocations: read once, before the first event.
struct Greeter {
    greeting: String,
}

fn setup() -> Result<Greeter, Error> {
    let greeting = std::env::var("GREETING").unwrap_or_else(|_| "Hello".into());
    Ok(Greeter { greeting })
}

#[derive(Deserialize)]
struct Request<'a> {
    /// Borrowed from the event when it can be, owned when the JSON string holds an escape
    /// (`"Zo\u00eb"`, `"a\nb"`): every valid event is accepted.
    #[serde(borrow)]
    name: Cow<'a, str>,
}

#[derive(Serialize)]
struct Response {
    message: String,
    request_id: String,
}

fn handler(greeter: &mut Greeter, event: Request<'_>, ctx: &Context) -> Result<Response, Error> {
    Ok(Response {
        message: format!("{}, {}!", greeter.greeting, event.name),
        request_id: ctx.request_id.to_owned(),
    })
}

lambda_main!(json init = setup, handler = handler);
"#;

/// The library's sample events (`lambda_lite::testkit::samples`): one copy, in the library.
macro_rules! sample {
    ($file:literal) => {
        include_str!(concat!("../../src/testkit/samples/", $file))
    };
}

/// The HTTP template's sample events, one per source (`new --http`).
const HTTP_EVENTS: [(&str, &str); 4] = [
    ("function_url", sample!("function_url.json")),
    ("http_api", sample!("http_api.json")),
    ("rest_api", sample!("rest_api.json")),
    ("alb", sample!("alb.json")),
];

const HTTP_MAIN: &str = r#"//! An HTTP function on lambda-lite: a Lambda Function URL, an API Gateway HTTP or REST API or
//! an Application Load Balancer calls it, and the answer goes back in the shape each expects.
//!
//! `cargo lambda-lite build --invoke-file events/function_url.json` builds it and runs it
//! locally; events/ holds a request from each source.
use lambda_lite::http::{Request, Response};
use lambda_lite::{Context, Error, lambda_main};

fn handler(req: Request<'_>, _ctx: &Context) -> Result<Response, Error> {
    let name = req.query("name").unwrap_or("world");
    Response::new(200).json(&serde_json::json!({
        "message": format!("Hello, {name}!"),
        "path": req.path(),
    }))
}

lambda_main!(http handler);
"#;

/// An event source `new --event` writes a consumer of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EventSource {
    /// An SQS queue, with partial batch responses.
    Sqs,
    /// An SNS topic.
    Sns,
    /// S3 event notifications.
    S3,
    /// An EventBridge rule.
    Eventbridge,
    /// A schedule (an EventBridge rule or EventBridge Scheduler).
    Schedule,
    /// A DynamoDB stream, with partial batch responses.
    Dynamodb,
    /// A Kinesis data stream, with partial batch responses.
    Kinesis,
    /// A CloudWatch Logs subscription filter.
    CloudwatchLogs,
    /// A Kafka topic (Amazon MSK or self-managed).
    Kafka,
}

/// What differs between the consumers: (sample file, sample, what it consumes, the event type
/// and what else is imported, the answer's type, the handler's body, the answer to the sample).
struct Consumer {
    file: &'static str,
    sample: &'static str,
    what: &'static str,
    imports: &'static str,
    event: &'static str,
    answer: &'static str,
    body: &'static str,
    expected: &'static str,
}

const NO_FAILURES: &str = r#"{"batchItemFailures":[]}"#;

impl EventSource {
    fn consumer(self) -> Consumer {
        let each = |file, sample, what, imports, event, body| Consumer {
            file,
            sample,
            what,
            imports,
            event,
            answer: "()",
            body,
            expected: "null",
        };
        let batch = |file, sample, what, imports, event, body| Consumer {
            answer: "BatchResponse",
            expected: NO_FAILURES,
            ..each(file, sample, what, imports, event, body)
        };
        match self {
            EventSource::Sqs => batch(
                "sqs.json",
                sample!("sqs.json"),
                "an SQS queue's messages",
                "batch::{self, BatchResponse}, SqsEvent",
                "SqsEvent<'_>",
                "    // Each message on its own: a failed one (an error, or a panic with panic = \"unwind\")
    // comes back alone, when the event source mapping has ReportBatchItemFailures.
    batch::sqs(&event, |message| {
        lambda_lite::info!(\"message {}: {}\", message.message_id, message.body);
        Ok(())
    })",
            ),
            EventSource::Kinesis => batch(
                "kinesis.json",
                sample!("kinesis.json"),
                "a Kinesis stream's records",
                "batch::{self, BatchResponse}, KinesisEvent",
                "KinesisEvent<'_>",
                "    // Each record on its own: a failed one is named in the answer, and Lambda goes on
    // from it (ReportBatchItemFailures on the event source mapping).
    batch::kinesis(&event, |record| {
        let data = &record.kinesis.data; // decoded from base64
        lambda_lite::info!(\"{}: {} bytes\", record.kinesis.partition_key, data.len());
        Ok(())
    })",
            ),
            EventSource::Dynamodb => batch(
                "dynamodb.json",
                sample!("dynamodb.json"),
                "a DynamoDB stream's changes",
                "batch::{self, BatchResponse}, DynamoDbEvent",
                "DynamoDbEvent<'_>",
                "    // Each change on its own; `record.dynamodb.new_image` reads as any Deserialize type
    // with `.to::<T>()`.
    batch::dynamodb(&event, |record| {
        let key = record.dynamodb.keys.iter().map(|(name, _)| name).collect::<Vec<_>>();
        lambda_lite::info!(\"{} of the item keyed by {key:?}\", record.event_name);
        Ok(())
    })",
            ),
            EventSource::Sns => each(
                "sns.json",
                sample!("sns.json"),
                "an SNS topic's notifications",
                "SnsEvent",
                "SnsEvent<'_>",
                "    for record in &event.records {
        let sns = &record.sns;
        lambda_lite::info!(\"{}: {}\", sns.subject.as_deref().unwrap_or(\"(no subject)\"), sns.message);
    }
    Ok(())",
            ),
            EventSource::S3 => each(
                "s3.json",
                sample!("s3.json"),
                "S3 event notifications",
                "S3Event",
                "S3Event<'_>",
                "    for record in &event.records {
        let (bucket, object) = (&record.s3.bucket, &record.s3.object);
        // The key is decoded: S3 sends `my+photo.jpg` for `my photo.jpg`.
        lambda_lite::info!(\"{} s3://{}/{}\", record.event_name, bucket.name, object.key);
    }
    Ok(())",
            ),
            EventSource::Eventbridge => each(
                "eventbridge.json",
                sample!("eventbridge.json"),
                "EventBridge events",
                "EventBridgeEvent",
                "EventBridgeEvent<'_>",
                "    // `detail` is a serde_json::Value here; EventBridgeEvent<'_, MyDetail> reads it as yours.
    lambda_lite::info!(\"{} from {}: {}\", event.detail_type, event.source, event.detail);
    Ok(())",
            ),
            EventSource::Schedule => each(
                "scheduled.json",
                sample!("scheduled.json"),
                "a schedule's events",
                "EventBridgeEvent",
                "EventBridgeEvent<'_>",
                "    if event.is_scheduled() {
        lambda_lite::info!(\"scheduled run at {} ({})\", event.time, event.resources.join(\", \"));
    }
    Ok(())",
            ),
            EventSource::CloudwatchLogs => each(
                "cloudwatch_logs.json",
                sample!("cloudwatch_logs.json"),
                "a CloudWatch Logs subscription's log events",
                "CloudWatchLogsEvent",
                "CloudWatchLogsEvent<'_>",
                "    let logs = event.decode()?; // base64, then gzip
    for entry in &logs.log_events {
        lambda_lite::info!(\"{} {}: {}\", logs.log_group, entry.timestamp, entry.message.trim_end());
    }
    Ok(())",
            ),
            EventSource::Kafka => each(
                "kafka.json",
                sample!("kafka_msk.json"),
                "a Kafka topic's records",
                "KafkaEvent",
                "KafkaEvent<'_>",
                "    for record in event.all_records() {
        let value = record.value.as_deref().unwrap_or_default(); // decoded from base64
        lambda_lite::info!(\"{}-{}@{}: {} bytes\", record.topic, record.partition, record.offset, value.len());
    }
    Ok(())",
            ),
        }
    }
}

/// The consumer's `main.rs`, with a unit test that runs it on its sample through the test kit.
fn consumer_main(c: &Consumer) -> String {
    format!(
        r##"//! A Lambda function on lambda-lite that consumes {what}.
//!
//! `cargo test` runs the handler on events/{file} through the runtime loop (lambda_lite's test
//! kit); `cargo lambda-lite build --invoke-file events/{file}` builds it and runs it locally.
use lambda_lite::events::{{{imports}}};
use lambda_lite::{{Context, Error, lambda_main}};

fn handler(event: {event}, _ctx: &Context) -> Result<{answer}, Error> {{
{body}
}}

lambda_main!(json handler);

#[cfg(test)]
mod tests {{
    use lambda_lite::testkit::TestLambda;

    #[test]
    fn handles_the_sample_event() {{
        let event = include_str!("../events/{file}");
        let out = TestLambda::new()
            .invoke(event, |e, ctx| lambda_lite::json::call(e, ctx, super::handler));
        assert!(out.is_ok(), "{{:?}}", out.answer());
        assert_eq!(out.body(), br#"{expected}"#);
        assert!(!out.logs().is_empty(), "the handler logs what it handled");
    }}
}}
"##,
        what = c.what,
        file = c.file,
        imports = c.imports,
        event = c.event,
        answer = c.answer,
        body = c.body,
        expected = c.expected,
    )
}

/// What `new` writes: a JSON function, an HTTP one, or a consumer of an event source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Template {
    /// `{"name":…}` in, a greeting out.
    Json,
    /// `--http`.
    Http,
    /// `--event SOURCE`.
    Event(EventSource),
}

impl Template {
    /// The sample event `build --invoke-file` takes first.
    pub fn first_event(self) -> String {
        let file = match self {
            Template::Json => "hello.json",
            Template::Http => "function_url.json",
            Template::Event(source) => source.consumer().file,
        };
        format!("events/{file}")
    }
}

/// Writes the crate `name` into `./name` from `template`.
pub fn new(name: &str, path: Option<&Path>, template: Template) -> Result<PathBuf, String> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    if !valid {
        return Err(format!(
            "{name:?} is not a crate name (letters, digits, - and _; not starting with a digit)"
        ));
    }
    let dir = PathBuf::from(name);
    if dir.exists() {
        return Err(format!("{} already exists", dir.display()));
    }
    let write = |rel: &str, text: &str| {
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))
    };
    write(
        "Cargo.toml",
        &format!(
            r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"

[dependencies]
{}
{}

# `cargo lambda-lite build` passes the size profile to cargo itself; to build with plain
# `cargo build --release`, uncomment it here:
# [profile.release]
# opt-level = "z"
# lto = "fat"
# codegen-units = 1
# panic = "abort"   # or "unwind": panics are then caught and the function serves on
# strip = true
"#,
            match template {
                Template::Json => dependency(path, &["json"]),
                Template::Http => dependency(path, &["http"]),
                Template::Event(_) => dependency(path, &["events"]),
            },
            match template {
                Template::Json => "serde = { version = \"1\", features = [\"derive\"] }".to_owned(),
                Template::Http => "serde_json = \"1\"".to_owned(),
                // The test kit, for the unit test only: it never reaches the bootstrap.
                Template::Event(_) =>
                    format!("\n[dev-dependencies]\n{}", dependency(path, &["testkit"])),
            }
        ),
    )?;
    match template {
        Template::Http => {
            write("src/main.rs", HTTP_MAIN)?;
            for (source, event) in HTTP_EVENTS {
                write(&format!("events/{source}.json"), event)?;
            }
        }
        Template::Json => {
            write("src/main.rs", &MAIN.replace("NAME", name))?;
            write("events/hello.json", "{\"name\":\"world\"}\n")?;
        }
        Template::Event(source) => {
            let consumer = source.consumer();
            write("src/main.rs", &consumer_main(&consumer))?;
            write(&format!("events/{}", consumer.file), consumer.sample)?;
        }
    }
    write(".gitignore", "/target\n")?;
    Ok(dir)
}
