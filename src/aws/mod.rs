//! Calling AWS from a function without tokio (feature `aws`): a blocking client that signs
//! with SigV4, speaks HTTPS through rustls, and keeps one connection per endpoint and worker
//! across invocations. Nothing happens at start-up: the environment, the credentials and the
//! TLS configuration are read on the first call.
//!
//! ```no_run
//! use lambda_lite::aws::Client;
//! use lambda_lite::{lambda_main, Context, Error};
//! use serde::{Deserialize, Serialize};
//!
//! static AWS: Client = Client::new();
//!
//! #[derive(Deserialize)]
//! struct Request { id: String }
//!
//! #[derive(Serialize, Deserialize)]
//! struct Order { id: String, total: u32 }
//!
//! fn handler(request: Request, ctx: &Context) -> Result<Order, Error> {
//!     let table = std::env::var("TABLE")?;
//!     let key = serde_json::json!({ "id": request.id });
//!     let order = AWS.dynamodb().get_item::<Order>(&table, &key, ctx)?;
//!     order.ok_or_else(|| Error::new("ItemNotFound", format!("no order {}", request.id)))
//! }
//!
//! lambda_main!(json handler);
//! ```
//!
//! # What it reads, as the SDKs do
//!
//! - Credentials: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` (what
//!   Lambda sets); the shared credentials file of `AWS_PROFILE` (static keys, for local runs);
//!   the container credentials endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI` with
//!   `AWS_CONTAINER_AUTHORIZATION_TOKEN` or `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, what
//!   SnapStart functions get), fetched again five minutes before they expire.
//! - The region: `AWS_REGION` (Lambda sets it), `AWS_DEFAULT_REGION`, the profile's `region`.
//! - Endpoints: `AWS_ENDPOINT_URL_<SERVICE>` (`AWS_ENDPOINT_URL_DYNAMODB`), then
//!   `AWS_ENDPOINT_URL`, then the service's public HTTPS endpoint in the region;
//!   `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` ignores the first two. Plain `http://` only
//!   where you set it (moto, LocalStack, DynamoDB Local).
//! - `AWS_CA_BUNDLE`: a PEM file of certificates trusted beside Mozilla's roots (proxies, a
//!   local TLS endpoint). `AWS_MAX_ATTEMPTS`: attempts per call (3).
//!
//! # What it does for you
//!
//! The standard retry mode: throttling, 5xx answers and connection failures are tried again
//! (up to `AWS_MAX_ATTEMPTS`) after an exponential backoff with full jitter; a clock that is
//! off is corrected from the service's `Date` and the call signed again. No call outlives its
//! [`Deadline`]: pass the handler's [`Context`](crate::Context) and the call gives up in time
//! for the function to answer. Errors are [`AwsError`] values (service, code, message, status,
//! request id, retryable); `?` turns one into a [`crate::Error`] whose type is the code.
//!
//! One [`Client`] serves every worker of [`run_concurrent`](crate::run_concurrent): each call
//! takes a kept connection to its endpoint or opens one, and puts it back after. After a
//! SnapStart restore, the kept connections, the credentials and the configuration are dropped
//! and read again (the client registers the runtime's after-restore hook on its first use
//! before the snapshot).

mod calls;
mod credentials;
mod dynamodb;
mod error;
mod profile;
mod s3;
mod service;
mod sigv4;
mod time;
mod tls;
mod transport;

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

pub use calls::{
    ApiGatewayManagement, BatchFailure, Invoked, Lambda, SecretsManager, Sns, Sqs, Ssm,
};
pub use credentials::Credentials;
pub use dynamodb::{DynamoDb, Expression};
pub use error::AwsError;
pub use s3::S3;
pub use service::Service;

use time::Timestamp;
use transport::{Connection, Reply, Started, Target};

/// Bumped by the after-restore hook: state kept under an older value is dropped.
static RESTORES: AtomicU64 = AtomicU64::new(0);
static RESTORE_HOOK: AtomicBool = AtomicBool::new(false);

