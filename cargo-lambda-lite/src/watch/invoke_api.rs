//! Lambda's Invoke API and InvokeWithResponseStream, on cargo-lambda's URL shapes, so the AWS
//! CLI, boto3 and the AWS SDKs call a local function as they call Lambda (`--endpoint-url`).

use std::sync::Arc;
use std::time::Duration;

use aws_smithy_types::event_stream::{Header, HeaderValue as EventValue, Message};
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio_stream::wrappers::UnboundedReceiverStream;

use super::Watch;
use super::functions::{Function, Refused};
use crate::environment::{Invocation, Outcome, Progress};
use crate::local::{self, MAX_EVENT};

/// The most payload one eventstream frame carries (the format's frames stop at 16 MB).
const FRAME_PAYLOAD: usize = 1 << 20;

/// Lambda's limit on an asynchronous (`Event`) invocation's payload.
const MAX_ASYNC_EVENT: usize = 1024 * 1024;

/// How much of an invocation's log `X-Amz-Log-Type: Tail` returns.
const TAIL_BYTES: usize = 4096;

/// An error of the API itself, as Lambda's REST-JSON protocol sends it (the SDKs read the
/// type from `X-Amzn-ErrorType`).
pub fn api_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    let body = serde_json::json!({"Type": "User", "message": message}).to_string();
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(error_type) {
        h.insert("x-amzn-errortype", v);
    }
    r
}

pub fn not_found(name: &str) -> Response {
    let arn = if name.starts_with("arn:") {
        name.to_owned()
    } else {
        format!(
            "arn:aws:lambda:{}:{}:function:{name}",
            local::REGION,
            local::ACCOUNT
        )
    };
    api_error(
        StatusCode::NOT_FOUND,
        "ResourceNotFoundException",
        &format!("Function not found: {arn}"),
    )
}

pub fn too_large(len: usize) -> Response {
    api_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestTooLargeException",
        &format!(
            "Request must be smaller than {MAX_EVENT} bytes for the InvokeFunction operation (this one: {len} bytes or more)"
        ),
    )
}

pub fn throttled() -> Response {
    let body = serde_json::json!({
        "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
        "Type": "User",
        "message": "Rate Exceeded."
    })
    .to_string();
    let mut r = (StatusCode::TOO_MANY_REQUESTS, body).into_response();
    r.headers_mut().insert(
        "x-amzn-errortype",
        HeaderValue::from_static("TooManyRequestsException"),
    );
    r
}

fn service_error(message: &str) -> Response {
    api_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "ServiceException",
        message,
    )
}

/// Reads a request body up to Lambda's limit; `Err` is the answer to send instead.
pub async fn read_event(body: Body) -> Result<Bytes, Response> {
    use http_body_util::BodyExt;
    // A declared length over the limit is refused from the head alone: nothing is read, and a
    // client that sent `Expect: 100-continue` gets its 413 instead of `100 Continue`.
    let declared = axum::body::HttpBody::size_hint(&body).lower();
    if declared > MAX_EVENT as u64 {
        return Err(too_large(usize::try_from(declared).unwrap_or(usize::MAX)));
    }
    let limited = http_body_util::Limited::new(body, MAX_EVENT);
    let Ok(collected) = tokio::time::timeout(super::BODY_LIMIT, limited.collect()).await else {
        return Err(api_error(
            StatusCode::REQUEST_TIMEOUT,
            "RequestTimeoutException",
            &format!(
                "the request body did not arrive within {} s",
                super::BODY_LIMIT.as_secs()
            ),
        ));
    };
    match collected {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large(MAX_EVENT + 1)),
        Err(e) => Err(api_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContentException",
            &format!("the request body could not be read: {e}"),
        )),
    }
}

/// The event Lambda gives the function: the payload as sent (`{}` when there is none), which
/// must be JSON.
fn json_payload(body: &Bytes) -> Result<Vec<u8>, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(b"{}".to_vec());
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(_) => Ok(body.to_vec()),
        Err(e) => Err(api_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContentException",
            &format!("Could not parse request body into json: {e}"),
        )),
    }
}

/// The function an Invoke API request names (a name, a partial or a full ARN), the event it
/// carries and what it passes to the runtime, or Lambda's refusal.
async fn accept(
    watch: &Watch,
    name: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Arc<Function>, Vec<u8>, Vec<(String, String)>), Response> {
    let function = super::function_name(name)
        .and_then(|n| watch.functions.get(n))
        .ok_or_else(|| not_found(name))?;
    let invoker = invoker_headers(headers)?;
    let body = read_event(body).await?;
    Ok((function, json_payload(&body)?, invoker))
}

