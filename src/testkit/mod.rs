//! A test kit for handlers (feature `testkit`, for `[dev-dependencies]`): any handler — bytes,
//! `json`, `http`, streamed — run through the real runtime loop against an in-process Runtime
//! API on loopback, and back what Lambda would have: the answer (a streamed one as its
//! chunks), the error document, the function's log lines. Also a [`Invocation`] builder for
//! the [`Context`] a unit test hands a handler, and [`samples`]: an event of every source.
//!
//! ```
//! use lambda_lite::testkit::{samples, TestLambda};
//! use lambda_lite::{Context, Error};
//!
//! fn handler(event: &[u8], ctx: &Context) -> Result<Vec<u8>, Error> {
//!     lambda_lite::info!("{} bytes", event.len());
//!     if event.is_empty() {
//!         return Err(Error::new("EmptyEvent", "nothing to echo"));
//!     }
//!     Ok(event.to_vec())
//! }
//!
//! let mut lambda = TestLambda::new();
//! let out = lambda.invoke(samples::SQS, handler);
//! assert_eq!(out.body(), samples::SQS.as_bytes());
//! assert!(out.logs()[0].contains("bytes"));
//!
//! let out = lambda.invoke("", handler);
//! assert_eq!(out.error().map(|e| e.error_type.as_str()), Some("EmptyEvent"));
//! ```
//!
//! A typed handler goes through its adapter, as `lambda_main!` does: `lambda.invoke(event,
//! |e, ctx| lambda_lite::json::call(e, ctx, handler))` (or `http::call`). The log lines are
//! those written through this crate's log macros (and the `log` and `tracing` bridges) on
//! the test's thread, in Lambda's format, and the runtime's own; `println!` goes to the test's
//! output as usual. One `TestLambda` serves any number of invocations, one at a time; tests
//! may each have their own and run in parallel.

pub mod samples;
mod server;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::context::{Config, Context, OwnedContext};
use crate::error::Result;
use crate::response::IntoResponse;
use crate::runtime::Runtime;
use server::{Posted, Queued, Server};

/// A function as Lambda would run it, in-process: a runtime and the Runtime API it talks to.
pub struct TestLambda {
    server: Server,
    runtime: Runtime,
    config: std::sync::Arc<Config>,
    count: u64,
}

impl Default for TestLambda {
    fn default() -> Self {
        TestLambda::new()
    }
}

impl TestLambda {
    /// A function named `test-function` with 128 MB (see [`TestLambda::with_config`]).
    /// Panics (failing the test) if no loopback port can be had.
    pub fn new() -> TestLambda {
        TestLambda::with_config(Config {
            function_name: "test-function".into(),
            memory: 128,
            version: "$LATEST".into(),
            ..Config::default()
        })
    }

    /// A function with this configuration (what the runtime would read from `AWS_*`).
    pub fn with_config(config: Config) -> TestLambda {
        let server = match Server::start() {
            Ok(server) => server,
            Err(e) => panic!("the test kit could not listen on 127.0.0.1: {e}"),
        };
        let runtime = match Runtime::new(&server.address, config.clone()) {
            Ok(runtime) => runtime,
            Err(e) => panic!("the test kit could not make a runtime: {e}"),
        };
        TestLambda {
            server,
            runtime,
            config: std::sync::Arc::new(config),
            count: 0,
        }
    }