/// Kept connections per client, at most: one per worker and endpoint is the usual need.
const MAX_KEPT: usize = 64;
/// The whole of a call made without a deadline of its own.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// What a failed TLS handshake should say of what the client accepts.
const TLS_HINT: &str = "; the AWS client accepts TLS 1.2 and 1.3 with AES-GCM and certificates \
     signed with RSA or ECDSA P-384 that chain to AWS's roots or to AWS_CA_BUNDLE";
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(20);

/// When a call must have returned, successful or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline(Instant);

impl Deadline {
    /// At this instant.
    pub fn at(instant: Instant) -> Deadline {
        Deadline(instant)
    }

    /// This long from now.
    pub fn after(duration: Duration) -> Deadline {
        Deadline(Instant::now() + duration)
    }
}

impl From<&crate::Context<'_>> for Deadline {
    /// The invocation's deadline less a tenth of the time left (at most 100 ms), so that the
    /// function still has time to answer with the error.
    fn from(ctx: &crate::Context<'_>) -> Deadline {
        let left = ctx.remaining();
        Deadline::after(left - (left / 10).min(Duration::from_millis(100)))
    }
}

impl From<Duration> for Deadline {
    fn from(duration: Duration) -> Deadline {
        Deadline::after(duration)
    }
}

impl From<Instant> for Deadline {
    fn from(instant: Instant) -> Deadline {
        Deadline(instant)
    }
}

/// A blocking AWS client. `const`: put it in a `static`, or build one in init; share it by
/// reference with every worker. See the [module documentation](self).
pub struct Client {
    /// What was given in code; the environment fills in the rest.
    given: Option<Box<Config>>,
    state: Mutex<State>,
    kept: Mutex<Vec<Connection>>,
    /// Seconds to add to the local clock to get the services' (from their `Date` header).
    skew: AtomicI64,
}

#[derive(Default)]
struct State {
    restores: u64,
    settings: Option<Arc<Settings>>,
    credentials: Option<Arc<Credentials>>,
}

/// What the environment says, read on the first call.
struct Settings {
    region: String,
    endpoint_url: Option<String>,
    service_endpoints: Vec<(String, String)>,
    ca_bundle: Option<String>,
    max_attempts: u32,
    tls: OnceLock<Result<Arc<rustls::ClientConfig>, String>>,
}

impl Default for Client {
    fn default() -> Client {
        Client::new()
    }
}

/// A request before signing: the path and query as sent (percent-encoded), extra headers.
pub(crate) struct Outgoing<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: &'a str,
    pub(crate) headers: &'a [(&'a str, &'a str)],
    pub(crate) body: &'a [u8],
    /// An S3 bucket: in the host name (virtual-hosted) or the path (path-style).
    pub(crate) bucket: Option<&'a str>,
}

impl Client {
    /// A client that has read nothing yet.
    pub const fn new() -> Client {
        Client {
            given: None,
            state: Mutex::new(State {
                restores: 0,
                settings: None,
                credentials: None,
            }),
            kept: Mutex::new(Vec::new()),
            skew: AtomicI64::new(0),
        }
    }

    /// A client with some settings given in code (an API Gateway Management API endpoint, a
    /// region other than the function's, keys of another account); what `config` leaves
    /// `None` is read from the environment as [`Client::new`] does.
    pub fn with_config(config: Config) -> Client {
        Client {
            given: Some(Box::new(config)),
            ..Client::new()
        }
    }

    /// Calls an operation of a service that speaks the awsJson protocol (DynamoDB, SQS, SSM,
    /// Secrets Manager, Kinesis, EventBridge, Step Functions, KMS, CloudWatch Logs…) with the
    /// operation's input as JSON, and returns its output as JSON, as the service's API
    /// reference documents them.
    ///
    /// ```no_run
    /// # use lambda_lite::aws::{Client, Service};
    /// # let client = Client::new();
    /// let out = client.call_json(&Service::KINESIS, "PutRecord",
    ///     br#"{"StreamName":"clicks","PartitionKey":"u1","Data":"aGk="}"#, std::time::Duration::from_secs(2))?;
    /// # Ok::<(), lambda_lite::aws::AwsError>(())
    /// ```
    pub fn call_json(
        &self,
        service: &Service,
        operation: &str,
        input: &[u8],
        deadline: impl Into<Deadline>,
    ) -> Result<Vec<u8>, AwsError> {
        let Some((prefix, content_type)) = service.json else {
            return Err(AwsError::client(
                "ConfigInvalid",
                format!("{} does not speak the awsJson protocol", service.name),
            ));
        };
        let target = format!("{prefix}.{operation}");
        let headers = [
            ("Content-Type", content_type),
            ("X-Amz-Target", target.as_str()),
        ];
        let outgoing = Outgoing {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body: input,
            bucket: None,
        };
        self.send(service, &outgoing, deadline.into())
            .map(|reply| reply.body)
    }