/// What the invoker passes to the runtime: the client context (`X-Amz-Client-Context`, base64
/// of a JSON document, decoded) and the tenant (`X-Amz-Tenant-Id`), as the runtime's headers.
fn invoker_headers(headers: &HeaderMap) -> Result<Vec<(String, String)>, Response> {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let mut out = Vec::new();
    if let Some(context) = header("x-amz-client-context") {
        let json = base64::engine::general_purpose::STANDARD
            .decode(context.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .filter(|t| serde_json::from_str::<serde_json::Value>(t).is_ok())
            .ok_or_else(|| {
                api_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestContentException",
                    "X-Amz-Client-Context must be the base64 of a JSON document",
                )
            })?;
        // One header line: JSON's own line breaks are whitespace.
        out.push((
            "Lambda-Runtime-Client-Context".into(),
            json.replace(['\r', '\n'], " "),
        ));
    }
    if let Some(tenant) = header("x-amz-tenant-id") {
        out.push(("Lambda-Runtime-Aws-Tenant-Id".into(), tenant.to_owned()));
    }
    Ok(out)
}

/// Runs an invocation: its progress arrives on the receiver. A throttled one is refused, as a
/// synchronous invocation is on Lambda.
pub fn start(
    function: &Arc<Function>,
    event: Vec<u8>,
    tail: bool,
    headers: Vec<(String, String)>,
) -> Result<UnboundedReceiver<Progress>, Response> {
    let (tx, rx) = unbounded_channel();
    let invocation = Invocation {
        event,
        tail,
        headers,
        progress: Box::new(move |p| {
            let _ = tx.send(p);
        }),
    };
    match function.invoke(invocation) {
        Ok(()) => Ok(rx),
        Err(Refused::Throttled(_)) => Err(throttled()),
        Err(Refused::Failed(e)) => Err(service_error(&e)),
    }
}

