//! HTTP functions (feature `http`), without tokio, hyper or tower: one [`Request`] and one
//! [`Response`] for every HTTP event source, the source detected from the event as
//! `lambda_http` does.
//!
//! | source | event | answer |
//! |---|---|---|
//! | Lambda Function URL | payload 2.0 | `cookies`; may stream ([`Response::stream`]) |
//! | API Gateway HTTP API | payload 2.0 (1.0 reads as a REST API's) | `cookies` |
//! | API Gateway REST API | payload 1.0, `multiValueHeaders` and `multiValueQueryStringParameters` | `Set-Cookie` in `multiValueHeaders` |
//! | Application Load Balancer | single or multi-value headers, health checks | `statusDescription`, headers in the request's mode |
//!
//! ```no_run
//! use lambda_lite::http::{Request, Response};
//! use lambda_lite::{Context, Error};
//!
//! fn hello(req: Request<'_>, _ctx: &Context) -> Result<Response, Error> {
//!     let name = req.query("name").unwrap_or("world");
//!     Ok(Response::new(200)
//!         .header("content-type", "text/plain; charset=utf-8")
//!         .body(format!("hello, {name} ({} {})", req.method(), req.path())))
//! }
//!
//! lambda_lite::lambda_main!(http hello);
//! ```
//!
//! Text is borrowed from the event buffer where JSON allows and owned where an escape (or
//! percent-decoding, or base64) forces it: every valid event is read. An event that is none of
//! the four is answered on `/error` as `Runtime.InvalidEvent`, naming what was seen.

mod event;
#[cfg(feature = "http-types")]
mod interop;
mod response;

use std::borrow::Cow;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::text::percent_decode;
use event::{Event, Pairs, Text};
pub use response::Response;

/// Which integration sent a request; it decides the shape of the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A Lambda Function URL (payload 2.0).
    FunctionUrl,
    /// An API Gateway HTTP API, payload 2.0.
    HttpApi,
    /// An API Gateway REST API, or an HTTP API with payload 1.0.
    RestApi,
    /// An Application Load Balancer; `multi_value` when its target group has multi-value
    /// headers on (the answer's headers then go in `multiValueHeaders`).
    Alb {
        /// The target group sends (and expects) `multiValueHeaders`.
        multi_value: bool,
    },
}

/// An HTTP request, from whichever integration sent it.
#[derive(Debug)]
pub struct Request<'a> {
    source: Source,
    method: Cow<'a, str>,
    raw_path: Cow<'a, str>,
    path: Cow<'a, str>,
    query: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    headers: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    cookies: Vec<Cow<'a, str>>,
    body: Cow<'a, [u8]>,
    path_parameters: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    stage_variables: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    context: RequestContext<'a>,
}

/// What the integration says about the request beyond HTTP.
#[derive(Debug, Default)]
pub struct RequestContext<'a> {
    /// The integration's request id (API Gateway's, the Function URL's; empty behind an ALB).
    pub request_id: Cow<'a, str>,
    /// The caller's address (behind an ALB: the first `x-forwarded-for` address).
    pub source_ip: Cow<'a, str>,
    /// The caller's `User-Agent`.
    pub user_agent: Cow<'a, str>,
    /// The API Gateway stage (`$default` for HTTP APIs and Function URLs).
    pub stage: Cow<'a, str>,
    /// The domain the request was sent to (API Gateway, Function URLs).
    pub domain_name: Cow<'a, str>,
    /// What the authorizer passed on, as JSON: JWT claims and scopes, a Lambda authorizer's
    /// context, IAM, Cognito claims.
    pub authorizer: Option<serde_json::Value>,
}

/// What the request looks like as text (`GET /path?query`).
impl std::fmt::Display for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.raw_path)
    }
}