    /// [`Client::call_json`] with serde: `input` serialized, the output deserialized (into
    /// `serde_json::Value` to look at it freely).
    pub fn call<O: serde::de::DeserializeOwned>(
        &self,
        service: &Service,
        operation: &str,
        input: &impl serde::Serialize,
        deadline: impl Into<Deadline>,
    ) -> Result<O, AwsError> {
        let input = serde_json::to_vec(input)
            .map_err(|e| AwsError::client("SerializationError", e.to_string()))?;
        let output = self.call_json(service, operation, &input, deadline)?;
        serde_json::from_slice(&output).map_err(|e| invalid_response(service, &e))
    }

    /// DynamoDB's typed calls.
    pub fn dynamodb(&self) -> DynamoDb<'_> {
        DynamoDb { client: self }
    }

    /// SQS's typed calls.
    pub fn sqs(&self) -> Sqs<'_> {
        Sqs { client: self }
    }

    /// SSM Parameter Store's typed calls.
    pub fn ssm(&self) -> Ssm<'_> {
        Ssm { client: self }
    }

    /// S3's typed calls.
    pub fn s3(&self) -> S3<'_> {
        S3 { client: self }
    }

    /// SNS's typed calls.
    pub fn sns(&self) -> Sns<'_> {
        Sns { client: self }
    }

    /// Lambda's typed calls.
    pub fn lambda(&self) -> Lambda<'_> {
        Lambda { client: self }
    }

    /// The API Gateway Management API's typed calls (its endpoint is the WebSocket API's:
    /// see [`Service::API_GATEWAY_MANAGEMENT`]).
    pub fn api_gateway_management(&self) -> ApiGatewayManagement<'_> {
        ApiGatewayManagement { client: self }
    }

    /// Calls an operation of a REST-JSON service (Lambda, the API Gateway Management API…):
    /// `method` on `path` (percent-encoded as sent, the service's base path excluded) with
    /// `query` (encoded, without `?`) and `body`; returns the answer's body.
    pub fn call_rest(
        &self,
        service: &Service,
        method: &str,
        path: &str,
        query: &str,
        body: &[u8],
        deadline: impl Into<Deadline>,
    ) -> Result<Vec<u8>, AwsError> {
        let headers = [("Content-Type", "application/json")];
        let outgoing = Outgoing {
            method,
            path,
            query,
            headers: &headers,
            body,
            bucket: None,
        };
        self.send(service, &outgoing, deadline.into())
            .map(|reply| reply.body)
    }

    /// Secrets Manager's typed calls.
    pub fn secrets_manager(&self) -> SecretsManager<'_> {
        SecretsManager { client: self }
    }

    /// Signs and sends one request and reads its answer whole.
    pub(crate) fn send(
        &self,
        service: &Service,
        outgoing: &Outgoing<'_>,
        deadline: Deadline,
    ) -> Result<Reply, AwsError> {
        self.attempts(service, outgoing, deadline, |mut body| {
            let bytes = transport::read_whole(&mut body)?;
            Ok(Reply {
                status: body.started.status,
                headers: std::mem::take(&mut body.started.headers),
                body: bytes,
            })
        })
    }

    /// Signs and sends one request, trying again as the standard retry mode says, and returns
    /// a successful answer whose body is read as it arrives.
    pub(crate) fn send_streamed(
        &self,
        service: &Service,
        outgoing: &Outgoing<'_>,
        deadline: Deadline,
    ) -> Result<Body<'_>, AwsError> {
        self.attempts(service, outgoing, deadline, Ok)
    }

    /// The attempts of one call; `finish` takes a successful answer (reading it whole, or
    /// handing it on), and its failure (a connection cut in the middle of the answer) is tried
    /// again like any connection failure.
    fn attempts<'c, T>(
        &'c self,
        service: &Service,
        outgoing: &Outgoing<'_>,
        deadline: Deadline,
        mut finish: impl FnMut(Body<'c>) -> std::io::Result<T>,
    ) -> Result<T, AwsError> {
        let (settings, mut credentials) = self.prepare(deadline)?;
        let (target, path) = settings.locate(service, outgoing.path, outgoing.bucket)?;
        let tls = if target.https {
            Some(
                settings
                    .tls()
                    .map_err(|e| AwsError::client("ConfigInvalid", e))?,
            )
        } else {
            None
        };
        let host = target.host_header();
        let payload = sigv4::sha256_hex(outgoing.body);
        let length = outgoing.body.len().to_string();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut headers: Vec<(&str, &str)> = vec![("Host", &host)];
            headers.extend_from_slice(outgoing.headers);
            headers.push(("Content-Length", &length));
            let request = sigv4::Request {
                method: outgoing.method,
                path: &path,
                query: outgoing.query,
                headers: &headers,
                payload_sha256: &payload,
            };
            let scope = sigv4::Scope {
                credentials: &credentials,
                region: &settings.region,
                service: service.signing_name,
                time: self.service_time(),
            };
            let added = sigv4::sign_headers(&request, &scope, service.rules);
            let mut head = String::with_capacity(512 + path.len());
            head.push_str(outgoing.method);
            head.push(' ');
            head.push_str(&path);
            if !outgoing.query.is_empty() {
                head.push('?');
                head.push_str(outgoing.query);
            }
            head.push_str(" HTTP/1.1\r\n");
            for (name, value) in headers
                .iter()
                .copied()
                .chain(added.iter().map(|(n, v)| (*n, v.as_str())))
            {
                head.push_str(name);
                head.push_str(": ");
                head.push_str(value);
                head.push_str("\r\n");
            }
            head.push_str("\r\n");
            let error = match self.start(&target, tls, head.as_bytes(), outgoing.body, deadline.0) {
                Ok((connection, started)) => {
                    let skew_changed = self.learn_skew(&started.headers);
                    let mut body = Body {
                        client: self,
                        connection: Some(connection),
                        started,
                    };
                    if body.started.status < 300 {
                        match finish(body) {
                            Ok(answer) => return Ok(answer),
                            Err(e) => io_failure(service, &target, &e, "the answer was cut"),
                        }
                    } else {
                        let mut document = Vec::new();
                        // An error document is small; a cut one still has its status and headers.
                        let _ = (&mut body).take(64 * 1024).read_to_end(&mut document);
                        let reply = Reply {
                            status: body.started.status,
                            headers: std::mem::take(&mut body.started.headers),
                            body: document,
                        };
                        let error = service.error(&reply);
                        if error.is_clock_skew() && skew_changed && attempt < settings.max_attempts
                        {
                            continue; // signed again with the corrected time, at once
                        }
                        if matches!(error.code(), "ExpiredTokenException" | "ExpiredToken")
                            && attempt < settings.max_attempts
                        {
                            credentials = self.refresh_credentials(deadline)?;
                            continue;
                        }
                        error
                    }
                }
                Err(failure) => {
                    io_failure(service, &target, &failure.error, "the connection failed")
                }
            };
            if !error.is_retryable() || attempt >= settings.max_attempts {
                return Err(error);
            }
            let wait = backoff(attempt);
            if Instant::now() + wait >= deadline.0 {
                return Err(error);
            }
            std::thread::sleep(wait);
        }
    }

    /// Sends a request on a kept connection to `target` (a dead one is replaced once,
    /// silently) or a new one, and reads the head of the answer.
    fn start(
        &self,
        target: &Target,
        tls: Option<&Arc<rustls::ClientConfig>>,
        head: &[u8],
        body: &[u8],
        deadline: Instant,
    ) -> Result<(Connection, Started), transport::Failure> {
        let kept = {
            let mut kept = lock(&self.kept);
            kept.iter()
                .position(|c| &c.target == target)
                .map(|i| kept.swap_remove(i))
        };
        let open = || {
            Connection::open(target, tls, deadline).map_err(|error| transport::Failure {
                before_answer: true,
                error,
            })
        };
        let (mut connection, reused) = match kept {
            Some(c) => (c, true),
            None => (open()?, false),
        };
        match connection.start(head, body, deadline) {
            Ok(started) => Ok((connection, started)),
            Err(failure)
                if reused
                    && failure.before_answer
                    && failure.error.kind() != std::io::ErrorKind::TimedOut =>
            {
                let mut connection = open()?;
                let started = connection.start(head, body, deadline)?;
                Ok((connection, started))
            }
            Err(failure) => Err(failure),
        }
    }

    /// Keeps a connection whose last answer was read whole, for the next call to its endpoint.
    fn keep(&self, connection: Connection) {
        let mut kept = lock(&self.kept);
        if kept.len() < MAX_KEPT {
            kept.push(connection);
        }
    }

    /// The settings and credentials for a call: read on first use, after a SnapStart restore,
    /// and (credentials) when they are about to expire.
    fn prepare(&self, deadline: Deadline) -> Result<(Arc<Settings>, Arc<Credentials>), AwsError> {
        register_restore_hook();
        let restores = RESTORES.load(Ordering::Acquire);
        let mut state = lock(&self.state);
        if state.restores != restores {
            *state = State {
                restores,
                ..State::default()
            };
            lock(&self.kept).clear();
        }
        let given = self.given.as_deref();
        let given_keys = given.and_then(|g| g.credentials.clone());
        let keys_due = !matches!(&state.credentials, Some(c) if !c.stale(Timestamp::now()));
        // One pass over the environment for whatever must be read now.
        let vars = if state.settings.is_none() || (keys_due && given_keys.is_none()) {
            Vars::from_env()
        } else {
            Vars(Vec::new())
        };
        let settings = match &state.settings {
            Some(s) => s.clone(),
            None => state
                .settings
                .insert(Arc::new(Settings::read(given, &vars)?))
                .clone(),
        };
        let credentials = match (&state.credentials, keys_due) {
            (Some(c), false) => c.clone(),
            _ => {
                let credentials = match given_keys {
                    Some(c) => c,
                    None => {
                        let timeout = deadline.0.saturating_duration_since(Instant::now());
                        credentials::resolve(&|name| vars.get(name), timeout)?
                    }
                };
                state.credentials.insert(Arc::new(credentials)).clone()
            }
        };
        Ok((settings, credentials))
    }

    fn refresh_credentials(&self, deadline: Deadline) -> Result<Arc<Credentials>, AwsError> {
        lock(&self.state).credentials = None;
        self.prepare(deadline).map(|(_, c)| c)
    }

    /// Now, by the services' clock as far as it is known.
    fn service_time(&self) -> Timestamp {
        let now = Timestamp::now().0 as i64 + self.skew.load(Ordering::Relaxed);
        Timestamp(now.max(0) as u64)
    }

    /// Learns the clock skew from a reply's `Date`; whether it changed by more than a few
    /// seconds (a signature made with the old value may have been refused for it).
    fn learn_skew(&self, headers: &transport::Headers) -> bool {
        let Some(date) = headers[transport::DATE]
            .as_deref()
            .and_then(Timestamp::parse_http_date)
        else {
            return false;
        };
        let skew = date.0 as i64 - Timestamp::now().0 as i64;
        let previous = self.skew.swap(skew, Ordering::Relaxed);
        (skew - previous).abs() > 4
    }
}