    /// Runs `handler` for one event, through the runtime loop, with a fresh request id and a
    /// deadline 3 s away.
    pub fn invoke<'s, R: IntoResponse<'s>>(
        &mut self,
        event: impl AsRef<[u8]>,
        handler: impl FnMut(&[u8], &Context<'_>) -> Result<R>,
    ) -> Outcome {
        self.count += 1;
        let id = format!("00000000-0000-4000-8000-{:012}", self.count);
        let invocation = Invocation::new(event).request_id(&id);
        self.invoke_with(invocation, handler)
    }

    /// Runs `handler` for one invocation described in full (request id, deadline, ARN,
    /// trace, client context, identity, tenant).
    pub fn invoke_with<'s, R: IntoResponse<'s>>(
        &mut self,
        invocation: Invocation,
        mut handler: impl FnMut(&[u8], &Context<'_>) -> Result<R>,
    ) -> Outcome {
        let Invocation { context, event } = invocation;
        let mut headers = vec![
            ("Lambda-Runtime-Aws-Request-Id", context.request_id.clone()),
            ("Lambda-Runtime-Deadline-Ms", context.deadline.to_string()),
        ];
        let arn = if context.invoked_function_arn.is_empty() {
            format!(
                "arn:aws:lambda:us-east-1:123456789012:function:{}",
                self.config.function_name
            )
        } else {
            context.invoked_function_arn.clone()
        };
        headers.push(("Lambda-Runtime-Invoked-Function-Arn", arn));
        for (name, value) in [
            ("Lambda-Runtime-Trace-Id", &context.xray_trace_id),
            ("Lambda-Runtime-Client-Context", &context.client_context),
            ("Lambda-Runtime-Cognito-Identity", &context.identity),
            ("Lambda-Runtime-Aws-Tenant-Id", &context.tenant_id),
        ] {
            if let Some(value) = value {
                headers.push((name, value.clone()));
            }
        }
        self.server.push(Queued {
            headers,
            body: event,
        });
        crate::log::capture_start();
        let served = self.runtime.step(|event, ctx| handler(event, ctx));
        let logs = crate::log::capture_take();
        let answer = match served {
            Err(fatal) => Answer::Fatal(fatal.to_string()),
            Ok(()) => match self.server.posted.recv_timeout(Duration::from_secs(30)) {
                Ok(Posted::Response {
                    chunks,
                    trailers,
                    chunked,
                }) => {
                    let error = trailers
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case("Lambda-Runtime-Function-Error-Body"))
                        .map(|(_, body)| {
                            ErrorDocument::parse(&crate::text::base64_decode(body.as_bytes()))
                        });
                    if chunked {
                        Answer::Streamed { chunks, error }
                    } else {
                        Answer::Response(chunks.concat())
                    }
                }
                Ok(Posted::Error { body }) => Answer::Error(ErrorDocument::parse(&body)),
                Err(_) => Answer::Fatal("the runtime posted no answer".into()),
            },
        };
        Outcome { answer, logs }
    }
}

/// What Lambda would have made of one invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    answer: Answer,
    logs: Vec<String>,
}

/// The answer posted for an invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A buffered answer (`POST /response` with a `Content-Length`).
    Response(Vec<u8>),
    /// A streamed answer: each write of the handler as it was sent, and the error its
    /// trailers carried if it failed part-way.
    Streamed {
        /// The chunks, in order.
        chunks: Vec<Vec<u8>>,
        /// The error the stream ended with (its `Lambda-Runtime-Function-Error-*` trailers).
        error: Option<ErrorDocument>,
    },
    /// An error (`POST /error`).
    Error(ErrorDocument),
    /// The runtime gave up (what would end its process on Lambda), with its reason.
    Fatal(String),
}

/// An error document, as the runtime posts it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorDocument {
    /// `errorType`.
    pub error_type: String,
    /// `errorMessage`.
    pub error_message: String,
    /// `stackTrace`.
    pub stack_trace: Vec<String>,
}