impl<'a> Request<'a> {
    /// Reads an HTTP event of any of the four sources, borrowing from `event` where it can.
    pub fn from_event(event: &'a [u8]) -> Result<Request<'a>> {
        let raw: Event<'a> = serde_json::from_slice(event).map_err(|e| {
            Error::new(
                crate::json::INVALID_EVENT,
                format!("the event is not an HTTP event's JSON: {e}"),
            )
        })?;
        let Some(source) = raw.source() else {
            return Err(not_http(event));
        };
        Ok(Request::from_raw(source, raw))
    }

    fn from_raw(source: Source, raw: Event<'a>) -> Request<'a> {
        let text = |t: Option<Text<'a>>| t.map(|t| t.0).unwrap_or_default();
        let pairs = |p: Option<Pairs<'a>>| p.map(|p| p.0).unwrap_or_default();
        let ctx = raw.request_context.unwrap_or_default();
        let http = ctx.http.unwrap_or_default();
        let identity = ctx.identity.unwrap_or_default();
        let v2 = matches!(source, Source::FunctionUrl | Source::HttpApi);
        let (method, raw_path) = if v2 {
            (text(http.method), text(raw.raw_path))
        } else {
            (text(raw.http_method), text(raw.path))
        };
        // One name/value pair per value: the multi-value maps when sent, else the single ones
        // (payload 2.0 joins repeated headers with commas, as HTTP allows).
        let headers = match raw.multi_value_headers {
            Some(all) => all.0,
            None => pairs(raw.headers),
        };
        let query = if v2 {
            parse_query(text(raw.raw_query_string))
        } else {
            let sent = raw
                .multi_value_query_string_parameters
                .or(raw.query_string_parameters);
            let mut query = pairs(sent);
            if matches!(source, Source::Alb { .. }) {
                // An ALB passes the query as it came, percent-encoded.
                for (name, value) in &mut query {
                    *name = percent_decode(std::mem::take(name), true);
                    *value = percent_decode(std::mem::take(value), true);
                }
            }
            query
        };
        let cookies = match raw.cookies {
            Some(list) => list.0,
            None => cookies_of(&headers),
        };
        let body = match raw.body.map(|b| b.0) {
            Some(b) if raw.is_base64_encoded => {
                Cow::Owned(crate::text::base64_decode(b.as_bytes()))
            }
            Some(Cow::Borrowed(b)) => Cow::Borrowed(b.as_bytes()),
            Some(Cow::Owned(b)) => Cow::Owned(b.into_bytes()),
            None => Cow::Borrowed(&[][..]),
        };
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let source_ip = match source {
            Source::Alb { .. } => header("x-forwarded-for")
                .map(|v| Cow::Owned(v.split(',').next().unwrap_or("").trim().to_owned()))
                .unwrap_or_default(),
            _ if v2 => text(http.source_ip),
            _ => text(identity.source_ip),
        };
        let user_agent = match (v2, &source) {
            (true, _) => text(http.user_agent),
            (false, Source::RestApi) => text(identity.user_agent),
            _ => header("user-agent").unwrap_or_default(),
        };
        let path = percent_decode(raw_path.clone(), false);
        Request {
            source,
            method,
            raw_path,
            path,
            query,
            cookies,
            body,
            path_parameters: pairs(raw.path_parameters),
            stage_variables: pairs(raw.stage_variables),
            context: RequestContext {
                request_id: text(ctx.request_id),
                source_ip,
                user_agent,
                stage: text(ctx.stage),
                domain_name: text(ctx.domain_name),
                authorizer: ctx.authorizer,
            },
            headers,
        }
    }

    /// Which integration sent the request.
    pub fn source(&self) -> Source {
        self.source
    }

    /// The method (`GET`, `POST`, …).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The path as sent (percent-encoded where the client encoded it), without the query.
    pub fn raw_path(&self) -> &str {
        &self.raw_path
    }

    /// The path, percent-decoded (left as sent where decoding would not give UTF-8).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The first value of the query parameter `name` (decoded), if any.
    pub fn query(&self, name: &str) -> Option<&str> {
        lookup(&self.query, name)
    }

    /// Every value of the query parameter `name` (`?tag=a&tag=b`), in order.
    pub fn query_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.query
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| &**v)
    }

    /// Every query parameter as (name, value), one pair per value, in order.
    pub fn query_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.query.iter().map(|(n, v)| (&**n, &**v))
    }

    /// The first value of the header `name` (any case), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| &**v)
    }

    /// Every value of the header `name` (any case), in order.
    pub fn header_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| &**v)
    }

    /// Every header as (name, value), one pair per value, names as the integration sent them
    /// (lower case for payload 2.0).
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (&**n, &**v))
    }

    /// The request's cookies, each `name=value`.
    pub fn cookies(&self) -> impl Iterator<Item = &str> {
        self.cookies.iter().map(|c| &**c)
    }

    /// The value of the cookie `name`, if sent.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies().find_map(|c| {
            let (n, v) = c.split_once('=')?;
            (n.trim() == name).then_some(v.trim())
        })
    }

    /// The body's bytes (base64-decoded when the integration sent it encoded).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as text, when it is UTF-8.
    pub fn text(&self) -> Result<&str> {
        std::str::from_utf8(&self.body).map_err(|e| {
            Error::new(
                "Runtime.InvalidEvent",
                format!("the body is not UTF-8 text: {e}"),
            )
        })
    }

    /// The body as JSON of type `T` (which may borrow from it); a body that does not
    /// deserialize is an error (`Runtime.InvalidEvent`, serde_json's message).
    pub fn json<'b, T: serde::Deserialize<'b>>(&'b self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::new(
                crate::json::INVALID_EVENT,
                format!("the body is not the JSON this function takes: {e}"),
            )
        })
    }

    /// The path parameter `name` (API Gateway routes such as `/orders/{id}`).
    pub fn path_parameter(&self, name: &str) -> Option<&str> {
        lookup(&self.path_parameters, name)
    }

    /// The stage variable `name` (API Gateway).
    pub fn stage_variable(&self, name: &str) -> Option<&str> {
        lookup(&self.stage_variables, name)
    }

    /// What the integration says beyond HTTP: request id, source IP, authorizer, …
    pub fn context(&self) -> &RequestContext<'a> {
        &self.context
    }

    /// An ALB health check (the target group's `ELB-HealthChecker`).
    pub fn is_health_check(&self) -> bool {
        matches!(self.source, Source::Alb { .. })
            && self
                .header("user-agent")
                .is_some_and(|ua| ua.starts_with("ELB-HealthChecker"))
    }
}