/// The body of a successful answer, read as it arrives (an S3 object). Read to its end, it
/// gives its connection back for the next call; dropped before, the connection is closed.
pub struct Body<'c> {
    client: &'c Client,
    connection: Option<Connection>,
    started: Started,
}

impl Body<'_> {
    /// The `Content-Length` the service declared, if it did.
    pub fn content_length(&self) -> Option<u64> {
        self.started.headers[transport::CONTENT_LENGTH]
            .as_deref()
            .and_then(|v| v.parse().ok())
    }

    /// The `Content-Type` the service declared, if it did.
    pub fn content_type(&self) -> Option<&str> {
        self.started.headers[transport::CONTENT_TYPE].as_deref()
    }

    /// The `ETag` of the object, if the service sent one.
    pub fn etag(&self) -> Option<&str> {
        self.started.headers[transport::ETAG].as_deref()
    }
}

impl Read for Body<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let Some(connection) = self.connection.as_mut() else {
            return Ok(0);
        };
        let n = connection.read_body(&mut self.started, buf)?;
        if self.started.finished() {
            if let Some(connection) = self.connection.take() {
                if self.started.reusable() {
                    self.client.keep(connection);
                }
            }
        }
        Ok(n)
    }
}

impl std::fmt::Debug for Body<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Body")
            .field("status", &self.started.status)
            .field("content_length", &self.content_length())
            .finish_non_exhaustive()
    }
}

