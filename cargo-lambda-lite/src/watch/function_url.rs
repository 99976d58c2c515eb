//! Function URLs: any HTTP request to `/lambda-url/{name}/…` becomes the Function URL event
//! (payload format 2.0), and the function's answer goes back as HTTP, mapped as Lambda maps
//! it: a buffered answer's `statusCode`, `headers`, `cookies` and (base64) `body`, or a bare
//! JSON value as a 200 `application/json`; a streamed answer's HTTP integration prelude as the
//! response head, then its body as the function writes it.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio_stream::wrappers::UnboundedReceiverStream;

use super::Watch;
use super::invoke_api::{self, not_found};
use crate::environment::{Outcome, Progress};
use crate::local;

const HTTP_INTEGRATION: &str = "application/vnd.awslambda.http-integration-response";

/// `/lambda-url/{name}` and `/lambda-url/{name}/{*path}`, any method.
pub async fn function_url(
    State(watch): State<Arc<Watch>>,
    Path(params): Path<Vec<(String, String)>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(name) = params.iter().find(|(k, _)| k == "name").map(|(_, v)| v) else {
        return not_found("");
    };
    let Some(function) = watch.functions.get(name) else {
        return not_found(name);
    };
    let body = match invoke_api::read_event(body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let prefix = format!("/lambda-url/{name}");
    let raw_path = uri.path().strip_prefix(&prefix).unwrap_or("/");
    let raw_path = if raw_path.is_empty() { "/" } else { raw_path };
    let event = event(
        name,
        &method,
        raw_path,
        uri.query().unwrap_or(""),
        &headers,
        &body,
        &peer.ip().to_string(),
    );
    let progress =
        match invoke_api::start(&function, event.to_string().into_bytes(), false, Vec::new()) {
            Ok(p) => p,
            Err(r) => return r,
        };
    answer(name, progress).await
}

/// Whether a body of this content type travels as text (otherwise base64), as Function URLs
/// decide.
fn is_text(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else {
        return true;
    };
    let ct = ct.to_ascii_lowercase();
    ct.starts_with("text/")
        || [
            "json",
            "xml",
            "javascript",
            "x-www-form-urlencoded",
            "yaml",
            "graphql",
        ]
        .iter()
        .any(|t| ct.contains(t))
}

/// The Function URL event (payload format 2.0) of a request.
fn event(
    name: &str,
    method: &Method,
    raw_path: &str,
    raw_query: &str,
    headers: &HeaderMap,
    body: &Bytes,
    source_ip: &str,
) -> Value {
    let mut joined: Map<String, Value> = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == "cookie" {
            cookies.extend(value.split(';').map(|c| c.trim().to_owned()));
            continue;
        }
        match joined.get_mut(name.as_str()) {
            Some(Value::String(v)) => {
                v.push(',');
                v.push_str(&value);
            }
            _ => {
                joined.insert(name.as_str().to_owned(), value.into());
            }
        }
    }
    let mut query: Map<String, Value> = Map::new();
    for (k, v) in form_urlencoded::parse(raw_query.as_bytes()) {
        match query.get_mut(k.as_ref()) {
            Some(Value::String(old)) => {
                old.push(',');
                old.push_str(&v);
            }
            _ => {
                query.insert(k.into_owned(), v.into_owned().into());
            }
        }
    }
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now();
    let request_id = local::request_id();
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": joined,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": name,
            "domainName": format!("{name}.lambda-url.us-east-1.on.aws"),
            "domainPrefix": name,
            "http": {
                "method": method.as_str(),
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": header("user-agent").unwrap_or(""),
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": false,
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if !body.is_empty() {
        if is_text(header("content-type")) && std::str::from_utf8(body).is_ok() {
            event["body"] = String::from_utf8_lossy(body).into_owned().into();
        } else {
            event["body"] = base64::engine::general_purpose::STANDARD
                .encode(body)
                .into();
            event["isBase64Encoded"] = true.into();
        }
    }
    event
}

/// What a Function URL answers when the function failed or its answer is not one Lambda can
/// map; why is said on the terminal, where the caller's 502 says nothing.
fn bad_gateway(name: &str, why: &str) -> Response {
    eprintln!("[{name}] Function URL answered 502: {why}");
    (StatusCode::BAD_GATEWAY, "Internal Server Error").into_response()
}

/// The head of an HTTP answer from its JSON description (`statusCode`, `headers`,
/// `multiValueHeaders`, `cookies`).
fn head(description: &Value) -> Result<(StatusCode, HeaderMap), String> {
    let status = match &description["statusCode"] {
        Value::Null => 200,
        Value::Number(n) => n.as_u64().unwrap_or(0),
        Value::String(s) => s.parse().unwrap_or(0),
        other => return Err(format!("statusCode {other}")),
    };
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(|| format!("statusCode {status} is not an HTTP status"))?;
    let mut headers = HeaderMap::new();
    let mut add = |name: &str, value: &str| -> Result<(), String> {
        let n =
            HeaderName::from_bytes(name.as_bytes()).map_err(|e| format!("header {name}: {e}"))?;
        let v = HeaderValue::from_str(value).map_err(|e| format!("header {name}: {e}"))?;
        headers.append(n, v);
        Ok(())
    };
    if let Some(h) = description["headers"].as_object() {
        for (k, v) in h {
            add(k, &scalar(v))?;
        }
    }
    if let Some(h) = description["multiValueHeaders"].as_object() {
        for (k, vs) in h {
            for v in vs.as_array().into_iter().flatten() {
                add(k, &scalar(v))?;
            }
        }
    }
    for c in description["cookies"].as_array().into_iter().flatten() {
        add("set-cookie", &scalar(c))?;
    }
    Ok((status, headers))
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A buffered answer mapped as Lambda maps it.
fn buffered(name: &str, body: &[u8]) -> Response {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return bad_gateway(name, &format!("the function's answer is not JSON ({e})")),
    };
    let described = value
        .as_object()
        .is_some_and(|o| o.contains_key("statusCode"));
    if !described {
        let mut r = (StatusCode::OK, body.to_vec()).into_response();
        r.headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        return r;
    }
    let (status, headers) = match head(&value) {
        Ok(h) => h,
        Err(e) => {
            return bad_gateway(
                name,
                &format!("the function's HTTP answer is not one Lambda accepts: {e}"),
            );
        }
    };
    let text = value["body"].as_str().unwrap_or("");
    let bytes = if value["isBase64Encoded"].as_bool() == Some(true) {
        match base64::engine::general_purpose::STANDARD.decode(text) {
            Ok(b) => b,
            Err(e) => {
                return bad_gateway(
                    name,
                    &format!("isBase64Encoded, but the body is not base64 ({e})"),
                );
            }
        }
    } else {
        text.as_bytes().to_vec()
    };
    let mut r = (status, bytes).into_response();
    *r.headers_mut() = headers;
    r
}

/// Waits for the answer's head, then answers: buffered, or streamed as it is written.
async fn answer(name: &str, mut progress: UnboundedReceiver<Progress>) -> Response {
    let mut http_stream = None;
    while let Some(p) = progress.recv().await {
        match p {
            Progress::Stream { content_type } => {
                if content_type.as_deref() != Some(HTTP_INTEGRATION) {
                    let mut headers = HeaderMap::new();
                    if let Some(v) = content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
                        headers.insert("content-type", v);
                    }
                    return streamed(StatusCode::OK, headers, Vec::new(), progress);
                }
                http_stream = Some(Vec::new());
            }
            // The HTTP integration prelude, until its eight NULs: the response head.
            Progress::Chunk(c) => {
                let Some(prelude) = &mut http_stream else {
                    continue;
                };
                prelude.extend_from_slice(&c);
                if let Some(at) = prelude.windows(8).position(|w| w == [0u8; 8]) {
                    let description = match serde_json::from_slice::<Value>(&prelude[..at]) {
                        Ok(d) => d,
                        Err(e) => {
                            return bad_gateway(
                                name,
                                &format!("the streamed answer's prelude is not JSON ({e})"),
                            );
                        }
                    };
                    let (status, headers) = match head(&description) {
                        Ok(h) => h,
                        Err(e) => {
                            return bad_gateway(
                                name,
                                &format!(
                                    "the streamed answer's prelude is not one Lambda accepts: {e}"
                                ),
                            );
                        }
                    };
                    let rest = prelude[at + 8..].to_vec();
                    return streamed(status, headers, rest, progress);
                }
            }
            Progress::Answered(Outcome::Response(body)) => return buffered(name, &body),
            Progress::Answered(Outcome::Error(e)) => {
                let document = String::from_utf8_lossy(&e.document);
                return bad_gateway(name, &format!("the function failed: {document}"));
            }
            Progress::Answered(Outcome::Streamed) => {
                return bad_gateway(name, "the stream ended before its HTTP prelude did");
            }
            Progress::Started { .. } | Progress::Done(_) => {}
        }
    }
    bad_gateway(name, "the environment ended without an answer")
}

/// A streamed body: what came with the head, then every chunk as it arrives.
fn streamed(
    status: StatusCode,
    headers: HeaderMap,
    first: Vec<u8>,
    mut progress: UnboundedReceiver<Progress>,
) -> Response {
    let (tx, rx) = unbounded_channel::<Result<Bytes, std::io::Error>>();
    if !first.is_empty() {
        let _ = tx.send(Ok(Bytes::from(first)));
    }
    tokio::spawn(async move {
        while let Some(p) = progress.recv().await {
            match p {
                Progress::Chunk(c) => {
                    let _ = tx.send(Ok(Bytes::from(c)));
                }
                Progress::Answered(outcome) => {
                    if let Outcome::Error(e) = outcome {
                        // The head is sent: the connection is cut, as Lambda cuts it.
                        let _ = tx.send(Err(std::io::Error::other(e.error_type)));
                    }
                    return;
                }
                _ => {}
            }
        }
    });
    let mut r = Response::new(Body::from_stream(UnboundedReceiverStream::new(rx)));
    *r.status_mut() = status;
    *r.headers_mut() = headers;
    r
}