/// An `Event` invocation: queued as Lambda queues it, retried while the function is throttled.
fn queue_event(function: Arc<Function>, event: Vec<u8>, headers: Vec<(String, String)>) {
    tokio::spawn(async move {
        let mut invocation = Invocation {
            event,
            tail: false,
            headers,
            progress: Box::new(|_| {}),
        };
        loop {
            match function.invoke(invocation) {
                Ok(()) => return,
                Err(Refused::Throttled(back)) => invocation = back,
                Err(Refused::Failed(e)) => {
                    eprintln!("watch: an Event invocation was dropped: {e}");
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
}

/// A buffered answer: the outcome (a streamed answer collected), and with `tail` the log.
async fn collect(
    mut progress: UnboundedReceiver<Progress>,
    tail: bool,
) -> Option<(Outcome, Vec<u8>, Vec<u8>)> {
    let mut streamed = Vec::new();
    let mut answer = None;
    while let Some(p) = progress.recv().await {
        match p {
            Progress::Chunk(c) => streamed.extend_from_slice(&c),
            Progress::Answered(outcome) if !tail => return Some((outcome, streamed, Vec::new())),
            Progress::Answered(outcome) => answer = Some(outcome),
            Progress::Done(done) => return answer.map(|a| (a, streamed, done.log)),
            Progress::Started { .. } | Progress::Stream { .. } => {}
        }
    }
    None
}

/// The base64 of the last 4 KB of an invocation's log (`X-Amz-Log-Result`, `LogResult`).
fn log_result(log: &[u8]) -> String {
    let tail = &log[log.len().saturating_sub(TAIL_BYTES)..];
    base64::engine::general_purpose::STANDARD.encode(tail)
}

/// `POST /2015-03-31/functions/{name}/invocations`
pub async fn invoke(
    State(watch): State<Arc<Watch>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (function, event, invoker) = match accept(&watch, &name, &headers, body).await {
        Ok(accepted) => accepted,
        Err(r) => return r,
    };
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    match header("x-amz-invocation-type").unwrap_or("RequestResponse") {
        "RequestResponse" => {}
        "Event" if event.len() > MAX_ASYNC_EVENT => {
            return api_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestTooLargeException",
                &format!(
                    "Request must be smaller than {MAX_ASYNC_EVENT} bytes for an asynchronous (Event) invocation"
                ),
            );
        }
        "Event" => {
            queue_event(function, event, invoker);
            return StatusCode::ACCEPTED.into_response();
        }
        "DryRun" => return StatusCode::NO_CONTENT.into_response(),
        other => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValueException",
                &format!("X-Amz-Invocation-Type {other}: RequestResponse, Event or DryRun"),
            );
        }
    }
    let tail = header("x-amz-log-type") == Some("Tail");
    let progress = match start(&function, event, tail, invoker) {
        Ok(p) => p,
        Err(r) => return r,
    };
    // A caller that leaves from here on does not stop the invocation: it runs to its end.
    let Some((outcome, streamed, log)) = collect(progress, tail).await else {
        return service_error("the environment ended without an answer");
    };
    let (body, error) = match outcome {
        Outcome::Response(body) => (body, false),
        Outcome::Streamed => (streamed, false),
        Outcome::Error(e) => (e.document, true),
    };
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert(
        "x-amz-executed-version",
        HeaderValue::from_static("$LATEST"),
    );
    if error {
        h.insert(
            "x-amz-function-error",
            HeaderValue::from_static("Unhandled"),
        );
    }
    if tail && let Ok(v) = HeaderValue::from_str(&log_result(&log)) {
        h.insert("x-amz-log-result", v);
    }
    r
}

/// One event of the response stream, framed as `application/vnd.amazon.eventstream`.
fn frame(kind: &'static str, content_type: &'static str, payload: Vec<u8>) -> Bytes {
    let message = Message::new(payload)
        .add_header(Header::new(":event-type", EventValue::String(kind.into())))
        .add_header(Header::new(
            ":message-type",
            EventValue::String("event".into()),
        ))
        .add_header(Header::new(
            ":content-type",
            EventValue::String(content_type.into()),
        ));
    let mut out = Vec::new();
    // Writing to a Vec fails only for a message over the format's 16 MB frame limit, and
    // payloads come here in pieces of FRAME_PAYLOAD bytes.
    if aws_smithy_eventstream::frame::write_message_to(&message, &mut out).is_err() {
        out.clear();
    }
    Bytes::from(out)
}

/// `POST /2021-11-15/functions/{name}/response-streaming-invocations`: each write of the
/// function is a `PayloadChunk` as it arrives; `InvokeComplete` ends the stream, with the
/// error when it failed.
pub async fn invoke_with_response_stream(
    State(watch): State<Arc<Watch>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (function, event, invoker) = match accept(&watch, &name, &headers, body).await {
        Ok(accepted) => accepted,
        Err(r) => return r,
    };
    let tail = headers.get("x-amz-log-type").and_then(|v| v.to_str().ok()) == Some("Tail");
    let mut progress = match start(&function, event, tail, invoker) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (tx, rx) = unbounded_channel::<Result<Bytes, std::convert::Infallible>>();
    tokio::spawn(async move {
        // Each piece of the answer a PayloadChunk (a caller that went away stops nothing: the
        // function runs to its end), then InvokeComplete once the answer is known (with
        // `tail`, once the log is).
        let payload = |bytes: &[u8]| {
            for piece in bytes.chunks(FRAME_PAYLOAD) {
                let _ = tx.send(Ok(frame(
                    "PayloadChunk",
                    "application/octet-stream",
                    piece.to_vec(),
                )));
            }
        };
        let mut complete = serde_json::Map::new();
        while let Some(p) = progress.recv().await {
            match p {
                Progress::Chunk(c) => payload(&c),
                Progress::Answered(outcome) => {
                    match outcome {
                        Outcome::Response(body) => payload(&body),
                        Outcome::Streamed => {}
                        Outcome::Error(e) => {
                            complete.insert("ErrorCode".into(), e.error_type.into());
                            complete.insert(
                                "ErrorDetails".into(),
                                String::from_utf8_lossy(&e.document).into_owned().into(),
                            );
                        }
                    }
                    if !tail {
                        break;
                    }
                }
                Progress::Done(done) => {
                    complete.insert("LogResult".into(), log_result(&done.log).into());
                    break;
                }
                Progress::Started { .. } | Progress::Stream { .. } => {}
            }
        }
        let _ = tx.send(Ok(frame(
            "InvokeComplete",
            "application/json",
            serde_json::Value::Object(complete).to_string().into_bytes(),
        )));
    });
    let mut r = Response::new(Body::from_stream(UnboundedReceiverStream::new(rx)));
    let h = r.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/vnd.amazon.eventstream"),
    );
    h.insert(
        "x-amz-executed-version",
        HeaderValue::from_static("$LATEST"),
    );
    r
}
