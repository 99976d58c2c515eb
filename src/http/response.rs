//! An HTTP answer, written in the shape the request's source expects, or streamed through the
//! HTTP integration prelude.

use super::Source;
use crate::error::{Error, Result};
use crate::stream::ResponseStream;
use crate::text::{push_base64, push_decimal, push_json_string};

/// The code that writes a streamed HTTP body.
type BodyStream = Box<dyn FnOnce(&mut ResponseStream<'_>) -> Result<()>>;

/// An HTTP response: status, headers, cookies, and a body that is bytes or a stream.
///
/// ```
/// use lambda_lite::http::Response;
///
/// let created = Response::new(201)
///     .header("location", "/orders/42")
///     .cookie("session=abc; Secure; HttpOnly")
///     .json(&serde_json::json!({"id": 42}))?;
/// assert_eq!(created.status(), 201);
/// # Ok::<(), lambda_lite::Error>(())
/// ```
pub struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    cookies: Vec<String>,
    body: Body,
    /// Base64 or not, when the handler said so; else chosen from the content type.
    base64: Option<bool>,
}

enum Body {
    Bytes(Vec<u8>),
    Stream(BodyStream),
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("cookies", &self.cookies)
            .field(
                "body",
                &match &self.body {
                    Body::Bytes(b) => b.len().to_string(),
                    Body::Stream(_) => "a stream".into(),
                },
            )
            .finish()
    }
}

impl Response {
    /// A response with `status` and nothing else yet (an empty body).
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            cookies: Vec::new(),
            body: Body::Bytes(Vec::new()),
            base64: None,
        }
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Adds a header (a name given twice sends both values). Cookies go in
    /// [`Response::cookie`], which puts each where its source wants it.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds a cookie: a `Set-Cookie` value (`name=value; Path=/; Secure`).
    pub fn cookie(mut self, set_cookie: impl Into<String>) -> Response {
        self.cookies.push(set_cookie.into());
        self
    }

    /// The body. It is sent as text when the `content-type` is textual (`text/*`, JSON, XML,
    /// JavaScript, form data), there is no `content-encoding` and the bytes are UTF-8, and as
    /// base64 otherwise, as `lambda_http` does; [`Response::base64`] decides instead.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Response {
        self.body = Body::Bytes(body.into());
        self
    }

    /// A JSON body (and `content-type: application/json` unless one was set).
    pub fn json<T: serde::Serialize + ?Sized>(self, value: &T) -> Result<Response> {
        let body = serde_json::to_vec(value).map_err(|e| {
            Error::new(
                crate::json::INVALID_RESPONSE,
                format!("the response body could not be serialized to JSON: {e}"),
            )
        })?;
        let typed = self.content_type().is_some();
        let with = if typed {
            self
        } else {
            self.header("content-type", "application/json")
        };
        Ok(with.body(body))
    }

    /// Sends the body base64-encoded (`true`) or as text (`false`), whatever its content type.
    pub fn base64(mut self, encoded: bool) -> Response {
        self.base64 = Some(encoded);
        self
    }

    /// Streams the body: the status, headers and cookies go first, as the HTTP integration
    /// prelude, then `body` writes to the [`ResponseStream`], each write sent at once (server-
    /// sent events over a Function URL in `RESPONSE_STREAM` mode, or an API Gateway streaming
    /// integration). An ALB cannot take a stream: it gets a `Runtime.InvalidResponse` error.
    pub fn stream(
        mut self,
        body: impl FnOnce(&mut ResponseStream<'_>) -> Result<()> + 'static,
    ) -> Response {
        self.body = Body::Stream(Box::new(body));
        self
    }

    fn content_type(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.as_str())
    }

    /// The answer the runtime posts for a request from `source`.
    pub(super) fn into_answer(self, source: Source) -> Result<crate::Response<'static>> {
        let Response {
            status,
            headers,
            cookies,
            body,
            base64,
        } = self;
        let bytes = match body {
            Body::Bytes(bytes) => bytes,
            Body::Stream(_) if matches!(source, Source::Alb { .. }) => {
                return Err(Error::new(
                    crate::json::INVALID_RESPONSE,
                    "an Application Load Balancer cannot take a streamed answer: answer with a body",
                ));
            }
            Body::Stream(write) => {
                return Ok(crate::Response::stream(move |_event, _ctx, out| {
                    let headers: Vec<(&str, &str)> = headers
                        .iter()
                        .map(|(n, v)| (n.as_str(), v.as_str()))
                        .collect();
                    let cookies: Vec<&str> = cookies.iter().map(String::as_str).collect();
                    out.start_http(status, &headers, &cookies)?;
                    write(out)
                }));
            }
        };
        let textual = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .is_some_and(|(_, v)| is_text(v))
            && !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-encoding"));
        let as_text = match base64 {
            Some(encoded) => !encoded,
            None => textual || bytes.is_empty(),
        };
        // Bytes that are not UTF-8 can only travel as base64.
        let text = if as_text {
            std::str::from_utf8(&bytes).ok()
        } else {
            None
        };
        let mut out = Vec::with_capacity(bytes.len() + 128);
        out.extend_from_slice(b"{\"statusCode\":");
        push_decimal(&mut out, u64::from(status));
        match source {
            Source::FunctionUrl | Source::HttpApi => {
                out.extend_from_slice(b",\"headers\":");
                push_joined(&mut out, &headers);
                out.extend_from_slice(b",\"cookies\":");
                push_list(&mut out, cookies.iter().map(String::as_str));
            }
            Source::RestApi => {
                out.extend_from_slice(b",\"headers\":");
                push_joined(&mut out, &headers);
                out.extend_from_slice(b",\"multiValueHeaders\":");
                push_multi(&mut out, &headers, &cookies);
            }
            Source::Alb { multi_value } => {
                out.extend_from_slice(b",\"statusDescription\":");
                let mut description = Vec::new();
                push_decimal(&mut description, u64::from(status));
                description.push(b' ');
                description.extend_from_slice(reason(status).as_bytes());
                push_json_string(&mut out, std::str::from_utf8(&description).unwrap_or(""));
                if multi_value {
                    out.extend_from_slice(b",\"multiValueHeaders\":");
                    push_multi(&mut out, &headers, &cookies);
                } else {
                    // One value a name: the last cookie is the one an ALB can carry.
                    let mut single = headers.clone();
                    if let Some(cookie) = cookies.last() {
                        single.push(("set-cookie".into(), cookie.clone()));
                    }
                    if cookies.len() > 1 {
                        dropped_cookies(cookies.len() - 1);
                    }
                    out.extend_from_slice(b",\"headers\":");
                    push_joined(&mut out, &single);
                }
            }
        }
        out.extend_from_slice(b",\"body\":");
        match text {
            Some(text) => push_json_string(&mut out, text),
            None => {
                out.push(b'"');
                push_base64(&mut out, &bytes);
                out.push(b'"');
            }
        }
        out.extend_from_slice(b",\"isBase64Encoded\":");
        out.extend_from_slice(if text.is_some() { b"false" } else { b"true" });
        out.push(b'}');
        Ok(crate::Response::Buffered(out))
    }
}