/// The process environment's AWS variables (and `HOME`), read once per resolution: one pass
/// over the environment, and the per-service endpoint variables found by their prefix.
pub(crate) struct Vars(Vec<(String, String)>);

impl Vars {
    fn from_env() -> Vars {
        Vars(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .filter(|(k, v)| !v.is_empty() && (k.starts_with("AWS_") || k == "HOME"))
                .collect(),
        )
    }

    pub(crate) fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Registers, once, the after-restore hook that makes every client read everything again;
/// only where SnapStart is on, and only before the first event (the runtime refuses later).
fn register_restore_hook() {
    // A load first: every call passes here, and a swap would write the shared flag each time.
    if RESTORE_HOOK.load(Ordering::Acquire) || RESTORE_HOOK.swap(true, Ordering::AcqRel) {
        return;
    }
    if crate::snapstart::is_snapstart() {
        crate::snapstart::register_after_restore(|| {
            RESTORES.fetch_add(1, Ordering::AcqRel);
            Ok(())
        });
    }
}

/// A failed connection, write or read as an error: `TimeoutError` when the deadline passed,
/// else `ConnectionError`, retryable unless TLS or HTTP itself failed.
fn io_failure(service: &Service, target: &Target, error: &std::io::Error, what: &str) -> AwsError {
    let timed_out = matches!(
        error.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    );
    let what = if timed_out {
        "no answer before the call's deadline"
    } else {
        what
    };
    let mut message = format!("{what}: {error} ({}:{})", target.host, target.port);
    // A certificate or a garbled answer does not get better by trying again.
    let retryable = error.kind() != std::io::ErrorKind::InvalidData;
    if target.https && !retryable {
        message.push_str(TLS_HINT);
    }
    AwsError::transport(service.name, message, timed_out, retryable)
}

/// Full jitter: a random wait up to 2^(attempt - 1) seconds, at most [`MAX_BACKOFF`].
fn backoff(attempt: u32) -> Duration {
    let ceiling = Duration::from_secs(1u64 << (attempt - 1).min(5)).min(MAX_BACKOFF);
    let mut random = [0u8; 4];
    let fraction =
        match ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut random) {
            Ok(()) => f64::from(u32::from_le_bytes(random)) / f64::from(u32::MAX),
            Err(_) => 0.5,
        };
    ceiling.mul_f64(fraction)
}