fn lookup<'s>(pairs: &'s [(Cow<'_, str>, Cow<'_, str>)], name: &str) -> Option<&'s str> {
    pairs.iter().find(|(n, _)| n == name).map(|(_, v)| &**v)
}

/// The `Cookie` headers' cookies (payload 1.0 and ALBs send them as headers).
fn cookies_of<'a>(headers: &[(Cow<'a, str>, Cow<'a, str>)]) -> Vec<Cow<'a, str>> {
    let mut cookies = Vec::new();
    for (_, value) in headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
    {
        match value {
            Cow::Borrowed(v) => cookies.extend(
                v.split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(Cow::Borrowed),
            ),
            Cow::Owned(v) => cookies.extend(
                v.split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(|c| Cow::Owned(c.to_owned())),
            ),
        }
    }
    cookies
}

/// `a=1&b=x%20y&b=z` → (name, value) pairs, decoded (`+` is a space, as forms send it).
fn parse_query(raw: Cow<'_, str>) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    fn split(s: &str) -> impl Iterator<Item = (&str, &str)> {
        s.split('&')
            .filter(|part| !part.is_empty())
            .map(|part| part.split_once('=').unwrap_or((part, "")))
    }
    let decode = |c| percent_decode(c, true);
    match raw {
        Cow::Borrowed(s) => split(s)
            .map(|(n, v)| (decode(Cow::Borrowed(n)), decode(Cow::Borrowed(v))))
            .collect(),
        Cow::Owned(s) => split(&s)
            .map(|(n, v)| {
                (
                    decode(Cow::Owned(n.to_owned())),
                    decode(Cow::Owned(v.to_owned())),
                )
            })
            .collect(),
    }
}

/// The error for an event none of the four sources sends, naming what was seen.
#[cold]
fn not_http(event: &[u8]) -> Error {
    let keys = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(event)
        .map(|m| m.keys().cloned().collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|_| "not a JSON object".into());
    Error::new(
        crate::json::INVALID_EVENT,
        format!(
            "not an HTTP event (Function URL, API Gateway HTTP or REST API, ALB): its top-level keys are [{keys}]"
        ),
    )
}

/// Reads the event as a [`Request`] of whichever source sent it, calls `handler`, and writes
/// its [`Response`] in the shape that source expects (or streams it). The adapter behind
/// `lambda_main!(http handler)`; use it to write your own byte handler around an HTTP one.
pub fn call<'a, F>(
    event: &'a [u8],
    ctx: &Context<'_>,
    handler: F,
) -> Result<crate::Response<'static>>
where
    F: FnOnce(Request<'a>, &Context<'_>) -> Result<Response>,
{
    let request = Request::from_event(event)?;
    let source = request.source();
    handler(request, ctx)?.into_answer(source)
}