/// Whether a `content-type` is text a client reads as such (so the body need not be base64).
fn is_text(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || matches!(
            essence.as_str(),
            "application/json"
                | "application/xml"
                | "application/javascript"
                | "application/x-www-form-urlencoded"
                | "application/graphql"
                | "image/svg+xml"
        )
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
}

/// Each header name once, in order of first appearance, with all its values.
fn grouped(headers: &[(String, String)]) -> impl Iterator<Item = (&str, Vec<&str>)> {
    headers.iter().enumerate().filter_map(|(i, (name, _))| {
        let first = !headers[..i]
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name));
        first.then(|| {
            let values = headers[i..]
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .collect();
            (name.as_str(), values)
        })
    })
}

/// `{"name":"v1, v2",…}`.
fn push_joined(out: &mut Vec<u8>, headers: &[(String, String)]) {
    out.push(b'{');
    for (i, (name, values)) in grouped(headers).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_json_string(out, name);
        out.push(b':');
        push_json_string(out, &values.join(", "));
    }
    out.push(b'}');
}

/// Says in the function's log that an ALB answer lost cookies: a target group without
/// multi-value headers carries one `Set-Cookie`.
#[cold]
fn dropped_cookies(dropped: usize) {
    crate::log::log(
        crate::log::Level::Warn,
        &format!(
            "this ALB target group has multi-value headers off, so its answer carries one Set-Cookie: the last cookie was sent and {dropped} earlier one(s) dropped (turn on multi-value headers to send them all)"
        ),
    );
}

/// `{"name":["v1","v2"],…,"set-cookie":[…]}`.
fn push_multi(out: &mut Vec<u8>, headers: &[(String, String)], cookies: &[String]) {
    out.push(b'{');
    let mut first = true;
    for (name, values) in grouped(headers) {
        if !first {
            out.push(b',');
        }
        first = false;
        push_json_string(out, name);
        out.push(b':');
        push_list(out, values.into_iter());
    }
    if !cookies.is_empty() {
        if !first {
            out.push(b',');
        }
        out.extend_from_slice(b"\"set-cookie\":");
        push_list(out, cookies.iter().map(String::as_str));
    }
    out.push(b'}');
}

fn push_list<'s>(out: &mut Vec<u8>, items: impl Iterator<Item = &'s str>) {
    out.push(b'[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_json_string(out, item);
    }
    out.push(b']');
}

/// The reason phrase an ALB's `statusDescription` carries.
fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        410 => "Gone",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}