impl ErrorDocument {
    fn parse(json: &[u8]) -> ErrorDocument {
        let v: serde_json::Value = serde_json::from_slice(json).unwrap_or_default();
        let text = |key: &str| {
            v.get(key)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        ErrorDocument {
            error_type: text("errorType"),
            error_message: text("errorMessage"),
            stack_trace: v
                .get("stackTrace")
                .and_then(|t| t.as_array())
                .map(|t| {
                    t.iter()
                        .filter_map(|l| l.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

impl Outcome {
    /// The answer, as posted.
    pub fn answer(&self) -> &Answer {
        &self.answer
    }

    /// The answer's bytes (a streamed one's chunks joined); empty for an error.
    pub fn body(&self) -> Vec<u8> {
        match &self.answer {
            Answer::Response(body) => body.clone(),
            Answer::Streamed { chunks, .. } => chunks.concat(),
            Answer::Error(_) | Answer::Fatal(_) => Vec::new(),
        }
    }

    /// The answer read as JSON into `T`; `Err` with the reason (an error answer, or JSON
    /// that is not a `T`).
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> std::result::Result<T, String> {
        if let Some(e) = self.error() {
            return Err(format!(
                "the function failed: {}: {}",
                e.error_type, e.error_message
            ));
        }
        serde_json::from_slice(&self.body()).map_err(|e| e.to_string())
    }

    /// A streamed answer's chunks; `None` for any other answer.
    pub fn chunks(&self) -> Option<&[Vec<u8>]> {
        match &self.answer {
            Answer::Streamed { chunks, .. } => Some(chunks),
            _ => None,
        }
    }

    /// The error: posted to `/error`, or ending a stream.
    pub fn error(&self) -> Option<&ErrorDocument> {
        match &self.answer {
            Answer::Error(e) | Answer::Streamed { error: Some(e), .. } => Some(e),
            _ => None,
        }
    }

    /// Whether the function answered without an error.
    pub fn is_ok(&self) -> bool {
        matches!(
            self.answer,
            Answer::Response(_) | Answer::Streamed { error: None, .. }
        )
    }

    /// The function's log lines during the invocation, in Lambda's format (no line ends).
    pub fn logs(&self) -> &[String] {
        &self.logs
    }
}

/// An invocation to run, or the [`Context`] of one for a handler called directly: the event
/// and what the `Lambda-Runtime-*` headers would say.
///
/// ```
/// use lambda_lite::testkit::Invocation;
/// use std::time::Duration;
///
/// let ctx = Invocation::new("{}").request_id("r-1").tenant_id("acme").deadline_in(Duration::from_secs(5)).context();
/// let ctx = ctx.as_context();
/// assert_eq!((ctx.request_id, ctx.tenant_id), ("r-1", Some("acme")));
/// assert!(ctx.remaining() > Duration::from_secs(4));
/// ```
#[derive(Debug, Clone)]
pub struct Invocation {
    context: OwnedContext,
    event: Vec<u8>,
}

impl Invocation {
    /// An invocation of `event`, request id `test-request`, its deadline 3 s from now.
    pub fn new(event: impl AsRef<[u8]>) -> Invocation {
        let config = Config {
            function_name: "test-function".into(),
            memory: 128,
            ..Config::default()
        };
        let mut context = Context::new("test-request", 0, &config).to_owned_context();
        context.deadline = in_ms(Duration::from_secs(3));
        Invocation {
            context,
            event: event.as_ref().to_vec(),
        }
    }

    /// `Lambda-Runtime-Aws-Request-Id`.
    pub fn request_id(mut self, id: &str) -> Invocation {
        id.clone_into(&mut self.context.request_id);
        self
    }

    /// The deadline, `after` from now.
    pub fn deadline_in(mut self, after: Duration) -> Invocation {
        self.context.deadline = in_ms(after);
        self
    }

    /// `Lambda-Runtime-Invoked-Function-Arn` (by default the test function's unqualified ARN).
    pub fn invoked_function_arn(mut self, arn: &str) -> Invocation {
        arn.clone_into(&mut self.context.invoked_function_arn);
        self
    }

    /// `Lambda-Runtime-Trace-Id`.
    pub fn xray_trace_id(mut self, trace: &str) -> Invocation {
        self.context.xray_trace_id = Some(trace.to_owned());
        self
    }

    /// `Lambda-Runtime-Client-Context` (JSON).
    pub fn client_context(mut self, json: &str) -> Invocation {
        self.context.client_context = Some(json.to_owned());
        self
    }

    /// `Lambda-Runtime-Cognito-Identity` (JSON).
    pub fn identity(mut self, json: &str) -> Invocation {
        self.context.identity = Some(json.to_owned());
        self
    }

    /// `Lambda-Runtime-Aws-Tenant-Id`.
    pub fn tenant_id(mut self, tenant: &str) -> Invocation {
        self.context.tenant_id = Some(tenant.to_owned());
        self
    }

    /// The function's configuration, as a [`Context::env_config`] shows it.
    pub fn config(mut self, config: Config) -> Invocation {
        self.context.env_config = std::sync::Arc::new(config);
        self
    }

    /// The context a handler would get: call `.as_context()` on it.
    pub fn context(&self) -> OwnedContext {
        self.context.clone()
    }

    /// The event's bytes.
    pub fn event(&self) -> &[u8] {
        &self.event
    }
}

fn in_ms(after: Duration) -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from((now + after).as_millis()).unwrap_or(u64::MAX)
}