pub(crate) fn invalid_response(service: &Service, error: &dyn std::fmt::Display) -> AwsError {
    AwsError::client(
        "InvalidResponse",
        format!("the answer could not be read: {error}"),
    )
    .in_service(service.name)
}

/// Settings given in code ([`Client::with_config`]); each `None` is read from the environment.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// The region (else `AWS_REGION`…).
    pub region: Option<String>,
    /// The endpoint of every service (else `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, the
    /// public endpoint).
    pub endpoint_url: Option<String>,
    /// The keys (else the environment, the profile, the container endpoint).
    pub credentials: Option<Credentials>,
    /// A PEM file of certificates to trust beside Mozilla's roots (else `AWS_CA_BUNDLE`).
    pub ca_bundle: Option<String>,
    /// Attempts per call (else `AWS_MAX_ATTEMPTS`, else 3).
    pub max_attempts: Option<u32>,
}

impl Settings {
    fn read(given: Option<&Config>, vars: &Vars) -> Result<Settings, AwsError> {
        let env = &|name: &str| vars.get(name);
        let given = given.cloned().unwrap_or_default();
        let region = given
            .region
            .or_else(|| env("AWS_REGION"))
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .or_else(|| profile::region(env))
            .ok_or_else(|| {
                AwsError::client(
                    "ConfigInvalid",
                    "no AWS region: set AWS_REGION (Lambda sets it)",
                )
            })?;
        let ignore = env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let (endpoint_url, service_endpoints) = if ignore {
            (None, Vec::new())
        } else {
            let service_endpoints = vars
                .0
                .iter()
                .filter_map(|(k, v)| {
                    Some((k.strip_prefix("AWS_ENDPOINT_URL_")?.to_owned(), v.clone()))
                })
                .collect();
            (env("AWS_ENDPOINT_URL"), service_endpoints)
        };
        let (endpoint_url, service_endpoints) = match given.endpoint_url {
            Some(url) => (Some(url), Vec::new()),
            None => (endpoint_url, service_endpoints),
        };
        let max_attempts = match given
            .max_attempts
            .map(|n| n.to_string())
            .or_else(|| env("AWS_MAX_ATTEMPTS"))
        {
            Some(n) => n.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                AwsError::client(
                    "ConfigInvalid",
                    format!("AWS_MAX_ATTEMPTS is {n}, not a whole number from 1"),
                )
            })?,
            None => 3,
        };
        Ok(Settings {
            region,
            endpoint_url,
            service_endpoints,
            ca_bundle: given.ca_bundle.or_else(|| env("AWS_CA_BUNDLE")),
            max_attempts,
            tls: OnceLock::new(),
        })
    }

    /// Where a request to `service` for `path` goes: the target and the whole path (the
    /// endpoint's own path first; an S3 bucket in the host or the path).
    fn locate(
        &self,
        service: &Service,
        path: &str,
        bucket: Option<&str>,
    ) -> Result<(Target, String), AwsError> {
        let (mut target, base, configured) = self.endpoint(service)?;
        let mut whole = base.trim_end_matches('/').to_owned();
        if let Some(bucket) = bucket {
            if bucket.is_empty() || bucket.contains('/') {
                return Err(AwsError::client(
                    "ConfigInvalid",
                    format!("{bucket:?} is not a bucket name"),
                ));
            }
            if configured || bucket.contains('.') {
                whole.push('/');
                sigv4::encode_into(&mut whole, bucket.as_bytes(), false);
            } else {
                target.host = format!("{bucket}.{}", target.host);
            }
        }
        whole.push_str(path);
        Ok((target, whole))
    }

    /// Where `service` is reached, the path its requests start with, and whether the
    /// endpoint was configured (rather than AWS's public one).
    fn endpoint(&self, service: &Service) -> Result<(Target, String, bool), AwsError> {
        let configured = self
            .service_endpoints
            .iter()
            .find(|(id, _)| id == service.env_id)
            .map(|(_, url)| url.as_str())
            .or(self.endpoint_url.as_deref());
        let is_configured = configured.is_some();
        let url = match configured {
            Some(url) => url.to_owned(),
            None => {
                let suffix = if self.region.starts_with("cn-") {
                    "amazonaws.com.cn"
                } else {
                    "amazonaws.com"
                };
                format!(
                    "https://{}.{}.{suffix}",
                    service.endpoint_prefix, self.region
                )
            }
        };
        let (target, base) = Target::parse(&url).ok_or_else(|| {
            AwsError::client(
                "ConfigInvalid",
                format!(
                    "the endpoint {url} of {} is not an http(s) URL",
                    service.name
                ),
            )
        })?;
        Ok((target, base, is_configured))
    }

    fn tls(&self) -> Result<&Arc<rustls::ClientConfig>, String> {
        self.tls
            .get_or_init(|| tls::config(self.ca_bundle.as_deref()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::{Config, Service, Settings};

    fn settings(endpoint: Option<&str>) -> Settings {
        let config = Config {
            region: Some("eu-west-1".into()),
            endpoint_url: endpoint.map(str::to_owned),
            ..Config::default()
        };
        Settings::read(Some(&config), &super::Vars(Vec::new())).unwrap()
    }

    #[test]
    fn endpoints_and_bucket_addressing() {
        let aws = settings(None);
        let (target, path) = aws.locate(&Service::DYNAMODB, "/", None).unwrap();
        assert_eq!(
            (target.host_header(), path.as_str(), target.https),
            ("dynamodb.eu-west-1.amazonaws.com".into(), "/", true)
        );
        // S3 on AWS: virtual-hosted, but path-style for a bucket with dots (no certificate
        // covers its virtual host).
        let (target, path) = aws.locate(&Service::S3, "/a/b%20c", Some("files")).unwrap();
        assert_eq!(
            (target.host_header(), path.as_str()),
            ("files.s3.eu-west-1.amazonaws.com".into(), "/a/b%20c")
        );
        let (target, path) = aws.locate(&Service::S3, "/k", Some("my.files")).unwrap();
        assert_eq!(
            (target.host_header(), path.as_str()),
            ("s3.eu-west-1.amazonaws.com".into(), "/my.files/k")
        );
        // An endpoint of one's own: path-style under its path.
        let local = settings(Some("http://127.0.0.1:4566/base/"));
        let (target, path) = local.locate(&Service::S3, "/k", Some("files")).unwrap();
        assert_eq!(
            (target.host_header(), path.as_str(), target.https),
            ("127.0.0.1:4566".into(), "/base/files/k", false)
        );
        assert!(local.locate(&Service::S3, "/k", Some("a/b")).is_err());
        // China's partition.
        let config = Config {
            region: Some("cn-north-1".into()),
            ..Config::default()
        };
        let cn = Settings::read(Some(&config), &super::Vars(Vec::new())).unwrap();
        assert_eq!(
            cn.locate(&Service::SQS, "/", None).unwrap().0.host,
            "sqs.cn-north-1.amazonaws.com.cn"
        );
    }

    #[test]
    fn the_environment_is_read_as_the_sdks_read_it() {
        let vars = |pairs: &[(&str, &str)]| {
            super::Vars(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            )
        };
        let no_region = Settings::read(None, &vars(&[])).err().unwrap();
        assert_eq!(no_region.code(), "ConfigInvalid");
        assert!(no_region.message().contains("AWS_REGION"));
        let s = Settings::read(
            None,
            &vars(&[
                ("AWS_DEFAULT_REGION", "us-west-2"),
                ("AWS_MAX_ATTEMPTS", "5"),
                ("AWS_ENDPOINT_URL", "http://localhost:4566"),
            ]),
        )
        .unwrap();
        assert_eq!((s.region.as_str(), s.max_attempts), ("us-west-2", 5));
        assert_eq!(s.locate(&Service::SSM, "/", None).unwrap().0.port, 4566);
        let per_service = Settings::read(
            None,
            &vars(&[
                ("AWS_REGION", "x"),
                ("AWS_ENDPOINT_URL", "http://localhost:1"),
                ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://localhost:2"),
            ]),
        )
        .unwrap();
        assert_eq!(
            per_service
                .locate(&Service::SECRETS_MANAGER, "/", None)
                .unwrap()
                .0
                .port,
            2
        );
        assert_eq!(
            per_service.locate(&Service::SSM, "/", None).unwrap().0.port,
            1
        );
        let bad = Settings::read(
            None,
            &vars(&[("AWS_REGION", "x"), ("AWS_MAX_ATTEMPTS", "0")]),
        )
        .err()
        .unwrap();
        assert!(bad.message().contains("AWS_MAX_ATTEMPTS"));
        let ignored = Settings::read(
            None,
            &vars(&[
                ("AWS_REGION", "x"),
                ("AWS_ENDPOINT_URL", "http://localhost:1"),
                ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
            ]),
        )
        .unwrap();
        assert_eq!(
            ignored.locate(&Service::SSM, "/", None).unwrap().0.host,
            "ssm.x.amazonaws.com"
        );
    }
}
